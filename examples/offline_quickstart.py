"""Offline end-to-end run of the zsfuse foundation: audio front end, model
loading, the embedding store and encode-once extraction.

It writes a small labelled corpus of generated, speech-like clips (classes
differ in pitch, contour, loudness and tempo), builds a tiny random WavLM
locally, extracts mean-pooled embeddings through the store, fits a logistic
regression with speaker-independent cross-validation, and runs the extraction
a second time to show that nothing is encoded twice.

The numbers are a smoke check of the machinery on random weights and
synthetic audio, not emotion recognition.

Run: python examples/offline_quickstart.py [--workdir DIR]
"""

import argparse
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score

from zsfuse.audio import Clips
from zsfuse.extraction import encode_clips
from zsfuse.models import get_model, load_pretrained, model_fingerprint, resolve_device
from zsfuse.store import get_store
from zsfuse.testing import make_audio_tree, make_tiny_wavlm

RATE = 16000


def wavlm_encoder(folder, device):
    """A minimal mean-pooling encoder over the last hidden state (one clip at a time)."""
    import torch
    from transformers import AutoModel

    model = get_model(
        ("example-wavlm", folder, None, device, "float32"), lambda: load_pretrained(AutoModel, folder).to(device).eval()
    )

    def encode(batch):
        out = []
        with torch.inference_mode():
            for clip in batch:
                wave = torch.from_numpy(clip.at_rate(RATE)).to(device)[None]
                hidden = model(wave).last_hidden_state[0]
                out.append(hidden.mean(0).float().cpu().numpy())
        return out

    return encode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default=None, help="folder for audio, model and cache")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="zsfuse-quickstart-")

    records = make_audio_tree(f"{workdir}/audio", n_speakers=4, n_per_class=4, seconds=1.5)
    paths = [r["path"] for r in records]
    labels = np.array([r["label"] for r in records])
    speakers = np.array([r["speaker"] for r in records])
    model_dir = make_tiny_wavlm(f"{workdir}/tiny-wavlm")
    device = resolve_device("auto")
    store = get_store(f"{workdir}/cache")
    namespace = f"example-wavlm|{model_fingerprint(model_dir)}|rate={RATE}|pool=mean"
    encode = wavlm_encoder(model_dir, device)

    start = time.perf_counter()
    X = np.stack(encode_clips(Clips(paths), store, namespace, encode, batch_size=8, progress=True))
    first = time.perf_counter() - start
    start = time.perf_counter()
    X_again = np.stack(encode_clips(Clips(paths), store, namespace, encode, batch_size=8))
    second = time.perf_counter() - start
    assert np.array_equal(X, X_again)

    scores = cross_val_score(
        LogisticRegression(max_iter=2000), X, labels, groups=speakers, cv=GroupKFold(4), scoring="balanced_accuracy"
    )
    print(f"{len(paths)} clips, {len(set(speakers))} speakers, embeddings {X.shape} on {device}")
    print(f"extraction: first pass {first:.2f} s, cached pass {second:.3f} s ({first / max(second, 1e-9):.0f}x)")
    print(
        f"speaker-independent UA (4 folds): {scores.mean():.3f} +/- {scores.std():.3f} "
        f"(chance 0.250; tiny random model on synthetic audio: a smoke check, not SER)"
    )
    print(f"work folder: {workdir}")


if __name__ == "__main__":
    main()

"""Zero-shot emotion scores from a LAION-CLAP / ReCLAP training checkpoint (``.pt``), offline.

LAION-CLAP's training code and ReCLAP (a fork of it) save ``.pt`` files that
are not transformers folders. zsfuse's ``laion-ckpt`` family (prefixes
``reclap:``, ``laion-ckpt:``, ``laion-clap:``) reads such a file with
``weights_only=True`` and converts it in memory to a transformers
``ClapModel`` (HTSAT audio, RoBERTa text); nothing is written to disk.

The real model is, in this order: the file named by the environment variable
``ZSFUSE_RECLAP_CHECKPOINT`` (e.g. a ReCLAP checkpoint you trained), else the
released ``630k-audioset-best.pt`` from the Hugging Face cache (hub repo
``lukewys/laion_clap``; fetch it with
``hf download lukewys/laion_clap 630k-audioset-best.pt``). It is looked for
with the hub offline -- this script never downloads the checkpoint -- and
without loading any weight (:func:`zsfuse.backends.check_clap_model`). When it
is not there, a tiny random LAION-style checkpoint from :mod:`zsfuse.testing`
stands in, and the script says so.

With a real checkpoint, loading also needs the ``roberta-base`` tokenizer (or
the folder or hub id in ``ZSFUSE_RECLAP_TOKENIZER``): from the Hugging Face
cache, or -- run online, without ``HF_HUB_OFFLINE=1`` -- downloaded on first
use (its tokenizer files only). A ReCLAP checkpoint with a
T5 text tower (ReCLAP's ``--tmodel t5``) does not fit a ``ClapModel`` and is
refused with a message naming what it holds.

Generated speech-like clips are scored zero-shot with a prompt ensemble, and
GridSearchCV picks ``audio_repeats`` for a logistic regression on the scores
(speaker-independent folds). Every clip is encoded once per ``audio_repeats``
value, whatever the folds.

With the stand-in, random weights and synthetic audio: the numbers show the
machinery, not SER.

Run: python examples/zero_shot_reclap.py
"""

import contextlib
import os
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from zsfuse import CLAPZeroShotTransformer, MissingDependencyError, ModelNotFoundError
from zsfuse.backends import check_clap_model, not_zero_shot
from zsfuse.testing import make_audio_tree, make_tiny_laion_checkpoint

RELEASED = "630k-audioset-best.pt"  # a released LAION-CLAP checkpoint, known to zsfuse by name


@contextlib.contextmanager
def hub_offline():
    """Look in the Hugging Face cache only: nothing is downloaded inside this block."""
    before = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = before


def reason(exc):
    """The first clause of a zsfuse error, for a one-line message."""
    return str(exc).split(": ", 1)[0]


def choose_model(workdir):
    """``(model, backend_options, real)``: the real checkpoint if it is at hand, else the tiny stand-in."""
    model = "reclap:" + os.environ.get("ZSFUSE_RECLAP_CHECKPOINT", RELEASED)
    tokenizer = os.environ.get("ZSFUSE_RECLAP_TOKENIZER")  # default: roberta-base, as LAION-CLAP's code
    options = {"tokenizer": tokenizer} if tokenizer else None
    try:
        with hub_offline():
            check_clap_model(model, backend_options=options)  # finds the file, reads its keys; loads no weight
        return model, options, True
    except (ModelNotFoundError, MissingDependencyError) as exc:
        stand_in = "running on the tiny random stand-in from zsfuse.testing"
        print(f"real laion-ckpt weights not found ({reason(exc)}); {stand_in}")
    tiny = make_tiny_laion_checkpoint(f"{workdir}/tiny-laion/checkpoint.pt")
    # a tiny checkpoint has its own tiny RoBERTa-style tokenizer
    return "reclap:" + tiny.checkpoint, {"tokenizer": tiny.tokenizer}, False


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-reclap-")
    model, options, real = choose_model(workdir)
    print(f"model: {model}" + ("" if real else "  (random weights: the numbers below are meaningless)"))

    # Honest zero-shot: the registry knows what the released checkpoints were trained on.
    caveat = not_zero_shot(RELEASED, ["iemocap"])
    print(f"\nnot_zero_shot({RELEASED!r}, ['iemocap']) -> {caveat}")
    print("(no emotion corpus is documented in its training data; for a checkpoint of your own, you know what it saw)")

    records = make_audio_tree(f"{workdir}/audio", n_speakers=3, n_per_class=2, seconds=1.5)
    X = [r["path"] for r in records]  # 16 kHz files: resampled to the model's 48 kHz on the fly
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])

    zs = CLAPZeroShotTransformer(
        model=model,
        labels=("angry", "happy", "neutral", "sad"),
        templates=("this person is feeling {}.", "a person speaking in a {} voice."),
        audio_repeats=2,  # a 10 s HTSAT window: the clip is tiled, then zero-filled ('repeatpad')
        output="proba",
        backend_options=options,
        cache_dir=f"{workdir}/cache",
    ).set_output(transform="pandas")
    first = [i for i, r in enumerate(records) if r["path"].endswith("spk0_0.wav")]  # one clip per class
    scores = zs.fit_transform([X[i] for i in first])
    scores.index = [os.path.relpath(X[i], f"{workdir}/audio") for i in first]
    print(f"\nzero-shot probabilities ({zs.backend_family_} family, {zs.sampling_rate_} Hz):")
    print(scores.round(3).assign(true=y[first]).to_string())

    pipe = Pipeline([("zs", zs.set_params(output="logit")), ("clf", LogisticRegression(max_iter=1000))])
    search = GridSearchCV(pipe, {"zs__audio_repeats": [1, 2]}, cv=GroupKFold(3), scoring="balanced_accuracy")
    search.fit(X, y, groups=groups)
    print(f"\nbest: {search.best_params_}, UA {search.best_score_:.3f} (chance 0.25)")
    if not real:
        print("random weights and synthetic audio: these numbers show the machinery, not SER.")


if __name__ == "__main__":
    main()

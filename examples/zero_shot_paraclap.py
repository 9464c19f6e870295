"""Zero-shot emotion scores from ParaCLAP (``KeiKinn/paraclap``), a variable-length paralinguistic CLAP, offline.

ParaCLAP (Jing et al., Interspeech 2024, arXiv 2406.07203) pairs a wav2vec 2.0
audio tower (from ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim``)
with a BERT text tower, trained on MSP-Podcast. Its weights are one file,
``best.pth.tar``; the two base models provide only their configuration and
the tokenizer (``backend_options`` ``audio_model`` and ``text_model``).

The real model is ``KeiKinn/paraclap`` (or the checkpoint file, folder or hub
id in the environment variable ``ZSFUSE_PARACLAP_MODEL``), looked for in the
Hugging Face cache with the hub offline -- this script never downloads the
checkpoint -- and without loading any weight
(:func:`zsfuse.backends.check_clap_model`); fetch it with
``hf download KeiKinn/paraclap best.pth.tar``. When it is not there, a tiny
random ParaCLAP from :mod:`zsfuse.testing` stands in, and the script says so.
With the real checkpoint, loading also needs the two base models'
configuration and tokenizer files (not their weights): from the Hugging Face
cache, or -- run online, without ``HF_HUB_OFFLINE=1`` -- downloaded on first
use.

ParaCLAP takes 16 kHz clips at their own length: nothing is padded, and a
segment longer than ``backend_options["max_seconds"]`` (default 30 s) follows
``long_audio`` (``"mean"``: the average of consecutive windows). Here
``max_seconds`` is 2 s so that the tiling of ``audio_repeats`` (3 s clips at
``audio_repeats=2``) shows the windowing on short clips; real speech would keep
the default. Generated speech-like clips are scored zero-shot, and
GridSearchCV picks ``audio_repeats`` for a logistic regression on the scores
(speaker-independent folds).

MSP-Podcast is in ParaCLAP's training data: scores on it are not zero-shot
(the script prints the caveat zsfuse attaches to such an evaluation).

With the stand-in, random weights and synthetic audio: the numbers show the
machinery, not SER.

Run: python examples/zero_shot_paraclap.py
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
from zsfuse.testing import make_audio_tree, make_tiny_paraclap

RELEASED = "KeiKinn/paraclap"
MAX_SECONDS = 2.0  # longest segment the model sees; longer: long_audio (default 30 s)


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
    """``(model, backend_options, real)``: the real ParaCLAP if it is at hand, else the tiny stand-in."""
    model = os.environ.get("ZSFUSE_PARACLAP_MODEL", RELEASED)
    options = {"max_seconds": MAX_SECONDS}  # the base models: the published ones (audeering wav2vec 2.0, BERT)
    try:
        with hub_offline():
            check_clap_model(model, backend_options=options)  # finds the file, reads its keys; loads no weight
        return model, options, True
    except (ModelNotFoundError, MissingDependencyError) as exc:
        stand_in = "running on the tiny random stand-in from zsfuse.testing"
        print(f"real paraclap weights not found ({reason(exc)}); {stand_in}")
    tiny = make_tiny_paraclap(f"{workdir}/tiny-paraclap")
    # the tiny checkpoint has its own tiny base models: their folders go in backend_options
    return "paraclap:" + tiny.checkpoint, {**tiny.backend_options, **options}, False


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-paraclap-")
    model, options, real = choose_model(workdir)
    print(f"model: {model}" + ("" if real else "  (random weights: the numbers below are meaningless)"))

    # Honest zero-shot: the registry knows ParaCLAP was trained on MSP-Podcast.
    print()
    for corpus in ("iemocap", "MSP-Podcast"):
        print(f"not_zero_shot({RELEASED!r}, [{corpus!r}]) -> {not_zero_shot(RELEASED, [corpus])}")

    records = make_audio_tree(f"{workdir}/audio", n_speakers=3, n_per_class=2, seconds=1.5)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])

    zs = CLAPZeroShotTransformer(
        model=model,
        labels=("angry", "happy", "neutral", "sad"),
        templates=("this person is feeling {}.", "the speaker sounds {}."),
        audio_repeats=2,  # a 3 s tiled clip: two 2 s windows (max_seconds), averaged (long_audio="mean")
        long_audio="mean",
        output="proba",
        backend_options=options,
        cache_dir=f"{workdir}/cache",
    ).set_output(transform="pandas")
    first = [i for i, r in enumerate(records) if r["path"].endswith("spk0_0.wav")]  # one clip per class
    scores = zs.fit_transform([X[i] for i in first])
    scores.index = [os.path.relpath(X[i], f"{workdir}/audio") for i in first]
    print(
        f"\nzero-shot probabilities ({zs.backend_family_} family, {zs.sampling_rate_} Hz, pad_mode {zs.pad_mode_!r}):"
    )
    print(scores.round(3).assign(true=y[first]).to_string())

    pipe = Pipeline([("zs", zs.set_params(output="logit")), ("clf", LogisticRegression(max_iter=1000))])
    search = GridSearchCV(pipe, {"zs__audio_repeats": [1, 2]}, cv=GroupKFold(3), scoring="balanced_accuracy")
    search.fit(X, y, groups=groups)
    print(f"\nbest: {search.best_params_}, UA {search.best_score_:.3f} (chance 0.25)")
    if not real:
        print("random weights and synthetic audio: these numbers show the machinery, not SER.")


if __name__ == "__main__":
    main()

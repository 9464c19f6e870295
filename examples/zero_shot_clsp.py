"""Zero-shot emotion scores from CLSP (``yfyeung/CLSP``), a variable-length speech-language model, offline.

CLSP (Yang et al. 2026, arXiv 2601.03065) was trained on fine-grained
speaking-style captions. Its architecture is not in transformers: the hub
folder ships it as Python code, and loading it runs that code. zsfuse refuses
to load it -- before any of its code runs -- unless ``trust_remote_code=True``.
Read the folder's ``configuration_*.py`` and ``modeling_*.py`` before you
allow it.

The real model is ``yfyeung/CLSP`` (or the folder or hub id in the
environment variable ``ZSFUSE_CLSP_MODEL``), looked for in the Hugging Face
cache with the hub offline -- this script never downloads it -- and without
loading any weight (:func:`zsfuse.backends.check_clap_model`); fetch it with
``hf download yfyeung/CLSP``. When it is not there, a tiny random CLSP-like
model from :mod:`zsfuse.testing` (whose code also ships in its folder) stands
in, and the script says so. Run online (without ``HF_HUB_OFFLINE=1``), the
real model's own code may download what it needs on first use.

CLSP takes 16 kHz clips at their own length: nothing is padded, and a segment
longer than ``backend_options["max_seconds"]`` (default 30 s) follows
``long_audio`` (``"mean"``: the average of consecutive windows). Here
``max_seconds`` is 2 s so that the tiling of ``audio_repeats`` (3 s clips at
``audio_repeats=2``) shows the windowing on short clips; real speech would keep
the default. Generated speech-like clips are scored zero-shot, and
GridSearchCV picks ``audio_repeats`` for a logistic regression on the scores
(speaker-independent folds).

With the stand-in, random weights and synthetic audio: the numbers show the
machinery, not SER.

Run: python examples/zero_shot_clsp.py
"""

import contextlib
import os
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from zsfuse import CLAPZeroShotTransformer, MissingDependencyError, ModelNotFoundError, RemoteCodeError
from zsfuse.backends import check_clap_model, not_zero_shot
from zsfuse.testing import make_audio_tree, make_tiny_clsp

RELEASED = "yfyeung/CLSP"
OPTIONS = {"max_seconds": 2.0}  # longest segment the model sees; longer: long_audio (default 30 s)


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
    """``(model, real)``: the real CLSP if it is at hand, else the tiny stand-in."""
    model = os.environ.get("ZSFUSE_CLSP_MODEL", RELEASED)
    try:
        with hub_offline():
            # reads config.json only: no weight loads and none of the folder's code runs
            check_clap_model(model, trust_remote_code=True, backend_options=OPTIONS)
        return model, True
    except (ModelNotFoundError, MissingDependencyError) as exc:
        stand_in = "running on the tiny random stand-in from zsfuse.testing"
        print(f"real clsp weights not found ({reason(exc)}); {stand_in}")
    return "clsp:" + make_tiny_clsp(f"{workdir}/tiny-clsp"), False


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-clsp-")
    model, real = choose_model(workdir)
    print(f"model: {model}" + ("" if real else "  (random weights: the numbers below are meaningless)"))

    # Without trust_remote_code=True, zsfuse refuses before any of the folder's code runs.
    try:
        with hub_offline():
            check_clap_model(model, backend_options=OPTIONS)
    except RemoteCodeError as exc:
        print(f"without trust_remote_code=True: RemoteCodeError ({str(exc).split(':', 1)[0]}; nothing ran)")

    # Honest zero-shot: CLSP's training audio (FCaps) includes Expresso and EARS, but no IEMOCAP.
    print()
    for corpus in ("iemocap", "expresso"):
        print(f"not_zero_shot({RELEASED!r}, [{corpus!r}]) -> {not_zero_shot(RELEASED, [corpus])}")

    records = make_audio_tree(f"{workdir}/audio", n_speakers=3, n_per_class=2, seconds=1.5)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])

    zs = CLAPZeroShotTransformer(
        model=model,
        labels=("angry", "happy", "neutral", "sad"),
        templates=("a person speaking in a {} voice.", "the speaker sounds {}."),
        audio_repeats=2,  # a 3 s tiled clip: two 2 s windows (max_seconds), averaged (long_audio="mean")
        long_audio="mean",
        output="proba",
        # CLSP runs Python code shipped with the checkpoint: read its files first, then allow it.
        trust_remote_code=True,
        backend_options=OPTIONS,
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

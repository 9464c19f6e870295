"""Speech foundation-model embeddings for SER with scikit-learn, offline.

A tiny random WavLM ("large" layout) is built locally -- real use: a hub id such
as ``"microsoft/wavlm-large"`` -- and generated speech-like clips are embedded
with ``FMEmbeddingTransformer``: the last layer, every layer, mean and
mean+std pooling; a long clip is processed in chunks. A GridSearchCV over the
classifier on top shows that every clip goes through the model once, whatever
the folds and grid points.

Random weights and synthetic audio: the numbers show the machinery, not SER.

Run: python examples/fm_embeddings.py
"""

import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zsfuse import FMEmbeddingTransformer
from zsfuse.testing import make_audio_tree, make_tiny_wavlm, speechlike


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-fm-")
    records = make_audio_tree(f"{workdir}/audio", n_speakers=3, n_per_class=3, seconds=1.5)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])
    model = make_tiny_wavlm(f"{workdir}/tiny-wavlm")  # 2 layers of width 32

    # -- shapes of the layer and pooling options --------------------------------------------------
    for params in [
        dict(layers="last"),
        dict(layers="all", layer_reduce="mean"),
        dict(layers="all", layer_reduce="concat"),
        dict(layers=(1, 2), layer_reduce="concat", pooling="mean+std"),
    ]:
        fm = FMEmbeddingTransformer(model=model, sampling_rate=16000, **params).fit()
        print(f"{str(params):70s} -> {fm.transform(X[:2]).shape}")

    fm = FMEmbeddingTransformer(model=model, sampling_rate=16000, layers="all", layer_reduce="concat").set_output(
        transform="pandas"
    )
    print("\n", fm.fit_transform(X[:3]).iloc[:, :5].round(3).to_string(), sep="")

    # -- a long clip in chunks -----------------------------------------------------------------------
    long_clip = speechlike(95.0, 16000, seed=1)
    chunked = (
        FMEmbeddingTransformer(model=model, sampling_rate=16000, layers=0, max_seconds=20.0)
        .fit()
        .transform([long_clip])
    )
    whole = (
        FMEmbeddingTransformer(model=model, sampling_rate=16000, layers=0, max_seconds=None)
        .fit()
        .transform([long_clip])
    )
    print(f"\n95 s clip, layer 0, 20 s chunks vs whole: max |diff| = {np.abs(chunked - whole).max():.1e}")

    # -- encode once across a grid search --------------------------------------------------------------
    fm = FMEmbeddingTransformer(
        model=model,
        sampling_rate=16000,
        layers="all",
        layer_reduce="concat",
        pooling="mean+std",
        cache_dir=f"{workdir}/cache",
    )
    encoder = fm.fit()._encoder()
    before = encoder.counters["pieces"]
    pipe = make_pipeline(fm, StandardScaler(), LogisticRegression(max_iter=2000))
    search = GridSearchCV(
        pipe, {"logisticregression__C": [0.01, 0.1, 1.0]}, cv=GroupKFold(3), scoring="balanced_accuracy"
    )
    search.fit(X, y, groups=groups)
    print(
        f"\nbest C {search.best_params_['logisticregression__C']}, UA {search.best_score_:.3f} "
        f"(chance 0.25); {len(X)} clips, {encoder.counters['pieces'] - before} passed through the model "
        f"in 3 folds x 3 settings + refit"
    )


if __name__ == "__main__":
    main()

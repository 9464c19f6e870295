"""ZS-Fuse end to end, offline: grid search over prompt amplification and fusion, then skops.

Tiny random CLAP and WavLM models are built locally (real use: ``clap="msclap-2023"``,
``fm="microsoft/wavlm-large"``), and generated speech-like clips stand in for a corpus with
speakers. ``make_zsfuse_pipeline`` builds the ZS-Fuse pipeline:

    Pipeline([("features", FeatureUnion([("zs", CLAPZeroShotTransformer(...)),
                                         ("fm", FMEmbeddingTransformer(...))])),
              ("clf", LateFusionClassifier(...))])

``GridSearchCV`` with speaker-independent folds (``GroupKFold``) searches the audio and text
repetition counts and the fusion weight; ``clf__zs_weight=0`` in the grid is the FM baseline,
so the results show what fusion bought. Every clip is encoded once per audio-repeat value
(and once across processes, with ``cache_dir``), whatever the folds and grid points.
The best pipeline is saved with ``zsfuse.save`` (skops, no weights in the file) and loaded
back with ``zsfuse.load``, which accepts only zsfuse's own types besides skops' defaults.

Random weights and synthetic audio: the numbers show the machinery, not SER.

Run: python examples/grid_search_skops.py
"""

import os
import tempfile

import numpy as np
import skops.io as sio
from sklearn.model_selection import GridSearchCV, GroupKFold

import zsfuse
from zsfuse import make_zsfuse_pipeline
from zsfuse.testing import make_audio_tree, make_tiny_clap, make_tiny_wavlm

LABELS = ("angry", "happy", "neutral", "sad")


def main():
    workdir = tempfile.mkdtemp(prefix="zsfuse-grid-")
    records = make_audio_tree(f"{workdir}/audio", labels=LABELS, n_speakers=4, n_per_class=3, seconds=1.5)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    speakers = np.array([r["speaker"] for r in records])

    pipe = make_zsfuse_pipeline(
        clap=make_tiny_clap(f"{workdir}/tiny-clap"),  # real use: "msclap-2023"
        fm=make_tiny_wavlm(f"{workdir}/tiny-wavlm"),  # real use: "microsoft/wavlm-large"
        labels=LABELS,
        templates=("this person is feeling {}.", "a person speaking in a {} voice."),
        zs__pad_mode="zero",  # so that audio repeats change what the short clips look like
        layers="all",
        pooling="mean",
        fusion="concat",
        cache_dir=f"{workdir}/embeddings",  # shared by both transformers and by every process
    )
    grid = {
        "features__zs__audio_repeats": [1, 2, 3],
        "features__zs__text_repeats": [1, 2],
        "clf__zs_weight": [0.0, 0.25, 0.5, 1.0],  # 0.0: the FM baseline
    }
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=4), scoring="balanced_accuracy", n_jobs=1)
    search.fit(X, y, groups=speakers)

    results = search.cv_results_
    baseline = max(s for s, p in zip(results["mean_test_score"], results["params"]) if p["clf__zs_weight"] == 0)
    print(f"{len(results['params'])} settings x 4 speaker folds")
    print(f"  FM baseline (zs_weight=0), best UA: {baseline:.3f}")
    print(f"  ZS-Fuse, best UA:                  {search.best_score_:.3f}  {search.best_params_}")

    path = zsfuse.save(search.best_estimator_, os.path.join(workdir, "zsfuse.skops"))
    print(f"\nsaved {path} ({os.path.getsize(path) / 1024:.0f} KiB, no model weights)")
    print("  its non-default types:", sio.get_untrusted_types(file=path))
    print("  zsfuse.TRUSTED_TYPES: ", list(zsfuse.TRUSTED_TYPES))
    loaded = zsfuse.load(path)  # the models reload from their id/path on first use
    same = np.array_equal(loaded.predict_proba(X), search.best_estimator_.predict_proba(X))
    print(f"  loaded pipeline predicts identically: {same}")


if __name__ == "__main__":
    main()

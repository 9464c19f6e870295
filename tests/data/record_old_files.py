"""Write the ``.skops`` files of zsfuse 0.1.0.dev0 that ``tests/test_golden.py`` must keep loading.

Run once, with the version whose files they stand for; never re-record them
with a later version (their point is that they were written by an older one)::

    python tests/data/record_old_files.py

Writes ``old-0.1.0.dev0-*.skops`` (a fitted ZS-Fuse pipeline on tiny models,
and a fitted ``LateFusionClassifier`` per fusion mode) and
``old-0.1.0.dev0.npz`` (their inputs and expected outputs).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _golden_cases import LABELS, RATE, fusion_data  # noqa: E402


def main():
    import zsfuse
    from zsfuse import LateFusionClassifier, make_zsfuse_pipeline
    from zsfuse.testing import make_tiny_clap, make_tiny_wavlm, speechlike

    version = zsfuse.__version__
    arrays = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        waves = [speechlike(1.0 + 0.25 * i, RATE, f0=100 + 12 * i, seed=i) for i in range(12)]
        y = np.array(LABELS)[np.arange(12) % 4]
        pipe = make_zsfuse_pipeline(
            clap=make_tiny_clap(tmp / "clap"),
            fm=make_tiny_wavlm(tmp / "wavlm"),
            labels=LABELS,
            sampling_rate=RATE,
            device="cpu",
            dtype="float32",
            zs_weight=0.5,
        )
        pipe.fit(waves, y)
        features = pipe[:-1].transform(waves)
        arrays["pipeline_features"] = features.to_numpy()
        arrays["pipeline_columns"] = np.array(list(features.columns))
        arrays["pipeline_proba"] = pipe.predict_proba(waves)
        zsfuse.save(pipe, HERE / f"old-{version}-pipeline.skops")
    X, y = fusion_data()
    for mode in ("weighted", "stack"):
        clf = LateFusionClassifier(fusion=mode, zs_weight=0.4, zs_labels=LABELS, cv=3).fit(X, y)
        arrays[f"{mode}_proba"] = clf.predict_proba(X)
        zsfuse.save(clf, HERE / f"old-{version}-{mode}.skops")
    np.savez_compressed(HERE / f"old-{version}.npz", **arrays)
    print("wrote", sorted(p.name for p in HERE.glob(f"old-{version}*")))


if __name__ == "__main__":
    main()

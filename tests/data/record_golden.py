"""Record the reference outputs that ``tests/test_golden.py`` compares against.

Run once per environment (the tiny random models differ between transformers
4.x and 5.x, so each major version has its own file)::

    python tests/data/record_golden.py

The file it writes, ``golden-transformers<major>.npz``, holds the output of
each estimator on the tiny offline models and generated audio for a fixed set
of parameter settings, plus the embedding-store namespaces (cache keys) they
used. Re-record only when a change of output is intended, and say so in the
CHANGELOG.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/_golden_cases.py

from _golden_cases import golden_file, run_all_cases  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        values, namespaces = run_all_cases(Path(tmp))
    out = golden_file()
    np.savez_compressed(out, __namespaces__=np.array(sorted(namespaces)), **values)
    print(f"wrote {out.name}: {len(values)} arrays, {len(namespaces)} store namespaces")


if __name__ == "__main__":
    main()

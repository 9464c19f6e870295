"""``zsfuse report``: rebuild the reports of earlier runs from their results, or combine several."""

from __future__ import annotations

import sys


def run_report(args, echo=None):
    """Rebuild the reports (:func:`zsfuse.evaluation.rebuild_reports`) and say what was written."""
    from ..evaluation import rebuild_reports

    echo = echo or (lambda text: print(text, file=sys.stderr))
    written = rebuild_reports(args.runs, args.out)
    folders = sorted({str(p.parent) for p in written})
    print(f"{len(written)} files written in {', '.join(folders)}")
    for path in written:
        if path.name == "summary.md":
            echo(f"the runs side by side: {path}")
    return 0

"""Evaluation of zsfuse against its baselines on a speaker-independent protocol.

:func:`evaluate` fits and scores three systems on every fold of a dataset
(:mod:`zsfuse.datasets`): the FM baseline, zero-shot CLAP alone, and ZS-Fuse
with an inner grid search on the training speakers. It reports UA (balanced
accuracy, the headline), WA (accuracy) and macro-F1 per fold and mean +- std,
and writes ``results.json``, ``results.csv``, ``report.md``,
``predictions.csv`` and confusion-matrix PNGs. ``zsfuse evaluate`` is its
command line.
"""

from ._amplification import amplification
from ._calibration import (
    calibration_metrics,
    pooled_calibration,
    reliability_curve,
    reliability_figure,
    write_reliability_diagram,
)
from ._environment import environment_info
from ._metrics import METRIC_NAMES, METRICS, fold_metrics, summarize
from ._rebuild import rebuild_reports
from ._report import build_summary, format_table, load_results, write_reports
from ._runner import (
    DEFAULT_GRID,
    HEADS,
    SYSTEMS,
    EvaluationError,
    baseline_grid,
    default_grid,
    evaluate,
    extraction_jobs,
    fm_baseline,
    resolve_grid,
)
from ._significance import format_comparison, paired_comparison, pooled_over_folds

__all__ = [
    "DEFAULT_GRID",
    "HEADS",
    "METRICS",
    "METRIC_NAMES",
    "SYSTEMS",
    "EvaluationError",
    "amplification",
    "baseline_grid",
    "build_summary",
    "calibration_metrics",
    "default_grid",
    "environment_info",
    "evaluate",
    "extraction_jobs",
    "fm_baseline",
    "fold_metrics",
    "format_comparison",
    "format_table",
    "load_results",
    "paired_comparison",
    "pooled_calibration",
    "pooled_over_folds",
    "rebuild_reports",
    "reliability_curve",
    "reliability_figure",
    "resolve_grid",
    "summarize",
    "write_reliability_diagram",
    "write_reports",
]

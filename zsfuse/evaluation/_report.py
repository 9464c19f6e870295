"""The results of ``zsfuse evaluate``: their schema, summary, table and report files.

The runner builds one plain, JSON-serialisable dict per evaluation; the
functions here summarise it (:func:`build_summary`), print it
(:func:`format_table`), write it to a folder (:func:`write_reports`) and read
it back (:func:`load_results`). They know nothing about audio or models.

The results dict
----------------
::

    {
     "zsfuse_version": "0.1.0",
     "created": "2025-06-01T12:00:00+00:00",     # ISO-8601, UTC
     "elapsed_s": 1234.5,
     "dataset": {"name": "iemocap", "root": "...", "protocol": "emobox",
                 "speaker_independent": True,   # False: folds share speakers (a caveat too)
                 "n_clips": 5531, "n_speakers": 10,
                 "classes": ["ang", "hap", "neu", "sad"],
                 "class_counts": {"ang": 1103, ...}},
     "config": {...},            # anything JSON: the parameters, the grid, the models;
                                 # "command" (str or list of str): how to rerun it
     "models": {"clap": {"model": str, "revision": str or None, "fingerprint": str},
                "fm": {...}},
     "environment": environment_info(),
     "systems": ["fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse"],    # display order
     "caveats": [str, ...],      # e.g. "not zero-shot: ... was trained on ..." (a section of report.md)
     "folds": [
       {"fold": "fold_1", "n_train": 4290, "n_test": 1241,
        "test_speakers": ["Ses01F", "Ses01M"],
        "best_params": {...},    # zs_fuse's inner grid-search choice, may be {}
        "baseline_params": {...},  # fm_baseline's choice over the grid entries it has, may be {}
        "calibration": {system: {...}},  # the fold's ECE, classwise ECE, NLL, Brier per system
        "temperature": float or None,    # the zero-shot temperature zs_fuse's classifier fitted
        "zero_shot_params": {...}, # zero_shot_tuned's choice over the zero-shot entries, may be {}
        "systems": {"fm_baseline": fold_metrics(...),
                    "zero_shot": fold_metrics(...),
                    "zs_fuse": fold_metrics(...)}},
       ...
     ],
     "calibration": {system: {...}},  # pooled test clips: ece, classwise_ece, nll, brier, reliability
     "comparison": {...},        # zs_fuse against fm_baseline on the pooled test clips:
                                 # delta, ci_low, ci_high, unit, mcnemar {...}, text
     "summary": {system: summarize(...)},     # build_summary(results)
    }

Metrics are fractions in ``[0, 1]`` (:func:`~zsfuse.evaluation._metrics.fold_metrics`);
the table and the report show percentages with one decimal. Confusion
matrices follow ``dataset["classes"]``. Only ``"folds"`` (each with
``"systems"``) is required to render a report; every other key is shown
when present. ``"systems"`` defaults to the systems of the first fold.

The report folder
-----------------
:func:`write_reports` writes, each file atomically (a temporary file renamed
over the target, so that a killed run leaves the previous complete file or
none, never half of one):

* ``results.json``: the results dict, with ``"summary"`` recomputed from the folds;
* ``results.csv``: long format ``fold, system, metric, value`` -- every
  fold, system and metric, then the rows of ``fold="mean"`` and
  ``fold="std"`` (fractions, not percentages);
* ``report.md``: the summary, the per-fold tables, the best parameters, the
  pooled confusion matrices, the dataset, the command, configuration, models
  and environment needed to reproduce the run, and last the references to
  cite for zsfuse, the ZS-Fuse paper and the run's models and corpus
  (:func:`~zsfuse.evaluation._references.references_for`);
* ``confusion_<system>.png``: each system's confusion matrix pooled over the
  folds, coloured by row (the recall of each true class), counts annotated;
* ``reliability.png``: every system's reliability diagram on one figure, when
  the results hold their calibration (``"calibration"``).
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path

import numpy as np

from .._json import json_default
from ..exceptions import MissingDependencyError
from ._atomic import atomic_write
from ._format import md_table, pct, slug, speaker_list
from ._metrics import METRIC_NAMES, METRICS, summarize
from ._references import references_for

__all__ = ["build_summary", "format_table", "load_results", "write_reports"]

#: The reliability diagram of every system, in the report folder.
RELIABILITY_PNG = "reliability.png"


# ---------------------------------------------------------------------------- reading the dict
def _folds(results):
    folds = results.get("folds") or []
    if not folds:
        raise ValueError("results has no folds: there is nothing to summarise.")
    return folds


def _systems(results):
    systems = results.get("systems")
    if systems:
        return [str(s) for s in systems]
    return [str(s) for s in _folds(results)[0].get("systems", {})]


def _fold_name(fold, position):
    return str(fold.get("fold", f"fold_{position + 1}"))


def _classes(results, size):
    classes = (results.get("dataset") or {}).get("classes")
    if classes is not None and len(classes) == size:
        return [str(c) for c in classes]
    return [str(i) for i in range(size)]


def build_summary(results):
    """Summarise each system over the folds of ``results``.

    Parameters
    ----------
    results : dict
        The results dict (see the module docstring); only ``"folds"`` and
        ``"systems"`` are read.

    Returns
    -------
    dict
        ``{system: summarize([fold["systems"][system] for fold in folds])}``
        in the order of ``results["systems"]``; the caller stores it as
        ``results["summary"]``. ``results`` is not modified.

    Raises
    ------
    ValueError
        When ``results`` has no folds, or a fold lacks a system's metrics.
    """
    folds = _folds(results)
    summary = {}
    for system in _systems(results):
        per_fold = []
        for position, fold in enumerate(folds):
            metrics = (fold.get("systems") or {}).get(system)
            if metrics is None:
                raise ValueError(f"fold {_fold_name(fold, position)!r} has no metrics for system {system!r}.")
            per_fold.append(metrics)
        summary[system] = summarize(per_fold)
    return summary


# ---------------------------------------------------------------------------- formatting
def _mean_std(stats):
    return f"{pct(stats['mean'])} ± {pct(stats['std'])}"


def _n_folds(k):
    return f"{k} fold{'s' if k != 1 else ''}"


def _facts(results, n_folds):
    """``"5 folds, 5531 clips, 10 speakers, 4 classes"`` (the parts that are known)."""
    dataset = results.get("dataset") or {}
    facts = [_n_folds(n_folds)]
    for key, unit in (("n_clips", "clips"), ("n_speakers", "speakers")):
        if dataset.get(key) is not None:
            facts.append(f"{dataset[key]} {unit}")
    if dataset.get("classes"):
        facts.append(f"{len(dataset['classes'])} classes")
    return ", ".join(facts)


def _speaker_independent(results):
    """False only when the dataset says its folds share speakers (older results say nothing: True)."""
    return (results.get("dataset") or {}).get("speaker_independent", True) is not False


def _headline(results, n_folds):
    dataset = results.get("dataset") or {}
    name = dataset.get("name") or "zsfuse evaluate"
    if dataset.get("protocol"):
        name += f" ({dataset['protocol']})"
    line = f"{name}: {_facts(results, n_folds)}"
    if not _speaker_independent(results):
        line += "\nSPEAKER-DEPENDENT: the folds share speakers between training and test (not comparable)"
    return line


def _calibration_rows(calibration, systems):
    return [
        [s, *(f"{float(calibration[s][m]):.3f}" for m in ("ece", "classwise_ece", "nll", "brier"))]
        for s in systems
        if s in calibration
    ]


def _calibration_section(results, systems, folds):
    """``## Calibration``: each system's ECE, classwise ECE, NLL and Brier score, the diagram, the temperatures."""
    calibration = results.get("calibration") or {}
    rows = _calibration_rows(calibration, systems)
    if not rows:
        return []
    out = ["", "## Calibration", ""]
    out += [
        "How far each system's confidence is from its accuracy, on the pooled test clips: expected calibration "
        "error (ECE, 15 equal-width bins of the top-label confidence) and its classwise variant, negative "
        "log-likelihood (NLL, natural log) and the multiclass Brier score; lower is better for all four. "
        "zero_shot is the model's own softmax, no temperature fitted.",
        "",
    ]
    out += md_table(["System", "ECE", "Classwise ECE", "NLL", "Brier"], rows, "lrrrr")
    out += ["", f"![Reliability diagram]({RELIABILITY_PNG})"]
    temperatures = [(i, fold.get("temperature")) for i, fold in enumerate(folds)]
    if any(t is not None for _, t in temperatures):
        shown = ", ".join(f"{_fold_name(folds[i], i)} {t:.3g}" for i, t in temperatures if t is not None)
        out += ["", f"The zero-shot temperature zs_fuse fitted per fold: {shown}."]
    return out


def _comparison_text(results):
    comparison = results.get("comparison") or {}
    return comparison.get("text")


def _n_test(fold):
    if fold.get("n_test") is not None:
        return fold["n_test"]
    for metrics in (fold.get("systems") or {}).values():
        return metrics.get("n", "")
    return ""


def _align(header, rows, n_left=1, rule_before=()):
    """Plain-text table: the first ``n_left`` columns left-aligned, the others right."""
    table = [header, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]

    def line(row):
        cells = [
            str(cell).ljust(width) if i < n_left else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [line(header), rule]
    for i, row in enumerate(rows):
        if i in rule_before:
            lines.append(rule)
        lines.append(line(row))
    return lines


def format_table(results, *, per_fold=True):
    """A plain-text table of ``results`` for the terminal.

    Parameters
    ----------
    results : dict
        The results dict (see the module docstring).
    per_fold : bool, default=True
        Whether to show the UA of each system in each fold (one row per fold,
        one column per system, then a ``mean ± std`` row) above the summary.

    Returns
    -------
    str
        A headline (dataset, folds, clips), the per-fold UA table, and the
        summary: one row per system, UA (the headline metric), WA and
        Macro-F1 as ``mean ± std`` over folds, in percent with one decimal
        (e.g. ``69.5 ± 2.1``; std: the sample standard deviation, ``ddof=1``).
        About 60 characters wide for three systems; no trailing newline.

    Raises
    ------
    ValueError
        When ``results`` has no folds, or a fold lacks a system's metrics.
    """
    folds = _folds(results)
    systems = _systems(results)
    summary = build_summary(results)
    lines = [_headline(results, len(folds))]
    if per_fold:
        rows = [
            [_fold_name(fold, i), _n_test(fold), *(pct(fold["systems"][s]["ua"]) for s in systems)]
            for i, fold in enumerate(folds)
        ]
        rows.append(["mean ± std", "", *(_mean_std(summary[s]["ua"]) for s in systems)])
        lines += ["", "UA (%) per fold"]
        lines += _align(["fold", "n_test", *systems], rows, rule_before={len(rows) - 1})
    rows = [[s, *(_mean_std(summary[s][m]) for m in METRICS)] for s in systems]
    lines += ["", f"mean ± std over {_n_folds(len(folds))} (%)"]
    lines += _align(["system", *(METRIC_NAMES[m] for m in METRICS)], rows)
    rows = _calibration_rows(results.get("calibration") or {}, systems)
    if rows:
        lines += ["", "calibration on the pooled test clips (lower is better)"]
        lines += _align(["system", "ECE", "classwise ECE", "NLL", "Brier"], rows)
    if _comparison_text(results):
        lines += ["", _comparison_text(results)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- markdown
def _fenced(text, language=""):
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + language, text, fence]


def _to_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, default=json_default)


def _params(params):
    if not params:
        return "(none)"
    return ", ".join(f"`{key}={json.dumps(value, default=json_default)}`" for key, value in params.items())


def _bold_best(cells):
    """Bold the cells whose displayed mean (before " ± ") is the largest."""
    means = [float(cell.split(" ")[0]) for cell in cells]
    best = max(means)
    return [f"**{cell}**" if mean == best else cell for cell, mean in zip(cells, means)]


def _command(config):
    command = (config or {}).get("command")
    if command is None:
        return None
    if isinstance(command, (list, tuple)):
        return shlex.join(str(part) for part in command)
    return str(command)


def _markdown(results, summary, systems, folds, png_names):
    dataset = results.get("dataset") or {}
    created = results.get("created")
    k = len(folds)
    title = f"# zsfuse evaluation: {dataset.get('name') or 'results'}"
    if dataset.get("protocol"):
        title += f" ({dataset['protocol']} protocol)"
    if created:
        title += f", {str(created)[:10]}"
    out = [title, ""]

    about = [f"Created {created}"] if created else []
    if results.get("elapsed_s") is not None:
        about.append(f"in {float(results['elapsed_s']):.1f} s")
    if results.get("zsfuse_version"):
        about.append(f"with zsfuse {results['zsfuse_version']}")
    about = f"{' '.join(about)}. " if about else ""
    if _speaker_independent(results):
        where = "speaker-independent: no test speaker of a fold is in its training set."
    else:
        where = "**speaker-dependent**: the folds share speakers between their training and test parts."
    out += [f"{about}{_facts(results, k)}; {where}", ""]

    caveats = results.get("caveats") or []
    if caveats:
        out += ["## Caveats", "", *(f"- **{c}**" for c in caveats), ""]

    out += ["## Summary", ""]
    out += [
        f"Mean ± standard deviation over {_n_folds(k)}, in %. "
        "UA (the headline) is the balanced accuracy, the mean recall of the classes; "
        "WA the accuracy; Macro-F1 the unweighted mean of the classes' F1. "
        "The standard deviation is the sample one (ddof=1; 0 for a single fold). "
        "The best mean of each metric is in bold.",
        "",
    ]
    columns = [_bold_best([_mean_std(summary[s][m]) for s in systems]) for m in METRICS]
    rows = [[s, *(column[i] for column in columns)] for i, s in enumerate(systems)]
    out += md_table(["System", *(METRIC_NAMES[m] for m in METRICS)], rows, "l" + "r" * len(METRICS))

    out += ["", "## UA per fold (%)", ""]
    rows = [
        [
            _fold_name(fold, i),
            fold.get("n_train", ""),
            _n_test(fold),
            speaker_list(fold.get("test_speakers")),
            *(pct(fold["systems"][s]["ua"]) for s in systems),
        ]
        for i, fold in enumerate(folds)
    ]
    rows.append(["**mean ± std**", "", "", "", *(_mean_std(summary[s]["ua"]) for s in systems)])
    out += md_table(["Fold", "n_train", "n_test", "Test speakers", *systems], rows, "lrrl" + "r" * len(systems))

    out += ["", "## All metrics per fold (%)", ""]
    rows = [
        [_fold_name(fold, i), s, *(pct(fold["systems"][s][m]) for m in METRICS)]
        for i, fold in enumerate(folds)
        for s in systems
    ]
    out += md_table(["Fold", "System", *(METRIC_NAMES[m] for m in METRICS)], rows, "ll" + "r" * len(METRICS))

    comparison = results.get("comparison") or {}
    if comparison.get("text"):
        out += ["", "## Is the gain significant?", ""]
        out += [
            f"{comparison['text']}.",
            "",
            "On the test clips of all the folds, pooled: the UA difference, a paired bootstrap interval "
            f"(resampling {comparison.get('unit', 'clip')}s, the same draws for both systems, seeded) and "
            "McNemar's test on the clips one system gets right and the other wrong.",
        ]

    out += _calibration_section(results, systems, folds)

    out += [
        "",
        "## Best parameters per fold",
        "",
        "The choices of the inner grid search on each fold's training speakers: zs_fuse's; the "
        "FM baseline's over the grid entries it has (its head and FM parameters); zero_shot_tuned's over "
        "the zero-shot entries (amplification, prompts). One search, the same folds, for all three.",
        "",
    ]
    rows = [
        [
            _fold_name(fold, i),
            _params(fold.get("baseline_params")),
            _params(fold.get("zero_shot_params")),
            _params(fold.get("best_params")),
        ]
        for i, fold in enumerate(folds)
    ]
    out += md_table(["Fold", "fm_baseline", "zero_shot_tuned", "zs_fuse"], rows, "llll")

    out += [
        "",
        "## Confusion matrices (pooled over the folds)",
        "",
        "Rows: true class; columns: predicted class; counts summed over the folds. "
        "Recall: the share of the true class predicted right.",
        "",
    ]
    for system in systems:
        matrix = np.asarray(summary[system]["confusion"], dtype=np.int64)
        classes = _classes(results, matrix.shape[0])
        support = matrix.sum(axis=1)
        out += [f"### {system}", "", f"UA {_mean_std(summary[system]['ua'])} % (mean ± std over the folds).", ""]
        rows = [
            [f"**{c}**", *(int(v) for v in matrix[i]), pct(matrix[i, i] / support[i]) if support[i] else "-"]
            for i, c in enumerate(classes)
        ]
        out += md_table(
            ["true \u2193 / predicted \u2192", *classes, "Recall (%)"], rows, "l" + "r" * (len(classes) + 1)
        )
        if system in png_names:
            out += ["", f"![Confusion matrix of {system}]({png_names[system]})"]
        out.append("")

    out += ["## Dataset", ""]
    for key, label in (
        ("name", "Name"),
        ("protocol", "Protocol"),
        ("root", "Root"),
        ("n_clips", "Clips"),
        ("n_speakers", "Speakers"),
    ):
        if dataset.get(key) is not None:
            out.append(f"- {label}: `{dataset[key]}`")
    counts = dataset.get("class_counts") or {}
    if dataset.get("classes") or counts:
        names = [str(c) for c in dataset.get("classes") or counts]
        out += ["", *md_table(["Class", "Clips"], [[c, counts.get(c, "")] for c in names], "lr")]
    out.append("")

    out += ["## Reproduce", ""]
    command = _command(results.get("config"))
    if command:
        out += ["Rerun with the same versions (see Environment and Models below):", "", *_fenced(command, "sh"), ""]
    else:
        out += ["The configuration, models and environment of the run are below.", ""]
    for key, heading in (("config", "Configuration"), ("models", "Models"), ("environment", "Environment")):
        if results.get(key) is not None:
            out += [f"### {heading}", "", *_fenced(_to_json(results[key]), "json"), ""]

    out += [
        "## References",
        "",
        "If you publish these results, cite zsfuse, the ZS-Fuse paper, and the models and corpus of the run:",
        "",
    ]
    out += [f"- {what}: {citation}" for what, citation in references_for(results)]
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------- files
def _csv_rows(summary, systems, folds):
    for i, fold in enumerate(folds):
        for system in systems:
            for metric in METRICS:
                yield [_fold_name(fold, i), system, metric, float(fold["systems"][system][metric])]
    for statistic in ("mean", "std"):
        for system in systems:
            for metric in METRICS:
                yield [statistic, system, metric, summary[system][metric][statistic]]


def _confusion_png(matrix, classes, title):
    """PNG bytes of a confusion matrix: colours normalised by row, counts annotated."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=np.int64)
    k = counts.shape[0]
    support = counts.sum(axis=1, keepdims=True)
    recall = np.divide(counts, support, out=np.zeros(counts.shape), where=support > 0)
    side = float(np.clip(0.75 * k + 2.5, 4.0, 14.0))
    fig = Figure(figsize=(side + 1.2, side), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    rotate = any(len(c) > 4 for c in classes) and k > 3
    ax.set_xticks(range(k))
    ax.set_xticklabels(classes, rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_yticks(range(k))
    ax.set_yticklabels(classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=10)
    fontsize = 9 if k <= 6 else 8
    for i in range(k):
        for j in range(k):
            colour = "white" if recall[i, j] > 0.6 else "black"
            ax.text(
                j,
                i,
                f"{counts[i, j]}\n{100 * recall[i, j]:.0f}%",
                ha="center",
                va="center",
                color=colour,
                fontsize=fontsize,
            )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_reports(results, out_dir):
    """Write ``results.json``, ``results.csv``, ``report.md`` and the confusion PNGs.

    Parameters
    ----------
    results : dict
        The results dict (see the module docstring). It is not modified; the
        ``"summary"`` written is recomputed from the folds.
    out_dir : str or path-like
        Folder of the reports, created if needed; files of the same names are
        replaced.

    Returns
    -------
    list of pathlib.Path
        The files written: ``results.json``, ``results.csv``, ``report.md``,
        ``confusion_<system>.png`` for each system and, with calibration in the
        results, ``reliability.png``, in that order.

    Raises
    ------
    ValueError
        When ``results`` has no folds, or a fold lacks a system's metrics
        (nothing is written).
    TypeError
        When ``results`` holds a value JSON cannot represent (numpy scalars
        and arrays and paths are converted; nothing is written).
    MissingDependencyError
        When matplotlib is not installed; the three text files are written
        first.

    Notes
    -----
    Each file is written to a temporary file in ``out_dir`` and renamed over
    its target (``os.replace``), so that a run killed while writing leaves
    the previous complete file, or none, never a truncated one. matplotlib
    is imported here, not when the module is: the figures are drawn on an
    Agg canvas without pyplot, so no global state or display is touched.
    """
    folds = _folds(results)
    systems = _systems(results)
    summary = build_summary(results)
    full = {**results, "summary": summary}
    json_text = _to_json(full) + "\n"  # fails (TypeError) before any file is touched
    png_names = {system: f"confusion_{slug(system)}.png" for system in systems}
    markdown = _markdown(results, summary, systems, folds, png_names)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [atomic_write(out_dir / "results.json", lambda fh: fh.write(json_text))]

    def write_csv(fh):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["fold", "system", "metric", "value"])
        writer.writerows(_csv_rows(summary, systems, folds))

    written.append(atomic_write(out_dir / "results.csv", write_csv, newline=""))
    written.append(atomic_write(out_dir / "report.md", lambda fh: fh.write(markdown)))

    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the confusion-matrix figures need matplotlib, which is not installed: "
            f"pip install matplotlib. {', '.join(str(p) for p in written)} were written."
        ) from exc
    dataset_name = (results.get("dataset") or {}).get("name")
    for system in systems:
        stats = summary[system]
        matrix = stats["confusion"]
        classes = _classes(results, len(matrix))
        title = f"{system}: UA {_mean_std(stats['ua'])} % (mean ± std, {_n_folds(stats['n_folds'])})"
        subtitle = f"{dataset_name}, " if dataset_name else ""
        title += f"\n{subtitle}counts pooled over the folds"
        png = _confusion_png(matrix, classes, title)
        written.append(atomic_write(out_dir / png_names[system], lambda fh, data=png: fh.write(data), binary=True))
    curves = {
        s: {**c["reliability"], "ece": c["ece"]}
        for s, c in (results.get("calibration") or {}).items()
        if isinstance(c, dict) and c.get("reliability")
    }
    if curves:
        from ._calibration import write_reliability_diagram

        title = f"Reliability on {dataset_name}" if dataset_name else "Reliability"
        written.append(write_reliability_diagram(curves, out_dir / RELIABILITY_PNG, title=title))
    return written


def load_results(path):
    """Read a results file written by :func:`write_reports`.

    Parameters
    ----------
    path : str or path-like
        ``results.json``, or the folder that holds it.

    Returns
    -------
    dict
        The results dict, as written (summary included).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not JSON or not a results dict (no ``"folds"`` list).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    with open(path, encoding="utf-8") as fh:
        try:
            results = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{str(path)!r} is not a JSON file: {exc}") from exc
    if not isinstance(results, dict) or not isinstance(results.get("folds"), list):
        raise ValueError(f"{str(path)!r} is not a zsfuse results file: it has no 'folds' list.")
    return results

"""``zsfuse report``: rebuild the reports and figures of earlier runs, and combine several, without a model.

A run is the folder ``zsfuse evaluate`` or ``zsfuse amplify`` wrote (or its
``results.json`` / ``amplification.json``). Everything is redrawn from those
files: ``report.md``, ``results.csv``, the confusion matrices, the reliability
diagram, ``amplification.csv`` and the heat maps. Several runs also give one
``summary.md`` (every dataset in one table) and ``amplification.png`` (the heat
maps side by side).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..exceptions import EvaluationError
from ._format import md_table, pct, slug
from ._report import build_summary

__all__ = ["find_run", "rebuild_reports"]

RESULTS = "results.json"
AMPLIFICATION = "amplification.json"


def find_run(path):
    """The evaluation and amplification results a run holds.

    Parameters
    ----------
    path : str or path-like
        A run folder, or a ``results.json`` / ``amplification.json`` file.

    Returns
    -------
    dict
        ``{"name": str, "folder": Path, "results": dict or None, "amplification": dict or None}``.

    Raises
    ------
    EvaluationError
        When the path does not exist or holds neither file, or a file is not
        JSON of the expected kind.
    """
    path = Path(path)
    if not path.exists():
        raise EvaluationError(f"{str(path)!r} does not exist: give a folder written by zsfuse evaluate or amplify.")
    files = [path] if path.is_file() else [p for p in (path / RESULTS, path / AMPLIFICATION) if p.is_file()]
    if not files:
        raise EvaluationError(
            f"{str(path)!r} holds neither {RESULTS} (zsfuse evaluate) nor {AMPLIFICATION} (zsfuse amplify)."
        )
    run = {"folder": path if path.is_dir() else path.parent, "results": None, "amplification": None}
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EvaluationError(f"{str(file)!r} could not be read as JSON: {exc}") from None
        if isinstance(data, dict) and "folds" in data and "grids" not in data:
            run["results"] = data
        elif isinstance(data, dict) and "grids" in data:
            run["amplification"] = data
        else:
            raise EvaluationError(f"{str(file)!r} is neither zsfuse evaluate's results nor zsfuse amplify's.")
    data = run["results"] or run["amplification"]
    run["name"] = str((data.get("dataset") or {}).get("name") or run["folder"].name)
    return run


def rebuild_reports(runs, out=None):
    """Rebuild every report file of the runs from their results; combine several runs.

    Parameters
    ----------
    runs : sequence of str or path-like
        Run folders (or their ``results.json`` / ``amplification.json``).
    out : str or path-like, optional
        Where to write. One run: default its own folder (the files are
        replaced, each atomically). Several runs: required; each run's reports
        go to ``out/<k>-<dataset>/``, and ``out`` gets ``summary.md`` and, when
        two or more runs have amplification results, ``amplification.png``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    EvaluationError
        For a run that cannot be read, or several runs without ``out``.
    """
    from ._amplification import write_amplification
    from ._report import write_reports

    found = [find_run(r) for r in runs]
    if not found:
        raise EvaluationError("zsfuse report needs at least one run folder.")
    if len(found) > 1 and out is None:
        raise EvaluationError("several runs need --out: the folder of the combined summary.")
    written = []
    for k, run in enumerate(found, start=1):
        if len(found) == 1:
            target = Path(out) if out is not None else run["folder"]
        else:
            target = Path(out) / f"{k}-{slug(run['name']) or 'run'}"
        run["target"] = target
        if run["results"] is not None:
            written += write_reports(run["results"], target)
        if run["amplification"] is not None:
            # both in one folder: the evaluation keeps report.md, the amplification gets its own folder
            where = target / "amplification" if run["results"] is not None else target
            written += write_amplification(run["amplification"], where)
    if len(found) > 1:
        out = Path(out)
        written.append(_write_summary(found, out))
        amplified = [r for r in found if r["amplification"] is not None]
        if len(amplified) > 1:
            written.append(_side_by_side(amplified, out / "amplification.png"))
    return written


def _summary_markdown(found):
    systems = []
    for run in found:
        for s in (run["results"] or {}).get("systems") or []:
            if s not in systems:
                systems.append(s)
    out = ["# zsfuse: runs side by side", ""]
    evaluated = [r for r in found if r["results"] is not None]
    if evaluated:
        out += [
            "## UA per dataset (%)",
            "",
            "Mean ± standard deviation over each run's folds (ddof=1). Speaker-dependent runs are marked: "
            "do not compare them with speaker-independent ones.",
            "",
        ]
        header = ["Run", "Dataset", "Protocol", "Folds", *systems, "ZS-Fuse − baseline (95% CI)"]
        rows = []
        for k, run in enumerate(found, start=1):
            results = run["results"]
            if results is None:
                continue
            dataset = results.get("dataset") or {}
            folds = results["folds"]
            summary = build_summary(results)  # the statistics every report shows (std with ddof=1)
            cells = [
                f"{pct(summary[s]['ua']['mean'])} ± {pct(summary[s]['ua']['std'])}" if s in summary else "–"
                for s in systems
            ]
            comparison = results.get("comparison") or {}
            gain = "–"
            if {"delta", "ci_low", "ci_high"} <= set(comparison):
                low, high = 100 * comparison["ci_low"], 100 * comparison["ci_high"]
                gain = f"{100 * comparison['delta']:+.1f} ({low:+.1f} to {high:+.1f})"
            name = str(dataset.get("name") or run["name"])
            if dataset.get("speaker_independent") is False:
                name += " (speaker-dependent)"
            row = [f"[{k}]({run['target'].name}/report.md)", name, str(dataset.get("protocol") or "–"), str(len(folds))]
            rows.append([*row, *cells, gain])
        out += [*md_table(header, rows, "llll" + "r" * (len(systems) + 1)), ""]
    amplified = [(k, r) for k, r in enumerate(found, start=1) if r["amplification"] is not None]
    if amplified:
        out += ["## Prompt amplification (zero-shot UA, %, pooled)", ""]
        rows = []
        for k, run in amplified:
            for grid in run["amplification"]["grids"]:
                a, t = grid["best"]["audio_repeats"], grid["best"]["text_repeats"]
                base = _cell(grid, 1, 1)
                rows.append([k, run["name"], f"({a}, {t})", pct(_cell(grid, a, t)), "–" if base is None else pct(base)])
        header = ["Run", "Dataset", "Best (audio, text)", "Its UA", "(1, 1) UA"]
        out += [*md_table(header, rows, "lllrr"), ""]
        if len(amplified) > 1:
            out += ["![Heat maps side by side](amplification.png)", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _cell(grid, a, t):
    if a in grid["audio_repeats"] and t in grid["text_repeats"]:
        return grid["ua"][grid["audio_repeats"].index(a)][grid["text_repeats"].index(t)]
    return None


def _write_summary(found, out):
    from ._atomic import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    text = _summary_markdown(found)
    return atomic_write(out / "summary.md", lambda fh: fh.write(text))


def _side_by_side(runs, path):
    """One figure: the first heat map of each run, side by side, read back from the PNGs just written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    from ._atomic import atomic_write

    images = []
    for run in runs:
        where = run["target"] / "amplification" if run["results"] is not None else run["target"]
        grid = run["amplification"]["grids"][0]
        images.append((run["name"], imread(where / grid["heatmap"])))
    height = max(img.shape[0] for _, img in images) / 100
    fig = Figure(figsize=(sum(img.shape[1] for _, img in images) / 100, height), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for ax, (_, img) in zip(axes, images):
        ax.imshow(img)
        ax.set_axis_off()
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0, wspace=0.02)

    def write(fh):
        fig.savefig(fh, format="png")

    return atomic_write(path, write, binary=True)

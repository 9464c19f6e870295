"""The heat map of ``zsfuse amplify``: zero-shot UA per (audio_repeats, text_repeats) cell.

Rows are ``audio_repeats``, columns ``text_repeats``; each cell shows its UA
in percent. The best cell and the baseline (no amplification, ``(1, 1)``)
are outlined and named in a legend under the plot; a colour bar gives the
scale. Drawn on an Agg canvas with matplotlib's object API (no pyplot, no
global state) and written atomically, as the confusion-matrix figures of
:func:`~zsfuse.evaluation.write_reports` are.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from ..exceptions import MissingDependencyError
from ._atomic import atomic_write

__all__ = ["heatmap_grid", "write_heatmap"]

_BEST_COLOUR = "#d62728"  # red: the best cell
_BASELINE_COLOUR = "black"  # the (1, 1) baseline: dashed black on a white line, visible on any colour


def heatmap_grid(table):
    """The rows, columns and values of a heat map table.

    Parameters
    ----------
    table : mapping
        ``(audio_repeats, text_repeats) -> value`` (a fraction in ``[0, 1]``,
        or None / NaN for a cell without a value).

    Returns
    -------
    rows : list of int
        The ``audio_repeats`` values, ascending.
    columns : list of int
        The ``text_repeats`` values, ascending.
    values : ndarray of float, shape (len(rows), len(columns))
        ``values[i, j]``: the value of ``(rows[i], columns[j])``; NaN where
        the table has none.

    Raises
    ------
    ValueError
        When the table is empty or a key is not a pair.
    """
    if not table:
        raise ValueError("the heat map table is empty: it needs at least one (audio_repeats, text_repeats) cell.")
    keys = list(table)
    if not all(isinstance(k, tuple) and len(k) == 2 for k in keys):
        raise ValueError(f"the heat map table's keys must be (audio_repeats, text_repeats) pairs, got {keys[:3]}.")
    rows = sorted({k[0] for k in keys})
    columns = sorted({k[1] for k in keys})
    values = np.full((len(rows), len(columns)), np.nan)
    for (a, t), value in table.items():
        if value is not None:
            values[rows.index(a), columns.index(t)] = float(value)
    return rows, columns, values


def _outline(ax, i, j, colour, style, width):
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (j - 0.5, i - 0.5),
            1.0,
            1.0,
            fill=False,
            edgecolor=colour,
            linestyle=style,
            linewidth=width,
            zorder=3,
            clip_on=False,
        )
    )


def _heatmap_png(table, *, best, baseline=(1, 1), title=""):
    """PNG bytes of the heat map (see :func:`write_heatmap`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows, columns, values = heatmap_grid(table)
    best, baseline = tuple(best), None if baseline is None else tuple(baseline)
    if best not in table:
        raise ValueError(f"the best cell {best} is not in the heat map table (cells: {sorted(table)}).")
    percent = 100.0 * values
    finite = percent[np.isfinite(percent)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 100.0)
    if high - low < 1e-9:  # one value: a band around it, so that the colour bar has a scale
        low, high = low - 1.0, high + 1.0

    width = float(np.clip(1.1 * len(columns) + 3.2, 4.5, 16.0))
    height = float(np.clip(0.9 * len(rows) + 2.6, 3.8, 14.0))
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = _colour_map()
    image = ax.imshow(np.ma.masked_invalid(percent), cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.9, label="UA (%)")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([str(c) for c in columns])
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([str(r) for r in rows])
    ax.xaxis.tick_top()  # column labels on top: the legend goes under the grid
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("text_repeats")
    ax.set_ylabel("audio_repeats")
    if title:
        ax.set_title(title, fontsize=10)
    for i in range(len(rows)):
        for j in range(len(columns)):
            value = percent[i, j]
            if not math.isfinite(value):
                ax.text(j, i, "–", ha="center", va="center", color="grey", fontsize=9)
                continue
            shade = (value - low) / (high - low)
            red, green, blue, _ = cmap(shade)
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.55
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="black" if light else "white", fontsize=9)

    handles = []
    bi, bj = rows.index(best[0]), columns.index(best[1])
    _outline(ax, bi, bj, _BEST_COLOUR, "solid", 3.5)
    handles.append(
        Line2D(
            [],
            [],
            color=_BEST_COLOUR,
            linewidth=3.5,
            label=f"best: audio {best[0]} × text {best[1]} ({percent[bi, bj]:.1f} %)",
        )
    )
    if baseline is not None and baseline in table:
        ai, aj = rows.index(baseline[0]), columns.index(baseline[1])
        _outline(ax, ai, aj, "white", "solid", 2.0)
        _outline(ax, ai, aj, _BASELINE_COLOUR, "dashed", 2.0)
        handles.append(
            Line2D(
                [],
                [],
                color=_BASELINE_COLOUR,
                linewidth=2.0,
                linestyle="dashed",
                label=f"no amplification: audio {baseline[0]} × text {baseline[1]} ({percent[ai, aj]:.1f} %)",
            )
        )
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _colour_map():
    from matplotlib import colormaps

    return colormaps["viridis"]


def write_heatmap(table, path, *, best, baseline=(1, 1), title=""):
    """Draw the UA of every (audio_repeats, text_repeats) cell as a heat map PNG.

    Parameters
    ----------
    table : mapping
        ``(audio_repeats, text_repeats) -> UA`` as a fraction in ``[0, 1]``
        (None or NaN: a cell without a value, drawn blank). Rows are the
        ``audio_repeats`` values, columns the ``text_repeats`` values, both
        ascending; the figure grows with them.
    path : str or path-like
        The PNG file; its folder must exist. Written atomically (a temporary
        file renamed over it).
    best : tuple of int
        The cell to mark as the best: outlined in a thick red border.
    baseline : tuple of int or None, default=(1, 1)
        The cell without amplification: outlined in a dashed black border
        (when it is in the table).
    title : str, default=""
        The figure's title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        When the table is empty or ``best`` is not one of its cells.
    MissingDependencyError
        When matplotlib is not installed.

    Notes
    -----
    Each cell shows its UA in percent with one decimal; the legend under the
    plot names the two marked cells with their UA; the colour bar spans the
    table's lowest to highest value.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the heat map needs matplotlib, which is not installed: pip install matplotlib."
        ) from exc
    png = _heatmap_png(table, best=best, baseline=baseline, title=title)
    return atomic_write(Path(path), lambda fh: fh.write(png), binary=True)

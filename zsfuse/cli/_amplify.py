"""``zsfuse amplify``: zero-shot accuracy per prompt-amplification cell, and the cell chosen on training speakers."""

from __future__ import annotations

import os
import sys

from ._args import cache_dir_of, command_line, split_list
from ._evaluate import dataset_options, pipeline_params


def repeat_values(text, option):
    """Read a comma-separated list of positive integers (``--audio-repeats 1,2,3``).

    Parameters
    ----------
    text : str
        The option's value.
    option : str
        The option, for the error message.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        For an item that is not a positive integer.

    Examples
    --------
    >>> repeat_values("1, 2,4", "--audio-repeats")
    [1, 2, 4]
    """
    items = split_list(text)
    try:
        values = [int(v) for v in items]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{option} must be comma-separated positive integers, e.g. 1,2,3; got {text!r}.")
    return values


def _pct(value):
    return f"{100 * value:.1f}"


def _cell(cell, full):
    text = f"audio {cell['audio_repeats']} x text {cell['text_repeats']}"
    return f"{text}, {cell['text_repeat_unit']}, {cell['pad_mode']}" if full else text


def format_amplification(results):
    """The UA grid(s) and the selection summary as text (what ``zsfuse amplify`` prints).

    Parameters
    ----------
    results : dict
        What :func:`zsfuse.evaluation.amplification` returns.

    Returns
    -------
    str
        One pooled UA table per (``text_repeat_unit``, ``pad_mode``): rows
        ``audio_repeats``, columns ``text_repeats``, the best cell starred;
        then the cell chosen per fold on the training speakers, its test UA,
        ``(1, 1)``'s and the gain, and their means.
    """
    costs = results["costs"]
    full = len(results["grids"]) > 1
    lines = [f"Zero-shot UA (%) pooled over {costs['n_clips']} clips; * best cell, (1, 1) is no amplification"]
    for grid in results["grids"]:
        best = (grid["best"]["audio_repeats"], grid["best"]["text_repeats"])
        lines.append("")
        if full:
            lines.append(f"text_repeat_unit={grid['text_repeat_unit']}, pad_mode={grid['pad_mode']}")
        header = ["audio \\ text", *(str(t) for t in grid["text_repeats"])]
        rows = [
            [str(a), *(_pct(v) + ("*" if (a, t) == best else " ") for t, v in zip(grid["text_repeats"], row))]
            for a, row in zip(grid["audio_repeats"], grid["ua"])
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))

    selection = results["selection"]
    lines += ["", "Chosen on each fold's training speakers, scored on its test speakers:"]
    rows = [["fold", "chosen cell", "train UA", "test UA", "(1, 1) test UA", "gain"]]
    for f in results["folds"]:
        rows.append(
            [
                f["fold"],
                _cell(f["chosen"], full),
                _pct(f["chosen_train_ua"]),
                _pct(f["test_ua"]),
                _pct(f["baseline_test_ua"]),
                f"{100 * f['gain']:+.1f}",
            ]
        )
    rows.append(
        [
            "mean",
            "",
            "",
            _pct(selection["mean_test_ua"]),
            _pct(selection["baseline_mean_test_ua"]),
            f"{100 * selection['mean_gain']:+.1f}",
        ]
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    lines += [
        "",
        f"Gain over (1, 1), selected on training speakers: {100 * selection['mean_gain']:+.1f} UA points "
        f"(mean over {selection['n_folds']} folds).",
    ]
    for caveat in results.get("caveats") or []:
        lines.append(f"Caveat: {caveat}")
    return "\n".join(lines)


def run_amplify(args, echo=None):
    """Load the dataset, run :func:`zsfuse.evaluation.amplification`, print the grid, write the reports."""
    from ..datasets import load_dataset
    from ..evaluation import amplification

    echo = echo or (lambda text: print(text, file=sys.stderr))
    audio = repeat_values(args.audio_repeats, "--audio-repeats")
    text = repeat_values(args.text_repeats, "--text-repeats")
    dataset = load_dataset(args.dataset, args.root, **dataset_options(args))
    echo(dataset.describe())
    out = args.out or os.path.join("zsfuse-results", f"{dataset.name}-amplify")
    results = amplification(
        dataset,
        clap=args.clap,
        audio_repeats=audio,
        text_repeats=text,
        text_repeat_units=split_list(args.text_repeat_unit),
        pad_modes=split_list(args.pad_mode),
        params=pipeline_params(args),
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        cache_dir=cache_dir_of(args),
        progress=not args.no_progress,
        out=out,
        command=command_line(args),
    )
    print(format_amplification(results))
    echo(f"reports written to {out}/ (amplification.csv, amplification.json, report.md, amplification_*.png)")
    return 0

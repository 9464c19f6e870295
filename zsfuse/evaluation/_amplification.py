"""What prompt amplification does to zero-shot accuracy: ``zsfuse amplify``.

For every cell of a grid -- ``audio_repeats`` a x ``text_repeats`` t, and
optionally x ``text_repeat_unit`` x ``pad_mode`` -- the zero-shot predictions
(the argmax of :meth:`CLAPZeroShotTransformer.transform
<zsfuse.CLAPZeroShotTransformer.transform>`) of every clip are scored: UA, WA
and macro-F1 on each fold's test clips, and pooled over all the clips.

**Selection on the training speakers.** The best pooled cell is chosen on every
clip, the test clips included, so its gain over ``(1, 1)`` is optimistic. The
reported gain is the honest one: per fold, the cell with the best UA on that
fold's *training* clips (ties: ``(1, 1)`` first, then the smallest ``(a, t)``)
is scored on its test clips, next to ``(1, 1)``'s test UA; the mean over the
folds of that difference is the gain of choosing the amplification from data.

**Cost.** The audio tower encodes every clip once per audio setting
(``audio_repeats`` x ``pad_mode``) and the text tower every distinct prompt
string once: the audio settings are encoded into the embedding store first
(as ``zsfuse evaluate`` extracts), and every cell then reads it.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import datetime, timezone
from numbers import Integral
from pathlib import Path

import numpy as np

from .._defaults import DEFAULT_CLAP_MODEL
from .._json import jsonable
from ..exceptions import EvaluationError, MissingDependencyError
from ._atomic import atomic_write
from ._format import md_table, note, pct, progress_bar, slug, speaker_list
from ._heatmap import write_heatmap
from ._metrics import fold_metrics

__all__ = ["BASELINE", "amplification", "select_cell", "write_amplification"]

#: The cell without amplification, ``(audio_repeats, text_repeats)``: the reference of every gain.
BASELINE = (1, 1)

#: UAs closer than this are a tie (UA is a mean of ratios of counts: distinct values differ by far more).
TIE_TOLERANCE = 1e-9

#: Parameters of the run that ``params`` may not set: the grid's own, and the run's keywords.
_NOT_PARAMS = {
    "audio_repeats": "the grid's audio_repeats (--audio-repeats)",
    "text_repeats": "the grid's text_repeats (--text-repeats)",
    "labels": "the dataset's classes",
    "device": "device (--device)",
    "dtype": "dtype (--dtype)",
    "batch_size": "batch_size (--batch-size)",
    "cache_dir": "cache_dir (--cache-dir)",
    "progress": "progress (--no-progress)",
    "model": "clap (--clap)",
}

_PREFIXES = ("features__zs__", "zs__")

_METRIC_KEYS = ("ua", "wa", "macro_f1", "n")


def amplification(
    dataset,
    *,
    clap=DEFAULT_CLAP_MODEL,
    audio_repeats=(1, 2, 3, 4),
    text_repeats=(1, 2, 3, 4),
    text_repeat_units=None,
    pad_modes=None,
    params=None,
    device="auto",
    dtype="auto",
    batch_size=16,
    cache_dir=None,
    progress=True,
    out=None,
    command=None,
):
    """Zero-shot UA, WA and macro-F1 of every prompt-amplification cell, and the cell chosen per fold.

    Parameters
    ----------
    dataset : zsfuse.datasets.Dataset
        Clips, labels, speakers and folds (from :func:`zsfuse.datasets.load_dataset`).
    clap : str, default="msclap-2023"
        The audio-language model: a name, hub id, folder or checkpoint file
        (as :class:`~zsfuse.CLAPZeroShotTransformer`'s ``model``).
    audio_repeats : sequence of int, default=(1, 2, 3, 4)
        The ``audio_repeats`` values of the grid (rows of the tables); must hold 1.
    text_repeats : sequence of int, default=(1, 2, 3, 4)
        The ``text_repeats`` values of the grid (columns); must hold 1.
    text_repeat_units : sequence of {"prompt", "label"}, optional
        Also vary ``text_repeat_unit``. Default: the one of ``params``, else
        ``"prompt"``. The first is the baseline's.
    pad_modes : sequence of str, optional
        Also vary ``pad_mode`` (``"model"``, ``"repeat"``, ``"repeatpad"``,
        ``"zero"``). Default: the one of ``params``, else ``"model"``. The
        first is the baseline's.
    params : dict, optional
        Fixed parameters of the zero-shot transformer (``templates``,
        ``label_words``, ``ensemble``, ``long_audio``, ``backend_options``,
        ``trust_remote_code``, ...), plain or prefixed ``zs__`` as for
        ``zsfuse evaluate --set``. The default prompt words of the classes
        come from :func:`zsfuse.prompts.emotion_words`.
    device, dtype, batch_size : optional
        How to run the model (see the transformer).
    cache_dir : str, optional
        On-disk embedding store: a killed run resumes, a second run encodes nothing.
    progress : bool, default=True
        The cost note and progress bars on stderr.
    out : str or path-like, optional
        Write ``amplification.csv``, ``amplification.json``, ``report.md``
        and a heat map PNG per (``text_repeat_unit``, ``pad_mode``) here.
    command : str, optional
        The command line, recorded for reproduction.

    Returns
    -------
    dict
        Plain JSON: ``"cells"`` (per cell: ``"cell"``, ``"pooled"`` metrics,
        per-fold ``"folds"`` with ``"train"`` and ``"test"`` metrics),
        ``"grids"`` (pooled UA tables per unit and padding), ``"folds"``
        (per fold: the chosen cell, its training and test UA, ``(1, 1)``'s,
        the gain), ``"selection"`` (the means over the folds),
        ``"best_pooled"``, ``"costs"``, ``"dataset"``, ``"config"``,
        ``"models"``, ``"caveats"``, ``"environment"``.

    Raises
    ------
    EvaluationError
        For a bad grid or parameter, a dataset without folds, or a fold with
        an empty training or test part -- before any model loads.
    """
    from sklearn.base import clone

    from ..backends import check_clap_model
    from ..prompts import emotion_words
    from ..zeroshot import CLAPZeroShotTransformer
    from ._environment import environment_info
    from ._runner import dataset_record, speaker_overlap_caveats, training_data_caveats

    started = time.perf_counter()
    classes = tuple(dataset.classes)
    audio = _repeats(audio_repeats, "audio_repeats")
    text = _repeats(text_repeats, "text_repeats")
    params = _zs_params(params, CLAPZeroShotTransformer)
    units = _choices(text_repeat_units, "text_repeat_units", params.pop("text_repeat_unit", None), "prompt")
    pads = _choices(pad_modes, "pad_modes", params.pop("pad_mode", None), "model")
    params.setdefault("label_words", emotion_words(classes))
    folds = _folds(dataset)

    base = CLAPZeroShotTransformer(
        model=clap,
        labels=classes,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        cache_dir=cache_dir,
        progress=False,
        text_repeat_unit=units[0],
        pad_mode=pads[0],
        **params,
    )
    cells = [(a, t, u, p) for u in units for p in pads for a in audio for t in text]
    baseline = (*BASELINE, units[0], pads[0])
    _preflight(base, cells, check_clap_model, clone)
    caveats = training_data_caveats(clap, dataset) + speaker_overlap_caveats(dataset)

    paths = list(dataset.paths)
    labels = np.asarray(dataset.labels, dtype=object)
    needed = np.unique(np.concatenate([np.concatenate([f.train, f.test]) for f in folds]))
    X = [paths[i] for i in needed]
    settings = list(dict.fromkeys((a, p) for p in pads for a in audio))
    prompts = _distinct_prompts(base, text, units)
    costs = {
        "n_clips": len(X),
        "n_cells": len(cells),
        "audio_settings": [{"audio_repeats": a, "pad_mode": p} for a, p in settings],
        "audio_passes": len(settings) * len(X),
        "text_passes": len(prompts),
        "prompts": prompts,
    }
    if progress:
        note(_cost_note(costs, pads))

    vectors = {}
    for a, p in settings:  # each audio setting encoded once, into the store (coinciding windows: once in all)
        if progress:
            note(f"encoding CLAP audio, audio_repeats={a}, pad_mode={p}: {len(X)} clips")
        vectors[a, p] = clone(base).set_params(audio_repeats=a, pad_mode=p, progress=progress).fit().embed_audio(X)
    identical = identical_settings(vectors)

    records, fitted = [], None
    for cell in progress_bar(cells, progress, "amplification cells", "cell"):
        est = _estimator(base, cell, clone).fit()
        scores = np.asarray(est.transform(X))  # reads the store
        predicted = np.empty(len(paths), dtype=object)
        predicted[needed] = np.asarray(est.classes_, dtype=object)[np.argmax(scores, axis=1)]
        records.append(_cell_record(cell, est.pad_mode_, predicted, labels, needed, folds, classes))
        if fitted is None:
            fitted = est

    by_cell = {_key(r["cell"]): r for r in records}
    order = {cell: i for i, cell in enumerate(sorted(cells, key=lambda c: _order(c, units, pads)))}
    chosen = [_choose(fold, by_cell, baseline, order, dataset) for fold in folds]
    grids = _grids(by_cell, audio, text, units, pads)
    best = select_cell({c: r["pooled"]["ua"] for c, r in by_cell.items()}, baseline=baseline, order=order)

    environment = environment_info()
    results = {
        "zsfuse_version": environment.get("zsfuse"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": None,
        "dataset": dataset_record(dataset, folds, needed),
        "config": {
            "command": command,
            "clap": str(clap),
            "audio_repeats": list(audio),
            "text_repeats": list(text),
            "text_repeat_units": None if text_repeat_units is None else list(units),
            "pad_modes": None if pad_modes is None else list(pads),
            "baseline": _cell_dict(baseline),
            "params": jsonable(params),
            "device": device,
            "dtype": str(dtype),
            "batch_size": batch_size,
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "zs_params": jsonable(base.get_params()),
        },
        "models": {
            "clap": {
                "model": str(clap),
                "revision": fitted.revision,
                "fingerprint": fitted.backend_fingerprint_,
                "family": fitted.backend_family_,
            }
        },
        "environment": environment,
        "caveats": caveats,
        "costs": costs,
        "identical_audio": identical,
        "cells": records,
        "grids": grids,
        "folds": chosen,
        "selection": _selection(chosen),
        "best_pooled": {
            "cell": _cell_dict(best),
            "ua": by_cell[best]["pooled"]["ua"],
            "baseline_ua": by_cell[baseline]["pooled"]["ua"],
            "gain": by_cell[best]["pooled"]["ua"] - by_cell[baseline]["pooled"]["ua"],
            "note": "chosen on all the clips, test clips included: descriptive, not an estimate of the gain",
        },
    }
    results["elapsed_s"] = round(time.perf_counter() - started, 3)
    if out is not None:
        write_amplification(results, out)
    return results


def identical_settings(vectors):
    """The audio settings whose clips' audio vectors are all identical: the same input, by construction.

    With a fixed-window model and loop-to-fill padding, tiling a short clip
    changes nothing the encoder sees, so several ``audio_repeats`` values give
    one input (and cost one encoder pass, see ``docs/zero_shot.md``); their
    cells of the grid are equal by construction, not by chance.

    Parameters
    ----------
    vectors : dict
        ``(audio_repeats, pad_mode) -> ndarray`` of the clips' audio vectors.

    Returns
    -------
    list of list of dict
        Groups of two or more settings with identical vectors, each a list of
        ``{"audio_repeats": a, "pad_mode": p}`` in the order given.
    """
    groups = []
    for setting, matrix in vectors.items():
        for group in groups:
            if np.array_equal(vectors[group[0]], matrix):
                group.append(setting)
                break
        else:
            groups.append([setting])
    return [[{"audio_repeats": a, "pad_mode": p} for a, p in group] for group in groups if len(group) > 1]


# -- the grid and its checks --------------------------------------------------------------------------


def _repeats(values, name):
    """Distinct positive integers, ascending, holding 1."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise EvaluationError(f"{name} must be a sequence of positive integers, e.g. (1, 2, 3), got {values!r}.")
    values = list(values)
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral) or v < 1]
    if not values or bad:
        raise EvaluationError(f"{name} must be a non-empty sequence of positive integers, got {values!r}.")
    if len(set(values)) != len(values):
        raise EvaluationError(f"{name} repeats a value: {values!r}.")
    if 1 not in values:
        raise EvaluationError(
            f"{name} must hold 1: the cell (1, 1), no amplification, is the baseline every gain is measured "
            f"against; got {values!r}."
        )
    return tuple(sorted(int(v) for v in values))


def _choices(values, name, fixed, default):
    """A grid dimension of strings (first: the baseline's), or the one fixed value, or the default."""
    singular = name[:-1]
    if values is None:
        return (default if fixed is None else fixed,)
    if fixed is not None:
        raise EvaluationError(f"{singular} is set twice: by {name} and by params; give only one.")
    if isinstance(values, str):
        values = (values,)
    values = tuple(values)
    if not values or not all(isinstance(v, str) for v in values):
        raise EvaluationError(f"{name} must be a non-empty sequence of strings, got {values!r}.")
    if len(set(values)) != len(values):
        raise EvaluationError(f"{name} repeats a value: {values!r}.")
    return values


def _zs_params(params, transformer):
    """``params`` with plain names (``zs__x`` -> ``x``), checked against the transformer's parameters."""
    known = set(transformer().get_params(deep=False))
    out = {}
    for name, value in dict(params or {}).items():
        plain = name
        for prefix in _PREFIXES:
            if plain.startswith(prefix):
                plain = plain[len(prefix) :]
                break
        if plain in _NOT_PARAMS:
            raise EvaluationError(
                f"params sets {name!r}, which is {_NOT_PARAMS[plain]}: set it there, not through params (--set)."
            )
        if plain not in known:
            raise EvaluationError(
                f"params sets {name!r}, which is not a parameter of the zero-shot transformer "
                f"(amplify runs it alone); its parameters: {', '.join(sorted(known - set(_NOT_PARAMS)))}."
            )
        if plain in out:
            raise EvaluationError(f"params sets {plain!r} twice ({name!r} and another spelling).")
        out[plain] = value
    return out


def _estimator(base, cell, clone):
    a, t, u, p = cell
    return clone(base).set_params(audio_repeats=a, text_repeats=t, text_repeat_unit=u, pad_mode=p)


def _preflight(base, cells, check_clap_model, clone):
    """Every check that loads no model: the parameters, the model's family and options, each cell's prompts."""
    try:
        base.check_settings()
    except ValueError as exc:
        raise EvaluationError(str(exc)) from exc
    for cell in cells:
        try:
            _estimator(base, cell, clone).check_settings()
        except ValueError as exc:
            raise EvaluationError(f"{exc} (cell {_describe(cell)})") from exc
    check_clap_model(  # found, of a registered family, with options it takes: still no weight loaded
        base.model,
        version=base.version,
        text_model=base.text_model,
        revision=base.revision,
        trust_remote_code=base.trust_remote_code,
        backend_options=base.backend_options,
    )


def _folds(dataset):
    folds = list(dataset.folds)
    if not folds:
        raise EvaluationError(
            f"dataset {dataset.name!r} has no folds: the cell is chosen on each fold's training part."
        )
    for fold in folds:
        if len(fold.train) == 0 or len(fold.test) == 0:
            raise EvaluationError(
                f"fold {fold.name!r} has an empty training or test part: the cell is chosen on the training "
                "clips and scored on the test clips; use a protocol whose folds have both."
            )
    return folds


def _distinct_prompts(base, text, units):
    """The distinct strings the text tower encodes over the grid, sorted."""
    from .. import prompts as P

    classes = list(base.labels)
    templates = (base.templates,) if isinstance(base.templates, str) else tuple(base.templates)
    words = P.resolve_label_words(classes, base.label_words)
    strings = {s for t in text for u in units for ps in P.build_prompts(classes, words, templates, t, u) for s in ps}
    return sorted(strings)


def _cost_note(costs, pads):
    n_settings = len(costs["audio_settings"])
    text = (
        f"the grid of {costs['n_cells']} cells costs {costs['audio_passes']} audio encoder passes "
        f"({n_settings} audio setting{'s' if n_settings != 1 else ''} (audio_repeats x pad_mode) x "
        f"{costs['n_clips']} clips) and {costs['text_passes']} text passes (distinct prompt strings); "
        "fewer when the cache holds some. Every cell then reads the embedding store."
    )
    if "model" in pads and len(pads) > 1:
        text += " (pad_mode 'model' is the model's own padding: where it is one of the others, it is encoded once.)"
    return text


# -- scoring and selection -------------------------------------------------------------------------------


def _short(metrics):
    return {k: metrics[k] for k in _METRIC_KEYS}


def _cell_record(cell, resolved_pad, predicted, labels, needed, folds, classes):
    per_fold = {}
    for fold in folds:
        train, test = np.asarray(fold.train), np.asarray(fold.test)
        per_fold[fold.name] = {
            "train": _short(fold_metrics(labels[train], predicted[train], classes)),
            "test": fold_metrics(labels[test], predicted[test], classes),
        }
    return {
        "cell": _cell_dict(cell),
        "pad_mode_resolved": resolved_pad,
        "pooled": fold_metrics(labels[needed], predicted[needed], classes),
        "folds": per_fold,
    }


def _order(cell, units, pads):
    a, t, u, p = cell
    return (a, t, units.index(u), pads.index(p))


def select_cell(scores, *, baseline, order):
    """The cell with the best score; ties to ``baseline``, then to the first in ``order``.

    Parameters
    ----------
    scores : mapping
        Cell -> score (UA on the clips the choice may see).
    baseline : hashable
        The cell without amplification: it wins every tie it is in.
    order : mapping
        Cell -> rank; among other tied cells the lowest rank wins (for
        ``(a, t)`` cells: the lexicographic order).

    Returns
    -------
    hashable
        The chosen cell.

    Examples
    --------
    >>> order = {(1, 1): 0, (1, 2): 1, (2, 1): 2}
    >>> select_cell({(1, 1): 0.5, (1, 2): 0.7, (2, 1): 0.7}, baseline=(1, 1), order=order)
    (1, 2)
    >>> select_cell({(1, 1): 0.7, (1, 2): 0.7, (2, 1): 0.6}, baseline=(1, 1), order=order)
    (1, 1)
    """
    best = max(scores.values())
    tied = [cell for cell, score in scores.items() if score >= best - TIE_TOLERANCE]
    return min(tied, key=lambda cell: (cell != baseline, order[cell]))


def _choose(fold, by_cell, baseline, order, dataset):
    """The cell chosen on the fold's training clips, scored on its test clips, next to the baseline."""
    name = fold.name
    train_ua = {cell: r["folds"][name]["train"]["ua"] for cell, r in by_cell.items()}
    cell = select_cell(train_ua, baseline=baseline, order=order)
    test = by_cell[cell]["folds"][name]["test"]
    base_test = by_cell[baseline]["folds"][name]["test"]
    speakers = np.asarray(dataset.speakers, dtype=object)
    return {
        "fold": name,
        "n_train": int(len(fold.train)),
        "n_test": int(len(fold.test)),
        "test_speakers": sorted({str(s) for s in speakers[np.asarray(fold.test)]}),
        "chosen": _cell_dict(cell),
        "chosen_train_ua": train_ua[cell],
        "test_ua": test["ua"],
        "test": _short(test),
        "baseline_train_ua": train_ua[baseline],
        "baseline_test_ua": base_test["ua"],
        "gain": test["ua"] - base_test["ua"],
    }


def _selection(chosen):
    def stats(key):
        values = np.array([c[key] for c in chosen], dtype=np.float64)
        return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0

    mean, std = stats("test_ua")
    base_mean, base_std = stats("baseline_test_ua")
    gain, gain_std = stats("gain")
    return {
        "rule": "per fold, the cell with the best UA on the training clips (ties: (1, 1), then the smallest "
        "(audio_repeats, text_repeats)), scored on the test clips",
        "n_folds": len(chosen),
        "mean_test_ua": mean,
        "std_test_ua": std,
        "baseline_mean_test_ua": base_mean,
        "baseline_std_test_ua": base_std,
        "mean_gain": gain,
        "std_gain": gain_std,
    }


def _grids(by_cell, audio, text, units, pads):
    """The pooled UA table of each (text_repeat_unit, pad_mode), with its best cell and heat map file."""
    grids = []
    for u in units:
        for p in pads:
            table = {(a, t): by_cell[(a, t, u, p)]["pooled"]["ua"] for a in audio for t in text}
            order = {cell: i for i, cell in enumerate(sorted(table))}
            best = select_cell(table, baseline=BASELINE, order=order)
            grids.append(
                {
                    "text_repeat_unit": u,
                    "pad_mode": p,
                    "audio_repeats": list(audio),
                    "text_repeats": list(text),
                    "ua": [[table[(a, t)] for t in text] for a in audio],
                    "best": {"audio_repeats": best[0], "text_repeats": best[1], "ua": table[best]},
                    "heatmap": f"amplification_{slug(u)}_{slug(p)}.png",
                }
            )
    return grids


# -- records ---------------------------------------------------------------------------------------------


def _cell_dict(cell):
    a, t, u, p = cell
    return {"audio_repeats": int(a), "text_repeats": int(t), "text_repeat_unit": u, "pad_mode": p}


def _key(cell):
    return (cell["audio_repeats"], cell["text_repeats"], cell["text_repeat_unit"], cell["pad_mode"])


def _describe(cell, full=True):
    a, t, u, p = _key(cell) if isinstance(cell, dict) else cell
    text = f"audio_repeats={a}, text_repeats={t}"
    return f"{text}, text_repeat_unit={u}, pad_mode={p}" if full else text


# -- the output folder -------------------------------------------------------------------------------------


def _csv_columns(results):
    config = results.get("config") or {}
    extra = [c for c, key in (("text_repeat_unit", "text_repeat_units"), ("pad_mode", "pad_modes")) if config.get(key)]
    return ["audio_repeats", "text_repeats", *extra, "fold", "ua", "wa", "macro_f1", "n"]


def _csv_rows(results, columns):
    for record in results["cells"]:
        cell = record["cell"]
        parts = [*record["folds"].items(), ("pooled", record["pooled"])]
        for name, metrics in parts:
            metrics = metrics.get("test", metrics)
            row = {**cell, "fold": name, **{k: metrics[k] for k in _METRIC_KEYS}}
            yield [row[c] for c in columns]


def write_amplification(results, out):
    """Write ``amplification.csv``, ``amplification.json``, ``report.md`` and the heat maps.

    Parameters
    ----------
    results : dict
        What :func:`amplification` returns.
    out : str or path-like
        The folder, created if needed; files of the same names are replaced,
        each atomically (the previous complete file or the new one, never half).

    Returns
    -------
    list of pathlib.Path
        The files written, in that order (one PNG per grid of ``results["grids"]``).

    Raises
    ------
    MissingDependencyError
        When matplotlib is not installed; the three text files are written first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_text = json.dumps(jsonable(results), indent=1, allow_nan=False) + "\n"
    markdown = _markdown(results)
    columns = _csv_columns(results)

    def write_csv(fh):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(_csv_rows(results, columns))

    written = [
        atomic_write(out / "amplification.csv", write_csv, newline=""),
        atomic_write(out / "amplification.json", lambda fh: fh.write(json_text)),
        atomic_write(out / "report.md", lambda fh: fh.write(markdown)),
    ]
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the heat maps need matplotlib, which is not installed: pip install matplotlib. "
            f"{', '.join(str(p) for p in written)} were written."
        ) from exc
    name = (results.get("dataset") or {}).get("name")
    many = len(results["grids"]) > 1
    for grid in results["grids"]:
        table = {
            (a, t): grid["ua"][i][j]
            for i, a in enumerate(grid["audio_repeats"])
            for j, t in enumerate(grid["text_repeats"])
        }
        best = (grid["best"]["audio_repeats"], grid["best"]["text_repeats"])
        title = f"Zero-shot UA (%), pooled over {results['costs']['n_clips']} clips" + (f", {name}" if name else "")
        if many:
            title += f"\ntext_repeat_unit={grid['text_repeat_unit']}, pad_mode={grid['pad_mode']}"
        written.append(write_heatmap(table, out / grid["heatmap"], best=best, baseline=BASELINE, title=title))
    return written


# -- report.md ---------------------------------------------------------------------------------------------


def _signed(value):
    return f"{100 * value:+.1f}"


def _grid_lines(grid, baseline_row):
    """The pooled UA grid as a Markdown table: rows audio_repeats, columns text_repeats; best in bold."""
    best = (grid["best"]["audio_repeats"], grid["best"]["text_repeats"])
    rows = []
    for i, a in enumerate(grid["audio_repeats"]):
        cells = []
        for j, t in enumerate(grid["text_repeats"]):
            text = pct(grid["ua"][i][j])
            if (a, t) == best:
                text = f"**{text}**"
            if (a, t) == BASELINE and baseline_row:
                text += " (no ampl.)"
            cells.append(text)
        rows.append([f"**{a}**", *cells])
    header = ["audio \\ text", *(str(t) for t in grid["text_repeats"])]
    return md_table(header, rows, "l" + "r" * len(grid["text_repeats"]))


def _markdown(results):
    dataset = results.get("dataset") or {}
    config = results.get("config") or {}
    costs = results["costs"]
    selection = results["selection"]
    clap = (results.get("models") or {}).get("clap") or {}
    folds = results["folds"]
    name = dataset.get("name", "dataset")
    out = [f"# Prompt amplification: zero-shot {clap.get('model', config.get('clap', ''))} on {name}", ""]
    out.append(
        f"{dataset.get('n_clips', costs['n_clips'])} clips, {dataset.get('n_speakers', '?')} speakers, "
        f"classes {', '.join(dataset.get('classes', []))}; protocol {dataset.get('protocol')!r}, "
        f"{len(folds)} fold{'s' if len(folds) != 1 else ''}. UA is balanced accuracy (the headline), "
        "the argmax of the zero-shot scores; nothing is trained."
    )
    if results.get("caveats"):
        out += ["", "## Caveats", ""] + [f"* {c}" for c in results["caveats"]]

    out += ["", "## Prompt amplification", ""]
    out.append(
        f"Pooled UA (%) of every cell on all {costs['n_clips']} clips: rows `audio_repeats` (the clip tiled "
        "before windowing), columns `text_repeats` (the query repeated). Bold: the best cell on all the clips "
        "-- chosen with the test clips, so descriptive only; the gain below is chosen on training speakers."
    )
    for grid in results["grids"]:
        out.append("")
        if len(results["grids"]) > 1:
            out += [f"`text_repeat_unit={grid['text_repeat_unit']}`, `pad_mode={grid['pad_mode']}`:", ""]
        out += _grid_lines(grid, baseline_row=True)
        out += ["", f"![Heat map of the pooled UA]({grid['heatmap']})"]
    for group in results.get("identical_audio") or []:
        values = ", ".join(str(g["audio_repeats"]) for g in group)
        pads = sorted({str(g["pad_mode"]) for g in group})
        out += [
            "",
            f"Identical by construction: `audio_repeats` {values} (`pad_mode={'/'.join(pads)}`) give the encoder "
            "the same windows for every clip (a short clip tiled, then looped to fill the window, is the clip "
            "looped), so their rows are equal and were encoded once. `pad_mode=zero` makes every value a "
            "different input.",
        ]

    best = results["best_pooled"]
    out += [
        "",
        f"Best cell on all the clips: {_describe(best['cell'], full=len(results['grids']) > 1)}, UA "
        f"{pct(best['ua'])} % vs {pct(best['baseline_ua'])} % without amplification ({_signed(best['gain'])} "
        "points; optimistic: chosen on the clips it is scored on).",
        "",
        "### Chosen per fold, on the training speakers",
        "",
        f"Per fold, the cell with the best UA on the fold's training clips (ties: (1, 1), then the smallest "
        f"(audio_repeats, text_repeats)), scored on its test clips, next to (1, 1) "
        f"({_describe(results['config']['baseline'], full=len(results['grids']) > 1)}).",
        "",
    ]
    full = len(results["grids"]) > 1
    rows = [
        [
            f["fold"],
            speaker_list(f["test_speakers"]),
            _describe(f["chosen"], full=full),
            pct(f["chosen_train_ua"]),
            pct(f["test_ua"]),
            pct(f["baseline_test_ua"]),
            _signed(f["gain"]),
        ]
        for f in folds
    ]
    rows.append(
        [
            "**Mean**",
            "",
            "",
            "",
            f"**{pct(selection['mean_test_ua'])}**",
            pct(selection["baseline_mean_test_ua"]),
            f"**{_signed(selection['mean_gain'])}**",
        ]
    )
    header = ["Fold", "Test speakers", "Chosen cell", "Train UA", "Test UA", "(1, 1) test UA", "Gain"]
    out += md_table(header, rows, "lllrrrr")
    out += [
        "",
        f"**Gain over (1, 1), selected on training speakers: {_signed(selection['mean_gain'])} UA points** "
        f"(mean over {selection['n_folds']} fold{'s' if selection['n_folds'] != 1 else ''}: test UA "
        f"{pct(selection['mean_test_ua'])} % with the chosen cells, {pct(selection['baseline_mean_test_ua'])} % "
        "with (1, 1)). The choice never saw the fold's test speakers"
        + ("." if dataset.get("speaker_independent", True) else " -- but the folds share speakers (caveats)."),
        "",
        "## Cost",
        "",
        f"{costs['audio_passes']} audio encoder passes ({len(costs['audio_settings'])} audio settings x "
        f"{costs['n_clips']} clips) and {costs['text_passes']} text passes (distinct prompt strings) for "
        f"{costs['n_cells']} cells: every cell read the embedding store.",
        "",
        "## Reproduce",
        "",
    ]
    if config.get("command"):
        out += ["```bash", str(config["command"]), "```", ""]
    out += ["```json", json.dumps(jsonable({"config": config, "models": results.get("models")}), indent=1), "```"]
    environment = results.get("environment")
    if environment:
        out += ["", "Environment:", "", "```json", json.dumps(jsonable(environment), indent=1), "```"]
    return "\n".join(out) + "\n"


# -- progress ----------------------------------------------------------------------------------------------

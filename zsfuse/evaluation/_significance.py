"""Is one system's UA gain over another more than noise? A paired comparison on the same test clips.

:func:`paired_comparison` scores two systems' predictions of the same clips:

* **UA** (balanced accuracy, the mean per-class recall over the classes present
  in ``y_true``, as :func:`sklearn.metrics.balanced_accuracy_score`) of each,
  and their difference ``delta = UA(b) - UA(a)``;
* a **paired bootstrap** confidence interval of ``delta``: the same resample
  scores both systems, and the resampled unit is the **speaker** (all the
  clips of a drawn speaker; a cluster bootstrap) when speakers are given, else
  the clip;
* **McNemar's test** on the clips one system gets right and the other wrong.

:func:`pooled_over_folds` runs it on the test predictions of all the folds of
a protocol, pooled; :func:`format_comparison` writes the result as one line.
All return plain, JSON-serialisable values (Python ``float``, ``int``,
``str``).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["format_comparison", "paired_comparison", "pooled_over_folds"]

#: Below this many discordant clips (b + c), McNemar's p-value is the exact binomial one.
EXACT_BELOW = 25

_MAX_CHUNK_CELLS = 1 << 22  # resamples x units drawn at once: bounds the memory of the bootstrap (~32 MB)


def _as_list(values, name):
    """``values`` as a list of Python scalars; ValueError unless one-dimensional."""
    if values is None:
        raise ValueError(f"{name} is None: pass an array-like of labels.")
    array = np.asarray(values, dtype=object) if isinstance(values, (list, tuple)) else np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {array.shape}.")
    return array.tolist()


def _check_options(n_boot, level):
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer of at least 1, got {n_boot!r}.")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be a number strictly between 0 and 1 (e.g. 0.95), got {level!r}.")


def _encode(y_true, pred_a, pred_b, classes):
    """Integer codes of the labels, and the number of classes; ValueError on an unknown label."""
    if classes is None:
        index = {}
        for label in (*y_true, *pred_a, *pred_b):
            index.setdefault(label, len(index))
    else:
        classes = _as_list(classes, "classes")
        if not classes:
            raise ValueError("classes is empty: pass the dataset's classes, or None to take them from the labels.")
        index = {label: i for i, label in enumerate(classes)}
        if len(index) != len(classes):
            raise ValueError(f"classes repeats a class: {classes!r}.")
        for name, labels in (("y_true", y_true), ("pred_a", pred_a), ("pred_b", pred_b)):
            unknown = sorted({label for label in labels if label not in index}, key=repr)
            if unknown:
                more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                shown = ", ".join(map(repr, unknown[:10])) + more
                raise ValueError(f"{name} has labels that are not in classes {classes!r}: {shown}.")
    codes = [
        np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
        for labels in (y_true, pred_a, pred_b)
    ]
    return (*codes, len(index))


def _unit_stats(y_true, correct_a, correct_b, units, n_units, n_classes):
    """Per unit and class: clips, clips system a got right, clips system b got right; shape (n_units, 3 * n_classes)."""
    stats = np.zeros((n_units, 3, n_classes), dtype=np.float64)
    np.add.at(stats, (units, 0, y_true), 1.0)
    np.add.at(stats, (units, 1, y_true), correct_a.astype(np.float64))
    np.add.at(stats, (units, 2, y_true), correct_b.astype(np.float64))
    return stats.reshape(n_units, 3 * n_classes)


def _ua_pair(totals, n_classes):
    """UA of systems a and b from summed unit statistics of shape (n_resamples, 3 * n_classes).

    The mean recall over the classes with at least one clip in that resample.
    """
    totals = totals.reshape(-1, 3, n_classes)
    support = totals[:, 0]
    present = support > 0
    safe = np.where(present, support, 1.0)
    n_present = present.sum(axis=1)
    ua_a = np.where(present, totals[:, 1] / safe, 0.0).sum(axis=1) / n_present
    ua_b = np.where(present, totals[:, 2] / safe, 0.0).sum(axis=1) / n_present
    return ua_a, ua_b


def _draw_units(rng, n_units, n_boot):
    """Yield, chunk by chunk, how many times each unit is drawn: arrays of shape (chunk, n_units).

    Each resample draws ``n_units`` units uniformly with replacement (``rng.integers``).
    """
    chunk = max(1, _MAX_CHUNK_CELLS // n_units)
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        drawn = rng.integers(0, n_units, size=(rows, n_units))
        drawn += (np.arange(rows) * n_units)[:, None]
        yield np.bincount(drawn.ravel(), minlength=rows * n_units).reshape(rows, n_units)


def _bootstrap_deltas(y_true, correct_a, correct_b, units, n_classes, n_boot, rng):
    """The ``n_boot`` resampled values of ``UA(b) - UA(a)``, both systems scored on the same resample.

    Parameters
    ----------
    y_true : ndarray of int, shape (n_samples,)
        Class codes, in ``range(n_classes)``.
    correct_a, correct_b : ndarray of bool, shape (n_samples,)
        Whether each system got each clip right.
    units : ndarray of int, shape (n_samples,)
        The resampled unit of each clip, codes in ``range(n_units)`` (every code used).
    n_classes : int
        Number of class codes.
    n_boot : int
        Number of resamples.
    rng : numpy.random.Generator
        The source of the draws.

    Returns
    -------
    ndarray of float64, shape (n_boot,)
    """
    n_units = int(units.max()) + 1
    stats = _unit_stats(y_true, correct_a, correct_b, units, n_units, n_classes)
    deltas = []
    for counts in _draw_units(rng, n_units, n_boot):
        ua_a, ua_b = _ua_pair(counts.astype(np.float64) @ stats, n_classes)
        deltas.append(ua_b - ua_a)
    return np.concatenate(deltas)


def _mcnemar(correct_a, correct_b):
    """McNemar's test of paired correctness: exact binomial below :data:`EXACT_BELOW` discordant clips."""
    from scipy.stats import binomtest, chi2

    b = int(np.count_nonzero(correct_a & ~correct_b))
    c = int(np.count_nonzero(~correct_a & correct_b))
    if b + c == 0:
        return {"b": 0, "c": 0, "statistic": 0.0, "p_value": 1.0, "method": "exact"}
    if b + c < EXACT_BELOW:
        p_value = binomtest(b, b + c, p=0.5, alternative="two-sided").pvalue
        statistic, method = float(min(b, c)), "exact"
    else:
        statistic = max(abs(b - c) - 1, 0) ** 2 / (b + c)
        p_value, method = chi2.sf(statistic, df=1), "chi2-cc"
    return {"b": b, "c": c, "statistic": float(statistic), "p_value": float(min(1.0, p_value)), "method": method}


def paired_comparison(y_true, pred_a, pred_b, *, groups=None, classes=None, n_boot=2000, level=0.95, random_state=0):
    """Compare the UA of two systems on the same clips: the difference, a paired bootstrap CI, McNemar's test.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes of the test clips.
    pred_a : array-like of shape (n_samples,)
        The first system's predictions (the reference, e.g. the FM baseline).
    pred_b : array-like of shape (n_samples,)
        The second system's predictions of the same clips, in the same order
        (e.g. ZS-Fuse).
    groups : array-like of shape (n_samples,), default=None
        The speaker of each clip. With at least two distinct speakers the
        bootstrap resamples speakers (all the clips of a drawn speaker, as many
        draws as there are speakers); otherwise (None, or a single speaker) it
        resamples clips.
    classes : sequence, default=None
        All the classes of the dataset. When given, every label of ``y_true``,
        ``pred_a`` and ``pred_b`` must be one of them; None takes the classes
        from the labels. UA averages the classes present in ``y_true`` either
        way.
    n_boot : int, default=2000
        Number of bootstrap resamples.
    level : float, default=0.95
        Confidence level of the percentile interval, strictly between 0 and 1.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the bootstrap, passed to :func:`numpy.random.default_rng`:
        the same seed gives the same interval. None: a fresh, unseeded draw.

    Returns
    -------
    dict
        Plain Python values (JSON-serialisable):

        * ``"ua_a"``, ``"ua_b"``: the UA of each system on all the clips
          (fractions in ``[0, 1]``);
        * ``"delta"``: ``ua_b - ua_a``;
        * ``"ci_low"``, ``"ci_high"``: the percentile bootstrap interval of
          ``delta`` at ``level``;
        * ``"level"``, ``"n_boot"``: as passed;
        * ``"unit"``: ``"speaker"`` or ``"clip"``, what the bootstrap resampled;
        * ``"n"``: the number of clips; ``"n_units"``: the number of speakers
          (or clips) resampled;
        * ``"mcnemar"``: ``{"b", "c", "statistic", "p_value", "method"}``, where
          ``b`` counts the clips system a gets right and system b wrong, ``c``
          the reverse, and ``method`` is ``"exact"`` or ``"chi2-cc"`` (Notes).

    Raises
    ------
    ValueError
        When the inputs differ in length, are empty or not one-dimensional,
        when a label is not in ``classes``, or when ``n_boot`` or ``level`` is
        out of range.

    Notes
    -----
    **Bootstrap.** Each resample draws ``n_units`` units (speakers, or
    clips) uniformly with replacement and scores *both* systems on the clips
    drawn, so that what the two systems share (hard speakers, hard clips)
    cancels in the difference; the interval is the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the ``n_boot`` differences
    (:func:`numpy.quantile`, linear interpolation). Resampling speakers
    rather than clips accounts for the clips of one speaker not being
    independent; with few speakers the interval is wide, as it should be. A
    resample that happens to lack a class of ``y_true`` (a speaker bootstrap
    whose drawn speakers never show it) is kept, and its UA averages the
    classes present in that resample -- the definition of UA applied to the
    resample -- rather than redrawn, which would condition the distribution
    on an event and bias it.

    **McNemar.** With ``b + c`` discordant clips, the two-sided p-value is
    the exact binomial one (:func:`scipy.stats.binomtest`, ``p=0.5``;
    ``statistic`` is ``min(b, c)``) when ``b + c < 25``, else that of the
    chi-square statistic with continuity correction,
    ``max(|b - c| - 1, 0) ** 2 / (b + c)`` on one degree of freedom (the
    correction never overshoots, as in :func:`scipy.stats.chi2_contingency`);
    no discordant clip gives ``p_value`` 1.0. McNemar tests whether the two
    systems make different numbers of errors, clip by clip: it treats clips as
    independent and compares accuracy (WA), not UA, so read it beside the
    speaker-bootstrap interval, not instead of it.

    Examples
    --------
    >>> y = ["a", "a", "b", "b"] * 25
    >>> r = paired_comparison(y, ["a"] * 100, y, groups=list(range(10)) * 10, n_boot=200)
    >>> r["ua_a"], r["ua_b"], r["delta"], r["unit"], r["n_units"]
    (0.5, 1.0, 0.5, 'speaker', 10)
    >>> r["mcnemar"]["b"], r["mcnemar"]["c"], r["mcnemar"]["method"]
    (0, 50, 'chi2-cc')
    """
    y_true = _as_list(y_true, "y_true")
    pred_a = _as_list(pred_a, "pred_a")
    pred_b = _as_list(pred_b, "pred_b")
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise ValueError(
            f"y_true, pred_a and pred_b differ in length: {len(y_true)}, {len(pred_a)}, {len(pred_b)}; "
            "pass both systems' predictions of the same clips, in the same order."
        )
    if not y_true:
        raise ValueError("y_true, pred_a and pred_b are empty: the comparison needs at least one test clip.")
    _check_options(n_boot, level)
    if groups is not None:
        groups = _as_list(groups, "groups")
        if len(groups) != len(y_true):
            raise ValueError(f"groups has {len(groups)} entries for {len(y_true)} clips: pass one speaker per clip.")
    truth, code_a, code_b, n_classes = _encode(y_true, pred_a, pred_b, classes)
    correct_a, correct_b = code_a == truth, code_b == truth

    n = len(truth)
    speakers = {} if groups is None else {g: i for i, g in enumerate(dict.fromkeys(groups))}
    if len(speakers) >= 2:
        unit, units = "speaker", np.fromiter((speakers[g] for g in groups), dtype=np.int64, count=n)
    else:
        unit, units = "clip", np.arange(n, dtype=np.int64)
    n_units = int(units.max()) + 1

    pooled = _unit_stats(truth, correct_a, correct_b, np.zeros(n, dtype=np.int64), 1, n_classes)
    ua_a, ua_b = (float(v[0]) for v in _ua_pair(pooled, n_classes))
    rng = np.random.default_rng(random_state)
    deltas = _bootstrap_deltas(truth, correct_a, correct_b, units, n_classes, int(n_boot), rng)
    low, high = np.quantile(deltas, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return {
        "ua_a": ua_a,
        "ua_b": ua_b,
        "delta": ua_b - ua_a,
        "ci_low": float(low),
        "ci_high": float(high),
        "level": float(level),
        "n_boot": int(n_boot),
        "unit": unit,
        "n": n,
        "n_units": n_units,
        "mcnemar": _mcnemar(correct_a, correct_b),
    }


def pooled_over_folds(folds, *, classes=None, n_boot=2000, level=0.95, random_state=0):
    """:func:`paired_comparison` on the test predictions of all the folds, pooled.

    Parameters
    ----------
    folds : sequence of tuple
        One ``(y_true, pred_a, pred_b, groups)`` per fold: the fold's test
        labels, both systems' predictions of them and the speakers (None when
        unknown; then every fold's must be None). ``(y_true, pred_a, pred_b)``
        stands for ``groups=None``.
    classes : sequence, default=None
        As in :func:`paired_comparison`.
    n_boot : int, default=2000
        As in :func:`paired_comparison`.
    level : float, default=0.95
        As in :func:`paired_comparison`.
    random_state : int, numpy.random.Generator or None, default=0
        As in :func:`paired_comparison`.

    Returns
    -------
    dict
        The :func:`paired_comparison` of the pooled clips, plus ``"n_folds"``.

    Raises
    ------
    ValueError
        When ``folds`` is empty, a fold is not a 3- or 4-tuple, some folds give
        speakers and others do not, or :func:`paired_comparison` refuses the
        pooled data (a fold's arrays differ in length, ...; the message names
        the fold).

    Notes
    -----
    The UA of the pooled clips weights folds by their number of clips; it is
    not the mean of the fold UAs that the evaluation tables report, though
    close to it when the folds are alike in size and class balance.

    Speakers are identified by their name alone, not by (fold, name): in a
    speaker-independent protocol each speaker is in one fold's test set, so
    this is the same; where a speaker is tested in several folds (repeated
    splits), all their clips are drawn together, since the speaker, not the
    fold, is what makes clips dependent.
    """
    folds = list(folds)
    if not folds:
        raise ValueError("pooled_over_folds needs at least one fold, got none.")
    parts = []
    for k, fold in enumerate(folds):
        if not isinstance(fold, (tuple, list)) or len(fold) not in (3, 4):
            raise ValueError(f"fold {k} must be a tuple (y_true, pred_a, pred_b, groups), got {type(fold).__name__}.")
        y_true, pred_a, pred_b = (_as_list(v, name) for v, name in zip(fold[:3], ("y_true", "pred_a", "pred_b")))
        if not len(y_true) == len(pred_a) == len(pred_b):
            raise ValueError(
                f"fold {k}: y_true, pred_a and pred_b differ in length: {len(y_true)}, {len(pred_a)}, {len(pred_b)}."
            )
        groups = fold[3] if len(fold) == 4 else None
        if groups is not None:
            groups = _as_list(groups, "groups")
            if len(groups) != len(y_true):
                raise ValueError(f"fold {k}: groups has {len(groups)} entries for {len(y_true)} clips.")
        parts.append((y_true, pred_a, pred_b, groups))
    with_groups = [groups is not None for *_, groups in parts]
    if any(with_groups) and not all(with_groups):
        missing = [k for k, has in enumerate(with_groups) if not has]
        raise ValueError(f"folds {missing} give no speakers while others do: give the speakers of every fold or none.")
    result = paired_comparison(
        [label for part in parts for label in part[0]],
        [label for part in parts for label in part[1]],
        [label for part in parts for label in part[2]],
        groups=[g for part in parts for g in part[3]] if all(with_groups) else None,
        classes=classes,
        n_boot=n_boot,
        level=level,
        random_state=random_state,
    )
    result["n_folds"] = len(parts)
    return result


def _points(value):
    """A fraction as signed percentage points with one decimal, never ``-0.0``."""
    return f"{round(100.0 * value, 1) + 0.0:+.1f}"


def format_comparison(result, name_a="FM baseline", name_b="ZS-Fuse"):
    """One line that says the UA gain, its interval and McNemar's p.

    Parameters
    ----------
    result : dict
        A :func:`paired_comparison` or :func:`pooled_over_folds` result.
    name_a : str, default="FM baseline"
        The name of system a.
    name_b : str, default="ZS-Fuse"
        The name of system b.

    Returns
    -------
    str
        E.g. ``"ZS-Fuse - FM baseline: +2.3 UA points (95% CI +0.4 to +4.1,
        speaker bootstrap, 2000 resamples); McNemar p = 0.012"``; a p-value
        below 0.001 reads ``p < 0.001``.

    Examples
    --------
    >>> r = {"delta": 0.0234, "ci_low": 0.004, "ci_high": 0.0412, "level": 0.95, "unit": "speaker",
    ...      "n_boot": 2000, "mcnemar": {"p_value": 0.0123}}
    >>> format_comparison(r)
    'ZS-Fuse - FM baseline: +2.3 UA points (95% CI +0.4 to +4.1, speaker bootstrap, 2000 resamples); McNemar p = 0.012'
    """
    p_value = float(result["mcnemar"]["p_value"])
    p_text = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
    return (
        f"{name_b} - {name_a}: {_points(result['delta'])} UA points "
        f"({100.0 * float(result['level']):g}% CI {_points(result['ci_low'])} to {_points(result['ci_high'])}, "
        f"{result['unit']} bootstrap, {int(result['n_boot'])} resamples); McNemar {p_text}"
    )

"""Metrics of one test fold, and their summary over the folds of a protocol.

Speech emotion recognition reports three numbers per fold (the columns of ``zsfuse evaluate``'s report):

* **UA** (unweighted accuracy, the headline): balanced accuracy, the mean
  per-class recall over the classes present in ``y_true`` -- the semantics of
  :func:`sklearn.metrics.balanced_accuracy_score`;
* **WA** (weighted accuracy): plain accuracy, the fraction of clips right;
* **Macro-F1**: :func:`sklearn.metrics.f1_score` with ``average="macro"``,
  ``labels=classes`` and ``zero_division=0``.

Both functions return plain, JSON-serialisable dicts (Python ``float`` and
``int``, lists of lists), the building blocks of the results file written by
:func:`zsfuse.evaluation._report.write_reports`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "METRIC_NAMES", "fold_metrics", "summarize"]

#: The metrics of a fold, in display order: UA (the headline) first.
METRICS = ("ua", "wa", "macro_f1")

#: Human names of :data:`METRICS`, for tables and plots.
METRIC_NAMES = {"ua": "UA", "wa": "WA", "macro_f1": "Macro-F1"}

_SHOWN_LABELS = 10  # at most this many offending labels are named in an error


def _labels(values, name):
    """``values`` as a list of Python scalars; ValueError unless one-dimensional."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {array.shape}.")
    return array.tolist()


def _check_known(labels, known, name, classes):
    unknown = sorted({label for label in labels if label not in known}, key=repr)
    if unknown:
        shown = ", ".join(repr(label) for label in unknown[:_SHOWN_LABELS])
        more = f" and {len(unknown) - _SHOWN_LABELS} more" if len(unknown) > _SHOWN_LABELS else ""
        raise ValueError(f"{name} has labels that are not in classes {classes!r}: {shown}{more}.")


def fold_metrics(y_true, y_pred, classes):
    """UA, WA, Macro-F1 and the confusion matrix of one test fold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes of the test clips.
    y_pred : array-like of shape (n_samples,)
        Predicted classes, each one of ``classes``.
    classes : sequence
        All the classes of the dataset, in the order of the rows and columns
        of the confusion matrix. A class may be absent from a fold.

    Returns
    -------
    dict
        ``{"ua": float, "wa": float, "macro_f1": float, "confusion": list of
        list of int, "n": int}``: fractions in ``[0, 1]`` (not percentages);
        ``confusion[i][j]`` counts the clips of true class ``classes[i]``
        predicted as ``classes[j]``; ``n`` is the number of clips.

    Raises
    ------
    ValueError
        When ``y_true`` and ``y_pred`` differ in length or are empty, when
        ``classes`` is empty or repeats a class, or when ``y_true`` or
        ``y_pred`` holds labels that are not in ``classes`` (the message names
        them).

    Notes
    -----
    UA averages the recall of the classes present in ``y_true`` only, as
    :func:`~sklearn.metrics.balanced_accuracy_score` does: a class absent
    from a fold neither counts nor divides. Macro-F1, computed with
    ``labels=classes``, averages over *all* ``classes``: one absent from both
    ``y_true`` and ``y_pred`` counts as an F1 of 0. The two agree whenever
    every class occurs in the fold's test set, as in the standard EmoBox
    folds. (EmoBox's own scorer calls ``f1_score`` without ``labels``, i.e.
    over the classes found in ``y_true`` or ``y_pred``.)

    Examples
    --------
    >>> m = fold_metrics(["a"] * 8 + ["b"] * 2, ["a"] * 9 + ["b"], classes=["a", "b"])
    >>> m["ua"], m["wa"], m["confusion"]
    (0.75, 0.9, [[8, 0], [1, 1]])
    """
    from sklearn.metrics import f1_score

    y_true = _labels(y_true, "y_true")
    y_pred = _labels(y_pred, "y_pred")
    classes = _labels(classes, "classes")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} != {len(y_pred)}.")
    if not y_true:
        raise ValueError("y_true and y_pred are empty: a fold needs at least one test clip.")
    if not classes:
        raise ValueError("classes is empty.")
    index = {label: i for i, label in enumerate(classes)}
    if len(index) != len(classes):
        repeated = sorted({c for c in classes if classes.count(c) > 1}, key=repr)
        raise ValueError(f"classes repeats {', '.join(map(repr, repeated))}: {classes!r}.")
    _check_known(y_true, index, "y_true", classes)
    _check_known(y_pred, index, "y_pred", classes)

    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, ([index[t] for t in y_true], [index[p] for p in y_pred]), 1)
    support = confusion.sum(axis=1)
    present = support > 0
    recall = np.diag(confusion)[present] / support[present]
    return {
        "ua": float(np.mean(recall)),
        "wa": float(np.trace(confusion) / len(y_true)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        "confusion": confusion.tolist(),
        "n": len(y_true),
    }


def summarize(per_fold):
    """Mean, spread and range of each metric over folds; the pooled confusion matrix.

    Parameters
    ----------
    per_fold : list of dict
        The :func:`fold_metrics` of each fold of one system.

    Returns
    -------
    dict
        For each metric of :data:`METRICS`, ``{"mean", "std", "min", "max"}``
        (Python floats, fractions); ``"confusion"``: the confusion matrices
        summed over the folds (list of lists of int); ``"n"``: the number of
        test clips over all folds; ``"n_folds"``: the number of folds.

    Raises
    ------
    ValueError
        When ``per_fold`` is empty or its confusion matrices differ in shape.

    Notes
    -----
    ``std`` is the *sample* standard deviation over folds (``ddof=1``: the
    sum of squared deviations divided by ``k - 1`` for ``k`` folds), the
    ``± std`` of most speech emotion recognition papers and what
    ``numpy.std(ddof=1)``, ``pandas.Series.std`` and ``statistics.stdev``
    compute; it is 0.0 for a single fold (one split, e.g. CREMA-D), where no
    spread can be estimated. It is the spread of the fold scores, not a
    standard error of their mean. EmoBox's benchmark tables report the mean
    over folds only. The population standard deviation (``numpy.std``'s
    default, ``ddof=0``, used by scikit-learn's cross-validation examples) is
    smaller by a factor ``sqrt((k - 1) / k)``, 0.89 for 5 folds.

    The mean of the fold UAs weights each fold equally; it is not the UA of
    the pooled confusion matrix, which weights folds by their size.
    """
    per_fold = list(per_fold)
    if not per_fold:
        raise ValueError("summarize needs the metrics of at least one fold, got none.")
    summary = {}
    for metric in METRICS:
        values = np.array([float(fold[metric]) for fold in per_fold], dtype=np.float64)
        summary[metric] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if values.size >= 2 else 0.0,
            "min": float(np.min(values)),
            "max": float(np.max(values)),
        }
    matrices = [np.asarray(fold["confusion"], dtype=np.int64) for fold in per_fold]
    shapes = {m.shape for m in matrices}
    if len(shapes) != 1:
        raise ValueError(f"the folds' confusion matrices differ in shape: {sorted(shapes)}.")
    summary["confusion"] = np.sum(matrices, axis=0).tolist()
    summary["n"] = int(sum(int(fold["n"]) for fold in per_fold))
    summary["n_folds"] = len(per_fold)
    return summary

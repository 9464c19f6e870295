"""Which columns of ``X`` are the zero-shot block, and how blocks are normalised.

Plain functions on numpy arrays; :class:`zsfuse.fusion.LateFusionClassifier`
stores only their results (integer column indices, a fitted
``StandardScaler`` or nothing), so a fitted classifier holds no zsfuse type but
itself.
"""

from __future__ import annotations

import re
import warnings
from numbers import Integral

import numpy as np

from ..exceptions import FusionWarning

__all__ = [
    "LAYERNORM_EPS",
    "NORMALIZE_OPTIONS",
    "FusionWarning",
    "fit_normalizer",
    "layernorm",
    "normalize_block",
    "resolve_zs_columns",
    "zs_label_of",
]

#: Added to the row variance by :func:`layernorm` (as in ``torch.nn.LayerNorm``).
LAYERNORM_EPS = 1e-5

#: Accepted values of ``LateFusionClassifier(normalize=...)``.
NORMALIZE_OPTIONS = ("layernorm", "standard", None)

# "zs_<label>", optionally behind FeatureUnion / ColumnTransformer prefixes such
# as "zs__" or "features__zs__". The prefix match is greedy (the last "__" that is
# followed by "zs_"), so "zs__zs_angry" is the label "angry".
_ZS_NAME = re.compile(r"^(?:.*__)?zs_(.+)$", re.DOTALL)


def zs_label_of(name):
    """Return the label of a zero-shot column name, or None.

    Parameters
    ----------
    name : str
        A feature name: ``"zs_angry"``, ``"zs__zs_angry"`` (a FeatureUnion step
        named ``zs``), ``"features__zs__zs_angry"``, ...

    Returns
    -------
    str or None
        ``"angry"`` for the examples above; None when the name is not of the
        form ``[<prefix>__]zs_<label>``.
    """
    match = _ZS_NAME.match(str(name))
    return None if match is None else match.group(1)


def _as_index_list(spec, feature_names, n_features):
    """Column indices of an explicit ``zs_columns`` (ints or names)."""
    if isinstance(spec, str):
        raise ValueError(f"zs_columns must be 'auto' or a sequence of column indices or names, got {spec!r}.")
    try:
        items = list(spec)
    except TypeError:
        raise ValueError(f"zs_columns must be 'auto' or a sequence of column indices or names, got {spec!r}.") from None
    if all(isinstance(c, str) for c in items) and items:
        if feature_names is None:
            raise ValueError(
                f"zs_columns names columns ({items[:3]}...) but X has no feature names: "
                "fit on a pandas DataFrame, or give column indices."
            )
        where = {str(n): i for i, n in enumerate(feature_names)}
        missing = [c for c in items if c not in where]
        if missing:
            raise ValueError(f"zs_columns names columns that X does not have: {missing}.")
        index = [where[c] for c in items]
    elif all(isinstance(c, (Integral, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in items):
        index = []
        for c in items:
            c = int(c)
            if not -n_features <= c < n_features:
                raise ValueError(f"zs_columns holds the index {c}, but X has {n_features} columns.")
            index.append(c % n_features)
    else:
        raise ValueError(f"zs_columns must hold only column indices or only column names, got {items!r}.")
    if len(set(index)) != len(index):
        raise ValueError(f"zs_columns selects a column more than once: {items!r}.")
    return index


def _label_key(label):
    return str(label)


def _match_labels(index, labels, classes, source):
    """Pick, by label, the zero-shot column of each class (in ``classes`` order).

    ``index[k]`` is the column of label ``labels[k]``. Labels that are not
    classes of ``y`` are left out (a training set or CV fold that lacks a
    class); a class of ``y`` without a column is an error naming both sides.
    """
    keys = [_label_key(label) for label in labels]
    if len(set(keys)) != len(keys):
        raise ValueError(f"The zero-shot columns ({source}) name a label twice: {list(labels)}.")
    class_keys = [_label_key(c) for c in classes]
    position = dict(zip(keys, index))
    missing = [c for c in class_keys if c not in position]
    if missing:
        raise ValueError(
            f"The zero-shot columns ({source}) are for the labels {keys}, but y has the classes "
            f"{class_keys}: no zero-shot column for {missing}. Give the zero-shot transformer every "
            "class of y (labels=...), or choose the columns with zs_columns=."
        )
    return [position[c] for c in class_keys]


def resolve_zs_columns(spec, feature_names, n_features, classes, zs_labels=None):
    """Find the zero-shot block of ``X`` and match its columns to the classes by label.

    Parameters
    ----------
    spec : "auto" or sequence of int or str
        ``LateFusionClassifier.zs_columns``.
    feature_names : ndarray of str or None
        ``feature_names_in_`` of the classifier (None when ``X`` had none).
    n_features : int
        Number of columns of ``X``.
    classes : ndarray
        ``classes_`` of the classifier.
    zs_labels : sequence, optional
        ``LateFusionClassifier.zs_labels``: the labels of the zero-shot
        transformer, whose columns come first, in sorted label order.

    Returns
    -------
    zs : ndarray of int
        Indices of the zero-shot columns, one per class in ``classes`` order
        (empty when ``X`` has no zero-shot block).
    block : ndarray of int
        Every column of the zero-shot block, including those of labels that
        are not classes of ``y`` (left out of both the zero-shot and the FM
        block).

    Raises
    ------
    ValueError
        When a class of ``y`` has no zero-shot column, the labels named by the
        feature names and ``zs_labels`` disagree, or an explicit
        ``zs_columns`` is not one column per class.

    Notes
    -----
    With ``spec="auto"``, in this order:

    1. feature names ``[<prefix>__]zs_<label>``: the block is those columns,
       matched to the classes by label;
    2. ``zs_labels``: the block is the first ``len(zs_labels)`` columns,
       labelled in sorted order (the order of
       :class:`~zsfuse.CLAPZeroShotTransformer`'s columns), matched by label;
    3. neither: nothing says which labels the columns hold, so the first
       ``n_classes`` columns are taken *by position* with a
       :class:`FusionWarning` (a training set or fold that lacks one of the
       zero-shot transformer's labels would shift them); with no more than
       ``n_classes`` columns there is no room for both blocks and no
       zero-shot block is used (also a :class:`FusionWarning`).
    """
    n_classes = len(classes)
    empty = np.zeros(0, dtype=np.intp)
    if zs_labels is not None:
        zs_labels = _check_zs_labels(zs_labels)
    if isinstance(spec, str) and spec == "auto":
        named = _named_block(feature_names)
        if named is not None:
            index, labels = named
            if zs_labels is not None and sorted(map(_label_key, labels)) != sorted(map(_label_key, zs_labels)):
                raise ValueError(
                    f"zs_labels={list(zs_labels)} disagrees with the zero-shot columns of X, named for "
                    f"{[_label_key(label) for label in labels]}."
                )
            zs = _match_labels(index, labels, classes, "named zs_<label>")
            return np.asarray(zs, dtype=np.intp), np.asarray(sorted(index), dtype=np.intp)
        if zs_labels is not None:
            width = len(zs_labels)
            if width >= n_features:
                raise ValueError(
                    f"zs_labels names {width} zero-shot columns, but X has only {n_features} columns: "
                    "no room for an FM block after them."
                )
            zs = _match_labels(list(range(width)), zs_labels, classes, f"zs_labels={list(zs_labels)}")
            return np.asarray(zs, dtype=np.intp), np.arange(width, dtype=np.intp)
        if n_features > n_classes:
            warnings.warn(
                f"LateFusionClassifier takes the first {n_classes} columns of X as the zero-shot block "
                f"by position, for the classes {[_label_key(c) for c in classes]}: X has no column "
                "names and zs_labels is not set, so it cannot check which label each column holds (a "
                "training set or CV fold that lacks one of the zero-shot labels would shift them). Set "
                "zs_labels to the zero-shot transformer's labels, or give X named columns "
                "(FeatureUnion(...).set_output(transform='pandas'); make_zsfuse_pipeline does this).",
                FusionWarning,
                stacklevel=4,  # the caller of fit: here <- fit <- scikit-learn's _fit_context <- caller
            )
            block = np.arange(n_classes, dtype=np.intp)
            return block, block
        warnings.warn(
            f"X has {n_features} column(s) for {n_classes} classes: no room for a zero-shot block of "
            f"{n_classes} columns before the FM block, so LateFusionClassifier fits its head on all "
            "columns (no fusion). Name the zero-shot columns zs_<label> (fit on a DataFrame), set "
            "zs_labels=, or set zs_columns=.",
            FusionWarning,
            stacklevel=4,
        )
        return empty, empty

    index = _as_index_list(spec, feature_names, n_features)
    if not index:
        return empty, empty
    if len(index) != n_classes:
        raise ValueError(
            f"zs_columns selects {len(index)} column(s), but y has {n_classes} classes "
            f"{[str(c) for c in classes]}: the zero-shot block has one column per class."
        )
    if feature_names is not None:
        labels = [zs_label_of(feature_names[i]) for i in index]
        if all(label is not None for label in labels):
            index = _match_labels(index, labels, classes, "named zs_<label>")
    return np.asarray(index, dtype=np.intp), np.asarray(sorted(index), dtype=np.intp)


def _named_block(feature_names):
    """``(indices, labels)`` of the columns named ``[<prefix>__]zs_<label>``, or None."""
    if feature_names is None:
        return None
    found = [(i, zs_label_of(n)) for i, n in enumerate(feature_names)]
    found = [(i, label) for i, label in found if label is not None]
    if not found:
        return None
    index, labels = zip(*found)
    return list(index), list(labels)


def _check_zs_labels(zs_labels):
    """``zs_labels`` as a list in the zero-shot transformer's column order (sorted)."""
    if isinstance(zs_labels, str) or not hasattr(zs_labels, "__iter__"):
        raise ValueError(f"zs_labels must be a sequence of labels, got {zs_labels!r}.")
    labels = list(zs_labels)
    if len(labels) < 2 or len(set(map(_label_key, labels))) != len(labels):
        raise ValueError(f"zs_labels must hold at least 2 distinct labels, got {labels!r}.")
    try:
        return sorted(labels)
    except TypeError:
        raise ValueError(f"zs_labels must be mutually sortable (all strings or all numbers): {labels!r}") from None


def layernorm(x, eps=LAYERNORM_EPS):
    """Per-sample layer normalisation without a learned affine.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_columns)
        A block of features.
    eps : float, default=1e-5
        Added to each row's variance.

    Returns
    -------
    ndarray of shape (n_samples, n_columns)
        ``(x - row mean) / sqrt(row variance + eps)``.
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + eps)


def fit_normalizer(method, x):
    """Fit the state of a block normaliser.

    Parameters
    ----------
    method : {"layernorm", "standard", None}
        ``LateFusionClassifier.normalize``.
    x : ndarray of shape (n_samples, n_columns)
        The training block.

    Returns
    -------
    StandardScaler or None
        A fitted scaler for ``"standard"``; None for the stateless methods.
    """
    if method == "standard":
        from sklearn.preprocessing import StandardScaler

        return StandardScaler().fit(x)
    return None


def normalize_block(method, state, x):
    """Apply a block normaliser fitted by :func:`fit_normalizer`.

    Parameters
    ----------
    method : {"layernorm", "standard", None}
        ``LateFusionClassifier.normalize``.
    state : StandardScaler or None
        What :func:`fit_normalizer` returned.
    x : ndarray of shape (n_samples, n_columns)
        The block.

    Returns
    -------
    ndarray of shape (n_samples, n_columns)
        The normalised block (float64).
    """
    if method == "layernorm":
        return layernorm(x)
    if method == "standard":
        return state.transform(x)
    return np.asarray(x, dtype=np.float64)

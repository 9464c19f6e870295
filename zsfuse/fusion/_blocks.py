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


class FusionWarning(UserWarning):
    """``LateFusionClassifier`` found no zero-shot block and fits its head alone."""


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
        raise ValueError(
            f"zs_columns must be 'auto' or a sequence of column indices or names, got {spec!r}."
        ) from None
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


def _order_by_labels(index, labels, classes):
    """Reorder zero-shot columns to ``classes`` order, checking the labels match."""
    class_names = [str(c) for c in classes]
    if sorted(labels) != sorted(class_names) or len(set(labels)) != len(labels):
        raise ValueError(
            f"The zero-shot columns are for the labels {labels}, but y has the classes {class_names}. "
            "Give the zero-shot transformer the labels of y (labels=...), check that every class "
            "occurs in the training data (of every CV fold), or choose the columns with zs_columns=."
        )
    position = {label: i for i, label in zip(index, labels)}
    return [position[c] for c in class_names]


def resolve_zs_columns(spec, feature_names, n_features, classes):
    """Find the zero-shot block of ``X``.

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

    Returns
    -------
    ndarray of int
        Indices of the zero-shot columns, one per class in ``classes`` order
        (empty when ``X`` has no zero-shot block).

    Raises
    ------
    ValueError
        When the zero-shot labels (read from the feature names) are not the
        classes, or an explicit ``zs_columns`` is not one column per class.

    Notes
    -----
    With ``spec="auto"``: the columns named ``[<prefix>__]zs_<label>`` when
    feature names are known and at least one matches; otherwise the first
    ``n_classes`` columns when ``X`` has more than ``n_classes`` columns;
    otherwise ``X`` has no room for both blocks and there is no zero-shot
    block (a :class:`FusionWarning` says so).
    """
    n_classes = len(classes)
    if isinstance(spec, str) and spec == "auto":
        if feature_names is not None:
            found = [(i, zs_label_of(n)) for i, n in enumerate(feature_names)]
            found = [(i, label) for i, label in found if label is not None]
            if found:
                index, labels = zip(*found)
                return np.asarray(_order_by_labels(list(index), list(labels), classes), dtype=np.intp)
        if n_features > n_classes:
            return np.arange(n_classes, dtype=np.intp)
        warnings.warn(
            f"X has {n_features} column(s) for {n_classes} classes: no room for a zero-shot block of "
            f"{n_classes} columns before the FM block, so LateFusionClassifier fits its head on all "
            "columns (no fusion). Name the zero-shot columns zs_<label> (fit on a DataFrame) or set "
            "zs_columns=.",
            FusionWarning,
            stacklevel=3,
        )
        return np.zeros(0, dtype=np.intp)

    index = _as_index_list(spec, feature_names, n_features)
    if not index:
        return np.zeros(0, dtype=np.intp)
    if len(index) != n_classes:
        raise ValueError(
            f"zs_columns selects {len(index)} column(s), but y has {n_classes} classes "
            f"{[str(c) for c in classes]}: the zero-shot block has one column per class."
        )
    if feature_names is not None:
        labels = [zs_label_of(feature_names[i]) for i in index]
        if all(label is not None for label in labels):
            index = _order_by_labels(index, labels, classes)
    return np.asarray(index, dtype=np.intp)


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

"""Frame-level FM blocks and heads that take side features, for :class:`LateFusionClassifier`.

A frame-level FM block is one column of ``X`` whose cells are each clip's
``(n_frames, dim)`` matrix (``FMEmbeddingTransformer(pooling="none")``, named
``fm_frames``); the other columns must be the zero-shot block. A head with
``accepts_side = True`` (:class:`~zsfuse.EmoBoxHead`, :class:`~zsfuse.SuperbHead`)
takes the zero-shot block as ``side`` features, which it joins to its pooled
representation before its last layer: that is how ``fusion="concat"`` fuses it.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["Blocks", "WithSide", "accepts_frames", "accepts_side", "split_frames"]

#: The methods a :class:`WithSide` wrapper forwards with ``side=``.
_FORWARDED = ("predict", "predict_proba", "predict_log_proba", "decision_function")


class Blocks:
    """Validated input of the fusion classifier: a numeric table and, optionally, the clips' frames.

    Parameters
    ----------
    numeric : ndarray of shape (n_samples, n_numeric)
        Every numeric column of ``X`` (float64).
    frames : ndarray of object, shape (n_samples,), or None
        Each clip's ``(n_frames, dim)`` matrix, when ``X`` has a frame-level FM block.
    """

    def __init__(self, numeric, frames=None):
        self.numeric = numeric
        self.frames = frames

    def __len__(self):
        return self.numeric.shape[0]


def _is_frames(cell):
    return isinstance(cell, np.ndarray) and cell.ndim == 2


def split_frames(X):
    """Find the frame-level column of ``X``, if any.

    Parameters
    ----------
    X : array-like or DataFrame
        The classifier's input.

    Returns
    -------
    numeric : array-like or DataFrame
        ``X`` without the frame-level column (``X`` itself when it has none).
    frames : ndarray of object, shape (n_samples,), or None
        The frame-level column's cells.
    position : int or None
        Its position among the columns of ``X``.

    Raises
    ------
    ValueError
        When ``X`` has more than one frame-level column, or the column holds
        something else than 2-D arrays in some rows.
    """
    columns = getattr(X, "columns", None)
    if columns is not None:  # a DataFrame
        found = [i for i, c in enumerate(columns) if X[c].dtype == object and len(X) and _is_frames(X[c].iloc[0])]
        cells = (lambda i: X.iloc[:, i].to_numpy()) if found else None
    else:
        if not (isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2 and len(X)):
            return X, None, None
        found = [j for j in range(X.shape[1]) if _is_frames(X[0, j])]
        cells = (lambda j: X[:, j]) if found else None
    if not found:
        return X, None, None
    if len(found) > 1:
        raise ValueError(
            f"X has {len(found)} columns of frame-level features (at positions {found}); the fusion "
            "classifier takes one frame-level FM block."
        )
    position = found[0]
    frames = np.empty(len(X), dtype=object)
    frames[:] = list(cells(position))
    bad = [i for i, f in enumerate(frames) if not _is_frames(f)]
    if bad:
        raise ValueError(
            f"the frame-level column of X holds something else than a (n_frames, dim) array in row(s) "
            f"{bad[:5]}: every clip needs its frames (FMEmbeddingTransformer(pooling='none'))."
        )
    numeric = X.drop(columns=columns[position]) if columns is not None else np.delete(X, position, axis=1)
    return numeric, frames, position


def accepts_side(head):
    """Whether ``head`` takes clip-level ``side`` features (a class attribute ``accepts_side = True``).

    Parameters
    ----------
    head : estimator

    Returns
    -------
    bool
    """
    return bool(getattr(head, "accepts_side", False))


def accepts_frames(head):
    """Whether ``head`` reads frame-level input (a class attribute ``accepts_frames = True``).

    Parameters
    ----------
    head : estimator

    Returns
    -------
    bool
    """
    return bool(getattr(head, "accepts_frames", False))


class WithSide:
    """A fitted head with its ``side`` features bound: ``predict(data)`` is ``head.predict(data, side=side)``.

    Parameters
    ----------
    head : fitted classifier
        A head whose methods take ``side=``.
    side : ndarray of shape (n_samples, n_side)
        The side features of the samples ``data`` will hold.
    """

    def __init__(self, head, side):
        self.head = head
        self.side = side
        self.classes_ = head.classes_

    def __getattr__(self, name):  # only called for names the instance lacks: the forwarded methods
        if name in _FORWARDED:
            head = self.__dict__["head"]
            if hasattr(head, name):
                return functools.partial(getattr(head, name), side=self.__dict__["side"])
        raise AttributeError(name)

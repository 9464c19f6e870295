"""Small numeric helpers shared across the package: row-wise softmax and L2 normalisation."""

from __future__ import annotations

import numpy as np

__all__ = ["log_softmax", "normalize_rows", "softmax"]


def log_softmax(z):
    """Row-wise log-softmax of a 2-D array of logits.

    Parameters
    ----------
    z : array-like of shape (n_rows, n_classes)
        Logits.

    Returns
    -------
    ndarray of float64
        ``z - logsumexp(z)`` row by row, computed stably.

    Examples
    --------
    >>> import numpy as np
    >>> np.exp(log_softmax([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(z):
    """Row-wise softmax of a 2-D array of logits.

    Parameters
    ----------
    z : array-like of shape (n_rows, n_classes)
        Logits.

    Returns
    -------
    ndarray of float64
        Rows that sum to 1.

    Examples
    --------
    >>> softmax([[1.0, 1.0, 1.0, 1.0]])
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def normalize_rows(x):
    """L2-normalise the last axis; rows of zeros stay zero.

    Parameters
    ----------
    x : array-like
        Vectors along the last axis.

    Returns
    -------
    ndarray of float64
        Unit-length vectors (zeros where the input was all zero).

    Examples
    --------
    >>> normalize_rows([[3.0, 4.0], [0.0, 0.0]])
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm == 0, 1.0, norm)

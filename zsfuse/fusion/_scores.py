"""Zero-shot scores as logits: probability detection, softmax, temperature fitting."""

from __future__ import annotations

import numpy as np

from .._numeric import log_softmax, softmax

__all__ = [
    "PROBA_FLOOR",
    "TEMPERATURE_BOUNDS",
    "fit_temperature",
    "log_softmax",
    "looks_like_proba",
    "safe_log",
    "softmax",
]

#: Probabilities are floored at this value before their logarithm is taken
#: (zero-shot probabilities given as input, out-of-fold head probabilities).
PROBA_FLOOR = 1e-12

#: Search interval of the fitted zero-shot temperature.
TEMPERATURE_BOUNDS = (1e-3, 1e3)

#: Tolerance of :func:`looks_like_proba` on the row sums.
_SUM_TOL = 1e-4


def safe_log(p, floor=PROBA_FLOOR):
    """``log(max(p, floor))``: logarithm of probabilities that may be 0."""
    return np.log(np.maximum(np.asarray(p, dtype=np.float64), floor))


def looks_like_proba(z):
    """True when every row of ``z`` is a probability vector.

    Entries in [0, 1] and rows summing to 1 within 1e-4: what
    ``CLAPZeroShotTransformer(output="proba")`` produces. Logits and
    log-probabilities (``output="logit"`` / ``"log_proba"``) essentially never
    pass this test.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
        The zero-shot block.

    Returns
    -------
    bool
    """
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0 or z.shape[1] < 2:
        return False
    return bool(np.all(z >= 0.0) and np.all(z <= 1.0) and np.allclose(z.sum(axis=1), 1.0, rtol=0.0, atol=_SUM_TOL))


def fit_temperature(logits, y_index, bounds=TEMPERATURE_BOUNDS):
    """Temperature ``T`` that minimises the NLL of ``softmax(logits / T)``.

    The mean negative log-likelihood is convex in ``1 / T``, hence unimodal in
    ``log T``: a bounded Brent search over ``log T`` finds the minimum. Zero-shot
    scores that carry no information about ``y`` drive ``T`` to the upper bound,
    which makes ``softmax(logits / T)`` nearly uniform: a useless zero-shot block
    then barely moves a fused prediction.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        Zero-shot logits, columns in ``classes_`` order.
    y_index : ndarray of shape (n_samples,)
        Class index (0 .. n_classes - 1) of each sample.
    bounds : tuple of float, default=(1e-3, 1e3)
        Search interval of ``T``.

    Returns
    -------
    float
        The fitted temperature.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    picked = z[np.arange(z.shape[0]), np.asarray(y_index)]

    def nll(log_t):
        inv = np.exp(-log_t)
        return float(np.mean(logsumexp(z * inv, axis=1) - picked * inv))

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    result = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    # the bounded search never evaluates the end points: keep them if they are better
    best = min([(result.fun, result.x), (nll(lo), lo), (nll(hi), hi)], key=lambda t: t[0])
    return float(np.exp(best[1]))

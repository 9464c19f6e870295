"""The default head and meta-learner, and log-probabilities from any classifier."""

from __future__ import annotations

import numpy as np

from ._scores import safe_log

__all__ = ["default_head", "head_log_proba"]


def default_head():
    """The default head and meta-learner: ``LogisticRegression(max_iter=1000)``.

    L2 penalty with ``C=1.0``, the lbfgs solver (multinomial for more than two
    classes), ``tol=1e-4``; ``max_iter`` is raised from 100 to 1000 so that
    heads on a thousand-dimensional embedding converge.

    Returns
    -------
    LogisticRegression
        A new, unfitted instance.
    """
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def head_log_proba(head, data):
    """``head.predict_log_proba(data)``, or the log of its ``predict_proba`` when it has none.

    Parameters
    ----------
    head : fitted classifier
        Has ``predict_log_proba`` or ``predict_proba``.
    data : ndarray of shape (n_samples, n_features)
        Its input.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Log-probabilities; probabilities of 0 are floored at the smallest
        positive float64 before the log.
    """
    if not hasattr(head, "predict_log_proba"):
        return safe_log(head.predict_proba(data), floor=np.finfo(np.float64).tiny)
    return head.predict_log_proba(data)

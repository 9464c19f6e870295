"""The zero-shot systems of ``zsfuse evaluate`` as classifiers: argmax of the scores, softmax for probabilities.

``zero_shot`` is the zero-shot transformer with its fixed parameters;
``zero_shot_tuned`` the same with the zero-shot entries of the grid
(amplification, prompt ensemble) chosen by the inner speaker-grouped search on
the training part. Both are ``Pipeline([("zs", CLAPZeroShotTransformer),
("argmax", ArgmaxOfScores())])``, so ``GridSearchCV`` can tune the second by UA.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["ArgmaxOfScores", "zero_shot_grid", "zero_shot_system"]


class ArgmaxOfScores(ClassifierMixin, BaseEstimator):
    """A classifier that learns nothing: the class of the largest zero-shot score.

    Its input is the output of :class:`~zsfuse.CLAPZeroShotTransformer`, one
    column per class in sorted label order (logits, log-probabilities or
    probabilities). ``fit`` only records the classes (the sorted labels of
    the transformer when given, else those of ``y``).

    Parameters
    ----------
    labels : sequence, optional
        The zero-shot transformer's labels: its columns, sorted. Default: the
        classes of ``y`` in ``fit``.
    """

    def __init__(self, labels=None):
        self.labels = labels

    def fit(self, X, y=None):
        """Record the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes)
            Zero-shot scores (unused).
        y : array-like of shape (n_samples,), optional
            Labels; their classes are used when ``labels`` is None.

        Returns
        -------
        self : ArgmaxOfScores
        """
        self.classes_ = np.array(sorted(self.labels)) if self.labels is not None else np.unique(y)
        return self

    def predict(self, X):
        """The class of each row's largest score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes)
            Zero-shot scores.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(np.asarray(X, dtype=np.float64), axis=1)]

    def predict_proba(self, X):
        """The softmax of each row: the zero-shot model's own probabilities (no temperature fitted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes)
            Zero-shot logits (or log-probabilities: the same softmax).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        from ..fusion import softmax

        return softmax(np.asarray(X, dtype=np.float64))


def zero_shot_system(zs):
    """``Pipeline([("zs", clone(zs)), ("argmax", ArgmaxOfScores(labels=zs.labels))])``.

    Parameters
    ----------
    zs : CLAPZeroShotTransformer
        The pipeline's zero-shot step.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted.
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    return Pipeline([("zs", clone(zs)), ("argmax", ArgmaxOfScores(labels=zs.labels))])


def zero_shot_grid(grid):
    """The zero-shot entries of a resolved grid (``features__zs__x`` -> ``zs__x``).

    Parameters
    ----------
    grid : dict
        Pipeline parameter name -> values.

    Returns
    -------
    dict
        :func:`zero_shot_system` parameter name -> values.
    """
    prefix = "features__zs__"
    return {"zs__" + k[len(prefix) :]: v for k, v in grid.items() if k.startswith(prefix)}

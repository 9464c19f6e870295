"""The fusion modes of :class:`~zsfuse.fusion.LateFusionClassifier`: one small class each.

A mode is a stateless strategy, looked up by ``LateFusionClassifier.fusion``
in :data:`MODES` each time it is needed. It fits on the classifier what the
mode needs (``estimator_``, ``zs_normalizer_``, ``fm_normalizer_``,
``temperature_``, ``meta_estimator_``: the classifier's attributes, so a saved
classifier holds no mode object and files of every version load alike), and at
predict time it names the estimator that answers and that estimator's input
(:meth:`FusionMode.combine`); the classifier's ``predict``, ``predict_proba``,
``predict_log_proba`` and ``decision_function`` ask that estimator.

A new mode is one subclass of :class:`FusionMode` here, listed in :data:`MODES`
(which gives ``fusion`` its accepted values), and its test.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._blocks import fit_normalizer, normalize_block
from ._frames import WithSide, accepts_side
from ._heads import default_head
from ._scores import log_softmax, safe_log, softmax

__all__ = ["FUSION_MODES", "MODES", "ConcatFusion", "FusedLogProba", "FusionMode", "StackFusion", "WeightedFusion"]


class FusionMode:
    """How one value of ``LateFusionClassifier(fusion=...)`` fits and predicts.

    Stateless: every method takes the classifier and works with its
    parameters, its fitted attributes and its block helpers (``_take``,
    ``_zs_logits``, ``_zs_log_proba``, ``_fm_input``, ``_uses_zs``,
    ``_fit_fm_block``, ``_fit_temperature``).

    Attributes
    ----------
    name : str
        The value of ``fusion``.
    needs_fm_block : bool
        ``fit`` refuses an ``X`` that is all zero-shot block.
    needs_proba_head : bool
        The mode reads the head's ``predict_proba`` (checked in ``fit``).
    own_decision_function : bool
        ``decision_function`` is that of the answering estimator when it has
        one; False: always its log-probabilities (one log-odds with two classes).
    """

    name = ""
    needs_fm_block = True
    needs_proba_head = True
    own_decision_function = True

    def check_params(self, clf):
        """Check the rules that link ``fusion`` to the other parameters (called by ``fit``).

        Parameters
        ----------
        clf : LateFusionClassifier
            Its parameters have passed ``_parameter_constraints``.

        Raises
        ------
        ValueError
            When the head lacks ``predict_proba`` and the mode needs it.
        """
        if self.needs_proba_head and clf.estimator is not None and not hasattr(clf.estimator, "predict_proba"):
            raise ValueError(
                f"fusion={self.name!r} needs a head with predict_proba; "
                f"{type(clf.estimator).__name__} has none. Use fusion='concat'."
            )

    def head_has(self, clf, method):
        """Whether ``clf`` offers ``method`` (``available_if``); True unless overridden.

        Parameters
        ----------
        clf : LateFusionClassifier
            Fitted or not.
        method : {"predict_proba", "predict_log_proba", "decision_function"}
            The method asked for.

        Returns
        -------
        bool
            True; raises AttributeError where ``method`` is unavailable.
        """
        return True

    def fit(self, clf, X, y, y_index, head):
        """Fit the blocks' normalisers and the estimators, and store them on ``clf``.

        Parameters
        ----------
        clf : LateFusionClassifier
            With ``classes_``, ``zs_columns_``, ``fm_columns_``, ``zs_input_``
            set, and the other fitted attributes None.
        X : ndarray of shape (n_samples, n_features)
            The validated training data.
        y : ndarray of shape (n_samples,)
            Class labels.
        y_index : ndarray of shape (n_samples,)
            Index of each label in ``classes_``.
        head : classifier
            A clone of the head, unfitted.
        """
        raise NotImplementedError

    def combine(self, clf, X):
        """The estimator that answers for a fitted ``clf``, and its input.

        Parameters
        ----------
        clf : LateFusionClassifier
            Fitted.
        X : ndarray of shape (n_samples, n_features)
            Validated data.

        Returns
        -------
        estimator : fitted classifier
            Has ``predict``, and ``predict_proba`` or ``decision_function``.
        data : ndarray of shape (n_samples, n_columns)
            Its input.
        """
        raise NotImplementedError


class FusedLogProba:
    """Stands for an estimator whose input is already the fused log-probabilities.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The classifier's ``classes_``.
    """

    def __init__(self, classes):
        self.classes_ = classes

    def predict(self, log_proba):
        """The class of largest log-probability in each row."""
        return self.classes_[np.argmax(log_proba, axis=1)]

    def predict_proba(self, log_proba):
        """``exp`` of the (normalised) log-probabilities."""
        return softmax(log_proba)

    def predict_log_proba(self, log_proba):
        """The log-probabilities, unchanged."""
        return log_proba


class ConcatFusion(FusionMode):
    """``"concat"``: the head on ``[zs_weight * N(zero-shot logits), N(FM block)]``."""

    name = "concat"
    needs_fm_block = False
    needs_proba_head = False

    def head_has(self, clf, method):
        """The head answers alone: ``clf`` has ``method`` when its head has it (see FusionMode)."""
        head = clf.estimator_ if hasattr(clf, "estimator_") else (clf.estimator or default_head())
        if method == "decision_function":
            if not (hasattr(head, "decision_function") or hasattr(head, "predict_proba")):
                raise AttributeError(f"{type(head).__name__} has neither decision_function nor predict_proba")
            return True
        getattr(head, method)  # AttributeError when the head lacks it
        return True

    def fit(self, clf, X, y, y_index, head):
        """Fit both blocks' normalisers and the head (see FusionMode).

        A head with ``accepts_side = True`` gets the FM block as its input and
        the weighted zero-shot block as ``side`` features (its own way to
        concatenate them); any other head gets ``[w * N(z), N(e)]``. A
        frame-level FM block needs the former when the zero-shot block is used.
        """
        if clf._uses_zs():
            clf.zs_normalizer_ = fit_normalizer(clf.normalize, clf._zs_logits(X))
        elif not clf._has_fm_block():
            raise ValueError("zs_weight=0 drops the zero-shot block, and X has no other columns: nothing to fit.")
        if X.frames is not None and clf._uses_zs() and not accepts_side(head):
            raise ValueError(
                f"fusion='concat' cannot concatenate the zero-shot block with a frame-level FM block for "
                f"{type(head).__name__}: use a head that takes side features (accepts_side = True, e.g. "
                "EmoBoxHead), or fusion='weighted' or 'stack'."
            )
        if clf.fm_columns_.size:
            clf.fm_normalizer_ = fit_normalizer(clf.normalize, clf._take(X, clf.fm_columns_))
        data, side = self._input(clf, X, head)
        clf.estimator_ = head.fit(data, y) if side is None else head.fit(data, y, side=side)

    def combine(self, clf, X):
        """The head, on the concatenated blocks, or with the zero-shot block as side features (see FusionMode)."""
        data, side = self._input(clf, X, clf.estimator_)
        return (clf.estimator_, data) if side is None else (WithSide(clf.estimator_, side), data)

    @staticmethod
    def _input(clf, X, head):
        """The head's input and its side features (None: no side features)."""
        zs = None
        if clf._uses_zs():
            zs = clf.zs_weight * normalize_block(clf.normalize, clf.zs_normalizer_, clf._zs_logits(X))
        if not clf._has_fm_block():
            return zs, None
        fm = clf._fm_input(X)
        if zs is None:
            return fm, None
        if accepts_side(head) and clf._has_fm_block():
            return fm, zs
        return np.hstack([zs, fm]), None


class WeightedFusion(FusionMode):
    """``"weighted"``: ``(1 - w) log p_FM + w log softmax(z / T)``, renormalised."""

    name = "weighted"
    own_decision_function = False

    def check_params(self, clf):
        """``zs_weight`` is at most 1, and the head has ``predict_proba`` (see FusionMode)."""
        if clf.zs_weight > 1:
            raise ValueError(f"fusion='weighted' needs 0 <= zs_weight <= 1, got {clf.zs_weight!r}.")
        super().check_params(clf)

    def fit(self, clf, X, y, y_index, head):
        """Fit the FM block's normaliser, the temperature and the head (see FusionMode)."""
        fm_input = clf._fit_fm_block(X)
        clf._fit_temperature(X, y_index)
        clf.estimator_ = head.fit(fm_input, y)

    def combine(self, clf, X):
        """The head alone when the zero-shot block is unused, else the fused log-probabilities."""
        if not clf._uses_zs():  # the FM baseline: the head's own outputs, bit for bit
            return clf.estimator_, clf._fm_input(X)
        lp_zs = clf._zs_log_proba(X)
        if clf.zs_weight == 1:
            return FusedLogProba(clf.classes_), lp_zs
        lp_fm = safe_log(clf.estimator_.predict_proba(clf._fm_input(X)), floor=np.finfo(np.float64).tiny)
        return FusedLogProba(clf.classes_), log_softmax((1.0 - clf.zs_weight) * lp_fm + clf.zs_weight * lp_zs)


class StackFusion(FusionMode):
    """``"stack"``: a meta-learner on the head's log-probabilities and ``w log softmax(z / T)``."""

    name = "stack"

    def fit(self, clf, X, y, y_index, head):
        """Fit the FM block's normaliser, the temperature, the meta-learner on out-of-fold
        head log-probabilities, then the head on all the data (see FusionMode)."""
        fm_input = clf._fit_fm_block(X)
        clf._fit_temperature(X, y_index)
        clf.meta_estimator_ = default_head().fit(self._oof_meta_input(clf, X, fm_input, y, head), y)
        clf.estimator_ = head.fit(fm_input, y)

    def combine(self, clf, X):
        """The meta-learner, on the head's log-probabilities and the zero-shot ones (see FusionMode)."""
        head_log_proba = safe_log(clf.estimator_.predict_proba(clf._fm_input(X)))
        return clf.meta_estimator_, self._meta_input(clf, X, head_log_proba)

    @staticmethod
    def _meta_input(clf, X, head_log_proba):
        if not clf._uses_zs():
            return head_log_proba
        return np.hstack([head_log_proba, clf.zs_weight * clf._zs_log_proba(X)])

    def _oof_meta_input(self, clf, X, fm_input, y, head):
        from sklearn.model_selection import check_cv, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        cv = check_cv(clf.cv, y, classifier=True)
        if X.frames is not None:  # a frame-level head: nothing is fitted outside it
            oof = cross_val_predict(clone(head), fm_input, y, cv=cv, method="predict_proba")
            return self._meta_input(clf, X, safe_log(oof))
        raw = clf._take(X, clf.fm_columns_)
        if clf.normalize == "standard":  # refit the scaler inside each fold
            oof = cross_val_predict(make_pipeline(StandardScaler(), clone(head)), raw, y, cv=cv, method="predict_proba")
        else:  # per-sample normalisation: nothing is fitted, nothing leaks
            oof = cross_val_predict(clone(head), fm_input, y, cv=cv, method="predict_proba")
        return self._meta_input(clf, X, safe_log(oof))


#: The fusion modes by name: ``LateFusionClassifier(fusion=name)`` uses ``MODES[name]()``.
MODES = {mode.name: mode for mode in (ConcatFusion, WeightedFusion, StackFusion)}

#: Accepted values of ``LateFusionClassifier(fusion=...)``.
FUSION_MODES = tuple(MODES)

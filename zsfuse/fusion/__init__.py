"""Late fusion of zero-shot class scores with speech foundation model embeddings.

:class:`LateFusionClassifier` is a plain scikit-learn classifier over the
output of ``FeatureUnion([("zs", CLAPZeroShotTransformer(...)), ("fm",
FMEmbeddingTransformer(...))])``: numeric arrays in, classes out. It knows
nothing about audio and passes scikit-learn's estimator checks.

See ``docs/fusion.md`` for the three fusion modes and how to read them.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._blocks import (
    LAYERNORM_EPS,
    NORMALIZE_OPTIONS,
    FusionWarning,
    fit_normalizer,
    layernorm,
    normalize_block,
    resolve_zs_columns,
    zs_label_of,
)
from ._scores import (
    PROBA_FLOOR,
    TEMPERATURE_BOUNDS,
    fit_temperature,
    log_softmax,
    looks_like_proba,
    safe_log,
    softmax,
)

__all__ = [
    "FUSION_MODES",
    "LAYERNORM_EPS",
    "PROBA_FLOOR",
    "TEMPERATURE_BOUNDS",
    "FusionWarning",
    "LateFusionClassifier",
    "default_head",
    "fit_temperature",
    "layernorm",
    "zs_label_of",
]

#: Accepted values of ``LateFusionClassifier(fusion=...)``.
FUSION_MODES = ("concat", "weighted", "stack")


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


def _head_has(method):
    """``available_if`` check: the concat head (which answers alone) has ``method``."""

    def check(self):
        if self.fusion != "concat":
            return True  # weighted and stack need a head with predict_proba (checked in fit)
        head = self.estimator_ if hasattr(self, "estimator_") else (self.estimator or default_head())
        if method == "decision_function":
            if not (hasattr(head, "decision_function") or hasattr(head, "predict_proba")):
                raise AttributeError(f"{type(head).__name__} has neither decision_function nor predict_proba")
            return True
        getattr(head, method)  # AttributeError when the head lacks it
        return True

    return check


class LateFusionClassifier(ClassifierMixin, BaseEstimator):
    """Fuse zero-shot class scores with a supervised head on FM embeddings.

    ``X`` is ``[zero-shot block | FM block]``: one zero-shot score per class
    (the output of :class:`~zsfuse.CLAPZeroShotTransformer`) and an embedding
    (the output of :class:`~zsfuse.FMEmbeddingTransformer`), side by side as a
    ``FeatureUnion`` produces them. The classifier finds the zero-shot block
    (``zs_columns``), checks that its labels are the classes of ``y``, and
    fuses it with the FM block in one of three ways (``fusion``).

    Parameters
    ----------
    estimator : classifier, default=None
        The head, cloned before fitting. None: :func:`default_head`, i.e.
        ``LogisticRegression(max_iter=1000)`` (L2, ``C=1.0``, lbfgs). The
        ``"weighted"`` and ``"stack"`` modes need a head with
        ``predict_proba``. The ``"stack"`` meta-learner is always
        :func:`default_head`.
    fusion : {"concat", "weighted", "stack"}, default="concat"
        * ``"concat"`` (the ZS-Fuse paper's): normalise each block, multiply
          the zero-shot block by ``zs_weight``, concatenate ``[zs | fm]`` and
          fit the head on it.
        * ``"weighted"``: fit the head on the (normalised) FM block only; the
          fused log-probability is ``(1 - w) log p_FM + w log p_ZS``
          (renormalised), with ``p_ZS = softmax(zero-shot logits / T)`` and
          ``T`` fitted on the training data (``temperature``).
        * ``"stack"``: out-of-fold (``cv``) head log-probabilities and
          ``zs_weight`` times the zero-shot log-probabilities
          ``log softmax(logits / T)`` are the features of a multinomial
          logistic-regression meta-learner; the head is then refitted on all
          the training data.
    zs_weight : float, default=1.0
        Weight ``w >= 0`` of the zero-shot block; at most 1 with
        ``fusion="weighted"``. ``zs_weight=0`` is the FM baseline: with
        ``"concat"`` and ``"weighted"`` the predictions and probabilities are
        exactly those of the head fitted on the normalised FM block alone (the
        zero-shot block is dropped, not multiplied by zero). With ``"stack"``
        it leaves the meta-learner the head's out-of-fold log-probabilities only.
    zs_columns : "auto" or sequence of int or str, default="auto"
        The zero-shot block, always matched to ``classes_`` **by label**
        when the labels are known. ``"auto"``:

        1. the columns named ``zs_<label>`` -- also behind FeatureUnion
           prefixes, e.g. ``zs__zs_angry`` -- when ``X`` has feature names
           (a DataFrame; :func:`~zsfuse.make_zsfuse_pipeline` gives its
           FeatureUnion pandas output for this);
        2. else, with ``zs_labels``, the first ``len(zs_labels)`` columns;
        3. else the first ``n_classes`` columns by position, with a
           :class:`FusionWarning` (nothing says which label each holds); if
           ``X`` has no more than ``n_classes`` columns there is no room for
           both blocks, and the classifier fits its head on all columns (no
           fusion, also a :class:`FusionWarning`).

        Zero-shot columns of labels that are not classes of ``y`` (a training
        set or CV fold that lacks a class) are left out of both blocks; a class
        of ``y`` without a zero-shot column is a ``ValueError`` naming both
        sides. A sequence selects the columns by index or by name, one per
        class (an empty sequence: no zero-shot block); named ``zs_<label>``
        columns are again matched by label.
    normalize : {"layernorm", "standard"} or None, default="layernorm"
        Normalisation of each block before the head: ``"layernorm"`` per sample
        (subtract the row mean, divide by ``sqrt(row variance + 1e-5)``, no
        learned affine), ``"standard"`` per column (a ``StandardScaler``
        fitted on the training data), None: as given. ``"concat"`` normalises
        both blocks; ``"weighted"`` and ``"stack"`` the FM block only (the
        zero-shot block is used as logits, scaled by the temperature).
    temperature : "fit" or float, default="fit"
        Temperature ``T`` of the zero-shot softmax in ``"weighted"`` and
        ``"stack"``. ``"fit"``: minimise the negative log-likelihood of
        ``softmax(logits / T)`` on the training data (bounded search over
        ``log T`` in ``[1e-3, 1e3]``). A positive number: use it.
    cv : int, cross-validation generator or iterable, default=5
        Splits of the out-of-fold head probabilities of ``"stack"`` (an int is
        a ``StratifiedKFold`` without shuffling); unused by the other modes.
    zs_labels : sequence, optional
        The labels of the zero-shot transformer (its ``labels``), for ``X``
        without column names: its columns come first in ``X``, in sorted
        label order, whatever order the labels are given in -- as
        :class:`~zsfuse.CLAPZeroShotTransformer` writes them. With named
        columns it is cross-checked against the names.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` seen in ``fit``; defined only when ``X`` had
        string column names.
    zs_columns_ : ndarray of int
        Indices of the zero-shot columns in ``classes_`` order (empty: no
        zero-shot block).
    fm_columns_ : ndarray of int
        Indices of the FM block, in input order: every column outside the
        zero-shot block.
    zs_input_ : {"logit", "proba"}
        How the zero-shot block of the training data was read: ``"proba"``
        when its rows were probability vectors (then ``log(max(p, 1e-12))``
        is used as the logits), else ``"logit"``.
    estimator_ : classifier
        The fitted head.
    fm_normalizer_, zs_normalizer_ : StandardScaler or None
        Fitted scalers of ``normalize="standard"`` (None otherwise or when
        unused).
    temperature_ : float or None
        Zero-shot temperature (``"weighted"`` and ``"stack"`` with a zero-shot
        block), else None.
    meta_estimator_ : LogisticRegression or None
        The ``"stack"`` meta-learner, else None.

    Notes
    -----
    **Which zero-shot output to feed.** The classifier reads the zero-shot
    block as *logits*. ``output="logit"`` (the default of
    :class:`~zsfuse.CLAPZeroShotTransformer`) and ``output="log_proba"`` are
    equivalent: log-probabilities are the logits shifted by a per-row
    constant, which the softmax (``"weighted"``, ``"stack"``) and the
    per-sample LayerNorm (``"concat"``) remove. ``output="proba"`` is
    detected (every row a probability vector, see ``zs_input_``) and turned
    into log-probabilities, floored at ``1e-12``; prefer ``"logit"``, which
    loses nothing to saturation.

    **Exactness of the baseline.** With ``zs_weight=0`` in ``"concat"`` and
    ``"weighted"``, ``predict``, ``predict_proba`` and ``predict_log_proba``
    return the head's own outputs on the normalised FM block: bit for bit
    what ``clone(head).fit(normalised FM block, y)`` gives.

    Examples
    --------
    >>> import numpy as np
    >>> from zsfuse import LateFusionClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 60)
    >>> zs = np.eye(3)[y] * 2 + rng.normal(size=(60, 3))     # zero-shot logits
    >>> fm = rng.normal(size=(60, 8)) + y[:, None] * 0.3      # an embedding
    >>> clf = LateFusionClassifier(fusion="weighted", zs_weight=0.5, zs_labels=(0, 1, 2))
    >>> clf = clf.fit(np.hstack([zs, fm]), y)
    >>> clf.predict_proba(np.hstack([zs, fm])).shape
    (60, 3)
    """

    def __init__(
        self,
        estimator=None,
        fusion="concat",
        zs_weight=1.0,
        zs_columns="auto",
        normalize="layernorm",
        temperature="fit",
        cv=5,
        zs_labels=None,
    ):
        self.estimator = estimator
        self.fusion = fusion
        self.zs_weight = zs_weight
        self.zs_columns = zs_columns
        self.zs_labels = zs_labels
        self.normalize = normalize
        self.temperature = temperature
        self.cv = cv

    def __setstate__(self, state):
        # a classifier saved before a parameter existed loads with its default
        state.setdefault("zs_labels", None)
        super().__setstate__(state)

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        if not (isinstance(self.fusion, str) and self.fusion in FUSION_MODES):
            raise ValueError(f"fusion must be one of {FUSION_MODES}, got {self.fusion!r}.")
        w = self.zs_weight
        if not isinstance(w, Real) or isinstance(w, (bool, np.bool_)) or not np.isfinite(w) or w < 0:
            raise ValueError(f"zs_weight must be a finite number >= 0, got {w!r}.")
        if self.fusion == "weighted" and w > 1:
            raise ValueError(f"fusion='weighted' needs 0 <= zs_weight <= 1, got {w!r}.")
        if self.normalize not in NORMALIZE_OPTIONS:
            raise ValueError(f"normalize must be one of {NORMALIZE_OPTIONS}, got {self.normalize!r}.")
        t = self.temperature
        if isinstance(t, str):
            if t != "fit":
                raise ValueError(f"temperature must be 'fit' or a positive number, got {t!r}.")
        elif not isinstance(t, Real) or isinstance(t, (bool, np.bool_)) or not np.isfinite(t) or t <= 0:
            raise ValueError(f"temperature must be 'fit' or a positive number, got {t!r}.")
        if isinstance(self.cv, Integral) and not isinstance(self.cv, (bool, np.bool_)) and self.cv < 2:
            raise ValueError(f"cv must be at least 2 when it is an int, got {self.cv!r}.")
        if self.estimator is not None:
            if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "predict")):
                raise ValueError(f"estimator must be a classifier (fit, predict), got {self.estimator!r}.")
            if self.fusion != "concat" and not hasattr(self.estimator, "predict_proba"):
                raise ValueError(
                    f"fusion={self.fusion!r} needs a head with predict_proba; "
                    f"{type(self.estimator).__name__} has none. Use fusion='concat'."
                )

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Fit the head (and the temperature, the meta-learner) on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``; a DataFrame's column names
            locate the zero-shot block (see ``zs_columns``).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LateFusionClassifier
            The fitted classifier.
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "LateFusionClassifier needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )
        names = getattr(self, "feature_names_in_", None)
        zs, block = resolve_zs_columns(self.zs_columns, names, X.shape[1], self.classes_, self.zs_labels)
        fm = np.setdiff1d(np.arange(X.shape[1]), block).astype(np.intp)
        self.zs_columns_, self.fm_columns_ = zs, fm
        if fm.size == 0 and self.fusion != "concat":
            raise ValueError(
                f"fusion={self.fusion!r} needs an FM block, but all {X.shape[1]} columns of X are the "
                "zero-shot block."
            )
        has_zs = zs.size > 0
        self.zs_input_ = "proba" if has_zs and looks_like_proba(X[:, zs]) else "logit"
        self.fm_normalizer_ = self.zs_normalizer_ = None
        self.temperature_ = self.meta_estimator_ = None
        head = clone(self.estimator) if self.estimator is not None else default_head()

        if self.fusion == "concat":
            if has_zs and self.zs_weight != 0:
                self.zs_normalizer_ = fit_normalizer(self.normalize, self._zs_logits(X))
            elif fm.size == 0:
                raise ValueError(
                    "zs_weight=0 drops the zero-shot block, and X has no other columns: nothing to fit."
                )
            if fm.size:
                self.fm_normalizer_ = fit_normalizer(self.normalize, self._take(X, fm))
            self.estimator_ = head.fit(self._concat_input(X), y)
            return self

        self.fm_normalizer_ = fit_normalizer(self.normalize, self._take(X, fm))
        fm_input = self._fm_input(X)
        if has_zs:
            logits = self._zs_logits(X)
            self.temperature_ = (
                fit_temperature(logits, y_index) if self.temperature == "fit" else float(self.temperature)
            )
        if self.fusion == "stack":
            self.meta_estimator_ = default_head().fit(self._oof_meta_input(X, fm_input, y, head), y)
        self.estimator_ = head.fit(fm_input, y)
        return self

    def _oof_meta_input(self, X, fm_input, y, head):
        from sklearn.model_selection import check_cv, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        cv = check_cv(self.cv, y, classifier=True)
        raw = self._take(X, self.fm_columns_)
        if self.normalize == "standard":  # refit the scaler inside each fold
            oof = cross_val_predict(make_pipeline(StandardScaler(), clone(head)), raw, y, cv=cv,
                                    method="predict_proba")
        else:  # per-sample normalisation: nothing is fitted, nothing leaks
            oof = cross_val_predict(clone(head), fm_input, y, cv=cv, method="predict_proba")
        return self._meta_input(X, safe_log(oof))

    # ------------------------------------------------------------------ blocks
    @staticmethod
    def _take(X, columns):
        # a C-ordered block of its own: X[:, index] is F-ordered, and the memory order of a
        # head's input can change the last bit of its BLAS products (the exact baseline)
        return np.ascontiguousarray(X[:, columns])

    def _zs_logits(self, X):
        z = self._take(X, self.zs_columns_)
        return safe_log(z) if self.zs_input_ == "proba" else z

    def _zs_log_proba(self, X):
        return log_softmax(self._zs_logits(X) / self.temperature_)

    def _fm_input(self, X):
        return normalize_block(self.normalize, self.fm_normalizer_, self._take(X, self.fm_columns_))

    def _uses_zs(self):
        return self.zs_columns_.size > 0 and self.zs_weight != 0

    def _concat_input(self, X):
        blocks = []
        if self._uses_zs():
            zs = normalize_block(self.normalize, self.zs_normalizer_, self._zs_logits(X))
            blocks.append(self.zs_weight * zs)
        if self.fm_columns_.size:
            blocks.append(self._fm_input(X))
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)

    def _meta_input(self, X, head_log_proba):
        if not self._uses_zs():
            return head_log_proba
        return np.hstack([head_log_proba, self.zs_weight * self._zs_log_proba(X)])

    def _weighted_log_proba(self, X):
        """Fused, renormalised log-probabilities of ``"weighted"`` (``zs_weight > 0``)."""
        lp_zs = self._zs_log_proba(X)
        if self.zs_weight == 1:
            return lp_zs
        lp_fm = safe_log(self.estimator_.predict_proba(self._fm_input(X)), floor=np.finfo(np.float64).tiny)
        return log_softmax((1.0 - self.zs_weight) * lp_fm + self.zs_weight * lp_zs)

    def _is_baseline(self):
        """True when the head on the FM block answers alone (weighted, no zero-shot)."""
        return self.fusion == "weighted" and not self._uses_zs()

    def _check(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, reset=False)

    # ------------------------------------------------------------------ predict
    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``, as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels (from ``classes_``).
        """
        X = self._check(X)
        if self.fusion == "concat":
            return self.estimator_.predict(self._concat_input(X))
        if self.fusion == "stack":
            return self.meta_estimator_.predict(self._meta_input(X, self._head_log_proba(X)))
        if self._is_baseline():
            return self.estimator_.predict(self._fm_input(X))
        return self.classes_[np.argmax(self._weighted_log_proba(X), axis=1)]

    @available_if(_head_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``, as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in ``classes_`` order.
        """
        X = self._check(X)
        if self.fusion == "concat":
            return self.estimator_.predict_proba(self._concat_input(X))
        if self.fusion == "stack":
            return self.meta_estimator_.predict_proba(self._meta_input(X, self._head_log_proba(X)))
        if self._is_baseline():
            return self.estimator_.predict_proba(self._fm_input(X))
        return softmax(self._weighted_log_proba(X))

    @available_if(_head_has("predict_proba"))
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``, as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in ``classes_`` order.
        """
        X = self._check(X)
        if self.fusion == "concat":
            return self._head_method(self.estimator_, "predict_log_proba", self._concat_input(X))
        if self.fusion == "stack":
            return self.meta_estimator_.predict_log_proba(self._meta_input(X, self._head_log_proba(X)))
        if self._is_baseline():
            return self._head_method(self.estimator_, "predict_log_proba", self._fm_input(X))
        return self._weighted_log_proba(X)

    @available_if(_head_has("decision_function"))
    def decision_function(self, X):
        """Confidence score of each class for each sample.

        ``"concat"``: the head's ``decision_function`` on the fused input
        (its log-probabilities when it has none); ``"weighted"``: the fused
        log-probabilities; ``"stack"``: the meta-learner's decision function.
        With two classes, as in scikit-learn, one score per sample: that of
        ``classes_[1]`` (a log-odds for ``"weighted"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``, as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes) or (n_samples,)
            Scores; larger means more likely.
        """
        X = self._check(X)
        if self.fusion == "concat":
            head_input = self._concat_input(X)
            if hasattr(self.estimator_, "decision_function"):
                return self.estimator_.decision_function(head_input)
            scores = self._head_method(self.estimator_, "predict_log_proba", head_input)
        elif self.fusion == "stack":
            return self.meta_estimator_.decision_function(self._meta_input(X, self._head_log_proba(X)))
        elif self._is_baseline():
            scores = self._head_method(self.estimator_, "predict_log_proba", self._fm_input(X))
        else:
            scores = self._weighted_log_proba(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def _head_log_proba(self, X):
        return safe_log(self.estimator_.predict_proba(self._fm_input(X)))

    @staticmethod
    def _head_method(head, method, data):
        if method == "predict_log_proba" and not hasattr(head, "predict_log_proba"):
            return safe_log(head.predict_proba(data), floor=np.finfo(np.float64).tiny)
        return getattr(head, method)(data)

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # validate_data rejects NaN and inf
        tags.input_tags.sparse = False  # blocks are sliced and normalised densely
        # per-sample LayerNorm discards each row's offset and scale: right for an
        # embedding of hundreds of dimensions, ruinous for a generic 2-column table
        # (scikit-learn's checks fit on 2-D blobs and expect > 83 % accuracy)
        tags.classifier_tags.poor_score = self.normalize == "layernorm"
        return tags

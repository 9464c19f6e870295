"""The late-fusion classifier: blocks of ``X``, parameters, and the mode that fuses them.

:class:`LateFusionClassifier` finds the zero-shot and FM blocks of ``X``
(:mod:`._blocks`), validates its parameters (``_parameter_constraints``, then
the rules that link them to ``fusion``), and leaves the fusion itself to the
mode object of ``fusion`` (:mod:`._modes`).
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._params import NumberNotBool
from ._blocks import (
    NORMALIZE_OPTIONS,
    fit_normalizer,
    normalize_block,
    resolve_zs_columns,
)
from ._frames import Blocks, accepts_frames, split_frames
from ._heads import default_head, head_log_proba
from ._modes import MODES
from ._scores import fit_temperature, log_softmax, looks_like_proba, safe_log

__all__ = ["LateFusionClassifier"]


def _head_has(method):
    """``available_if`` check: the mode of ``fusion`` offers ``method`` (concat: when its head has it)."""

    def check(self):
        mode = MODES.get(self.fusion) if isinstance(self.fusion, str) else None
        return True if mode is None else mode().head_has(self, method)

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
    normalize : {"standard", "layernorm"} or None, default="standard"
        Normalisation of each block before the head: ``"standard"`` per column
        (a ``StandardScaler`` fitted on the training data, scikit-learn's norm
        for a linear head), ``"layernorm"`` per sample (subtract the row mean,
        divide by ``sqrt(row variance + 1e-5)``, no learned affine: the ZS-Fuse
        paper's), None: as given. ``"concat"`` normalises both blocks;
        ``"weighted"`` and ``"stack"`` the FM block only (the zero-shot block
        is used as logits, scaled by the temperature). A frame-level FM block
        is never normalised here (its head normalises each clip). The default
        was ``"layernorm"`` until 0.1.0.dev0: on real speech with WavLM-Large
        features, the LayerNorm head scored 3.8 UA points below the standard
        one (``docs/fusion.md``); ``zsfuse evaluate`` tunes it per fold.
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
    equivalent in ``"weighted"`` and ``"stack"``, and in ``"concat"`` with
    ``normalize="layernorm"``: log-probabilities are the logits shifted by a
    per-row constant, which the softmax and the per-sample LayerNorm remove (a
    per-column scaler does not: with ``"standard"``, train and predict on the
    same output, as a pipeline does). ``output="proba"`` is
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

    # saved files (skops, pickle) name the class zsfuse.fusion.LateFusionClassifier, as before it moved
    __module__ = "zsfuse.fusion"

    def __init__(
        self,
        estimator=None,
        fusion="concat",
        zs_weight=1.0,
        zs_columns="auto",
        normalize="standard",
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
        # a classifier saved before a parameter (or fitted attribute) existed loads with its default
        state.setdefault("zs_labels", None)
        if "classes_" in state:
            state.setdefault("frames_column_", None)
        super().__setstate__(state)

    # ------------------------------------------------------------------ parameters
    #: Each parameter's accepted values, checked by ``fit`` (scikit-learn's
    #: ``_fit_context``); the rules that link them to ``fusion`` are the mode's
    #: ``check_params``. ``NumberNotBool``: ``True`` is not the number 1 here. ``fusion``
    #: reads the live keys of the mode registry: a mode added to ``MODES`` is accepted.
    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "fusion": [StrOptions(MODES.keys())],
        "zs_weight": [NumberNotBool(Real, 0, None, closed="left")],  # finite: [0, inf)
        "zs_columns": [StrOptions({"auto"}), "array-like"],
        "normalize": [StrOptions({o for o in NORMALIZE_OPTIONS if o is not None}), None],
        "temperature": [StrOptions({"fit"}), NumberNotBool(Real, 0, None, closed="neither")],
        "cv": ["cv_object"],
        "zs_labels": ["array-like", None],
    }

    def _fusion_mode(self):
        """The mode object of ``fusion``, once the rules that link it to the other parameters hold."""
        mode = MODES[self.fusion]()
        mode.check_params(self)
        return mode

    def check_settings(self):
        """Check every parameter without fitting: the constraints, then the rules that link them.

        ``zsfuse evaluate`` calls it on every grid point before any clip is
        encoded.

        Raises
        ------
        ValueError
            For a value outside its constraint, or a combination the mode of
            ``fusion`` refuses (e.g. ``zs_weight > 1`` with ``"weighted"``).
        """
        self._check_params()

    def _check_params(self):
        """Check every parameter without fitting: the constraints, then the linked rules.

        Raises
        ------
        ValueError
            ``sklearn.utils._param_validation.InvalidParameterError`` for a
            value outside ``_parameter_constraints``, a ``ValueError`` for a
            combination the mode of ``fusion`` refuses.
        """
        self._validate_params()
        self._fusion_mode()

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)  # the head's own parameters are validated too
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
        mode = self._fusion_mode()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "LateFusionClassifier needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}."
            )
        names = self._numeric_names()
        n_numeric = X.numeric.shape[1]
        # with frames, the FM block is the frame-level column: the numeric columns may all be zero-shot
        room = n_numeric + (self.frames_column_ is not None)
        zs, block = resolve_zs_columns(self.zs_columns, names, room, self.classes_, self.zs_labels)
        block = block[block < n_numeric]
        fm = np.setdiff1d(np.arange(n_numeric), block).astype(np.intp)
        head = clone(self.estimator) if self.estimator is not None else default_head()
        if self.frames_column_ is not None:
            self._check_frame_head(head, fm, names)
            fm = np.empty(0, dtype=np.intp)
        self.zs_columns_, self.fm_columns_ = zs, fm
        if not self._has_fm_block() and mode.needs_fm_block:
            raise ValueError(
                f"fusion={self.fusion!r} needs an FM block, but all {n_numeric} columns of X are the zero-shot block."
            )
        self.zs_input_ = "proba" if zs.size > 0 and looks_like_proba(X.numeric[:, zs]) else "logit"
        self.fm_normalizer_ = self.zs_normalizer_ = None
        self.temperature_ = self.meta_estimator_ = None
        mode.fit(self, X, y, y_index, head)
        return self

    def _validate(self, X, y=None, reset=False):
        """Validate ``X`` (and ``y``) into :class:`Blocks`: the numeric columns, and the frames if ``X`` has them.

        A frame-level column (each cell a clip's ``(n_frames, dim)`` array) is
        split off first; the numeric rest is validated as scikit-learn does
        (``n_features_in_`` and ``feature_names_in_`` count and name every
        column of ``X``, the frame-level one included).
        """
        numeric, frames, position = split_frames(X)
        if reset:
            self.frames_column_ = position
        elif (position is None) != (getattr(self, "frames_column_", None) is None):
            raise ValueError(
                "X has no frame-level FM block, but the classifier was fitted with one."
                if position is None
                else "X has a frame-level FM block, but the classifier was fitted without one."
            )
        if frames is None:
            if not reset:
                return Blocks(validate_data(self, X, dtype=np.float64, reset=False))
            X, y = validate_data(self, X, y, dtype=np.float64)  # y=None: scikit-learn's "requires y" error
            return Blocks(X), y
        from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

        columns = getattr(X, "columns", None)
        n_columns = numeric.shape[1] + 1
        if reset:
            self.n_features_in_ = n_columns
            if columns is not None and all(isinstance(c, str) for c in columns):
                self.feature_names_in_ = np.asarray(list(columns), dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_columns != self.n_features_in_:
            raise ValueError(
                f"X has {n_columns} features, but {type(self).__name__} is expecting {self.n_features_in_}."
            )
        if numeric.shape[1] == 0:  # the frames alone (the FM baseline of a frame-level head)
            values = np.empty((len(frames), 0), dtype=np.float64)
        else:
            values = check_array(numeric, dtype=np.float64, ensure_min_features=0)
        blocks = Blocks(values, frames)
        if not reset:
            return blocks
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        check_consistent_length(frames, y)
        return blocks, y

    def _numeric_names(self):
        """The names of the numeric columns seen in ``fit`` (None without names)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None or self.frames_column_ is None:
            return names
        return np.delete(names, self.frames_column_)

    def _check_frame_head(self, head, fm, names):
        """A frame-level FM block needs a frame-level head, and no other numeric FM columns."""
        if fm.size:
            shown = [str(names[i]) for i in fm[:5]] if names is not None else fm[:5].tolist()
            raise ValueError(
                f"X has a frame-level FM block and {fm.size} other column(s) that are not the zero-shot "
                f"block ({shown}): with frames, every numeric column must be a zero-shot score."
            )
        if not accepts_frames(head):
            raise ValueError(
                f"X has a frame-level FM block (FMEmbeddingTransformer(pooling='none')), which "
                f"{type(head).__name__} cannot read: use a frame-level head, e.g. "
                "LateFusionClassifier(estimator=EmoBoxHead()), or pool the frames (pooling='mean')."
            )

    def _has_fm_block(self):
        return self.fm_columns_.size > 0 or self.frames_column_ is not None

    def _fit_fm_block(self, X):
        """Fit the FM block's normaliser; return the normalised FM block (frames: as they are)."""
        if X.frames is None:
            self.fm_normalizer_ = fit_normalizer(self.normalize, self._take(X, self.fm_columns_))
        return self._fm_input(X)

    def _fit_temperature(self, X, y_index):
        """Set ``temperature_`` (fitted or the given one) when there is a zero-shot block."""
        if self.zs_columns_.size:
            logits = self._zs_logits(X)
            self.temperature_ = (
                fit_temperature(logits, y_index) if self.temperature == "fit" else float(self.temperature)
            )

    # ------------------------------------------------------------------ blocks
    @staticmethod
    def _take(X, columns):
        # a C-ordered block of its own: X[:, index] is F-ordered, and the memory order of a
        # head's input can change the last bit of its BLAS products (the exact baseline)
        return np.ascontiguousarray(X.numeric[:, columns])

    def _zs_logits(self, X):
        z = self._take(X, self.zs_columns_)
        return safe_log(z) if self.zs_input_ == "proba" else z

    def _zs_log_proba(self, X):
        return log_softmax(self._zs_logits(X) / self.temperature_)

    def _fm_input(self, X):
        if X.frames is not None:  # a frame-level head normalises each clip itself
            return X.frames
        return normalize_block(self.normalize, self.fm_normalizer_, self._take(X, self.fm_columns_))

    def _uses_zs(self):
        return self.zs_columns_.size > 0 and self.zs_weight != 0

    def _answer(self, X):
        """The mode, the estimator that answers and its input, for validated ``X``."""
        check_is_fitted(self)
        X = self._validate(X)
        mode = MODES[self.fusion]()
        return (mode, *mode.combine(self, X))

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
        _, answering, data = self._answer(X)
        return answering.predict(data)

    @available_if(_head_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of each sample.

        ``"concat"``: the head's; ``"weighted"``: the fused, renormalised
        ``exp((1 - w) log p_FM + w log p_ZS)`` (the head's own when the
        zero-shot block is unused); ``"stack"``: the meta-learner's.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As in :meth:`predict`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in ``classes_`` order.
        """
        _, answering, data = self._answer(X)
        return answering.predict_proba(data)

    @available_if(_head_has("predict_proba"))
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of each sample.

        The answering estimator's own ``predict_log_proba`` (no underflow)
        where it has one; else the log of its ``predict_proba``, floored at
        the smallest positive float.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[zero-shot block | FM block]``: the columns of ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in ``classes_`` order.
        """
        _, answering, data = self._answer(X)
        return head_log_proba(answering, data)

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
            The same columns as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes) or (n_samples,)
            Scores; larger means more likely.
        """
        mode, answering, data = self._answer(X)
        if mode.own_decision_function and hasattr(answering, "decision_function"):
            return answering.decision_function(data)
        scores = head_log_proba(answering, data)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

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

"""What the two torch heads share: parameters, input checks, padding, seeded training, weights as numpy.

:class:`TorchHead` is the base of :class:`~zsfuse.fusion.EmoBoxHead` and
:class:`~zsfuse.fusion.SuperbHead`. It owns the training recipe both use --
Adam, cross-entropy, a fixed number of epochs, the epoch with the best
unweighted accuracy on a stratified validation part kept -- and the ``side``
features; a subclass says how its input is read, how its parameters are
initialised and how a batch is forwarded.

Randomness: one ``torch.Generator`` seeded with ``random_state`` draws, in
this order, the validation split (one ``randperm`` per class, in ``classes_``
order, only when ``validation_fraction > 0``), the initial parameters (in the
order the subclass lists them) and each epoch's shuffle (one ``randperm`` of
the training part). The global torch random state is never used or changed.

A fitted head holds numpy arrays and Python scalars only: torch is imported
when a head is fitted or used, and the tensors are rebuilt from the arrays.
"""

from __future__ import annotations

import re
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from .._numeric import log_softmax, softmax
from .._params import Devices, NumberNotBool
from ..models import resolve_device

__all__ = [
    "TRAINING_CONSTRAINTS",
    "TRAINING_DOCS",
    "TorchHead",
    "as_clips",
    "check_side",
    "init_linear",
    "padded_batch",
    "to_tensors",
    "training_doc",
    "unweighted_accuracy",
    "validation_split",
]

#: The training parameters both heads take, with their constraints.
TRAINING_CONSTRAINTS = {
    "epochs": [NumberNotBool(Integral, 1, None, closed="left")],
    "learning_rate": [NumberNotBool(Real, 0, None, closed="neither")],
    "batch_size": [NumberNotBool(Integral, 1, None, closed="left")],
    "validation_fraction": [NumberNotBool(Real, 0, 1, closed="left")],
    "device": [Devices()],
    "random_state": [NumberNotBool(Integral, 0, 2**63 - 1, closed="both")],
    "progress": ["boolean"],
}

#: Their docstring entries (numpydoc, unindented), written once; see :func:`training_doc`.
TRAINING_DOCS = """\
epochs : int, default=100
    Passes over the training part. EmoBox's README runs its recipe with 100
    epochs (its yaml says 20).
learning_rate : float, default=0.0001
    Adam's learning rate (1e-4 in both EmoBox and SUPERB), constant.
batch_size : int, default=32
    Clips per training step, and per forward pass when predicting.
validation_fraction : float, default=0.2
    Part of the training data held out, stratified by class and drawn with
    ``random_state`` (per class ``round(fraction * n_class)``, at most
    ``n_class - 1``), to choose the epoch: after every epoch the unweighted
    accuracy (balanced accuracy) on it is recorded and the weights of the
    best epoch -- the earliest on ties -- are kept. EmoBox holds out a random
    20 % of the training list when a fold has no validation list. ``0``: no
    validation part; the last epoch is kept.
device : str, default="auto"
    Where to train and predict: ``"auto"`` (the first CUDA GPU when there is
    one, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    Results are reproducible on the CPU; GPU kernels may differ in the last
    bits from run to run.
random_state : int, default=0
    Seed of the ``torch.Generator`` that draws the validation split, the
    initial weights and each epoch's shuffle. The global torch random state
    is neither used nor changed.
progress : bool, default=False
    Show a progress bar over the epochs (tqdm), with the last validation
    score."""

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\(training_parameters\)s[ \t]*$", re.MULTILINE)


def training_doc(cls):
    """Replace the docstring line ``%(training_parameters)s`` by :data:`TRAINING_DOCS`, indented like it.

    Parameters
    ----------
    cls : class
        Its ``__doc__`` is rewritten in place.

    Returns
    -------
    class
        ``cls`` itself.
    """

    def entry(match):
        return "\n".join(match["indent"] + line if line else line for line in TRAINING_DOCS.splitlines())

    if cls.__doc__:
        cls.__doc__ = _PLACEHOLDER.sub(entry, cls.__doc__)
    return cls


# ---------------------------------------------------------------------------------------------- inputs


def _is_dataframe(X):
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _clip_items(X):
    """The clips of ``X`` as a Python sequence, before each is checked."""
    if _is_dataframe(X):
        if X.shape[1] != 1:
            raise ValueError(
                f"X is a DataFrame with {X.shape[1]} columns; a DataFrame of clips has exactly one column "
                "whose cells are (frames, features) arrays (e.g. FMEmbeddingTransformer(pooling='none') "
                "output). Select that column: X[['fm_frames']]."
            )
        return list(X.iloc[:, 0])
    if hasattr(X, "iloc"):  # a pandas Series of clips
        return list(X)
    if isinstance(X, (list, tuple)):
        return list(X)
    if isinstance(X, np.ndarray):
        if X.dtype == object:
            if X.ndim == 1 or (X.ndim == 2 and X.shape[1] == 1):
                return list(X.reshape(-1))
            raise ValueError(
                f"X is an object array of shape {X.shape}; a sequence of clips is 1-D (n_clips,) or "
                "(n_clips, 1), each cell a (frames, features) array."
            )
        if X.ndim == 3:
            return list(X)  # views, no copy
        raise ValueError(
            f"X is a numeric array of shape {X.shape}; frame-level input is a sequence of clips, each a "
            "2-D (frames, features) array: a list, a 1-D or (n, 1) object array, a one-column DataFrame, "
            "or a 3-D array (n_clips, frames, features). For a single clip pass [clip]."
        )
    raise ValueError(f"X must be a sequence of clips (each a 2-D (frames, features) array), got {type(X).__name__}.")


def as_clips(X, n_features=None):
    """Check frame-level input; return its clips (no copies), their lengths and the feature width.

    Parameters
    ----------
    X : sequence of array-like of shape (n_frames_i, n_features)
        A list or tuple of 2-D arrays, a 1-D object array of them, a 2-D
        object array of shape (n, 1), a pandas DataFrame with one column of
        them (or a Series), or a 3-D numeric array (n, n_frames, n_features).
        Any real dtype; float16 stays float16 here.
    n_features : int, optional
        The width every clip must have (the fitted head's); None: that of
        the first clip.

    Returns
    -------
    clips : list of ndarray
        The clips, as numpy arrays (views of the input where it was one).
    lengths : ndarray of int64
        Frames per clip.
    n_features : int
        The width of every clip.

    Raises
    ------
    ValueError
        For an empty ``X`` or a clip that is not a 2-D real array, has no
        frames, has another width or holds NaN or infinity; the message
        names the clip's index.
    """
    items = _clip_items(X)
    if not items:
        raise ValueError("X holds no clips: at least one (frames, features) array is needed.")
    clips, expected = [], n_features
    for i, item in enumerate(items):
        try:
            clip = np.asarray(item)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"clip {i} of X is not an array of numbers: {exc}") from exc
        if not (np.issubdtype(clip.dtype, np.floating) or np.issubdtype(clip.dtype, np.integer)):
            raise ValueError(f"clip {i} of X has dtype {clip.dtype}; clips must hold real numbers (float or int).")
        if clip.ndim != 2:
            raise ValueError(f"clip {i} of X has shape {clip.shape}; each clip must be a 2-D (frames, features) array.")
        if clip.shape[0] == 0:
            raise ValueError(f"clip {i} of X has 0 frames; every clip needs at least one frame.")
        if expected is None:
            expected = clip.shape[1]
        elif clip.shape[1] != expected:
            whose = "the head was fitted on" if n_features is not None else "clip 0 has"
            raise ValueError(
                f"clip {i} of X has {clip.shape[1]} features per frame, but {whose} {expected}; every clip "
                "must come from the same model and layers."
            )
        if not np.isfinite(clip).all():
            raise ValueError(f"clip {i} of X holds NaN or infinite values.")
        clips.append(clip)
    lengths = np.array([c.shape[0] for c in clips], dtype=np.int64)
    return clips, lengths, int(expected)


def check_side(side, n_samples, n_side_features=None):
    """Check the clip-level ``side`` features; return them as float64, or None when there are none.

    Parameters
    ----------
    side : array-like of shape (n_samples, k) or None
        Features concatenated to the pooled vector before the output layer.
        ``k = 0`` columns is the same as None.
    n_samples : int
        Rows ``side`` must have (one per clip of ``X``).
    n_side_features : int, optional
        The width the fitted head expects (0: no side); None in ``fit``.

    Returns
    -------
    ndarray of shape (n_samples, k) or None

    Raises
    ------
    ValueError
        For a row count other than ``n_samples``, NaN or infinity, or a
        width other than ``n_side_features``.
    """
    if side is not None:
        side = check_array(side, dtype=np.float64, ensure_min_features=0, input_name="side")
        if side.shape[0] != n_samples:
            raise ValueError(f"side has {side.shape[0]} rows but X holds {n_samples} clips; one row per clip.")
    k = 0 if side is None else side.shape[1]
    if n_side_features is not None and k != n_side_features:
        if n_side_features == 0:
            raise ValueError(f"side has {k} columns, but the head was fitted without side features; pass side=None.")
        raise ValueError(
            f"side has {k} columns, but the head was fitted with {n_side_features} side features: pass the same "
            "columns as in fit."
        )
    return side if k else None


def validation_split(y_index, n_classes, fraction, generator):
    """Split sample indices into a training and a validation part, stratified by class.

    For each class ``c`` in order, its samples are permuted by
    ``torch.randperm(n_c, generator=generator)`` and the first
    ``min(n_c - 1, floor(fraction * n_c + 0.5))`` go to validation; nothing
    is drawn when ``fraction == 0``.

    Parameters
    ----------
    y_index : ndarray of int
        Class index of each sample.
    n_classes : int
        Number of classes.
    fraction : float
        ``validation_fraction``, in ``[0, 1)``.
    generator : torch.Generator
        The head's generator.

    Returns
    -------
    train, valid : ndarray of int
        Sorted sample indices.
    """
    import torch

    n = len(y_index)
    if fraction == 0:
        return np.arange(n), np.arange(0)
    train, valid = [], []
    for c in range(n_classes):
        members = np.flatnonzero(y_index == c)
        n_valid = min(len(members) - 1, int(np.floor(fraction * len(members) + 0.5)))
        order = torch.randperm(len(members), generator=generator).numpy()
        valid.append(members[order[:n_valid]])
        train.append(members[order[n_valid:]])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))


def unweighted_accuracy(y_true, y_pred):
    """Mean per-class recall over the classes present in ``y_true`` (UA, balanced accuracy).

    Parameters
    ----------
    y_true, y_pred : ndarray
        True and predicted class indices.

    Returns
    -------
    float
    """
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


# --------------------------------------------------------------------------------------------- tensors


def init_linear(n_out, n_in, generator):
    """A linear layer's ``(weight, bias)``, drawn like PyTorch's ``nn.Linear`` but from ``generator``.

    Both from ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` (the distribution of
    ``nn.Linear.reset_parameters``), weight first, on the CPU in float32.

    Parameters
    ----------
    n_out, n_in : int
        Output and input widths.
    generator : torch.Generator

    Returns
    -------
    weight : torch.Tensor of shape (n_out, n_in)
    bias : torch.Tensor of shape (n_out,)
    """
    import torch

    bound = 1.0 / np.sqrt(n_in)
    weight = torch.empty(n_out, n_in).uniform_(-bound, bound, generator=generator)
    bias = torch.empty(n_out).uniform_(-bound, bound, generator=generator)
    return weight, bias


def padded_batch(clips, lengths, indices, device):
    """Clips ``indices`` as one zero-padded float32 batch, with their lengths and frame mask.

    Each clip is cast to float32 here (float16 input stays float16 until its
    batch is built).

    Parameters
    ----------
    clips : list of ndarray of shape (n_frames_i, n_features)
    lengths : ndarray of int
        Frames per clip.
    indices : ndarray of int
        The clips of the batch.
    device : str

    Returns
    -------
    x : torch.Tensor of shape (batch, max_frames, n_features)
        Frames beyond a clip's length are 0.
    n_frames : torch.Tensor of shape (batch,)
        Lengths, float32.
    mask : torch.Tensor of shape (batch, max_frames)
        1.0 on a clip's frames, 0.0 on its padding.
    """
    import torch

    n_frames = lengths[indices]
    buffer = np.zeros((len(indices), int(n_frames.max()), clips[indices[0]].shape[1]), dtype=np.float32)
    for row, i in enumerate(indices):
        buffer[row, : n_frames[row]] = clips[i]
    x = torch.from_numpy(buffer).to(device)
    counts = torch.as_tensor(n_frames, device=device)
    mask = (torch.arange(buffer.shape[1], device=device)[None, :] < counts[:, None]).to(torch.float32)
    return x, counts.to(torch.float32), mask


def to_tensors(arrays, device):
    """Float32 tensors on ``device`` from named numpy arrays (a fitted head's weights).

    Parameters
    ----------
    arrays : dict of str to ndarray
    device : str

    Returns
    -------
    dict of str to torch.Tensor
    """
    import torch

    return {name: torch.tensor(np.asarray(value, dtype=np.float32), device=device) for name, value in arrays.items()}


def _to_arrays(tensors):
    return {name: value.detach().cpu().numpy().copy() for name, value in tensors.items()}


def _progress(epochs, enabled, desc):
    from tqdm.auto import tqdm

    return tqdm(range(epochs), desc=desc, unit="epoch", disable=not enabled, leave=False)


# ------------------------------------------------------------------------------------------------ base


class TorchHead(ClassifierMixin, BaseEstimator):
    """Base of the torch heads: fit, the prediction methods, ``side`` and the training loop.

    A subclass defines ``_read(X, fitted)`` (the input as the subclass's
    data, its sample count), ``_init_parameters(n_classes, n_side,
    generator)`` (named CPU tensors, drawn in order), ``_forward(parameters,
    data, side, indices)`` (logits of the samples ``indices``, on the
    parameters' device), ``_store(arrays)`` (fitted attributes from the
    trained arrays) and ``_logits(data, side)`` (float64 logits of a fitted
    head). Both heads are ``ClassifierMixin, BaseEstimator`` through it.
    """

    #: ``LateFusionClassifier`` reads it: the head takes clip-level ``side`` features.
    accepts_side = True

    _parameter_constraints: ClassVar[dict] = dict(TRAINING_CONSTRAINTS)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, side=None):
        """Train the head on ``X``, ``y`` (and ``side``).

        Parameters
        ----------
        X : see the class
            Training input.
        y : array-like of shape (n_samples,)
            Class labels.
        side : array-like of shape (n_samples, k), optional
            Clip-level features concatenated to the pooled vector before the
            output layer (e.g. zero-shot scores); the same ``k`` columns must
            then be passed to every prediction method.

        Returns
        -------
        self
            The fitted head.
        """
        import torch

        data, n_samples, y = self._read_fit(X, y)
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"X holds {n_samples} samples but y holds {len(y)} labels; one label per sample.")
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        y_index = np.asarray(y_index).reshape(-1)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y, but y contains only one "
                f"class: {self.classes_[0]!r}."
            )
        side = check_side(side, n_samples)
        n_side = 0 if side is None else side.shape[1]
        device = resolve_device(self.device)
        generator = torch.Generator().manual_seed(int(self.random_state))
        train, valid = validation_split(y_index, len(self.classes_), self.validation_fraction, generator)
        if self.validation_fraction > 0 and len(valid) == 0:
            warnings.warn(
                f"validation_fraction={self.validation_fraction} leaves no validation sample with these "
                f"{n_samples} samples (at least one per class stays in training): the last epoch is kept.",
                UserWarning,
                stacklevel=3,
            )
        initial = self._init_parameters(len(self.classes_), n_side, generator)  # on the CPU: the same on any device
        parameters = {name: value.to(device).requires_grad_() for name, value in initial.items()}
        side_t = None if side is None else torch.tensor(side, dtype=torch.float32, device=device)
        data = self._to_device(data, device)
        best, scores, best_epoch, losses = self._train(
            parameters, data, side_t, y_index, train, valid, generator, device
        )
        self._store(best)
        self.n_side_features_ = n_side
        self.validation_scores_ = scores
        self.best_epoch_ = best_epoch
        self.loss_curve_ = losses
        return self

    def _train(self, parameters, data, side, y_index, train, valid, generator, device):
        """The training loop; returns the kept weights (numpy), the validation scores, the kept epoch, the losses."""
        import torch
        import torch.nn.functional as F

        optimizer = torch.optim.Adam(list(parameters.values()), lr=self.learning_rate)
        target = torch.as_tensor(y_index, dtype=torch.long, device=device)
        scores, losses, best, best_score, best_epoch = [], [], None, -np.inf, 0
        bar = _progress(self.epochs, self.progress, type(self).__name__)
        for epoch in bar:
            order = train[torch.randperm(len(train), generator=generator).numpy()]
            total = torch.zeros((), device=device)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                loss = F.cross_entropy(self._forward(parameters, data, side, batch), target[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(batch)
            losses.append(float(total) / len(order))
            if len(valid):
                with torch.no_grad():
                    chunks = [valid[s : s + self.batch_size] for s in range(0, len(valid), self.batch_size)]
                    predicted = np.concatenate(
                        [self._forward(parameters, data, side, chunk).argmax(1).cpu().numpy() for chunk in chunks]
                    )
                score = unweighted_accuracy(y_index[valid], predicted)
                scores.append(score)
                bar.set_postfix(val_ua=f"{score:.3f}")
                if score > best_score:  # strictly: the earliest epoch wins a tie
                    best, best_score, best_epoch = _to_arrays(parameters), score, epoch + 1
        if not len(valid):
            return _to_arrays(parameters), None, self.epochs, np.asarray(losses)
        return best, np.asarray(scores), best_epoch, np.asarray(losses)

    def _read_fit(self, X, y):
        """``(data, n_samples, y)`` of the training input; subclasses that validate X with y override it."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        data, n_samples = self._read(X, fitted=False)
        return data, n_samples, y

    def _to_device(self, data, device):
        return data

    # ------------------------------------------------------------------ predict
    def _answer(self, X, side):
        check_is_fitted(self)
        data, n_samples = self._read(X, fitted=True)
        return self._logits(data, check_side(side, n_samples, self.n_side_features_))

    def decision_function(self, X, side=None):
        """The output layer's logits.

        Parameters
        ----------
        X : see the class
            Input, as in ``fit``.
        side : array-like of shape (n_samples, k), optional
            The side features, with the columns of ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes) or (n_samples,)
            Logits, columns in ``classes_`` order; with two classes, as in
            scikit-learn, one score per sample: ``logit[1] - logit[0]``.
        """
        logits = self._answer(X, side)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_log_proba(self, X, side=None):
        """Log-probabilities: ``log_softmax`` of the logits.

        Parameters
        ----------
        X : see the class
            Input, as in ``fit``.
        side : array-like of shape (n_samples, k), optional
            The side features, with the columns of ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return log_softmax(self._answer(X, side))

    def predict_proba(self, X, side=None):
        """Class probabilities: ``softmax`` of the logits.

        Parameters
        ----------
        X : see the class
            Input, as in ``fit``.
        side : array-like of shape (n_samples, k), optional
            The side features, with the columns of ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in ``classes_`` order.
        """
        return softmax(self._answer(X, side))

    def predict(self, X, side=None):
        """The most probable class of each sample.

        Parameters
        ----------
        X : see the class
            Input, as in ``fit``.
        side : array-like of shape (n_samples, k), optional
            The side features, with the columns of ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._answer(X, side)  # first: it checks that the head is fitted
        return self.classes_[np.argmax(logits, axis=1)]

    def check_settings(self):
        """Check every parameter without fitting (and that ``device`` exists here).

        Raises
        ------
        ValueError
            For a value outside its constraint, or a device this machine lacks.
        """
        self._validate_params()
        resolve_device(self.device)

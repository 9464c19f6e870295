"""``EmoBoxHead``: EmoBox's frame-level downstream model as a scikit-learn classifier."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np

from .._params import NumberNotBool
from ..models import resolve_device
from ._torch_head import TorchHead, as_clips, init_linear, padded_batch, to_tensors, training_doc

__all__ = ["EmoBoxHead"]


@training_doc
class EmoBoxHead(TorchHead):
    """EmoBox's downstream model on frame-level features: LayerNorm, Linear, ReLU, mean over frames, Linear.

    The recipe of the EmoBox benchmark (Ma et al., Interspeech 2024;
    ``examples/sb`` of https://github.com/emo-box/EmoBox), for one clip's
    frames ``x`` of shape ``(T, D)`` (the last layer of a speech foundation
    model):

    1. ``x = F.layer_norm(x, (T, D))``: the whole clip normalised at once --
       mean and variance over all its ``T * D`` values, ``eps=1e-5``, no
       affine -- as EmoBox's ``speech_feature_extraction.py --output_norm``
       does (``F.layer_norm(out, out.shape[1:])`` on a batch of one clip);
    2. ``h = relu(x @ W1.T + b1)``, frame by frame (``pre_net``, width
       ``hidden_size``);
    3. the mean of ``h`` over the clip's frames (padding is masked out: a
       clip's output never depends on the other clips of its batch);
    4. ``logits = [mean, side] @ W2.T + b2`` (``post_net``), where ``side``
       is optional clip-level features (see ``fit``).

    Trained with Adam (``learning_rate``), cross-entropy, batches of
    ``batch_size`` clips padded to their longest, for ``epochs`` epochs; the
    epoch with the best unweighted accuracy on a held-out validation part is
    kept (``validation_fraction``). EmoBox's README runs the recipe with
    ``--hidden_size 128 --number_of_epochs 100`` (its yaml's own values are 256
    and 20; the command line wins), so those are the defaults here. Two
    differences from EmoBox: the learning rate is constant (EmoBox's yaml also
    declares speechbrain's ``LinearWarmupScheduler``, stepped once per epoch),
    and padding is given by each clip's length (EmoBox treats a frame whose
    values sum to exactly 0 as padding).

    Parameters
    ----------
    hidden_size : int, default=128
        Width of the frame-wise hidden layer (EmoBox's README: 128).
    %(training_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        ``D``, the width of a frame.
    n_side_features_ : int
        Columns of ``side`` in ``fit`` (0: none).
    weights_ : dict of str to ndarray
        The kept float32 weights, under the names of EmoBox's
        ``SuperbBaseModel`` state dict: ``"pre_net.weight"`` ``(hidden_size,
        D)``, ``"pre_net.bias"``, ``"post_net.weight"`` ``(n_classes,
        hidden_size + n_side_features_)``, ``"post_net.bias"``.
    validation_scores_ : ndarray of shape (epochs,) or None
        Unweighted accuracy on the validation part after each epoch (None
        with ``validation_fraction=0``).
    best_epoch_ : int
        The kept epoch, counted from 1: ``argmax(validation_scores_) + 1``
        (the earliest of equal scores), or ``epochs`` without validation.
    loss_curve_ : ndarray of shape (epochs,)
        Mean training cross-entropy of each epoch.

    Notes
    -----
    ``X`` is a sequence of clips, each a ``(n_frames_i, D)`` array: a list or
    tuple, a 1-D object array, a ``(n, 1)`` object array or a one-column
    DataFrame of them (the output of ``FMEmbeddingTransformer(pooling="none")``),
    or a 3-D array ``(n, T, D)`` of equal-length clips. float16 clips are
    cast to float32 one batch at a time. A fitted head holds numpy arrays
    only; the torch tensors are rebuilt from ``weights_`` when it predicts.

    Examples
    --------
    >>> import numpy as np
    >>> from zsfuse.fusion import EmoBoxHead
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["calm", "tense"], 20)
    >>> X = [rng.normal(size=(int(rng.integers(5, 15)), 8)) * (1 + (label == "tense")) for label in y]
    >>> head = EmoBoxHead(hidden_size=16, epochs=3, device="cpu").fit(X, y)
    >>> head.predict_proba(X[:2]).shape, head.best_epoch_ <= 3
    ((2, 2), True)
    """

    # saved files (skops, pickle) name the class zsfuse.fusion.EmoBoxHead, where it is exported
    __module__ = "zsfuse.fusion"
    #: ``LateFusionClassifier`` hands it a frame-level FM block (``FMEmbeddingTransformer(pooling="none")``).
    accepts_frames = True

    _parameter_constraints: ClassVar[dict] = {
        "hidden_size": [NumberNotBool(Integral, 1, None, closed="left")],
        **TorchHead._parameter_constraints,
    }

    def __init__(
        self,
        hidden_size=128,
        epochs=100,
        learning_rate=1e-4,
        batch_size=32,
        validation_fraction=0.2,
        device="auto",
        random_state=0,
        progress=False,
    ):
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ TorchHead
    def _read(self, X, fitted):
        clips, lengths, width = as_clips(X, n_features=self.n_features_in_ if fitted else None)
        if not fitted:
            self.n_features_in_ = width
        return (clips, lengths), len(clips)

    def _init_parameters(self, n_classes, n_side, generator):
        w1, b1 = init_linear(self.hidden_size, self.n_features_in_, generator)
        w2, b2 = init_linear(n_classes, self.hidden_size + n_side, generator)
        return {"pre_net.weight": w1, "pre_net.bias": b1, "post_net.weight": w2, "post_net.bias": b2}

    @staticmethod
    def _forward(parameters, data, side, indices):
        import torch
        import torch.nn.functional as F

        clips, lengths = data
        device = parameters["pre_net.weight"].device
        x, n_frames, mask = padded_batch(clips, lengths, indices, device)
        for row, n in enumerate(lengths[indices]):  # each clip normalised over its own (T, D), as EmoBox does
            x[row, :n] = F.layer_norm(x[row, :n], (int(n), x.shape[2]))
        h = F.relu(F.linear(x, parameters["pre_net.weight"], parameters["pre_net.bias"]))
        pooled = (h * mask[:, :, None]).sum(dim=1) / n_frames[:, None]
        if side is not None:
            pooled = torch.cat([pooled, side[torch.as_tensor(indices, device=side.device)]], dim=1)
        return F.linear(pooled, parameters["post_net.weight"], parameters["post_net.bias"])

    def _store(self, arrays):
        self.weights_ = arrays

    def _logits(self, data, side):
        import torch

        device = resolve_device(self.device)
        parameters = to_tensors(self.weights_, device)
        side_t = None if side is None else torch.tensor(side, dtype=torch.float32, device=device)
        clips, lengths = data
        order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
        logits = np.empty((len(clips), len(self.classes_)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                logits[batch] = self._forward(parameters, data, side_t, batch).cpu().numpy()
        return logits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a sequence of (frames, features) clips
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

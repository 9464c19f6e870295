"""Layer selection and time pooling: frame statistics in, one vector out.

A forward pass reduces the frames of every piece (clip or chunk) to
:class:`FrameStats` -- frame count, mean and (for ``pooling="mean+std"``) the
sum of squared deviations, per output slot. Chunks of one clip are merged
exactly (Chan et al.'s parallel update, in float64), so a clip's statistics are
those of all its frames, whatever the chunking of the arithmetic.

``pooling="none"`` pools nothing: every piece returns its own frames (float16,
:data:`FRAME_DTYPE`) and :func:`merge_frames` puts a clip's chunks back in order.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

LAYER_REDUCES = ("mean", "concat")
POOLINGS = ("mean", "mean+std", "none")
#: ``pooling="none"``: the dtype frames are kept in (output and embedding store).
FRAME_DTYPE = np.dtype(np.float16)


def resolve_layers(layers, n_layers: int) -> tuple[int, ...]:
    """Turn the ``layers`` parameter into hidden-state indices in ``0..n_layers``.

    Parameters
    ----------
    layers : "last", "all", int or sequence of int
        ``0`` is the transformer's input (the convolutional/embedding output),
        ``i`` the output of transformer layer ``i``, ``n_layers`` ("last") the
        model's final output. Negative indices count from the end (-1 = last).
    n_layers : int
        Number of transformer layers of the model.

    Returns
    -------
    tuple of int
        Distinct indices, in the order given.

    Raises
    ------
    ValueError
        For an unknown string, a non-integer, a duplicate or an index out of
        range (the message names the valid range).
    """
    valid = (
        f"this model has {n_layers} transformer layers: valid indices are 0..{n_layers} "
        f"(0 = convolutional/embedding output, {n_layers} = last) or -{n_layers + 1}..-1"
    )
    if isinstance(layers, str):
        if layers == "last":
            return (n_layers,)
        if layers == "all":
            return tuple(range(n_layers + 1))
        raise ValueError(f"layers must be 'last', 'all', an int or a tuple of ints, got {layers!r}.")
    items = (layers,) if _is_int(layers) else layers
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(f"layers must be 'last', 'all', an int or a tuple of ints, got {layers!r}.") from None
    if not items:
        raise ValueError("layers is empty; pass 'last', 'all', an int or a non-empty tuple of ints.")
    out = []
    for item in items:
        if not _is_int(item):
            raise ValueError(f"layers must hold integers, got {item!r} in {layers!r}.")
        index = int(item)
        if not -(n_layers + 1) <= index <= n_layers:
            raise ValueError(f"layer {index} is out of range: {valid}.")
        index %= n_layers + 1
        if index in out:
            raise ValueError(f"layer {index} is selected twice in layers={layers!r}.")
        out.append(index)
    return tuple(out)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def output_dim(hidden_size: int, n_selected: int, layer_reduce: str, pooling: str) -> int:
    """Width of the output vector (``pooling="none"``: of one frame)."""
    slots = n_selected if layer_reduce == "concat" else 1
    return hidden_size * slots * (2 if pooling == "mean+std" else 1)


@dataclass
class FrameStats:
    """Pooled statistics of the frames of one piece.

    Attributes
    ----------
    n : int
        Number of frames.
    mean : ndarray of float64, shape (n_slots, hidden_size)
        Mean over frames of each slot (a layer, or the mean of the layers).
    m2 : ndarray of float64 or None
        Sum over frames of squared deviations from ``mean`` (None when only
        the mean is needed).
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray | None = None

    def merge(self, other: FrameStats) -> FrameStats:
        """Statistics of the union of both frame sets (exact, float64)."""
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = None
        if self.m2 is not None and other.m2 is not None:
            m2 = self.m2 + other.m2 + delta * delta * (self.n * other.n / n)
        return FrameStats(n, mean, m2)


def merge_all(parts) -> FrameStats:
    """Merge the statistics of a clip's chunks, in order."""
    parts = list(parts)
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    return total


def to_vector(stats: FrameStats, pooling: str) -> np.ndarray:
    """The output vector: per slot, the mean (and the population std), concatenated.

    Layout: ``[slot_0 mean, (slot_0 std), slot_1 mean, (slot_1 std), ...]``.
    """
    blocks = []
    for s in range(stats.mean.shape[0]):
        blocks.append(stats.mean[s])
        if pooling == "mean+std":
            blocks.append(np.sqrt(np.maximum(stats.m2[s] / stats.n, 0.0)))
    return np.concatenate(blocks).astype(np.float32)


def merge_frames(parts) -> np.ndarray:
    """The frames of a clip's chunks, in order, as one ``(n_frames, width)`` array of :data:`FRAME_DTYPE`.

    Read-only, like the arrays the embedding store hands out (a clip found there is shared with it).
    """
    parts = list(parts)
    frames = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    frames = np.ascontiguousarray(frames, dtype=FRAME_DTYPE)
    frames.setflags(write=False)
    return frames

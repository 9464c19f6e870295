"""Sample-format and channel conversion of in-memory waveforms."""

from __future__ import annotations

import numpy as np

#: Largest channel count accepted on the short axis of a 2-D clip.
MAX_CHANNELS = 16


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Convert samples to float32, scaling integer PCM to [-1, 1].

    Signed integers are divided by ``2 ** (bits - 1)`` (int16: 32768), unsigned
    ones are centred first (uint8: ``(x - 128) / 128``), as WAV readers do.
    Floating-point samples are cast without scaling.

    Parameters
    ----------
    samples : ndarray
        Samples of any real numeric dtype.

    Returns
    -------
    ndarray of float32
        The converted samples (a new array unless the input already is float32).

    Raises
    ------
    TypeError
        If the dtype is not a real number type.
    """
    samples = np.asarray(samples)
    kind = samples.dtype.kind
    if kind == "f":
        return samples.astype(np.float32, copy=False)
    if kind == "i":
        scale = float(2 ** (8 * samples.dtype.itemsize - 1))
        return (samples.astype(np.float64) / scale).astype(np.float32)
    if kind == "u":
        half = float(2 ** (8 * samples.dtype.itemsize - 1))
        return ((samples.astype(np.float64) - half) / half).astype(np.float32)
    raise TypeError(f"samples of dtype {samples.dtype} are not audio; expected float or integer PCM")


def channel_axis(shape: tuple[int, ...]) -> int | None:
    """Return the channel axis of a 2-D clip, or None when it is ambiguous.

    A 2-D clip is ``(samples, channels)`` as soundfile returns it, or
    ``(channels, samples)`` as torchaudio and librosa return it. The channel axis
    is the short one, and it must hold at most :data:`MAX_CHANNELS` channels.

    Parameters
    ----------
    shape : tuple of int
        Shape of a 2-D array.

    Returns
    -------
    int or None
        1 for ``(samples, channels)``, 0 for ``(channels, samples)``, None when
        neither axis can be the channel axis.
    """
    rows, cols = shape
    if cols <= MAX_CHANNELS and cols <= rows:
        return 1
    if rows <= MAX_CHANNELS and rows < cols:
        return 0
    return None


def to_mono(samples: np.ndarray, axis: int) -> np.ndarray:
    """Average the channels of a multichannel clip.

    Channels are averaged, not concatenated: a stereo clip keeps its duration.

    Parameters
    ----------
    samples : ndarray of float32, shape (n_samples, n_channels) or (n_channels, n_samples)
        The clip.
    axis : int
        Its channel axis.

    Returns
    -------
    ndarray of float32, shape (n_samples,)
        The mono clip.
    """
    if samples.shape[axis] == 1:
        return np.ascontiguousarray(np.take(samples, 0, axis=axis))
    return samples.mean(axis=axis, dtype=np.float64).astype(np.float32)

"""Prompt amplification and fixed-length windowing of waveforms.

Both are deterministic: no random crop anywhere.
"""

from __future__ import annotations

import numpy as np

#: How a clip shorter than the window is filled.
PAD_MODES = ("repeat", "repeatpad", "zero")
#: Only for variable-length encoders: a short clip is taken as it is.
NO_PADDING = "none"
#: How a clip longer than the window is handled.
LONG_AUDIO_MODES = ("center", "start", "windows")


def repeat(wave: np.ndarray, k: int) -> np.ndarray:
    """Tile a clip ``k`` times end to end (audio prompt amplification).

    Parameters
    ----------
    wave : ndarray, shape (n_samples,)
        The clip.
    k : int
        Number of copies, at least 1.

    Returns
    -------
    ndarray, shape (k * n_samples,)
        ``wave`` followed by itself ``k - 1`` more times.
    """
    k = _positive_int(k, "k")
    if k == 1:
        return wave
    return np.tile(wave, k)


def pad(wave: np.ndarray, length: int, pad_mode: str) -> np.ndarray:
    """Fill a clip shorter than ``length`` up to exactly ``length`` samples.

    Parameters
    ----------
    wave : ndarray, shape (n_samples,)
        The clip, with ``0 < n_samples <= length``.
    length : int
        Target length in samples.
    pad_mode : {"repeat", "repeatpad", "zero"}
        ``"repeat"`` loops the clip and cuts the last copy (MS-CLAP's loop-to-fill);
        ``"repeatpad"`` tiles whole copies only, then appends zeros (the
        ``"repeatpad"`` of LAION-CLAP's feature extractor); ``"zero"`` appends zeros.

    Returns
    -------
    ndarray, shape (length,)
        The filled clip; the first ``n_samples`` samples are ``wave`` itself.
    """
    n = wave.shape[0]
    if n >= length:
        return wave[:length]
    if pad_mode == "repeat":
        return np.tile(wave, -(-length // n))[:length]
    if pad_mode == "repeatpad":
        wave = np.tile(wave, length // n)
    elif pad_mode != "zero":
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    out = np.zeros(length, dtype=wave.dtype)
    out[: wave.shape[0]] = wave
    return out


def window(wave: np.ndarray, length: int, pad_mode: str = "repeat", long_audio: str = "center") -> np.ndarray:
    """Cut or fill a clip into fixed-length windows for an encoder.

    * shorter than ``length``: one window, filled by ``pad_mode`` (see :func:`pad`);
    * exactly ``length``: the clip itself;
    * longer: ``long_audio="center"`` keeps the middle ``length`` samples (start
      ``(n - length) // 2``), ``"start"`` the first ``length`` samples, and
      ``"windows"`` returns ``ceil(n / length)`` consecutive windows starting at
      ``0, length, 2 * length, ...``, the last one aligned to the end of the clip
      (it overlaps its neighbour instead of being padded), for averaging.

    Parameters
    ----------
    wave : ndarray, shape (n_samples,)
        The clip (after :func:`repeat`), at least one sample.
    length : int
        Window length in samples.
    pad_mode : {"repeat", "repeatpad", "zero", "none"}, default="repeat"
        Filling of a short clip; ``"none"`` (for a variable-length encoder,
        where ``length`` is its longest input) leaves it as it is.
    long_audio : {"center", "start", "windows"}, default="center"
        Handling of a long clip.

    Returns
    -------
    ndarray, shape (n_windows, length)
        One row per window; ``n_windows`` is 1 unless ``long_audio="windows"``.
        With ``pad_mode="none"``, a short clip gives shape ``(1, n_samples)``.
    """
    length = _positive_int(length, "length")
    if pad_mode not in PAD_MODES and pad_mode != NO_PADDING:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    if long_audio not in LONG_AUDIO_MODES:
        raise ValueError(f"long_audio must be one of {LONG_AUDIO_MODES}, got {long_audio!r}")
    n = wave.shape[0]
    if n == 0:
        raise ValueError("cannot window an empty clip")
    if n <= length:
        return (wave if pad_mode == NO_PADDING else pad(wave, length, pad_mode))[np.newaxis]
    if long_audio == "start":
        return wave[np.newaxis, :length]
    if long_audio == "center":
        start = (n - length) // 2
        return wave[np.newaxis, start : start + length]
    starts = list(range(0, n - length, length)) + [n - length]
    return np.stack([wave[s : s + length] for s in starts])


def n_windows(n_samples: int, length: int, long_audio: str) -> int:
    """Return how many windows :func:`window` cuts from a clip of ``n_samples``."""
    if long_audio != "windows" or n_samples <= length:
        return 1
    return -(-n_samples // length)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def window_digest(windows: np.ndarray) -> str:
    """Content digest of what an encoder sees: a stack of windows (shape, dtype and samples).

    Two settings that give the same windows -- e.g. a short clip tiled ``k``
    times, then looped to fill the window -- give the same digest, so their
    embedding is computed once.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, length)
        What :func:`window` returned.

    Returns
    -------
    str
        32 hexadecimal characters.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.sin(np.arange(1000, dtype=np.float32))
    >>> window(repeat(clip, 2), 8000, "repeat").shape
    (1, 8000)
    >>> window_digest(window(clip, 8000, "repeat")) == window_digest(window(repeat(clip, 2), 8000, "repeat"))
    True
    """
    import hashlib

    windows = np.ascontiguousarray(windows)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{windows.dtype.str}{windows.shape}".encode())
    h.update(windows.tobytes())
    return h.hexdigest()

"""``X`` as a lazily decoded sequence of clips.

:class:`Clips` validates the structure of ``X`` up front (cheap checks: types,
shapes, sampling rate, files that do not exist, non-finite samples in arrays
already in memory) and decodes files only when a clip is asked for, so a list
of 100k paths is never held decoded in memory.
"""

from __future__ import annotations

import hashlib
import numbers
import os
import threading
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ..exceptions import ClipError, ClipNotFoundError, ClipWarning, describe_clip
from ._convert import MAX_CHANNELS, channel_axis, to_float32, to_mono
from ._decode import decode_file, file_info
from ._encoded import EncodedClip
from ._resample import resample
from ._segment import Segment, clip_name

#: Float samples beyond this magnitude get a :class:`~zsfuse.exceptions.ClipWarning`
#: (+12 dB over full scale: not resampling overshoot, but audio in the wrong unit).
FLOAT_PEAK_LIMIT = 4.0

_SHAPE_HINT = "A clip is 1-D (samples) or 2-D (samples, channels) / (channels, samples)."


def content_digest(wave: np.ndarray, rate: int) -> str:
    """Hash a decoded mono clip and its sampling rate.

    Two clips get the same digest exactly when they hold the same float32
    samples at the same rate, whether they came from a file or an array.

    Parameters
    ----------
    wave : ndarray of float32, shape (n_samples,)
        The decoded mono clip.
    rate : int
        Its sampling rate in Hz.

    Returns
    -------
    str
        32 hexadecimal characters (the first 128 bits of SHA-256).
    """
    # SHA-256 runs on the CPU's SHA extensions (about twice BLAKE2b's speed on
    # x86-64 and ARM), and hashing the buffer in place avoids a copy: a cached
    # pass over in-memory clips is bound by this function.
    h = hashlib.sha256(f"{int(rate)}:".encode())
    h.update(memoryview(np.ascontiguousarray(wave, dtype=np.float32)).cast("B"))
    return h.hexdigest()[:32]


class Clip:
    """One decoded clip: mono float32 samples at their own rate.

    Attributes
    ----------
    index : int
        Position in ``X``.
    path : str or None
        The file it was read from, if any; for a :class:`~zsfuse.audio.Segment`,
        its name ``'file [start-end s, channel c]'`` (``str(segment)``).
    wave : ndarray of float32, shape (n_samples,)
        Mono samples in [-1, 1] for PCM sources.
    rate : int
        Sampling rate of ``wave`` in Hz.
    """

    __slots__ = ("index", "path", "wave", "rate", "_digest")

    def __init__(self, index, path, wave, rate):
        self.index = index
        self.path = path
        self.wave = wave
        self.rate = rate
        self._digest = None

    @property
    def digest(self) -> str:
        """Content hash of the clip, see :func:`content_digest`."""
        if self._digest is None:
            self._digest = content_digest(self.wave, self.rate)
        return self._digest

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.wave.shape[0] / self.rate

    def at_rate(self, rate: int) -> np.ndarray:
        """Return the samples resampled (band-limited) to ``rate`` Hz."""
        return resample(self.wave, self.rate, rate)

    def __repr__(self):
        where = f", path={self.path!r}" if self.path else ""
        return f"Clip(index={self.index}{where}, seconds={self.seconds:.3f}, rate={self.rate})"


class _FileMemo:
    """Digest of files (and segments) already decoded, keyed by file identity, size and mtime.

    It lets a second pass over the same files find their cached embeddings
    without decoding them again. A segment's key adds its start, end and
    channel, so two segments of one file (or a segment and its whole file)
    never share an entry. Bounded; shared by the whole process.
    """

    def __init__(self, max_entries=500_000):
        self.max_entries = max_entries
        self._data = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(item):
        # (device, inode) names the file whatever path reaches it, at the cost
        # of one stat call (realpath would cost one per path component)
        if isinstance(item, Segment):
            st = os.stat(item.path)
            return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, item.start, item.end, item.channel)
        st = os.stat(item)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def get(self, path):
        try:
            key = self._key(path)
        except OSError:
            return None
        return self._data.get(key)

    def put(self, path, digest):
        try:
            key = self._key(path)
        except OSError:
            return
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = digest


_FILE_DIGESTS = _FileMemo()


class Clips(Sequence):
    """A validated, lazily decoded view of ``X``.

    Parameters
    ----------
    X : sequence of clips
        File paths (str or path-like), :class:`~zsfuse.audio.Segment` s (a
        part of a file: path, start, end, channel), 1-D arrays of samples, 2-D
        ``(samples, channels)`` or ``(channels, samples)`` arrays, or mappings
        ``{"array": ..., "sampling_rate": ...}`` / ``{"path": ...}`` (the Hugging
        Face ``datasets`` audio format) -- as a list, tuple, 1-D object array or
        pandas Series; or a 2-D numeric array whose rows are equal-length clips.
    sampling_rate : float, optional
        Rate in Hz of the arrays in ``X``. Required when ``X`` holds arrays
        without their own rate; ignored for files, which carry theirs.
    min_seconds : float, default=0.0
        Shortest acceptable clip, in seconds; a shorter clip raises
        :class:`~zsfuse.exceptions.ClipError` when it is decoded.
    min_reason : str, optional
        Why the minimum exists (e.g. the model's receptive field), for the message.

    Raises
    ------
    ValueError
        If ``X`` is not a sequence of clips (a single path, a single waveform,
        a 3-D array) or ``sampling_rate`` is not a positive number.
    ClipError
        If one clip is malformed (wrong type or shape, empty, NaN or Inf samples,
        a file that does not exist); the message names its index and path.
    """

    def __init__(self, X, sampling_rate=None, *, min_seconds=0.0, min_reason=None):
        self.sampling_rate = _check_rate(sampling_rate, "sampling_rate")
        self.min_seconds = float(min_seconds)
        self.min_reason = min_reason
        self._items = [self._check_item(i, item) for i, item in enumerate(_as_sequence(X))]
        self._encoded = {i: item for i, item in enumerate(self._items) if isinstance(item, EncodedClip)}

    # -- structure -------------------------------------------------------------------------
    def _check_item(self, i, item):
        """Return ``path`` (str), a :class:`Segment`, ``(samples, rate)`` or an :class:`EncodedClip` for clip ``i``.

        An :class:`EncodedClip` is kept as it is: its source is checked only
        when it must be decoded (for a namespace it does not carry), so that a
        worker without the audio files scores it.
        """
        if isinstance(item, EncodedClip):
            return item
        if isinstance(item, Segment):
            if not os.path.exists(item.path):
                raise ClipNotFoundError(
                    i, clip_name(item), "no such file.", "Check the path, or the folder it is relative to."
                )
            if os.path.isdir(item.path):
                raise ClipError(i, clip_name(item), "is a folder, not an audio file.", "Segment an audio file.")
            return item
        if isinstance(item, (str, os.PathLike)):
            path = os.fspath(item)
            if not os.path.exists(path):
                raise ClipNotFoundError(i, path, "no such file.", "Check the path, or the folder it is relative to.")
            if os.path.isdir(path):
                raise ClipError(i, path, "is a folder, not an audio file.", "Pass the audio files it holds.")
            return path
        if isinstance(item, Mapping):
            if item.get("array") is not None:
                rate = _check_rate(item.get("sampling_rate"), "sampling_rate", index=i)
                if rate is None:
                    raise ClipError(i, item.get("path"), "has an 'array' but no 'sampling_rate'.")
                return (self._check_array(i, item["array"], item.get("path")), rate)
            if item.get("path") is not None:
                return self._check_item(i, item["path"])
            raise ClipError(i, None, "is a mapping without 'array' or 'path'.")
        if isinstance(item, (bytes, bytearray)):
            raise ClipError(i, None, "is raw bytes.", "Write it to a file or decode it to an array first.")
        samples = self._check_array(i, item, None)
        if self.sampling_rate is None:
            raise ClipError(
                i,
                None,
                "is an array of samples, but no sampling_rate was given, so its rate is unknown.",
                "Pass the rate of the arrays once, e.g. sampling_rate=16000 (make_zsfuse_pipeline("
                "..., sampling_rate=16000) gives it to every step), or pass file paths, which carry "
                "their own rate. zsfuse never guesses it from the model.",
            )
        return (samples, self.sampling_rate)

    @staticmethod
    def _check_array(i, item, path):
        try:
            samples = np.asarray(item)
        except Exception as exc:
            raise ClipError(i, path, f"cannot be read as an array of samples ({exc}).") from exc
        if samples.dtype.kind not in "fiu":
            raise ClipError(
                i,
                path,
                f"is a {type(item).__name__} of dtype {samples.dtype}; "
                "expected a file path or an array of float or integer samples.",
            )
        if samples.ndim == 0 or samples.ndim > 2:
            raise ClipError(i, path, f"is a {samples.ndim}-D array of shape {samples.shape}.", _SHAPE_HINT)
        if samples.ndim == 2 and channel_axis(samples.shape) is None:
            raise ClipError(
                i,
                path,
                f"is a 2-D array of shape {samples.shape} with no recognisable channel axis.",
                _SHAPE_HINT,
            )
        if samples.size == 0:
            raise ClipError(i, path, "is empty (0 samples).", "Remove it from X.")
        if samples.dtype.kind == "f" and not np.isfinite(samples).all():
            bad = int(np.size(samples) - np.isfinite(samples).sum())
            raise ClipError(
                i,
                path,
                f"has {bad} NaN or infinite samples.",
                "Fix or remove the clip (e.g. np.nan_to_num for isolated samples).",
            )
        return samples

    # -- sequence protocol -----------------------------------------------------------------
    def __len__(self):
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = _index(i, len(self))
        item = self._source(i)
        if isinstance(item, (str, Segment)):
            wave, rate = decode_file(item, index=i)
            clip = Clip(i, clip_name(item), wave, rate)
            self._validate_decoded(clip)
            _FILE_DIGESTS.put(item, clip.digest)
            return clip
        samples, rate = item
        samples = to_float32(samples)
        if samples.ndim == 2:
            samples = to_mono(samples, channel_axis(samples.shape))
        clip = Clip(i, None, samples, rate)
        self._validate_decoded(clip)
        return clip

    def _source(self, i):
        """The checked item of clip ``i``; an :class:`EncodedClip`'s source is checked when first needed."""
        item = self._items[i]
        if isinstance(item, EncodedClip):
            item = self._items[i] = self._check_item(i, item.source)
        return item

    def _validate_decoded(self, clip):
        n = clip.wave.shape[0]
        if n == 0:
            raise ClipError(clip.index, clip.path, "is empty (0 samples).", "Remove it from X.")
        if clip.path is not None and not np.isfinite(clip.wave).all():
            raise ClipError(clip.index, clip.path, "has NaN or infinite samples.", "Fix or remove the file.")
        peak = max(float(clip.wave.max()), -float(clip.wave.min()))
        if peak > FLOAT_PEAK_LIMIT:
            warnings.warn(
                f"{describe_clip(clip.index, clip.path)}: its samples reach {peak:.4g}, far outside [-1, 1]: "
                "float audio is expected in [-1, 1] (integer PCM stored as float, e.g. int16 values "
                "cast to float32, looks like this). Divide it by 32768 for 16-bit PCM, or pass the "
                "integer array itself: zsfuse scales integer PCM.",
                ClipWarning,
                stacklevel=3,
            )
        if clip.seconds < self.min_seconds:
            why = f" ({self.min_reason})" if self.min_reason else ""
            raise ClipError(
                clip.index,
                clip.path,
                f"is {clip.seconds:.3f} s long, shorter than the minimum of {self.min_seconds:.3f} s{why}.",
                "Remove it from X or pad it to the minimum length.",
            )

    # -- cheap per-clip facts ----------------------------------------------------------------
    def path(self, i: int) -> str | Segment | None:
        """Return the file of clip ``i`` (its :class:`Segment` for a segment), or None for an in-memory clip."""
        i = _index(i, len(self))
        item = self._items[i]
        if isinstance(item, EncodedClip):  # named without checking that the file is here
            item = item.source.get("path") if isinstance(item.source, Mapping) else item.source
            item = os.fspath(item) if isinstance(item, os.PathLike) else item
        return item if isinstance(item, (str, Segment)) else None

    def source(self, i: int):
        """Return clip ``i`` as an element of ``X`` that another process can read again.

        A path (str), a :class:`Segment`, an :class:`EncodedClip`, or a mapping
        ``{"array": samples, "sampling_rate": rate}`` for an in-memory clip
        (its rate travels with it).
        """
        i = _index(i, len(self))
        item = self._items[i]
        if isinstance(item, tuple):
            samples, rate = item
            return {"array": samples, "sampling_rate": rate}
        return item

    def seconds(self, i: int) -> float:
        """Return the duration of clip ``i`` without decoding it (file header; a segment's own length)."""
        i = _index(i, len(self))
        item = self._source(i)
        if isinstance(item, (str, Segment)):
            n_frames, rate = file_info(item, index=i)
            return n_frames / rate
        samples, rate = item
        axis = channel_axis(samples.shape) if samples.ndim == 2 else None
        n = samples.shape[0] if axis is None else samples.shape[1 - axis]
        return n / rate

    def known_digest(self, i: int) -> str | None:
        """Return the content digest of clip ``i`` if it is known without decoding.

        In-memory clips are hashed directly; a file's (or a segment's) digest is
        known once it was decoded in this process and the file has not changed
        since (same size and mtime); an :class:`EncodedClip` carries its own.
        """
        i = _index(i, len(self))
        if i in self._encoded:
            return self._encoded[i].digest
        item = self._items[i]
        if isinstance(item, (str, Segment)):
            return _FILE_DIGESTS.get(item)
        return None

    def attached(self, i: int, namespace: str):
        """Return the embedding that clip ``i`` carries for ``namespace`` (an :class:`EncodedClip`), or None.

        Parameters
        ----------
        i : int
            The clip.
        namespace : str
            A store namespace.

        Returns
        -------
        ndarray or None
        """
        encoded = self._encoded.get(_index(i, len(self)))
        return None if encoded is None else encoded.vector(namespace)

    def iter_batches(self, indices=None, batch_size=16):
        """Decode clips one batch at a time.

        Parameters
        ----------
        indices : sequence of int, optional
            Which clips, in this order (default: all).
        batch_size : int, default=16
            Clips per batch.

        Yields
        ------
        list of Clip
            At most ``batch_size`` decoded clips; only one batch is held at a time.
        """
        indices = range(len(self)) if indices is None else list(indices)
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        for start in range(0, len(indices), batch_size):
            yield [self[i] for i in indices[start : start + batch_size]]

    def __repr__(self):
        return f"Clips(n={len(self)}, sampling_rate={self.sampling_rate})"


def as_clips(X, sampling_rate=None, **kwargs) -> Clips:
    """Return ``X`` as :class:`Clips` (unchanged when it already is)."""
    if isinstance(X, Clips):
        return X
    return Clips(X, sampling_rate, **kwargs)


def _as_sequence(X):
    """Return the clips of ``X`` as a list, rejecting what is not a sequence of clips."""
    if isinstance(X, (str, os.PathLike)):
        raise ValueError(
            f"X must be a sequence of clips, got a single path {os.fspath(X)!r}; wrap it in a list: [path]."
        )
    if isinstance(X, Mapping):
        raise ValueError("X must be a sequence of clips, got a single mapping; wrap it in a list.")
    if isinstance(X, Segment):
        raise ValueError(f"X must be a sequence of clips, got a single Segment ({X}); wrap it in a list: [segment].")
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"X is a DataFrame with {X.shape[1]} columns; pass the one column that holds "
                "the clips, e.g. X=df['path']."
            )
        X = X.iloc[:, 0]
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # a pandas Series
        X = X.to_numpy(dtype=object)
    if isinstance(X, np.ndarray):
        if X.dtype.kind == "O" or X.dtype.kind in "US":
            if X.ndim != 1:
                raise ValueError(f"X is an object array of shape {X.shape}; expected 1-D (one clip per entry).")
            return list(X)
        if X.ndim == 1:
            raise ValueError(
                f"X is a single 1-D array of {X.shape[0]} samples; X must be a sequence of clips: "
                "pass [wave] for one clip."
            )
        if X.ndim == 2:
            # (samples, channels): a short axis that fits a channel count and a long one, e.g.
            # (48000, 2). A real (clips, samples) table is wider than tall.
            if X.shape[1] <= MAX_CHANNELS and X.shape[0] >= 64 * X.shape[1]:
                raise ValueError(
                    f"X is a 2-D array of shape {X.shape}: as X, its rows are clips, which would be "
                    f"{X.shape[0]} clips of {X.shape[1]} sample(s) each. It looks like one multichannel clip "
                    "(samples, channels): pass [X] to use it as one clip (its channels are averaged)."
                )
            return list(X)
        raise ValueError(
            f"X is a {X.ndim}-D array of shape {X.shape}; pass a 2-D array (one equal-length "
            "clip per row) or a list of clips, each 1-D or 2-D (samples, channels)."
        )
    if not isinstance(X, Sequence) and not hasattr(X, "__len__"):
        raise ValueError(
            f"X must be a sequence of clips (list, tuple, 1-D object array, pandas Series), got {type(X).__name__}."
        )
    return list(X)


def _check_rate(rate, name, index=None):
    if rate is None:
        return None
    ok = isinstance(rate, numbers.Real) and not isinstance(rate, bool) and np.isfinite(rate) and rate > 0
    if not ok or float(rate) != int(rate):
        where = f"clip {index}: " if index is not None else ""
        raise ValueError(f"{where}{name} must be a positive whole number of Hz, got {rate!r}.")
    return int(rate)


def _index(i, n):
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"clip indices must be integers, got {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"clip index {i} out of range for {n} clips")
    return int(i) % n

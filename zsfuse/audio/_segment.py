"""A clip that is part of a longer file: file + start + end (+ channel).

A :class:`Segment` is an item of ``X`` like a path: :class:`~zsfuse.audio.Clips`,
:func:`~zsfuse.audio.decode_file` and :func:`~zsfuse.audio.file_info` accept it
and read only the segment's frames (libsndfile seeks; WAV and FLAC do not
decode what comes before the segment).
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from dataclasses import dataclass

__all__ = ["Segment", "clip_name", "segment_frames"]


def _seconds(value):
    """``value`` rounded for display: ``1917.34``, ``2``, ``0.125``."""
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


@functools.total_ordering
@dataclass(frozen=True, eq=True)
class Segment:
    """A part of an audio file, usable wherever a clip's path is.

    Parameters
    ----------
    path : str or path-like
        The audio file.
    start : float, default=0.0
        Where the segment starts, in seconds from the start of the file.
    end : float, optional
        Where it ends, in seconds from the start of the file (exclusive);
        None means the end of the file.
    channel : int, optional
        The channel to read, 1-based (1 = the first, left, channel); None
        averages the channels, as for whole files.

    Raises
    ------
    ValueError
        If ``start`` is negative or not finite, ``end`` is not after
        ``start``, or ``channel`` is not a positive integer.

    Notes
    -----
    The segment holds the frames ``round(start * rate)`` up to, not
    including, ``round(end * rate)``, ``rate`` being the file's sampling rate.
    A segment that ends after the file (or starts at or after its end), or a
    channel the file does not have, is a :class:`~zsfuse.exceptions.ClipError`
    when the clip is read. ``str(segment)`` names it in messages:
    ``'/data/a.flac [12.5-14.25 s, channel 1]'``. Segments sort by file, then
    start, end and channel; two segments are equal when all four are.

    Examples
    --------
    >>> s = Segment("/data/pavoque-angry.flac", 12.5, 14.25, channel=1)
    >>> str(s)
    '/data/pavoque-angry.flac [12.5-14.25 s, channel 1]'
    >>> s.duration
    1.75
    """

    path: str
    start: float = 0.0
    end: float | None = None
    channel: int | None = None

    def __post_init__(self):
        if not isinstance(self.path, (str, os.PathLike)):
            raise ValueError(f"Segment: path must be a str or path-like, got {type(self.path).__name__}.")
        object.__setattr__(self, "path", os.fspath(self.path))
        start = _number(self.start, "start")
        if start < 0:
            raise ValueError(f"Segment {self.path!r}: start must be >= 0 seconds, got {self.start!r}.")
        end = None if self.end is None else _number(self.end, "end")
        if end is not None and end <= start:
            raise ValueError(f"Segment {self.path!r}: end ({self.end!r} s) must be after start ({self.start!r} s).")
        channel = self.channel
        if channel is not None:
            ok = isinstance(channel, numbers.Integral) and not isinstance(channel, bool) and channel >= 1
            if not ok:
                raise ValueError(
                    f"Segment {self.path!r}: channel must be a positive integer (1 = the first channel) or "
                    f"None (channels averaged), got {channel!r}."
                )
            channel = int(channel)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "channel", channel)

    @property
    def duration(self):
        """float or None: ``end - start`` in seconds (None when the segment runs to the end of the file)."""
        return None if self.end is None else self.end - self.start

    def _key(self):
        return (self.path, self.start, math.inf if self.end is None else self.end, self.channel or 0)

    def __lt__(self, other):
        if not isinstance(other, Segment):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self):
        channel = "" if self.channel is None else f", channel {self.channel}"
        if self.end is None:
            return f"{self.path} [{_seconds(self.start)} s-end{channel}]"
        return f"{self.path} [{_seconds(self.start)}-{_seconds(self.end)} s{channel}]"


def _number(value, what):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ValueError(f"Segment: {what} must be a finite number of seconds, got {value!r}.")
    return float(value)


def clip_name(item):
    """How a clip read from a file is named in messages.

    Parameters
    ----------
    item : str or Segment
        A path, or a :class:`Segment`.

    Returns
    -------
    str
        The path, or ``'path [start-end s, channel c]'`` for a segment.
    """
    return str(item) if isinstance(item, Segment) else os.fspath(item)


def segment_frames(segment, n_frames, rate):
    """The frames ``[first, stop)`` of a segment in a file of ``n_frames`` frames at ``rate`` Hz.

    Parameters
    ----------
    segment : Segment
        The segment.
    n_frames : int
        Frames (samples per channel) in the file.
    rate : int
        The file's sampling rate in Hz.

    Returns
    -------
    first, stop : int
        ``round(start * rate)`` and ``round(end * rate)`` (``n_frames`` when
        ``end`` is None).

    Raises
    ------
    ValueError
        If the segment starts at or after the end of the file, or ends after
        it; the message gives both in seconds.
    """
    first = int(round(segment.start * rate))
    stop = n_frames if segment.end is None else int(round(segment.end * rate))
    length = _seconds(n_frames / rate)
    if first >= n_frames:
        raise ValueError(f"starts at {_seconds(segment.start)} s, at or after the end of the file ({length} s).")
    if stop > n_frames:
        raise ValueError(f"ends at {_seconds(segment.end)} s, after the end of the file ({length} s).")
    return first, stop

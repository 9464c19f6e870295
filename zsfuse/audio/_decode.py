"""Reading audio files (libsndfile through :mod:`soundfile`), whole or a :class:`Segment` of them."""

from __future__ import annotations

import os

import numpy as np

from ..exceptions import ClipError, ClipNotFoundError
from ._convert import to_mono
from ._segment import Segment, clip_name, segment_frames

_CONVERT_HINT = (
    "Convert it to WAV or FLAC (e.g. `ffmpeg -i in.m4a -ac 1 out.wav`), "
    "or pass the decoded samples as an array with sampling_rate."
)
_SEGMENT_HINT = "Check the segment's start, end and channel against the file (its metadata may be for another copy)."


def file_info(path, index: int | None = None) -> tuple[int, int]:
    """Read the length and sampling rate of an audio file (or segment) from its header.

    Parameters
    ----------
    path : str, path-like or Segment
        The file, or a :class:`~zsfuse.audio.Segment` of one (its length is
        the segment's).
    index : int, optional
        Position of the clip in ``X``, for error messages.

    Returns
    -------
    n_frames : int
        Number of samples per channel.
    rate : int
        Sampling rate in Hz.

    Raises
    ------
    ClipNotFoundError
        If the file does not exist.
    ClipError
        If it cannot be read, or the segment does not fit in the file.
    """
    n_frames, rate, _ = _header(path, index)
    if isinstance(path, Segment):
        first, stop = _frames(path, n_frames, rate, index)
        return stop - first, rate
    return n_frames, rate


def decode_file(path, index: int | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file (or a segment of one) to a mono float32 waveform at its own rate.

    Integer PCM is scaled to [-1, 1]; channels are averaged, except for a
    :class:`~zsfuse.audio.Segment` with a ``channel``, which reads that
    channel alone. A segment's frames are read after a seek: what comes
    before it is not decoded (WAV, FLAC and the other seekable formats).

    Parameters
    ----------
    path : str, path-like or Segment
        The file (any format libsndfile reads: WAV, FLAC, OGG, MP3, AIFF, ...),
        or a segment of one.
    index : int, optional
        Position of the clip in ``X``, for error messages.

    Returns
    -------
    wave : ndarray of float32, shape (n_samples,)
        The mono waveform.
    rate : int
        Its sampling rate in Hz.

    Raises
    ------
    ClipNotFoundError
        If the file does not exist.
    ClipError
        If it cannot be decoded, or the segment does not fit in the file
        (it ends after the file, or names a channel the file lacks).
    """
    import soundfile as sf

    if not isinstance(path, Segment):
        path = os.fspath(path)
        _check_exists(path, index)
        try:
            data, rate = sf.read(path, dtype="float32", always_2d=True)
        except Exception as exc:  # libsndfile raises several types
            raise ClipError(index, path, f"could not be decoded ({exc}).", _CONVERT_HINT) from exc
        return to_mono(data, axis=1), int(rate)

    name = clip_name(path)
    _check_exists(path.path, index, name)
    try:
        with sf.SoundFile(path.path) as f:
            first, stop = _frames(path, int(f.frames), int(f.samplerate), index)
            _check_channel(path, f.channels, index)
            if f.seekable():
                f.seek(first)
                data = f.read(stop - first, dtype="float32", always_2d=True)
            else:  # a stream format: read up to the segment's end
                data = f.read(stop, dtype="float32", always_2d=True)[first:]
            rate = int(f.samplerate)
    except ClipError:
        raise
    except Exception as exc:
        raise ClipError(index, name, f"could not be decoded ({exc}).", _CONVERT_HINT) from exc
    if data.shape[0] != stop - first:
        raise ClipError(
            index,
            name,
            f"gave {data.shape[0]} frames where the file's header promised {stop - first}: the file is truncated.",
            _SEGMENT_HINT,
        )
    if path.channel is None:
        return to_mono(data, axis=1), rate
    return np.ascontiguousarray(data[:, path.channel - 1]), rate


def _header(path, index):
    """``(n_frames, rate, channels)`` of the file of ``path`` (a path or a Segment)."""
    import soundfile as sf

    file = path.path if isinstance(path, Segment) else os.fspath(path)
    name = clip_name(path)
    _check_exists(file, index, name)
    try:
        info = sf.info(file)
    except Exception as exc:  # libsndfile raises several types
        raise ClipError(index, name, f"is not a readable audio file ({exc}).", _CONVERT_HINT) from exc
    if isinstance(path, Segment):
        _check_channel(path, info.channels, index)
    return int(info.frames), int(info.samplerate), int(info.channels)


def _frames(segment, n_frames, rate, index):
    try:
        return segment_frames(segment, n_frames, rate)
    except ValueError as exc:
        raise ClipError(index, clip_name(segment), str(exc), _SEGMENT_HINT) from None


def _check_channel(segment, channels, index):
    if segment.channel is not None and segment.channel > channels:
        raise ClipError(
            index,
            clip_name(segment),
            f"asks for channel {segment.channel}, but the file has {channels} channel(s).",
            "Channels are numbered from 1; pass channel=None to average them.",
        )


def _check_exists(path, index, name=None):
    name = path if name is None else name
    if not os.path.exists(path):
        raise ClipNotFoundError(index, name, "no such file.", "Check the path, or the root folder it is relative to.")
    if os.path.isdir(path):
        raise ClipError(index, name, "is a folder, not an audio file.")

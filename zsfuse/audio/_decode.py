"""Reading audio files (libsndfile through :mod:`soundfile`)."""

from __future__ import annotations

import os

import numpy as np

from ..exceptions import ClipError, ClipNotFoundError
from ._convert import to_mono

_CONVERT_HINT = (
    "Convert it to WAV or FLAC (e.g. `ffmpeg -i in.m4a -ac 1 out.wav`), "
    "or pass the decoded samples as an array with sampling_rate."
)


def file_info(path: str, index: int | None = None) -> tuple[int, int]:
    """Read the length and sampling rate of an audio file from its header.

    Parameters
    ----------
    path : str
        The file.
    index : int, optional
        Position of the clip in ``X``, for error messages.

    Returns
    -------
    n_frames : int
        Number of samples per channel.
    rate : int
        Sampling rate in Hz.
    """
    import soundfile as sf

    _check_exists(path, index)
    try:
        info = sf.info(path)
    except Exception as exc:  # libsndfile raises several types
        raise ClipError(index, path, f"is not a readable audio file ({exc}).", _CONVERT_HINT) from exc
    return int(info.frames), int(info.samplerate)


def decode_file(path: str, index: int | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file to a mono float32 waveform at its own rate.

    Integer PCM is scaled to [-1, 1]; channels are averaged.

    Parameters
    ----------
    path : str
        The file (any format libsndfile reads: WAV, FLAC, OGG, MP3, AIFF, ...).
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
        If it cannot be decoded.
    """
    import soundfile as sf

    _check_exists(path, index)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:
        raise ClipError(index, path, f"could not be decoded ({exc}).", _CONVERT_HINT) from exc
    return to_mono(data, axis=1), int(rate)


def _check_exists(path, index):
    if not os.path.exists(path):
        raise ClipNotFoundError(index, path, "no such file.", "Check the path, or the root folder it is relative to.")
    if os.path.isdir(path):
        raise ClipError(index, path, "is a folder, not an audio file.")

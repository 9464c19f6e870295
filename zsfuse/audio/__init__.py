"""The audio front end: clips in, mono float32 waveforms at an encoder's rate out.

Clips are paths, :class:`Segment` s of files (path, start, end, channel) or
arrays. Decoding (:func:`decode_file`), sample-format and channel conversion
(:func:`to_float32`, :func:`to_mono`), band-limited resampling
(:func:`resample`), amplification (:func:`repeat`) and fixed-length windowing
(:func:`window`). No encoder reads files, pads or resamples itself: they all
go through here.
"""

from ._amplify import LONG_AUDIO_MODES, PAD_MODES, n_windows, pad, repeat, window, window_digest
from ._clips import Clip, Clips, as_clips, content_digest
from ._convert import to_float32, to_mono
from ._decode import decode_file, file_info
from ._encoded import EncodedClip
from ._resample import resample
from ._segment import Segment

__all__ = [
    "Clip",
    "Clips",
    "EncodedClip",
    "LONG_AUDIO_MODES",
    "PAD_MODES",
    "Segment",
    "as_clips",
    "content_digest",
    "decode_file",
    "file_info",
    "n_windows",
    "pad",
    "repeat",
    "resample",
    "to_float32",
    "to_mono",
    "window",
    "window_digest",
]

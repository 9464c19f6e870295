"""The registry of speech foundation model families the FM transformer reads.

Each family lists the ``config.json`` ``model_type`` values it covers, how a
clip reaches the encoder and how hidden states are pooled; the FM adapter
(:mod:`zsfuse.fm._backend`) dispatches on it, and :func:`zsfuse.list_backends`, the
CLI's help and the docs table read it. Adding a family = one
:class:`SpeechFamily` here and its branch in ``zsfuse.fm._backend._read_spec``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SPEECH_FAMILIES", "SpeechFamily", "speech_family_of"]


@dataclass(frozen=True)
class SpeechFamily:
    """A family of speech foundation models read by :class:`~zsfuse.FMEmbeddingTransformer`.

    Attributes
    ----------
    name : str
        ``SpeechModelSpec.family``: ``"ssl"`` or ``"whisper"``.
    title : str
        Display name.
    summary : str
        One line for listings.
    model_types : tuple of str
        ``config.json`` ``model_type`` values of the family.
    examples : tuple of str
        Released checkpoints (hub ids).
    sampling_rate : int
        Audio rate in Hz.
    window : str
        How a clip reaches the encoder.
    pooling : str
        How frames become one vector.
    """

    name: str
    title: str
    summary: str
    model_types: tuple
    examples: tuple
    sampling_rate: int
    window: str
    pooling: str


SPEECH_FAMILIES = (
    SpeechFamily(
        name="ssl",
        title="wav2vec 2.0 family",
        summary="self-supervised encoders on raw 16 kHz waveforms (WavLM, HuBERT, wav2vec 2.0, data2vec, UniSpeech)",
        model_types=("wav2vec2", "wavlm", "hubert", "data2vec-audio", "unispeech", "unispeech-sat"),
        examples=(
            "microsoft/wavlm-large",
            "facebook/hubert-large-ll60k",
            "facebook/wav2vec2-large-robust",
            "facebook/data2vec-audio-large",
        ),
        sampling_rate=16000,
        window="variable length; long clips in chunks of chunk_seconds",
        pooling="statistics of the chosen layers' frames over the clip, or the frames themselves with "
        "pooling='none' (pooling=, layers=, layer_reduce=)",
    ),
    SpeechFamily(
        name="whisper",
        title="Whisper encoder",
        summary="the encoder of an OpenAI Whisper checkpoint, on its 30 s log-mel window (or the clip's own length)",
        model_types=("whisper",),
        examples=("openai/whisper-small", "openai/whisper-large-v3"),
        sampling_rate=16000,
        window="fixed: 30 s log-mel window, frames beyond the clip dropped before pooling; or, with "
        "whisper_input='clip', the clip's own length (faster; a different representation)",
        pooling="statistics of the chosen layers' frames over the clip's own frames",
    ),
)


def speech_family_of(model_type):
    """The :class:`SpeechFamily` covering a ``model_type``, or None."""
    for family in SPEECH_FAMILIES:
        if model_type in family.model_types:
            return family
    return None

"""Whisper's encoder on a piece's own length: ``whisper_input="clip"``.

The Whisper encoder is trained on, and transformers only accepts, a fixed
30 s log-mel window: a 2 s clip pays for 28 s of padding (93 % of the
compute). ``whisper_input="clip"`` feeds each piece its own length instead,
by running the encoder's own modules (``conv1``/``conv2`` with GELU, the
positional embeddings sliced to the piece's frames, the layers with a key
mask, ``layer_norm``) rather than its ``forward``, which refuses any other
length; nothing in transformers is patched.

What the encoder sees, for a piece of ``n`` samples with ``K = ceil(n / 320)``
frames inside it:

* the log-mel features of the piece zero-padded to ``320 (K + 1)`` samples
  (at most the 30 s window), from the checkpoint's own feature extractor:
  the first ``2 (K + 1)`` mel frames of what the 30 s window holds, bit for
  bit (the STFT is centred, the zeros after the piece are the window's);
* so the convolutional stem plus positions -- hidden state ``0`` -- of the
  ``K`` frames inside the piece are those of the 30 s window (the one extra
  frame only completes the stem of the last one);
* the transformer layers attend to those ``K`` frames only, where the window
  mode attends to all 1500 frames, padding included: from layer 1 on the
  hidden states are a *different representation* of the clip (the model was
  trained on 30 s windows), not an approximation of the window's.

Pieces of different lengths share a forward pass: each piece's features are
its own (computed alone), zero-filled up to the longest; the convolutions
never reach past the piece's own mel frames for its ``K`` frames, and a key
mask keeps every frame of the batch from attending beyond its piece's ``K``
frames. A piece's hidden states therefore do not depend on its batch (to
float rounding).
"""

from __future__ import annotations

import inspect

import numpy as np

#: The values of ``FMEmbeddingTransformer(whisper_input=...)``.
WHISPER_INPUTS = ("window", "clip")


def check_whisper_input(whisper_input, family, model):
    """Refuse ``whisper_input="clip"`` for a model that is not a Whisper encoder.

    Parameters
    ----------
    whisper_input : {"window", "clip"}
        The setting.
    family : str
        ``SpeechModelSpec.family`` of the checkpoint.
    model : str or path-like
        The checkpoint, for the message.

    Raises
    ------
    ValueError
        If ``whisper_input="clip"`` and the model is not a Whisper encoder.
    """
    if whisper_input not in WHISPER_INPUTS:
        raise ValueError(f"whisper_input must be one of {WHISPER_INPUTS}, got {whisper_input!r}.")
    if whisper_input == "clip" and family != "whisper":
        raise ValueError(
            f"whisper_input='clip' applies to Whisper encoders only, and model {str(model)!r} is of the "
            f"{family!r} family, which already reads each clip at its own length: leave "
            "whisper_input='window' (the default) for it."
        )


def clip_samples(n_samples, hop, window):
    """Samples fed to the encoder for a piece of ``n_samples``: its frames plus one, at most the window.

    Parameters
    ----------
    n_samples : int
        Length of the piece.
    hop : int
        Samples per encoder frame (320 at 16 kHz).
    window : int
        The model's fixed window (480 000 samples).

    Returns
    -------
    int
        A multiple of ``hop``: ``hop * (ceil(n_samples / hop) + 1)``, capped by ``window``.
    """
    return min(int(hop) * (-(-int(n_samples) // int(hop)) + 1), int(window))


def clip_features(feature_extractor, waves, sampling_rate, hop, window):
    """Log-mel features of pieces at their own lengths, zero-filled to the longest.

    Parameters
    ----------
    feature_extractor : WhisperFeatureExtractor
        The checkpoint's feature extractor.
    waves : list of ndarray of float32
        The pieces (at most ``window`` samples each).
    sampling_rate : int
        Their rate.
    hop : int
        Samples per encoder frame.
    window : int
        The model's fixed window.

    Returns
    -------
    features : ndarray of float32, shape (n_pieces, n_mels, 2 * n_frames)
        Each piece's features, computed alone on the piece zero-padded to
        :func:`clip_samples`, then zeros.
    n_frames : int
        Encoder frames of the longest input.
    """
    fed = [clip_samples(len(w), hop, window) for w in waves]
    rows = [
        feature_extractor(
            np.asarray(w, dtype=np.float32),
            sampling_rate=sampling_rate,
            padding="max_length",
            max_length=m,
            return_tensors="np",
        )["input_features"][0]
        for w, m in zip(waves, fed)
    ]
    n_frames = max(fed) // int(hop)
    mel_per_frame = int(hop) // int(feature_extractor.hop_length)
    features = np.zeros((len(rows), rows[0].shape[0], n_frames * mel_per_frame), dtype=np.float32)
    for i, row in enumerate(rows):
        features[i, :, : row.shape[-1]] = row
    return features, n_frames


def _layer_kwargs(layer):
    # transformers 4.x's encoder layer requires layer_head_mask; 5.x has none (and forwards unknown kwargs)
    return {"layer_head_mask": None} if "layer_head_mask" in inspect.signature(layer.forward).parameters else {}


def clip_forward(encoder, input_features, n_keys):
    """Run a Whisper encoder's modules on features of any length (what its ``forward`` refuses).

    The same computation as ``WhisperEncoder.forward`` (eval mode) but for
    the positions, sliced to the input's frames, and the key mask. The
    layers are called as modules, so forward pre-hooks on them see their
    inputs, as in the window mode.

    Parameters
    ----------
    encoder : WhisperEncoder
        The loaded encoder (eval mode).
    input_features : torch.Tensor, shape (batch, n_mels, 2 * n_frames)
        Log-mel features (:func:`clip_features`).
    n_keys : sequence of int
        Per row, the frames the others may attend to (the piece's own frames).

    Returns
    -------
    torch.Tensor, shape (batch, n_frames, d_model)
        ``last_hidden_state``: the output of the final ``layer_norm``.

    Raises
    ------
    ValueError
        If the input has more frames than the encoder has positions.
    """
    import torch
    from torch.nn import functional

    hidden = functional.gelu(encoder.conv1(input_features))
    hidden = functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
    n_frames = hidden.shape[1]
    positions = encoder.embed_positions.weight
    if n_frames > positions.shape[0]:
        raise ValueError(f"{n_frames} frames exceed the encoder's {positions.shape[0]} positions")
    hidden = hidden + positions[:n_frames]
    keys = torch.as_tensor(list(n_keys), device=hidden.device)
    mask = None
    if bool((keys < n_frames).any()):  # (batch, 1, 1, frames), added to the attention scores
        outside = torch.arange(n_frames, device=hidden.device)[None, :] >= keys[:, None]
        mask = torch.zeros(outside.shape, dtype=torch.float32, device=hidden.device)
        mask = mask.masked_fill(outside, torch.finfo(torch.float32).min)[:, None, None, :]
    extra = _layer_kwargs(encoder.layers[0])
    for layer in encoder.layers:
        out = layer(hidden, mask, **extra)
        hidden = out[0] if isinstance(out, tuple) else out
    return encoder.layer_norm(hidden)

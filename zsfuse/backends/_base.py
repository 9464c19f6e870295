"""The small interface every audio-language (CLAP-family) backend implements."""

from __future__ import annotations

import threading
import warnings

import numpy as np


class ClapBackend:
    """A dual-encoder audio-language model behind one small interface.

    Adapters own nothing of the front end: they receive fixed-length windows at
    their own rate (already resampled, repeated and padded by :mod:`zsfuse.audio`)
    and exact prompt strings.

    One backend serves every thread of the process (:func:`zsfuse.models.get_model`).
    Forward passes run concurrently (they only read the weights); tokenisation
    does not: a fast (Rust) tokenizer sets its truncation and padding on every
    call and fails with ``RuntimeError: Already borrowed`` -- or silently applies
    another thread's settings -- when two threads use it at once. Adapters
    tokenise inside ``with self.tokenizer_lock:``.

    Attributes
    ----------
    name : str
        Backend family, e.g. ``"hf-clap"`` or ``"msclap"``.
    sampling_rate : int
        Rate of the audio tower in Hz.
    window_samples : int
        Length of the audio tower's fixed window in samples; for a
        variable-length model, the longest segment it takes (longer clips are
        cut by ``long_audio``).
    variable_length : bool
        False: ``embed_audio`` takes windows of exactly ``window_samples``.
        True: it takes a list of 1-D waveforms of 1 to ``window_samples``
        samples, padded and masked by the adapter (CLSP, ParaCLAP).
    native_pad_mode : str
        How the model's own pre-processing fills a short clip (a
        :data:`zsfuse.audio.PAD_MODES` value, or ``"none"`` for a
        variable-length model, which takes a short clip as it is).
    fingerprint : str
        Identifies the weights (and tokenizer); keys the embedding store.
    max_text_tokens : int
        Longest token sequence the text tower takes; longer prompts are
        truncated with a warning.
    device : str
        Where the model runs.
    dtype : torch.dtype
        Compute dtype (float16/bfloat16 through :func:`zsfuse.models.autocast`; weights
        stay float32).
    tokenizer_lock : threading.Lock
        Held while the tokenizer runs.
    """

    name = "clap"
    variable_length = False
    sampling_rate: int
    window_samples: int
    native_pad_mode: str
    fingerprint: str
    max_text_tokens: int

    def __init__(self):
        self.tokenizer_lock = threading.Lock()

    def embed_audio(self, windows) -> np.ndarray:  # pragma: no cover - interface
        """Embed windows of shape (n, window_samples) -> (n, dim) float32.

        A variable-length adapter takes a list of 1-D waveforms instead.
        """
        raise NotImplementedError

    def embed_text(self, texts) -> np.ndarray:  # pragma: no cover - interface
        """Embed prompt strings -> (n, dim) float32."""
        raise NotImplementedError

    def logit_scale(self) -> float:  # pragma: no cover - interface
        """The learned temperature, exponentiated: logits = scale * cosine."""
        raise NotImplementedError

    # -- helpers for adapters ------------------------------------------------------------------------
    def _checked_windows(self, windows):
        """``windows`` as float32, refused unless of shape (n, window_samples)."""
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 2 or windows.shape[1] != self.window_samples:
            raise ValueError(f"expected windows of shape (n, {self.window_samples}), got {windows.shape}")
        return windows

    def _checked_waves(self, waves):
        """``waves`` as a list of 1-D float32 arrays of 1 to ``window_samples`` samples, else refused."""
        out = [np.asarray(w, dtype=np.float32) for w in waves]
        for i, w in enumerate(out):
            if w.ndim != 1 or not 1 <= w.shape[0] <= self.window_samples:
                raise ValueError(
                    f"expected 1-D waveforms of 1 to {self.window_samples} samples, got shape {w.shape} at {i}"
                )
        return out

    def _padded(self, waves, min_samples=1):
        """Zero-pad 1-D waveforms to the longest (at least ``min_samples``): ``(batch, lengths)``.

        ``lengths[i]`` is ``max(len(waves[i]), min_samples)``: the samples the
        model may read for clip ``i`` (a variable-length adapter masks the rest).
        """
        lengths = [max(w.shape[0], min_samples) for w in waves]
        batch = np.zeros((len(waves), max(lengths)), dtype=np.float32)
        for i, w in enumerate(waves):
            batch[i, : w.shape[0]] = w
        return batch, lengths

    def _tokenize_padded(self, texts):
        """Token tensors of ``texts``, padded and truncated to ``max_text_tokens`` (with a warning), under the lock."""
        with self.tokenizer_lock:
            lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=True)["input_ids"]]
            tokens = self.tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_text_tokens, return_tensors="pt"
            )
        self._warn_truncated([t for t, n in zip(texts, lengths) if n > self.max_text_tokens], self.max_text_tokens)
        return tokens

    @staticmethod
    def _warn_truncated(texts, limit):
        if texts:
            shown = "; ".join(repr(t[:60] + ("..." if len(t) > 60 else "")) for t in texts[:3])
            warnings.warn(
                f"{len(texts)} prompt(s) exceed the text tower's {limit} tokens and were truncated: "
                f"{shown}. Use shorter templates or fewer text_repeats.",
                UserWarning,
                stacklevel=4,
            )

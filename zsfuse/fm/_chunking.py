"""Frame arithmetic, chunking of long clips and batch planning (pure Python).

A speech foundation model turns ``n`` samples into frames at a fixed hop:

* the wav2vec 2.0 family (``kind="conv"``): a stack of valid convolutions with
  receptive field ``R`` and total stride ``S`` (400 and 320 samples for every
  released checkpoint, i.e. 25 ms windows every 20 ms at 16 kHz); frame ``j``
  sees exactly the samples ``[j S, j S + R)`` and a clip has
  ``floor((n - R) / S) + 1`` frames (none when ``n < R``);
* the Whisper encoder (``kind="ceil"``): a centred STFT with hop 160 and a
  stride-2 convolution, so encoder frame ``j`` is centred on sample ``320 j``
  and the frames *inside* the clip are the first ``ceil(n / 320)`` of its
  fixed 30 s window; the rest is padding and is dropped before pooling.

:func:`FrameGeometry.chunk_bounds` cuts a long clip so that its chunks pool,
between them, exactly the frames of the whole clip -- same count, same sample
alignment, no frame twice -- and each chunk's input reaches ``context`` frames
beyond the frames it pools (the receptive field of the model's convolutional
position embedding), plus the ``R - S`` samples the last frame needs.

:func:`plan_batches` groups pieces (clips or chunks) into forward passes
without changing any result: by length, with an optional cap on the padded
audio per pass, and -- for models that must not see padding -- of equal
length only.
"""

from __future__ import annotations

from dataclasses import dataclass

BATCHING_RULES = ("padded", "equal", "window")


@dataclass(frozen=True)
class FrameGeometry:
    """How a model maps samples to frames.

    Parameters
    ----------
    receptive_field : int
        Samples one frame sees (``kind="conv"``); the shortest usable input.
    hop : int
        Samples between consecutive frames.
    kind : {"conv", "ceil"}
        ``"conv"``: valid convolutions, ``floor((n - receptive_field) / hop) + 1``
        frames; ``"ceil"``: ``ceil(n / hop)`` frames (Whisper).
    window : int or None
        Fixed input length of the model (Whisper: 30 s), or None.
    context : int
        Frames of context a chunk gets on each side beyond the frames it pools:
        the half-width of the model's convolutional position embedding (64
        frames, 1.28 s, for the released wav2vec 2.0 / HuBERT / WavLM models).
    """

    receptive_field: int
    hop: int
    kind: str = "conv"
    window: int | None = None
    context: int = 0

    def n_frames(self, n_samples: int) -> int:
        """Number of frames of ``n_samples`` samples that lie inside the clip."""
        n = int(n_samples)
        if self.kind == "ceil":
            return max(-(-n // self.hop), 0)
        if n < self.receptive_field:
            return 0
        return (n - self.receptive_field) // self.hop + 1

    @property
    def min_samples(self) -> int:
        """Shortest input giving one frame."""
        return self.receptive_field if self.kind == "conv" else 1

    def max_chunk_samples(self, max_samples):
        """Longest piece fed to the model: ``max_samples`` capped by the fixed window."""
        if self.window is None:
            return None if max_samples is None else int(max_samples)
        return self.window if max_samples is None else min(int(max_samples), self.window)

    def chunk_bounds(self, n_samples: int, max_samples) -> list[tuple[int, int, int, int]]:
        """Cut a clip into chunks of at most ``max_samples`` samples.

        The frames each chunk *pools* are a contiguous run of the whole clip's
        frames; together they are exactly the whole clip's frames (same count,
        same sample alignment, none twice), in runs of nearly equal length (all
        but the last equal). Each chunk's input extends ``context`` frames to
        both sides where the clip allows, so that everything with a finite
        receptive field (the convolutional feature encoder, the convolutional
        position embedding) sees the same samples as in the whole clip; those
        context frames are computed but not pooled.

        Parameters
        ----------
        n_samples : int
            Length of the clip (at least ``min_samples``).
        max_samples : int or None
            Longest chunk input; None (or a clip that fits) gives one chunk.

        Returns
        -------
        list of (start, end, lo, hi)
            Per chunk: its input is the samples ``[start, end)`` and it pools its
            own frames ``[lo, hi)`` (frame ``lo`` of the chunk is frame
            ``start // hop + lo`` of the clip).
        """
        n = int(n_samples)
        total = self.n_frames(n)
        limit = self.max_chunk_samples(max_samples)
        if limit is None or n <= limit:
            return [(0, n, 0, total)]
        per_chunk = self.max_pooled_frames(limit)
        if per_chunk < 1:
            raise ValueError(
                f"chunks of {limit} samples leave no frame to pool beside {self.context} frames of "
                f"context on each side; allow longer chunks."
            )
        k = -(-total // per_chunk)
        frames = -(-total // k)  # balanced: every chunk but the last pools exactly `frames` frames
        k = -(-total // frames)
        bounds = []
        for c in range(k):
            f0, f1 = c * frames, min((c + 1) * frames, total)
            a, b = max(0, f0 - self.context), min(total, f1 + self.context)
            start = a * self.hop
            if b == total:  # the clip's tail (samples completing no frame) stays with it
                end = min(n, start + limit)
            elif self.kind == "conv":
                end = (b - 1) * self.hop + self.receptive_field
            else:
                end = b * self.hop
            bounds.append((start, end, f0 - a, f1 - a))
        return bounds

    def max_pooled_frames(self, limit: int) -> int:
        """Frames a chunk of ``limit`` samples pools, once its context is set aside."""
        frames = self.n_frames(limit) if self.kind == "conv" else limit // self.hop
        return frames - 2 * self.context


def plan_batches(lengths, batch_size, max_batch_samples=None, rule="padded", window=None):
    """Group pieces into forward passes.

    Pieces are grouped in order of length (ties by position), and the passes are
    returned longest first; a pass holds at most
    ``batch_size`` pieces and, with ``max_batch_samples``, at most that many
    samples once padded (pieces x longest piece; a piece longer than the budget
    runs alone).

    Parameters
    ----------
    lengths : sequence of int
        Samples in each piece.
    batch_size : int
        Most pieces per pass.
    max_batch_samples : int, optional
        Budget of padded samples per pass.
    rule : {"padded", "equal", "window"}
        ``"padded"``: pieces of different lengths share a pass (zero padding plus
        an attention mask); ``"equal"``: only pieces of identical length share a
        pass (models whose feature encoder must not see padding);
        ``"window"``: every piece fills the model's fixed ``window``.
    window : int, optional
        The fixed window (``rule="window"``).

    Returns
    -------
    list of list of int
        Piece indices of each pass, passes of the longest pieces first.
    """
    if rule not in BATCHING_RULES:
        raise ValueError(f"rule must be one of {BATCHING_RULES}, got {rule!r}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, current, longest = [], [], 0
    for i in order:
        n = window if rule == "window" else int(lengths[i])
        new_longest = max(longest, n)
        full = len(current) >= batch_size
        over = max_batch_samples is not None and (len(current) + 1) * new_longest > max_batch_samples
        unequal = rule == "equal" and current and n != longest
        if current and (full or over or unequal):
            batches.append(current)
            current, new_longest = [], n
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    # longest first: later, smaller passes reuse the heap blocks of the first ones (ascending
    # sizes make the allocator grow the heap at every step: ~50 % more peak RSS on a CPU)
    batches.reverse()
    return batches

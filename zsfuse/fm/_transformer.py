"""``FMEmbeddingTransformer``: pooled hidden states of speech foundation models."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._defaults import DEFAULT_FM_MODEL
from .._estimator import AudioTransformer, check_targets
from ..exceptions import ClipError
from ..extraction import encode_clips
from ._backend import load_speech_encoder, normalize_wave, read_spec
from ._pooling import LAYER_REDUCES, POOLINGS, merge_all, output_dim, resolve_layers, to_vector

#: Bump when the meaning of a vector changes: it keys the embedding store.
_NAMESPACE_VERSION = "fm/1"
#: Clips handed to the encoder at once (forward passes are planned inside).
_MIN_DECODE_GROUP = 64
#: ``batch_seconds="auto"``: padded audio per forward pass. On a CPU, WavLM-Large
#: needs about 22 MB of activations per second of audio in a pass, and larger passes
#: are not faster per second of audio (measured on 2 cores): a small budget bounds
#: memory for free. A GPU gains from large passes and has room for them.
AUTO_BATCH_SECONDS = {"cpu": 8.0, "cuda": 120.0, "mps": 30.0}


class FMEmbeddingTransformer(AudioTransformer):
    """One fixed-size vector per clip from a frozen speech foundation model.

    Each clip is resampled to the model's rate, normalised as the checkpoint's
    feature extractor asks, cut into chunks of at most ``max_seconds`` when it
    is longer, and run through the model; the selected hidden states are
    reduced over layers (``layer_reduce``) and pooled over the clip's frames
    (``pooling``). Output columns are named ``fm_0, fm_1, ...``.

    Every clip is encoded once per process (and once across processes with
    ``cache_dir``): refitting, cloning, cross-validation folds and grid points
    that change nothing upstream reuse the vectors. The vector of a clip does
    not depend on the other clips, their order, or the batching.

    Parameters
    ----------
    model : str or path-like, default="microsoft/wavlm-large"
        Hugging Face hub id or local folder of a checkpoint of the wav2vec 2.0
        family (``wav2vec2``, ``wavlm``, ``hubert``, ``data2vec-audio``,
        ``unispeech``, ``unispeech-sat``: e.g. ``microsoft/wavlm-large``,
        ``microsoft/wavlm-base-plus``, ``facebook/hubert-large-ll60k``,
        ``facebook/hubert-base-ls960``, ``facebook/wav2vec2-large-robust``,
        ``facebook/data2vec-audio-large``) or a Whisper checkpoint
        (``openai/whisper-*``; its encoder only).
    layers : "last", "all", int or tuple of int, default="last"
        Hidden states to use. Index ``0`` is the transformer's input (the
        convolutional feature encoder's output, projected, plus the
        convolutional position embedding; for Whisper the convolutional stem
        plus positions); ``i`` is the output of transformer layer ``i``;
        ``n_layers_`` -- ``"last"`` -- is the model's output
        ``last_hidden_state``, i.e. *after* the final LayerNorm of "stable
        layer norm" models (WavLM/HuBERT/wav2vec2 large) and of Whisper. This is
        the same tensor in transformers 4.x and 5.x (``hidden_states[-1]`` is
        not: from 5.x it is taken before that LayerNorm). ``"all"`` is
        ``0..n_layers_``. Negative integers count from the end (-1 is the last).
    layer_reduce : {"mean", "concat"}, default="mean"
        Several layers: average them frame by frame (one block of width
        ``hidden_size``), or pool each and concatenate the blocks in the order
        of ``layers``.
    pooling : {"mean", "mean+std"}, default="mean"
        Time pooling over the clip's frames: the mean, or the mean followed by
        the (population) standard deviation, which doubles the width.
    max_seconds : float or None, default=30.0
        Clips longer than this are cut into consecutive chunks whose frames are
        exactly the whole clip's frames (chunks overlap by the convolutional
        receptive field minus one hop, 80 samples at 16 kHz) and the frames of
        all chunks are pooled together. Bounds memory on long clips. A frame
        then attends to its own chunk only; see ``docs/fm.md`` for the exact
        relation to processing the clip whole. None: never cut (Whisper always
        works in windows of at most 30 s).
    normalize : {"auto", True, False}, default="auto"
        Zero-mean, unit-variance normalisation of each clip's waveform (over
        the whole clip, before chunking): ``"auto"`` follows the checkpoint's
        feature extractor (``do_normalize``). Whisper has its own log-mel
        normalisation: only ``"auto"`` or False.
    sampling_rate : int, optional
        Rate in Hz of the arrays in ``X``, required when ``X`` holds arrays: it
        is never guessed from the model (a pipeline whose steps guessed would
        read one array at two rates). Files carry their own rate. Everything is
        resampled to the model's rate.
    device : str, default="auto"
        ``"auto"`` (the first CUDA GPU when there is one), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"``.
    dtype : str, default="auto"
        ``"auto"``: float16 on CUDA, float32 elsewhere; or ``"float32"``,
        ``"float16"``, ``"bfloat16"``. Half precision runs under
        ``torch.autocast`` (weights stay float32; normalisations, softmax and
        pooling stay float32).
    batch_size : int, default=16
        Most pieces (clips or chunks) per forward pass.
    batch_seconds : float, "auto" or None, default="auto"
        Also cap each forward pass at this much audio once padded (pieces x
        longest piece), which bounds memory whatever the clip lengths; a piece
        longer than the budget runs alone. ``"auto"``: 8 s on a CPU (where
        larger passes are no faster per second of audio, and WavLM-Large needs
        ~22 MB of activations per second of audio in a pass), 120 s on CUDA. None: only
        ``batch_size`` counts.
    cache_dir : str or path-like, optional
        Folder of the on-disk embedding store, shared across processes and runs.
    progress : bool, default=False
        Show a progress bar while clips are encoded.
    revision : str, optional
        Hub revision (branch, tag or commit) of ``model``.
    trust_remote_code : bool, default=False
        Let a checkpoint run code it ships.

    Attributes
    ----------
    model_type_ : str
        The checkpoint's ``config.model_type``.
    n_layers_ : int
        Transformer layers of the model; hidden-state indices are ``0..n_layers_``.
    hidden_size_ : int
        Width of one hidden state.
    layers_ : tuple of int
        The resolved hidden-state indices.
    embedding_dim_ : int
        Width of the output.
    sampling_rate_ : int
        The model's rate in Hz.
    normalize_ : bool
        Whether waveforms are normalised.
    min_seconds_ : float
        Shortest usable clip (the convolutional receptive field).
    batching_ : {"padded", "equal", "window"}
        How pieces share a forward pass: zero padding plus attention mask;
        equal lengths only (models whose feature encoder must not see padding:
        group-norm wav2vec2/HuBERT/WavLM base, data2vec-audio); Whisper's fixed
        30 s window.

    See Also
    --------
    CLAPZeroShotTransformer : Zero-shot emotion scores, the other half of ZS-Fuse.

    Notes
    -----
    Batching never changes a result: pieces are grouped by length; models
    trained with attention masks get zero padding and a mask (the model zeroes
    padded frames before its position convolution and never attends to them);
    the others only share a pass with pieces of exactly the same length.

    Examples
    --------
    >>> from zsfuse import FMEmbeddingTransformer
    >>> fm = FMEmbeddingTransformer(model="microsoft/wavlm-large", layers="all",
    ...                             pooling="mean+std", cache_dir="emb-cache")
    >>> features = fm.fit_transform(["a.wav", "b.wav"])  # doctest: +SKIP
    >>> features.shape  # doctest: +SKIP
    (2, 2048)
    """

    def __init__(
        self,
        model=DEFAULT_FM_MODEL,
        layers="last",
        layer_reduce="mean",
        pooling="mean",
        max_seconds=30.0,
        normalize="auto",
        sampling_rate=None,
        device="auto",
        dtype="auto",
        batch_size=16,
        batch_seconds="auto",
        cache_dir=None,
        progress=False,
        revision=None,
        trust_remote_code=False,
    ):
        self.model = model
        self.layers = layers
        self.layer_reduce = layer_reduce
        self.pooling = pooling
        self.max_seconds = max_seconds
        self.normalize = normalize
        self.sampling_rate = sampling_rate
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.cache_dir = cache_dir
        self.progress = progress
        self.revision = revision
        self.trust_remote_code = trust_remote_code

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self):
        self._check_runtime_params()
        for name, allowed in (("layer_reduce", LAYER_REDUCES), ("pooling", POOLINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        for name in ("max_seconds", "batch_seconds"):
            value = getattr(self, name)
            if name == "batch_seconds" and isinstance(value, str) and value == "auto":
                continue
            ok = value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                                   and np.isfinite(value) and value > 0)
            if not ok:
                allowed = "None, 'auto'" if name == "batch_seconds" else "None"
                raise ValueError(f"{name} must be {allowed} or a positive number of seconds, got {value!r}.")
        if not (isinstance(self.normalize, str) and self.normalize == "auto") and \
                not isinstance(self.normalize, (bool, np.bool_)):
            raise ValueError(f"normalize must be 'auto', True or False, got {self.normalize!r}.")

    # -- fit / transform -------------------------------------------------------------------------------
    def fit(self, X=None, y=None):
        """Check the parameters against the model's configuration (no weights are loaded).

        Parameters
        ----------
        X : sequence of clips, optional
            Only its structure is checked (nothing is decoded or encoded):
            nothing is learned from audio.
        y : array-like, optional
            Not used to fit; when given, it must hold one label per clip
            (checked before any model file is read, so a mismatch fails at once).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        ValueError
            For invalid parameters, a checkpoint that is not a supported speech
            model, or a layer index out of range (the message names the range).
        ModelNotFoundError
            If the model is neither a folder nor in the Hugging Face cache.
        """
        self._check_params()
        if X is not None:  # the structure of X and y, before any model file is read
            check_targets(y, len(self._clips(X)))
        spec = read_spec(self.model, self.revision, self.trust_remote_code)
        layers = resolve_layers(self.layers, spec.n_layers)
        if spec.family == "whisper" and not isinstance(self.normalize, str) and bool(self.normalize):
            raise ValueError(
                "normalize=True does not apply to Whisper, whose log-mel features have their own "
                "normalisation; use normalize='auto' (or False)."
            )
        normalize = spec.do_normalize if isinstance(self.normalize, str) else bool(self.normalize)
        geometry = spec.geometry
        limit = self._max_samples(spec)
        if limit is not None and geometry.max_pooled_frames(limit) < max(1, geometry.context):
            shortest = ((3 * geometry.context) * geometry.hop + geometry.min_samples) / spec.sampling_rate
            raise ValueError(
                f"max_seconds={self.max_seconds} is too short for this model: a chunk carries "
                f"{geometry.context} frames of context on each side and must pool at least as many "
                f"frames of its own; use max_seconds >= {shortest:.2f}."
            )
        self.model_type_ = spec.model_type
        self.n_layers_ = spec.n_layers
        self.hidden_size_ = spec.hidden_size
        self.layers_ = layers
        self.embedding_dim_ = output_dim(spec.hidden_size, len(layers), self.layer_reduce, self.pooling)
        self.sampling_rate_ = spec.sampling_rate
        self.normalize_ = normalize
        self.min_seconds_ = geometry.min_samples / spec.sampling_rate
        self.batching_ = spec.batching
        return self

    def _encoder(self):
        from ..models import resolve_device, resolve_dtype

        device = resolve_device(self.device)
        return load_speech_encoder(self.model, self.revision, device, resolve_dtype(self.dtype, device),
                                   self.trust_remote_code)

    def _max_samples(self, spec):
        limit = None if self.max_seconds is None else int(round(self.max_seconds * spec.sampling_rate))
        return spec.geometry.max_chunk_samples(limit)

    def _namespace(self, encoder):
        spec = encoder.spec
        return (f"{_NAMESPACE_VERSION}|{encoder.fingerprint}|rate={spec.sampling_rate}|"
                f"layers={','.join(map(str, self.layers_))}|reduce={self.layer_reduce}|"
                f"pooling={self.pooling}|chunk={self._max_samples(spec)}|normalize={int(self.normalize_)}|"
                f"{encoder.device.split(':')[0]}|{str(encoder.dtype).removeprefix('torch.')}")

    def transform(self, X):
        """Embed every clip.

        Parameters
        ----------
        X : sequence of clips
            Paths, waveforms at ``sampling_rate``, a pandas Series, a 2-D array
            of equal-length clips (see :class:`zsfuse.audio.Clips`).

        Returns
        -------
        ndarray of float32, shape (n_clips, embedding_dim_)
            One row per clip, columns named by :meth:`get_feature_names_out`.

        Raises
        ------
        ClipError
            For a clip that cannot be read or is shorter than the model's
            receptive field (the message names the clip).
        """
        check_is_fitted(self)
        clips = self._clips(X)  # the structure of X, before any model loads
        if len(clips) == 0:
            return np.zeros((0, self.embedding_dim_), dtype=np.float32)
        store = self._store()  # an unusable disk cache fails before the model loads
        encoder = self._encoder()
        spec = encoder.spec
        if (spec.n_layers, spec.hidden_size) != (self.n_layers_, self.hidden_size_):
            raise ValueError(
                f"the model loaded now has {spec.n_layers} layers of width {spec.hidden_size}, the one "
                f"seen in fit {self.n_layers_} of width {self.hidden_size_}; refit the transformer."
            )
        rate = spec.sampling_rate
        min_samples = spec.geometry.min_samples
        reason = (f"the receptive field of the model's convolutional feature encoder, {min_samples} "
                  f"samples at {rate} Hz")
        clips.min_seconds, clips.min_reason = min_samples / rate, reason
        max_samples = self._max_samples(spec)
        seconds = self.batch_seconds
        if isinstance(seconds, str):  # "auto"
            seconds = AUTO_BATCH_SECONDS.get(encoder.device.split(":")[0], AUTO_BATCH_SECONDS["cpu"])
        budget = None if seconds is None else max(1, int(round(seconds * rate)))
        need_m2 = self.pooling == "mean+std"

        def encode(batch):
            pieces, ranges, owners = [], [], []
            for j, clip in enumerate(batch):
                wave = clip.at_rate(rate)
                if wave.shape[0] < min_samples:
                    raise ClipError(
                        clip.index, clip.path,
                        f"has {wave.shape[0]} samples at {rate} Hz, fewer than the {min_samples} of {reason}.",
                        "Remove it from X or pad it.",
                    )
                if self.normalize_:
                    wave = normalize_wave(wave)
                for start, end, lo, hi in spec.geometry.chunk_bounds(wave.shape[0], max_samples):
                    pieces.append(wave[start:end])
                    ranges.append((lo, hi))
                    owners.append(j)
            stats = encoder.encode(pieces, self.layers_, self.layer_reduce, need_m2,
                                   batch_size=self.batch_size, max_batch_samples=budget,
                                   frame_ranges=ranges)
            per_clip = [[] for _ in batch]
            for j, s in zip(owners, stats):
                per_clip[j].append(s)
            return [to_vector(merge_all(parts), self.pooling) for parts in per_clip]

        vectors = encode_clips(clips, store, self._namespace(encoder), encode,
                               batch_size=max(self.batch_size, _MIN_DECODE_GROUP), progress=self.progress,
                               desc="FM embeddings")
        return np.stack(vectors).astype(np.float32, copy=False)

    def _feature_names(self):
        return [f"fm_{i}" for i in range(self.embedding_dim_)]

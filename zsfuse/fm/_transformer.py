"""``FMEmbeddingTransformer``: pooled hidden states of speech foundation models (or their frames)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._defaults import DEFAULT_FM_MODEL
from .._estimator import AudioTransformer, store_namespace
from .._params import NumberNotBool, fill_doc
from ..exceptions import ClipError
from ..extraction import encode_clips
from ..models import resolve_model_path
from ._backend import load_speech_encoder, normalize_wave, read_spec, speech_fingerprint
from ._pooling import (
    FRAME_DTYPE,
    LAYER_REDUCES,
    POOLINGS,
    merge_all,
    merge_frames,
    output_dim,
    resolve_layers,
    to_vector,
)
from ._whisper import WHISPER_INPUTS, check_whisper_input

#: Bump when the meaning of a vector changes: it keys the embedding store.
_NAMESPACE_VERSION = "fm/1"
#: ``pooling="none"``: the one output column, holding each clip's frame matrix.
FRAMES_COLUMN = "fm_frames"
#: Largest entry the disk store can hold: SQLite's default limit on a blob (SQLITE_MAX_LENGTH).
_MAX_ENTRY_BYTES = 1_000_000_000
#: Clips handed to the encoder at once (forward passes are planned inside).
_MIN_DECODE_GROUP = 64
#: ``batch_seconds="auto"``: padded audio per forward pass. On a CPU, WavLM-Large
#: needs about 22 MB of activations per second of audio in a pass, and larger passes
#: are not faster per second of audio (measured on 2 cores): a small budget bounds
#: memory for free. A GPU gains from large passes and has room for them.
AUTO_BATCH_SECONDS = {"cpu": 8.0, "cuda": 120.0, "mps": 30.0}
#: Attributes renamed since files were first saved: old name -> new name.
_RENAMED = {"normalize": "normalize_audio", "normalize_": "normalize_audio_"}


@fill_doc
class FMEmbeddingTransformer(AudioTransformer):
    """One fixed-size vector per clip from a frozen speech foundation model.

    Each clip is resampled to the model's rate, normalised as the checkpoint's
    feature extractor asks, cut into chunks of at most ``max_seconds`` when it
    is longer, and run through the model; the selected hidden states are
    reduced over layers (``layer_reduce``) and pooled over the clip's frames
    (``pooling``). Output columns are named ``fm_0, fm_1, ...``. With
    ``pooling="none"`` nothing is pooled: each clip gives its frame matrix,
    kept in float16, in a single object column ``fm_frames`` (for heads that
    work on sequences).

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
    pooling : {"mean", "mean+std", "none"}, default="mean"
        Time pooling over the clip's frames: the mean, or the mean followed by
        the (population) standard deviation, which doubles the width.
        ``"none"``: no pooling -- frame-level features. ``transform`` then
        returns a 2-D object array of shape ``(n_clips, 1)`` (with pandas
        output a DataFrame with the one column ``fm_frames``) whose cells are
        read-only float16 arrays of shape ``(n_frames_i, embedding_dim_)``:
        the frames the pooled modes pool over (with chunking, those of all
        chunks in order), each the selected layers' hidden states averaged
        (``layer_reduce="mean"``) or side by side in the order of ``layers``
        (``"concat"``), so that their mean over frames is the
        ``pooling="mean"`` vector to float16 precision. They are computed in
        float32 and stored as float16 in the embedding store (about 369 MB
        per hour of audio for one layer of width 1024; see ``docs/fm.md``).
    max_seconds : float or None, default=30.0
        Clips longer than this are cut into consecutive chunks whose frames are
        exactly the whole clip's frames (chunks overlap by the convolutional
        receptive field minus one hop, 80 samples at 16 kHz) and the frames of
        all chunks are pooled together. Bounds memory on long clips. A frame
        then attends to its own chunk only; see ``docs/fm.md`` for the exact
        relation to processing the clip whole. None: never cut (Whisper always
        works in windows of at most 30 s).
    normalize_audio : {"auto", True, False}, default="auto"
        Zero-mean, unit-variance normalisation of each clip's waveform (over
        the whole clip, before chunking): ``"auto"`` follows the checkpoint's
        feature extractor (``do_normalize``). Whisper has its own log-mel
        normalisation: only ``"auto"`` or False. Not the classifier's
        ``normalize`` (of the fused feature blocks): in
        :func:`~zsfuse.make_zsfuse_pipeline` the plain name ``normalize`` goes
        to the classifier. Files saved while this was named ``normalize`` load
        with their value here.
    %(sampling_rate)s
    %(device)s
    %(dtype)s
    %(batch_size)s
    batch_seconds : float, "auto" or None, default="auto"
        Also cap each forward pass at this much audio once padded (pieces x
        longest piece), which bounds memory whatever the clip lengths; a piece
        longer than the budget runs alone. ``"auto"``: 8 s on a CPU (where
        larger passes are no faster per second of audio, and WavLM-Large needs
        ~22 MB of activations per second of audio in a pass), 120 s on CUDA. None: only
        ``batch_size`` counts.
    %(cache_dir)s
    %(progress)s
    %(revision)s
    %(trust_remote_code)s
    whisper_input : {"window", "clip"}, default="window"
        Whisper only. ``"window"``: every clip (or chunk) in Whisper's fixed
        30 s log-mel window, as the model was trained and as EmoBox extracts
        features; only the clip's own frames are pooled. ``"clip"``: the
        clip's own length (its frames plus one, positional embeddings sliced,
        attention within the clip's frames) -- about 6x faster on clips
        of 2-8 s, and a *different representation* from layer 1 on (the layers
        never see the window's padding): compare, do not mix, the two. Clips
        of different lengths share a forward pass with a key mask (a clip's
        vector does not depend on its batch); clips longer than 30 s are
        chunked as in ``"window"``. Refused in ``fit`` for other models. See
        ``docs/fm.md``.

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
        Width of the output (``pooling="none"``: of one frame).
    sampling_rate_ : int
        The model's rate in Hz.
    normalize_audio_ : bool
        Whether waveforms are normalised (``normalize_audio`` resolved against
        the checkpoint).
    min_seconds_ : float
        Shortest usable clip (the convolutional receptive field).
    batching_ : {"padded", "equal", "window"}
        How pieces share a forward pass: zero padding plus attention mask;
        equal lengths only (models whose feature encoder must not see padding:
        group-norm wav2vec2/HuBERT/WavLM base, data2vec-audio); Whisper's fixed
        30 s window.
    backend_fingerprint_ : str
        Identifies the checkpoint read in ``fit`` (its type and a fingerprint
        of its files): the encoder's ``fingerprint``, part of the
        embedding-store namespace.

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

    _parameter_constraints: ClassVar[dict] = {
        **AudioTransformer._parameter_constraints,
        "layers": [StrOptions({"last", "all"}), NumberNotBool(Integral, None, None, closed="neither"), "array-like"],
        "layer_reduce": [StrOptions(set(LAYER_REDUCES))],
        "pooling": [StrOptions(set(POOLINGS))],
        "max_seconds": [None, NumberNotBool(Real, 0, None, closed="neither")],
        "normalize_audio": [StrOptions({"auto"}), "boolean"],
        "batch_seconds": [None, StrOptions({"auto"}), NumberNotBool(Real, 0, None, closed="neither")],
        "whisper_input": [StrOptions(set(WHISPER_INPUTS))],
    }

    def __init__(
        self,
        model=DEFAULT_FM_MODEL,
        layers="last",
        layer_reduce="mean",
        pooling="mean",
        max_seconds=30.0,
        normalize_audio="auto",
        sampling_rate=None,
        device="auto",
        dtype="auto",
        batch_size="auto",
        batch_seconds="auto",
        cache_dir=None,
        progress=False,
        revision=None,
        trust_remote_code=False,
        whisper_input="window",
    ):
        self.model = model
        self.layers = layers
        self.layer_reduce = layer_reduce
        self.pooling = pooling
        self.max_seconds = max_seconds
        self.normalize_audio = normalize_audio
        self.sampling_rate = sampling_rate
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.cache_dir = cache_dir
        self.progress = progress
        self.revision = revision
        self.trust_remote_code = trust_remote_code
        self.whisper_input = whisper_input

    def __setstate__(self, state):
        # files saved by earlier versions hold ``normalize`` (and the fitted ``normalize_``):
        # the same setting, renamed so that the classifier's ``normalize`` is unambiguous
        for old, new in _RENAMED.items():
            if old in state:
                state.setdefault(new, state.pop(old))
        state.setdefault("whisper_input", "window")  # files saved before whisper_input existed
        super().__setstate__(state)

    # -- validation: the rules that link parameters to the model (each value alone is checked by its constraint) --
    def _normalize_audio(self, spec):
        """Whether waveforms are normalised: ``"auto"`` follows the checkpoint; Whisper refuses True."""
        if isinstance(self.normalize_audio, str):  # "auto"
            return spec.do_normalize
        if spec.family == "whisper" and bool(self.normalize_audio):
            raise ValueError(
                "normalize_audio=True does not apply to Whisper, whose log-mel features have their own "
                "normalisation; use normalize_audio='auto' (or False)."
            )
        return bool(self.normalize_audio)

    def _check_max_seconds(self, spec):
        """A chunk of ``max_seconds`` must pool at least as many frames of its own as it carries as context."""
        geometry = spec.geometry
        limit = self._max_samples(spec)
        if limit is not None and geometry.max_pooled_frames(limit) < max(1, geometry.context):
            shortest = ((3 * geometry.context) * geometry.hop + geometry.min_samples) / spec.sampling_rate
            raise ValueError(
                f"max_seconds={self.max_seconds} is too short for this model: a chunk carries "
                f"{geometry.context} frames of context on each side and must pool at least as many "
                f"frames of its own; use max_seconds >= {shortest:.2f}."
            )

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
        self._check_input(X, y)  # the structure of X and y, before any model file is read
        spec = read_spec(self.model, self.revision, self.trust_remote_code)
        check_whisper_input(self.whisper_input, spec.family, self.model)  # Whisper only, before any weights
        layers = resolve_layers(self.layers, spec.n_layers)
        normalize_audio = self._normalize_audio(spec)
        self._check_max_seconds(spec)
        path = resolve_model_path(self.model, self.revision, what="speech model")
        self.backend_fingerprint_ = speech_fingerprint(spec, path)  # as SpeechEncoder's
        self.model_type_ = spec.model_type
        self.n_layers_ = spec.n_layers
        self.hidden_size_ = spec.hidden_size
        self.layers_ = layers
        self.embedding_dim_ = output_dim(spec.hidden_size, len(layers), self.layer_reduce, self.pooling)
        self.sampling_rate_ = spec.sampling_rate
        self.normalize_audio_ = normalize_audio
        self.min_seconds_ = spec.geometry.min_samples / spec.sampling_rate
        self.batching_ = spec.batching
        return self

    def _encoder(self):
        device, dtype = self._device_and_dtype()
        return load_speech_encoder(self.model, self.revision, device, dtype, self.trust_remote_code)

    def _max_samples(self, spec):
        limit = None if self.max_seconds is None else int(round(self.max_seconds * spec.sampling_rate))
        return spec.geometry.max_chunk_samples(limit)

    def _namespace(self, encoder):
        spec = encoder.spec
        # frame matrices say so twice (pooling=none, frames=float16): never a pooled vector's key
        frames = {"frames": FRAME_DTYPE.name} if self.pooling == "none" else {}
        return store_namespace(
            _NAMESPACE_VERSION,
            encoder,
            rate=spec.sampling_rate,
            layers=",".join(map(str, self.layers_)),
            reduce=self.layer_reduce,
            pooling=self.pooling,
            chunk=self._max_samples(spec),
            normalize=int(self.normalize_audio_),  # the key's name predates the rename
            **frames,
            **({"whisper_input": "clip"} if self.whisper_input == "clip" else {}),  # "window" keys stay as they were
        )

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
            With ``pooling="none"``: an ndarray of object, shape (n_clips, 1),
            whose cells are read-only float16 arrays of shape
            ``(n_frames_i, embedding_dim_)`` (column ``fm_frames``).

        Raises
        ------
        ClipError
            For a clip that cannot be read or is shorter than the model's
            receptive field (the message names the clip).
        """
        check_is_fitted(self)
        clips = self._clips(X)  # the structure of X, before any model loads
        frames = self.pooling == "none"
        if len(clips) == 0:
            return np.empty((0, 1), dtype=object) if frames else np.zeros((0, self.embedding_dim_), dtype=np.float32)
        _, vectors = self._embed_clips(clips)
        if frames:
            out = np.empty((len(vectors), 1), dtype=object)
            for i, v in enumerate(vectors):  # element by element: numpy never merges the cells into one array
                out[i, 0] = v
            return out
        return np.stack(vectors).astype(np.float32, copy=False)

    def _embed_clips(self, clips, *, skip=None, report=None):
        """The store namespace of the clips' vectors (or frames) and the vectors (see :func:`encode_clips`).

        :func:`zsfuse.parallel.extract` calls it on workers with ``skip`` (the
        digests its driver holds) and ``report``.
        """
        frames = self.pooling == "none"
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
        reason = f"the receptive field of the model's convolutional feature encoder, {min_samples} samples at {rate} Hz"
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
                        clip.index,
                        clip.path,
                        f"has {wave.shape[0]} samples at {rate} Hz, fewer than the {min_samples} of {reason}.",
                        "Remove it from X or pad it.",
                    )
                if frames and self.cache_dir is not None:
                    self._check_entry_size(clip, spec.geometry.n_frames(wave.shape[0]))
                if self.normalize_audio_:
                    wave = normalize_wave(wave)
                for start, end, lo, hi in spec.geometry.chunk_bounds(wave.shape[0], max_samples):
                    pieces.append(wave[start:end])
                    ranges.append((lo, hi))
                    owners.append(j)
            stats = encoder.encode(
                pieces,
                self.layers_,
                self.layer_reduce,
                need_m2,
                batch_size=self._batch_size(encoder),
                max_batch_samples=budget,
                frame_ranges=ranges,
                frames=frames,
                whisper_input=self.whisper_input,
            )
            per_clip = [[] for _ in batch]
            for j, s in zip(owners, stats):
                per_clip[j].append(s)  # a clip's chunks, in order
            if frames:
                return [merge_frames(parts) for parts in per_clip]
            return [to_vector(merge_all(parts), self.pooling) for parts in per_clip]

        namespace = self._namespace(encoder)
        vectors = encode_clips(
            clips,
            store,
            namespace,
            encode,
            batch_size=max(self._batch_size(encoder), _MIN_DECODE_GROUP),
            progress=self.progress,
            desc="FM frames" if frames else "FM embeddings",
            skip=skip,
            report=report,
        )
        return namespace, vectors

    def _check_entry_size(self, clip, n_frames):
        """A clip's frame matrix must fit in one entry of the disk store (checked before it is encoded)."""
        size = n_frames * self.embedding_dim_ * FRAME_DTYPE.itemsize
        if size > _MAX_ENTRY_BYTES:
            raise ClipError(
                clip.index,
                clip.path,
                f"its {n_frames} frames x {self.embedding_dim_} float16 values would take {size / 1e9:.3g} GB, "
                f"more than the {_MAX_ENTRY_BYTES / 1e9:g} GB one entry of the disk cache (SQLite) can hold.",
                "Cut the clip into shorter clips, select fewer layers or use layer_reduce='mean', "
                "or run without a disk cache (cache_dir=None).",
            )

    def _feature_names(self):
        if self.pooling == "none":
            return [FRAMES_COLUMN]
        return [f"fm_{i}" for i in range(self.embedding_dim_)]

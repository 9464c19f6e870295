"""The transformers speech-model adapter: waveforms in, pooled hidden states (or their frames) out.

Two families behind one interface:

* the wav2vec 2.0 family (``wav2vec2``, ``wavlm``, ``hubert``,
  ``data2vec-audio``, ``unispeech``, ``unispeech-sat``): raw 16 kHz
  waveforms, optionally zero-mean/unit-variance normalised, through a
  convolutional feature encoder and a transformer;
* the Whisper encoder: log-mel features of a fixed 30 s window from the
  checkpoint's own ``WhisperFeatureExtractor``; frames beyond the clip are
  dropped before pooling. Or -- ``whisper_input="clip"`` -- the features of
  the piece's own length, through the encoder's modules (:mod:`._whisper`).

Hidden states are read with forward pre-hooks on the transformer layers, not
with ``output_hidden_states=True``: only the requested layers are kept (and
reduced to frame statistics at once, or -- ``frames=True`` -- kept frame by
frame in float16), and the forward stops after the last requested layer.
Index ``i < n_layers`` is the input of transformer layer ``i``
(``hidden_states[i]`` in every transformers version); index ``n_layers`` is the
model's output ``last_hidden_state`` -- after the final LayerNorm for
"stable layer norm" models, in transformers 4.x and 5.x alike (5.x moved the
final LayerNorm out of ``hidden_states[-1]``, not out of ``last_hidden_state``).

The adapter owns no front end: it receives mono float32 waveforms at its own
rate, already normalised and chunked by the estimator.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .._speech_families import SPEECH_FAMILIES
from ..exceptions import ModelKindError, UnsupportedModelError
from ..models import autocast, get_model, load_pretrained, model_fingerprint, read_model_type, resolve_model_path
from ._chunking import FrameGeometry, plan_batches
from ._pooling import FrameStats
from ._whisper import WHISPER_INPUTS, clip_features, clip_forward, clip_samples

#: ``config.model_type`` values of the wav2vec 2.0 family.
SSL_MODEL_TYPES = {f.name: f for f in SPEECH_FAMILIES}["ssl"].model_types
#: ``config.model_type`` values read as a Whisper encoder.
WHISPER_MODEL_TYPES = {f.name: f for f in SPEECH_FAMILIES}["whisper"].model_types
#: Every supported ``config.model_type``.
SUPPORTED_MODEL_TYPES = tuple(t for family in SPEECH_FAMILIES for t in family.model_types)

# Architectures whose outputs on a clip's frames do not depend on zero padding
# after it when an attention mask is passed -- *if* their feature encoder uses
# per-frame layer norm. A group-norm feature encoder normalises each channel
# over time, padding included; data2vec-audio's positional convolutions (a
# stack of convolutions with layer norm in between) carry padding back into
# the clip's last frames. Those get batches of equal-length pieces only.
_PADDING_SAFE = frozenset({"wav2vec2", "wavlm", "hubert", "unispeech", "unispeech-sat"})


@dataclass(frozen=True)
class SpeechModelSpec:
    """What the estimator needs to know about a checkpoint (read from its configs).

    Attributes
    ----------
    model_type : str
        ``config.model_type``.
    family : {"ssl", "whisper"}
        wav2vec 2.0 family or Whisper encoder.
    n_layers : int
        Transformer layers; hidden-state indices run ``0..n_layers``.
    hidden_size : int
        Width of every hidden state.
    sampling_rate : int
        Rate the model expects, in Hz.
    do_normalize : bool
        Whether the checkpoint's feature extractor normalises each waveform to
        zero mean and unit variance.
    geometry : FrameGeometry
        Samples-to-frames arithmetic.
    batching : {"padded", "equal", "window"}
        How pieces may share a forward pass (see :func:`~._chunking.plan_batches`).
    """

    model_type: str
    family: str
    n_layers: int
    hidden_size: int
    sampling_rate: int
    do_normalize: bool
    geometry: FrameGeometry
    batching: str


def _unsupported(model, model_type):
    if model_type is None:
        return UnsupportedModelError(
            f"model {model!r} holds no config.json with a model_type, so it is not a checkpoint "
            "FMEmbeddingTransformer can read: pass the folder that holds the model's config.json and "
            f"weights. Supported checkpoint types: {', '.join(SUPPORTED_MODEL_TYPES)}."
        )
    hint = ""
    if model_type == "clap":
        hint = " It is a CLAP model: give it as the zero-shot model (--clap, CLAPZeroShotTransformer)."
    return UnsupportedModelError(
        f"model {model!r} has model_type {model_type!r}, which is not a speech foundation model "
        f"FMEmbeddingTransformer supports. Supported checkpoint types: {', '.join(SUPPORTED_MODEL_TYPES)} "
        "(e.g. microsoft/wavlm-large, facebook/hubert-large-ll60k, facebook/wav2vec2-large-robust, "
        f"facebook/data2vec-audio-large, openai/whisper-small).{hint}"
    )


def read_config(path, model, trust_remote_code=False):
    """Load a checkpoint's ``config.json`` and check its model type.

    The type is read from the JSON first, before transformers sees the folder:
    a folder of another kind is refused without loading anything.
    """
    from transformers import AutoConfig

    model_type = read_model_type(path)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise _unsupported(model, model_type)
    try:
        config = load_pretrained(AutoConfig, path, trust_remote_code=trust_remote_code, what="speech model")
    except (ValueError, KeyError) as exc:  # a config this transformers cannot read
        raise _unsupported(model, model_type) from exc
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise _unsupported(model, config.model_type)
    return config


def _feature_extractor(path, model, family, config):
    from transformers import AutoFeatureExtractor

    try:
        return AutoFeatureExtractor.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError):
        pass
    warnings.warn(
        f"model {model!r} has no preprocessor_config.json; using the standard "
        f"{'Whisper' if family == 'whisper' else 'wav2vec 2.0'} feature-extractor settings "
        "(16 kHz" + ("" if family == "whisper" else ", normalisation as for the checkpoint type") + ").",
        UserWarning,
        stacklevel=4,
    )
    if family == "whisper":
        from transformers import WhisperFeatureExtractor

        return WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        sampling_rate=16000, do_normalize=getattr(config, "feat_extract_norm", "group") == "layer"
    )


def speech_fingerprint(spec, path) -> str:
    """Identify a speech model's weights: its type and a fingerprint of its files.

    Parameters
    ----------
    spec : SpeechModelSpec
        The checkpoint's facts (:func:`read_spec`).
    path : str
        Its local folder.

    Returns
    -------
    str
        ``"<model_type>:<fingerprint>"``; part of the embedding store's namespace.
    """
    return f"{spec.model_type}:{model_fingerprint(path)}"


def read_spec(model, revision=None, trust_remote_code=False) -> SpeechModelSpec:
    """Read a checkpoint's facts from its configs, without loading weights.

    Parameters
    ----------
    model : str or path-like
        Hub id or local folder.
    revision : str, optional
        Hub revision.
    trust_remote_code : bool, default=False
        Passed to transformers.

    Returns
    -------
    SpeechModelSpec

    Raises
    ------
    UnsupportedModelError
        If the checkpoint is not of a supported type.
    ModelNotFoundError
        If it cannot be found.
    """
    name = os.fspath(model)
    if name.startswith("msclap-") or (os.path.isfile(name) and name.endswith((".pth", ".pt", ".ckpt"))):
        raise ModelKindError(
            f"model {name!r} is an MS-CLAP model (a name or checkpoint file), not a speech foundation model: "
            "give it as the zero-shot model (--clap, CLAPZeroShotTransformer), and a speech model such as "
            "microsoft/wavlm-large here."
        )
    path = resolve_model_path(model, revision, what="speech model")
    key = (str(path), bool(trust_remote_code), _config_stamp(path))
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = _read_spec(path, model, trust_remote_code)
    return spec


#: read_spec's memo: every fit of every clone in a grid search reads the same
#: configs; keyed by the folder and the size and mtime of its config files.
_SPECS: dict = {}


def _config_stamp(path):
    stamp = []
    for name in ("config.json", "preprocessor_config.json"):
        try:
            st = os.stat(os.path.join(path, name))
        except OSError:
            stamp.append(None)
        else:
            stamp.append((st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def _read_spec(path, model, trust_remote_code):
    config = read_config(path, model, trust_remote_code)
    if config.model_type in WHISPER_MODEL_TYPES:
        fe = _feature_extractor(path, model, "whisper", config)
        window = int(fe.n_samples)
        expected = int(config.max_source_positions) * 2 * int(fe.hop_length)
        if window != expected:
            raise UnsupportedModelError(
                f"model {model!r}: its feature extractor makes {window}-sample windows but its encoder "
                f"takes {expected} samples ({config.max_source_positions} positions); they must agree."
            )
        geometry = FrameGeometry(receptive_field=1, hop=2 * int(fe.hop_length), kind="ceil", window=window)
        return SpeechModelSpec(
            model_type=config.model_type,
            family="whisper",
            n_layers=int(config.encoder_layers),
            hidden_size=int(config.d_model),
            sampling_rate=int(fe.sampling_rate),
            do_normalize=False,
            geometry=geometry,
            batching="window",
        )
    if getattr(config, "add_adapter", False):
        raise UnsupportedModelError(
            f"model {model!r} has an output adapter (config.add_adapter=True) that resamples the "
            "last hidden state in time; FMEmbeddingTransformer reads encoders without one."
        )
    kernels, strides = list(config.conv_kernel), list(config.conv_stride)
    receptive_field, jump = 1, 1
    for k, s in zip(kernels, strides):
        receptive_field += (int(k) - 1) * jump
        jump *= int(s)
    if config.model_type == "data2vec-audio":  # a stack of position convolutions
        context = int(config.num_conv_pos_embeddings) * (int(config.conv_pos_kernel_size) // 2)
    else:
        context = int(config.num_conv_pos_embeddings) // 2
    fe = _feature_extractor(path, model, "ssl", config)
    layer_norm = getattr(config, "feat_extract_norm", "group") == "layer"
    batching = "padded" if layer_norm and config.model_type in _PADDING_SAFE else "equal"
    return SpeechModelSpec(
        model_type=config.model_type,
        family="ssl",
        n_layers=int(config.num_hidden_layers),
        hidden_size=int(config.hidden_size),
        sampling_rate=int(fe.sampling_rate),
        do_normalize=bool(getattr(fe, "do_normalize", False)),
        geometry=FrameGeometry(receptive_field=receptive_field, hop=jump, kind="conv", context=context),
        batching=batching,
    )


def normalize_wave(wave: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance: ``Wav2Vec2FeatureExtractor``'s ``do_normalize``, bit for bit."""
    wave = np.asarray(wave, dtype=np.float32)
    return (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)


class _StopForward(Exception):
    """Raised by a hook once every requested layer has been read."""


class _Collector:
    """Reduces the requested hidden states of one forward pass to frame statistics (or keeps the frames)."""

    def __init__(self, layers, reduce, need_m2, frame_mask, counts, n_layers, frames=False):
        self.layers = tuple(layers)
        self.reduce = reduce
        self.need_m2 = need_m2
        self.frames = frames  # keep every frame (float16) instead of pooling
        self.mask = frame_mask  # (B, T) float on the device
        self.counts = counts  # (B, 1) float on the device
        self.stop_at = max(self.layers) if max(self.layers) < n_layers else None
        self.pooled = {}
        self.sum = None
        self.n_summed = 0

    def take(self, index, hidden):
        if index not in self.layers:
            return
        hidden = hidden.float()
        if hidden.shape[1] != self.mask.shape[1]:
            raise RuntimeError(
                f"hidden state {index} has {hidden.shape[1]} frames where {self.mask.shape[1]} were "
                "expected; this transformers version computes frames differently (please report it)."
            )
        if self.reduce == "mean":
            self.sum = hidden.clone() if self.sum is None else self.sum + hidden
            self.n_summed += 1
        elif self.frames:
            self.pooled[index] = hidden.half()  # float32 arithmetic, float16 storage
        else:
            self.pooled[index] = self._pool(hidden)

    def _pool(self, hidden):
        mask = self.mask.unsqueeze(-1)
        mean = (hidden * mask).sum(1) / self.counts
        m2 = None
        if self.need_m2:
            dev = (hidden - mean.unsqueeze(1)) * mask
            m2 = (dev * dev).sum(1)
        return mean, m2

    def _check_complete(self):
        if self.reduce == "mean":
            if self.n_summed != len(self.layers):
                raise RuntimeError(f"read {self.n_summed} of the {len(self.layers)} requested layers")
            return
        missing = [i for i in self.layers if i not in self.pooled]
        if missing:
            raise RuntimeError(f"hidden states {missing} were not produced by the forward pass")

    def result(self):
        """Per slot ``(mean, m2)`` tensors of shape (B, hidden)."""
        self._check_complete()
        if self.reduce == "mean":
            return [self._pool(self.sum / self.n_summed)]
        return [self.pooled[i] for i in self.layers]

    def frame_result(self):
        """The frames of every slot side by side: a float16 tensor of shape (B, T, n_slots * hidden)."""
        self._check_complete()
        if self.reduce == "mean":
            return (self.sum / self.n_summed).half()
        import torch

        return torch.cat([self.pooled[i] for i in self.layers], dim=-1)


class SpeechEncoder:
    """A loaded speech foundation model that pools hidden states of waveform pieces.

    One encoder serves every thread of the process, and their forward passes
    run concurrently: the hooks on the shared layers hand each hidden state to
    the collector of the thread that runs the forward (a ``threading.local``),
    so threads never mix their layers; the weights are only read.

    Parameters
    ----------
    model : str
        Hub id or local folder.
    revision : str, optional
        Hub revision.
    device : str
        Resolved torch device.
    dtype : torch.dtype
        Compute dtype: float16/bfloat16 run under :func:`zsfuse.models.autocast`
        (weights stay float32; norms and softmax stay float32).
    trust_remote_code : bool, default=False
        Passed to transformers.

    Attributes
    ----------
    spec : SpeechModelSpec
        Facts read from the configs.
    fingerprint : str
        Identifies the weights; part of the embedding-store namespace.
    counters : dict
        ``forward_calls``, ``pieces``, ``frames`` (computed, padding included)
        and ``valid_frames`` (inside the pieces), since loading.
    """

    def __init__(self, model, revision=None, device="cpu", dtype=None, trust_remote_code=False):
        import torch
        from transformers import AutoModel

        self.device = str(device)
        self.dtype = dtype if dtype is not None else torch.float32
        path = resolve_model_path(model, revision, what="speech model")
        self.path = path
        self.spec = read_spec(path, trust_remote_code=trust_remote_code)
        net = load_pretrained(AutoModel, path, trust_remote_code=trust_remote_code, what="speech model")
        if self.spec.family == "whisper":
            from transformers import WhisperFeatureExtractor

            net = net.encoder  # the decoder is dropped with the WhisperModel that held it
            try:
                self.feature_extractor = WhisperFeatureExtractor.from_pretrained(path)
            except (OSError, ValueError):
                self.feature_extractor = WhisperFeatureExtractor(feature_size=net.config.num_mel_bins)
            layers = net.layers
        else:
            self.feature_extractor = None
            layers = net.encoder.layers
        self.model = net.to(self.device).eval()
        if len(layers) != self.spec.n_layers:
            raise RuntimeError(f"config says {self.spec.n_layers} layers, the model has {len(layers)}")
        self.fingerprint = speech_fingerprint(self.spec, path)
        self.counters = {"forward_calls": 0, "pieces": 0, "frames": 0, "valid_frames": 0}
        self._local = threading.local()
        # transformers' WavLM attention passes a float attention mask beside a bool padding mask;
        # torch >= 2.5 warns on every forward. Harmless and upstream: silence exactly that message.
        warnings.filterwarnings(
            "ignore", message="Support for mismatched key_padding_mask and attn_mask", category=UserWarning
        )
        for i, layer in enumerate(layers):
            layer.register_forward_pre_hook(self._hook(i), with_kwargs=True)

    def _hook(self, index):
        def hook(module, args, kwargs):
            collector = getattr(self._local, "collector", None)
            if collector is None:  # someone else's forward pass: do nothing
                return None
            hidden = args[0] if args else kwargs["hidden_states"]
            collector.take(index, hidden)
            if collector.stop_at == index:
                raise _StopForward
            return None

        return hook

    # -- the public part ---------------------------------------------------------------------------
    def plan(self, lengths, batch_size, max_batch_samples=None, whisper_input="window"):
        """Forward passes for pieces of these lengths (see :func:`~._chunking.plan_batches`).

        With ``whisper_input="clip"``, Whisper pieces of different lengths share a
        pass, each counting the samples it is fed (:func:`~._whisper.clip_samples`).
        """
        geometry = self.spec.geometry
        if self._clip_input(whisper_input):
            fed = [clip_samples(n, geometry.hop, geometry.window) for n in lengths]
            return plan_batches(fed, batch_size, max_batch_samples, "padded")
        return plan_batches(lengths, batch_size, max_batch_samples, self.spec.batching, geometry.window)

    def _clip_input(self, whisper_input):
        if whisper_input not in WHISPER_INPUTS:
            raise ValueError(f"whisper_input must be one of {WHISPER_INPUTS}, got {whisper_input!r}")
        if whisper_input == "clip" and self.spec.family != "whisper":
            raise ValueError(f"whisper_input='clip' applies to Whisper encoders only, not to {self.spec.model_type!r}")
        return whisper_input == "clip"

    def encode(
        self,
        pieces,
        layers,
        layer_reduce="mean",
        need_m2=False,
        batch_size=8,
        max_batch_samples=None,
        frame_ranges=None,
        frames=False,
        whisper_input="window",
    ):
        """Frame statistics (or the frames) of every piece.

        Parameters
        ----------
        pieces : list of ndarray of float32
            Waveforms at ``spec.sampling_rate``, each at least
            ``spec.geometry.min_samples`` and at most the fixed window (Whisper).
        layers : tuple of int
            Hidden-state indices (see the module docstring).
        layer_reduce : {"mean", "concat"}
            Average the layers frame by frame (one slot), or keep one slot each.
        need_m2 : bool
            Also return squared deviations (for ``pooling="mean+std"``).
        batch_size : int
            Most pieces per forward pass.
        max_batch_samples : int, optional
            Budget of padded samples per forward pass.
        frame_ranges : list of (int, int), optional
            Per piece, the frames ``[lo, hi)`` to pool (default: all its frames);
            the others are context.
        frames : bool, default=False
            Return the frames ``[lo, hi)`` themselves instead of their statistics
            (``need_m2`` is then ignored).
        whisper_input : {"window", "clip"}, default="window"
            Whisper only: every piece in its 30 s window, or at its own length
            (see :mod:`._whisper`); pieces of different lengths then share a
            pass, with a key mask.

        Returns
        -------
        list of FrameStats, or list of ndarray of float16
            One per piece, in order. With ``frames=True``, per piece an array of
            shape ``(hi - lo, n_slots * hidden_size)``: the slots (the mean of the
            layers, or each layer in the order of ``layers``) side by side,
            computed in float32 and rounded to float16.
        """
        geometry = self.spec.geometry
        if frame_ranges is None:
            frame_ranges = [(0, geometry.n_frames(len(p))) for p in pieces]
        clip_input = self._clip_input(whisper_input)
        out = [None] * len(pieces)
        for batch in self.plan([len(p) for p in pieces], batch_size, max_batch_samples, whisper_input):
            stats = self._forward(
                [pieces[i] for i in batch],
                [frame_ranges[i] for i in batch],
                layers,
                layer_reduce,
                need_m2,
                frames,
                clip_input,
            )
            for i, s in zip(batch, stats):
                out[i] = s
        return out

    def _forward(self, waves, ranges, layers, layer_reduce, need_m2, frames=False, clip_input=False):
        import torch

        geometry = self.spec.geometry
        for w, (lo, hi) in zip(waves, ranges):
            if not 0 <= lo < hi <= geometry.n_frames(len(w)):
                raise ValueError(f"frames [{lo}, {hi}) to pool lie outside a piece of {len(w)} samples")
        counts = [hi - lo for lo, hi in ranges]
        if clip_input:  # each piece at its own length: the encoder's modules, with a key mask
            features, n_frames = clip_features(
                self.feature_extractor, waves, self.spec.sampling_rate, geometry.hop, geometry.window
            )
            inputs = {"input_features": torch.from_numpy(features)}
            n_keys = [geometry.n_frames(len(w)) for w in waves]
        elif self.spec.family == "whisper":
            features = self.feature_extractor(
                [np.asarray(w, dtype=np.float32) for w in waves],
                sampling_rate=self.spec.sampling_rate,
                return_tensors="np",
            )["input_features"]
            inputs = {"input_features": torch.from_numpy(np.asarray(features, dtype=np.float32))}
            n_frames = geometry.n_frames(geometry.window)
        else:
            longest = max(len(w) for w in waves)
            values = np.zeros((len(waves), longest), dtype=np.float32)
            mask = np.zeros((len(waves), longest), dtype=np.int64)
            for i, w in enumerate(waves):
                values[i, : len(w)] = w
                mask[i, : len(w)] = 1
            inputs = {"input_values": torch.from_numpy(values)}
            if self.spec.batching == "padded":
                inputs["attention_mask"] = torch.from_numpy(mask)
            elif len({len(w) for w in waves}) > 1:
                raise RuntimeError("pieces of different lengths in an equal-length batch")
            n_frames = geometry.n_frames(longest)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        counts_t = torch.tensor(counts, dtype=torch.float32, device=self.device)
        bounds = torch.tensor(ranges, dtype=torch.long, device=self.device)
        frame = torch.arange(n_frames, device=self.device)[None, :]
        frame_mask = ((frame >= bounds[:, :1]) & (frame < bounds[:, 1:])).float()
        collector = _Collector(
            layers, layer_reduce, need_m2, frame_mask, counts_t[:, None], self.spec.n_layers, frames=frames
        )
        self._local.collector = collector
        try:
            with torch.inference_mode(), autocast(self.device, self.dtype):
                try:
                    if clip_input:
                        last = clip_forward(self.model, inputs["input_features"], n_keys)
                    else:
                        last = self.model(**inputs).last_hidden_state
                except _StopForward:
                    last = None
                if last is not None:
                    collector.take(self.spec.n_layers, last)
                slots = collector.frame_result() if frames else collector.result()
        finally:
            self._local.collector = None
        self.counters["forward_calls"] += 1
        self.counters["pieces"] += len(waves)
        self.counters["frames"] += len(waves) * n_frames
        self.counters["valid_frames"] += int(sum(counts))
        if frames:  # (B, T, width) float16: each piece's own frames, copied out of the batch
            kept = slots.cpu().numpy()
            return [np.ascontiguousarray(kept[i, lo:hi]) for i, (lo, hi) in enumerate(ranges)]
        means = np.stack([m.double().cpu().numpy() for m, _ in slots], axis=1)  # (B, slots, D)
        m2s = np.stack([v.double().cpu().numpy() for _, v in slots], axis=1) if need_m2 else None
        return [FrameStats(counts[i], means[i], None if m2s is None else m2s[i]) for i in range(len(waves))]


def load_speech_encoder(model, revision=None, device="cpu", dtype=None, trust_remote_code=False):
    """Return the process-wide :class:`SpeechEncoder` of a model (loaded once per key)."""
    path = resolve_model_path(model, revision, what="speech model")
    key = ("fm", path, revision, device, dtype)
    return get_model(key, lambda: SpeechEncoder(path, None, device, dtype, trust_remote_code))

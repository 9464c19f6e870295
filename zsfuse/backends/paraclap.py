"""ParaCLAP: a CLAP-style model for computational paralinguistics.

Jing, Triantafyllopoulos, Schuller, "ParaCLAP -- Towards a general
language-audio model for computational paralinguistic tasks", Interspeech 2024
(arXiv 2406.07203); code github.com/KeiKinn/ParaCLAP; weights on the hub as
``KeiKinn/paraclap`` (one file, ``best.pth.tar``).

What the published code does (``models_xin.py``, ``eval.py``, ``utils.py``,
``train.py``, ``configs/config.yaml`` of github.com/KeiKinn/ParaCLAP), and what
this adapter therefore does:

* checkpoint: ``torch.save(model.state_dict())`` of its ``CLAP`` module -- a
  plain state dict, loaded with ``load_state_dict`` (strict in ``eval.py``).
  Keys: ``audio_branch.base.*`` (a transformers ``Wav2Vec2Model``),
  ``text_branch.base.*`` (a ``BertModel``, pooler included),
  ``audio_projection.{linear1,linear2}.weight``,
  ``audio_projection.layer_norm.{weight,bias}``, the same under
  ``text_projection.``, and ``logit_scale``. The checkpoint holds every
  weight; the base models (``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim``
  and ``bert-base-uncased``, named in ``eval.py`` and ``configs/config.yaml``)
  provide only their configuration and the tokenizer here, so only those
  files of them are fetched;
* audio: 16 kHz mono waveform, given to ``Wav2Vec2Model`` as it is -- no
  feature extractor, so no zero-mean unit-variance normalisation -- one clip
  at a time (``batch_size=1`` in the evaluation scripts, no padding, no
  attention mask); the clip embedding is the mean of ``last_hidden_state``
  over time;
* text: ``AutoTokenizer`` of the text model, ``padding=True, truncation=True``
  (so at most the tokenizer's ``model_max_length``, 512 for
  ``bert-base-uncased``); the embedding is the first ([CLS]) token of the last
  hidden state;
* projections (``Projection``): ``h = linear1(x)`` (no bias), then
  ``layer_norm(h + dropout(linear2(gelu(h))))`` (``linear2`` without bias;
  dropout is inactive at inference); 1024 -> 768 for audio and 768 -> 768 for
  text in the released model (the width is read from the checkpoint here);
* temperature: ``logit_scale`` is stored as a log (initialised at
  ``log(1 / 0.07)``); the forward returns ``logit_scale.exp()``, and
  ``compute_similarity`` scores ``exp(logit_scale) * cosine`` (both
  embeddings L2-normalised), predictions are the argmax. The ``temperature:
  0.003`` of ``configs/config.yaml`` is not read by the code.

Variable length: zsfuse gives the model each segment at its own length, up to
``backend_options["max_seconds"]`` (default 30 s; a longer clip is cut by the
zero-shot transformer's ``long_audio``). Several clips are batched with zero
padding and an attention mask, and the time mean is taken over each clip's
valid frames only -- exact for a layer-norm feature encoder
(``feat_extract_norm == "layer"``, as the audeering model), where every valid
frame sees only its own clip's samples. A group-norm feature encoder
normalises over time, so there the clips are batched by equal length instead,
without padding. A clip shorter than the feature encoder's receptive field
(400 samples, 25 ms, for the standard convolution stack) yields no frame; it
is zero-padded to the receptive field and embedded as that one frame.
"""

from __future__ import annotations

import contextlib
import functools
import os

import numpy as np

from ..exceptions import ModelKindError
from ..models import (
    autocast,
    load_pretrained,
    load_torch_checkpoint,
    model_fingerprint,
    read_model_type,
    resolve_hub_file,
    resolve_model_path,
)
from ._base import ClapBackend
from ._family import (
    ClapFamily,
    KnownModel,
    checkpoint_keys,
    describe_keys,
    list_keys,
    max_seconds_samples,
    state_dict_of,
)

__all__ = [
    "DEFAULT_AUDIO_MODEL",
    "DEFAULT_TEXT_MODEL",
    "FAMILY",
    "PARACLAP_FILE",
    "PARACLAP_REPO",
    "ParaCLAPBackend",
    "recognise_paraclap_checkpoint",
]

#: The released checkpoint's hub repo and file (``eval.py`` downloads exactly this file).
PARACLAP_REPO = "KeiKinn/paraclap"
PARACLAP_FILE = "best.pth.tar"
#: The base models the published code builds the towers from (``eval.py``, ``configs/config.yaml``).
DEFAULT_AUDIO_MODEL = "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim"
DEFAULT_TEXT_MODEL = "bert-base-uncased"
#: ParaCLAP's audio rate (``librosa.load(..., sr=16000)`` in ``eval.py``).
PARACLAP_SAMPLING_RATE = 16000

# state-dict prefixes of the published CLAP module
_AUDIO = "audio_branch.base."
_TEXT = "text_branch.base."
_HEADS = ("audio_projection.", "text_projection.")
_SCALE = "logit_scale"
#: Weights that do not reach an embedding: wav2vec 2.0's training-time mask
#: embedding, BERT's pooler (ParaCLAP takes the [CLS] hidden state) and the
#: position-id buffer older transformers saved. Present or absent alike.
_INERT = (_AUDIO + "masked_spec_embed", _TEXT + "pooler.", _TEXT + "embeddings.position_ids")
#: Checkpoint file names looked for in a folder, in order of preference.
_CHECKPOINT_SUFFIXES = (".pth.tar", ".pth", ".pt", ".ckpt", ".bin", ".tar")
#: Files of the base models that are read (their weights come from the ParaCLAP checkpoint).
_AUDIO_FILES = ("config.json",)
_TEXT_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",
)
#: weight-norm parameter names: torch.nn.utils.weight_norm (old) <-> parametrizations (torch >= 2.1)
_WEIGHT_NORM = (("weight_g", "parametrizations.weight.original0"), ("weight_v", "parametrizations.weight.original1"))


# -- recognising a checkpoint (keys only) ------------------------------------------------------------------------------
def recognise_paraclap_checkpoint(keys) -> bool:
    """Whether a state dict's keys are those of ParaCLAP's ``CLAP`` module.

    The rule: a wav2vec 2.0 tower under ``audio_branch.base.``, a text tower
    under ``text_branch.base.``, and a ParaCLAP projection head
    (``audio_projection.linear1.`` or ``text_projection.linear1.``). MS-CLAP
    (``audio_encoder.``/``caption_encoder.``) and LAION-CLAP (``audio_branch.``
    without ``.base``, ``audio_projection.0.``; ``module.`` in its training
    checkpoints) do not match.

    Parameters
    ----------
    keys : iterable of str
        A checkpoint's state-dict keys.

    Returns
    -------
    bool
    """
    keys = [k for k in keys if isinstance(k, str)]

    def has(prefix):
        return any(k.startswith(prefix) for k in keys)

    heads = has("audio_projection.linear1.") or has("text_projection.linear1.")
    return has(_AUDIO) and has(_TEXT) and heads


_EXPECTED = (
    "a ParaCLAP state dict (audio_branch.base.* wav2vec 2.0, text_branch.base.* BERT, "
    "audio_projection./text_projection. linear1, linear2, layer_norm, logit_scale)"
)


# -- options -----------------------------------------------------------------------------------------------------------
def _model_option(options, name, default):
    value = dict(options or {}).get(name, default)
    if value is None:
        return default
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"backend_options[{name!r}] must be a folder or hub id, got {value!r}.")
    return os.fspath(value)


def _check_options(options):
    max_seconds_samples(options, PARACLAP_SAMPLING_RATE)
    _model_option(options, "audio_model", DEFAULT_AUDIO_MODEL)
    _model_option(options, "text_model", DEFAULT_TEXT_MODEL)


# -- finding files -----------------------------------------------------------------------------------------------------
def _checkpoint_in(folder, model):
    """The ParaCLAP checkpoint file inside a folder (``best.pth.tar``, else the only checkpoint-like file)."""
    names = sorted(n for n in os.listdir(folder) if not n.startswith(".") and os.path.isfile(os.path.join(folder, n)))
    if PARACLAP_FILE in names:
        return os.path.join(folder, PARACLAP_FILE)
    found = [n for n in names if n.endswith(_CHECKPOINT_SUFFIXES)]
    if len(found) == 1:
        return os.path.join(folder, found[0])
    what = f"several checkpoint files {found}" if found else f"no checkpoint file (files: {names[:8]})"
    raise ModelKindError(
        f"ParaCLAP model {model!r} ({folder}) is a folder with {what}; expected {PARACLAP_FILE} or one "
        "checkpoint file (.pth.tar, .pth, .pt, .ckpt, .bin). Give the checkpoint file itself."
    )


def locate_paraclap(model, *, revision=None, options=None):
    """The ParaCLAP checkpoint file of ``model``, without loading it.

    Parameters
    ----------
    model : str or path-like
        A checkpoint file; a folder holding one; ``"KeiKinn/paraclap"`` (its
        ``best.pth.tar`` is fetched into, or read from, the Hugging Face cache --
        only from the cache with ``HF_HUB_OFFLINE=1``); or another hub id whose
        repo holds one checkpoint file.
    revision : str, optional
        Hub revision.
    options : dict, optional
        ``backend_options`` (unused here).

    Returns
    -------
    str
        Absolute path of the checkpoint file.

    Raises
    ------
    ModelNotFoundError
        Neither a local file or folder nor available from the hub cache.
    ModelKindError
        A folder without exactly one checkpoint file.
    """
    model = os.fspath(model)
    if os.path.isfile(model):
        return os.path.abspath(model)
    if os.path.isdir(model):
        return _checkpoint_in(os.path.abspath(model), model)
    if model == PARACLAP_REPO:
        return resolve_hub_file(
            PARACLAP_REPO,
            PARACLAP_FILE,
            revision,
            what="ParaCLAP checkpoint",
            local=f"the {PARACLAP_FILE} file as the model",
        )
    folder = resolve_model_path(model, revision, what="ParaCLAP model")
    return _checkpoint_in(folder, model)


_AUDIO_WHAT = "ParaCLAP audio tower (wav2vec 2.0)"
_TEXT_WHAT = "ParaCLAP text tower"


def _base_model_folder(name, files, what):
    """A local folder holding a base model's ``files`` (config, tokenizer): the folder, or a hub snapshot of them.

    Only the named files of a hub repo are fetched (its weights are not needed:
    the ParaCLAP checkpoint holds them); nothing is fetched with
    ``HF_HUB_OFFLINE=1``.
    """
    return resolve_model_path(name, what=what, allow_patterns=files)


# -- refusing the wrong kind -------------------------------------------------------------------------------------------
def check_paraclap(model, path, *, trust_remote_code=False, options=None):
    """Refuse what is not a ParaCLAP checkpoint, before any weight loads into a model.

    Parameters
    ----------
    model : str
        The model as given (for messages).
    path : str
        The located checkpoint file.
    trust_remote_code : bool, default=False
        Unused: ParaCLAP runs no code of its own.
    options : dict, optional
        ``backend_options`` (checked).

    Raises
    ------
    ModelKindError
        A folder, or a checkpoint whose keys are not ParaCLAP's: the message
        says what it holds, which family's it is when one recognises it, and
        what was expected.
    ValueError
        Bad options.
    """
    _check_options(options)
    _require_file(model, path)
    _refuse_unless_paraclap(model, path, checkpoint_keys(path))
    # the base models' configurations and tokenizer must be at hand too (found, not loaded)
    _base_model_folder(_model_option(options, "audio_model", DEFAULT_AUDIO_MODEL), _AUDIO_FILES, _AUDIO_WHAT)
    _base_model_folder(_model_option(options, "text_model", DEFAULT_TEXT_MODEL), _TEXT_FILES, _TEXT_WHAT)


def _require_file(model, path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelKindError(
            f"ParaCLAP model {model!r} ({path}) is not a checkpoint file; expected {_EXPECTED}, as "
            f"{PARACLAP_REPO}'s {PARACLAP_FILE}."
        )


def _refuse_unless_paraclap(model, path, keys):
    """Refuse ``keys`` that are not ParaCLAP's (the registry has already named another family's, when forced)."""
    if recognise_paraclap_checkpoint(keys):
        return
    raise ModelKindError(f"ParaCLAP model {model!r} ({path}) holds {describe_keys(keys)}, not {_EXPECTED}.")


# -- the model ---------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _projection_class():
    """ParaCLAP's projection head as a torch module class (built on first use: torch is imported lazily)."""
    import torch
    import torch.nn.functional as F

    class ParaCLAPProjection(torch.nn.Module):
        """``layer_norm(h + linear2(gelu(h)))`` with ``h = linear1(x)``; both linears without bias.

        The published head has a dropout on the ``linear2`` branch; it is the
        identity at inference and holds no weight, so it is left out.
        """

        def __init__(self, d_in, d_out):
            super().__init__()
            self.linear1 = torch.nn.Linear(d_in, d_out, bias=False)
            self.linear2 = torch.nn.Linear(d_out, d_out, bias=False)
            self.layer_norm = torch.nn.LayerNorm(d_out)

        def forward(self, x):
            h = self.linear1(x)
            return self.layer_norm(h + self.linear2(F.gelu(h)))

    return ParaCLAPProjection


def _no_init_weights():
    """transformers' context that skips random initialisation (every weight is loaded after), if it has one."""
    for module in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            return __import__(module, fromlist=["no_init_weights"]).no_init_weights()
        except (ImportError, AttributeError):
            continue
    return contextlib.nullcontext()


def _receptive_field(config):
    """Samples one output frame of the convolutional feature encoder sees (400 for the standard stack)."""
    field, hop = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        field += (int(kernel) - 1) * hop
        hop *= int(stride)
    return field


def _rename_weight_norm(state, expected):
    """Map weight-norm names between torch's two layouts, to the one the model expects."""
    out = {}
    for key, value in state.items():
        new = key
        if key not in expected:
            for old, param in _WEIGHT_NORM:
                for a, b in ((old, param), (param, old)):
                    if key.endswith("." + a) and key[: -len(a)] + b in expected:
                        new = key[: -len(a)] + b
        out[new] = value
    return out


def _inert(key):
    return key.startswith(_INERT)


class ParaCLAPBackend(ClapBackend):
    """ParaCLAP: wav2vec 2.0 + BERT towers, projection heads and temperature from one checkpoint.

    Audio goes in as a list of 1-D 16 kHz waveforms of 1 to ``window_samples``
    samples, as they are (no normalisation, as the published code); text as
    prompt strings, tokenised by the text model's tokenizer (under
    :attr:`tokenizer_lock`).

    Parameters
    ----------
    model : str
        The model as given (for messages).
    path : str
        The located checkpoint file.
    device : str, default="cpu"
        A resolved device.
    dtype : torch.dtype, optional
        Compute dtype (float16/bfloat16 through autocast; weights stay float32).
    options : dict, optional
        ``max_seconds`` (default 30), ``audio_model`` (default
        ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim``) and
        ``text_model`` (default ``bert-base-uncased``): folders or hub ids
        whose ``config.json`` (and, for the text model, tokenizer) are used.

    Attributes
    ----------
    embedding_dim : int
        Width of the joint space (768 for the released model).
    pad_safe : bool
        Whether clips of different lengths are batched with padding and a mask
        (a layer-norm feature encoder) or grouped by equal length.
    min_samples : int
        The feature encoder's receptive field; shorter clips are zero-padded to it.
    checkpoint : str
        The checkpoint file.
    audio_model, text_model : str
        Local folders of the base models' configuration (and tokenizer).

    Raises
    ------
    ModelKindError
        The checkpoint is not ParaCLAP's, misses or has extra weights (named),
        or does not fit the base models' configuration.
    """

    name = "paraclap"
    variable_length = True
    native_pad_mode = "none"
    sampling_rate = PARACLAP_SAMPLING_RATE

    def __init__(self, model, path, device="cpu", dtype=None, options=None):
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer, Wav2Vec2Config, Wav2Vec2Model

        super().__init__()
        _check_options(options)
        _require_file(model, path)
        self.device = device
        self.dtype = dtype if dtype is not None else torch.float32
        self.window_samples = max_seconds_samples(options, PARACLAP_SAMPLING_RATE)
        self.checkpoint = os.path.abspath(os.fspath(path))
        audio_name = _model_option(options, "audio_model", DEFAULT_AUDIO_MODEL)
        text_name = _model_option(options, "text_model", DEFAULT_TEXT_MODEL)
        self.audio_model = _base_model_folder(audio_name, _AUDIO_FILES, _AUDIO_WHAT)
        self.text_model = _base_model_folder(text_name, _TEXT_FILES, _TEXT_WHAT)
        audio_type = read_model_type(self.audio_model)
        if audio_type != "wav2vec2":
            found = f"a {audio_type!r} model" if audio_type else "no config.json with a model_type"
            raise ModelKindError(
                f"ParaCLAP audio_model {audio_name!r} ({self.audio_model}) holds {found}; ParaCLAP's audio tower "
                f"is a wav2vec 2.0 model (model_type 'wav2vec2'), by default {DEFAULT_AUDIO_MODEL}."
            )
        audio_config = Wav2Vec2Config.from_pretrained(self.audio_model)
        text_config = AutoConfig.from_pretrained(self.text_model, trust_remote_code=False)
        self.tokenizer = load_pretrained(AutoTokenizer, self.text_model, what="ParaCLAP tokenizer")

        state = state_dict_of(load_torch_checkpoint(self.checkpoint, what="ParaCLAP checkpoint"))
        _refuse_unless_paraclap(model, self.checkpoint, list(state))
        dims = self._head_dims(state, model)
        Projection = _projection_class()
        with _no_init_weights():
            audio = Wav2Vec2Model(audio_config)
            text = AutoModel.from_config(text_config, trust_remote_code=False)
            net = torch.nn.Module()
            net.audio_branch = torch.nn.Module()
            net.audio_branch.base = audio
            net.text_branch = torch.nn.Module()
            net.text_branch.base = text
            net.audio_projection = Projection(dims["audio_projection."][1], dims["audio_projection."][0])
            net.text_projection = Projection(dims["text_projection."][1], dims["text_projection."][0])
            net.logit_scale = torch.nn.Parameter(torch.zeros(()))
        self._load_state(net, state, model, audio_config, text_config)
        self.model = net.to(device).eval()

        self.embedding_dim = int(dims["audio_projection."][0])
        self.pad_safe = getattr(audio_config, "feat_extract_norm", "group") == "layer"
        self.min_samples = _receptive_field(audio_config)
        limits = [int(getattr(text_config, "max_position_embeddings", 512))]
        tok_limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_limit, int) and 0 < tok_limit < 10**6:
            limits.append(tok_limit)
        self.max_text_tokens = min(limits)
        self.fingerprint = (
            f"paraclap:{model_fingerprint(self.checkpoint)}"
            f":audio={model_fingerprint(os.path.join(self.audio_model, 'config.json'))}"
            f":text={model_fingerprint(self.text_model)}"
        )

    # -- loading -----------------------------------------------------------------------------------------------------
    def _head_dims(self, state, model):
        """``{head prefix: (d_out, d_in)}`` from the heads' ``linear1`` weights; a missing head is named."""
        dims = {}
        for head in _HEADS:
            weight = state.get(head + "linear1.weight")
            if weight is None or getattr(weight, "ndim", 0) != 2:
                raise ModelKindError(
                    f"ParaCLAP checkpoint {model!r} ({self.checkpoint}) has no {head}linear1.weight matrix; "
                    f"missing weights: {list_keys([head + 'linear1.weight'])}."
                )
            dims[head] = (int(weight.shape[0]), int(weight.shape[1]))
        if dims["audio_projection."][0] != dims["text_projection."][0]:
            raise ModelKindError(
                f"ParaCLAP checkpoint {model!r} ({self.checkpoint}) projects audio to "
                f"{dims['audio_projection.'][0]} and text to {dims['text_projection.'][0]} dimensions; "
                "both heads must share the joint space."
            )
        return dims

    def _load_state(self, net, state, model, audio_config, text_config):
        """Load ``state`` into ``net``, refusing missing or unexpected weights and shape mismatches."""
        import torch

        expected = net.state_dict()
        state = _rename_weight_norm(state, expected)
        missing = sorted(k for k in expected if k not in state and not _inert(k))
        unexpected = sorted(k for k in state if k not in expected and not _inert(k))
        where = (
            f"with audio_model config {self.audio_model} (hidden size {audio_config.hidden_size}, "
            f"{audio_config.num_hidden_layers} layers) and text_model config {self.text_model}"
        )
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"{len(missing)} weights missing: {list_keys(missing)}")
            if unexpected:
                parts.append(f"{len(unexpected)} unexpected weights: {list_keys(unexpected)}")
            raise ModelKindError(
                f"ParaCLAP checkpoint {model!r} ({self.checkpoint}) does not fit the ParaCLAP architecture "
                f"{where}: {'; '.join(parts)}."
            )
        wrong = [
            f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
            for k, v in expected.items()
            if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)
        ]
        if wrong:
            raise ModelKindError(
                f"ParaCLAP checkpoint {model!r} ({self.checkpoint}) does not fit the ParaCLAP architecture {where}: "
                f"{len(wrong)} weights of another shape (checkpoint vs model), e.g. {wrong[:4]}. Give the base "
                "models it was trained from as backend_options audio_model and text_model."
            )
        kept = {k: v for k, v in state.items() if k in expected}
        net.load_state_dict(kept, strict=False)
        # inert parameters the checkpoint lacks (never used for an embedding): zeros, not uninitialised memory
        with torch.no_grad():
            for name, param in net.named_parameters():
                if name not in kept:
                    param.zero_()

    # -- audio ------------------------------------------------------------------------------------------------------
    def _groups(self, lengths):
        """Batches of clip indices: all at once (padding is masked exactly), or by equal length."""
        if self.pad_safe:
            return [list(range(len(lengths)))]
        groups = {}
        for i, n in enumerate(lengths):
            groups.setdefault(n, []).append(i)
        return list(groups.values())

    def _embed_batch(self, waves):
        import torch

        batch, lengths = self._padded(waves, self.min_samples)
        longest = batch.shape[1]
        x = torch.from_numpy(batch).to(self.device)
        ragged = len(set(lengths)) > 1
        base = self.model.audio_branch.base
        with torch.inference_mode(), autocast(self.device, self.dtype):
            if ragged:
                samples = torch.tensor(lengths, device=self.device)
                mask = (torch.arange(longest, device=self.device)[None] < samples[:, None]).long()
                hidden = base(x, attention_mask=mask).last_hidden_state.float()
                frames = base._get_feat_extract_output_lengths(samples).long()
                valid = (torch.arange(hidden.shape[1], device=self.device)[None] < frames[:, None]).to(hidden.dtype)
                pooled = (hidden * valid[..., None]).sum(1) / frames[:, None].to(hidden.dtype)
            else:
                pooled = base(x).last_hidden_state.float().mean(1)
            out = self.model.audio_projection(pooled)
        return out.float().cpu().numpy()

    def embed_audio(self, waves):
        """Embed 1-D 16 kHz waveforms of 1 to ``window_samples`` samples -> (n, dim) float32.

        Parameters
        ----------
        waves : sequence of 1-D array-like
            The segments, each at its own length. One shorter than
            :attr:`min_samples` (400) is zero-padded to it.

        Returns
        -------
        ndarray of float32, shape (n, dim)
            In input order; the projection's output (not normalised: scores
            use cosines).
        """
        waves = self._checked_waves(waves)
        out = np.zeros((len(waves), self.embedding_dim), dtype=np.float32)
        if not waves:
            return out
        lengths = [max(w.shape[0], self.min_samples) for w in waves]
        for group in self._groups(lengths):
            out[group] = self._embed_batch([waves[i] for i in group])
        return out

    # -- text -------------------------------------------------------------------------------------------------------
    def embed_text(self, texts):
        """Embed prompt strings -> (n, dim) float32: BERT's [CLS] hidden state, projected."""
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        tokens = self._tokenize_padded(texts)
        inputs = {
            k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask", "token_type_ids")
        }
        with torch.inference_mode(), autocast(self.device, self.dtype):
            hidden = self.model.text_branch.base(**inputs)[0]
            out = self.model.text_projection(hidden[:, 0].float())
        return out.float().cpu().numpy()

    def logit_scale(self):
        """``exp(logit_scale)``: the published scores are this times the cosine."""
        return float(self.model.logit_scale.detach().exp().cpu())


def _load(model, path, *, revision=None, device="cpu", dtype=None, trust_remote_code=False, options=None):
    return ParaCLAPBackend(model, path, device=device, dtype=dtype, options=options)


def _locate(model, *, revision=None, options=None):
    return locate_paraclap(model, revision=revision, options=options)


FAMILY = ClapFamily(
    name="paraclap",
    title="ParaCLAP",
    summary=(
        "ParaCLAP (KeiKinn/paraclap): CLAP for computational paralinguistics, wav2vec 2.0 (audeering emotion "
        "model) + BERT, trained on MSP-Podcast; 16 kHz variable-length audio; one checkpoint file"
    ),
    load=_load,
    locate=_locate,
    check=check_paraclap,
    recognise_checkpoint=recognise_paraclap_checkpoint,
    known_models=(
        KnownModel(
            PARACLAP_REPO,
            training_corpora=("msp-podcast",),
            source=(
                "Jing et al., Interspeech 2024, arXiv 2406.07203 (ParaCLAP trained on MSP-Podcast with "
                "eGeMAPS-templated captions); github.com/KeiKinn/ParaCLAP train.py + configs/config.yaml "
                "(MSP-Podcast categories.consensus.train); audio tower from "
                "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim (fine-tuned on MSP-Podcast, arXiv 2203.07378)"
            ),
            licence=(
                "not stated (no LICENSE in github.com/KeiKinn/ParaCLAP); its audio tower derives from "
                "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim, CC-BY-NC-SA-4.0"
            ),
            note=(
                "MSP-Podcast is in its training data (both ParaCLAP's and its audio tower's); the base models "
                "provide only configuration and tokenizer, the checkpoint holds every weight"
            ),
        ),
    ),
    options={
        "max_seconds": "longest segment in seconds given to the model, default 30.0 (longer: long_audio)",
        "audio_model": f"folder or hub id of the wav2vec 2.0 configuration, default {DEFAULT_AUDIO_MODEL}",
        "text_model": f"folder or hub id of the text configuration and tokenizer, default {DEFAULT_TEXT_MODEL}",
    },
    sampling_rate=PARACLAP_SAMPLING_RATE,
    window="variable (<= max_seconds, default 30 s)",
    pooling=(
        "mean of wav2vec 2.0's last hidden state over the clip's frames, projection head; text: BERT [CLS], "
        "projection head"
    ),
    audio_repeats="tiles the clip; the model sees the longer clip as it is (capped at max_seconds)",
    pad_mode=(
        "none: each clip at its own length, not normalised (as published); a batch is zero-padded with an "
        "attention mask and the mean taken over valid frames, so padding does not reach the embedding; clips "
        "under 400 samples are zero-padded to 400"
    ),
    needs="",
)

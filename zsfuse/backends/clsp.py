"""CLSP: contrastive language-speech pre-training with fine-grained style captions.

Yang et al. 2026, "Towards Fine-Grained and Multi-Granular Contrastive
Language-Speech Pre-training" (arXiv 2601.03065, ACL 2026); hub id
``yfyeung/CLSP``, code github.com/yfyeung/CLSP (Apache-2.0).

CLSP's architecture is not part of transformers: the checkpoint folder ships
it as Python code (``config.json``'s ``auto_map``), and loading it runs that
code. zsfuse therefore refuses to load a CLSP model -- before any of its code
runs -- unless ``trust_remote_code=True`` (``--trust-remote-code``) was given.

Calls follow the published README (github.com/yfyeung/CLSP, "Usage"):

* audio: ``model(audio=audio, audio_lens=audio_lens)`` with 16 kHz mono
  float32 waveforms of shape ``(N, T)``, zero-padded to the longest
  (``pad_sequence``), and ``audio_lens`` their lengths in samples; the first
  output is the audio embedding;
* text: ``model(text=[...])`` with raw strings (the model tokenises); the
  second output is the text embedding;
* scores: the dot product of the two embeddings. The published training code
  (``yfyeung/icefall``, ``egs/emilia/CLAP/spear_roberta/model.py``)
  L2-normalises both, so dot products are cosines, and returns
  ``logit_scale.exp()`` -- a learned CLIP-style temperature initialised at
  ``1 / 0.07`` -- as the third output, which the README's examples discard
  (they take an argmax). :meth:`CLSPBackend.logit_scale` is that third
  output, read once at load; 1.0 when the model returns none.

zsfuse gives the model each segment at its own length: the clip (tiled
``audio_repeats`` times) up to ``backend_options["max_seconds"]`` (default
30 s); a longer clip is cut by the zero-shot transformer's ``long_audio``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np

from ..exceptions import ModelKindError, RemoteCodeError
from ..models import autocast, load_pretrained, model_fingerprint, trusts_remote_code
from ._base import ClapBackend
from ._family import ClapFamily, KnownModel, describe_config, max_seconds_samples, read_config_json

__all__ = ["CLSPBackend", "FAMILY", "recognise_clsp_config"]

#: CLSP's audio rate (the README resamples every clip to 16 kHz).
CLSP_SAMPLING_RATE = 16000
#: Longest prompt assumed when the model exposes no tokenizer: RoBERTa-base's
#: 512 tokens (the text tower of the published training code).
_ROBERTA_MAX_TOKENS = 512
#: The prompt embedded once at load to read the embedding width and the temperature.
_PROBE_TEXT = "A speaker."


# -- recognising a CLSP folder (plain JSON: no code runs) -------------------------------------------------------
def _auto_model_entry(config):
    """The ``auto_map`` ``AutoModel`` class reference of a config dict, or None."""
    auto_map = config.get("auto_map") if isinstance(config, Mapping) else None
    if not isinstance(auto_map, Mapping):
        return None
    entry = auto_map.get("AutoModel")
    if isinstance(entry, (list, tuple)):
        entry = next((e for e in entry if isinstance(e, str)), None)
    return entry if isinstance(entry, str) and entry else None


def _code_files(config):
    """The Python files an ``auto_map`` names (``"repo--modeling_x.Cls"`` -> ``modeling_x.py``), in order."""
    auto_map = config.get("auto_map") if isinstance(config, Mapping) else None
    refs = []
    for value in (auto_map or {}).values():
        refs += [v for v in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(v, str)]
    files = []
    for ref in refs:
        module = ref.split("--", 1)[-1].rpartition(".")[0]
        name = module.replace(".", "/") + ".py" if module else None
        if name and name not in files:
            files.append(name)
    return files


def recognise_clsp_config(config) -> bool:
    """Whether a ``config.json`` (as a dict) is a CLSP checkpoint's.

    The rule, on content only: ``model_type`` is ``"clsp"``, or the
    ``auto_map`` ``AutoModel`` entry names a CLSP class or module, or an
    ``architectures`` entry does (each compared case-insensitively with
    "clsp"). The hub checkpoint's own ``config.json`` was not available when
    this was written: the README loads it with ``AutoModel`` and
    ``trust_remote_code=True``, so it has an ``auto_map`` ``AutoModel`` entry,
    whose class and module names are not documented.

    Parameters
    ----------
    config : dict
        The parsed ``config.json``.

    Returns
    -------
    bool
    """
    if not isinstance(config, Mapping):
        return False
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type.lower() == "clsp":
        return True
    entry = _auto_model_entry(config)
    if entry is not None and "clsp" in entry.lower():
        return True
    architectures = config.get("architectures")
    if isinstance(architectures, (list, tuple)):
        return any(isinstance(a, str) and "clsp" in a.lower() for a in architectures)
    return False


def check_clsp(model, path, *, trust_remote_code=False, options=None):
    """Refuse what cannot be loaded as CLSP, before any weight loads or any of its code runs.

    Parameters
    ----------
    model : str
        The model as given (for messages).
    path : str
        Its located folder.
    trust_remote_code : bool, default=False
        Whether the caller allows the folder's code to run.
    options : dict, optional
        ``backend_options`` (``max_seconds`` is checked).

    Raises
    ------
    ModelKindError
        Not a folder, or a folder whose ``config.json`` is not CLSP's (the
        message says what it declares: ``model_type``, ``auto_map``,
        ``architectures``), or one without an ``auto_map`` ``AutoModel`` entry.
    RemoteCodeError
        ``trust_remote_code`` is not True: the message names the code files
        and how to allow them.
    ValueError
        A bad ``max_seconds``.
    """
    max_seconds_samples(options, CLSP_SAMPLING_RATE)
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ModelKindError(
            f"CLSP model {model!r} ({path}) is a file; a CLSP model is a folder (or hub id such as yfyeung/CLSP) "
            "holding config.json, its Python code and the weights."
        )
    config = read_config_json(path)
    if not recognise_clsp_config(config):
        raise ModelKindError(
            f"CLSP model {model!r} ({path}) holds {describe_config(config)}, not a CLSP checkpoint "
            "(config.json model_type 'clsp', or an auto_map AutoModel entry naming a CLSP class). Give "
            "yfyeung/CLSP or a folder holding its files."
        )
    entry = _auto_model_entry(config)
    if entry is None:
        raise ModelKindError(
            f"CLSP model {model!r} ({path}) has no auto_map AutoModel entry in its config.json: CLSP's "
            "architecture is code shipped with the checkpoint, and this folder does not say where it is."
        )
    if not trusts_remote_code(trust_remote_code):
        files = ", ".join(_code_files(config)) or entry
        raise RemoteCodeError(
            f"CLSP model {model!r} is not built into transformers: its architecture is Python code shipped in "
            f"the checkpoint folder {path} (config.json auto_map AutoModel -> {entry!r}; files: {files}). "
            "Loading it runs that code on this machine with your privileges. Read those files, and if you "
            "trust them allow it with trust_remote_code=True (CLAPZeroShotTransformer(..., "
            "trust_remote_code=True), load_clap_backend(..., trust_remote_code=True)) or --trust-remote-code "
            "on the command line. Nothing was loaded or run."
        )


# -- the backend ----------------------------------------------------------------------------------------------------
def _output_array(out, index, what, n):
    """Output ``index`` of the model's forward as float32 numpy of shape (n, dim), else a clear error."""
    import torch

    value = out[index] if isinstance(out, (tuple, list)) and len(out) > index else None
    if not isinstance(value, torch.Tensor) or value.ndim != 2 or value.shape[0] != n:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise RuntimeError(
            f"the CLSP model's forward returned {shape} as its {what} embedding (output {index}) for {n} "
            "input(s); expected a (n, dim) tensor, as the published README's (audio, text, _) outputs."
        )
    return value.detach().float().cpu().numpy()


class CLSPBackend(ClapBackend):
    """A CLSP checkpoint, loaded with ``AutoModel`` and its own code, called as its README shows.

    Audio goes in as a list of 1-D 16 kHz waveforms of 1 to ``window_samples``
    samples; one batch is zero-padded to its longest clip and the lengths (in
    samples) are passed, so the model masks the padding. Text goes in as raw
    strings through ``model(text=[...])``; the model tokenises, so the whole
    text forward runs under :attr:`tokenizer_lock` (a fast tokenizer is not
    thread-safe).

    Parameters
    ----------
    model : str
        The model as given (for messages).
    path : str
        Its located folder.
    device : str, default="cpu"
        A resolved device.
    dtype : torch.dtype, optional
        Compute dtype (float16/bfloat16 through autocast; weights stay float32).
    trust_remote_code : bool, default=False
        Must be True: the folder's code runs.
    options : dict, optional
        ``{"max_seconds": float}``, the longest segment (default 30).

    Attributes
    ----------
    embedding_dim : int
        Width of the joint space (read from one prompt embedded at load).
    """

    name = "clsp"
    variable_length = True
    native_pad_mode = "none"
    sampling_rate = CLSP_SAMPLING_RATE

    def __init__(self, model, path, device="cpu", dtype=None, trust_remote_code=False, options=None):
        import torch
        from transformers import AutoModel

        super().__init__()
        check_clsp(model, path, trust_remote_code=trust_remote_code, options=options)
        self.device = device
        self.dtype = dtype if dtype is not None else torch.float32
        self.path = os.path.abspath(os.fspath(path))
        self.window_samples = max_seconds_samples(options, CLSP_SAMPLING_RATE)
        self.model = load_pretrained(AutoModel, self.path, trust_remote_code=True, what="CLSP model").to(device).eval()
        tokenizer = getattr(self.model, "tokenizer", None)
        self._tokenizer = tokenizer if callable(tokenizer) else None
        limit = getattr(self._tokenizer, "model_max_length", None)
        self.max_text_tokens = int(limit) if isinstance(limit, int) and 0 < limit < 10**6 else _ROBERTA_MAX_TOKENS
        self.fingerprint = f"clsp:{model_fingerprint(self.path)}"
        out = self._text_forward([_PROBE_TEXT])
        self.embedding_dim = int(_output_array(out, 1, "text", 1).shape[1])
        self._logit_scale = self._read_scale(out)

    @staticmethod
    def _read_scale(out):
        """The forward's third output when it is one finite positive number, else 1.0."""
        import torch

        third = out[2] if isinstance(out, (tuple, list)) and len(out) > 2 else None
        if isinstance(third, torch.Tensor) and third.numel() == 1:
            value = float(third.detach().float().cpu())
            if math.isfinite(value) and value > 0:
                return value
        return 1.0

    def _text_forward(self, texts):
        import torch

        with self.tokenizer_lock, torch.inference_mode(), autocast(self.device, self.dtype):
            return self.model(text=list(texts))

    def embed_audio(self, waves):
        """Embed 1-D 16 kHz waveforms of 1 to ``window_samples`` samples -> (n, dim) float32.

        Parameters
        ----------
        waves : sequence of 1-D array-like
            The segments, each at its own length.

        Returns
        -------
        ndarray of float32, shape (n, dim)
            In input order, as the model returns them (L2-normalised by CLSP).
        """
        import torch

        waves = self._checked_waves(waves)
        if not waves:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        batch, lengths = self._padded(waves)
        audio = torch.from_numpy(batch).to(self.device)
        audio_lens = torch.tensor(lengths, dtype=torch.long, device=self.device)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.model(audio=audio, audio_lens=audio_lens)
        return _output_array(out, 0, "audio", len(waves))

    def embed_text(self, texts):
        """Embed prompt strings -> (n, dim) float32 (``model(text=[...])``, under the tokenizer lock)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        if self._tokenizer is not None:
            with self.tokenizer_lock:
                lengths = [len(ids) for ids in self._tokenizer(texts)["input_ids"]]
            too_long = [t for t, n in zip(texts, lengths) if n > self.max_text_tokens]
            self._warn_truncated(too_long, self.max_text_tokens)
        return _output_array(self._text_forward(texts), 1, "text", len(texts))

    def logit_scale(self):
        """The temperature the model's forward returns third (its learned ``logit_scale.exp()``); 1.0 if none."""
        return self._logit_scale


def _load(model, path, *, revision=None, device="cpu", dtype=None, trust_remote_code=False, options=None):
    return CLSPBackend(model, path, device=device, dtype=dtype, trust_remote_code=trust_remote_code, options=options)


_CLSP_SOURCE = (
    "arXiv 2601.03065 (Yang et al., ACL 2026), abstract: trained on FCaps; FCaps dataset card (huggingface.co/datasets/"
    "yfyeung/FCaps): FCaps-Emilia = Emilia EN (46,787 h), FCaps-PSCBase = ParaSpeechCaps train_base (audio from "
    "VoxCeleb1/2, Expresso, EARS)"
)

FAMILY = ClapFamily(
    name="clsp",
    title="CLSP",
    summary=(
        "CLSP (yfyeung/CLSP): contrastive language-speech model trained on fine-grained speaking-style captions; "
        "16 kHz variable-length audio; runs the checkpoint's own code"
    ),
    load=_load,
    check=check_clsp,
    recognise_config=recognise_clsp_config,
    known_models=(
        KnownModel(
            "yfyeung/CLSP",
            training_corpora=("emilia", "voxceleb1", "voxceleb2", "expresso", "ears"),
            source=_CLSP_SOURCE,
            licence="Apache-2.0 (github.com/yfyeung/CLSP README; FCaps captions: CC-BY-NC-SA-4.0)",
            note=(
                "FCaps's audio holds none of IEMOCAP, MSP-Podcast, RAVDESS, CREMA-D, EmoDB or TESS (EARS and "
                "Expresso are acted expressive speech); in the published recipe (yfyeung/icefall spear_roberta) the "
                "audio tower starts from a pre-trained SPEAR Zipformer, whose data is not listed here, and the text "
                "tower from roberta-base"
            ),
        ),
    ),
    options={"max_seconds": "longest segment in seconds given to the model, default 30.0 (longer: long_audio)"},
    sampling_rate=CLSP_SAMPLING_RATE,
    window="variable (<= max_seconds, default 30 s)",
    pooling=(
        "the model's own: in the published training code, mean of the audio encoder's frames over the valid "
        "length, MLP, L2-normalised; text: RoBERTa pooler, MLP, L2-normalised"
    ),
    audio_repeats="tiles the clip; the model sees the longer clip as it is (capped at max_seconds)",
    pad_mode=(
        "none: each clip at its own length; a batch is zero-padded to its longest clip and the lengths are "
        "passed, so padding does not reach the embedding"
    ),
    needs="trust_remote_code=True",
)

"""MS-CLAP 2022 and 2023 through msclap's own model classes.

zsfuse uses msclap's ``CLAP`` module (audio tower, text tower, projections,
temperature) and replaces the two parts of ``CLAPWrapper`` that are unsafe:
its audio reader (random crop, stereo channels concatenated, torchaudio file
decoding) and its text path (``encode_plus``, gone in transformers 5; no
truncation of long prompts; GPT-2 pooled at the first "!" because "!" is its
padding token). Here the text is tokenised to the config's ``text_len`` with
the end-of-text token kept last, and GPT-2 is pooled at the last real token
found from the attention mask.
"""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np

from .._defaults import DEFAULT_CLAP_MODEL
from ..exceptions import ModelNotFoundError
from ..models import (
    autocast,
    load_torch_checkpoint,
    model_fingerprint,
    require_extra,
    resolve_hub_file,
    resolve_model_path,
)
from ._base import ClapBackend
from ._family import ClapFamily, KnownModel

MSCLAP_REPO = "microsoft/msclap"
MSCLAP_FILES = {"2022": "CLAP_weights_2022.pth", "2023": "CLAP_weights_2023.pth"}
MSCLAP_MODELS = tuple(f"msclap-{v}" for v in MSCLAP_FILES)
#: Serialises import_msclap_clap's save and restore of process-wide settings.
_IMPORT_LOCK = threading.Lock()


def import_msclap_clap():
    """Import ``msclap.models.clap.CLAP`` without msclap's process-wide side effects.

    Importing msclap silences every Python warning and sets transformers' logging
    to errors only; both are restored here, under a lock, so that two threads
    loading models at once cannot restore each other's silenced state.
    """
    import transformers

    with _IMPORT_LOCK:
        verbosity = transformers.logging.get_verbosity()
        with warnings.catch_warnings():
            require_extra("msclap", "msclap", "MS-CLAP models")
            from msclap.models.clap import CLAP
        transformers.logging.set_verbosity(verbosity)
    return CLAP


def msclap_config(version):
    """The packaged yaml configuration of an msclap version, as a dict."""
    import importlib.resources

    import yaml

    require_extra("msclap", "msclap", "MS-CLAP models")
    text = (importlib.resources.files("msclap") / "configs" / f"config_{version}.yml").read_text()
    return yaml.safe_load(text)


def build_msclap_model(cfg, text_model, embed_dim):
    """An msclap ``CLAP`` module with random weights, built as its config says.

    Parameters
    ----------
    cfg : dict
        The version's configuration (:func:`msclap_config`).
    text_model : str
        Folder of the text tower (its path selects msclap's code path: "gpt" or "bert").
    embed_dim : int
        Width of the text tower's output.

    Returns
    -------
    msclap.models.clap.CLAP
        The module, before any weights are loaded into it.
    """
    CLAP = import_msclap_clap()
    return CLAP(
        audioenc_name=cfg["audioenc_name"],
        sample_rate=cfg["sampling_rate"],
        window_size=cfg["window_size"],
        hop_size=cfg["hop_size"],
        mel_bins=cfg["mel_bins"],
        fmin=cfg["fmin"],
        fmax=cfg["fmax"],
        classes_num=cfg["num_classes"],
        out_emb=cfg["out_emb"],
        text_model=text_model,
        transformer_embed_dim=embed_dim,
        d_proj=cfg["d_proj"],
    )


def resolve_msclap_checkpoint(model, version=None, revision=None):
    """Return ``(checkpoint path, version)`` for ``"msclap-2023"``, ``"msclap-2022"`` or a file.

    Parameters
    ----------
    model : str
        ``"msclap-2022"``, ``"msclap-2023"`` (fetched from the hub repo
        ``microsoft/msclap`` through the Hugging Face cache) or the path of a
        checkpoint file.
    version : {"2022", "2023"}, optional
        Required for a checkpoint path unless its file name contains the year.
    revision : str, optional
        Revision of the hub repo.
    """
    model = os.fspath(model)
    if model in MSCLAP_MODELS:
        name_version = model.split("-", 1)[1]
        if version is not None and str(version) != name_version:
            raise ValueError(f"model={model!r} contradicts version={version!r}.")
        filename = MSCLAP_FILES[name_version]
        path = resolve_hub_file(
            MSCLAP_REPO,
            filename,
            revision,
            what=f"MS-CLAP {name_version} checkpoint",
            local=f"the {filename} file as model= with version='{name_version}'",
        )
        return path, name_version
    if not os.path.isfile(model):
        raise ModelNotFoundError(f"MS-CLAP checkpoint {model!r} does not exist.")
    if version is None:
        years = [v for v in MSCLAP_FILES if v in os.path.basename(model)]
        if len(years) != 1:
            raise ValueError(f"cannot tell the MS-CLAP version of checkpoint {model!r}; pass version='2022' or '2023'.")
        version = years[0]
    version = str(version)
    if version not in MSCLAP_FILES:
        raise ValueError(f"version must be one of {tuple(MSCLAP_FILES)}, got {version!r}.")
    return os.path.abspath(model), version


class MSClapBackend(ClapBackend):
    """MS-CLAP (msclap's ``CLAP`` module) with zsfuse's front end and tokenisation."""

    name = "msclap"
    native_pad_mode = "repeat"  # msclap loops a short clip to fill its window

    def __init__(
        self, model=DEFAULT_CLAP_MODEL, version=None, revision=None, text_model=None, device="cpu", dtype=None
    ):
        import torch
        from transformers import AutoConfig, AutoTokenizer

        super().__init__()
        import_msclap_clap()  # without the msclap extra, fail before any file is read
        self.device = device
        self.dtype = dtype if dtype is not None else torch.float32
        checkpoint, version = resolve_msclap_checkpoint(model, version, revision)
        self.version = version
        cfg = msclap_config(version)
        text_path = resolve_model_path(text_model or cfg["text_model"], what="MS-CLAP text tower")
        text_config = AutoConfig.from_pretrained(text_path, trust_remote_code=False)
        family = text_config.model_type
        if family not in ("gpt2", "bert"):
            raise ValueError(f"MS-CLAP text tower {text_path!r} is a {family!r} model; expected gpt2 or bert.")
        if "clip" in text_path:
            raise ValueError(
                f"msclap treats any text tower whose path contains 'clip' as a CLIP model; move "
                f"{text_path!r} to a folder whose path does not contain 'clip'."
            )
        self.family = family
        embed_dim = text_config.n_embd if family == "gpt2" else text_config.hidden_size
        clap = build_msclap_model(cfg, text_path, embed_dim)
        state = load_torch_checkpoint(checkpoint, what="MS-CLAP checkpoint")
        state = state.get("model", state) if isinstance(state, dict) else state
        result = clap.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
        if missing:
            raise ValueError(
                f"MS-CLAP checkpoint {checkpoint!r} does not fit the {version} architecture with text "
                f"tower {text_path!r}: {len(missing)} weights missing (e.g. {missing[:3]})."
            )
        self.model = clap.to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(text_path, trust_remote_code=False)
        if family == "gpt2":
            self.tokenizer.add_special_tokens({"pad_token": "!"})  # as msclap; pooling ignores it
        self.max_text_tokens = int(cfg["text_len"])
        self.sampling_rate = int(cfg["sampling_rate"])
        self.window_samples = int(cfg["duration"]) * self.sampling_rate
        self.fingerprint = f"msclap-{version}:{model_fingerprint(checkpoint)}:text={model_fingerprint(text_path)}"

    # -- audio ---------------------------------------------------------------------------------------------
    def embed_audio(self, windows):
        import torch

        windows = self._checked_windows(windows)
        x = torch.from_numpy(np.ascontiguousarray(windows)).to(self.device)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.model.audio_encoder(x)[0]
        return out.float().cpu().numpy()

    # -- text ------------------------------------------------------------------------------------------------
    def _tokenize(self, texts):
        """Token ids padded to ``text_len``, the end token kept last when truncating."""
        import torch

        tok = self.tokenizer
        limit = self.max_text_tokens
        rows, truncated = [], []
        with self.tokenizer_lock:
            for text in texts:
                if self.family == "gpt2":
                    body = tok(text, add_special_tokens=False)["input_ids"]
                    tail = tok(" <|endoftext|>", add_special_tokens=False)["input_ids"]
                    ids = body + tail
                    if len(ids) > limit:
                        ids = body[: limit - len(tail)] + tail
                        truncated.append(text)
                else:
                    ids = tok(text, add_special_tokens=True)["input_ids"]
                    if len(ids) > limit:
                        ids = ids[: limit - 1] + [tok.sep_token_id]
                        truncated.append(text)
                rows.append(ids)
        self._warn_truncated(truncated, limit)
        input_ids = torch.full((len(rows), limit), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), limit), dtype=torch.long)
        for i, ids in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        tokens = {"input_ids": input_ids, "attention_mask": mask}
        if self.family == "bert":
            tokens["token_type_ids"] = torch.zeros_like(input_ids)
        return tokens

    def embed_text(self, texts):
        import torch

        tokens = {k: v.to(self.device) for k, v in self._tokenize(list(texts)).items()}
        encoder = self.model.caption_encoder
        with torch.inference_mode(), autocast(self.device, self.dtype):
            hidden = encoder.base(**tokens)[0]
            if self.family == "gpt2":
                last = tokens["attention_mask"].sum(-1) - 1
                pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
            else:
                pooled = hidden[:, 0]
            out = encoder.projection(pooled)
        return out.float().cpu().numpy()

    def logit_scale(self):
        return float(self.model.logit_scale.detach().exp().cpu())


def recognise_msclap_checkpoint(keys):
    """MS-CLAP's state dict: msclap's ``CLAP`` module has an audio_encoder and a caption_encoder."""
    return any(k.startswith("audio_encoder.") for k in keys) and any(k.startswith("caption_encoder.") for k in keys)


def _locate(model, *, revision=None, options=None):
    import_msclap_clap()  # without the msclap extra, say so before looking for any file
    return resolve_msclap_checkpoint(model, (options or {}).get("version"), revision)[0]


def _load(model, path, *, revision=None, device="cpu", dtype=None, trust_remote_code=False, options=None):
    options = options or {}
    return MSClapBackend(model, options.get("version"), revision, options.get("text_model"), device, dtype)


FAMILY = ClapFamily(
    name="msclap",
    title="MS-CLAP",
    summary="Microsoft CLAP 2022/2023 through the msclap package (CNN14 or HTSAT audio, BERT or GPT-2 text)",
    load=_load,
    locate=_locate,
    recognise_checkpoint=recognise_msclap_checkpoint,
    known_models=(
        KnownModel(
            "msclap-2023",
            # Elizalde, Deshmukh, Wang, "Natural language supervision for general-purpose audio
            # representations", ICASSP 2024 (arXiv 2309.05767), Table 1: the 4.6M training pairs
            # include the emotion corpora CMU-MOSI, CMU-MOSEI, MELD, IEMOCAP and MSP-Podcast.
            training_corpora=("iemocap", "msp-podcast", "meld", "cmu-mosi", "cmu-mosei"),
            source="Elizalde et al., ICASSP 2024, arXiv 2309.05767, Table 1 (training data)",
            licence="MIT (microsoft/CLAP)",
            note="its training pairs include speech emotion corpora",
        ),
        KnownModel(
            "msclap-2022",
            training_corpora=(),
            source="Elizalde et al., ICASSP 2023, arXiv 2206.04769, §3 (FSD50K, ClothoV2, AudioCaps, MACS)",
            licence="MIT (microsoft/CLAP)",
        ),
    ),
    options={
        "version": "'2022' or '2023': the architecture of a checkpoint file (default: the year in its name)",
        "text_model": "folder or hub id of the text tower (default: the one the version's config names)",
    },
    sampling_rate=44100,
    window="fixed: 7 s (2023), 5 s (2022)",
    pooling="the audio tower's clip embedding; text: CLS (BERT) or last token (GPT-2)",
    audio_repeats="tiles the clip; identical input while the tiled clip fits the window (loop-to-fill)",
    pad_mode="model = loop to fill ('repeat'); 'repeatpad' and 'zero' change the input",
    needs="pip install 'zsfuse[msclap]'",
)

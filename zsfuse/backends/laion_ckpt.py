"""LAION-CLAP and ReCLAP training-code checkpoints, converted in memory to a transformers ``ClapModel``.

LAION-CLAP's own code (``laion_clap``) and ReCLAP (a fork of it) save
``torch.save({"state_dict": model.state_dict(), "epoch": ..., ...})``, with
keys usually prefixed ``module.`` (DistributedDataParallel). This adapter
reads such a ``.pt`` file with ``weights_only=True``, renames its weights to
transformers' ``ClapModel`` names -- the mapping that transformers'
``convert_clap_original_pytorch_to_hf.py`` documents, written out here as
explicit rules -- builds the ``ClapModel`` whose configuration the keys and
shapes imply, and runs it through the code of the ``hf-clap`` backend. Nothing
is written to disk.

Recognised from the keys and shapes alone: fusion (``patch_embed.fusion_model``
and ``mel_conv2d``: the ``aff_2d`` fusion of the fused checkpoints); the HTSAT
size (embedding width from ``patch_embed.proj``, depths by counting blocks,
heads per stage and window from each stage's ``relative_position_bias_table``
of shape ``[(2w - 1)^2, heads]``, mel bins from ``bn0``, the spectrogram size
from the shifted blocks' ``attn_mask``); the RoBERTa text tower's size. What
the weights cannot tell takes LAION-CLAP's values: 48 kHz, 10 s, hop 480,
50-14000 Hz, patch stride = patch size, text attention heads = hidden size //
64 (RoBERTa's convention; ``backend_options={"text_heads": n}`` overrides it),
text LayerNorm epsilon 1e-5 (``roberta-base``'s), prompts cut at 77 tokens (as
LAION-CLAP's own tokenisation). The tokenizer is ``roberta-base``'s
(``backend_options={"tokenizer": folder_or_hub_id}``), from the Hugging Face
cache, offline too.

Refused with :class:`~zsfuse.exceptions.ModelKindError` naming the keys: any
weight that maps to nothing (other than LAION-only parts that play no role in
the embeddings -- the torchlibrosa front end, which ``ClapFeatureExtractor``
replaces, the ``tscam_conv``/``head`` classifier, the ``audio_transform``/
``text_transform`` training heads -- and buffers transformers recomputes),
missing weights, and shapes that do not fit. Among those: a T5, BART or BERT
text tower, a PANN audio tower, 1-D fusion. The ReCLAP repository's training
script trains a ``google/flan-t5-large`` text tower (``--tmodel t5``), which a
``ClapModel`` cannot hold; its checkpoints with a RoBERTa text tower load.
"""

from __future__ import annotations

import math
import os
import re

from ..exceptions import ModelKindError, ModelNotFoundError
from ..models import (
    load_pretrained,
    load_torch_checkpoint,
    model_fingerprint,
    resolve_hub_file,
    resolve_model_path,
)
from ._base import ClapBackend
from ._family import ClapFamily, KnownModel, checkpoint_keys, describe_keys, list_keys, state_dict_of
from .hf_clap import HFClapBackend
from .ms_clap import recognise_msclap_checkpoint

__all__ = [
    "FAMILY",
    "LaionCheckpointBackend",
    "build_clap_model",
    "convert_laion_state_dict",
    "load_laion_state_dict",
    "recognise_laion_checkpoint",
]

_A = "audio_model.audio_encoder."
#: LAION-only weights that play no role in the embeddings (see the module docstring).
_UNUSED = (
    "audio_branch.spectrogram_extractor.",
    "audio_branch.logmel_extractor.",
    "audio_branch.tscam_conv.",
    "audio_branch.head.",
    "text_transform.",
    "audio_transform.",
)
#: Buffers transformers recomputes: dropped from the checkpoint, and not missing from the model.
_RECOMPUTED = re.compile(r"(\.relative_position_index|embeddings\.position_ids|embeddings\.token_type_ids)$")
_MASK = re.compile(r"audio_branch\.layers\.(\d+)\.blocks\.\d+\.attn_mask")
_BLOCK = re.compile(r"audio_branch\.layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_BLOCK_PARTS = (
    ("norm1.", "layernorm_before."),
    ("norm2.", "layernorm_after."),
    ("attn.relative_position_bias_table", "attention.self.relative_position_bias_table"),
    ("attn.qkv.", "attention.self.qkv."),  # split into query, key, value by the caller
    ("attn.proj.", "attention.output.dense."),
    ("mlp.fc1.", "intermediate.dense."),
    ("mlp.fc2.", "output.dense."),
)
_AUDIO_KEPT = re.compile(r"(patch_embed\.(proj|norm|mel_conv2d|fusion_model)\.|norm\.|layers\.\d+\.downsample\.)")
_FOREIGN = (
    (re.compile(r"^text_branch\.(shared\.|encoder\.block\.)"), "a T5 text tower (ReCLAP's --tmodel t5)"),
    (re.compile(r"^text_branch\.decoder\."), "a BART text tower"),
    (re.compile(r"^(text_branch\.resblocks\.|token_embedding\.)"), "a CLIP-style transformer text tower"),
    (re.compile(r"^audio_branch\.conv_block"), "a PANN (CNN14) audio tower"),
    (re.compile(r"^audio_branch\.(fusion_model|mel_conv1d)\."), "1-D feature fusion (aff_1d, iaff_1d, daf_1d)"),
)
_TOKENIZER = "roberta-base"
_TOKENIZER_FILES = ("*.json", "*.txt")  # a tokenizer's files, not the model's weights
_MAX_TOKENS = 77  # LAION-CLAP tokenises to 77 tokens


def _strip(key):
    return key[len("module.") :] if key.startswith("module.") else key


def recognise_laion_checkpoint(keys) -> bool:
    """Whether state-dict ``keys`` are LAION-CLAP training code's (an ``audio_branch`` and a ``text_branch``).

    Parameters
    ----------
    keys : iterable of str
        With or without the ``module.`` prefix.

    Returns
    -------
    bool
        False for MS-CLAP (``audio_encoder.``/``caption_encoder.``) and transformers keys, and for
        ParaCLAP, whose branches wrap a transformers model as ``audio_branch.base.``/``text_branch.base.``
        and whose temperature is one ``logit_scale`` (LAION-CLAP has ``logit_scale_a``/``logit_scale_t``).
    """
    names = {_strip(k) for k in keys}
    if any(n.startswith(("audio_branch.base.", "text_branch.base.")) for n in names):
        return False
    return any(n.startswith("audio_branch.") for n in names) and any(n.startswith("text_branch.") for n in names)


def _rename(name):
    """A LAION-CLAP key (no ``module.``) -> its ``ClapModel`` name, or None."""
    if name in ("logit_scale_a", "logit_scale_t"):
        return name
    m = re.fullmatch(r"(text|audio)_projection\.([02])\.(weight|bias)", name)
    if m:  # nn.Sequential(Linear, ReLU, Linear) -> ClapProjectionLayer
        return f"{m.group(1)}_projection.linear{1 if m.group(2) == '0' else 2}.{m.group(3)}"
    if name.startswith("text_branch.") and name[12:].startswith(("embeddings.", "encoder.layer.", "pooler.")):
        return "text_model." + name[12:]
    if not name.startswith("audio_branch."):
        return None
    rest = name[13:]
    if rest.startswith("bn0."):
        return _A + "batch_norm." + rest[4:]
    if _AUDIO_KEPT.match(rest):
        return _A + rest
    m = _BLOCK.match(name)
    if m:
        for old, new in _BLOCK_PARTS:
            if m.group(3).startswith(old):
                return f"{_A}layers.{m.group(1)}.blocks.{m.group(2)}.{new}{m.group(3)[len(old) :]}"
    return None


def convert_laion_state_dict(state):
    """Rename a LAION-CLAP training state dict to transformers ``ClapModel`` names, in memory.

    Parameters
    ----------
    state : dict of str to torch.Tensor
        The checkpoint's ``state_dict`` (``module.`` prefixes allowed).

    Returns
    -------
    converted : dict
        ``ClapModel`` names -> tensors (``attn.qkv`` split into query, key, value).
    unconverted : list of str
        Keys, as given, that map to nothing.
    facts : dict
        What the dropped weights tell: ``"attn_mask"`` (stage -> mask shape)
        and ``"n_fft"`` (from the mel filter bank), when present.
    """
    converted, unconverted, facts = {}, [], {"attn_mask": {}}
    for key, value in state.items():
        name = _strip(key)
        if name == "audio_branch.logmel_extractor.melW":
            facts["n_fft"] = 2 * (int(value.shape[0]) - 1)
        if name.startswith(_UNUSED) or _RECOMPUTED.search(name):
            continue
        m = _MASK.fullmatch(name)
        if m and getattr(value, "ndim", 0) == 3:  # recomputed by transformers; its shape gives the spectrogram size
            facts["attn_mask"][int(m.group(1))] = tuple(value.shape)
            continue
        new = _rename(name)
        if new is None:
            unconverted.append(key)
        elif ".attention.self.qkv." in new:
            for part, chunk in zip(("query", "key", "value"), value.chunk(3, dim=0)):
                converted[new.replace(".qkv.", f".{part}.")] = chunk.contiguous()
        else:
            converted[new] = value
    return converted, unconverted, facts


def _refuse(model, why, keys=None):
    names = {_strip(k) for k in (keys or ())}
    found = sorted({what for pattern, what in _FOREIGN for n in names if pattern.search(n)})
    hint = f" It holds {', '.join(found)}." if found else ""
    return ModelKindError(
        f"LAION-CLAP checkpoint {model!r} does not fit a transformers ClapModel: {why}.{hint} zsfuse reads "
        "LAION-CLAP / ReCLAP training checkpoints with an HTSAT audio tower (unfused or aff_2d fusion) and a "
        "RoBERTa text tower."
    )


def _audio_config(sd, facts, model):
    proj = sd[_A + "patch_embed.proj.weight"]
    embed, in_channels, patch = int(proj.shape[0]), int(proj.shape[1]), int(proj.shape[2])
    mel = int(sd[_A + "batch_norm.weight"].shape[0])
    blocks = {}
    for k in sd:
        m = re.match(re.escape(_A) + r"layers\.(\d+)\.blocks\.(\d+)\.", k)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    if sorted(blocks) != list(range(len(blocks))) or any(b != set(range(len(b))) for b in blocks.values()):
        raise _refuse(model, f"its HTSAT stages and blocks are not numbered 0..n: {blocks}")
    table = f"{_A}layers.{{}}.blocks.0.attention.self.relative_position_bias_table"
    heads = [int(sd[table.format(i)].shape[1]) for i in range(len(blocks))]
    rows = int(sd[table.format(0)].shape[0])
    window = (math.isqrt(rows) + 1) // 2
    if (2 * window - 1) ** 2 != rows:
        raise _refuse(model, f"its relative_position_bias_table has {rows} rows, not (2 * window - 1)^2")
    stride = patch  # HTSAT's patch stride equals its patch size in every LAION-CLAP configuration
    sizes = {math.isqrt(s[0]) * window * 2**i * stride for i, s in facts["attn_mask"].items()}
    if not sizes:  # no shifted block: LAION's convention spec_size^2 = 1024 * mel bins (256 for 64)
        sizes = {math.isqrt(1024 * mel)} if math.isqrt(1024 * mel) ** 2 == 1024 * mel else set()
    if len(sizes) != 1:
        raise _refuse(model, f"its spectrogram size cannot be told from its attention masks ({sizes or 'none'})")
    fusion = any(k.startswith(_A + "patch_embed.fusion_model.") for k in sd)
    local = sd.get(_A + "patch_embed.fusion_model.local_att.0.weight")
    fc1 = sd[_A + "layers.0.blocks.0.intermediate.dense.weight"]
    return dict(
        spec_size=sizes.pop(),
        num_mel_bins=mel,
        window_size=window,
        patch_size=patch,
        patch_stride=[stride, stride],
        patch_embed_input_channels=in_channels,
        patch_embeds_hidden_size=embed,
        hidden_size=embed * 2 ** (len(blocks) - 1),
        depths=[len(blocks[i]) for i in range(len(blocks))],
        num_attention_heads=heads,
        mlp_ratio=int(fc1.shape[0]) / embed,
        enable_fusion=fusion,
        aff_block_r=embed // int(local.shape[0]) if local is not None else 4,
    )


def _text_config(sd, model, text_heads, tokenizer):
    vocab, hidden = (int(n) for n in sd["text_model.embeddings.word_embeddings.weight"].shape)
    types = int(sd["text_model.embeddings.token_type_embeddings.weight"].shape[0])
    if types != 1:
        raise _refuse(model, f"its text tower has {types} token types, as BERT; ClapModel's text tower is RoBERTa")
    heads = int(text_heads) if text_heads is not None else hidden // 64
    if heads < 1 or hidden % heads:
        raise _refuse(model, f"{heads} text attention heads do not divide its text width {hidden}; set text_heads")
    layers = {int(m.group(1)) for k in sd if (m := re.match(r"text_model\.encoder\.layer\.(\d+)\.", k))}
    if len(tokenizer) > vocab:
        raise _refuse(model, f"its text tower has {vocab} tokens, fewer than the tokenizer's {len(tokenizer)}")
    return dict(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=len(layers),
        num_attention_heads=heads,
        intermediate_size=int(sd["text_model.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        max_position_embeddings=int(sd["text_model.embeddings.position_embeddings.weight"].shape[0]),
        type_vocab_size=types,
        layer_norm_eps=1e-5,  # roberta-base's, which LAION-CLAP's RobertaModel uses
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def build_clap_model(state, tokenizer, *, text_heads=None, model="checkpoint"):
    """The ``ClapModel`` a LAION-CLAP training state dict describes, with its weights loaded.

    Parameters
    ----------
    state : dict
        The checkpoint's ``state_dict``.
    tokenizer : transformers tokenizer
        The RoBERTa tokenizer (its special-token ids go into the text config).
    text_heads : int, optional
        Text attention heads (default: hidden size // 64).
    model : str
        The model's name, for error messages.

    Returns
    -------
    model : transformers.ClapModel
        In eval mode, float32, on the CPU.
    facts : dict
        As :func:`convert_laion_state_dict` returns.

    Raises
    ------
    ModelKindError
        Naming the keys that map to nothing, the missing weights, or the shapes that do not fit.
    """
    from transformers import ClapConfig, ClapModel

    converted, unconverted, facts = convert_laion_state_dict(state)
    problems = [f"{len(unconverted)} weight(s) map to nothing: {list_keys(unconverted)}"] if unconverted else []
    essential = [
        _A + "patch_embed.proj.weight",
        _A + "batch_norm.weight",
        _A + "layers.0.blocks.0.attention.self.relative_position_bias_table",
        _A + "layers.0.blocks.0.intermediate.dense.weight",
        "text_model.embeddings.word_embeddings.weight",
        "text_model.embeddings.position_embeddings.weight",
        "text_model.embeddings.token_type_embeddings.weight",
        "text_model.encoder.layer.0.intermediate.dense.weight",
        "text_projection.linear2.weight",
    ]
    absent = [k for k in essential if k not in converted]
    if absent:
        problems.append(f"weights it needs are missing (transformers names): {list_keys(absent)}")
        raise _refuse(model, "; ".join(problems), state)
    projection = int(converted["text_projection.linear2.weight"].shape[0])
    try:
        audio = _audio_config(converted, facts, model)
        text = _text_config(converted, model, text_heads, tokenizer)
    except KeyError as exc:  # a weight the shapes are read from
        problems.append(f"a weight it needs is missing (transformers name): {exc}")
        raise _refuse(model, "; ".join(problems), state) from None
    config = ClapConfig(
        text_config={**text, "projection_dim": projection},
        audio_config={**audio, "projection_dim": projection},
        projection_dim=projection,
    )
    clap = ClapModel(config)
    expected = clap.state_dict()
    unexpected = [k for k in converted if k not in expected]
    missing = [k for k in expected if k not in converted and not _RECOMPUTED.search(k)]
    mismatched = [
        f"{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})"
        for k, v in converted.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    problems += [
        f"{label} after conversion (transformers names): {list_keys(keys)}"
        for label, keys in (("unexpected", unexpected), ("missing", missing), ("wrong shape", mismatched))
        if keys
    ]
    if problems:
        raise _refuse(model, "; ".join(problems), state)
    clap.load_state_dict(converted, strict=False)
    return clap.eval(), facts


class LaionCheckpointBackend(HFClapBackend):
    """A LAION-CLAP / ReCLAP training checkpoint, converted to a ``ClapModel`` and embedded as ``hf-clap`` does.

    ``embed_audio``, ``embed_text`` and ``logit_scale`` are :class:`~.hf_clap.HFClapBackend`'s:
    windows go through a ``ClapFeatureExtractor`` (48 kHz, 10 s, the
    checkpoint's mel bins; ``truncation="fusion"`` for a fused checkpoint, whose
    ``is_longer`` zsfuse sets to False; ``padding="repeatpad"``, LAION-CLAP's
    default), prompts through the RoBERTa tokenizer.
    """

    name = "laion-ckpt"

    def __init__(self, model, path, device="cpu", dtype=None, options=None):
        import torch
        from transformers import AutoTokenizer, ClapFeatureExtractor

        ClapBackend.__init__(self)  # not HFClapBackend's: that one loads a transformers folder
        options = dict(options or {})
        self.device = device
        self.dtype = dtype if dtype is not None else torch.float32
        self.path = os.path.abspath(os.fspath(path))
        tok_path = _tokenizer_folder(options.get("tokenizer", _TOKENIZER))
        self.tokenizer = load_pretrained(AutoTokenizer, tok_path, what="RoBERTa tokenizer")
        state = load_laion_state_dict(self.path)
        clap, facts = build_clap_model(state, self.tokenizer, text_heads=options.get("text_heads"), model=model)
        del state
        self.model = clap.to(device).eval()
        audio = clap.config.audio_config
        self.feature_extractor = ClapFeatureExtractor(
            feature_size=audio.num_mel_bins,
            sampling_rate=48000,
            hop_length=480,
            max_length_s=10,
            fft_window_size=facts.get("n_fft", 1024),
            frequency_min=50,
            frequency_max=14000,
            truncation="fusion" if audio.enable_fusion else "rand_trunc",
            padding="repeatpad",
        )
        self.sampling_rate = 48000
        self.window_samples = int(self.feature_extractor.nb_max_samples)
        self.native_pad_mode = "repeatpad"
        limits = [_MAX_TOKENS, int(clap.config.text_config.max_position_embeddings) - 2]  # RoBERTa's offset of 2
        if getattr(self.tokenizer, "model_max_length", None) and self.tokenizer.model_max_length < 10**6:
            limits.append(int(self.tokenizer.model_max_length))
        self.max_text_tokens = min(limits)
        heads = f":text_heads={int(options['text_heads'])}" if options.get("text_heads") is not None else ""
        self.fingerprint = f"laion-ckpt:{model_fingerprint(self.path)}:tok={model_fingerprint(tok_path)}{heads}"


def _tokenizer_folder(name):
    """A local folder, or the tokenizer files only of a hub id (not its weights), through the Hugging Face cache."""
    return resolve_model_path(name, what="RoBERTa tokenizer", allow_patterns=_TOKENIZER_FILES)


def load_laion_state_dict(path) -> dict:
    """The ``state_dict`` of a LAION-CLAP training checkpoint, loaded with ``weights_only=True`` on the CPU."""
    return state_dict_of(load_torch_checkpoint(path, what="LAION-CLAP checkpoint"))


_HUB_REPO = "lukewys/laion_clap"  # where the LAION-CLAP README points for its checkpoints


def _locate(model, *, revision=None, options=None):
    """A local file; a released checkpoint's name or ``org/repo/file.pt``, from the Hugging Face cache."""
    if os.path.isfile(model):
        return os.path.abspath(model)
    parts = model.split("/")
    if model in _KNOWN_FILES:
        repo, filename = _HUB_REPO, model
    elif len(parts) >= 3 and not model.startswith((".", "/", "~")) and model.endswith((".pt", ".pth", ".ckpt")):
        repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    else:
        raise ModelNotFoundError(f"LAION-CLAP checkpoint {model!r} is not a file (nor 'org/repo/file.pt' on the hub).")
    return resolve_hub_file(repo, filename, revision, what="LAION-CLAP checkpoint", local="the .pt file")


def _check(model, path, *, trust_remote_code=False, options=None):
    if os.path.isdir(path):
        raise ModelKindError(
            f"{model!r} ({path}) is a folder; laion-ckpt takes a LAION-CLAP / ReCLAP training checkpoint file (.pt). "
            "A transformers ClapModel folder is an hf-clap model: drop the prefix."
        )
    heads = (options or {}).get("text_heads")
    if heads is not None and (isinstance(heads, bool) or not str(heads).isdigit() or not int(heads)):
        raise ValueError(f"backend_options['text_heads'] must be a positive integer, got {heads!r}.")
    keys = checkpoint_keys(path)
    if recognise_laion_checkpoint(keys):
        found = {what for pattern, what in _FOREIGN for k in keys if pattern.search(_strip(k))}
        if found:
            raise _refuse(model, "its towers are not HTSAT + RoBERTa", keys)
        _tokenizer_folder((options or {}).get("tokenizer", _TOKENIZER))  # found (not loaded) before any weight
        return
    if recognise_msclap_checkpoint(keys):
        what = "an MS-CLAP checkpoint (audio_encoder.* and caption_encoder.* keys): give it as msclap:"
    else:
        what = describe_keys(keys, 4)
    raise ModelKindError(
        f"{model!r} ({path}) holds {what}, not a LAION-CLAP / ReCLAP training checkpoint "
        "(keys audio_branch.* and text_branch.*, optionally prefixed module.)."
    )


def _load(model, path, *, revision=None, device="cpu", dtype=None, trust_remote_code=False, options=None):
    return LaionCheckpointBackend(model, path, device, dtype, options)


_PAPER = "Wu et al., ICASSP 2023, arXiv 2211.06687"
_README = "LAION-AI/CLAP README (2023-04-07 update): music and speech collections of LAION-AI/audio-dataset"
_SPEECH_NOTE = "trained with speech data whose corpora are not documented here"
_AUDIOSET = f"{_PAPER}; LAION-AI/CLAP issue #142 (a maintainer): LAION-Audio-630K + AudioSet"
_KNOWN = (
    KnownModel("630k-audioset-best.pt", source=_AUDIOSET),
    KnownModel("630k-audioset-fusion-best.pt", source=_AUDIOSET),
    KnownModel("630k-best.pt", source=f"{_PAPER}; LAION-Audio-630K by its name (not stated in the README)"),
    KnownModel("630k-fusion-best.pt", source=f"{_PAPER}; LAION-Audio-630K by its name (not stated in the README)"),
    KnownModel("music_audioset_epoch_15_esc_90.14.pt", source=f"{_README}: music + AudioSet + LAION-Audio-630K"),
    KnownModel(
        "music_speech_epoch_15_esc_89.25.pt",
        source=f"{_README}: music + speech + LAION-Audio-630K",
        note=_SPEECH_NOTE,
    ),
    KnownModel(
        "music_speech_audioset_epoch_15_esc_89.98.pt",
        source=f"{_README}: music + speech + AudioSet + LAION-Audio-630K (about 4M samples)",
        note=_SPEECH_NOTE,
    ),
)
_KNOWN_FILES = frozenset(m.name for m in _KNOWN)

FAMILY = ClapFamily(
    name="laion-ckpt",
    aliases=("reclap", "laion-clap"),
    title="LAION-CLAP / ReCLAP training checkpoint",
    summary="a LAION-CLAP or ReCLAP training .pt file (HTSAT audio, RoBERTa text), converted in memory to a ClapModel",
    load=_load,
    locate=_locate,
    check=_check,
    recognise_checkpoint=recognise_laion_checkpoint,
    known_models=_KNOWN,
    options={
        "tokenizer": f"folder or hub id of the RoBERTa tokenizer (default {_TOKENIZER!r}, from the HF cache offline)",
        "text_heads": "attention heads of the text tower (default: hidden size // 64, RoBERTa's convention)",
    },
    sampling_rate=48000,
    window="10 s fixed (HTSAT)",
    pooling="HTSAT clip embedding (fused checkpoints run with is_longer=False); text: RoBERTa pooler",
    audio_repeats="tiles the clip; whole copies then zeros ('repeatpad'), so repeats change the input",
    pad_mode="model = 'repeatpad' (LAION-CLAP's default); 'repeat' and 'zero' too",
    needs="the roberta-base tokenizer in the Hugging Face cache (or backend_options tokenizer=)",
)

"""A tiny LAION-CLAP training checkpoint (``.pt``), written from a tiny transformers ``ClapModel``.

The weights are renamed to the names LAION-CLAP's training code gives them
(the inverse of the conversion in :mod:`zsfuse.backends.laion_ckpt`, written
independently here), so that a test can load the file through zsfuse and
compare with the ``ClapModel`` it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._build import prepare_folder, seeded
from ._clap import TINY_CLAP_LOGIT_SCALE_A, TINY_CLAP_LOGIT_SCALE_T, tiny_clap_config, tiny_clap_feature_extractor
from ._tokenizers import write_bpe_files

#: Width of the tiny text tower: 128, so that RoBERTa's heads = width // 64 convention gives 2 heads.
TINY_LAION_TEXT_WIDTH = 128

_AUDIO = "audio_model.audio_encoder."
# transformers name inside an HTSAT block -> LAION-CLAP name (longest first: "attention.output.dense"
# before "output.dense")
_BLOCK_NAMES = (
    ("attention.self.relative_position_bias_table", "attn.relative_position_bias_table"),
    ("attention.self.relative_position_index", "attn.relative_position_index"),
    ("attention.output.dense.", "attn.proj."),
    ("layernorm_before.", "norm1."),
    ("layernorm_after.", "norm2."),
    ("intermediate.dense.", "mlp.fc1."),
    ("output.dense.", "mlp.fc2."),
)


@dataclass(frozen=True)
class TinyLaionCheckpoint:
    """A tiny LAION-CLAP training checkpoint on disk, as built by :func:`make_tiny_laion_checkpoint`.

    It is path-like (``os.fspath`` gives ``checkpoint``).

    Parameters
    ----------
    checkpoint : str
        The ``.pt`` file: ``{"state_dict": {"module." + name: tensor}, "epoch": 1}``.
    tokenizer : str
        Folder of its RoBERTa-style tokenizer (``RobertaTokenizerFast``, saved
        with ``save_pretrained``): give it as ``backend_options={"tokenizer": ...}``.
    reference_dir : str
        The ``ClapModel`` it was written from, with a matching ``ClapProcessor``,
        saved with ``save_pretrained`` (an ``hf-clap`` model folder).
    fused : bool
        Whether the audio tower has LAION-CLAP's ``aff_2d`` feature fusion.
    """

    checkpoint: str
    tokenizer: str
    reference_dir: str
    fused: bool = False

    def __fspath__(self):
        return self.checkpoint


def _training_name(name):
    """A ``ClapModel`` state-dict name -> LAION-CLAP training code's name (qkv parts keep their own)."""
    for tower in ("text", "audio"):
        for hf, laion in ((f"{tower}_projection.linear1.", "0."), (f"{tower}_projection.linear2.", "2.")):
            if name.startswith(hf):
                return f"{tower}_projection.{laion}{name[len(hf) :]}"
    if name.startswith("text_model."):
        return "text_branch." + name[len("text_model.") :]
    if not name.startswith(_AUDIO):
        return name  # logit_scale_a, logit_scale_t
    rest = name[len(_AUDIO) :]
    if rest.startswith("batch_norm."):
        return "audio_branch.bn0." + rest[len("batch_norm.") :]
    head, sep, tail = rest.partition(".blocks.")
    if sep:
        index, _, part = tail.partition(".")
        for hf, laion in _BLOCK_NAMES:
            if part.startswith(hf):
                part = laion + part[len(hf) :]
                break
        return f"audio_branch.{head}.blocks.{index}.{part}"
    return "audio_branch." + rest


def training_state_dict(model):
    """A ``ClapModel``'s weights under LAION-CLAP training code's names, with the parts that code adds.

    Query, key and value are concatenated into ``attn.qkv``; the LAION-only
    weights are added with their shapes (zeros: the front end's STFT and mel
    filter bank, the ``tscam_conv``/``head`` classifier, the
    ``text_transform``/``audio_transform`` heads, the shifted blocks'
    ``attn_mask``); ``token_type_ids`` is left out, as LAION-CLAP's
    ``RobertaModel`` does not save it.

    Parameters
    ----------
    model : transformers.ClapModel
        With an HTSAT audio tower.

    Returns
    -------
    dict of str to torch.Tensor
        Without the ``module.`` prefix.
    """
    import torch

    out, qkv = {}, {}
    for name, value in model.state_dict().items():
        if name.endswith("embeddings.token_type_ids"):
            continue
        laion = _training_name(name)
        for part in ("query", "key", "value"):
            marker = f".attention.self.{part}."
            if laion.startswith("audio_branch.") and marker in laion:  # RoBERTa keeps them apart
                prefix, suffix = laion.split(marker)
                qkv.setdefault((prefix, suffix), {})[part] = value
                break
        else:
            out[laion] = value.clone()
    for (prefix, suffix), parts in qkv.items():
        out[f"{prefix}.attn.qkv.{suffix}"] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)
    audio = model.config.audio_config
    n_freq = 1024 // 2 + 1
    out["audio_branch.spectrogram_extractor.stft.conv_real.weight"] = torch.zeros(n_freq, 1, 1024)
    out["audio_branch.spectrogram_extractor.stft.conv_imag.weight"] = torch.zeros(n_freq, 1, 1024)
    out["audio_branch.logmel_extractor.melW"] = torch.zeros(n_freq, audio.num_mel_bins)
    width = audio.hidden_size
    out["audio_branch.tscam_conv.weight"] = torch.zeros(audio.num_classes, width, 2, 3)
    out["audio_branch.tscam_conv.bias"] = torch.zeros(audio.num_classes)
    out["audio_branch.head.weight"] = torch.zeros(audio.num_classes, audio.num_classes)
    out["audio_branch.head.bias"] = torch.zeros(audio.num_classes)
    dim = model.config.projection_dim
    for branch in ("text_transform", "audio_transform"):
        for i in (0, 3):
            out[f"{branch}.sequential.{i}.weight"] = torch.zeros(dim, dim)
            out[f"{branch}.sequential.{i}.bias"] = torch.zeros(dim)
    side = audio.spec_size // audio.patch_stride[0]
    for stage, depth in enumerate(audio.depths):
        resolution = side // 2**stage
        if resolution <= audio.window_size:
            continue  # no shifted window, no mask (as HTSAT)
        n = audio.window_size**2
        for block in range(1, depth, 2):
            shape = ((resolution // audio.window_size) ** 2, n, n)
            out[f"audio_branch.layers.{stage}.blocks.{block}.attn_mask"] = torch.zeros(shape)
    return out


def make_tiny_laion_checkpoint(path, *, fused=False, seed=0, text_heads=None) -> TinyLaionCheckpoint:
    """Write a tiny LAION-CLAP training checkpoint, its tokenizer and its reference ``ClapModel``.

    The model is a tiny random transformers ``ClapModel``: HTSAT audio
    (``spec_size=128``, 16 mel bins, window 8, two stages of depth 2, widths
    16 and 32, 2 and 4 heads; with ``aff_2d`` fusion when ``fused``), a
    RoBERTa-like text tower (width :data:`TINY_LAION_TEXT_WIDTH`, 2 layers,
    LayerNorm epsilon 1e-5 as ``roberta-base``, a ~370-token byte-level BPE
    tokenizer, ``model_max_length=77``), projections to 16 dimensions and the
    temperatures of :func:`~zsfuse.testing.make_tiny_clap`. Every weight and
    normalisation statistic is perturbed at random, so that no two norms are
    alike and a wrong renaming shows. Its state dict, renamed to the training
    code's names (:func:`training_state_dict`), is saved as ``{"state_dict":
    {"module." + name: tensor}, "epoch": 1}`` with ``torch.save``.

    Beside ``path`` (``<stem>`` its name without suffix): ``<stem>-tokenizer/``,
    the tokenizer, and ``<stem>-reference/``, the ``ClapModel`` and a matching
    ``ClapProcessor`` (48 kHz, 10 s, 16 mel bins, ``truncation="fusion"`` when
    fused else ``"rand_trunc"``, ``padding="repeatpad"``) saved with
    ``save_pretrained``, for parity tests.

    Parameters
    ----------
    path : str or path-like
        The ``.pt`` file to write (its folder is created if missing).
    fused : bool, default=False
        Build the fused variant.
    seed : int, default=0
        Seed of the random weights.
    text_heads : int, optional
        Text attention heads (default: width // 64 = 2, RoBERTa's convention;
        another value needs ``backend_options={"text_heads": ...}`` to load right).

    Returns
    -------
    TinyLaionCheckpoint
    """
    import torch
    from transformers import ClapModel, ClapProcessor, RobertaTokenizerFast

    path = Path(path)
    folder = prepare_folder(path.parent)
    tok_dir = folder / f"{path.stem}-tokenizer"
    ref_dir = folder / f"{path.stem}-reference"
    vocab_size = write_bpe_files(tok_dir, "roberta")
    tokenizer = RobertaTokenizerFast.from_pretrained(str(tok_dir), model_max_length=77)
    tokenizer.save_pretrained(str(tok_dir))
    config = tiny_clap_config(
        tokenizer,
        vocab_size,
        text_hidden=TINY_LAION_TEXT_WIDTH,
        text_heads=text_heads or TINY_LAION_TEXT_WIDTH // 64,
        layer_norm_eps=1e-5,  # roberta-base's, which the loader assumes
        depths=(2, 2),
        heads=(2, 4),
        fused=fused,
    )
    with seeded(seed):
        model = ClapModel(config).eval()
        with torch.no_grad():
            for name, param in model.named_parameters():
                if not name.startswith("logit_scale"):
                    param.add_(0.05 * torch.randn_like(param))
            for name, buffer in model.named_buffers():
                if name.endswith("running_mean"):
                    buffer.copy_(0.1 * torch.randn_like(buffer))
                elif name.endswith("running_var"):
                    buffer.copy_(1.0 + 0.5 * torch.rand_like(buffer))
            model.logit_scale_a.fill_(TINY_CLAP_LOGIT_SCALE_A)
            model.logit_scale_t.fill_(TINY_CLAP_LOGIT_SCALE_T)
    state = training_state_dict(model)
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}, "epoch": 1}, str(path))
    feature_extractor = tiny_clap_feature_extractor(fused)
    model.save_pretrained(str(ref_dir))
    ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(str(ref_dir))
    return TinyLaionCheckpoint(str(path), str(tok_dir), str(ref_dir), bool(fused))

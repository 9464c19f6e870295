"""A tiny random ParaCLAP checkpoint, in the published format, with tiny base-model folders.

ParaCLAP (Jing et al., Interspeech 2024, arXiv 2406.07203; code
github.com/KeiKinn/ParaCLAP, weights ``KeiKinn/paraclap``) saves
``model.state_dict()`` of its ``CLAP`` module (``models_xin.py``): a
``Wav2Vec2Model`` under ``audio_branch.base.``, a ``BertModel`` (pooler
included) under ``text_branch.base.``, two projection heads
``audio_projection.`` / ``text_projection.`` (``linear1.weight``,
``linear2.weight``, ``layer_norm.weight``, ``layer_norm.bias``) and
``logit_scale`` (a log temperature).

:func:`make_tiny_paraclap` writes the same layout at a tiny size: the two base
models as ``save_pretrained`` folders (a layer-norm wav2vec 2.0, as the
audeering model the released checkpoint starts from, and a BERT with an
offline WordPiece tokenizer) and a checkpoint holding every weight under the
published key names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._build import prepare_folder, seeded
from ._speech import make_tiny_wav2vec2
from ._tokenizers import write_bert_tokenizer

#: Width of the tiny ParaCLAP's joint embedding space.
TINY_PARACLAP_EMBED_DIM = 16
#: Stored (log) temperature of the tiny ParaCLAP; the published code's initial
#: value is ``log(1 / 0.07)`` = 2.659, this one differs so that a test can tell.
TINY_PARACLAP_LOGIT_SCALE = 2.5
#: Width of the tiny BERT text tower.
TINY_PARACLAP_TEXT_DIM = 24
#: The checkpoint's file name (the released one's: ``best.pth.tar``).
TINY_PARACLAP_FILE = "best.pth.tar"


@dataclass(frozen=True)
class TinyParaCLAP:
    """A tiny ParaCLAP on disk, as built by :func:`make_tiny_paraclap`.

    Parameters
    ----------
    checkpoint : str
        The weights file: ``torch.save(state_dict)`` with ParaCLAP's key names
        (tensors only, so it loads with ``weights_only=True``).
    audio_model : str
        Folder of the tiny wav2vec 2.0 (model, config, feature extractor).
    text_model : str
        Folder of the tiny BERT (model, config, tokenizer).
    """

    checkpoint: str
    audio_model: str
    text_model: str

    @property
    def backend_options(self):
        """dict : ``{"audio_model": ..., "text_model": ...}``, the options that load it."""
        return {"audio_model": self.audio_model, "text_model": self.text_model}


def _heads(d_in, d_out):
    """One projection head's modules under the published names (random LayerNorm too, so tests see it)."""
    import torch

    heads = torch.nn.ModuleDict(
        {
            "linear1": torch.nn.Linear(d_in, d_out, bias=False),
            "linear2": torch.nn.Linear(d_out, d_out, bias=False),
            "layer_norm": torch.nn.LayerNorm(d_out),
        }
    )
    with torch.no_grad():
        heads["layer_norm"].weight.uniform_(0.5, 1.5)
        heads["layer_norm"].bias.normal_(0.0, 0.1)
    return heads


def make_tiny_paraclap(path, seed=0):
    """Build a tiny random ParaCLAP checkpoint and its two tiny base models in ``path``.

    * ``path/tiny-wav2vec2``: :func:`make_tiny_wav2vec2` with
      ``feat_extract_norm="layer"`` (layer-norm feature encoder, as
      ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim``): hidden size 32,
      2 layers, receptive field 400 samples, hop 320;
    * ``path/tiny-bert``: a ``BertModel`` (hidden size 24, 2 layers, 2 heads,
      512 positions) with a lowercase WordPiece tokenizer written offline
      (``model_max_length=512``);
    * ``path/best.pth.tar``: the state dict of a module laid out as ParaCLAP's
      ``CLAP`` -- both towers' weights under ``audio_branch.base.`` and
      ``text_branch.base.`` (the folders' weights plus seeded noise of scale
      0.02, as ParaCLAP trained its towers on: a loader that took the folders'
      weights would differ), heads ``audio_projection.`` (32 -> 16) and
      ``text_projection.`` (24 -> 16) with ``linear1.weight``,
      ``linear2.weight``, ``layer_norm.weight``, ``layer_norm.bias``, and
      ``logit_scale`` = :data:`TINY_PARACLAP_LOGIT_SCALE`.

    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.

    Returns
    -------
    TinyParaCLAP
        The checkpoint and the two folders.
    """
    import torch
    from transformers import BertConfig, BertModel

    folder = prepare_folder(path).resolve()
    audio_dir = make_tiny_wav2vec2(folder / "tiny-wav2vec2", seed=seed, feat_extract_norm="layer")
    text_dir = folder / "tiny-bert"
    tokenizer = write_bert_tokenizer(text_dir)
    text_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_PARACLAP_TEXT_DIM,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=512,
    )
    with seeded(seed):
        BertModel(text_config).eval().save_pretrained(str(text_dir))
    tokenizer.save_pretrained(str(text_dir))

    from transformers import Wav2Vec2Model

    audio = Wav2Vec2Model.from_pretrained(audio_dir).eval()
    text = BertModel.from_pretrained(str(text_dir)).eval()
    state = {}
    state.update({f"audio_branch.base.{k}": v for k, v in audio.state_dict().items()})
    state.update({f"text_branch.base.{k}": v for k, v in text.state_dict().items()})
    # the towers were trained on in ParaCLAP: the checkpoint's weights are not the base folders'
    with seeded(seed + 2), torch.no_grad():
        state = {k: v + 0.02 * torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}
    with seeded(seed + 1):
        audio_head = _heads(audio.config.hidden_size, TINY_PARACLAP_EMBED_DIM)
        text_head = _heads(TINY_PARACLAP_TEXT_DIM, TINY_PARACLAP_EMBED_DIM)
    state.update({f"audio_projection.{k}": v for k, v in audio_head.state_dict().items()})
    state.update({f"text_projection.{k}": v for k, v in text_head.state_dict().items()})
    state["logit_scale"] = torch.tensor(TINY_PARACLAP_LOGIT_SCALE)
    state = {k: v.detach().clone().contiguous() for k, v in state.items()}
    checkpoint = folder / TINY_PARACLAP_FILE
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    torch.save(state, str(tmp))
    os.replace(tmp, checkpoint)
    return TinyParaCLAP(checkpoint=str(checkpoint), audio_model=str(audio_dir), text_model=str(text_dir))

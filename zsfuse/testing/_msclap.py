"""Tiny msclap models (msclap's own model classes, tiny text towers) and msclap's reference wrapper on them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._build import prepare_folder, seeded
from ._tokenizers import GPT2_EOS, write_bert_tokenizer, write_bpe_files

_MSCLAP_MISSING = "install the msclap extra: pip install 'zsfuse[msclap]'"
#: Width of the tiny GPT-2 text tower of :func:`make_tiny_msclap`.
TINY_MSCLAP_TEXT_DIM = 32


@dataclass(frozen=True)
class TinyMSCLAP:
    """A tiny msclap model on disk, as built by :func:`make_tiny_msclap`.

    Parameters
    ----------
    checkpoint : str
        The weights file, in msclap's format: ``torch.save({"model":
        state_dict})`` of a ``msclap.models.clap.CLAP``; what ``CLAPWrapper``
        reads with ``torch.load(model_fp)["model"]``.
    text_model : str
        Absolute path of the tiny GPT-2 folder (model + tokenizer, saved with
        ``save_pretrained``); it stands where the config says ``gpt2``. Its
        name contains ``"gpt"``, which selects msclap's GPT-2 code path.
    version : str, default="2023"
        The msclap version whose architecture and config it follows.
    """

    checkpoint: str
    text_model: str
    version: str = "2023"

    @property
    def transformer_embed_dim(self):
        """int : Width of the text tower (the config's ``transformer_embed_dim``)."""
        return TINY_MSCLAP_TEXT_DIM


def make_tiny_msclap(path, seed=0, version="2023"):
    """Build a tiny msclap model (full-size audio tower + tiny text tower) in ``path``.

    ``version="2023"``: HTSAT audio + tiny GPT-2 text (described below).
    ``version="2022"``: msclap's CNN14 audio tower (about 80 M parameters, 5 s
    window) + a tiny BERT (hidden size 32, 2 layers, a small WordPiece
    vocabulary written offline) in ``path/tiny-bert``.

    The model is msclap's own ``msclap.models.clap.CLAP`` built from msclap's
    ``config_2023.yml``, with two changes: the text tower is a tiny random
    GPT-2 (``GPT2Model``: ``n_embd=32``, 2 layers, 2 heads, ``n_positions=1024``,
    a ~370-token byte-level BPE tokenizer built offline in which ``"!"`` is id 0
    and ``<|endoftext|>`` the last id, as in ``gpt2``), saved with
    ``save_pretrained`` in ``path/tiny-gpt2``; and ``transformer_embed_dim`` is
    32 to match it. The HTSAT audio tower has msclap's fixed size (about 31 M
    parameters; 44.1 kHz, 7 s window, 1024-dimensional embeddings). The whole
    state dict is saved as ``path/msclap_tiny_2023.pth`` in the format msclap's
    ``CLAPWrapper`` loads (``torch.load(model_fp)["model"]``; tensors only, so
    it also loads with ``weights_only=True``). About 140 MB on disk, 1-2 s to
    build.

    To get msclap's own reference wrapper on it, for parity tests, use
    :func:`msclap_reference_wrapper`, or equivalently::

        from msclap import CLAP  # msclap's CLAPWrapper

        tiny = make_tiny_msclap(tmp_path)

        class TinyCLAPWrapper(CLAP):
            def read_config_as_args(self, *args, **kwargs):
                ns = super().read_config_as_args(*args, **kwargs)
                ns.text_model = tiny.text_model                       # was "gpt2"
                ns.transformer_embed_dim = tiny.transformer_embed_dim  # was 768
                return ns

        ref = TinyCLAPWrapper(model_fp=tiny.checkpoint, version=tiny.version)

    Nothing is downloaded (``model_fp`` is given). Then, on a clip ``wave`` (a
    1-D float tensor at 44.1 kHz, exactly 7 s = 308700 samples)::

        audio_emb = ref._get_audio_embeddings(wave.reshape(1, 1, -1))  # (1, 1024)
        text_emb = ref.get_text_embeddings(["this person is feeling angry."])
        logits = ref.compute_similarity(audio_emb, text_emb)  # logit_scale.exp() * cos

    ``ref.get_audio_embeddings([file])`` also works in principle, but reads the
    file with ``torchaudio.load`` (needs torchcodec from torchaudio 2.9 on),
    concatenates channels and crops clips longer than 7 s at random;
    ``ref.preprocess_text`` appends ``" <|endoftext|>"``, pads with ``"!"`` to
    77 tokens without truncating, and ``ref.clap.caption_encoder`` pools at the
    last token that is not id 0 (``"!"``). Note that importing msclap calls
    ``warnings.filterwarnings("ignore")`` and sets the transformers logging
    verbosity to error, process-wide.

    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing). Its absolute path must not
        contain ``"clip"``: msclap picks its CLIP code path for any text-model
        name containing it.
    seed : int, default=0
        Seed of the random weights (GPT-2 and CLAP). The same seed gives
        identical weights.
    version : {"2023", "2022"}, default="2023"
        Which msclap architecture and config to follow.

    Returns
    -------
    TinyMSCLAP
        Paths of the checkpoint and of the text-model folder.

    Raises
    ------
    ImportError
        If msclap is not installed.
    ValueError
        If the folder's absolute path contains ``"clip"``.
    """
    try:
        import msclap  # noqa: F401
    except ImportError as exc:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError(_MSCLAP_MISSING) from exc
    import torch
    from transformers import GPT2Config, GPT2Model, GPT2TokenizerFast

    from ..backends.ms_clap import build_msclap_model, msclap_config

    if version not in ("2022", "2023"):
        raise ValueError(f"version must be '2022' or '2023', got {version!r}")
    folder = prepare_folder(path).resolve()
    text_dir = folder / ("tiny-gpt2" if version == "2023" else "tiny-bert")
    if "clip" in str(text_dir):
        raise ValueError(
            f"the msclap text-model path must not contain 'clip' (msclap would take its "
            f"CLIP code path): {str(text_dir)!r}"
        )
    cfg = msclap_config(version)
    if version == "2023":
        vocab_size = write_bpe_files(text_dir, "gpt2")
        tokenizer = GPT2TokenizerFast.from_pretrained(str(text_dir), model_max_length=1024)
        eos = tokenizer.convert_tokens_to_ids(GPT2_EOS)
        text_config = GPT2Config(
            vocab_size=vocab_size,
            n_positions=1024,
            n_embd=TINY_MSCLAP_TEXT_DIM,
            n_layer=2,
            n_head=2,
            bos_token_id=eos,
            eos_token_id=eos,
        )
        text_cls = GPT2Model
    else:
        from transformers import BertConfig, BertModel

        tokenizer = write_bert_tokenizer(text_dir)
        text_config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=TINY_MSCLAP_TEXT_DIM,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=512,
        )
        text_cls = BertModel
    with seeded(seed):
        text_model = text_cls(text_config).eval()
    text_model.save_pretrained(str(text_dir))
    tokenizer.save_pretrained(str(text_dir))
    with seeded(seed):
        clap = build_msclap_model(cfg, str(text_dir), TINY_MSCLAP_TEXT_DIM).eval()
    checkpoint = folder / f"msclap_tiny_{version}.pth"
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    torch.save({"model": clap.state_dict()}, str(tmp))
    os.replace(tmp, checkpoint)
    return TinyMSCLAP(checkpoint=str(checkpoint), text_model=str(text_dir), version=version)


def msclap_reference_wrapper(tiny, use_cuda=False):
    """msclap's own ``CLAPWrapper`` on a tiny model, for parity tests.

    It is ``msclap.CLAP(model_fp=tiny.checkpoint, version=tiny.version,
    use_cuda=use_cuda)`` with one change: after it reads its packaged yaml
    config, ``text_model`` is replaced by ``tiny.text_model`` and
    ``transformer_embed_dim`` by ``tiny.transformer_embed_dim`` (done in an
    override of ``read_config_as_args``, a subclass created here). Everything
    else — model construction, checkpoint loading, tokenizer, pre-processing,
    embedding methods — is msclap's. See :func:`make_tiny_msclap` for the
    calls that give audio and text embeddings.

    Parameters
    ----------
    tiny : TinyMSCLAP
        What :func:`make_tiny_msclap` returned.
    use_cuda : bool, default=False
        Passed to msclap.

    Returns
    -------
    msclap.CLAPWrapper.CLAPWrapper
        The wrapper (an instance of a subclass); the model is ``.clap``, in
        eval mode, the tokenizer ``.tokenizer``, the config ``.args``.

    Raises
    ------
    ImportError
        If msclap is not installed.
    """
    try:
        from msclap import CLAP as CLAPWrapper
    except ImportError as exc:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError(_MSCLAP_MISSING) from exc

    overrides = {"text_model": tiny.text_model, "transformer_embed_dim": tiny.transformer_embed_dim}

    class TinyCLAPWrapper(CLAPWrapper):
        def read_config_as_args(self, *args, **kwargs):
            ns = super().read_config_as_args(*args, **kwargs)
            vars(ns).update(overrides)
            return ns

    return TinyCLAPWrapper(model_fp=tiny.checkpoint, version=tiny.version, use_cuda=use_cuda)

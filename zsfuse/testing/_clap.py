"""A tiny random transformers CLAP model and processor."""

from __future__ import annotations

from ._build import prepare_folder, seeded
from ._tokenizers import write_bpe_files

#: Size of the tiny CLAP model (see :func:`make_tiny_clap`).
TINY_CLAP_PROJECTION_DIM = 16
#: Default audio-side temperature of the tiny CLAP model: ``log(1 / 0.07)``,
#: ``ClapConfig``'s initial value (what ``logits_per_audio`` and the
#: zero-shot pipeline scale by).
TINY_CLAP_LOGIT_SCALE_A = 2.659260036932778
#: Default text-side temperature of the tiny CLAP model: ``log(50)``, distinct
#: from the audio side on purpose (``logits_per_text`` scales by it), so that a
#: scorer using the wrong one gets other numbers.
TINY_CLAP_LOGIT_SCALE_T = 3.912023005428146


def make_tiny_clap(path, seed=0, logit_scale_a=TINY_CLAP_LOGIT_SCALE_A, logit_scale_t=TINY_CLAP_LOGIT_SCALE_T):
    """Build a tiny random transformers ``ClapModel`` + ``ClapProcessor`` in ``path``.

    The model is a scaled-down ``laion/clap-htsat-unfused``: an HTSAT audio
    tower with ``spec_size=128``, 16 mel bins, two Swin stages of depth 1
    (hidden size 32, 2 heads), no fusion; a RoBERTa-like text tower (hidden
    size 32, 2 layers, 2 heads, a ~370-token byte-level BPE vocabulary); and
    projections to 16 dimensions. The processor pairs a ``ClapFeatureExtractor``
    consistent with it (48 kHz, 10 s window, 16 mel bins, ``truncation=
    "rand_trunc"``, ``padding="repeatpad"``, as the unfused checkpoint) with a
    ``RobertaTokenizerFast`` (``model_max_length=77``, pad token ``<pad>``)
    built offline. Any text can be tokenised (byte-level BPE).

    The two temperatures differ by default (``logit_scale_a = log(1 / 0.07)``,
    ``logit_scale_t = log(50)``), so that tests can tell which one a scorer
    uses: ``logits_per_audio`` and the ``zero-shot-audio-classification``
    pipeline scale by ``exp(logit_scale_a)``, ``logits_per_text`` by
    ``exp(logit_scale_t)``. They are set after the random
    initialisation and do not draw from the random generator, so the other
    weights depend on ``seed`` only.

    Everything is saved with ``save_pretrained``, so ``ClapModel.from_pretrained
    (path)``, ``ClapProcessor.from_pretrained(path)``, ``AutoProcessor``,
    ``AutoFeatureExtractor``, ``AutoTokenizer`` and
    ``pipeline("zero-shot-audio-classification", model=path)`` all load it,
    with transformers 4.x and 5.x.

    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing; existing files are overwritten).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.
    logit_scale_a : float, default=log(1 / 0.07)
        Audio-side temperature, as stored (logits are scaled by its exponential).
    logit_scale_t : float, default=log(50)
        Text-side temperature, as stored.

    Returns
    -------
    str
        ``path``, as a string.
    """
    import torch
    from transformers import (
        ClapModel,
        ClapProcessor,
        RobertaTokenizerFast,
    )

    folder = prepare_folder(path)
    vocab_size = write_bpe_files(folder, "roberta")
    tokenizer = RobertaTokenizerFast.from_pretrained(str(folder), model_max_length=77)
    config = tiny_clap_config(tokenizer, vocab_size)
    with seeded(seed):
        model = ClapModel(config).eval()
    with torch.no_grad():
        model.logit_scale_a.fill_(float(logit_scale_a))
        model.logit_scale_t.fill_(float(logit_scale_t))
    feature_extractor = tiny_clap_feature_extractor()
    processor = ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return str(folder)


def tiny_clap_config(
    tokenizer,
    vocab_size,
    *,
    text_hidden=32,
    text_heads=2,
    layer_norm_eps=None,
    depths=(1, 1),
    heads=(2, 2),
    fused=False,
):
    """The ``ClapConfig`` of the test kit's tiny CLAP models (:func:`make_tiny_clap` with the defaults).

    HTSAT audio with ``spec_size=128``, 16 mel bins, window 8, two stages of
    widths 16 and 32 (``depths``, ``heads``), fused with ``aff_2d`` when
    ``fused``; a RoBERTa-like text tower of width ``text_hidden`` and 2 layers
    for 77 tokens; projections to :data:`TINY_CLAP_PROJECTION_DIM`.
    """
    from transformers import ClapConfig

    text_config = dict(
        vocab_size=vocab_size,
        hidden_size=text_hidden,
        num_hidden_layers=2,
        num_attention_heads=text_heads,
        intermediate_size=37,
        max_position_embeddings=80,  # 77 tokens + RoBERTa's position offset of 2
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        projection_dim=TINY_CLAP_PROJECTION_DIM,
    )
    if layer_norm_eps is not None:
        text_config["layer_norm_eps"] = layer_norm_eps
    audio_config = dict(
        spec_size=128,
        num_mel_bins=16,
        window_size=8,
        patch_size=4,
        patch_stride=[4, 4],
        depths=list(depths),
        num_attention_heads=list(heads),
        patch_embeds_hidden_size=16,
        hidden_size=32,  # patch_embeds_hidden_size * 2 ** (len(depths) - 1)
        num_classes=5,
        enable_fusion=bool(fused),
        projection_dim=TINY_CLAP_PROJECTION_DIM,
    )
    return ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=TINY_CLAP_PROJECTION_DIM)


def tiny_clap_feature_extractor(fused=False):
    """The tiny CLAP models' ``ClapFeatureExtractor``: 48 kHz, 10 s, 16 mel bins, LAION's settings otherwise."""
    from transformers import ClapFeatureExtractor

    return ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=48000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14000,
        truncation="fusion" if fused else "rand_trunc",
        padding="repeatpad",
    )

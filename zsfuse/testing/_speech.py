"""Tiny random speech foundation models: WavLM, HuBERT, wav2vec 2.0, data2vec-audio and Whisper.

Each builder saves the model with ``save_pretrained`` together with its
feature extractor, so ``AutoModel.from_pretrained(path)`` and
``AutoFeatureExtractor.from_pretrained(path)`` load it.
"""

from __future__ import annotations

from ._build import prepare_folder, seeded

_CONV_KERNEL = (10, 3, 3, 3, 3, 2, 2)  # receptive field 400 samples
_CONV_STRIDE = (5, 2, 2, 2, 2, 2, 2)  # hop 320 samples (20 ms at 16 kHz)


def _encoder_kwargs():
    """The size shared by the wav2vec 2.0 family: 7 conv layers of 16 channels, 2 small transformer layers."""
    return dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(16,) * 7,
        conv_kernel=_CONV_KERNEL,
        conv_stride=_CONV_STRIDE,
    )


def _ssl_config_kwargs(stable_layer_norm, feat_extract_norm=None):
    if feat_extract_norm is None:
        feat_extract_norm = "layer" if stable_layer_norm else "group"
    return dict(
        _encoder_kwargs(),
        conv_bias=feat_extract_norm == "layer",
        feat_extract_norm=feat_extract_norm,
        do_stable_layer_norm=bool(stable_layer_norm),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )


def _save_with_feature_extractor(folder, model, do_normalize, return_attention_mask):
    """Save ``model`` and a 16 kHz ``Wav2Vec2FeatureExtractor`` in ``folder``; return it as a string."""
    from transformers import Wav2Vec2FeatureExtractor

    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=bool(do_normalize),
        return_attention_mask=bool(return_attention_mask),
    )
    model.save_pretrained(str(folder))
    feature_extractor.save_pretrained(str(folder))
    return str(folder)


def _build(path, family, seed, config_kwargs, do_normalize, return_attention_mask):
    """Build a tiny ``<family>Model`` from ``<family>Config(**config_kwargs)`` and save it in ``path``.

    ``family`` is a transformers model prefix: "WavLM", "Hubert", "Wav2Vec2" or "Data2VecAudio".
    """
    import transformers

    folder = prepare_folder(path)
    config = getattr(transformers, family + "Config")(**config_kwargs)
    with seeded(seed):
        model = getattr(transformers, family + "Model")(config).eval()
    return _save_with_feature_extractor(folder, model, do_normalize, return_attention_mask)


def _build_ssl(path, family, seed, layer_norm, feat_extract_norm, do_normalize, return_attention_mask):
    """:func:`_build` for the WavLM, HuBERT and wav2vec 2.0 layouts, with the real checkpoints' extractor defaults."""
    # The real checkpoints: layer-norm feature encoders ("large"/"lv60") want
    # normalised input and an attention mask; group-norm ones (wav2vec2-base)
    # are fed zero-padded input without a mask.
    if do_normalize is None:
        do_normalize = True
    if return_attention_mask is None:
        return_attention_mask = bool(layer_norm)
    return _build(
        path, family, seed, _ssl_config_kwargs(layer_norm, feat_extract_norm), do_normalize, return_attention_mask
    )


_PATH_SEED = """path : str or path-like
        Folder to write to (created if missing).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights."""
_LAYOUT = """stable_layer_norm : bool, default=True
        Large-model ("stable layer norm") layout, see above.
    do_normalize : bool or None, default=None
        Feature extractor's per-clip normalisation; None means True.
    return_attention_mask : bool or None, default=None
        Whether the feature extractor returns an attention mask; None means
        ``stable_layer_norm``."""
_RETURNS = """Returns
    -------
    str
        ``path``, as a string."""

#: The docstring parts the builders share, by placeholder (filled in by :func:`_fill_docs`).
_DOC_PARTS = {
    "{ssl}": f"""
    Architecture: the standard 7-layer convolutional feature encoder (kernels
    {_CONV_KERNEL}, strides {_CONV_STRIDE}: receptive field 400 samples, hop 320 samples,
    i.e. 50 frames per second at 16 kHz) with 16 channels, then a transformer
    with hidden size 32, 2 layers, 2 heads, intermediate size 37. Saved with
    ``save_pretrained`` together with a ``Wav2Vec2FeatureExtractor`` at 16 kHz,
    so ``AutoModel.from_pretrained(path)`` and
    ``AutoFeatureExtractor.from_pretrained(path)`` load it.
""",
    "{sections}": f"Parameters\n    ----------\n    {_PATH_SEED}\n\n    {_RETURNS}",
    "{layout_sections}": f"Parameters\n    ----------\n    {_PATH_SEED}\n    {_LAYOUT}\n\n    {_RETURNS}",
    "{path_seed}": _PATH_SEED,
    "{returns}": _RETURNS,
}


def make_tiny_wavlm(path, seed=0, stable_layer_norm=True, do_normalize=None, return_attention_mask=None):
    """Build a tiny random ``WavLMModel`` and its feature extractor in ``path``.

    With ``stable_layer_norm=True`` (default) it mirrors ``microsoft/wavlm-large``
    (layer-norm feature encoder with conv bias, pre-norm transformer:
    ``do_stable_layer_norm=True``); with ``False`` it mirrors the base models
    (group-norm feature encoder, post-norm transformer).
    {ssl}
    {layout_sections}
    """
    return _build_ssl(path, "WavLM", seed, stable_layer_norm, None, do_normalize, return_attention_mask)


def make_tiny_hubert(path, seed=0, stable_layer_norm=True, do_normalize=None, return_attention_mask=None):
    """Build a tiny random ``HubertModel`` and its feature extractor in ``path``.

    With ``stable_layer_norm=True`` (default) it mirrors
    ``facebook/hubert-large-ll60k`` (layer-norm feature encoder with conv bias,
    ``do_stable_layer_norm=True``); with ``False`` it mirrors
    ``facebook/hubert-base-ls960`` (group-norm feature encoder).
    {ssl}
    {layout_sections}
    """
    return _build_ssl(path, "Hubert", seed, stable_layer_norm, None, do_normalize, return_attention_mask)


def make_tiny_wav2vec2(path, seed=0, feat_extract_norm="group", do_normalize=None, return_attention_mask=None):
    """Build a tiny random ``Wav2Vec2Model`` and its feature extractor in ``path``.

    ``feat_extract_norm="group"`` (default) mirrors ``facebook/wav2vec2-base``:
    group-norm feature encoder without conv bias, post-norm transformer, and a
    feature extractor that returns no attention mask (such models must be fed
    zero-padded batches without a mask, or better, batches of equal length).
    ``"layer"`` mirrors ``facebook/wav2vec2-large-lv60``: layer-norm feature
    encoder with conv bias, ``do_stable_layer_norm=True``, attention mask on.
    {ssl}
    Parameters
    ----------
    {path_seed}
    feat_extract_norm : {"group", "layer"}, default="group"
        Feature-encoder normalisation, see above.
    do_normalize : bool or None, default=None
        Feature extractor's per-clip normalisation; None means True (as in both
        real checkpoints).
    return_attention_mask : bool or None, default=None
        Whether the feature extractor returns an attention mask; None means
        ``feat_extract_norm == "layer"``.

    {returns}
    """
    if feat_extract_norm not in ("group", "layer"):
        raise ValueError(f"feat_extract_norm must be 'group' or 'layer', got {feat_extract_norm!r}")
    layer = feat_extract_norm == "layer"
    return _build_ssl(path, "Wav2Vec2", seed, layer, feat_extract_norm, do_normalize, return_attention_mask)


def make_tiny_data2vec(path, seed=0):
    """Build a tiny random ``Data2VecAudioModel`` and its feature extractor in ``path``.

    It mirrors ``facebook/data2vec-audio-base``: layer-norm feature encoder
    with conv bias, and a position embedding of stacked convolutions (here 2
    of kernel 5, 2 groups, instead of one wide convolution as in WavLM, HuBERT
    and wav2vec 2.0). The feature extractor normalises each clip and returns
    an attention mask, as the real one.
    {ssl}
    {sections}
    """
    config_kwargs = dict(
        _encoder_kwargs(),
        conv_bias=True,
        num_conv_pos_embeddings=2,
        conv_pos_kernel_size=5,
        num_conv_pos_embedding_groups=2,
    )
    return _build(path, "Data2VecAudio", seed, config_kwargs, do_normalize=True, return_attention_mask=True)


def make_tiny_whisper(path, seed=0):
    """Build a tiny random ``WhisperModel`` and its feature extractor in ``path``.

    An encoder-decoder of the Whisper architecture, of which zsfuse uses the
    encoder: ``d_model=16``, 2 encoder layers and 1 decoder layer with 2 heads,
    feed-forward size 32, 80 mel bins and ``max_source_positions=1500`` (the
    30 s window of the real models, 50 frames per second), a 64-token
    vocabulary. Saved with ``save_pretrained`` together with a
    ``WhisperFeatureExtractor(feature_size=80)`` (16 kHz, 30 s window), so
    ``AutoModel.from_pretrained(path)`` and
    ``AutoFeatureExtractor.from_pretrained(path)`` load it.

    {sections}
    """
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    folder = prepare_folder(path)
    config = WhisperConfig(
        vocab_size=64,
        d_model=16,
        encoder_layers=2,
        encoder_attention_heads=2,
        decoder_layers=1,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    with seeded(seed):
        WhisperModel(config).eval().save_pretrained(str(folder))
    WhisperFeatureExtractor(feature_size=80).save_pretrained(str(folder))
    return str(folder)


def _fill_docs(*functions):
    for f in functions:
        for key, text in _DOC_PARTS.items():
            if f.__doc__:  # None under python -OO
                f.__doc__ = f.__doc__.replace(key, text)


_fill_docs(make_tiny_wavlm, make_tiny_hubert, make_tiny_wav2vec2, make_tiny_data2vec, make_tiny_whisper)

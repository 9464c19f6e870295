"""Tiny, offline, deterministic test models and generated test audio.

Everything here builds without the network and in seconds: the model builders
create randomly initialised models from small configurations and save them
with ``save_pretrained`` (or, for msclap, in msclap's own checkpoint format),
so that tests load them back through exactly the code path a hub id takes.
The audio generators use numpy only.

Importing this module is cheap: torch, transformers and msclap are imported
inside the functions that need them.

Every builder is seeded: the same call gives identical weights (within one
installed version of torch and transformers). Builders run inside
``torch.random.fork_rng``, so they leave the global torch random state alone.

Examples
--------
>>> from zsfuse.testing import make_tiny_wavlm, speechlike, write_wav
>>> folder = make_tiny_wavlm("/tmp/tiny-wavlm")            # doctest: +SKIP
>>> wave = speechlike(1.0, 16000, contour="fall")
>>> wave.shape, wave.dtype
((16000,), dtype('float32'))
"""

from __future__ import annotations

import collections
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "TinyMSCLAP",
    "chirp",
    "make_audio_tree",
    "make_tiny_clap",
    "make_tiny_hubert",
    "make_tiny_msclap",
    "make_tiny_wav2vec2",
    "make_tiny_wavlm",
    "msclap_reference_wrapper",
    "noise_burst",
    "speechlike",
    "tone",
    "write_wav",
]

# ---------------------------------------------------------------------------
# An offline byte-level BPE vocabulary (the format of GPT-2's and RoBERTa's
# vocab.json + merges.txt), learned deterministically from a fixed corpus.
# Byte-level BPE covers every byte, so any text can be tokenised.
# ---------------------------------------------------------------------------

_BPE_CORPUS = """
this person is feeling angry. this person is feeling happy. this person is feeling sad.
this person is feeling neutral. this person is feeling calm. this person is feeling fearful.
this person is feeling disgusted. this person is feeling surprised. this person is feeling excited.
this person is feeling frustrated. this person is feeling bored. this person is feeling anxious.
a person speaking in an angry voice. a person speaking in a happy voice. a person speaking in a sad voice.
a person speaking in a neutral voice. a person speaking in a calm voice. a person speaking in a fearful voice.
the speaker sounds angry. the speaker sounds happy. the speaker sounds sad. the speaker sounds neutral.
this is a sound of speech. this is a sound of an angry person. this is a sound of a happy person.
this is a sound of music. this is a sound of noise. this is a sound of a dog barking.
an angry man shouting. a happy woman laughing. a sad child crying. a calm voice talking.
anger happiness sadness neutrality fear disgust surprise excitement frustration contempt.
the emotion of the speech is anger. the emotion of the speech is happiness. the emotion of the speech is sadness.
"""

_BPE_NUM_MERGES = 400
_GPT2_EOS = "<|endoftext|>"
_ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
_ROBERTA_MASK = "<mask>"


def _bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, in GPT-2's order."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _learn_bpe(corpus=_BPE_CORPUS, num_merges=_BPE_NUM_MERGES):
    """Learn byte-level BPE merges; ties broken lexicographically (deterministic).

    Returns the token list (256 byte tokens in GPT-2 order, then one token per
    merge) and the merges, as pairs.
    """
    b2u = _bytes_to_unicode()
    words = collections.Counter(
        re.findall(r" ?[a-z]+| ?[0-9]+| ?[^\sa-z0-9]+", corpus.lower())
    )
    seqs = {w: tuple(b2u[b] for b in w.encode("utf-8")) for w in words}
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for w, count in words.items():
            s = seqs[w]
            for pair in zip(s, s[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        for w in words:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = tuple(out)
    tokens = list(b2u.values()) + [a + b for a, b in merges]
    return tokens, merges


def _write_bpe_files(folder, flavour):
    """Write ``vocab.json`` and ``merges.txt`` for a "roberta" or "gpt2" tokenizer.

    RoBERTa flavour: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, byte and
    merge tokens, ``<mask>`` last (the layout of ``roberta-base``).
    GPT-2 flavour: byte tokens first (so ``"!"`` is id 0, as in ``gpt2``: msclap
    relies on it), merge tokens, ``<|endoftext|>`` last.
    """
    tokens, merges = _learn_bpe()
    if flavour == "roberta":
        vocab = [*_ROBERTA_SPECIALS, *tokens, _ROBERTA_MASK]
    else:
        vocab = [*tokens, _GPT2_EOS]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "vocab.json", "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(folder / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)
    return len(vocab)


def _seeded(seed):
    """A context that forks torch's CPU RNG and seeds it."""
    import torch

    class _Ctx:
        def __enter__(self):
            self._fork = torch.random.fork_rng(devices=[])
            self._fork.__enter__()
            torch.manual_seed(int(seed))
            return self

        def __exit__(self, *exc):
            return self._fork.__exit__(*exc)

    return _Ctx()


def _prepare_folder(path):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------
# transformers CLAP
# ---------------------------------------------------------------------------

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


def make_tiny_clap(path, seed=0, logit_scale_a=TINY_CLAP_LOGIT_SCALE_A,
                   logit_scale_t=TINY_CLAP_LOGIT_SCALE_T):
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
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        RobertaTokenizerFast,
    )

    folder = _prepare_folder(path)
    vocab_size = _write_bpe_files(folder, "roberta")
    tokenizer = RobertaTokenizerFast.from_pretrained(str(folder), model_max_length=77)
    text_config = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=80,  # 77 tokens + RoBERTa's position offset of 2
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        projection_dim=TINY_CLAP_PROJECTION_DIM,
    )
    audio_config = dict(
        spec_size=128,
        num_mel_bins=16,
        window_size=8,
        patch_size=4,
        patch_stride=[4, 4],
        depths=[1, 1],
        num_attention_heads=[2, 2],
        patch_embeds_hidden_size=16,
        hidden_size=32,  # patch_embeds_hidden_size * 2 ** (len(depths) - 1)
        num_classes=5,
        enable_fusion=False,
        projection_dim=TINY_CLAP_PROJECTION_DIM,
    )
    config = ClapConfig(
        text_config=text_config,
        audio_config=audio_config,
        projection_dim=TINY_CLAP_PROJECTION_DIM,
    )
    with _seeded(seed):
        model = ClapModel(config).eval()
    with torch.no_grad():
        model.logit_scale_a.fill_(float(logit_scale_a))
        model.logit_scale_t.fill_(float(logit_scale_t))
    feature_extractor = ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=48000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14000,
        truncation="rand_trunc",
        padding="repeatpad",
    )
    processor = ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return str(folder)


# ---------------------------------------------------------------------------
# Speech foundation models (wav2vec 2.0 family)
# ---------------------------------------------------------------------------

_CONV_KERNEL = (10, 3, 3, 3, 3, 2, 2)  # receptive field 400 samples
_CONV_STRIDE = (5, 2, 2, 2, 2, 2, 2)  # hop 320 samples (20 ms at 16 kHz)


def _ssl_config_kwargs(stable_layer_norm, feat_extract_norm=None):
    if feat_extract_norm is None:
        feat_extract_norm = "layer" if stable_layer_norm else "group"
    return dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(16,) * 7,
        conv_kernel=_CONV_KERNEL,
        conv_stride=_CONV_STRIDE,
        conv_bias=feat_extract_norm == "layer",
        feat_extract_norm=feat_extract_norm,
        do_stable_layer_norm=bool(stable_layer_norm),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )


def _save_ssl(folder, model_cls, config, seed, do_normalize, return_attention_mask):
    from transformers import Wav2Vec2FeatureExtractor

    with _seeded(seed):
        model = model_cls(config).eval()
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


def _fe_defaults(layer_norm, do_normalize, return_attention_mask):
    # The real checkpoints: layer-norm feature encoders ("large"/"lv60") want
    # normalised input and an attention mask; group-norm ones (wav2vec2-base)
    # are fed zero-padded input without a mask.
    if do_normalize is None:
        do_normalize = True
    if return_attention_mask is None:
        return_attention_mask = bool(layer_norm)
    return do_normalize, return_attention_mask


_SSL_DOC = """
    Architecture: the standard 7-layer convolutional feature encoder (kernels
    {kernels}, strides {strides}: receptive field 400 samples, hop 320 samples,
    i.e. 50 frames per second at 16 kHz) with 16 channels, then a transformer
    with hidden size 32, 2 layers, 2 heads, intermediate size 37. Saved with
    ``save_pretrained`` together with a ``Wav2Vec2FeatureExtractor`` at 16 kHz,
    so ``AutoModel.from_pretrained(path)`` and
    ``AutoFeatureExtractor.from_pretrained(path)`` load it.
""".format(kernels=_CONV_KERNEL, strides=_CONV_STRIDE)


def make_tiny_wavlm(path, seed=0, stable_layer_norm=True, do_normalize=None,
                    return_attention_mask=None):
    """Build a tiny random ``WavLMModel`` and its feature extractor in ``path``.

    With ``stable_layer_norm=True`` (default) it mirrors ``microsoft/wavlm-large``
    (layer-norm feature encoder with conv bias, pre-norm transformer:
    ``do_stable_layer_norm=True``); with ``False`` it mirrors the base models
    (group-norm feature encoder, post-norm transformer).
    {ssl}
    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.
    stable_layer_norm : bool, default=True
        Large-model ("stable layer norm") layout, see above.
    do_normalize : bool or None, default=None
        Feature extractor's per-clip normalisation; None means True.
    return_attention_mask : bool or None, default=None
        Whether the feature extractor returns an attention mask; None means
        ``stable_layer_norm``.

    Returns
    -------
    str
        ``path``, as a string.
    """
    from transformers import WavLMConfig, WavLMModel

    folder = _prepare_folder(path)
    config = WavLMConfig(**_ssl_config_kwargs(stable_layer_norm))
    do_normalize, return_attention_mask = _fe_defaults(
        stable_layer_norm, do_normalize, return_attention_mask)
    return _save_ssl(folder, WavLMModel, config, seed, do_normalize, return_attention_mask)


def make_tiny_hubert(path, seed=0, stable_layer_norm=True, do_normalize=None,
                     return_attention_mask=None):
    """Build a tiny random ``HubertModel`` and its feature extractor in ``path``.

    With ``stable_layer_norm=True`` (default) it mirrors
    ``facebook/hubert-large-ll60k`` (layer-norm feature encoder with conv bias,
    ``do_stable_layer_norm=True``); with ``False`` it mirrors
    ``facebook/hubert-base-ls960`` (group-norm feature encoder).
    {ssl}
    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.
    stable_layer_norm : bool, default=True
        Large-model ("stable layer norm") layout, see above.
    do_normalize : bool or None, default=None
        Feature extractor's per-clip normalisation; None means True.
    return_attention_mask : bool or None, default=None
        Whether the feature extractor returns an attention mask; None means
        ``stable_layer_norm``.

    Returns
    -------
    str
        ``path``, as a string.
    """
    from transformers import HubertConfig, HubertModel

    folder = _prepare_folder(path)
    config = HubertConfig(**_ssl_config_kwargs(stable_layer_norm))
    do_normalize, return_attention_mask = _fe_defaults(
        stable_layer_norm, do_normalize, return_attention_mask)
    return _save_ssl(folder, HubertModel, config, seed, do_normalize, return_attention_mask)


def make_tiny_wav2vec2(path, seed=0, feat_extract_norm="group", do_normalize=None,
                       return_attention_mask=None):
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
    path : str or path-like
        Folder to write to (created if missing).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.
    feat_extract_norm : {{"group", "layer"}}, default="group"
        Feature-encoder normalisation, see above.
    do_normalize : bool or None, default=None
        Feature extractor's per-clip normalisation; None means True (as in both
        real checkpoints).
    return_attention_mask : bool or None, default=None
        Whether the feature extractor returns an attention mask; None means
        ``feat_extract_norm == "layer"``.

    Returns
    -------
    str
        ``path``, as a string.
    """
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    if feat_extract_norm not in ("group", "layer"):
        raise ValueError(
            f"feat_extract_norm must be 'group' or 'layer', got {feat_extract_norm!r}")
    layer = feat_extract_norm == "layer"
    folder = _prepare_folder(path)
    config = Wav2Vec2Config(**_ssl_config_kwargs(layer, feat_extract_norm))
    do_normalize, return_attention_mask = _fe_defaults(layer, do_normalize,
                                                       return_attention_mask)
    return _save_ssl(folder, Wav2Vec2Model, config, seed, do_normalize, return_attention_mask)


for _f in (make_tiny_wavlm, make_tiny_hubert, make_tiny_wav2vec2):
    _f.__doc__ = _f.__doc__.replace("{ssl}", _SSL_DOC).replace("{{", "{").replace("}}", "}")
del _f


# ---------------------------------------------------------------------------
# msclap
# ---------------------------------------------------------------------------

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


def _msclap_config(version):
    import importlib.resources

    import yaml

    text = (importlib.resources.files("msclap") / "configs" / f"config_{version}.yml").read_text()
    return yaml.safe_load(text)


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
        from .exceptions import MissingDependencyError

        raise MissingDependencyError(_MSCLAP_MISSING) from exc
    import torch
    from msclap.models.clap import CLAP
    from transformers import GPT2Config, GPT2Model, GPT2TokenizerFast

    if version not in ("2022", "2023"):
        raise ValueError(f"version must be '2022' or '2023', got {version!r}")
    folder = _prepare_folder(path).resolve()
    text_dir = folder / ("tiny-gpt2" if version == "2023" else "tiny-bert")
    if "clip" in str(text_dir):
        raise ValueError(
            f"the msclap text-model path must not contain 'clip' (msclap would take its "
            f"CLIP code path): {str(text_dir)!r}")
    cfg = _msclap_config(version)
    if version == "2023":
        vocab_size = _write_bpe_files(text_dir, "gpt2")
        tokenizer = GPT2TokenizerFast.from_pretrained(str(text_dir), model_max_length=1024)
        eos = tokenizer.convert_tokens_to_ids(_GPT2_EOS)
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
        from transformers import BertConfig, BertModel, BertTokenizerFast

        text_dir.mkdir(parents=True, exist_ok=True)
        vocab = _wordpiece_vocab()
        (text_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
        tokenizer = BertTokenizerFast(str(text_dir / "vocab.txt"), do_lower_case=True,
                                      model_max_length=512)
        text_config = BertConfig(vocab_size=len(vocab), hidden_size=TINY_MSCLAP_TEXT_DIM,
                                 num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                                 max_position_embeddings=512)
        text_cls = BertModel
    with _seeded(seed):
        text_model = text_cls(text_config).eval()
    text_model.save_pretrained(str(text_dir))
    tokenizer.save_pretrained(str(text_dir))
    with _seeded(seed):
        clap = CLAP(
            audioenc_name=cfg["audioenc_name"],
            sample_rate=cfg["sampling_rate"],
            window_size=cfg["window_size"],
            hop_size=cfg["hop_size"],
            mel_bins=cfg["mel_bins"],
            fmin=cfg["fmin"],
            fmax=cfg["fmax"],
            classes_num=cfg["num_classes"],
            out_emb=cfg["out_emb"],
            text_model=str(text_dir),
            transformer_embed_dim=TINY_MSCLAP_TEXT_DIM,
            d_proj=cfg["d_proj"],
        ).eval()
    checkpoint = folder / f"msclap_tiny_{version}.pth"
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    torch.save({"model": clap.state_dict()}, str(tmp))
    os.replace(tmp, checkpoint)
    return TinyMSCLAP(checkpoint=str(checkpoint), text_model=str(text_dir), version=version)


def _wordpiece_vocab():
    """A small lowercase WordPiece vocabulary covering any ASCII text (BERT's special tokens first)."""
    words = sorted(set(re.findall(r"[a-z]+", _BPE_CORPUS.lower())))
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    return (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars if c.isalnum()]
            + [w for w in words if len(w) > 1])


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
        from .exceptions import MissingDependencyError

        raise MissingDependencyError(_MSCLAP_MISSING) from exc

    overrides = {"text_model": tiny.text_model,
                 "transformer_embed_dim": tiny.transformer_embed_dim}

    class TinyCLAPWrapper(CLAPWrapper):
        def read_config_as_args(self, *args, **kwargs):
            ns = super().read_config_as_args(*args, **kwargs)
            vars(ns).update(overrides)
            return ns

    return TinyCLAPWrapper(model_fp=tiny.checkpoint, version=tiny.version, use_cuda=use_cuda)


# ---------------------------------------------------------------------------
# Test audio (numpy only)
# ---------------------------------------------------------------------------


def _n_samples(seconds, rate):
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate!r}")
    if seconds < 0:
        raise ValueError(f"seconds must be non-negative, got {seconds!r}")
    return int(round(seconds * rate))


def tone(freq, seconds, rate, amplitude=0.5):
    """A pure sine tone.

    Parameters
    ----------
    freq : float
        Frequency in Hz.
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    amplitude : float, default=0.5
        Peak amplitude.

    Returns
    -------
    numpy.ndarray
        1-D float32 array, ``amplitude * sin(2 pi freq t)`` with ``t = n / rate``.
    """
    t = np.arange(_n_samples(seconds, rate), dtype=np.float64) / rate
    return (amplitude * np.sin(2.0 * np.pi * freq * t)).astype(np.float32)


def chirp(f0, f1, seconds, rate, amplitude=0.5):
    """A linear sine sweep from ``f0`` to ``f1`` Hz.

    Parameters
    ----------
    f0, f1 : float
        Start and end frequency in Hz.
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    amplitude : float, default=0.5
        Peak amplitude.

    Returns
    -------
    numpy.ndarray
        1-D float32 array, ``amplitude * sin(2 pi (f0 t + (f1 - f0) t^2 / (2 T)))``.
    """
    t = np.arange(_n_samples(seconds, rate), dtype=np.float64) / rate
    duration = max(float(seconds), 1e-12)
    phase = 2.0 * np.pi * (f0 * t + 0.5 * (f1 - f0) * t**2 / duration)
    return (amplitude * np.sin(phase)).astype(np.float32)


def noise_burst(seconds, rate, seed=0, amplitude=0.5):
    """White noise, uniform in ``[-amplitude, amplitude)``, with 5 ms fades.

    Parameters
    ----------
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    amplitude : float, default=0.5
        Bound of the absolute value.

    Returns
    -------
    numpy.ndarray
        1-D float32 array; the first and last 5 ms fade in and out (half-Hann).
    """
    n = _n_samples(seconds, rate)
    rng = np.random.default_rng(seed)
    x = amplitude * rng.uniform(-1.0, 1.0, n)
    fade = min(int(0.005 * rate), n // 2)
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
        x[:fade] *= ramp
        x[n - fade:] *= ramp[::-1]
    return x.astype(np.float32)


def speechlike(seconds, rate, f0=120.0, contour="rise", energy=0.5, tempo=4.0, seed=0):
    """A harmonic, voice-like signal with a pitch contour and syllable rhythm.

    The pitch moves linearly from ``f0`` to ``1.5 * f0`` (``"rise"``), to
    ``f0 / 1.5`` (``"fall"``) or stays at ``f0`` (``"flat"``), with a small
    seeded jitter (under 2 %). The signal is the sum of the harmonics below
    ``min(rate / 2, 5 kHz)`` (at most 12) with amplitudes ``1 / k`` and seeded
    phases, times a syllable envelope ``sin^2(pi tempo t)`` (``tempo``
    syllables per second) whose syllables have seeded strengths in
    ``[0.6, 1]``, plus faint seeded breath noise. It is scaled so its peak
    absolute value is ``energy``.

    Parameters
    ----------
    seconds : float
        Duration; the length is ``round(seconds * rate)`` samples.
    rate : int
        Sampling rate in Hz.
    f0 : float, default=120.0
        Starting fundamental frequency in Hz.
    contour : {"rise", "fall", "flat"}, default="rise"
        Pitch contour.
    energy : float, default=0.5
        Peak absolute value of the output (a loudness knob).
    tempo : float, default=4.0
        Syllables per second.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        1-D float32 array.
    """
    if contour not in ("rise", "fall", "flat"):
        raise ValueError(f"contour must be 'rise', 'fall' or 'flat', got {contour!r}")
    n = _n_samples(seconds, rate)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / rate
    u = t / max(float(seconds), 1e-12)
    end = {"rise": 1.5 * f0, "fall": f0 / 1.5, "flat": f0}[contour]
    pitch = f0 + (end - f0) * u
    # slow jitter: a smooth random curve through a few control points
    knots = rng.uniform(-1.0, 1.0, 8)
    jitter = 0.015 * np.interp(u, np.linspace(0.0, 1.0, knots.size), knots)
    pitch = pitch * (1.0 + jitter)
    phase = 2.0 * np.pi * np.cumsum(pitch) / rate
    top = min(rate / 2.0, 5000.0)
    n_harm = int(max(1, min(12, top // max(pitch.max(), 1e-6))))
    offsets = rng.uniform(0.0, 2.0 * np.pi, n_harm)
    voiced = np.zeros(n)
    for k in range(1, n_harm + 1):
        voiced += np.sin(k * phase + offsets[k - 1]) / k
    n_syll = int(np.ceil(tempo * seconds)) + 1
    strengths = rng.uniform(0.6, 1.0, n_syll)
    index = np.minimum((t * tempo).astype(int), n_syll - 1)
    envelope = np.sin(np.pi * tempo * t) ** 2 * strengths[index]
    breath = 0.03 * rng.standard_normal(n)
    x = envelope * (voiced + breath)
    peak = np.max(np.abs(x))
    if peak > 0:
        x *= energy / peak
    return x.astype(np.float32)


def write_wav(path, wave, rate, subtype="PCM_16", channels=1):
    """Write a 1-D signal to an audio file with soundfile.

    With ``channels > 1`` the file holds ``channels`` scaled copies: channel
    ``c`` (0-based) is ``wave / (c + 1)``, so channel 0 is ``wave`` itself and
    the channel mean is ``wave * H / channels`` with ``H = 1 + 1/2 + ... +
    1/channels``. The format follows the file extension (``.wav``, ``.flac``,
    ``.ogg``, ...); parent folders are created.

    Parameters
    ----------
    path : str or path-like
        File to write.
    wave : array-like
        1-D signal, float in [-1, 1] (values outside are clipped by PCM
        subtypes).
    rate : int
        Sampling rate in Hz.
    subtype : str, default="PCM_16"
        A soundfile subtype: ``"PCM_16"``, ``"PCM_24"``, ``"PCM_32"``,
        ``"FLOAT"``, ``"DOUBLE"``, ...
    channels : int, default=1
        Number of channels.

    Returns
    -------
    str
        ``path``, as a string.
    """
    import soundfile as sf

    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1:
        raise ValueError(f"wave must be 1-D, got shape {wave.shape}")
    if int(channels) < 1:
        raise ValueError(f"channels must be >= 1, got {channels!r}")
    data = np.stack([wave / (c + 1) for c in range(int(channels))], axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, int(rate), subtype=subtype)
    return str(path)


#: Per-class voice settings of :func:`make_audio_tree` (cycled for more labels).
_TREE_STYLES = (
    dict(f0=180.0, contour="rise", energy=0.9, tempo=6.0),
    dict(f0=220.0, contour="rise", energy=0.6, tempo=5.0),
    dict(f0=130.0, contour="flat", energy=0.4, tempo=4.0),
    dict(f0=110.0, contour="fall", energy=0.25, tempo=2.5),
)


def make_audio_tree(root, labels=("angry", "happy", "neutral", "sad"), n_speakers=2,
                    n_per_class=2, seconds=1.0, rate=16000, seed=0):
    """Write a small labelled set of speech-like clips, one folder per label.

    Files are ``root/<label>/spk<s>_<i>.wav`` (PCM_16, mono). Each label has
    its own voice style (pitch, contour, loudness, tempo: label ``j`` uses
    style ``j % 4``, from high, rising, loud and fast to low, falling, soft and
    slow); speakers shift the pitch (speaker ``s`` by a factor ``1 + 0.1 s``)
    and every clip has its own seed, so a classifier can learn the labels.

    Parameters
    ----------
    root : str or path-like
        Folder to write to (created if missing).
    labels : sequence of str, default=("angry", "happy", "neutral", "sad")
        Class names.
    n_speakers : int, default=2
        Number of speakers.
    n_per_class : int, default=2
        Clips per label and speaker.
    seconds : float, default=1.0
        Duration of each clip.
    rate : int, default=16000
        Sampling rate in Hz.
    seed : int, default=0
        Base seed; clip seeds derive from it.

    Returns
    -------
    list of dict
        One record per clip, in label, speaker, index order, with keys
        ``"path"`` (str), ``"label"`` (str) and ``"speaker"`` (str, ``"spk<s>"``).
    """
    root = Path(root)
    records = []
    k = 0
    for j, label in enumerate(labels):
        style = _TREE_STYLES[j % len(_TREE_STYLES)]
        for s in range(int(n_speakers)):
            for i in range(int(n_per_class)):
                wave = speechlike(seconds, rate, f0=style["f0"] * (1 + 0.1 * s),
                                  contour=style["contour"], energy=style["energy"],
                                  tempo=style["tempo"], seed=int(seed) * 100003 + k)
                k += 1
                path = write_wav(root / str(label) / f"spk{s}_{i}.wav", wave, rate)
                records.append({"path": path, "label": str(label), "speaker": f"spk{s}"})
    return records

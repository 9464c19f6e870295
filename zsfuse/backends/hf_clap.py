"""LAION-CLAP and any transformers ``ClapModel`` checkpoint."""

from __future__ import annotations

from ..exceptions import ModelKindError
from ..models import autocast, load_pretrained, model_fingerprint, read_model_type, resolve_model_path
from ._base import ClapBackend
from ._family import ClapFamily, KnownModel

#: ``model_type`` values of speech foundation models (named in the error for a wrong folder).
SPEECH_MODEL_TYPES = ("wav2vec2", "wavlm", "hubert", "data2vec-audio", "unispeech", "unispeech-sat", "whisper")

# ClapFeatureExtractor's `padding` values -> zsfuse pad modes
_PAD_MODES = {"repeatpad": "repeatpad", "repeat": "repeat", "pad": "zero"}


def check_is_clap(path, model):
    """Refuse a folder that holds another kind of model, before loading any weight.

    Raises
    ------
    ModelKindError
        Naming the folder, the ``model_type`` its ``config.json`` declares and
        what to do with it.
    """
    model_type = read_model_type(path)
    if model_type == "clap":
        return
    if model_type is None:
        found = "no config.json with a model_type"
    else:
        found = f"a {model_type!r} model (config.json model_type)"
    hint = ""
    if model_type in SPEECH_MODEL_TYPES:
        hint = " It is a speech foundation model: give it as the FM model (--fm, FMEmbeddingTransformer)."
    raise ModelKindError(
        f"CLAP model {model!r} ({path}) holds {found}, not a transformers CLAP model (model_type "
        f"'clap'). Give a ClapModel folder or hub id such as laion/clap-htsat-unfused, or an MS-CLAP "
        f"name (msclap-2023) or checkpoint file.{hint}"
    )


def _features_array(out):
    """What ``get_audio_features``/``get_text_features`` return, as float32 numpy.

    A tensor in transformers 4, an output object holding it as ``pooler_output`` in 5.
    """
    import torch

    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return out.float().cpu().numpy()


class HFClapBackend(ClapBackend):
    """A transformers ``ClapModel`` with its feature extractor and tokenizer.

    The waveform is windowed by zsfuse before the feature extractor sees it, so
    the extractor never crops at random, and ``is_longer`` is set by zsfuse (all
    windows fit the window: False), never drawn at random as the extractor does
    for fused checkpoints.
    """

    name = "hf-clap"

    def __init__(self, model, revision=None, device="cpu", dtype=None, trust_remote_code=False):
        import torch
        from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel

        super().__init__()
        self.device = device
        self.dtype = dtype if dtype is not None else torch.float32
        path = resolve_model_path(model, revision, what="CLAP model")
        check_is_clap(path, model)
        self.path = path
        self.model = (
            load_pretrained(ClapModel, path, trust_remote_code=trust_remote_code, what="CLAP model").to(device).eval()
        )
        self.feature_extractor = load_pretrained(AutoFeatureExtractor, path, what="CLAP feature extractor")
        self.tokenizer = load_pretrained(AutoTokenizer, path, what="CLAP tokenizer")
        fe = self.feature_extractor
        self.sampling_rate = int(fe.sampling_rate)
        self.window_samples = int(fe.nb_max_samples)
        self.native_pad_mode = _PAD_MODES.get(getattr(fe, "padding", "repeatpad"), "repeatpad")
        text_config = self.model.config.text_config
        limits = [int(text_config.max_position_embeddings) - 2]  # RoBERTa offsets positions by 2
        if getattr(self.tokenizer, "model_max_length", None) and self.tokenizer.model_max_length < 10**6:
            limits.append(int(self.tokenizer.model_max_length))
        self.max_text_tokens = min(limits)
        self.fingerprint = f"hf-clap:{model_fingerprint(path)}"

    def embed_audio(self, windows):
        import torch

        windows = self._checked_windows(windows)
        features = self.feature_extractor(list(windows), sampling_rate=self.sampling_rate, return_tensors="pt")
        input_features = features["input_features"].to(self.device)
        is_longer = torch.zeros((len(windows), 1), dtype=torch.bool, device=self.device)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.model.get_audio_features(input_features=input_features, is_longer=is_longer)
        return _features_array(out)

    def embed_text(self, texts):
        import torch

        texts = list(texts)
        tokens = self._tokenize_padded(texts)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
            )
        return _features_array(out)

    def logit_scale(self):
        # the zero-shot-audio-classification pipeline scores with logits_per_audio,
        # i.e. the audio-side temperature
        return float(self.model.logit_scale_a.detach().exp().cpu())


def _recognise_clap_config(config):
    return config.get("model_type") == "clap"


def _check(model, path, *, trust_remote_code=False, options=None):
    check_is_clap(path, model)


def _load(model, path, *, revision=None, device="cpu", dtype=None, trust_remote_code=False, options=None):
    return HFClapBackend(model, revision, device, dtype, trust_remote_code)


_LAION_630K = "Wu et al., ICASSP 2023, arXiv 2211.06687, §2 (LAION-Audio-630K, AudioSet, AudioCaps, Clotho)"
_LAION_LICENCE = "Apache-2.0 (hub model card)"

FAMILY = ClapFamily(
    name="hf-clap",
    title="LAION-CLAP (transformers)",
    summary="any transformers ClapModel folder or hub id (LAION-CLAP: HTSAT audio, RoBERTa text)",
    load=_load,
    check=_check,
    recognise_config=_recognise_clap_config,
    known_models=(
        KnownModel("laion/clap-htsat-unfused", source=_LAION_630K, licence=_LAION_LICENCE),
        KnownModel("laion/clap-htsat-fused", source=_LAION_630K, licence=_LAION_LICENCE),
        KnownModel("laion/larger_clap_general", source=_LAION_630K, licence=_LAION_LICENCE),
        KnownModel(
            "laion/larger_clap_music_and_speech",
            source="LAION-AI/CLAP README (music and speech data added; the speech corpora are not listed)",
            licence=_LAION_LICENCE,
            note="trained with speech data that its card does not name",
        ),
        KnownModel("laion/larger_clap_music", source="LAION-AI/CLAP README (music data)", licence=_LAION_LICENCE),
    ),
    sampling_rate=48000,
    window="fixed: 10 s",
    pooling="HTSAT clip embedding (unfused; fused checkpoints run unfused, is_longer=False); text: RoBERTa pooler",
    audio_repeats="tiles the clip; whole copies then zeros ('repeatpad'), so repeats change the input",
    pad_mode="model = the feature extractor's padding ('repeatpad' for LAION); 'repeat' and 'zero' too",
)

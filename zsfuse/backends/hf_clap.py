"""LAION-CLAP and any transformers ``ClapModel`` checkpoint."""

from __future__ import annotations

import numpy as np

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


def clap_log_mel(feature_extractor, windows, workers=1):
    """``ClapFeatureExtractor``'s ``input_features`` of full windows, computed on all frames at once.

    transformers' extractor runs its short-time Fourier transform one frame at
    a time in Python (about a thousand FFT calls per 10-s window); this does
    the same arithmetic in the same order and precision on all the frames of a
    window at once: reflect padding, Hann window, float64 FFT rounded to
    complex64, power, the extractor's mel filters (``mel_filters_slaney``, or
    ``mel_filters`` for ``truncation="fusion"``, whose four copies are stacked
    as the extractor stacks them), floor 1e-10, decibels, float32. Windows of
    exactly ``nb_max_samples`` samples, so that the extractor would neither pad
    nor crop (zsfuse windows every clip first).

    Parameters
    ----------
    feature_extractor : transformers.ClapFeatureExtractor
        Its STFT size, hop and mel filters are used.
    windows : ndarray of float32, shape (n, nb_max_samples)
        The windows.
    workers : int, default=1
        Threads that share the windows (numpy releases the GIL in this work);
        each window is computed alone, so the result does not depend on it.

    Returns
    -------
    ndarray of float32, shape (n, 1 or 4, n_frames, n_mels)
        What the extractor returns as ``input_features`` for these windows
        (:meth:`HFClapBackend.embed_audio` checks once per model that both agree
        bit for bit, else uses the extractor).
    """
    from transformers.audio_utils import window_function

    fe = feature_extractor
    size = int(fe.fft_window_size)
    fusion = fe.truncation == "fusion"
    filters = fe.mel_filters if fusion else fe.mel_filters_slaney  # (frequency bins, mels)
    hann = window_function(size, "hann").astype(np.float64)

    def one(wave):
        return _log_mel_of_window(wave, hann, int(fe.hop_length), filters)

    workers = max(1, min(int(workers), len(windows)))
    if workers == 1:
        out = [one(wave) for wave in windows]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="zsfuse-log-mel") as pool:
            out = list(pool.map(one, windows))
    features = np.stack(out)[:, None]
    return np.repeat(features, 4, axis=1) if fusion else features


def _log_mel_of_window(wave, hann, hop, filters, chunk=64):
    """One window's log-mel spectrogram, (frames, mels) float32: transformers' ``spectrogram()``, vectorised.

    The frames go through the FFT ``chunk`` at a time into one power array, so
    that the temporaries stay small (a whole window's complex spectrum is 8 MB,
    freshly faulted in on every call); each frame's arithmetic is unchanged, and
    the mel product is one ``np.dot`` on the whole window, as transformers does it.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    size = hann.shape[0]
    half = size // 2
    x = np.asarray(wave, dtype=np.float64)
    padded = np.empty(x.shape[0] + 2 * half)  # reflect padding, as np.pad(mode="reflect") but without its overhead
    padded[half:-half] = x
    padded[:half] = x[half:0:-1]
    padded[-half:] = x[-2 : -half - 2 : -1]
    frames = sliding_window_view(padded, size)[::hop]
    power = np.empty((frames.shape[0], half + 1))
    for start in range(0, frames.shape[0], chunk):
        spectrum = np.fft.rfft(frames[start : start + chunk] * hann, axis=-1).astype(np.complex64)
        np.abs(spectrum, dtype=np.float64, out=power[start : start + chunk])
    np.square(power, out=power)  # transformers: np.abs(...) ** 2.0, the same rounding
    mel = np.dot(filters.T, power.T)  # as transformers' spectrogram(): (mels, frames)
    np.maximum(mel, 1e-10, out=mel)
    np.log10(mel, out=mel)  # 10 * (log10(max(mel, 1e-10)) - log10(reference=1.0))
    mel *= 10.0
    return mel.astype(np.float32).T


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
    #: Whether :func:`clap_log_mel` stands in for the feature extractor (None: not checked yet).
    _fast_log_mel = None

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
        input_features = torch.from_numpy(self._log_mel(windows)).to(self.device)
        is_longer = torch.zeros((len(windows), 1), dtype=torch.bool, device=self.device)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.model.get_audio_features(input_features=input_features, is_longer=is_longer)
        return _features_array(out)

    def _log_mel(self, windows):
        """The feature extractor's ``input_features`` of the windows, as numpy float32.

        Through :func:`clap_log_mel` (faster than the extractor's frame-by-frame
        loop, and on as many threads as torch's intra-op pool, idle meanwhile) when
        it gives this extractor's numbers bit for bit -- checked once per backend,
        on a probe window -- else through the extractor itself.
        """
        import torch

        if self._fast_log_mel is None:  # once per backend (subclasses build their extractor themselves)
            self._fast_log_mel = log_mel_agrees(self.feature_extractor, self.window_samples)
        if self._fast_log_mel:  # the windows side by side on the threads torch may use (it waits meanwhile)
            return clap_log_mel(self.feature_extractor, windows, workers=torch.get_num_threads())
        features = self.feature_extractor(list(windows), sampling_rate=self.sampling_rate, return_tensors="np")
        return np.asarray(features["input_features"], dtype=np.float32)

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


def log_mel_agrees(feature_extractor, window_samples):
    """Whether :func:`clap_log_mel` gives ``feature_extractor``'s features bit for bit, on a probe window.

    False for anything but transformers' own ``ClapFeatureExtractor`` (a subclass
    may compute otherwise) or when a transformers release changes its arithmetic.
    The extractor's draw from numpy's global generator (for fused checkpoints)
    is undone, so the check leaves no trace.

    Parameters
    ----------
    feature_extractor : object
        A backend's feature extractor.
    window_samples : int
        The backend's window: the extractor must neither pad nor crop it.

    Returns
    -------
    bool
    """
    from transformers import ClapFeatureExtractor

    if type(feature_extractor) is not ClapFeatureExtractor or feature_extractor.nb_max_samples != window_samples:
        return False
    rng = np.random.default_rng(0)
    probe = np.zeros((1, window_samples), dtype=np.float32)  # speech-level noise, then silence (the floor)
    probe[0, : window_samples // 2] = 0.1 * rng.standard_normal(window_samples // 2)
    state = np.random.get_state()
    try:
        expected = feature_extractor(list(probe), sampling_rate=feature_extractor.sampling_rate, return_tensors="np")
    finally:
        np.random.set_state(state)
    expected = np.asarray(expected["input_features"])
    got = clap_log_mel(feature_extractor, probe)
    return expected.dtype == got.dtype and np.array_equal(expected, got)


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

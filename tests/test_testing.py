"""Tests of zsfuse.testing: tiny offline models and generated audio."""

import dataclasses
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from zsfuse import testing
from zsfuse.testing import (
    TinyMSCLAP,
    chirp,
    make_audio_tree,
    make_tiny_clap,
    make_tiny_data2vec,
    make_tiny_hubert,
    make_tiny_msclap,
    make_tiny_wav2vec2,
    make_tiny_wavlm,
    make_tiny_whisper,
    noise_burst,
    speechlike,
    tone,
    write_demo_corpus,
    write_wav,
)

HAS_MSCLAP = importlib.util.find_spec("msclap") is not None
PROMPTS = ["this person is feeling angry.", "this person is feeling sad!"]


def _state_dicts_equal(a, b):
    import torch

    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _features(out):
    # transformers 4.x returns a tensor, 5.x an output object
    return out if hasattr(out, "shape") else out.pooler_output


# --------------------------------------------------------------------------
# module hygiene
# --------------------------------------------------------------------------


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, zsfuse.testing\n"
        "heavy = [m for m in ('torch', 'transformers', 'msclap') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_old_public_names_keep_their_import_path():
    from zsfuse.cli._demo import write_demo_corpus as demo_writer

    assert demo_writer is write_demo_corpus
    assert {
        "TINY_CLAP_PROJECTION_DIM",
        "TINY_CLAP_LOGIT_SCALE_A",
        "TINY_CLAP_LOGIT_SCALE_T",
        "TINY_MSCLAP_TEXT_DIM",
    } <= set(dir(testing))
    assert {"make_tiny_whisper", "make_tiny_data2vec", "write_demo_corpus"} <= set(testing.__all__)


def test_public_functions_have_numpydoc_docstrings():
    for name in testing.__all__:
        obj = getattr(testing, name)
        doc = obj.__doc__ or ""
        assert doc.strip(), name
        if callable(obj) and not isinstance(obj, type):
            assert "Returns\n    -------" in doc, name
            assert "Parameters\n    ----------" in doc, name
            assert "{" not in doc.replace("{'", "").replace('{"', ""), name  # every template part filled in


# --------------------------------------------------------------------------
# audio generators
# --------------------------------------------------------------------------


def _peak_hz(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)]


def _pitch_hz(x, rate, fmin=60, fmax=400):
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1 :]
    lo, hi = int(rate / fmax), int(rate / fmin)
    return rate / (lo + np.argmax(ac[lo:hi]))


@pytest.mark.parametrize("freq, rate", [(440.0, 16000), (1000.0, 44100), (123.0, 48000)])
def test_tone_frequency_amplitude_and_length(freq, rate):
    x = tone(freq, 0.5, rate, amplitude=0.3)
    assert x.dtype == np.float32 and x.ndim == 1 and len(x) == round(0.5 * rate)
    assert abs(_peak_hz(x, rate) - freq) <= 2.0
    assert np.max(np.abs(x)) == pytest.approx(0.3, abs=1e-3)
    assert len(tone(440, 1.25, 8000)) == 10000
    np.testing.assert_array_equal(tone(440, 0.1, 8000), tone(440, 0.1, 8000))


def test_chirp_sweeps_from_f0_to_f1():
    rate = 16000
    x = chirp(200.0, 2000.0, 2.0, rate, amplitude=0.4)
    assert x.dtype == np.float32 and len(x) == 2 * rate
    assert np.max(np.abs(x)) == pytest.approx(0.4, abs=1e-3)
    first, last = x[:1600], x[-1600:]  # 0.1 s each
    assert 150 < _peak_hz(first, rate) < 300
    assert 1850 < _peak_hz(last, rate) < 2050


def test_noise_burst_is_seeded_bounded_and_faded():
    a, b = noise_burst(0.5, 16000, seed=1), noise_burst(0.5, 16000, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, noise_burst(0.5, 16000, seed=2))
    assert a.dtype == np.float32 and len(a) == 8000
    assert np.max(np.abs(a)) <= 0.5
    assert a[0] == 0.0 and abs(a[-1]) < 0.01
    assert np.std(a[1000:-1000]) == pytest.approx(0.5 / np.sqrt(3), rel=0.05)


@pytest.mark.parametrize("contour", ["rise", "fall", "flat"])
def test_speechlike_contour_energy_and_determinism(contour):
    rate = 16000
    x = speechlike(2.0, rate, f0=120.0, contour=contour, energy=0.7, tempo=4.0, seed=3)
    assert x.dtype == np.float32 and x.ndim == 1 and len(x) == 2 * rate
    assert np.max(np.abs(x)) == pytest.approx(0.7, rel=1e-5)
    np.testing.assert_array_equal(x, speechlike(2.0, rate, f0=120.0, contour=contour, energy=0.7, tempo=4.0, seed=3))
    assert not np.array_equal(x, speechlike(2.0, rate, f0=120.0, contour=contour, energy=0.7, tempo=4.0, seed=4))
    # pitch measured on the syllables around 0.125 s and 1.875 s
    start = _pitch_hz(x[int(0.05 * rate) : int(0.2 * rate)], rate)
    end = _pitch_hz(x[int(1.8 * rate) : int(1.95 * rate)], rate)
    expected_end = {"rise": 180.0, "fall": 80.0, "flat": 120.0}[contour]
    assert start == pytest.approx(120.0 * (1 + 0.0125), rel=0.06)
    assert end == pytest.approx(expected_end, rel=0.06)


def test_speechlike_has_syllables_at_the_tempo():
    rate = 16000
    x = speechlike(2.0, rate, tempo=4.0, contour="flat")
    frame = rate // 100
    energy = np.sqrt(np.mean(x[: len(x) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    spectrum = np.abs(np.fft.rfft(energy - energy.mean()))
    assert np.fft.rfftfreq(len(energy), 1 / 100)[np.argmax(spectrum)] == pytest.approx(4.0, abs=0.5)
    # silent gaps between syllables
    assert energy.min() < 0.05 * energy.max()


def test_generators_validate_arguments():
    with pytest.raises(ValueError, match="contour"):
        speechlike(1.0, 16000, contour="wobble")
    with pytest.raises(ValueError, match="rate"):
        tone(440, 1.0, 0)
    with pytest.raises(ValueError, match="seconds"):
        noise_burst(-1.0, 16000)
    assert len(speechlike(0.0, 16000)) == 0


@pytest.mark.parametrize("subtype, atol", [("PCM_16", 1 / 32768), ("PCM_24", 1 / 2**23), ("FLOAT", 1e-7)])
def test_write_wav_round_trip(tmp_path, subtype, atol):
    wave = speechlike(0.5, 16000, energy=0.8)
    path = write_wav(tmp_path / "sub" / "a.wav", wave, 16000, subtype=subtype)
    assert isinstance(path, str) and os.path.isfile(path)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, subtype, 8000)
    data, rate = sf.read(path, dtype="float64")
    assert rate == 16000 and data.shape == (8000,)
    np.testing.assert_allclose(data, wave, atol=atol)


def test_write_wav_channels_are_scaled_copies(tmp_path):
    wave = tone(300, 0.2, 8000, amplitude=0.9)
    path = write_wav(tmp_path / "stereo.wav", wave, 8000, subtype="FLOAT", channels=3)
    data, _ = sf.read(path, dtype="float32")
    assert data.shape == (1600, 3) and sf.info(path).channels == 3
    for c in range(3):
        np.testing.assert_allclose(data[:, c], wave / (c + 1), atol=1e-7)
    flac = write_wav(tmp_path / "a.flac", wave, 8000, subtype="PCM_16", channels=2)
    assert sf.info(flac).format == "FLAC" and sf.info(flac).channels == 2
    with pytest.raises(ValueError):
        write_wav(tmp_path / "bad.wav", np.zeros((10, 2)), 8000)


def test_make_audio_tree(tmp_path):
    records = make_audio_tree(tmp_path, n_speakers=2, n_per_class=2, seconds=0.5, rate=8000)
    assert len(records) == 16
    assert [r["label"] for r in records[:4]] == ["angry"] * 4
    assert {r["label"] for r in records} == {"angry", "happy", "neutral", "sad"}
    assert {r["speaker"] for r in records} == {"spk0", "spk1"}
    for r in records:
        assert os.path.isfile(r["path"])
        assert os.path.basename(os.path.dirname(r["path"])) == r["label"]
        assert sf.info(r["path"]).frames == 4000
    again = make_audio_tree(
        tmp_path / "again", labels=("x", "y", "z", "w", "v"), n_speakers=1, n_per_class=1, seconds=0.5, rate=8000
    )
    assert [r["label"] for r in again] == ["x", "y", "z", "w", "v"]
    np.testing.assert_array_equal(sf.read(records[0]["path"])[0], sf.read(again[0]["path"])[0])
    # angry is louder than sad
    peak = {
        label: np.mean([np.abs(sf.read(r["path"])[0]).max() for r in records if r["label"] == label])
        for label in ("angry", "sad")
    }
    assert peak["angry"] > 2 * peak["sad"]


def test_write_demo_corpus(tmp_path):
    import csv

    manifest = write_demo_corpus(tmp_path / "c", n_speakers=3, clips_per_class=1, seconds=0.25, n_folds=2)
    assert manifest == tmp_path / "c" / "manifest.csv"
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and rows[0] == {"path": "angry/spk0_0.wav", "label": "angry", "speaker": "spk0", "fold": "1"}
    assert {(r["speaker"], r["fold"]) for r in rows} == {("spk0", "1"), ("spk1", "2"), ("spk2", "1")}
    for r in rows:
        assert sf.info(str(tmp_path / "c" / r["path"])).samplerate == 16000


# --------------------------------------------------------------------------
# transformers CLAP
# --------------------------------------------------------------------------


def test_tiny_clap_loads_back_and_runs(tiny_clap_dir):
    import torch
    from transformers import AutoFeatureExtractor, AutoProcessor, AutoTokenizer, ClapModel, ClapProcessor

    model, info = ClapModel.from_pretrained(tiny_clap_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    processor = ClapProcessor.from_pretrained(tiny_clap_dir)
    assert type(AutoProcessor.from_pretrained(tiny_clap_dir)) is type(processor)
    tokenizer = AutoTokenizer.from_pretrained(tiny_clap_dir)
    fe = AutoFeatureExtractor.from_pretrained(tiny_clap_dir)
    cfg = model.config
    assert fe.feature_size == cfg.audio_config.num_mel_bins == 16
    assert fe.sampling_rate == 48000 and fe.nb_max_samples == 480000
    assert cfg.audio_config.spec_size == 128 and not cfg.audio_config.enable_fusion
    assert tokenizer.model_max_length == 77 and tokenizer.pad_token is not None
    assert cfg.text_config.max_position_embeddings >= 77 + 2

    # any lowercase English sentence (and more) tokenises; round trip is exact
    for text in [*PROMPTS, "a calm woman whispering, zzz... 42 times; naïve café"]:
        ids = tokenizer(text)["input_ids"]
        assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
        assert max(ids) < cfg.text_config.vocab_size
    long = tokenizer(" ".join(["angry"] * 200), truncation=True)["input_ids"]
    assert len(long) == 77

    clip = speechlike(3.0, 48000, seed=1)
    inputs = processor(audio=[clip], text=PROMPTS, sampling_rate=48000, return_tensors="pt", padding=True)
    assert inputs["input_features"].shape == (1, 1, 1001, 16)
    model.eval()
    with torch.no_grad():
        out = model(**inputs)
        audio = _features(model.get_audio_features(input_features=inputs["input_features"]))
        text = _features(
            model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        )
    assert out.logits_per_audio.shape == (1, 2)
    assert audio.shape == (1, 16) and text.shape == (2, 16)
    assert torch.isfinite(out.logits_per_audio).all()
    assert not torch.allclose(text[0], text[1])
    with pytest.raises(ValueError):
        processor(audio=[clip], sampling_rate=16000, return_tensors="pt")


def test_tiny_clap_runs_the_zero_shot_pipeline(tiny_clap_dir):
    from transformers import pipeline

    pipe = pipeline("zero-shot-audio-classification", model=tiny_clap_dir)
    clip = speechlike(10.0, 48000, seed=2)
    result = pipe(clip, candidate_labels=["angry", "happy", "neutral", "sad"])
    assert sorted(r["label"] for r in result) == ["angry", "happy", "neutral", "sad"]
    assert sum(r["score"] for r in result) == pytest.approx(1.0, abs=1e-5)


def test_tiny_clap_is_seeded(tmp_path, tiny_clap_dir):
    from transformers import ClapModel

    a = ClapModel.from_pretrained(tiny_clap_dir)
    b = ClapModel.from_pretrained(make_tiny_clap(tmp_path / "same", seed=0))
    c = ClapModel.from_pretrained(make_tiny_clap(tmp_path / "other", seed=1))
    assert _state_dicts_equal(a, b)
    assert not _state_dicts_equal(a, c)


def test_tiny_clap_has_two_distinct_temperatures(tmp_path, tiny_clap_dir):
    """So that a scorer using the text-side temperature instead of the audio side's gets other numbers."""
    import math

    import torch
    from transformers import ClapModel, ClapProcessor

    model = ClapModel.from_pretrained(tiny_clap_dir).eval()
    assert model.logit_scale_a.item() == pytest.approx(math.log(1 / 0.07), abs=1e-6)
    assert model.logit_scale_t.item() == pytest.approx(math.log(50.0), abs=1e-6)
    processor = ClapProcessor.from_pretrained(tiny_clap_dir)
    audio = processor.feature_extractor([speechlike(2.0, 48000, seed=3)], sampling_rate=48000, return_tensors="pt")
    text = processor.tokenizer(PROMPTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(input_features=audio["input_features"], **text)
    ratio = out.logits_per_text.T / out.logits_per_audio
    torch.testing.assert_close(ratio, torch.full_like(ratio, 50 * 0.07), rtol=1e-4, atol=0)
    # chosen values; the other weights depend on the seed only
    other = ClapModel.from_pretrained(make_tiny_clap(tmp_path / "t", logit_scale_a=1.0, logit_scale_t=2.0))
    assert (other.logit_scale_a.item(), other.logit_scale_t.item()) == (1.0, 2.0)
    sa, sb = model.state_dict(), other.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("logit_scale"))


def test_builders_leave_the_global_torch_rng_alone(tmp_path):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_tiny_wavlm(tmp_path / "w", seed=5)
    torch.testing.assert_close(torch.rand(3), expected)


# --------------------------------------------------------------------------
# speech foundation models
# --------------------------------------------------------------------------

SSL_CASES = {
    "wavlm": (make_tiny_wavlm, {}, "WavLMModel", True),
    "wavlm-base": (make_tiny_wavlm, {"stable_layer_norm": False}, "WavLMModel", False),
    "hubert": (make_tiny_hubert, {}, "HubertModel", True),
    "hubert-base": (make_tiny_hubert, {"stable_layer_norm": False}, "HubertModel", False),
    "wav2vec2": (make_tiny_wav2vec2, {}, "Wav2Vec2Model", False),
    "wav2vec2-layer": (make_tiny_wav2vec2, {"feat_extract_norm": "layer"}, "Wav2Vec2Model", True),
}


@pytest.mark.parametrize("case", list(SSL_CASES))
def test_tiny_speech_models_load_back_and_run(tmp_path, case):
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    builder, kwargs, cls_name, layer_norm = SSL_CASES[case]
    path = builder(tmp_path / case, **kwargs)
    assert path == str(tmp_path / case)
    model, info = AutoModel.from_pretrained(path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert type(model).__name__ == cls_name
    cfg = model.config
    assert cfg.do_stable_layer_norm is layer_norm
    assert cfg.feat_extract_norm == ("layer" if layer_norm else "group")
    assert cfg.conv_bias is layer_norm
    assert cfg.num_hidden_layers == 2 and cfg.hidden_size == 32
    fe = AutoFeatureExtractor.from_pretrained(path)
    assert fe.sampling_rate == 16000 and fe.do_normalize
    assert fe.return_attention_mask is layer_norm

    clips = [speechlike(1.0, 16000, seed=1), noise_burst(0.5, 16000)]
    inputs = fe(clips, sampling_rate=16000, return_tensors="pt", padding=True)
    assert ("attention_mask" in inputs) is layer_norm
    with torch.no_grad():
        out = model.eval()(**inputs, output_hidden_states=True)
    # 400-sample receptive field, 320-sample hop: 1 s -> 49 frames
    assert out.last_hidden_state.shape == (2, 49, 32)
    assert len(out.hidden_states) == 3
    assert torch.isfinite(out.last_hidden_state).all()


@pytest.mark.parametrize(
    "builder", [make_tiny_wavlm, make_tiny_hubert, make_tiny_wav2vec2, make_tiny_data2vec, make_tiny_whisper]
)
def test_tiny_speech_models_are_seeded(tmp_path, builder):
    from transformers import AutoModel

    a = AutoModel.from_pretrained(builder(tmp_path / "a", seed=0))
    b = AutoModel.from_pretrained(builder(tmp_path / "b", seed=0))
    c = AutoModel.from_pretrained(builder(tmp_path / "c", seed=1))
    assert _state_dicts_equal(a, b)
    assert not _state_dicts_equal(a, c)


def test_tiny_speech_models_build_the_same_files_twice(tmp_path):
    for builder in (make_tiny_wavlm, make_tiny_data2vec, make_tiny_whisper):
        a, b = builder(tmp_path / builder.__name__ / "a"), builder(tmp_path / builder.__name__ / "b")
        names = sorted(os.listdir(a))
        assert names == sorted(os.listdir(b)) and "config.json" in names
        for name in names:
            with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                assert fa.read() == fb.read(), (builder.__name__, name)


def test_tiny_data2vec_loads_back_and_runs(tiny_data2vec_dir):
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    model, info = AutoModel.from_pretrained(tiny_data2vec_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert type(model).__name__ == "Data2VecAudioModel"
    cfg = model.config
    assert cfg.num_hidden_layers == 2 and cfg.hidden_size == 32 and cfg.conv_bias
    assert (cfg.num_conv_pos_embeddings, cfg.conv_pos_kernel_size) == (2, 5)
    fe = AutoFeatureExtractor.from_pretrained(tiny_data2vec_dir)
    assert fe.sampling_rate == 16000 and fe.do_normalize and fe.return_attention_mask
    inputs = fe(
        [speechlike(1.0, 16000, seed=1), noise_burst(0.5, 16000)],
        sampling_rate=16000,
        return_tensors="pt",
        padding=True,
    )
    with torch.no_grad():
        out = model.eval()(**inputs, output_hidden_states=True)
    assert out.last_hidden_state.shape == (2, 49, 32) and len(out.hidden_states) == 3
    assert torch.isfinite(out.last_hidden_state).all()


def test_tiny_whisper_loads_back_and_runs(tiny_whisper_dir):
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    model, info = AutoModel.from_pretrained(tiny_whisper_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert type(model).__name__ == "WhisperModel"
    cfg = model.config
    assert (cfg.d_model, cfg.encoder_layers, cfg.num_mel_bins, cfg.max_source_positions) == (16, 2, 80, 1500)
    fe = AutoFeatureExtractor.from_pretrained(tiny_whisper_dir)
    assert type(fe).__name__ == "WhisperFeatureExtractor" and fe.sampling_rate == 16000
    inputs = fe([speechlike(1.0, 16000, seed=1)], sampling_rate=16000, return_tensors="pt")
    assert inputs["input_features"].shape == (1, 80, 3000)  # padded to the 30 s window
    with torch.no_grad():
        out = model.encoder.eval()(inputs["input_features"], output_hidden_states=True)
    assert out.last_hidden_state.shape == (1, 1500, 16) and len(out.hidden_states) == 3
    assert torch.isfinite(out.last_hidden_state).all()


def test_tiny_whisper_and_data2vec_run_through_fm_embedding_transformer(tiny_whisper_dir, tiny_data2vec_dir):
    from zsfuse import FMEmbeddingTransformer

    clips = [speechlike(1.0, 16000, seed=1), speechlike(0.5, 16000, seed=2)]
    for path, width in ((tiny_whisper_dir, 16), (tiny_data2vec_dir, 32)):
        fm = FMEmbeddingTransformer(model=path, sampling_rate=16000, device="cpu", dtype="float32").fit()
        X = fm.transform(clips)
        assert X.shape[0] == 2 and X.shape[1] % width == 0 and np.isfinite(X).all()


def test_shared_fixtures_build(tiny_wavlm_dir, tiny_hubert_dir, tiny_wav2vec2_dir, tiny_data2vec_dir, tiny_whisper_dir):
    for path in (tiny_wavlm_dir, tiny_hubert_dir, tiny_wav2vec2_dir, tiny_data2vec_dir, tiny_whisper_dir):
        assert os.path.isfile(os.path.join(path, "config.json"))
        assert os.path.isfile(os.path.join(path, "preprocessor_config.json"))


def test_wav2vec2_rejects_unknown_norm(tmp_path):
    with pytest.raises(ValueError, match="feat_extract_norm"):
        make_tiny_wav2vec2(tmp_path, feat_extract_norm="batch")


# --------------------------------------------------------------------------
# msclap
# --------------------------------------------------------------------------


@pytest.mark.skipif(HAS_MSCLAP, reason="msclap is installed")
def test_make_tiny_msclap_without_msclap_names_the_extra(tmp_path):
    with pytest.raises(ImportError, match=r"pip install 'zsfuse\[msclap\]'"):
        make_tiny_msclap(tmp_path)
    with pytest.raises(ImportError, match=r"zsfuse\[msclap\]"):
        testing.msclap_reference_wrapper(TinyMSCLAP("x.pth", "gpt"))


@pytest.mark.msclap
def test_tiny_msclap_layout(tiny_msclap):
    import torch
    from transformers import AutoConfig, AutoTokenizer

    assert isinstance(tiny_msclap, TinyMSCLAP) and tiny_msclap.version == "2023"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_msclap.version = "2022"
    assert os.path.isfile(tiny_msclap.checkpoint)
    assert os.path.isabs(tiny_msclap.text_model) and "gpt" in tiny_msclap.text_model
    assert "clip" not in tiny_msclap.text_model
    state = torch.load(tiny_msclap.checkpoint, map_location="cpu", weights_only=True)
    assert set(state) == {"model"}
    keys = state["model"].keys()
    assert any(k.startswith("audio_encoder.base.htsat.") for k in keys)
    assert any(k.startswith("caption_encoder.base.") for k in keys)
    assert "logit_scale" in keys
    cfg = AutoConfig.from_pretrained(tiny_msclap.text_model)
    assert cfg.model_type == "gpt2" and cfg.n_embd == tiny_msclap.transformer_embed_dim == 32
    tok = AutoTokenizer.from_pretrained(tiny_msclap.text_model)
    assert tok.convert_tokens_to_ids("!") == 0
    assert tok.eos_token == "<|endoftext|>" and tok.eos_token_id == cfg.vocab_size - 1


@pytest.mark.msclap
def test_msclap_reference_wrapper_on_tiny_model(tiny_msclap):
    import torch

    from zsfuse.testing import msclap_reference_wrapper

    ref = msclap_reference_wrapper(tiny_msclap)
    # msclap loads with strict=False: check that every weight came from the checkpoint
    state = torch.load(tiny_msclap.checkpoint, map_location="cpu", weights_only=True)["model"]
    loaded = ref.clap.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert not ref.clap.training
    assert ref.args.text_model == tiny_msclap.text_model
    assert ref.args.sampling_rate == 44100 and ref.args.duration == 7

    clip = torch.from_numpy(speechlike(7.0, 44100, seed=1))
    assert clip.shape == (308700,)
    other = torch.from_numpy(speechlike(7.0, 44100, contour="fall", seed=2))
    audio = ref._get_audio_embeddings(torch.stack([clip, other]).reshape(2, 1, -1))
    assert audio.shape == (2, 1024) and torch.isfinite(audio).all()
    assert not torch.allclose(audio[0], audio[1])
    text = ref.get_text_embeddings(PROMPTS)
    assert text.shape == (2, 1024) and torch.isfinite(text).all()
    assert not torch.allclose(text[0], text[1])
    logits = ref.compute_similarity(audio, text)
    assert logits.shape == (2, 2)
    # same inputs, same embeddings (eval mode, no randomness)
    torch.testing.assert_close(ref._get_audio_embeddings(clip.reshape(1, 1, -1)), audio[:1])


@pytest.mark.msclap
def test_tiny_msclap_is_seeded_and_guards_the_path(tmp_path, tiny_msclap, monkeypatch):
    import torch

    from zsfuse.backends import ms_clap

    seen, real = [], ms_clap.msclap_config  # msclap's yaml config is read by the backend's reader, not a copy
    monkeypatch.setattr(ms_clap, "msclap_config", lambda version: seen.append(version) or real(version))
    again = make_tiny_msclap(tmp_path / "again", seed=0)
    assert seen == ["2023"]
    a = torch.load(tiny_msclap.checkpoint, map_location="cpu", weights_only=True)["model"]
    b = torch.load(again.checkpoint, map_location="cpu", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="clip"):
        make_tiny_msclap(tmp_path / "my-clip-model")

"""``batch_size="auto"`` (one rule per device type) and the hf-clap adapter's vectorised log-mel front end."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer
from zsfuse._batching import AUTO_BATCH_SIZE, resolve_batch_size
from zsfuse.backends.hf_clap import HFClapBackend, clap_log_mel, log_mel_agrees
from zsfuse.testing import speechlike

pytestmark = pytest.mark.usefixtures("fresh_store")  # every test starts with an empty in-memory store

CLAP_RATE, FM_RATE = 48000, 16000
LABELS = ("angry", "happy", "neutral", "sad")


# -- the rule -------------------------------------------------------------------------------------------------


def test_auto_follows_the_device_type():
    import torch

    assert resolve_batch_size("auto", "cpu") == AUTO_BATCH_SIZE["cpu"]
    assert resolve_batch_size("auto", "cuda") == resolve_batch_size("auto", "cuda:3") == AUTO_BATCH_SIZE["cuda"]
    assert resolve_batch_size("auto", torch.device("cuda", 1)) == AUTO_BATCH_SIZE["cuda"]
    assert resolve_batch_size("auto", "mps") == AUTO_BATCH_SIZE["mps"]
    assert resolve_batch_size("auto", "xpu:0") == AUTO_BATCH_SIZE["cpu"]  # an unknown type: the CPU's rule
    # a CPU takes small batches, a GPU larger ones
    assert AUTO_BATCH_SIZE["cpu"] < AUTO_BATCH_SIZE["mps"] <= AUTO_BATCH_SIZE["cuda"]


@pytest.mark.parametrize("size", [1, 3, 16, np.int64(7)])
def test_an_integer_is_kept_whatever_the_device(size):
    for device in ("cpu", "cuda:0", "mps"):
        got = resolve_batch_size(size, device)
        assert got == int(size) and type(got) is int


@pytest.mark.parametrize("cls", [CLAPZeroShotTransformer, FMEmbeddingTransformer])
def test_auto_is_the_default_and_the_constraint_takes_it(cls):
    assert cls().batch_size == "auto"
    cls(batch_size="auto")._validate_params()
    cls(batch_size=5)._validate_params()
    for bad in ("big", "Auto", 0, -2, 2.0, True):
        with pytest.raises(InvalidParameterError, match="'batch_size' parameter"):
            cls(batch_size=bad)._validate_params()


# -- what reaches the models ----------------------------------------------------------------------------------


def _clap_clips():
    return [speechlike(1.0 + 0.5 * i, CLAP_RATE, f0=100 + 20 * i, seed=i) for i in range(10)]


def test_zero_shot_auto_runs_passes_of_the_cpu_size_and_the_same_vectors(tiny_clap_dir, monkeypatch):
    clips = _clap_clips()

    def make(batch_size):
        return CLAPZeroShotTransformer(
            model=tiny_clap_dir, labels=LABELS, sampling_rate=CLAP_RATE, device="cpu", batch_size=batch_size
        ).fit()

    auto = make("auto")
    backend = auto._backend()
    calls = []
    real = backend.embed_audio
    monkeypatch.setattr(backend, "embed_audio", lambda w: calls.append(len(w)) or real(w))
    got = auto.embed_audio(clips)
    size = AUTO_BATCH_SIZE["cpu"]
    assert calls and max(calls) == size and sum(calls) == len(clips)
    assert calls.count(size) == len(clips) // size  # full passes, then the rest

    # the batch size is not in the store's key: another batch size finds every clip there
    sixteen = make(16)
    assert sixteen._audio_namespace(backend) == auto._audio_namespace(backend)
    assert sixteen._window_namespace(backend) == auto._window_namespace(backend)
    calls.clear()
    np.testing.assert_array_equal(sixteen.embed_audio(clips), got)
    assert calls == []

    # and computing afresh at another batch size gives the same vectors
    from zsfuse.store import clear_stores

    clear_stores()
    np.testing.assert_allclose(make(3).embed_audio(clips), got, atol=1e-5, rtol=0)
    assert max(calls) == 3


def test_fm_auto_runs_passes_of_the_cpu_size_and_the_same_vectors(tiny_wavlm_dir, monkeypatch):
    from zsfuse.store import clear_stores

    clips = [speechlike(0.5 + 0.25 * i, FM_RATE, f0=110 + 10 * i, seed=i) for i in range(9)]

    def make(batch_size):
        return FMEmbeddingTransformer(
            model=tiny_wavlm_dir, sampling_rate=FM_RATE, device="cpu", batch_size=batch_size, batch_seconds=None
        ).fit()

    auto = make("auto")
    encoder = auto._encoder()
    rows = []
    real = encoder.model.forward

    def forward(*args, **kwargs):
        rows.append(int(kwargs["input_values"].shape[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(encoder.model, "forward", forward)
    got = auto.transform(clips)
    size = AUTO_BATCH_SIZE["cpu"]
    assert max(rows) == size and sum(rows) == len(clips) and rows.count(size) == len(clips) // size

    one = make(1)
    assert one._namespace(encoder) == auto._namespace(encoder)  # not in the store's key
    rows.clear()
    clear_stores()
    np.testing.assert_allclose(one.transform(clips), got, atol=1e-5, rtol=0)
    assert rows == [1] * len(clips)


# -- the hf-clap front end: the extractor's numbers, frames at once ----------------------------------------------


def _windows(samples, n=3):
    rng = np.random.default_rng(1)
    out = np.zeros((n, samples), dtype=np.float32)
    out[0] = 0.3 * rng.standard_normal(samples)  # loud noise
    out[1, : samples // 3] = speechlike(samples / 3 / CLAP_RATE, CLAP_RATE, f0=140, seed=2)[: samples // 3]
    out[2, ::997] = 1.0  # clicks over silence (the -100 dB floor)
    return out[:n]


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("mels", [16, 64])
def test_log_mel_is_the_feature_extractor_bit_for_bit(fused, mels):
    from transformers import ClapFeatureExtractor

    fe = ClapFeatureExtractor(feature_size=mels, truncation="fusion" if fused else "rand_trunc")
    windows = _windows(fe.nb_max_samples)
    state = np.random.get_state()
    expected = fe(list(windows), sampling_rate=CLAP_RATE, return_tensors="np")["input_features"]
    np.random.set_state(state)
    got = clap_log_mel(fe, windows)
    assert got.dtype == np.float32 and got.shape == expected.shape == (3, 4 if fused else 1, 1001, mels)
    np.testing.assert_array_equal(got, expected)
    assert log_mel_agrees(fe, fe.nb_max_samples)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # the check drew nothing from numpy's generator


def test_log_mel_check_refuses_what_it_cannot_vouch_for():
    from transformers import ClapFeatureExtractor

    class Custom(ClapFeatureExtractor):  # e.g. shipped with a checkpoint: may compute otherwise
        pass

    assert not log_mel_agrees(Custom(), 480000)
    fe = ClapFeatureExtractor()
    assert not log_mel_agrees(fe, fe.nb_max_samples - 1)  # the extractor would pad this window

    class Shifted(ClapFeatureExtractor):  # arithmetic that is not the extractor's: the check notices
        def __call__(self, *args, **kwargs):
            out = super().__call__(*args, **kwargs)
            out["input_features"] = np.asarray(out["input_features"]) + np.float32(1e-3)
            return out

    shifted = Shifted()
    assert type(shifted) is not ClapFeatureExtractor and not log_mel_agrees(shifted, shifted.nb_max_samples)


def test_backend_embeds_the_same_through_either_front_end(tiny_clap_dir):
    from zsfuse.backends import load_clap_backend

    backend = load_clap_backend(tiny_clap_dir, device="cpu")
    assert isinstance(backend, HFClapBackend)
    windows = _windows(backend.window_samples)
    fast = backend.embed_audio(windows)
    assert backend._fast_log_mel is True  # checked on first use: the tiny model's extractor agrees
    try:
        backend._fast_log_mel = False  # the extractor itself
        slow = backend.embed_audio(windows)
    finally:
        backend._fast_log_mel = None
    np.testing.assert_array_equal(fast, slow)

"""FMEmbeddingTransformer(pooling="none"): frame-level features, kept as float16 in the embedding store."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import FeatureUnion

import zsfuse
from zsfuse import FMEmbeddingTransformer, make_zsfuse_pipeline
from zsfuse.audio import Clips
from zsfuse.store import clear_stores, get_store
from zsfuse.testing import speechlike

RATE = 16000
HOP, RF = 320, 400  # the tiny models' (and every released checkpoint's) feature encoder
LABELS = ("angry", "happy", "neutral", "sad")
#: float16 keeps 11 significant bits: rounding moves a value by at most 2**-11 of its magnitude
F16_REL = 2.0**-11

pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture(scope="module")
def clips():
    # 1.7 s fits in max_seconds=3; 7.9 s is cut into chunks
    seconds = (1.7, 7.9)
    contours = ("rise", "fall")
    return [speechlike(s, RATE, f0=110 + 30 * i, contour=contours[i], seed=i) for i, s in enumerate(seconds)]


def n_frames(wave):
    return (len(wave) - RF) // HOP + 1


def assert_f16_close(actual, expected, magnitude, slack=2e-5):
    """``actual`` (from float16 frames) equals ``expected`` within float16 rounding of values up to ``magnitude``."""
    bound = F16_REL * np.asarray(magnitude, dtype=np.float64) + slack
    diff = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
    assert np.all(diff <= bound), f"largest excess over the float16 bound: {np.max(diff - bound):.3g}"


class Interrupted(Exception):
    """Stands for a process killed in the middle of an extraction."""


class ForwardCounter:
    """Counts the pieces that reach the loaded model's forward; can fail on a given call."""

    def __init__(self, monkeypatch, fm, fail_on_call=None):
        encoder = fm._encoder()
        self.calls, self.rows = 0, 0
        real = encoder.model.forward

        def forward(*args, **kwargs):
            self.calls += 1
            if self.calls == fail_on_call:
                raise Interrupted
            self.rows += int(kwargs.get("input_values", kwargs.get("input_features")).shape[0])
            return real(*args, **kwargs)

        monkeypatch.setattr(encoder.model, "forward", forward)


# -- what the frames are ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [dict(layers="last"), dict(layers="all", layer_reduce="mean"), dict(layers=(2, 0), layer_reduce="concat")],
    ids=["last", "all-mean", "concat"],
)
def test_frames_mean_is_the_pooled_vector(tiny_wavlm_dir, clips, params):
    """For a clip shorter and one longer than max_seconds: the frames the pooled modes pool over."""
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, max_seconds=3.0, **params)
    frames = fm.set_params(pooling="none").fit().transform(clips)
    pooled = clone(fm).set_params(pooling="mean+std").fit().transform(clips)
    width = fm.hidden_size_ * (len(fm.layers_) if fm.layer_reduce == "concat" else 1)
    assert fm.embedding_dim_ == width
    assert frames.shape == (2, 1) and frames.dtype == object
    for i, wave in enumerate(clips):
        f = frames[i, 0]
        assert f.dtype == np.float16 and f.shape == (n_frames(wave), width)  # every frame of the whole clip once
        f64 = f.astype(np.float64)
        top = np.abs(f64).max(axis=0)
        # pooled layout per slot: [mean, std]
        mean = pooled[i].reshape(-1, 2, fm.hidden_size_)[:, 0].ravel()
        std = pooled[i].reshape(-1, 2, fm.hidden_size_)[:, 1].ravel()
        assert_f16_close(f64.mean(axis=0), mean, top)
        assert_f16_close(f64.std(axis=0), std, top)


def direct_hidden_states(path, wave):
    """Per hidden-state index 0..L the (frames, dim) array, by hand with output_hidden_states=True."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    fe = AutoFeatureExtractor.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    inputs = fe(wave, sampling_rate=RATE, return_tensors="pt")
    with torch.inference_mode():
        out = model(inputs["input_values"], output_hidden_states=True)
    return [h[0].numpy() for h in out.hidden_states[:-1]] + [out.last_hidden_state[0].numpy()]


def test_frames_are_the_hidden_states_of_a_direct_forward(tiny_wavlm_dir, clips):
    wave = clips[0]
    states = direct_hidden_states(tiny_wavlm_dir, wave)
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none")
    concat = fm.set_params(layers=(2, 0), layer_reduce="concat").fit().transform([wave])[0, 0]
    expected = np.concatenate([states[2], states[0]], axis=1)
    assert_f16_close(concat, expected, np.abs(expected))
    averaged = fm.set_params(layers="all", layer_reduce="mean").fit().transform([wave])[0, 0]
    expected = np.mean(states, axis=0)
    assert_f16_close(averaged, expected, np.abs(expected))

    # a long clip's chunks, in order: hidden state 0 (finite receptive field) is exact whatever the chunking
    long_wave = clips[1]
    chunked = fm.set_params(layers=0, max_seconds=3.0).fit().transform([long_wave])[0, 0]
    expected = direct_hidden_states(tiny_wavlm_dir, long_wave)[0]
    assert chunked.shape == expected.shape == (n_frames(long_wave), 32)
    assert_f16_close(chunked, expected, np.abs(expected))


def test_whisper_frames_stop_at_the_end_of_the_clip(tiny_whisper_dir):
    wave = speechlike(2.33, RATE, seed=3)
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_whisper_dir, layers=(0, 2), layer_reduce="concat")
    frames = clone(fm).set_params(pooling="none").fit().transform([wave])[0, 0]
    pooled = fm.fit().transform([wave])[0]
    assert frames.shape == (-(-len(wave) // 320), pooled.shape[0])  # padding frames of the 30 s window dropped
    f64 = frames.astype(np.float64)
    assert_f16_close(f64.mean(axis=0), pooled, np.abs(f64).max(axis=0))


# -- the embedding store -------------------------------------------------------------------------------------------


def test_frames_have_their_own_float16_namespace_and_are_encoded_once(tiny_wavlm_dir, clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none", cache_dir=cache).fit()
    pooled = clone(fm).set_params(pooling="mean").fit()
    first = fm.transform(clips)
    namespace, pooled_namespace = fm._namespace(fm._encoder()), pooled._namespace(pooled._encoder())
    assert "|pooling=none|" in namespace and "|frames=float16|" in namespace
    assert "frames=" not in pooled_namespace and namespace != pooled_namespace
    store = get_store(cache)
    assert store.count(namespace) == 2 and store.count(pooled_namespace) == 0
    assert store.namespaces() == [namespace]

    clear_stores()  # a new process: memory gone, disk kept
    counter = ForwardCounter(monkeypatch, fm)
    again = fm.transform(clips)
    assert counter.rows == 0  # nothing encoded
    for a, b in zip(again[:, 0], first[:, 0]):
        assert a.dtype == np.float16 and not a.flags.writeable
        np.testing.assert_array_equal(a, b)
    # the disk entries themselves are float16 frame matrices
    digests = [Clips([c], sampling_rate=RATE)[0].digest for c in clips]
    stored = get_store(cache).get_many(namespace, digests)
    assert [s.dtype for s in stored] == [np.float16] * 2
    assert [s.shape for s in stored] == [f.shape for f in first[:, 0]]

    # pooled vectors never come from the frames' entries (and vice versa)
    vectors = pooled.transform(clips)
    assert counter.rows == 2 and vectors.shape == (2, 32) and vectors.dtype == np.float32
    assert get_store(cache).count(pooled_namespace) == 2 and get_store(cache).count(namespace) == 2


def test_an_interrupted_extraction_resumes(tiny_wavlm_dir, tmp_path, monkeypatch):
    waves = [speechlike(0.5 + 0.25 * i, RATE, seed=10 + i) for i in range(6)]
    monkeypatch.setattr("zsfuse.fm._transformer._MIN_DECODE_GROUP", 2)  # decode groups of 2 clips
    params = dict(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none", batch_size=2, batch_seconds=None)
    fm = FMEmbeddingTransformer(cache_dir=tmp_path / "cache", **params).fit()
    counter = ForwardCounter(monkeypatch, fm, fail_on_call=3)  # one forward per group: dies in the third
    with pytest.raises(Interrupted):
        fm.transform(waves)
    namespace = fm._namespace(fm._encoder())
    assert counter.rows == 4 and get_store(tmp_path / "cache").count(namespace) == 4

    clear_stores()  # the process died: what reached the disk is kept
    resumed = fm.transform(waves)
    assert counter.rows == 6  # only the last 2 clips were encoded
    reference = FMEmbeddingTransformer(**params).fit().transform(waves)
    for wave, a, b in zip(waves, resumed[:, 0], reference[:, 0]):
        assert a.shape == (n_frames(wave), 32)
        assert_f16_close(a, b, np.abs(b.astype(np.float64)))


# -- output containers ------------------------------------------------------------------------------------------


def test_output_containers(tiny_wavlm_dir, clips):
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none", layers="all").fit()
    assert list(fm.get_feature_names_out()) == ["fm_frames"]
    empty = fm.transform([])
    assert empty.shape == (0, 1) and empty.dtype == object
    out = fm.transform(clips)
    with pytest.raises(ValueError, match="read-only"):
        out[0, 0][0, 0] = 1.0  # the cells are shared with the store: never written in place
    frame = clone(fm).set_output(transform="pandas").fit().transform(clips)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["fm_frames"] and len(frame) == 2
    for cell, expected in zip(frame["fm_frames"], out[:, 0]):
        np.testing.assert_array_equal(cell, expected)


def test_in_the_zsfuse_feature_union(tiny_clap_dir, tiny_wavlm_dir, clips):
    pipe = make_zsfuse_pipeline(
        clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, pooling="none", sampling_rate=RATE, device="cpu"
    )
    union = pipe.named_steps["features"]
    table = union.fit(clips).transform(clips)
    zs_names = [f"zs__zs_{label}" for label in LABELS]
    assert list(table.columns) == zs_names + ["fm__fm_frames"]
    assert list(union.get_feature_names_out()) == zs_names + ["fm__fm_frames"]
    zs, fm = (clone(step) for _, step in union.transformer_list)
    zs_alone = zs.set_output(transform="default").fit(clips).transform(clips)
    np.testing.assert_allclose(table[zs_names].to_numpy(dtype=float), zs_alone, rtol=1e-6, atol=1e-7)
    fm_alone = fm.set_output(transform="default").fit().transform(clips)
    for cell, expected, wave in zip(table["fm__fm_frames"], fm_alone[:, 0], clips):
        assert cell.dtype == np.float16 and cell.shape == (n_frames(wave), 32)
        np.testing.assert_array_equal(cell, expected)

    # numpy output: the zero-shot scores and the object column side by side
    plain = FeatureUnion([("zs", clone(zs)), ("fm", clone(fm))]).fit(clips).transform(clips)
    assert plain.shape == (2, len(LABELS) + 1) and plain.dtype == object
    np.testing.assert_allclose(plain[:, :-1].astype(float), zs_alone, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(plain[1, -1], fm_alone[1, 0])


# -- persistence and validation -------------------------------------------------------------------------------


def test_save_inspect_load(tiny_wavlm_dir, clips, tmp_path):
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none", layers=(0, 1)).fit()
    out = fm.transform(clips[:1])
    path = zsfuse.save(fm, tmp_path / "fm.skops")
    info = zsfuse.inspect(path)
    assert [(s.cls, s.model, s.fitted) for s in info.steps] == [
        ("zsfuse.fm._transformer.FMEmbeddingTransformer", tiny_wavlm_dir, True)
    ]
    loaded = zsfuse.load(path)
    assert loaded.get_params() == fm.get_params() and loaded.embedding_dim_ == 32
    clear_stores()
    np.testing.assert_array_equal(loaded.transform(clips[:1])[0, 0], out[0, 0])
    assert list(loaded.get_feature_names_out()) == ["fm_frames"]


def test_unknown_pooling_names_the_choices(tiny_wavlm_dir):
    with pytest.raises(ValueError, match=r"'pooling' parameter .* \{.*'none'.*\}.*Got 'max'"):
        FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, pooling="max").fit()


def test_a_frame_matrix_too_large_for_the_disk_store_fails_early(tiny_wavlm_dir, clips, tmp_path, monkeypatch):
    fm = FMEmbeddingTransformer(
        sampling_rate=RATE, model=tiny_wavlm_dir, pooling="none", layers="all", layer_reduce="concat"
    ).fit()
    # SQLite's 1 GB blob limit, scaled down: the 1.7 s clip fits, the 7.9 s one does not
    limit = n_frames(clips[0]) * 96 * 2
    monkeypatch.setattr("zsfuse.fm._transformer._MAX_ENTRY_BYTES", limit)
    counter = ForwardCounter(monkeypatch, fm)
    assert fm.transform(clips).shape == (2, 1)  # no disk store: no limit
    fm.set_params(cache_dir=tmp_path / "cache")
    size = n_frames(clips[1]) * 96 * 2
    with pytest.raises(zsfuse.ClipError, match=rf"clip 1: its {n_frames(clips[1])} frames x 96 .*\(cache_dir=None\)"):
        fm.transform(clips)
    assert counter.rows == 2 and size > limit  # the failing batch never reached the model
    assert fm.transform(clips[:1])[0, 0].shape == (n_frames(clips[0]), 96)

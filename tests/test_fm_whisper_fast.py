"""``whisper_input="clip"``: the Whisper encoder on each clip's own length instead of its 30 s window."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from zsfuse import FMEmbeddingTransformer
from zsfuse.store import clear_stores
from zsfuse.testing import speechlike

RATE = 16000
HOP = 320  # samples per Whisper encoder frame (160-sample mel hop, stride-2 convolution)
WINDOW = 30 * RATE

pytestmark = pytest.mark.usefixtures("fresh_store")


def _fm(path, **kw):
    return FMEmbeddingTransformer(sampling_rate=RATE, model=path, batch_seconds=None, **kw).fit()


def _fresh(fm, X):
    clear_stores()
    return fm.transform(X)


# -- an independent reference: the clip's own frames through the encoder's weights, written out by hand ---------


def _reference_hidden_states(path, wave):
    """Hidden states 0..n_layers of the clip's own K frames, computed with plain torch from the weights."""
    import torch
    from torch.nn import functional as F
    from transformers import WhisperFeatureExtractor, WhisperModel

    fe = WhisperFeatureExtractor.from_pretrained(path)
    enc = WhisperModel.from_pretrained(path).encoder.eval()
    k = -(-len(wave) // HOP)  # the frames inside the clip
    fed = min(HOP * (k + 1), WINDOW)  # one frame more, so that the stem of the last one sees what the window shows
    padded = np.zeros(fed, np.float32)
    padded[: len(wave)] = wave
    mel = fe(padded, sampling_rate=RATE, padding="longest", return_tensors="np")["input_features"]
    assert mel.shape[-1] == 2 * fed // HOP
    cfg = enc.config
    heads, width = cfg.encoder_attention_heads, cfg.d_model
    with torch.inference_mode():
        x = F.gelu(F.conv1d(torch.from_numpy(mel), enc.conv1.weight, enc.conv1.bias, padding=1))
        x = F.gelu(F.conv1d(x, enc.conv2.weight, enc.conv2.bias, stride=2, padding=1))[0].T
        x = (x + enc.embed_positions.weight[: x.shape[0]])[:k]  # the clip's frames only from here on
        states = [x]
        for layer in enc.layers:
            a = layer.self_attn
            h = F.layer_norm(x, (width,), layer.self_attn_layer_norm.weight, layer.self_attn_layer_norm.bias)
            q = F.linear(h, a.q_proj.weight, a.q_proj.bias).view(k, heads, -1).transpose(0, 1)
            kk = F.linear(h, a.k_proj.weight).view(k, heads, -1).transpose(0, 1)  # Whisper's k_proj has no bias
            v = F.linear(h, a.v_proj.weight, a.v_proj.bias).view(k, heads, -1).transpose(0, 1)
            att = torch.softmax(q @ kk.transpose(1, 2) / np.sqrt(width // heads), dim=-1) @ v
            x = x + F.linear(att.transpose(0, 1).reshape(k, width), a.out_proj.weight, a.out_proj.bias)
            h = F.layer_norm(x, (width,), layer.final_layer_norm.weight, layer.final_layer_norm.bias)
            x = x + F.linear(F.gelu(F.linear(h, layer.fc1.weight, layer.fc1.bias)), layer.fc2.weight, layer.fc2.bias)
            states.append(x)
        states[-1] = F.layer_norm(x, (width,), enc.layer_norm.weight, enc.layer_norm.bias)
    return [s.numpy().astype(np.float64) for s in states]


def test_clip_mode_equals_an_independent_forward_on_the_clips_own_frames(tiny_whisper_dir):
    waves = [speechlike(s, RATE, f0=110 + 20 * i, seed=i) for i, s in enumerate((0.7, 2.3, 4.01))]
    fm = _fm(tiny_whisper_dir, layers="all", layer_reduce="concat", pooling="mean+std", whisper_input="clip")
    ours = fm.transform(waves)
    assert ours.shape == (3, 3 * 2 * 16) and fm.batching_ == "window"  # the fitted attribute names the family's rule
    for wave, row in zip(waves, ours):
        states = _reference_hidden_states(tiny_whisper_dir, wave)
        expected = np.concatenate([np.r_[s.mean(0), s.std(0)] for s in states])
        np.testing.assert_allclose(row, expected, atol=2e-5, rtol=0)
    frames = _fm(tiny_whisper_dir, layers=(2, 1), layer_reduce="concat", pooling="none", whisper_input="clip")
    cell = frames.transform(waves[1:2])[0, 0]
    states = _reference_hidden_states(tiny_whisper_dir, waves[1])
    assert cell.shape == (-(-len(waves[1]) // HOP), 32)
    np.testing.assert_allclose(cell, np.concatenate([states[2], states[1]], axis=1), atol=2e-3, rtol=0)  # float16


def test_the_stem_is_the_windows_and_the_layers_are_not(tiny_whisper_dir):
    # hidden state 0 (stem + positions) of the clip's frames is the 30 s window's; from layer 1 on the
    # clip mode never attends to the window's padding: a different representation
    wave = speechlike(2.3, RATE, seed=4)
    cells = {
        mode: _fm(tiny_whisper_dir, layers="all", layer_reduce="concat", pooling="none", whisper_input=mode)
        .transform([wave])[0, 0]
        .astype(np.float64)
        for mode in ("window", "clip")
    }
    assert cells["clip"].shape == cells["window"].shape == (-(-len(wave) // HOP), 48)
    np.testing.assert_allclose(cells["clip"][:, :16], cells["window"][:, :16], atol=1e-3, rtol=0)  # float16
    assert np.abs(cells["clip"][:, 16:] - cells["window"][:, 16:]).max() > 1e-2


def test_a_full_window_piece_is_the_window_mode_exactly(tiny_whisper_dir):
    # a piece whose frames fill the 30 s window is fed exactly the window: both modes agree at every layer
    wave = speechlike(WINDOW / RATE, RATE, seed=5)[: WINDOW - 200]
    window = _fm(tiny_whisper_dir, layers="all", layer_reduce="concat").transform([wave])
    clip = _fm(tiny_whisper_dir, layers="all", layer_reduce="concat", whisper_input="clip").transform([wave])
    np.testing.assert_allclose(clip, window, atol=1e-5, rtol=0)


def test_a_clips_vector_does_not_depend_on_its_batch(tiny_whisper_dir):
    short, long = speechlike(1.3, RATE, seed=1), speechlike(6.7, RATE, f0=180, contour="fall", seed=2)
    fm = _fm(tiny_whisper_dir, layers="all", layer_reduce="concat", pooling="mean+std", whisper_input="clip")
    counters = fm._encoder().counters
    alone = _fresh(fm, [short])[0]
    before = dict(counters)
    together = _fresh(fm, [short, long])
    # one forward pass of two rows, padded to the longer clip's frames plus one
    assert counters["forward_calls"] - before["forward_calls"] == 1
    assert counters["frames"] - before["frames"] == 2 * (-(-len(long) // HOP) + 1)
    np.testing.assert_allclose(together[0], alone, atol=1e-5, rtol=0)
    np.testing.assert_allclose(together[1], _fresh(fm, [long])[0], atol=1e-5, rtol=0)
    assert np.abs(together[0] - together[1]).max() > 1e-3  # two different clips, two different vectors


def test_long_clips_are_chunked_as_in_the_window_mode(tiny_whisper_dir):
    wave = speechlike(41.0, RATE, seed=3)
    fm = _fm(tiny_whisper_dir, whisper_input="clip", max_seconds=None)
    whole = fm.transform([wave])[0]
    cut = 1025 * HOP  # 2050 frames in two balanced chunks of 1025, each run as a clip of its own
    parts = _fresh(fm, [wave[:cut], wave[cut:]])
    n0, n1 = 1025, -(-(len(wave) - cut) // HOP)
    np.testing.assert_allclose(whole, (n0 * parts[0] + n1 * parts[1]) / (n0 + n1), atol=1e-5, rtol=0)


def test_the_store_namespace_only_changes_for_the_clip_mode(tiny_whisper_dir, tmp_path):
    wave = speechlike(1.1, RATE, seed=6)
    window = _fm(tiny_whisper_dir, cache_dir=tmp_path)
    clip = clone(window).set_params(whisper_input="clip").fit()
    encoder = window._encoder()
    ns_window, ns_clip = window._namespace(encoder), clip._namespace(encoder)
    assert "whisper_input" not in ns_window and "clip" not in ns_window
    head, _, tail = ns_window.rpartition("|cpu|")  # ...|settings|device|dtype
    assert ns_clip == f"{head}|whisper_input=clip|cpu|{tail}"
    v_window = window.transform([wave])[0]
    v_clip = clip.transform([wave])[0]  # not the window's vector read back from the shared store
    assert np.abs(v_window - v_clip).max() > 1e-3
    clear_stores()  # the disk store keeps both, apart
    np.testing.assert_array_equal(clip.transform([wave])[0], v_clip)
    np.testing.assert_array_equal(window.transform([wave])[0], v_window)


def test_clip_mode_is_refused_for_other_models_before_any_weights_load(tiny_wavlm_dir, monkeypatch):
    import transformers

    def no_weights(*args, **kwargs):
        raise AssertionError("fit loaded weights")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_weights)
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, whisper_input="clip")
    with pytest.raises(ValueError, match=r"whisper_input='clip' applies to Whisper encoders only.*'ssl'"):
        fm.fit()
    FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir).fit()  # the default is fine for any model
    with pytest.raises(ValueError, match="whisper_input"):
        FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_wavlm_dir, whisper_input="fast").fit()


def test_the_parameter_round_trips(tiny_whisper_dir):
    fm = FMEmbeddingTransformer(sampling_rate=RATE, model=tiny_whisper_dir, whisper_input="clip")
    assert FMEmbeddingTransformer().get_params()["whisper_input"] == "window"
    assert clone(fm).get_params()["whisper_input"] == "clip"
    assert clone(fm).set_params(whisper_input="window").whisper_input == "window"
    fm.fit()
    wave = speechlike(0.9, RATE, seed=7)
    restored = pickle.loads(pickle.dumps(fm))
    assert restored.get_params() == fm.get_params()
    np.testing.assert_array_equal(_fresh(restored, [wave]), _fresh(fm, [wave]))

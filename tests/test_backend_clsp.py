"""The CLSP backend (zsfuse.backends.clsp) on a tiny model whose code ships in its folder.

The reference is the model itself, loaded with ``AutoModel.from_pretrained(folder,
trust_remote_code=True)`` and called as CLSP's README does: one clip at a time,
unpadded, ``model(audio, audio_lens)``; prompts through ``model(text=[...])``.
"""

import concurrent.futures

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from zsfuse import CLAPZeroShotTransformer  # noqa: E402
from zsfuse.backends import check_clap_model, clap_backend_kind, load_clap_backend  # noqa: E402
from zsfuse.backends.clsp import CLSPBackend, check_clsp, recognise_clsp_config  # noqa: E402
from zsfuse.exceptions import ModelKindError, RemoteCodeError  # noqa: E402
from zsfuse.store import clear_stores  # noqa: E402
from zsfuse.testing import speechlike, tone  # noqa: E402
from zsfuse.testing._clsp import TINY_CLSP_EMBED_DIM, TINY_CLSP_LOGIT_SCALE, make_tiny_clsp  # noqa: E402

RATE = 16000
#: Lengths in samples around the tiny model's 400-sample frame and 160-sample hop, and longer.
LENGTHS = (1, 150, 399, 400, 401, 561, 3200, 9999, 16000)
PROMPTS = ("this person is feeling angry.", "this person is feeling happy.", "a calm voice talking.")

pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture(scope="module")
def clsp_dir(tmp_path_factory):
    return make_tiny_clsp(tmp_path_factory.mktemp("tiny-clsp"))


@pytest.fixture(scope="module")
def reference(clsp_dir):
    from transformers import AutoModel

    return AutoModel.from_pretrained(clsp_dir, trust_remote_code=True).eval()


def _ref_audio(reference, wave):
    """The model's own audio embedding of one clip, unpadded (README: ``model(audio, audio_lens)``)."""
    with torch.no_grad():
        audio = torch.from_numpy(np.asarray(wave, dtype=np.float32))[None]
        embedding, _, _ = reference(audio, torch.tensor([audio.shape[1]]))
    return embedding[0].numpy()


def _ref_text(reference, prompt):
    """The model's own text embedding of one prompt, alone (README: ``model(text=[...])``)."""
    with torch.no_grad():
        _, embedding, _ = reference(text=[prompt])
    return embedding[0].numpy()


def _ref_scale(reference):
    with torch.no_grad():
        return float(reference(text=["x"])[2])


def _waves(lengths=LENGTHS):
    return [speechlike(n / RATE, RATE, f0=100 + 7 * i, seed=i)[:n] for i, n in enumerate(lengths)]


def _normalize(rows):
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# -- (1) parity with the model's own forward; padding invariance ----------------------------------------------------
def test_the_backend_is_chosen_by_the_folders_content(clsp_dir):
    assert recognise_clsp_config({"model_type": "clsp"})
    assert recognise_clsp_config({"auto_map": {"AutoModel": "yfyeung/CLSP--modeling_clsp.CLSPModel"}})
    assert recognise_clsp_config({"auto_map": {"AutoModel": ["modeling.ClspForEmbedding", None]}})
    assert recognise_clsp_config({"architectures": ["CLSPModel"]})
    assert not recognise_clsp_config({"model_type": "clap", "architectures": ["ClapModel"]})
    assert not recognise_clsp_config({"auto_map": {"AutoModel": "modeling_x.SpeechModel"}})
    assert not recognise_clsp_config({})
    assert clap_backend_kind(clsp_dir) == "clsp"
    assert clap_backend_kind("clsp:" + clsp_dir) == "clsp"


def test_embeddings_and_logits_equal_the_models_own_forward(clsp_dir, reference):
    backend = load_clap_backend(clsp_dir, trust_remote_code=True, backend_options={"max_seconds": 1.0})
    assert isinstance(backend, CLSPBackend)
    assert backend.variable_length is True and backend.native_pad_mode == "none"
    assert backend.sampling_rate == RATE and backend.window_samples == RATE
    assert backend.fingerprint.startswith("clsp:") and backend.family_name == "clsp"
    waves = _waves()
    audio = backend.embed_audio(waves)  # one batch of mixed lengths, zero-padded to the longest
    assert audio.dtype == np.float32 and audio.shape == (len(waves), TINY_CLSP_EMBED_DIM)
    expected_audio = np.stack([_ref_audio(reference, w) for w in waves])
    np.testing.assert_allclose(audio, expected_audio, atol=1e-5, rtol=0)
    text = backend.embed_text(PROMPTS)
    expected_text = np.stack([_ref_text(reference, p) for p in PROMPTS])
    np.testing.assert_allclose(text, expected_text, atol=1e-5, rtol=0)
    # the temperature is what the forward returns third (the training code's logit_scale.exp())
    assert backend.logit_scale() == pytest.approx(_ref_scale(reference), rel=1e-6)
    assert backend.logit_scale() == pytest.approx(np.exp(TINY_CLSP_LOGIT_SCALE), rel=1e-6)
    logits = backend.logit_scale() * audio @ text.T
    expected_logits = _ref_scale(reference) * expected_audio @ expected_text.T
    np.testing.assert_allclose(logits, expected_logits, atol=1e-5, rtol=0)


def test_a_clips_embedding_does_not_depend_on_its_batch(clsp_dir):
    backend = load_clap_backend(clsp_dir, trust_remote_code=True)
    assert backend.window_samples == 30 * RATE  # the default max_seconds
    waves = _waves()
    alone = np.stack([backend.embed_audio([w])[0] for w in waves])
    together = backend.embed_audio(waves)
    order = np.argsort(LENGTHS)[::-1]  # longest first: every other clip padded
    shuffled = backend.embed_audio([waves[i] for i in order])
    with_a_long_one = backend.embed_audio([waves[0], np.ones(5 * RATE, dtype=np.float32), waves[3]])
    np.testing.assert_allclose(together, alone, atol=1e-5, rtol=0)
    np.testing.assert_allclose(shuffled, alone[order], atol=1e-5, rtol=0)
    np.testing.assert_allclose(with_a_long_one[[0, 2]], alone[[0, 3]], atol=1e-5, rtol=0)
    text_alone = np.stack([backend.embed_text([p])[0] for p in PROMPTS])
    np.testing.assert_allclose(backend.embed_text(PROMPTS), text_alone, atol=1e-5, rtol=0)
    assert backend.embed_audio([]).shape == (0, TINY_CLSP_EMBED_DIM)


def test_waves_outside_one_sample_to_max_seconds_are_refused(clsp_dir):
    backend = load_clap_backend(clsp_dir, trust_remote_code=True, backend_options={"max_seconds": 1.0})
    for bad in (np.zeros(RATE + 1, np.float32), np.zeros(0, np.float32), np.zeros((2, 100), np.float32)):
        with pytest.raises(ValueError, match="expected 1-D waveforms of 1 to 16000 samples"):
            backend.embed_audio([np.zeros(100, np.float32), bad])


def test_text_runs_safely_from_many_threads(clsp_dir):
    backend = load_clap_backend(clsp_dir, trust_remote_code=True)
    expected = backend.embed_text(PROMPTS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: backend.embed_text(PROMPTS), range(32)))
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6, rtol=0)


def test_long_prompts_are_truncated_with_a_warning(clsp_dir):
    backend = load_clap_backend(clsp_dir, trust_remote_code=True)
    with pytest.warns(UserWarning, match="exceed the text tower's 77 tokens"):
        out = backend.embed_text(["angry " * 200])
    assert out.shape == (1, TINY_CLSP_EMBED_DIM)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "30", True, 1e-6])
def test_bad_max_seconds_is_refused_before_loading(clsp_dir, value):
    with pytest.raises(ValueError, match="max_seconds"):
        check_clap_model(clsp_dir, trust_remote_code=True, backend_options={"max_seconds": value})


def test_unknown_backend_options_are_refused(clsp_dir):
    with pytest.raises(ValueError, match=r"\['window'\] do not apply to CLSP models; its options: max_seconds"):
        load_clap_backend(clsp_dir, trust_remote_code=True, backend_options={"window": 3})


# -- (2) no code runs without trust_remote_code ---------------------------------------------------------------------
@pytest.mark.parametrize("trust", [False, None, 1, "yes", np.False_])
def test_loading_without_trust_remote_code_is_refused_before_any_code_runs(tmp_path, trust):
    marker = tmp_path / "the-shipped-code-ran"
    folder = make_tiny_clsp(tmp_path / "clsp-with-marker", import_marker=marker)
    for call in (
        lambda: load_clap_backend(folder, trust_remote_code=trust),
        lambda: load_clap_backend("clsp:" + folder, trust_remote_code=trust),
        lambda: check_clap_model(folder, trust_remote_code=trust),
        lambda: CLSPBackend(folder, folder, trust_remote_code=trust),
    ):
        with pytest.raises(RemoteCodeError) as info:
            call()
        message = str(info.value)
        assert "modeling_clsp.py" in message and "'modeling_clsp.CLSPModel'" in message
        assert "code shipped in the checkpoint folder" in message and "with your privileges" in message
        assert "trust_remote_code=True" in message and "--trust-remote-code" in message
        assert not marker.exists()
    zs = CLAPZeroShotTransformer(model=folder, labels=("ang", "hap"), device="cpu", sampling_rate=RATE)
    with pytest.raises(RemoteCodeError, match="modeling_clsp.py"):
        zs.fit()
    assert not marker.exists()


def test_the_marker_does_appear_once_the_code_is_allowed(tmp_path):
    """The control of the test above: the marker does tell whether the folder's code ran."""
    marker = tmp_path / "the-shipped-code-ran"
    folder = make_tiny_clsp(tmp_path / "clsp-allowed", import_marker=marker)
    load_clap_backend(folder, trust_remote_code=True)
    assert marker.read_text() == "imported"


# -- (3) a folder of another family --------------------------------------------------------------------------------
def test_a_laion_clap_folder_forced_as_clsp_is_refused_naming_what_it_is(tiny_clap_dir):
    with pytest.raises(ModelKindError) as info:
        load_clap_backend("clsp:" + tiny_clap_dir, trust_remote_code=True)
    message = str(info.value)
    assert "CLSP" in message and "model_type 'clap'" in message and "LAION-CLAP" in message
    with pytest.raises(ModelKindError, match=r"holds a config.json with model_type 'clap'.*not a CLSP checkpoint"):
        check_clsp(tiny_clap_dir, tiny_clap_dir, trust_remote_code=True)


def test_a_file_or_a_folder_without_clsp_code_is_refused(tmp_path, clsp_dir):
    file = tmp_path / "weights.bin"
    file.write_bytes(b"\0" * 8)
    with pytest.raises(ModelKindError, match="is a file; a CLSP model is a folder"):
        check_clsp(str(file), str(file), trust_remote_code=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelKindError, match="holds no config.json, not a CLSP checkpoint"):
        load_clap_backend("clsp:" + str(empty), trust_remote_code=True)
    no_code = tmp_path / "no-code"
    no_code.mkdir()
    (no_code / "config.json").write_text('{"model_type": "clsp"}')
    with pytest.raises(ModelKindError, match="no auto_map AutoModel entry"):
        check_clsp(str(no_code), str(no_code), trust_remote_code=True)


# -- (4) end to end -------------------------------------------------------------------------------------------------
def _corpus():
    """8 clips of 0.2 to 1.3 s at 16 kHz, 4 per class: speech-like ('ang') and tones ('hap')."""
    seconds = (0.2, 0.45, 0.5, 1.3)
    X, y = [], []
    for i, s in enumerate(seconds):
        X.append(speechlike(s, RATE, f0=110 + 15 * i, contour="rise", seed=i))
        y.append("ang")
        X.append(tone(220 + 60 * i, s + 0.1, RATE))
        y.append("hap")
    return X, np.array(y)


def _expected_logits(reference, zs, X):
    """Scores computed here from the model's own forward: tile x2, 1 s windows (the last one end-aligned), mean."""
    scale = _ref_scale(reference)
    protos = _normalize([np.mean(_normalize([_ref_text(reference, p) for p in ps]), axis=0) for ps in zs.prompts_])
    rows = []
    for wave in X:
        wave = np.tile(wave, 2)
        n, length = wave.shape[0], RATE
        starts = [0] if n <= length else [*range(0, n - length, length), n - length]
        segments = [wave[s : s + length] for s in starts]
        audio = np.mean(_normalize([_ref_audio(reference, seg) for seg in segments]), axis=0)
        rows.append(scale * _normalize(audio)[0] @ protos.T)
    return np.array(rows)


def _zero_shot(folder, cache_dir, **params):
    return CLAPZeroShotTransformer(
        model=folder,
        trust_remote_code=True,
        audio_repeats=2,
        long_audio="mean",
        backend_options={"max_seconds": 1.0},
        cache_dir=str(cache_dir),
        sampling_rate=RATE,
        device="cpu",
        **params,
    )


def test_end_to_end_scores_store_and_grid_search(clsp_dir, reference, tmp_path, monkeypatch):
    X, y = _corpus()
    zs = _zero_shot(clsp_dir, tmp_path / "cache").fit(X, y)
    assert zs.backend_family_ == "clsp" and zs.window_samples_ == RATE
    assert zs.logit_scale_ == pytest.approx(np.exp(TINY_CLSP_LOGIT_SCALE), rel=1e-6)
    scores = zs.transform(X)
    assert scores.shape == (len(X), 2) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores, _expected_logits(reference, zs, X), atol=1e-5, rtol=0)

    # a second transform, and a fresh process's (in-memory stores cleared), come from the store
    def no_model(*args, **kwargs):
        raise AssertionError("the model was called; the embeddings should have come from the store")

    monkeypatch.setattr(CLSPBackend, "embed_audio", no_model)
    np.testing.assert_array_equal(zs.transform(X), scores)
    clear_stores()
    monkeypatch.setattr(CLSPBackend, "embed_text", no_model)
    again = clone(zs).fit(X, y)
    np.testing.assert_allclose(again.transform(X), scores, atol=1e-6, rtol=0)
    monkeypatch.undo()

    pipe = Pipeline([("zs", _zero_shot(clsp_dir, tmp_path / "cache")), ("clf", LogisticRegression())])
    grid = GridSearchCV(
        pipe, {"zs__audio_repeats": [1, 2]}, cv=StratifiedKFold(2, shuffle=True, random_state=0), error_score="raise"
    )
    grid.fit(X, y)
    assert grid.best_params_["zs__audio_repeats"] in (1, 2)
    assert set(grid.predict(X)) <= {"ang", "hap"}
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()

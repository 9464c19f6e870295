"""Every answer right or refused: the silent-wrong-answer cases of unusual but realistic input.

Each test here failed on the code before the fix it covers: zero-shot columns matched by
position, an array read at each model's own rate, an empty X, a stereo array taken as many
clips, checks that ran only after every clip was encoded, float PCM far outside [-1, 1],
classes whose prompts tie, and a model folder of the wrong kind.
"""

import warnings

import numpy as np
import pytest
from sklearn.pipeline import FeatureUnion, Pipeline

import zsfuse
from zsfuse import (
    CLAPZeroShotTransformer,
    ClipError,
    ClipWarning,
    FMEmbeddingTransformer,
    LateFusionClassifier,
    ModelKindError,
    make_zsfuse_pipeline,
)
from zsfuse.fusion import FusionWarning
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.store import clear_stores
from zsfuse.testing import make_audio_tree, speechlike, write_wav

LABELS = ("angry", "happy", "neutral", "sad")


@pytest.fixture(autouse=True)
def fresh():
    clear_stores()
    yield
    clear_stores()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    records = make_audio_tree(tmp_path_factory.mktemp("audio"), labels=LABELS, n_speakers=2, n_per_class=3, seconds=1.0)
    return [r["path"] for r in records], np.array([r["label"] for r in records])


# -- 1. the zero-shot block is matched to the classes by label, never by position ------------------


def _task(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(LABELS)[rng.integers(0, 4, n)]
    zs = np.eye(4)[np.searchsorted(LABELS, y)] * 3 + rng.normal(size=(n, 4))  # zs_<label>, sorted
    fm = rng.normal(size=(n, 6)) + np.searchsorted(LABELS, y)[:, None] * 0.2
    return np.hstack([zs, fm]), y


def test_a_fold_without_a_class_matches_by_label_with_zs_labels():
    X, y = _task()
    keep = y != "angry"
    clf = LateFusionClassifier(fusion="weighted", zs_weight=0.5, zs_labels=("sad", "angry", "neutral", "happy"))
    clf.fit(X[keep], y[keep])
    # columns 1, 2, 3 hold zs_happy, zs_neutral, zs_sad; column 0 (zs_angry) is in neither block
    np.testing.assert_array_equal(clf.zs_columns_, [1, 2, 3])
    np.testing.assert_array_equal(clf.fm_columns_, np.arange(4, 10))
    # the same as a classifier that never saw the angry column
    ref = LateFusionClassifier(fusion="weighted", zs_weight=0.5, zs_labels=("happy", "neutral", "sad"))
    ref.fit(X[keep][:, 1:], y[keep])
    np.testing.assert_allclose(clf.predict_proba(X[:20]), ref.predict_proba(X[:20, 1:]), rtol=1e-12)


def test_a_class_without_a_zero_shot_column_names_both_sides():
    X, y = _task()
    with pytest.raises(
        ValueError,
        match=r"labels \['angry', 'calm', 'happy', 'neutral'\].*classes "
        r"\['angry', 'happy', 'neutral', 'sad'\].*\['sad'\]",
    ):
        LateFusionClassifier(zs_labels=("angry", "calm", "happy", "neutral")).fit(X, y)


def test_without_names_or_zs_labels_position_is_used_only_with_a_warning():
    X, y = _task()
    with pytest.warns(FusionWarning, match="by position"):
        clf = LateFusionClassifier().fit(X, y)
    np.testing.assert_array_equal(clf.zs_columns_, np.arange(4))


def test_zs_labels_must_agree_with_the_column_names():
    pd = pytest.importorskip("pandas")
    X, y = _task()
    df = pd.DataFrame(X, columns=[f"zs_{c}" for c in LABELS] + [f"fm_{i}" for i in range(6)])
    with pytest.raises(ValueError, match="disagrees"):
        LateFusionClassifier(zs_labels=("a", "b", "c", "d")).fit(df, y)


@pytest.mark.slow
def test_the_pipeline_matches_by_label_in_a_fold_that_lacks_a_class(corpus, tiny_clap_dir, tiny_wavlm_dir):
    X, y = corpus
    keep = y != "angry"
    X_fold, y_fold = [x for x, k in zip(X, keep) if k], y[keep]
    pipe = make_zsfuse_pipeline(
        clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu", fusion="weighted", zs_weight=0.5
    )
    pipe.fit(X_fold, y_fold)
    clf = pipe.named_steps["clf"]
    np.testing.assert_array_equal(
        clf.feature_names_in_[clf.zs_columns_], ["zs__zs_happy", "zs__zs_neutral", "zs__zs_sad"]
    )
    assert "zs__zs_angry" not in set(clf.feature_names_in_[clf.fm_columns_])
    # a hand-built pipeline with plain numpy output gets the same answer through zs_labels
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu")
    fm = FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu")
    by_hand = Pipeline(
        [
            ("features", FeatureUnion([("zs", zs), ("fm", fm)])),
            ("clf", LateFusionClassifier(fusion="weighted", zs_weight=0.5, zs_labels=LABELS)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FusionWarning)
        by_hand.fit(X_fold, y_fold)
    np.testing.assert_array_equal(by_hand.named_steps["clf"].zs_columns_, [1, 2, 3])
    np.testing.assert_allclose(by_hand.predict_proba(X), pipe.predict_proba(X), rtol=1e-6, atol=1e-9)


# -- 3. one array, one sampling rate ---------------------------------------------------------------------


def test_an_array_without_a_stated_rate_is_refused_before_any_model_loads(tiny_clap_dir, tiny_wavlm_dir):
    clear_model_cache()
    wave = speechlike(1.0, 16000)
    pipe = make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu")
    with pytest.raises(ClipError, match=r"clip 0: .*no sampling_rate.*sampling_rate=16000"):
        pipe.fit([wave] * 4, ["angry", "happy", "neutral", "sad"])
    assert cached_models() == []
    for step in (
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu"),
        FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu"),
    ):
        with pytest.raises(ClipError, match="no sampling_rate"):
            step.fit().transform([wave])


def test_make_zsfuse_pipeline_states_the_rate_once_for_every_step(corpus, tiny_clap_dir, tiny_wavlm_dir):
    import soundfile as sf

    X, y = corpus
    waves = [sf.read(p, dtype="float32")[0] for p in X]
    rate = sf.info(X[0]).samplerate
    pipe = make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu", sampling_rate=rate)
    zs, fm = (step for _, step in pipe.named_steps["features"].transformer_list)
    assert zs.sampling_rate == fm.sampling_rate == rate
    # arrays at the stated rate give exactly what the files give
    from_files = make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu")
    np.testing.assert_allclose(
        pipe.fit(waves, y).predict_proba(waves), from_files.fit(X, y).predict_proba(X), rtol=1e-6, atol=1e-9
    )


# -- 5. smaller ones ----------------------------------------------------------------------------------------


def test_empty_x_gives_an_empty_table_from_both_transformers(tiny_clap_dir, tiny_wavlm_dir):
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu").fit()
    fm = FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu").fit()
    assert zs.transform([]).shape == (0, 4)
    assert zs.embed_audio([]).shape[0] == 0
    assert fm.transform([]).shape == (0, fm.embedding_dim_)
    assert zs.transform(np.zeros((0, 100), dtype=np.float32)).shape == (0, 4)


def test_a_stereo_array_given_as_x_is_refused_as_one_multichannel_clip(tiny_clap_dir):
    stereo = np.stack([speechlike(1.0, 16000), speechlike(1.0, 16000, seed=1)], axis=1)  # (16000, 2)
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu", sampling_rate=16000).fit()
    with pytest.raises(ValueError, match=r"shape \(16000, 2\).*one multichannel clip.*\[X\]"):
        zs.transform(stereo)
    assert zs.transform([stereo]).shape == (1, 4)  # as one clip: fine, channels averaged


@pytest.mark.parametrize("make_step", ["zs", "fm", "pipeline"])
def test_x_y_mismatch_fails_before_any_model_loads(corpus, make_step):
    X, y = corpus
    clear_model_cache()
    # a model that does not exist: a check made after loading would raise ModelNotFoundError instead
    missing = "/nonexistent/model-folder"
    step = {
        "zs": lambda: CLAPZeroShotTransformer(model=missing, labels=LABELS),
        "fm": lambda: FMEmbeddingTransformer(model=missing),
        "pipeline": lambda: make_zsfuse_pipeline(clap=missing, fm=missing, labels=LABELS),
    }[make_step]()
    with pytest.raises(ValueError, match=f"X holds {len(X)} clips but y holds {len(X) - 1} labels"):
        step.fit(X, y[:-1])
    assert cached_models() == []


def test_a_single_class_y_fails_before_any_model_loads(corpus):
    X, _ = corpus
    pipe = make_zsfuse_pipeline(clap="/nonexistent/clap", fm="/nonexistent/fm", labels=LABELS)
    with pytest.raises(ValueError, match="1 class"):
        pipe.fit(X, ["angry"] * len(X))


def test_float_pcm_far_outside_unit_range_warns_naming_the_clip(tmp_path, tiny_clap_dir):
    wave = speechlike(1.0, 16000)
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu", sampling_rate=16000).fit()
    with pytest.warns(ClipWarning, match=r"clip 1: its samples reach 1\.6\d*e\+04.*32768"):
        zs.transform([wave, wave * 32767, wave])
    path = str(tmp_path / "loud.wav")
    write_wav(path, wave * 3e4, 16000, subtype="FLOAT")
    with pytest.warns(ClipWarning, match=r"clip 0 \('.*loud\.wav'\)"):
        zs.transform([path])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClipWarning)
        zs.transform([wave, (wave * 32767).astype(np.int16)])  # in range, and int PCM is scaled


def test_labels_that_differ_only_by_case_are_refused(tiny_clap_dir):
    from zsfuse.prompts import emotion_words

    labels = ("Angry", "angry", "sad")
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=labels, label_words=emotion_words(labels))
    with pytest.raises(ValueError, match=r"'Angry' and 'angry' get identical prompts.*label_words"):
        zs.fit()
    same_words = {"hap": ("happy",), "exc": ("happy",), "sad": ("sad",)}
    with pytest.raises(ValueError, match="'exc' and 'hap'"):
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=tuple(same_words), label_words=same_words).fit()


def test_classes_the_text_tower_cannot_tell_apart_are_refused(tiny_clap_dir, monkeypatch):
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=("Angry", "angry", "sad"), device="cpu")
    backend = zs._backend()
    real = backend.embed_text
    # an uncased tokenizer: "Angry" and "angry" reach the model as the same tokens
    monkeypatch.setattr(backend, "embed_text", lambda texts: real([t.lower() for t in texts]))
    with pytest.raises(ValueError, match="identical embeddings"):
        zs.fit()


# -- 4. a model folder of the wrong kind -----------------------------------------------------------------


def test_a_speech_model_folder_given_as_the_clap_model(tiny_wavlm_dir, tmp_path):
    zs = CLAPZeroShotTransformer(model=tiny_wavlm_dir, labels=LABELS, device="cpu")
    with pytest.raises(ModelKindError, match=r"model_type 'wavlm'.*no registered family.*--fm"):
        zs.fit()
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(ModelKindError, match="no config.json"):
        CLAPZeroShotTransformer(model=str(empty), labels=LABELS, device="cpu").fit()


def test_a_clap_folder_given_as_the_speech_model(tiny_clap_dir):
    with pytest.raises(ModelKindError, match=r"model_type 'clap'.*--clap"):
        FMEmbeddingTransformer(model=tiny_clap_dir, device="cpu").fit()


def test_new_exceptions_are_zsfuse_errors():
    for name in ("CacheError", "ModelKindError", "RemoteCodeError", "UnreadableFileError"):
        assert issubclass(getattr(zsfuse, name), zsfuse.ZsfuseError), name
    from zsfuse.fm import UnsupportedModelError

    assert issubclass(UnsupportedModelError, ModelKindError) and issubclass(UnsupportedModelError, ValueError)


# -- 2. parameters that could reach code ------------------------------------------------------------------


def test_a_loaded_pipeline_memory_folder_is_reset(tmp_path):
    from sklearn.pipeline import Pipeline as SkPipeline

    X, y = _task()
    pipe = SkPipeline([("clf", LateFusionClassifier(zs_labels=LABELS))], memory=str(tmp_path / "joblib"))
    path = zsfuse.save(pipe.fit(X, y), tmp_path / "memory.skops")
    with pytest.warns(UserWarning, match=r"memory=.*joblib.*reset to None"):
        loaded = zsfuse.load(path)
    assert loaded.memory is None
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


@pytest.mark.parametrize("value", ["yes", None, 1])
def test_trust_remote_code_must_be_a_real_bool(tiny_clap_dir, tiny_wavlm_dir, value):
    for step in (
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, trust_remote_code=value),
        FMEmbeddingTransformer(model=tiny_wavlm_dir, trust_remote_code=value),
    ):
        with pytest.raises(
            ValueError,
            match=rf"The 'trust_remote_code' parameter of {type(step).__name__} "
            r"must be an instance of 'bool'",
        ):
            step.fit()


def test_load_pretrained_grants_remote_code_only_for_true(tiny_wavlm_dir, monkeypatch):
    from transformers import AutoConfig

    from zsfuse.models import load_pretrained

    seen = []
    monkeypatch.setattr(
        AutoConfig,
        "from_pretrained",
        classmethod(lambda cls, path, trust_remote_code=None, **kw: seen.append(trust_remote_code)),
    )
    for value in ("yes", None, 1, False, True):
        load_pretrained(AutoConfig, tiny_wavlm_dir, trust_remote_code=value)
    assert seen == [False, False, False, False, True]


def test_an_msclap_name_given_as_the_speech_model():
    with pytest.raises(ModelKindError, match=r"'msclap-2023' is an MS-CLAP model.*--clap"):
        FMEmbeddingTransformer(model="msclap-2023").fit()

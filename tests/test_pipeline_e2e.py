"""End to end on tiny models: the design's pipeline in GridSearchCV, n_jobs=1 vs n_jobs=2.

The grid is the intended workflow: audio repeats x text repeats x fusion weight, speaker-independent
folds (GroupKFold). Both runs must agree exactly, and the embedding store must make every clip be
encoded once per audio setting per process.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold

from zsfuse import make_zsfuse_pipeline
from zsfuse.store import clear_stores
from zsfuse.testing import make_audio_tree

LABELS = ("angry", "happy", "neutral", "sad")
TEMPLATES = ("this person is feeling {}.", "a person speaking in a {} voice.")
GRID = {
    "features__zs__audio_repeats": [1, 2],
    "features__zs__text_repeats": [1, 2],
    "clf__zs_weight": [0.0, 0.5],
}
N_SPEAKERS = 4


pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    records = make_audio_tree(
        tmp_path_factory.mktemp("corpus"), labels=LABELS, n_speakers=N_SPEAKERS, n_per_class=2, seconds=1.0, rate=16000
    )
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])
    return X, y, groups


def make_pipe(tiny_clap_dir, tiny_wavlm_dir, cache_dir):
    # pad_mode="zero": the 1 s clips do not fill the tiny CLAP's 10 s window, so audio_repeats
    # changes what the model hears (with the native loop padding it would change nothing)
    return make_zsfuse_pipeline(
        clap=tiny_clap_dir,
        fm=tiny_wavlm_dir,
        labels=LABELS,
        templates=TEMPLATES,
        zs__pad_mode="zero",
        layers="all",
        device="cpu",
        cache_dir=str(cache_dir),
    )


class Counter:
    """Counts what reaches the (cached, shared) CLAP audio tower and FM encoder of this process."""

    def __init__(self, monkeypatch, pipe):
        self.clap_windows = 0
        self.fm_pieces = 0
        self.texts = []
        union = pipe.named_steps["features"]
        clap = union.transformer_list[0][1]._backend()
        fm = union.transformer_list[1][1]._encoder()
        real_audio, real_text, real_encode = clap.embed_audio, clap.embed_text, fm.encode

        def embed_audio(windows):
            self.clap_windows += len(windows)
            return real_audio(windows)

        def embed_text(texts):
            self.texts.extend(texts)
            return real_text(texts)

        def encode(pieces, *args, **kwargs):
            self.fm_pieces += len(pieces)
            return real_encode(pieces, *args, **kwargs)

        monkeypatch.setattr(clap, "embed_audio", embed_audio)
        monkeypatch.setattr(clap, "embed_text", embed_text)
        monkeypatch.setattr(fm, "encode", encode)


def search(pipe, n_jobs):
    return GridSearchCV(pipe, GRID, cv=GroupKFold(n_splits=N_SPEAKERS), scoring="balanced_accuracy", n_jobs=n_jobs)


@pytest.mark.slow
def test_grid_search_n_jobs_1_and_2_agree_and_encode_once(corpus, tiny_clap_dir, tiny_wavlm_dir, tmp_path, monkeypatch):
    X, y, groups = corpus
    n_clips = len(X)

    # n_jobs=1: count what this process encodes, over 8 grid points x 4 folds + the refit
    pipe = make_pipe(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "cache-1")
    counter = Counter(monkeypatch, pipe)
    serial = search(pipe, n_jobs=1).fit(X, y, groups=groups)
    n_audio_settings = len(GRID["features__zs__audio_repeats"])
    assert counter.clap_windows == n_clips * n_audio_settings  # 1 s clips: one window each
    assert counter.fm_pieces == n_clips  # nothing upstream of the FM changes across the grid
    assert len(counter.texts) == len(set(counter.texts))  # each prompt string once
    assert len(set(counter.texts)) == len(LABELS) * len(TEMPLATES) * len(GRID["features__zs__text_repeats"])

    # n_jobs=2 in worker processes, sharing a fresh on-disk store
    clear_stores()
    parallel = search(make_pipe(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "cache-2"), n_jobs=2)
    parallel.fit(X, y, groups=groups)

    assert parallel.best_params_ == serial.best_params_
    score_keys = [k for k in serial.cv_results_ if k.endswith("test_score")]
    assert "split3_test_score" in score_keys
    for key in score_keys + ["params"]:
        np.testing.assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key], err_msg=key)
    np.testing.assert_array_equal(parallel.predict(X), serial.predict(X))
    # the refits read embeddings made in different processes, whose torch thread counts differ: FM
    # vectors can differ in the last float32 bit, and lbfgs (tol=1e-4) turns that into ~1e-4
    np.testing.assert_allclose(parallel.predict_proba(X), serial.predict_proba(X), rtol=0, atol=2e-3)

    # the workers wrote every clip to the shared store: this process, with an empty memory level,
    # now transforms every audio setting without encoding anything
    clear_stores()
    counter.clap_windows = counter.fm_pieces = 0
    features = make_pipe(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "cache-2").named_steps["features"]
    for repeats in GRID["features__zs__audio_repeats"]:
        features.set_params(zs__audio_repeats=repeats).fit(X, y).transform(X)
    assert counter.clap_windows == 0 and counter.fm_pieces == 0


@pytest.mark.slow
def test_pipeline_feature_names_and_the_fm_baseline(corpus, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    X, y, _ = corpus
    pipe = make_pipe(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "cache").set_params(clf__zs_weight=0.0)
    pipe.fit(X, y)
    names = pipe[:-1].get_feature_names_out()
    assert list(names[:4]) == [f"zs__zs_{c}" for c in LABELS] and names[4] == "fm__fm_0"
    np.testing.assert_array_equal(pipe.named_steps["clf"].zs_columns_, np.arange(4))
    # zs_weight=0: exactly the head on the FM embedding alone
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from zsfuse.fusion import layernorm

    fm = pipe.named_steps["features"].transformer_list[1][1]
    embedding = fm.transform(X).astype(np.float64)
    scaled = StandardScaler().fit(embedding).transform(embedding)  # the default normalize="standard"
    head = LogisticRegression(max_iter=1000).fit(scaled, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), head.predict_proba(scaled))
    pipe.set_params(clf__normalize="layernorm").fit(X, y)
    head = LogisticRegression(max_iter=1000).fit(layernorm(embedding), y)
    np.testing.assert_array_equal(pipe.predict_proba(X), head.predict_proba(layernorm(embedding)))
    # with pandas output, the classifier finds the zero-shot block by name (here: moved last)
    pytest.importorskip("pandas")
    from sklearn.pipeline import FeatureUnion

    union = pipe.named_steps["features"]
    moved = FeatureUnion(union.transformer_list[::-1]).set_output(transform="pandas")
    frame = moved.fit(X, y).transform(X)
    assert list(frame.columns[-4:]) == [f"zs__zs_{c}" for c in LABELS]
    from zsfuse import LateFusionClassifier

    clf = LateFusionClassifier(zs_weight=0.5).fit(frame, y)
    np.testing.assert_array_equal(clf.zs_columns_, np.arange(frame.shape[1] - 4, frame.shape[1]))


# -- make_zsfuse_pipeline: structure and parameter routing (nothing is loaded) ----------------------------


def test_make_zsfuse_pipeline_structure_and_routing():
    from sklearn.pipeline import FeatureUnion, Pipeline

    from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer, LateFusionClassifier

    pipe = make_zsfuse_pipeline(
        labels=LABELS,
        templates=TEMPLATES,
        audio_repeats=2,
        layers="all",
        pooling="mean",
        fusion="weighted",
        zs_weight=0.25,
        cache_dir="/tmp/emb",
        device="cpu",
        zs__revision="abc",
        fm__revision="def",
        features__zs__text_repeats=3,
        clf__cv=3,
    )
    assert isinstance(pipe, Pipeline) and [n for n, _ in pipe.steps] == ["features", "clf"]
    union = pipe.named_steps["features"]
    assert isinstance(union, FeatureUnion) and [n for n, _ in union.transformer_list] == ["zs", "fm"]
    zs, fm = (step for _, step in union.transformer_list)
    assert isinstance(zs, CLAPZeroShotTransformer) and isinstance(fm, FMEmbeddingTransformer)
    assert isinstance(pipe.named_steps["clf"], LateFusionClassifier)
    params = pipe.get_params()
    expected = {
        "features__zs__model": "msclap-2023",
        "features__fm__model": "microsoft/wavlm-large",
        "features__zs__labels": LABELS,
        "features__zs__templates": TEMPLATES,
        "features__zs__audio_repeats": 2,
        "features__zs__text_repeats": 3,
        "features__fm__layers": "all",
        "features__fm__pooling": "mean",
        "clf__fusion": "weighted",
        "clf__zs_weight": 0.25,
        "clf__cv": 3,
        "features__zs__cache_dir": "/tmp/emb",
        "features__fm__cache_dir": "/tmp/emb",  # shared: both
        "features__zs__device": "cpu",
        "features__fm__device": "cpu",
        "features__zs__revision": "abc",
        "features__fm__revision": "def",
    }
    assert {k: params[k] for k in expected} == expected
    # instances are used as they are
    zs_own = CLAPZeroShotTransformer(model="laion/clap-htsat-unfused", output="proba")
    pipe = make_zsfuse_pipeline(clap=zs_own, fm="microsoft/hubert-large-ll60k")
    assert pipe.named_steps["features"].transformer_list[0][1] is zs_own
    assert pipe.get_params()["features__zs__labels"] is None  # the classes of y, in fit


def test_plain_normalize_goes_to_the_classifier_and_normalize_audio_to_the_fm_step():
    # the FM's waveform normalisation is ``normalize_audio``: the plain ``normalize`` is the
    # classifier's alone (it was "a parameter of several steps" while both were ``normalize``)
    pipe = make_zsfuse_pipeline(normalize="standard", normalize_audio=False)
    params = pipe.get_params()
    assert params["clf__normalize"] == "standard" and params["features__fm__normalize_audio"] is False
    assert "features__fm__normalize" not in params
    assert make_zsfuse_pipeline(fm__normalize_audio=True).get_params()["features__fm__normalize_audio"] is True


@pytest.mark.parametrize(
    "params, match",
    [
        ({"model": "x"}, r"several steps.*features__zs__model.*features__fm__model"),
        ({"revision": "x"}, "several steps"),
        ({"nonsense": 1}, "No step of the ZS-Fuse pipeline has a parameter 'nonsense'"),
        ({"head__C": 1}, "Unknown step 'head'"),
        ({"clf__nonsense": 1}, "nonsense"),
    ],
)
def test_make_zsfuse_pipeline_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        make_zsfuse_pipeline(**params)

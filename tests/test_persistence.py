"""skops persistence: zsfuse.save / zsfuse.load / zsfuse.inspect / TRUSTED_TYPES; pickle and joblib."""

import json
import os
import pickle

import joblib
import numpy as np
import pytest
import skops.io as sio
from _helpers import make_code_shipping_model, rewrite_schema, zip_members
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import zsfuse
from zsfuse import TRUSTED_TYPES, LateFusionClassifier, make_zsfuse_pipeline
from zsfuse.exceptions import RemoteCodeError, UnreadableFileError
from zsfuse.fm import FMEmbeddingTransformer
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.persistence import UntrustedTypesError
from zsfuse.store import clear_stores
from zsfuse.testing import make_audio_tree
from zsfuse.zeroshot import CLAPZeroShotTransformer

LABELS = ("angry", "happy", "neutral", "sad")


def qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


class Doubler(TransformerMixin, BaseEstimator):
    """A step of the user's own: not a type zsfuse trusts."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return 2 * np.asarray(X)


#: The zsfuse types of a saved ZS-Fuse pipeline with the default head.
PIPELINE_TYPES = {
    "zsfuse.fusion.LateFusionClassifier",
    "zsfuse.zeroshot.CLAPZeroShotTransformer",
    "zsfuse.fm._transformer.FMEmbeddingTransformer",
}


def test_trusted_types_are_zsfuses_estimators_and_heads():
    from zsfuse import EmoBoxHead, SuperbHead

    assert set(TRUSTED_TYPES) == {
        qualified(LateFusionClassifier),
        qualified(CLAPZeroShotTransformer),
        qualified(FMEmbeddingTransformer),
        qualified(EmoBoxHead),
        qualified(SuperbHead),
    }
    assert PIPELINE_TYPES < set(TRUSTED_TYPES)
    assert len(TRUSTED_TYPES) == 5 and isinstance(TRUSTED_TYPES, tuple)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, tiny_clap_dir, tiny_wavlm_dir):
    clear_stores()
    records = make_audio_tree(tmp_path_factory.mktemp("audio"), labels=LABELS, n_speakers=2, n_per_class=2)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    pipe = make_zsfuse_pipeline(
        clap=tiny_clap_dir,
        fm=tiny_wavlm_dir,
        labels=LABELS,
        device="cpu",
        layers="all",
        fusion="weighted",
        zs_weight=0.5,
    ).fit(X, y)
    return pipe, X, pipe.predict_proba(X)


def test_skops_round_trip_of_a_fitted_pipeline(fitted, tmp_path):
    pipe, X, proba = fitted
    path = zsfuse.save(pipe, tmp_path / "zsfuse.skops")
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    assert set(untrusted) == PIPELINE_TYPES  # all three are in this pipeline
    assert not any("torch" in t or "transformers" in t for t in untrusted)
    assert os.path.getsize(path) < 1_000_000  # parameters, prompt embeddings, the head: no weights
    # a fresh start: no model in memory, no embedding in memory; the models reload from their path
    clear_model_cache()
    clear_stores()
    loaded = zsfuse.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    clf, clf_loaded = pipe.named_steps["clf"], loaded.named_steps["clf"]
    assert clf_loaded.temperature_ == clf.temperature_
    np.testing.assert_array_equal(clf_loaded.estimator_.coef_, clf.estimator_.coef_)
    zs_loaded = loaded.named_steps["features"].transformer_list[0][1]
    np.testing.assert_array_equal(
        zs_loaded.prototypes_, pipe.named_steps["features"].transformer_list[0][1].prototypes_
    )


def test_pickle_and_joblib_round_trips(fitted, tmp_path):
    pipe, X, proba = fitted
    data = pickle.dumps(pipe)
    assert len(data) < 1_000_000
    np.testing.assert_array_equal(pickle.loads(data).predict_proba(X), proba)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "pipe.joblib").predict_proba(X), proba)


@pytest.mark.parametrize("fusion", ["concat", "weighted", "stack"])
@pytest.mark.parametrize("normalize", ["layernorm", "standard"])
def test_classifier_alone(tmp_path, fusion, normalize):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 10)), np.array(["a", "b", "c"] * 20, dtype=object)
    clf = LateFusionClassifier(fusion=fusion, normalize=normalize).fit(X, y)
    path = zsfuse.save(clf, tmp_path / "clf.skops")
    assert sio.get_untrusted_types(file=path) == ["zsfuse.fusion.LateFusionClassifier"]
    loaded = zsfuse.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)


def _edit_schema(path, old, new):
    """Rewrite a skops file with a replaced (module, class) pair in its schema."""
    hits = []

    def edit(schema):
        def walk(node):
            if isinstance(node, dict):
                if (node.get("__module__"), node.get("__class__")) == old:
                    node["__module__"], node["__class__"] = new
                    hits.append(node)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        assert hits, f"{old} is not in the file"

    rewrite_schema(path, edit)


def test_a_file_edited_to_hold_a_foreign_type_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    clf = LateFusionClassifier().fit(rng.normal(size=(30, 6)), np.arange(30) % 3)
    path = tmp_path / "edited.skops"
    zsfuse.save(clf, path)
    _edit_schema(path, ("sklearn.linear_model._logistic", "LogisticRegression"), ("subprocess", "Popen"))
    assert "subprocess.Popen" in sio.get_untrusted_types(file=str(path))
    with pytest.raises(UntrustedTypesError, match=r"\['subprocess\.Popen'\]") as info:
        zsfuse.load(path)
    assert info.value.types == ["subprocess.Popen"] and isinstance(info.value, ValueError)


def test_a_step_of_your_own_needs_explicit_trust(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 6)), np.arange(30) % 3
    pipe = make_pipeline(Doubler(), LateFusionClassifier()).fit(X, y)
    path = tmp_path / "custom.skops"
    name = qualified(Doubler)
    with pytest.warns(UserWarning, match="refuses by default"):
        zsfuse.save(pipe, path)
    with pytest.raises(UntrustedTypesError, match=name):
        zsfuse.load(path)
    loaded = zsfuse.load(path, trusted=[name])
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("trusted", [True, "zsfuse.fusion.LateFusionClassifier", [1]])
def test_trust_everything_is_not_an_option(tmp_path, trusted):
    rng = np.random.default_rng(0)
    path = zsfuse.save(LateFusionClassifier().fit(rng.normal(size=(30, 6)), np.arange(30) % 3), tmp_path / "clf.skops")
    with pytest.raises(TypeError, match="never loads with trusted=True"):
        zsfuse.load(path, trusted=trusted)


# -- a saved file can never make zsfuse run code -------------------------------------------------------


def unfitted(clap="someone/clap", fm="someone/fm", **params):
    """A ZS-Fuse pipeline that is never fitted: dumping it loads no model."""
    return make_zsfuse_pipeline(clap=clap, fm=fm, labels=LABELS, device="cpu", **params)


#: name -> (estimator to dump, the step path, its model id, the value of trust_remote_code)
REMOTE_CODE_CASES = {
    "fm-true": (lambda: unfitted(fm__trust_remote_code=True), "features__fm", "someone/fm", True),
    "zs-string-yes": (lambda: unfitted(zs__trust_remote_code="yes"), "features__zs", "someone/clap", "yes"),
    "nested-in-grid-search": (
        lambda: GridSearchCV(unfitted(zs__trust_remote_code=True), {"clf__zs_weight": [0.0, 1.0]}),
        "estimator__features__zs",
        "someone/clap",
        True,
    ),
    "fm-alone": (
        lambda: FMEmbeddingTransformer(model="someone/fm", trust_remote_code=np.True_),
        "",
        "someone/fm",
        True,
    ),
}


def trust_values(estimator):
    return {k: v for k, v in estimator.get_params(deep=True).items() if k.endswith("trust_remote_code")}


@pytest.mark.parametrize("case", sorted(REMOTE_CODE_CASES))
def test_a_file_that_grants_remote_code_is_refused_unless_the_caller_opts_in(tmp_path, case):
    make, step, model, value = REMOTE_CODE_CASES[case]
    estimator = make()
    path = tmp_path / "remote.skops"
    with pytest.warns(UserWarning, match="trust_remote_code"):
        zsfuse.save(estimator, path)
    with pytest.raises(RemoteCodeError) as info:
        zsfuse.load(path)
    message = str(info.value)
    assert isinstance(info.value, PermissionError)
    for needle in (str(path), model, "zsfuse.load(path, trust_remote_code=True)", "--trust-remote-code"):
        assert needle in message, (needle, message)
    if step:
        assert f"step {step} " in message, message
    loaded = zsfuse.load(path, trust_remote_code=True)
    assert trust_values(loaded) == trust_values(estimator)
    assert value in trust_values(loaded).values()


def test_remote_code_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    path = zsfuse.save(unfitted(fm__trust_remote_code=True), tmp_path / "remote.skops")

    def no_build(*args, **kwargs):
        raise AssertionError("skops.io.load was called: something was built")

    monkeypatch.setattr(sio, "load", no_build)
    with pytest.raises(RemoteCodeError, match="features__fm"):
        zsfuse.load(path)


def test_the_loaded_object_is_checked_too(tmp_path, monkeypatch):
    """The authoritative check walks what skops built, whatever the schema scan saw."""
    import zsfuse.persistence._io as persistence  # where load looks the scan up

    path = zsfuse.save(
        GridSearchCV(unfitted(fm__trust_remote_code="yes"), {"clf__zs_weight": [0.0]}), tmp_path / "remote.skops"
    )
    monkeypatch.setattr(persistence, "remote_code_in_schema", lambda *args, **kwargs: [])
    with pytest.raises(RemoteCodeError, match="estimator__features__fm"):
        zsfuse.load(path)


def _step_attrs(schema, name):
    """The attribute nodes of the zsfuse step ``name`` ("zs" or "fm") of an unfitted ZS-Fuse pipeline."""
    union = schema["content"]["content"]["steps"]["content"][0]["content"][1]
    for item in union["content"]["content"]["transformer_list"]["content"]:
        if json.loads(item["content"][0]["content"]) == name:
            return item["content"][1]["content"]["content"]
    raise AssertionError(name)


def test_a_value_aliased_through_skops_object_ids_is_seen(tmp_path):
    """A file may reuse the ``__id__`` of an earlier node: skops then builds the earlier node's value."""
    path = tmp_path / "aliased.skops"
    zsfuse.save(unfitted(), path)

    def alias(schema):
        # fm's trust_remote_code still reads "false", but its id is the one of zs's model string
        _step_attrs(schema, "fm")["trust_remote_code"]["__id__"] = _step_attrs(schema, "zs")["model"]["__id__"]

    rewrite_schema(path, alias)
    assert zsfuse.load(path, trust_remote_code=True).get_params()["features__fm__trust_remote_code"] == "someone/clap"
    steps = {s.path: s for s in zsfuse.inspect(path).steps}
    assert steps["features__fm"].trust_remote_code == "someone/clap"
    with pytest.raises(RemoteCodeError, match="features__fm"):
        zsfuse.load(path)


def test_trust_remote_code_none_loads_as_false(tmp_path):
    """None would make transformers ask on the terminal; a loaded file never does."""
    path = zsfuse.save(unfitted(fm__trust_remote_code=None), tmp_path / "none.skops")
    assert zsfuse.load(path).get_params()["features__fm__trust_remote_code"] is False


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_load_takes_only_true_or_false_as_the_opt_in(tmp_path, value):
    path = zsfuse.save(unfitted(), tmp_path / "p.skops")
    with pytest.raises(TypeError, match="trust_remote_code"):
        zsfuse.load(path, trust_remote_code=value)


def test_shipped_code_is_never_imported_by_load_or_inspect(tmp_path, tiny_wavlm_dir):
    marker = tmp_path / "marker.txt"
    shipped = make_code_shipping_model(tiny_wavlm_dir, tmp_path / "shipped-model", marker)
    clear_model_cache()
    for grant in (True, False):
        path = tmp_path / f"shipped-{grant}.skops"
        zsfuse.save(unfitted(clap=shipped, fm=shipped, zs__trust_remote_code=grant, fm__trust_remote_code=grant), path)
        info = zsfuse.inspect(path)
        assert {s.model for s in info.steps} == {shipped}
        assert {s.trust_remote_code for s in info.steps} == {grant}
        if grant:
            with pytest.raises(RemoteCodeError, match="shipped-model"):
                zsfuse.load(path)
        zsfuse.load(path, trust_remote_code=True)  # loading never loads a model
        zsfuse.load(path.as_posix(), trust_remote_code=grant)
        assert not marker.exists()
    assert cached_models() == []


# -- zsfuse.inspect: what a file will load, without loading it -------------------------------------------


def test_inspect_lists_the_models_of_a_pipeline_without_loading_them(
    fitted, tmp_path, tiny_clap_dir, tiny_wavlm_dir, monkeypatch
):
    pipe, _, _ = fitted
    union = pipe.named_steps["features"]
    names = getattr(union, "_transformers_feature_names_out", None)  # pandas output: pandas Index objects
    kinds = None if names is None else [type(n) for n in names]
    path = zsfuse.save(pipe, tmp_path / "zsfuse.skops")
    assert getattr(union, "_transformers_feature_names_out", None) is names  # save leaves the pipeline as it was
    assert kinds is None or [type(n) for n in names] == kinds
    clear_model_cache()

    def no_build(*args, **kwargs):
        raise AssertionError("inspect built the file's objects")

    monkeypatch.setattr(sio, "load", no_build)
    info = zsfuse.inspect(path)
    assert cached_models() == []
    assert info.path == str(path) and info.root == "sklearn.pipeline.Pipeline"
    assert set(info.untrusted_types) == PIPELINE_TYPES and info.foreign_types == ()
    assert "sklearn.linear_model._logistic.LogisticRegression" in info.types
    assert [s.path for s in info.steps] == ["features__zs", "features__fm"]
    zs, fm = info.steps
    assert zs.cls == "zsfuse.zeroshot.CLAPZeroShotTransformer" and zs.model == tiny_clap_dir
    assert fm.cls == "zsfuse.fm._transformer.FMEmbeddingTransformer" and fm.model == tiny_wavlm_dir
    for step in info.steps:
        assert step.fitted and step.trust_remote_code is False and step.device == "cpu"
        assert step.revision is None and step.cache_dir is None
    assert zs.version is None and zs.text_model is None
    assert info.models == (tiny_clap_dir, tiny_wavlm_dir)
    assert info.refusals == ()
    text = str(info)
    for needle in (str(path), tiny_clap_dir, tiny_wavlm_dir, "features__zs", "features__fm", "trust_remote_code"):
        assert needle in text, needle
    as_dict = json.loads(json.dumps(info.to_dict()))
    assert [s["model"] for s in as_dict["steps"]] == [tiny_clap_dir, tiny_wavlm_dir]
    assert zsfuse.inspect is zsfuse.persistence.inspect


def test_inspect_names_what_load_would_refuse(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 6)), np.arange(30) % 3
    path = tmp_path / "custom.skops"
    with pytest.warns(UserWarning):
        zsfuse.save(make_pipeline(Doubler(), LateFusionClassifier()).fit(X, y), path)
    info = zsfuse.inspect(path)
    assert info.foreign_types == (qualified(Doubler),) and info.steps == ()
    assert any(qualified(Doubler) in r for r in info.refusals)
    search = tmp_path / "search.skops"
    zsfuse.save(
        GridSearchCV(unfitted(fm__trust_remote_code=True, cache_dir="/data/emb"), {"clf__zs_weight": [0.0]}), search
    )
    info = zsfuse.inspect(search)
    assert [s.path for s in info.steps] == ["estimator__features__zs", "estimator__features__fm"]
    assert [s.trust_remote_code for s in info.steps] == [False, True]
    assert {s.cache_dir for s in info.steps} == {"/data/emb"}
    assert any("estimator__features__fm" in r and "trust_remote_code" in r for r in info.refusals)
    assert "trust_remote_code" in str(info) and not info.steps[0].fitted


def test_inspect_notes_a_scikit_learn_memory_folder(tmp_path):
    from sklearn.pipeline import Pipeline

    path = zsfuse.save(
        Pipeline([("clf", LateFusionClassifier())], memory="/shared/joblib-cache"), tmp_path / "memory.skops"
    )
    info = zsfuse.inspect(path)
    assert info.steps == () and info.refusals == ()
    assert info.types == ("sklearn.pipeline.Pipeline", "zsfuse.fusion.LateFusionClassifier")
    assert len(info.notes) == 1 and "/shared/joblib-cache" in info.notes[0] and "pickle" in info.notes[0]
    assert "/shared/joblib-cache" in str(info)


# -- files that are not skops files: one clear error ------------------------------------------------------


def _good_file(tmp_path):
    rng = np.random.default_rng(0)
    clf = LateFusionClassifier().fit(rng.normal(size=(30, 6)), np.arange(30) % 3)
    return zsfuse.save(clf, tmp_path / "good.skops")


def _bad_file(tmp_path, kind):
    bad = tmp_path / f"{kind}.skops"
    if kind == "truncated":
        data = open(_good_file(tmp_path), "rb").read()
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "not-a-zip":
        bad.write_bytes(b"this is not a zip archive\n" * 20)
    elif kind == "zip-without-schema":
        zip_members(bad, {"readme.txt": "hello"})
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "directory":
        bad.mkdir()
    elif kind == "newer-protocol":
        data = open(_good_file(tmp_path), "rb").read()
        bad.write_bytes(data)
        rewrite_schema(bad, lambda schema: schema.update(protocol=999))
    elif kind == "schema-not-json":
        zip_members(bad, {"schema.json": "{not json"})
    elif kind == "foreign-schema":
        zip_members(bad, {"schema.json": json.dumps({"format": "something else", "version": 3})})
    elif kind == "unknown-node":
        zip_members(
            bad,
            {
                "schema.json": json.dumps(
                    {
                        "protocol": 2,
                        "__class__": "Thing",
                        "__module__": "elsewhere",
                        "__loader__": "NoSuchNode",
                        "content": {},
                    }
                )
            },
        )
    else:  # pragma: no cover
        raise AssertionError(kind)
    return bad


BAD_FILES = [
    "truncated",
    "not-a-zip",
    "zip-without-schema",
    "empty",
    "directory",
    "newer-protocol",
    "schema-not-json",
    "foreign-schema",
    "unknown-node",
]


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_gives_one_clear_error(tmp_path, kind):
    bad = _bad_file(tmp_path, kind)
    for read in (zsfuse.load, zsfuse.inspect):
        with pytest.raises(UnreadableFileError) as info:
            read(bad)
        message = str(info.value)
        assert str(bad) in message, message
        assert "\n" not in message
        assert "zsfuse.save" in message or "check the path" in message, message
    if kind == "newer-protocol":
        assert "999" in message and "skops" in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.skops"):
        zsfuse.load(tmp_path / "gone.skops")
    with pytest.raises(FileNotFoundError, match="gone.skops"):
        zsfuse.inspect(tmp_path / "gone.skops")

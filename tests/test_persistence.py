"""skops persistence: zsfuse.save / zsfuse.load / TRUSTED_TYPES; pickle and joblib."""

import io
import json
import os
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline

import zsfuse
from zsfuse import TRUSTED_TYPES, LateFusionClassifier, make_zsfuse_pipeline
from zsfuse.fm import FMEmbeddingTransformer
from zsfuse.models import clear_model_cache
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


def test_trusted_types_are_zsfuses_three_estimators():
    assert set(TRUSTED_TYPES) == {
        qualified(LateFusionClassifier), qualified(CLAPZeroShotTransformer), qualified(FMEmbeddingTransformer)
    }
    assert len(TRUSTED_TYPES) == 3 and isinstance(TRUSTED_TYPES, tuple)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, tiny_clap_dir, tiny_wavlm_dir):
    clear_stores()
    records = make_audio_tree(tmp_path_factory.mktemp("audio"), labels=LABELS, n_speakers=2, n_per_class=2)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    pipe = make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu",
                                layers="all", fusion="weighted", zs_weight=0.5).fit(X, y)
    return pipe, X, pipe.predict_proba(X)


def test_skops_round_trip_of_a_fitted_pipeline(fitted, tmp_path):
    pipe, X, proba = fitted
    path = zsfuse.save(pipe, tmp_path / "zsfuse.skops")
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    assert set(untrusted) == set(TRUSTED_TYPES)  # all three are in this pipeline
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
    np.testing.assert_array_equal(zs_loaded.prototypes_, pipe.named_steps["features"].transformer_list[0][1].prototypes_)


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
    with zipfile.ZipFile(path) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    schema = json.loads(entries["schema.json"])
    hits = []

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
    entries["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())


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
    path = zsfuse.save(LateFusionClassifier().fit(rng.normal(size=(30, 6)), np.arange(30) % 3),
                       tmp_path / "clf.skops")
    with pytest.raises(TypeError, match="never loads with trusted=True"):
        zsfuse.load(path, trusted=trusted)

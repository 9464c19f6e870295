"""Outputs and cache keys pinned on the tiny models; files of an older version still load.

The reference values were recorded before the structure of the package changed
(``tests/data/record_golden.py``), so any refactoring that changes an output or
a store namespace fails here.
"""

import numpy as np
import pandas as pd
import pytest
from _golden_cases import FUSION_CASES, LABELS, fusion_data, golden_file, run_fusion_cases, run_model_cases

DATA = golden_file().parent
OLD = "0.1.0.dev0"
#: The scikit-learn that wrote the old files. scikit-learn does not support loading a fitted
#: estimator into another version of itself (1.8 dropped ``LogisticRegression.multi_class``, which
#: 1.7 -- the newest on Python 3.10 -- needs to predict), so the files are checked with that one.
OLD_SKLEARN = "1.9"
same_sklearn = pytest.mark.skipif(
    not __import__("sklearn").__version__.startswith(OLD_SKLEARN + "."),
    reason=f"the old files were written with scikit-learn {OLD_SKLEARN}.x; scikit-learn does not load a fitted "
    "estimator across versions",
)


@pytest.fixture(scope="module")
def golden():
    path = golden_file()
    if not path.exists():
        pytest.fail(
            f"no reference values for this transformers version: run python tests/data/record_golden.py "
            f"with the code before a change to write {path.name}"
        )
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def model_outputs(tmp_path_factory):
    return run_model_cases(tmp_path_factory.mktemp("golden"))


def test_model_outputs_are_unchanged(golden, model_outputs):
    values, _ = model_outputs
    expected = {k for k in golden if not k.startswith(("fusion_", "__"))}
    assert set(values) == expected
    for name in sorted(expected):
        np.testing.assert_allclose(values[name], golden[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_cache_keys_are_unchanged(golden, model_outputs):
    _, namespaces = model_outputs
    assert sorted(namespaces) == golden["__namespaces__"].tolist()


def test_fusion_outputs_are_unchanged(golden):
    values = run_fusion_cases()
    assert set(values) == {f"{name}_{kind}" for name in FUSION_CASES for kind in ("proba", "decision")}
    for name, value in values.items():
        np.testing.assert_allclose(value, golden[name], rtol=1e-7, atol=1e-10, err_msg=name)


@pytest.fixture(scope="module")
def old():
    with np.load(DATA / f"old-{OLD}.npz") as data:
        return {k: data[k] for k in data.files}


@same_sklearn
def test_old_pipeline_file_loads_and_predicts_the_same(old):
    import zsfuse
    from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer, LateFusionClassifier

    pipe = zsfuse.load(DATA / f"old-{OLD}-pipeline.skops")
    zs, fm = pipe.named_steps["features"].transformer_list[0][1], pipe.named_steps["features"].transformer_list[1][1]
    assert isinstance(zs, CLAPZeroShotTransformer) and isinstance(fm, FMEmbeddingTransformer)
    clf = pipe.named_steps["clf"]
    assert isinstance(clf, LateFusionClassifier)
    assert list(zs.classes_) == list(LABELS) and clf.zs_weight == 0.5
    features = pd.DataFrame(old["pipeline_features"], columns=old["pipeline_columns"])
    np.testing.assert_allclose(clf.predict_proba(features), old["pipeline_proba"], rtol=1e-7, atol=1e-10)


@same_sklearn
@pytest.mark.parametrize("mode", ["weighted", "stack"])
def test_old_classifier_files_load_and_predict_the_same(old, mode):
    import zsfuse

    clf = zsfuse.load(DATA / f"old-{OLD}-{mode}.skops")
    assert clf.fusion == mode
    X, _ = fusion_data()
    np.testing.assert_allclose(clf.predict_proba(X), old[f"{mode}_proba"], rtol=1e-7, atol=1e-10)
    assert clf.get_params()["zs_labels"] == LABELS

"""Outputs and cache keys pinned on the tiny models; files of an older version still load.

The reference values were recorded before the structure of the package changed
(``tests/data/record_golden.py``), so any refactoring that changes an output or
a store namespace fails here.
"""

import re

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
def model_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("golden")


@pytest.fixture(scope="module")
def model_outputs(model_folder):
    return run_model_cases(model_folder)


#: A model's content fingerprint inside a store namespace (24 hexadecimal characters).
FINGERPRINT = re.compile(r"(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])")
#: ``model_fingerprint`` of the fixed folder and file in ``test_fingerprint_of_fixed_bytes_is_unchanged``.
PINNED_FOLDER, PINNED_FILE = "749946dfd28e9b49f2778a8f", "a34f6ea71ce306de99cfe97a"


def test_model_outputs_are_unchanged(golden, model_outputs):
    values, _ = model_outputs
    expected = {k for k in golden if not k.startswith(("fusion_", "__"))}
    assert set(values) == expected
    for name in sorted(expected):
        np.testing.assert_allclose(values[name], golden[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_cache_keys_are_unchanged(golden, model_outputs, model_folder):
    """Every store namespace keeps its shape, and names its model by that model's content.

    The tiny models are written by the installed transformers, whose ``config.json``
    records its own version: their bytes, hence their fingerprints, change with each
    transformers release, so the recorded keys are compared with the fingerprints
    masked, and each fingerprint is checked against the model it names. The
    fingerprint function itself is pinned on fixed bytes below.
    """
    from zsfuse.models import model_fingerprint

    _, namespaces = model_outputs
    # window-level vectors of fixed-window CLAP models (what the encoder saw: coinciding windows are encoded
    # once) came later: one namespace per model, rate and window, beside the recorded clip-level ones
    windows = {n for n in namespaces if n.startswith("clap-window|")}
    expected = {
        re.sub(r"\|repeats=[^|]*\|pad=[^|]*\|long=[^|]*", "", "clap-window|" + n[len("clap-audio|") :])
        for n in namespaces
        if n.startswith("clap-audio|")
    }
    assert windows == expected and windows
    clip_level = [n for n in namespaces if n not in windows]
    masked = sorted(FINGERPRINT.sub("<content>", n) for n in clip_level)
    assert masked == sorted(FINGERPRINT.sub("<content>", n) for n in golden["__namespaces__"].tolist())
    models = [p for p in model_folder.rglob("*") if "cache" not in p.relative_to(model_folder).parts]
    fingerprints = {model_fingerprint(p) for p in models}
    for namespace in namespaces:
        named = FINGERPRINT.findall(namespace)
        assert named and set(named) <= fingerprints, namespace


def test_fingerprint_of_fixed_bytes_is_unchanged(tmp_path):
    """The content fingerprint keys every stored embedding: a new algorithm orphans every user's cache."""
    from zsfuse.models import model_fingerprint

    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "wavlm", "hidden_size": 8}')
    (folder / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 3)
    (folder / ".hidden").write_text("ignored")
    assert model_fingerprint(folder) == PINNED_FOLDER
    assert model_fingerprint(folder / "sub" / "weights.bin") == PINNED_FILE


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

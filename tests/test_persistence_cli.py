"""``zsfuse predict`` and saved files: --show, --trust-remote-code, bad files (one line, exit 2)."""

import copy
import json
import zipfile

import numpy as np
import pytest
from _helpers import make_code_shipping_model, run_cli, zip_members
from sklearn.model_selection import GridSearchCV

import zsfuse
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.store import clear_stores
from zsfuse.testing import make_audio_tree

LABELS = ("angry", "happy", "neutral", "sad")

pytestmark = pytest.mark.usefixtures("fresh_store")


def assert_refused(rc, out, err, *needles):
    """Exit 2, one line on stderr, nothing on stdout."""
    assert rc == 2, (rc, out, err)
    assert out == "", out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("zsfuse predict: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, tiny_clap_dir, tiny_wavlm_dir):
    clear_stores()
    records = make_audio_tree(tmp_path_factory.mktemp("audio"), labels=LABELS, n_speakers=2, n_per_class=1)
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    pipe = zsfuse.make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cpu")
    return pipe.fit(X, y), X


def unfitted(**params):
    return zsfuse.make_zsfuse_pipeline(clap="someone/clap", fm="someone/fm", labels=LABELS, device="cpu", **params)


# -- remote code ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, step",
    [
        (lambda: unfitted(fm__trust_remote_code=True), "features__fm"),
        (lambda: unfitted(zs__trust_remote_code="yes"), "features__zs"),
        (
            lambda: GridSearchCV(unfitted(zs__trust_remote_code=True), {"clf__zs_weight": [0.0, 1.0]}),
            "estimator__features__zs",
        ),
    ],
    ids=["fm-true", "zs-string-yes", "nested-in-grid-search"],
)
def test_predict_refuses_a_file_that_grants_remote_code(capsys, tmp_path, make, step):
    path = zsfuse.save(make(), tmp_path / "remote.skops")
    rc, out, err = run_cli(capsys, "predict", path, tmp_path / "clip.wav")
    assert_refused(rc, out, err, path, step, "--trust-remote-code")


def test_predict_never_runs_code_shipped_with_a_model_unless_asked(capsys, fitted, tmp_path, tiny_wavlm_dir):
    pipe, X = fitted
    marker = tmp_path / "marker.txt"
    shipped = make_code_shipping_model(tiny_wavlm_dir, tmp_path / "shipped-model", marker)
    crafted = copy.deepcopy(pipe).set_params(features__fm__model=shipped, features__fm__trust_remote_code="yes")
    path = zsfuse.save(crafted, tmp_path / "crafted.skops")
    rc, out, err = run_cli(capsys, "predict", path, *X[:2])
    assert_refused(rc, out, err, path, "features__fm", shipped, "--trust-remote-code")
    assert not marker.exists()
    rc, out, err = run_cli(capsys, "predict", path, "--show")
    assert rc == 0, err
    assert shipped in out and "features__fm" in out and "'yes'" in out
    assert not marker.exists()
    # the same folder without the permission: transformers uses its own WavLM classes, no shipped code runs
    harmless = copy.deepcopy(pipe).set_params(features__fm__model=shipped)
    path = zsfuse.save(harmless, tmp_path / "harmless.skops")
    rc, out, err = run_cli(capsys, "predict", path, *X[:2], "--json")
    assert rc == 0, err
    assert [r["label"] for r in json.loads(out)] == list(pipe.predict(X[:2]))
    assert not marker.exists()


def test_predict_with_the_opt_in(capsys, fitted, tmp_path):
    pipe, X = fitted
    granted = copy.deepcopy(pipe).set_params(features__fm__trust_remote_code=True)
    path = zsfuse.save(granted, tmp_path / "granted.skops")
    rc, out, err = run_cli(capsys, "predict", path, *X[:2])
    assert_refused(rc, out, err, "--trust-remote-code")
    rc, out, err = run_cli(capsys, "predict", path, *X[:2], "--trust-remote-code", "--json")
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["label"] for r in rows] == list(pipe.predict(X[:2]))


# -- --show --------------------------------------------------------------------------------------------------


def test_predict_show_names_the_models_without_loading_them(capsys, fitted, tmp_path, tiny_clap_dir, tiny_wavlm_dir):
    pipe, _ = fitted
    path = zsfuse.save(pipe, tmp_path / "model.skops")
    clear_model_cache()
    rc, out, err = run_cli(capsys, "predict", path, "--show")
    assert rc == 0, err
    assert cached_models() == []
    for needle in (str(path), tiny_clap_dir, tiny_wavlm_dir, "features__zs", "features__fm", "trust_remote_code"):
        assert needle in out, needle
    rc, out, err = run_cli(capsys, "predict", path, "--show", "--json")
    assert rc == 0, err
    shown = json.loads(out)
    assert [s["model"] for s in shown["steps"]] == [tiny_clap_dir, tiny_wavlm_dir]
    assert cached_models() == []


def test_predict_needs_files_unless_show(capsys, tmp_path):
    path = zsfuse.save(unfitted(), tmp_path / "model.skops")
    rc, out, err = run_cli(capsys, "predict", path)
    assert_refused(rc, out, err, "--show")


# -- bad files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["truncated", "not-a-zip", "zip-without-schema", "empty", "directory", "newer-protocol"]
)
@pytest.mark.parametrize("show", [False, True], ids=["predict", "show"])
def test_predict_a_bad_file(capsys, tmp_path, kind, show):
    good = zsfuse.save(unfitted(), tmp_path / "good.skops")
    data = open(good, "rb").read()
    bad = tmp_path / f"{kind}.skops"
    if kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "not-a-zip":
        bad.write_bytes(b"#!/bin/sh\necho not a model\n")
    elif kind == "zip-without-schema":
        zip_members(bad, {"model.bin": b"\0" * 64})
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "directory":
        bad.mkdir()
    else:
        with zipfile.ZipFile(good) as z:
            schema = json.loads(z.read("schema.json"))
            members = {n: z.read(n) for n in z.namelist()}
        schema["protocol"] = 999
        members["schema.json"] = json.dumps(schema)
        zip_members(bad, members)
    args = ["predict", bad, "--show"] if show else ["predict", bad, tmp_path / "clip.wav"]
    rc, out, err = run_cli(capsys, *args)
    assert_refused(rc, out, err, str(bad))

"""The ``zsfuse`` command line: demo, zero-shot, predict, and one clear line for a bad invocation."""

import json
import subprocess
import sys

import numpy as np
import pytest
from _helpers import assert_one_line_error, run_cli

from zsfuse.cli import main
from zsfuse.testing import speechlike, write_wav

pytestmark = pytest.mark.usefixtures("fresh_store")


# -- bad invocations ------------------------------------------------------------------------------


def test_unknown_dataset(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "evaluate", "--dataset", "nosuchcorpus", "--root", tmp_path)
    assert_one_line_error(rc, err, "nosuchcorpus")


def test_empty_root(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "evaluate", "--dataset", "ravdess", "--root", tmp_path)
    assert_one_line_error(rc, err, str(tmp_path))


def test_a_model_that_cannot_be_found_offline(capsys, manifest, tiny_wavlm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    rc, _, err = run_cli(
        capsys,
        "evaluate",
        "--dataset",
        "manifest",
        "--root",
        manifest,
        "--clap",
        "someone/no-such-clap",
        "--fm",
        tiny_wavlm_dir,
        "--no-cache",
        "--no-progress",
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(rc, err, "someone/no-such-clap")


def test_a_fold_with_a_class_missing_from_training(capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    lines = manifest.read_text().splitlines()
    kept = [line for line in lines[1:] if ",sad," not in line or ",spk0," in line]
    sub = manifest.parent / "manifest-missing-class.csv"
    sub.write_text("\n".join([lines[0], *kept]) + "\n")
    rc, _, err = run_cli(
        capsys,
        "evaluate",
        "--dataset",
        "manifest",
        "--root",
        sub,
        "--clap",
        tiny_clap_dir,
        "--fm",
        tiny_wavlm_dir,
        "--no-cache",
        "--no-progress",
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(rc, err, "sad", "no training clip")


def test_a_bad_grid_file(capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text("{not json")
    rc, _, err = run_cli(
        capsys,
        "evaluate",
        "--dataset",
        "manifest",
        "--root",
        manifest,
        "--grid",
        grid,
        "--clap",
        tiny_clap_dir,
        "--fm",
        tiny_wavlm_dir,
        "--no-cache",
    )
    assert_one_line_error(rc, err, "not valid JSON")


def test_the_dataset_help_lists_the_registry(capsys, monkeypatch):
    from zsfuse.datasets import DATASETS

    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--help"])
    assert info.value.code == 0
    assert ", ".join(DATASETS) in capsys.readouterr().out


def test_the_argument_helpers(monkeypatch, tmp_path):
    from argparse import Namespace

    from zsfuse.cli._args import cache_dir_of, command_line, parse_assignments, split_list

    assert split_list(None) is None and split_list(" a, b,,") == ["a", "b"]
    with pytest.raises(ValueError, match="expected a comma-separated list"):
        split_list(" , ")
    assert parse_assignments(["k=1", "s=x y", "j=[1]"], "--set") == {"k": 1, "s": "x y", "j": [1]}
    with pytest.raises(ValueError, match="--set '=1' must look like KEY=VALUE"):
        parse_assignments(["=1"], "--set")
    monkeypatch.setenv("ZSFUSE_CACHE_DIR", str(tmp_path))
    assert cache_dir_of(Namespace(no_cache=False, cache_dir=None)) == str(tmp_path)
    assert cache_dir_of(Namespace(no_cache=True, cache_dir="x")) is None
    assert command_line(Namespace(argv=["evaluate", "--root", "a b"])) == "zsfuse evaluate --root 'a b'"


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="nosuchcorpus"):
        main(["evaluate", "--dataset", "nosuchcorpus", "--root", str(tmp_path), "--debug"])


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "evaluate" in capsys.readouterr().err


# -- the commands -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_runs_end_to_end(capsys, tmp_path):
    rc, out, err = run_cli(
        capsys, "demo", "--out", tmp_path / "demo", "--speakers", "3", "--clips-per-class", "2", "--no-progress"
    )
    assert rc == 0, err
    assert "not emotion recognition" in err
    for system in ("fm_baseline", "zero_shot", "zs_fuse"):
        assert system in out
    results = json.loads((tmp_path / "demo" / "results" / "results.json").read_text())
    assert len(results["folds"]) == 3
    assert results["dataset"]["n_clips"] == 3 * 4 * 2


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return [write_wav(folder / f"c{i}.wav", speechlike(1.0, 16000, f0=100 + 40 * i, seed=i), 16000) for i in range(3)]


def test_zero_shot_command(capsys, clips, tiny_clap_dir):
    rc, out, err = run_cli(
        capsys,
        "zero-shot",
        *clips,
        "--labels",
        "angry,sad",
        "--model",
        tiny_clap_dir,
        "--device",
        "cpu",
        "--no-cache",
        "--json",
    )
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["file"] for r in rows] == [str(c) for c in clips]
    for r in rows:
        assert set(r["proba"]) == {"angry", "sad"}
        assert abs(sum(r["proba"].values()) - 1) < 1e-5
        assert r["label"] == max(r["proba"], key=r["proba"].get)
    rc, table, _ = run_cli(
        capsys, "zero-shot", *clips, "--labels", "angry,sad", "--model", tiny_clap_dir, "--device", "cpu", "--no-cache"
    )
    assert rc == 0 and "c0.wav" in table and "angry" in table.splitlines()[0]


def test_zero_shot_missing_file(capsys, tiny_clap_dir, tmp_path):
    rc, _, err = run_cli(
        capsys, "zero-shot", tmp_path / "gone.wav", "--labels", "angry,sad", "--model", tiny_clap_dir, "--no-cache"
    )
    assert_one_line_error(rc, err, "gone.wav")


def test_predict_command_matches_the_saved_pipeline(capsys, clips, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    import zsfuse
    from zsfuse.datasets import load_dataset

    ds = load_dataset("manifest", manifest)
    pipe = zsfuse.make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=ds.classes, device="cpu")
    pipe.fit(list(ds.paths), np.asarray(ds.labels))
    zsfuse.save(pipe, tmp_path / "model.skops")
    rc, out, err = run_cli(capsys, "predict", tmp_path / "model.skops", *clips, "--json")
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["label"] for r in rows] == list(pipe.predict(clips))
    np.testing.assert_allclose(
        [[r["proba"][c] for c in pipe.classes_] for r in rows], pipe.predict_proba(clips), atol=1e-6
    )


def test_predict_missing_model(capsys, clips, tmp_path):
    rc, _, err = run_cli(capsys, "predict", tmp_path / "none.skops", *clips)
    assert_one_line_error(rc, err, "none.skops")


def test_module_entry_point_and_version():
    import zsfuse

    done = subprocess.run([sys.executable, "-m", "zsfuse", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"zsfuse {zsfuse.__version__}"

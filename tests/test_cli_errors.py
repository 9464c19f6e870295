"""The command line's promise: every error a user can cause is one line, exit 2, no partial output.

And a cheap mistake fails before anything is encoded: ``evaluate`` checks every grid point and
the models' configurations before the first extraction.
"""

import os

import pytest
from _helpers import assert_one_line_error, run_cli

from zsfuse.models import cached_models, clear_model_cache

pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture(scope="module")
def clip(manifest):
    return str(next((manifest.parent / "angry").glob("*.wav")))


def evaluate(capsys, manifest, out, *extra, clap, fm):
    # progress on: an extraction that started would print "zsfuse: extracting ..." (on stderr)
    return run_cli(
        capsys,
        "evaluate",
        "--dataset",
        "manifest",
        "--root",
        manifest,
        "--clap",
        clap,
        "--fm",
        fm,
        "--no-cache",
        "--out",
        out,
        *extra,
    )


def test_a_speech_model_given_as_clap(capsys, manifest, clip, tiny_wavlm_dir, tmp_path):
    rc, out, err = run_cli(capsys, "zero-shot", clip, "--labels", "angry,sad", "--model", tiny_wavlm_dir, "--no-cache")
    assert_one_line_error(rc, err, tiny_wavlm_dir, "model_type 'wavlm'", "no registered family", "--fm")
    assert out == ""
    rc, _, err = evaluate(capsys, manifest, tmp_path / "out", clap=tiny_wavlm_dir, fm=tiny_wavlm_dir)
    assert_one_line_error(rc, err, "model_type 'wavlm'")
    assert "KeyError" not in err and "were not used" not in err  # no weight report from transformers
    assert not (tmp_path / "out").exists()


def test_a_clap_model_given_as_fm_fails_before_any_extraction(capsys, manifest, tiny_clap_dir, tmp_path):
    clear_model_cache()
    rc, _, err = evaluate(capsys, manifest, tmp_path / "out", clap=tiny_clap_dir, fm=tiny_clap_dir)
    assert_one_line_error(rc, err, "model_type 'clap'", "--clap")
    assert "extracting" not in err
    assert cached_models() == []  # nothing was loaded, let alone encoded
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--set", "layers=99"], "layer 99 is out of range"),
        (["--set", "zs__audio_repeats=0"], "'audio_repeats' parameter of CLAPZeroShotTransformer must be an integer"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--set", "device=cpu"], "--device"),
        (["--set", "clf__zs_weight=-1"], "zs_weight"),
        (["--set", 'zs__templates=["no field"]'], "exactly one empty '{}'"),
    ],
)
def test_bad_fixed_parameters_fail_before_any_extraction(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, extra, needle
):
    clear_model_cache()
    rc, _, err = evaluate(capsys, manifest, tmp_path / "out", *extra, clap=tiny_clap_dir, fm=tiny_wavlm_dir)
    line = assert_one_line_error(rc, err, needle)
    assert "grid point" not in line
    assert "extracting" not in err and cached_models() == []
    assert not (tmp_path / "out").exists()


def test_a_bad_grid_point_is_named_before_any_extraction(capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text('{"zs__audio_repeats": [1, 0], "clf__zs_weight": [0, 0.5]}')
    clear_model_cache()
    rc, _, err = evaluate(capsys, manifest, tmp_path / "out", "--grid", grid, clap=tiny_clap_dir, fm=tiny_wavlm_dir)
    assert_one_line_error(
        rc,
        err,
        "'audio_repeats' parameter of CLAPZeroShotTransformer must be an integer in the "
        "range [1, inf) (not a bool). Got 0 instead.",
        "grid point",
    )
    assert "extracting" not in err and cached_models() == []


@pytest.mark.parametrize(
    "labels, needle",
    [
        ("Angry,angry,sad", "identical prompts"),
        ("angry", "at least 2 classes"),
        ("angry,angry", "repeats a class"),
    ],
)
def test_bad_labels(capsys, clip, tiny_clap_dir, labels, needle):
    rc, out, err = run_cli(capsys, "zero-shot", clip, "--labels", labels, "--model", tiny_clap_dir, "--no-cache")
    assert_one_line_error(rc, err, needle)
    assert out == ""


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: (d / "noise.wav").write_text("not audio") and d / "noise.wav", "could not be decoded"),
        (lambda d: (d / "folder.wav").mkdir() or d / "folder.wav", "is a folder"),
        (lambda d: d / "missing.wav", "no such file"),
    ],
)
def test_bad_audio_files_are_named(capsys, tiny_clap_dir, tmp_path, make, needle):
    path = make(tmp_path)
    rc, out, err = run_cli(capsys, "zero-shot", path, "--labels", "angry,sad", "--model", tiny_clap_dir, "--no-cache")
    assert_one_line_error(rc, err, needle, os.path.basename(str(path)), "clip 0")
    assert out == ""


@pytest.mark.parametrize("command", ["zero-shot", "evaluate"])
@pytest.mark.parametrize("content", [b"\x00garbage" * 500, b"just some text, not a database\n"])
def test_a_corrupt_cache_database(capsys, manifest, clip, tiny_clap_dir, tiny_wavlm_dir, tmp_path, command, content):
    from zsfuse.store import _DB_NAME

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / _DB_NAME).write_bytes(content)
    if command == "zero-shot":
        rc, out, err = run_cli(
            capsys, "zero-shot", clip, "--labels", "angry,sad", "--model", tiny_clap_dir, "--cache-dir", cache
        )
    else:
        rc, out, err = run_cli(
            capsys,
            "evaluate",
            "--dataset",
            "manifest",
            "--root",
            manifest,
            "--clap",
            tiny_clap_dir,
            "--fm",
            tiny_wavlm_dir,
            "--cache-dir",
            cache,
            "--out",
            tmp_path / "out",
        )
        assert "extracting" not in err and not (tmp_path / "out").exists()
    assert_one_line_error(rc, err, str(cache / _DB_NAME), "--no-cache")
    assert out == ""


def test_progress_notes_go_to_stderr_and_stdout_holds_the_results(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    grid = tmp_path / "grid.json"
    grid.write_text('{"clf__zs_weight": [0.0, 1.0]}')
    rc, out, err = evaluate(
        capsys, manifest, tmp_path / "out", "--grid", grid, "--folds", "1", clap=tiny_clap_dir, fm=tiny_wavlm_dir
    )
    assert rc == 0, err
    assert "zsfuse: extracting" in err and "extracting" not in out  # the notes the tests above look for
    assert "zs_fuse" in out

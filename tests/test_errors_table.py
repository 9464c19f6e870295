"""The rows of docs/errors.md that no other test covers, and a check that the table cannot drift.

Every row of the table names the test that shows its behaviour ("Tested by"); the last test here
checks that each of those references points at a test function that exists.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_one_line_error, run_cli

import zsfuse
from zsfuse import (
    CLAPZeroShotTransformer,
    ClipError,
    FMEmbeddingTransformer,
    LateFusionClassifier,
    ModelKindError,
    ModelNotFoundError,
    make_zsfuse_pipeline,
)
from zsfuse.audio import Clips
from zsfuse.cli import main
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.testing import speechlike, write_wav

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "docs" / "errors.md"
LABELS = ("angry", "happy", "neutral", "sad")
RATE = 16000

pytestmark = pytest.mark.usefixtures("fresh_store")


# -- audio clips and X -------------------------------------------------------------------------------------


def test_a_channels_first_stereo_array_given_as_x_is_read_as_two_clips():
    # (2, n) is also the shape of two equal-length clips, which is how X reads it; [X] is one stereo clip
    stereo = np.stack([speechlike(1.0, RATE), speechlike(1.0, RATE, seed=1)])  # (2, 16000)
    assert len(Clips(stereo, sampling_rate=RATE)) == 2
    one = Clips([stereo], sampling_rate=RATE)
    assert len(one) == 1 and one[0].wave.shape == (RATE,)


def test_a_wav_file_cut_short_decodes_the_frames_it_holds(tmp_path):
    path = write_wav(tmp_path / "whole.wav", speechlike(1.0, RATE), RATE)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(Path(path).read_bytes()[:2044])  # 44-byte header + 1000 PCM_16 frames
    clip = Clips([cut])[0]
    assert clip.wave.shape == (1000,) and clip.rate == RATE


@pytest.mark.parametrize(
    "item, needle",
    [
        (np.ones(100, np.complex64), "dtype complex64"),
        (np.ones(100, bool), "dtype bool"),
        (None, "NoneType"),
    ],
)
def test_complex_bool_or_none_clips_are_named(item, needle):
    with pytest.raises(ClipError, match=rf"clip 1: .*{needle}.*float or integer samples"):
        Clips([np.zeros(100, np.float32), item], sampling_rate=RATE)


def test_a_folder_as_a_clip_is_named_when_x_is_read(tmp_path):
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    with pytest.raises(ClipError, match=r"clip 0 \('.*folder\.wav'\): is a folder, not an audio file"):
        Clips([folder])  # the structure check, before anything is decoded (and before any model loads in fit)


@pytest.mark.parametrize(
    "make_x, match",
    [
        (lambda pd: pd.DataFrame({"a": [np.zeros(10)], "b": [np.zeros(10)]}), "DataFrame with 2 columns"),
        (lambda pd: (w for w in [np.zeros(10)]), "got generator"),
    ],
)
def test_x_that_is_a_two_column_dataframe_or_a_generator(make_x, match):
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=match):
        Clips(make_x(pd), sampling_rate=RATE)


def test_a_10_ms_clip_is_padded_by_the_zero_shot_transformer(tiny_clap_dir):
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu", sampling_rate=RATE).fit()
    scores = zs.transform([speechlike(0.01, RATE)])
    assert scores.shape == (1, 4) and np.isfinite(scores).all()


# -- labels and prompts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, match",
    [
        (("angry", "angry", "sad"), r"labels must be distinct, got \['angry', 'angry', 'sad'\]"),
        ((), r"at least 2 classes, got \[\]"),
        ("angry", r"at least 2 classes, got \['angry'\]"),
        (None, "the classes are unknown"),
        (("a", 1), "mutually sortable"),
    ],
)
def test_bad_label_sets_fail_before_any_model_loads(tiny_clap_dir, labels, match):
    clear_model_cache()
    with pytest.raises(ValueError, match=match):
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=labels, device="cpu").fit()
    assert cached_models() == []


def test_a_template_string_is_one_template(tiny_clap_dir):
    zs = CLAPZeroShotTransformer(
        model=tiny_clap_dir, labels=("angry", "sad"), templates="a {} voice", device="cpu"
    ).fit()
    assert zs.prompts_ == [["a angry voice"], ["a sad voice"]]


def test_an_empty_label_is_refused(tiny_clap_dir):
    for labels in (("angry", ""), ("angry", "  ")):
        with pytest.raises(ValueError, match="must not be empty or blank"):
            CLAPZeroShotTransformer(model=tiny_clap_dir, labels=labels, device="cpu").fit()
    with pytest.raises(ValueError, match="non-empty string"):
        CLAPZeroShotTransformer(
            model=tiny_clap_dir, labels=("angry", "sad"), label_words={"angry": "angry", "sad": ""}, device="cpu"
        ).fit()


# -- models ------------------------------------------------------------------------------------------------


def test_model_paths_that_are_missing_files_or_empty_folders(tmp_path, tiny_wavlm_dir):
    clear_model_cache()
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelNotFoundError, match="no-such-model' looks like a path, but no such folder or file"):
        CLAPZeroShotTransformer(model=missing, labels=LABELS).fit()
    with pytest.raises(ModelNotFoundError, match="looks like a path but no such folder exists"):
        FMEmbeddingTransformer(model=missing).fit()
    config = os.path.join(tiny_wavlm_dir, "config.json")
    with pytest.raises(ModelNotFoundError, match="is a file; pass the folder holding config.json"):
        FMEmbeddingTransformer(model=config).fit()
    with pytest.raises(ModelKindError, match="holds a file that is not a torch checkpoint.*no registered family"):
        CLAPZeroShotTransformer(model=config, labels=LABELS).fit()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelKindError, match="holds no config.json with a model_type"):
        FMEmbeddingTransformer(model=str(empty)).fit()
    assert cached_models() == []


def test_msclap_only_parameters_with_a_transformers_clap(tiny_clap_dir):
    clear_model_cache()
    for params in (dict(version="2023"), dict(text_model="gpt2")):
        with pytest.raises(ValueError, match="version and text_model apply to MS-CLAP models only"):
            CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cpu", **params).fit()
    assert cached_models() == []


def test_device_cuda_without_a_gpu_fails_before_any_model_loads(tiny_clap_dir, tiny_wavlm_dir):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    clear_model_cache()
    steps = [
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, device="cuda"),
        FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cuda"),
    ]
    for step in steps:
        with pytest.raises(ValueError, match="device='cuda' but CUDA is not available here"):
            step.fit()
    pipe = make_zsfuse_pipeline(clap=tiny_clap_dir, fm=tiny_wavlm_dir, labels=LABELS, device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        pipe.fit([speechlike(1.0, RATE)] * 2, ["angry", "sad"])
    assert cached_models() == []


def test_the_fm_transformer_takes_only_true_or_false_as_trust_remote_code(tiny_wavlm_dir):
    with pytest.raises(
        ValueError,
        match=r"The 'trust_remote_code' parameter of FMEmbeddingTransformer must be an instance of 'bool'"
        r".*Got 'yes' instead",
    ):
        FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu", trust_remote_code="yes").fit()


# -- fitting and the classifier ----------------------------------------------------------------------------


def test_y_must_be_one_label_per_clip_before_any_model_loads(tiny_clap_dir, tiny_wavlm_dir):
    clear_model_cache()
    X = [speechlike(1.0, RATE)] * 2
    for step in (
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS, sampling_rate=RATE),
        FMEmbeddingTransformer(model=tiny_wavlm_dir, sampling_rate=RATE),
    ):
        with pytest.raises(ValueError, match=r"y must be 1-D \(one label per clip\), got shape \(2, 1\)"):
            step.fit(X, [["sad"], ["happy"]])
    with pytest.raises(ValueError, match=r"y holds 0 class\(es\)"):
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=LABELS).fit([], [])
    assert cached_models() == []


# -- saved files --------------------------------------------------------------------------------------------


def test_predict_with_a_saved_classifier_alone_is_one_line(capsys, tmp_path):
    rng = np.random.default_rng(0)
    clf = LateFusionClassifier(zs_labels=("a", "b", "c")).fit(rng.normal(size=(30, 6)), np.array(list("abc") * 10))
    path = zsfuse.save(clf, tmp_path / "clf.skops")
    clip = write_wav(tmp_path / "clip.wav", speechlike(1.0, RATE), RATE)
    rc, out, err = run_cli(capsys, "predict", path, clip)
    assert_one_line_error(rc, err, "without an audio step", "feature tables")
    assert out == ""


# -- the command line ----------------------------------------------------------------------------------------


def test_a_missing_required_option_prints_the_usage_and_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--dataset", "ravdess"])
    assert info.value.code == 2
    assert "the following arguments are required: --root" in capsys.readouterr().err


def test_ctrl_c_in_a_command_exits_130_with_a_resume_hint(capsys, monkeypatch, tmp_path):
    import zsfuse.cli._score as score

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(score, "run_zero_shot", interrupted)
    rc, out, err = run_cli(capsys, "zero-shot", tmp_path / "a.wav", "--labels", "angry,sad")
    assert rc == 130 and out == ""
    assert "interrupted. Run the same command again to resume" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("grid.toml", "x = [1,\n", "is not valid TOML"),
        ("grid.json", "[1, 2]", "must hold an object of parameter -> list of values"),
        ("grid.json", "{}", "non-empty mapping"),
        ("grid.json", '{"zs__audio_repeats": 2}', "must be a non-empty list of values"),
        ("grid.json", '{"zs__nosuch": [1]}', "which the pipeline does not have"),
        ("absent.json", None, "does not exist"),
    ],
)
def test_bad_grid_files_fail_before_any_extraction(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, name, content, needle
):
    grid = tmp_path / name
    if content is not None:
        grid.write_text(content)
    clear_model_cache()
    rc, out, err = run_cli(
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
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(rc, err, needle)
    # with progress on, extraction would print "zsfuse: extracting ..." (on stdout)
    assert "extracting" not in out + err and cached_models() == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--classes", "angry", "--no-cache"], "at least 2 classes"),
        (["--folds", "9", "--no-cache"], "unknown fold '9'"),
        (["--set", "layers", "--no-cache"], "must look like KEY=VALUE"),
        (["--set", "nosuch=1", "--no-cache"], "has a parameter 'nosuch'"),
    ],
)
def test_bad_evaluate_options_fail_before_any_extraction(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, extra, needle
):
    clear_model_cache()
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
        "--out",
        tmp_path / "out",
        *extra,
    )
    assert_one_line_error(rc, err, needle)
    assert "extracting" not in out + err and cached_models() == []
    assert not (tmp_path / "out").exists()


def test_inner_folds_1_is_refused_before_any_extraction(capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text('{"clf__zs_weight": [0.0, 1.0]}')
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
        "--grid",
        grid,
        "--inner-folds",
        "1",
        "--no-cache",
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(rc, err, "--inner-folds", "at least 2")
    assert "extracting" not in out + err
    assert not (tmp_path / "out").exists()


# -- the table cannot drift from the suite ----------------------------------------------------------------------


_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)(?:\[[^\]]*\])?")


def _table_rows(text):
    """``(line number, cells)`` of every data row of a table whose header has a "Tested by" column."""
    rows, column = [], None
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if column is None:
            column = cells.index("Tested by") if "Tested by" in cells else -1
            continue
        if column < 0 or set(stripped) <= set("|-: "):
            continue
        rows.append((number, cells, column))
    return rows


def test_every_tested_by_reference_names_an_existing_test():
    rows = _table_rows(TABLE.read_text(encoding="utf-8"))
    assert len(rows) >= 35, f"docs/errors.md has {len(rows)} rows"
    sources = {}
    problems = []
    for number, cells, column in rows:
        if len(cells) <= column:
            problems.append(f"line {number}: no 'Tested by' cell")
            continue
        refs = _REFERENCE.findall(cells[column])
        if not refs:
            problems.append(f"line {number}: the 'Tested by' cell names no test: {cells[column]!r}")
        for file, name in refs:
            path = REPO / file
            if file not in sources:
                sources[file] = path.read_text(encoding="utf-8") if path.is_file() else None
            if sources[file] is None:
                problems.append(f"line {number}: {file} does not exist")
            elif not re.search(rf"^\s*def {name}\(", sources[file], re.MULTILINE):
                problems.append(f"line {number}: {file} has no test function {name}")
    assert not problems, "\n".join(problems)

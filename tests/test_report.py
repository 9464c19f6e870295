"""Metrics, summaries and report files of ``zsfuse evaluate`` (plain data, no audio, no models)."""

import csv
import json
import os
import platform
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from zsfuse.evaluation._environment import PACKAGES, environment_info
from zsfuse.evaluation._metrics import METRIC_NAMES, METRICS, fold_metrics, summarize
from zsfuse.evaluation._references import REFERENCES, references_for
from zsfuse.evaluation._report import build_summary, format_table, load_results, write_reports
from zsfuse.exceptions import MissingDependencyError

SYSTEMS = ["fm_baseline", "zero_shot", "zs_fuse"]
CLASSES = ["ang", "hap", "neu", "sad"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_results(n_folds=3, seed=0, systems=SYSTEMS):
    """A results dict as the runner builds it, from random predictions of known accuracy."""
    rng = np.random.default_rng(seed)
    folds = []
    for k in range(n_folds):
        y = rng.choice(CLASSES, 60, p=[0.2, 0.3, 0.4, 0.1])
        metrics = {}
        for system, accuracy in zip(systems, (0.7, 0.45, 0.8)):
            pred = np.where(rng.random(60) < accuracy, y, rng.choice(CLASSES, 60))
            metrics[system] = fold_metrics(y, pred, CLASSES)
        folds.append(
            {
                "fold": f"fold_{k + 1}",
                "n_train": 120,
                "n_test": 60,
                "test_speakers": [f"s{k}a", f"s{k}b"],
                "best_params": {"zs_weight": 0.5, "fusion": "concat"} if k else {},
                "systems": metrics,
            }
        )
    return {
        "zsfuse_version": "0.1.0.dev0",
        "created": "2025-06-01T12:00:00+00:00",
        "elapsed_s": 12.5,
        "dataset": {
            "name": "toyset",
            "root": "data/toyset",
            "protocol": "emobox",
            "n_clips": 180,
            "n_speakers": 6,
            "classes": CLASSES,
            "class_counts": {c: 45 for c in CLASSES},
        },
        "config": {"command": ["zsfuse", "evaluate", "toyset", "--out", "runs/toy"], "grid": {"zs_weight": [0, 1]}},
        "models": {"clap": {"model": "tiny-clap", "revision": None, "fingerprint": "abc123"}},
        "environment": {"python": "3.11.0", "numpy": "2.0"},
        "systems": list(systems),
        "folds": folds,
    }


def mean_std(values):
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values, ddof=1):.1f}"


# ---------------------------------------------------------------------------- fold_metrics
def test_fold_metrics_imbalanced_by_hand():
    # 8 "a" all right, 2 "b" one right: WA 9/10, UA (8/8 + 1/2) / 2
    y_true = ["a"] * 8 + ["b"] * 2
    y_pred = ["a"] * 8 + ["a", "b"]
    m = fold_metrics(y_true, y_pred, ["a", "b"])
    assert m["wa"] == pytest.approx(0.9)
    assert m["ua"] == pytest.approx(0.75)
    # F1(a) = 2*8 / (2*8 + 1 + 0) = 16/17, F1(b) = 2*1 / (2*1 + 0 + 1) = 2/3
    assert m["macro_f1"] == pytest.approx((16 / 17 + 2 / 3) / 2)
    assert m["confusion"] == [[8, 0], [1, 1]]
    assert m["n"] == 10
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert m["wa"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_fold_metrics_types_are_plain_python():
    m = fold_metrics(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), np.array([0, 1, 2]))
    assert set(m) == {"ua", "wa", "macro_f1", "confusion", "n"}
    assert all(type(m[k]) is float for k in METRICS)
    assert type(m["n"]) is int
    assert all(type(v) is int for row in m["confusion"] for v in row)
    assert json.loads(json.dumps(m)) == m


def test_confusion_follows_the_order_of_classes():
    m = fold_metrics(["a"] * 8 + ["b"] * 2, ["a"] * 9 + ["b"], classes=["b", "a"])
    assert m["confusion"] == [[1, 1], [0, 8]]  # rows true b, a; columns predicted b, a
    assert m["ua"] == pytest.approx(0.75)


def test_class_absent_from_the_fold():
    y_true, y_pred = ["a", "a", "b", "b"], ["a", "c", "b", "b"]
    m = fold_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["confusion"] == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]
    # UA: recall of the classes present in y_true only, (1/2 + 2/2) / 2, as scikit-learn's
    assert m["ua"] == pytest.approx(0.75)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    # Macro-F1 over all classes: F1(a) = 2/3, F1(b) = 1, F1(c) = 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # a class in neither y_true nor y_pred counts as an F1 of 0 (labels=classes, zero_division=0)
    m4 = fold_metrics(y_true, y_pred, ["a", "b", "c", "d"])
    assert m4["macro_f1"] == pytest.approx((2 / 3 + 1) / 4)
    assert m4["ua"] == m["ua"]


@pytest.mark.parametrize(
    "y_true, y_pred, classes, match",
    [
        (["a", "b"], ["a"], ["a", "b"], "differ in length"),
        ([], [], ["a", "b"], "empty"),
        (["a", "b"], ["a", "b"], [], "classes is empty"),
        (["a", "b"], ["a", "b"], ["a", "b", "a"], "repeats 'a'"),
        (["a", "b"], ["a", "x"], ["a", "b"], r"y_pred has labels that are not in classes \['a', 'b'\]: 'x'"),
        (["a", "z"], ["a", "b"], ["a", "b"], "y_true has labels .*'z'"),
        ([["a"], ["b"]], ["a", "b"], ["a", "b"], "one-dimensional"),
    ],
)
def test_fold_metrics_rejects_bad_input(y_true, y_pred, classes, match):
    with pytest.raises(ValueError, match=match):
        fold_metrics(y_true, y_pred, classes)


def test_unknown_predictions_are_all_named():
    with pytest.raises(ValueError, match="'x', 'y'") as info:
        fold_metrics(["a", "a", "b"], ["y", "x", "y"], ["a", "b"])
    assert "'a'" not in str(info.value).split(":")[-1]


def test_metric_names():
    assert METRICS == ("ua", "wa", "macro_f1")
    assert METRIC_NAMES == {"ua": "UA", "wa": "WA", "macro_f1": "Macro-F1"}


# ---------------------------------------------------------------------------- summarize
def fold(ua, wa=0.5, f1=0.5, confusion=((1, 0), (0, 1)), n=2):
    return {"ua": ua, "wa": wa, "macro_f1": f1, "confusion": [list(r) for r in confusion], "n": n}


def test_summarize_uses_the_sample_std():
    s = summarize([fold(0.5), fold(0.7), fold(0.9)])
    assert s["ua"]["mean"] == pytest.approx(0.7)
    # deviations -0.2, 0, 0.2: sample variance 0.08 / 2 = 0.04 -> 0.2 (the population std is 0.163)
    assert s["ua"]["std"] == pytest.approx(0.2)
    assert s["ua"]["std"] == pytest.approx(np.std([0.5, 0.7, 0.9], ddof=1))
    assert s["ua"]["std"] != pytest.approx(np.std([0.5, 0.7, 0.9]))
    assert (s["ua"]["min"], s["ua"]["max"]) == (0.5, 0.9)
    assert s["wa"] == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert all(type(v) is float for m in METRICS for v in s[m].values())


def test_summarize_one_fold_has_zero_std():
    s = summarize([fold(0.8)])
    assert s["ua"] == {"mean": 0.8, "std": 0.0, "min": 0.8, "max": 0.8}
    assert s["n_folds"] == 1


def test_summarize_pools_the_confusion_matrices():
    s = summarize([fold(0.5, confusion=[[1, 2], [3, 4]], n=10), fold(0.5, confusion=[[5, 0], [0, 5]], n=10)])
    assert s["confusion"] == [[6, 2], [3, 9]]
    assert all(type(v) is int for row in s["confusion"] for v in row)
    assert s["n"] == 20 and s["n_folds"] == 2
    json.dumps(s)


def test_summarize_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one fold"):
        summarize([])
    with pytest.raises(ValueError, match="differ in shape"):
        summarize([fold(0.5), fold(0.5, confusion=[[1, 0, 0], [0, 1, 0], [0, 0, 1]])])


# ---------------------------------------------------------------------------- build_summary, format_table
def test_build_summary_per_system():
    results = make_results()
    summary = build_summary(results)
    assert list(summary) == SYSTEMS
    for system in SYSTEMS:
        uas = [f["systems"][system]["ua"] for f in results["folds"]]
        assert summary[system]["ua"]["mean"] == pytest.approx(np.mean(uas))
        assert summary[system]["n"] == 180
    assert "summary" not in results  # not modified


def test_build_summary_rejects_missing_metrics():
    results = make_results()
    del results["folds"][1]["systems"]["zero_shot"]
    with pytest.raises(ValueError, match="fold 'fold_2' has no metrics for system 'zero_shot'"):
        build_summary(results)
    with pytest.raises(ValueError, match="no folds"):
        build_summary({"systems": SYSTEMS, "folds": []})


def test_format_table_hand_made():
    results = {
        "systems": ["fm_baseline", "zs_fuse"],
        "folds": [
            {"fold": "fold_1", "n_test": 100, "systems": {"fm_baseline": fold(0.675), "zs_fuse": fold(0.712)}},
            {"fold": "fold_2", "n_test": 90, "systems": {"fm_baseline": fold(0.715), "zs_fuse": fold(0.736)}},
        ],
    }
    table = format_table(results)
    assert "67.5" in table and "71.5" in table and "73.6" in table
    assert "69.5 ± 2.8" in table  # mean 0.695, sample std 0.04 / sqrt(2)
    assert "72.4 ± 1.7" in table
    assert "50.0 ± 0.0" in table  # WA and Macro-F1 of the summary


def test_format_table_content_and_width():
    results = make_results()
    summary = build_summary(results)
    table = format_table(results)
    lines = table.splitlines()
    assert lines[0].startswith("toyset (emobox): 3 folds, 180 clips, 6 speakers, 4 classes")
    assert max(map(len, lines)) < 100
    for system in SYSTEMS:
        assert system in table
        for metric in METRICS:
            assert mean_std([f["systems"][system][metric] for f in results["folds"]]) in table
        assert f"{100 * summary[system]['ua']['mean']:.1f} ± {100 * summary[system]['ua']['std']:.1f}" in table
    for f in results["folds"]:
        assert f["fold"] in table
    assert "mean ± std" in table
    header = next(line for line in lines if line.startswith("system"))
    assert header.index("UA") < header.index("WA") < header.index("Macro-F1")  # UA first, the headline
    short = format_table(results, per_fold=False)
    assert "fold_1" not in short and all(s in short for s in SYSTEMS)
    assert "UA" in short and "mean ± std over 3 folds" in short


def test_format_table_minimal_results():
    results = {"folds": [{"systems": {"fm_baseline": fold(0.5)}}]}
    table = format_table(results)
    assert "fold_1" in table and "50.0 ± 0.0" in table and "1 fold" in table


# ---------------------------------------------------------------------------- write_reports, load_results
@pytest.fixture(scope="module")
def written(tmp_path_factory):
    results = make_results()
    out = tmp_path_factory.mktemp("report") / "nested" / "out"
    paths = write_reports(results, out)
    return results, out, paths


def test_write_reports_files(written):
    results, out, paths = written
    names = ["results.json", "results.csv", "report.md", *(f"confusion_{s}.png" for s in SYSTEMS)]
    assert [p.name for p in paths] == names
    assert all(p.parent == out and p.is_file() for p in paths)
    assert sorted(os.listdir(out)) == sorted(names)  # no temporary file left behind
    assert "summary" not in results  # not modified


def test_results_json_round_trip(written):
    results, out, _ = written
    loaded = load_results(out / "results.json")
    assert load_results(out) == loaded
    assert loaded["summary"] == build_summary(results)
    assert {k: v for k, v in loaded.items() if k != "summary"} == json.loads(json.dumps(results))


def test_results_csv(written):
    results, out, _ = written
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["fold", "system", "metric", "value"]
    assert len(rows) == (3 + 2) * len(SYSTEMS) * len(METRICS)
    summary = build_summary(results)
    by_key = {(r["fold"], r["system"], r["metric"]): float(r["value"]) for r in rows}
    for f in results["folds"]:
        for s in SYSTEMS:
            for m in METRICS:
                assert by_key[f["fold"], s, m] == f["systems"][s][m]
    for s in SYSTEMS:
        for m in METRICS:
            assert by_key["mean", s, m] == summary[s][m]["mean"]
            assert by_key["std", s, m] == summary[s][m]["std"]


def test_report_markdown(written):
    results, out, _ = written
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# zsfuse evaluation: toyset (emobox protocol), 2025-06-01\n")
    assert "| System | UA | WA | Macro-F1 |" in md
    for s in SYSTEMS:
        assert mean_std([f["systems"][s]["ua"] for f in results["folds"]]) in md
        assert f"### {s}" in md and f"(confusion_{s}.png)" in md
    assert "| Fold | n_train | n_test | Test speakers | fm_baseline | zero_shot | zs_fuse |" in md
    # the baseline's choice (none recorded in these results) beside ZS-Fuse's
    assert '| fold_2 | (none) | (none) | `zs_weight=0.5`, `fusion="concat"` |' in md
    assert "| fold_1 | (none) | (none) | (none) |" in md
    pooled = build_summary(results)["zs_fuse"]["confusion"]
    assert f"| **ang** | {' | '.join(map(str, pooled[0]))} |" in md
    assert "zsfuse evaluate toyset --out runs/toy" in md
    assert "```json" in md and '"fingerprint": "abc123"' in md
    assert "sample one (ddof=1" in md


def test_confusion_pngs(written):
    from matplotlib.image import imread

    _, out, _ = written
    for s in SYSTEMS:
        path = out / f"confusion_{s}.png"
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200


def test_write_reports_replaces_and_never_half_writes(tmp_path, monkeypatch):
    results = make_results(n_folds=2, systems=["zs_fuse"])  # one figure: faster
    write_reports(results, tmp_path)
    before = (tmp_path / "results.json").read_bytes()

    bad = make_results(n_folds=2, seed=1, systems=["zs_fuse"])
    bad["config"]["oops"] = object()
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_reports(bad, tmp_path)
    assert (tmp_path / "results.json").read_bytes() == before

    import zsfuse.evaluation._atomic as atomic

    def crash(fd):
        raise OSError("disk died")

    monkeypatch.setattr(atomic.os, "fsync", crash)  # the write fails after the data went out
    with pytest.raises(OSError, match="disk died"):
        write_reports(make_results(n_folds=2, seed=2, systems=["zs_fuse"]), tmp_path)
    assert (tmp_path / "results.json").read_bytes() == before
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    monkeypatch.undo()

    write_reports(make_results(n_folds=3, seed=3, systems=["zs_fuse"]), tmp_path)  # replaces the files
    assert len(load_results(tmp_path)["folds"]) == 3


def test_write_reports_converts_numpy_values(tmp_path):
    results = make_results(n_folds=1, systems=["zs_fuse"])
    results["elapsed_s"] = np.float64(3.5)
    results["dataset"]["n_clips"] = np.int64(60)
    results["config"]["weights"] = np.array([0.0, 0.5])
    write_reports(results, tmp_path)
    loaded = load_results(tmp_path)
    assert loaded["elapsed_s"] == 3.5 and loaded["dataset"]["n_clips"] == 60
    assert loaded["config"]["weights"] == [0.0, 0.5]


def test_write_reports_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.raises(MissingDependencyError, match="pip install matplotlib"):
        write_reports(make_results(n_folds=1), tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["report.md", "results.csv", "results.json"]


def test_load_results_rejects_other_files(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "b.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a zsfuse results file"):
        load_results(tmp_path / "a.json")
    with pytest.raises(ValueError, match="not a JSON file"):
        load_results(tmp_path / "b.json")
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path / "missing")


def test_one_json_conversion_for_records_and_reports():
    from pathlib import PurePosixPath

    from zsfuse._json import json_default, jsonable

    record = {
        "a": (np.int64(1), np.float32(0.5)),
        2: np.array([[1, 2]]),
        "b": np.True_,
        "p": PurePosixPath("x"),
        "o": None,
    }
    assert jsonable(record) == {"a": [1, 0.5], "2": [[1, 2]], "b": True, "p": "PurePosixPath('x')", "o": None}
    assert type(jsonable(np.int64(3))) is int and jsonable(object) == repr(object)
    report = {"p": PurePosixPath("x"), "s": {3, 1}, "n": np.int64(2), "a": np.arange(2), "f": np.float64(0.25)}
    assert json.loads(json.dumps(report, default=json_default)) == {
        "p": "x",
        "s": [1, 3],
        "n": 2,
        "a": [0, 1],
        "f": 0.25,
    }
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json_default(object())


# ---------------------------------------------------------------------------- references
def _references_section(tmp_path, results):
    write_reports(results, tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    head, _, section = md.partition("\n## References\n")
    assert section and "\n## " not in section  # the last section
    assert "## Environment" not in section and "### Environment" in head
    return section


def test_report_cites_msclap_wavlm_and_emobox(tmp_path):
    results = make_results(n_folds=1, systems=["zs_fuse"])
    results["models"] = {
        "clap": {"model": "msclap-2023", "revision": None, "fingerprint": "msclap-2023:ab12:text=cd34"},
        "fm": {
            "model": "microsoft/wavlm-large",
            "revision": None,
            "fingerprint": "wavlm:models:microsoft/wavlm-large@0123abcd",
        },
    }
    results["dataset"].update(name="emobox", info={"emobox_dataset": "iemocap"})
    section = _references_section(tmp_path, results)
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(lines) == 6
    assert lines[0].startswith("- zsfuse: ") and "CITATION.cff" in lines[0]
    assert lines[1].startswith("- ZS-Fuse: Prompt Amplification and Zero-Shot Late Fusion in Audio-Language Models")
    assert lines[2].startswith("- CLAP model `msclap-2023` (MS-CLAP 2023): B. Elizalde")
    assert "Natural Language Supervision for General-Purpose Audio Representations" in lines[2]
    assert lines[3].startswith("- speech foundation model `microsoft/wavlm-large` (WavLM): S. Chen")
    assert "IEEE Journal of Selected Topics in Signal Processing" in lines[3]
    assert lines[4].startswith("- corpus `emobox` (EmoBox): Z. Ma") and "Interspeech 2024" in lines[4]
    assert lines[5].startswith("- corpus `iemocap` (IEMOCAP): C. Busso")
    assert "own paper" not in section


def test_report_cites_unknown_local_models_and_corpus_as_their_own(tmp_path):
    results = make_results(n_folds=1, systems=["zs_fuse"])
    results["models"] = {
        "clap": {"model": "/data/models/my-clap", "revision": None, "fingerprint": "0123456789abcdef01234567"},
        "fm": {"model": "/data/models/my-encoder", "revision": None, "fingerprint": "unispeech-sat:0123456789ab"},
    }
    results["dataset"].update(name="manifest", info={})
    section = _references_section(tmp_path, results)
    assert "- CLAP model `/data/models/my-clap`: not a model zsfuse knows: cite the model's own paper." in section
    assert (
        "- speech foundation model `/data/models/my-encoder`: not a model zsfuse knows: cite the model's own paper."
    ) in section
    assert "- corpus `manifest`: not a corpus zsfuse knows: cite the corpus's own paper." in section
    assert "Prompt Amplification" in section  # zsfuse and the paper are always cited
    for reference in REFERENCES:
        if reference.kind in ("clap", "fm", "corpus"):
            assert reference.citation not in section


@pytest.mark.parametrize(
    ("role", "model", "fingerprint", "name"),
    [
        ("clap", "msclap-2022", None, "MS-CLAP 2022"),
        ("clap", "/ckpt/CLAP_weights_2022.pth", "msclap-2022:ab:text=cd", "MS-CLAP 2022"),
        ("clap", "laion/clap-htsat-unfused", "hf-clap:models:laion/clap-htsat-unfused@0a1b", "LAION-CLAP"),
        ("clap", "/models/clap-folder", "hf-clap:0123abcd", "LAION-CLAP"),  # a transformers ClapModel
        ("clap", "/models/630k-audioset-best.pt", "laion-ckpt:ab:tok=cd", "LAION-CLAP"),  # LAION's training code
        ("clap", "reclap:/models/reclap_base.pt", "laion-ckpt:ab:tok=cd", "ReCLAP"),  # same family, named ReCLAP
        ("clap", "yfyeung/CLSP", "clsp:models:yfyeung/CLSP@0a1b", "CLSP"),
        ("clap", "/models/best.pth.tar", "paraclap:ab:audio=cd:text=ef", "ParaCLAP"),
        ("fm", "facebook/hubert-large-ll60k", None, "HuBERT"),
        ("fm", "facebook/wav2vec2-base", "wav2vec2:models:facebook/wav2vec2-base@ff", "wav2vec 2.0"),
        ("fm", "facebook/data2vec-audio-base", "data2vec-audio:0a1b", "data2vec"),
        ("fm", "openai/whisper-small", "whisper:0a1b", "Whisper"),
        ("fm", "/models/wavlm-copy", "hubert:0a1b", "HuBERT"),  # the fingerprint's model_type wins over the path
    ],
)
def test_reference_matching_rules(role, model, fingerprint, name):
    results = {"models": {role: {"model": model, "fingerprint": fingerprint}}}
    lines = references_for(results)
    assert len(lines) == 3
    what, citation = lines[2]
    assert what.endswith(f"`{model}` ({name})")
    assert citation == next(r.citation for r in REFERENCES if r.name == name)


def test_every_named_corpus_has_a_reference():
    from zsfuse.datasets import DATASETS

    for name in DATASETS:
        ((_, citation),) = references_for({"dataset": {"name": name}})[2:]
        if name in ("manifest", "folders"):  # the user's own corpus
            assert "own paper" in citation
        else:
            assert "own paper" not in citation, name
    assert len({r.key for r in REFERENCES}) == len(REFERENCES)
    assert all(r.citation.endswith(".") for r in REFERENCES)


def test_importing_the_report_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "import zsfuse.evaluation._report, zsfuse.evaluation._metrics, zsfuse.evaluation._environment\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------------------- environment_info
def test_environment_info():
    msclap_loaded_before = "msclap" in sys.modules
    info = environment_info()
    assert json.loads(json.dumps(info)) == info
    assert info["python"] == platform.python_version()
    import zsfuse

    assert info["zsfuse"] == zsfuse.__version__
    assert info["numpy"] == np.__version__
    assert set(PACKAGES) <= set(info)
    assert {"platform", "torch_cuda", "cuda_available", "cuda_device"} <= set(info)
    assert isinstance(info["cuda_available"], bool)
    if not msclap_loaded_before:
        assert "msclap" not in sys.modules  # its version comes from the metadata
    text = json.dumps(info)
    node = platform.node()
    if len(node) >= 4:
        assert node not in text
    home = os.path.expanduser("~")
    if len(home) >= 4:
        assert home not in text
    assert sys.prefix not in text


def test_environment_info_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    info = environment_info()
    assert (info["torch_cuda"], info["cuda_available"], info["cuda_device"]) == (None, False, None)

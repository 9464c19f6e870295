"""``zsfuse report``: reports and figures rebuilt from results alone; several runs side by side."""

import json

import numpy as np
import pytest
from _helpers import run_cli

from zsfuse.evaluation import EvaluationError, rebuild_reports, write_reports

pytestmark = pytest.mark.usefixtures("fresh_store")

SYSTEMS = ["fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse"]


def results_of(name, seed, speaker_independent=True):
    """A results dict as evaluate writes it (two folds, two classes), made without a model."""
    rng = np.random.default_rng(seed)
    folds = []
    for k in (1, 2):
        systems = {}
        for s in SYSTEMS:
            ua = float(rng.uniform(0.4, 0.9))
            systems[s] = {"ua": ua, "wa": ua, "macro_f1": ua, "n": 10, "confusion": [[4, 1], [2, 3]]}
        folds.append({"fold": f"fold_{k}", "n_train": 20, "n_test": 10, "systems": systems})
    curve = {"confidence": [0.55, 0.95], "accuracy": [0.5, 0.7], "count": [8, 12], "n": 20, "n_bins": 15}
    calibration = {
        s: {"ece": 0.1, "classwise_ece": 0.08, "nll": 0.6, "brier": 0.4, "n": 20, "reliability": curve} for s in SYSTEMS
    }
    return {
        "created": "2026-12-03T10:00:00+00:00",
        "dataset": {
            "name": name,
            "protocol": "fold",
            "classes": ["a", "b"],
            "speaker_independent": speaker_independent,
        },
        "systems": SYSTEMS,
        "folds": folds,
        "calibration": calibration,
        "comparison": {"delta": 0.05, "ci_low": -0.01, "ci_high": 0.1, "unit": "speaker", "text": "a gain"},
    }


def test_one_run_is_rebuilt_from_its_results_alone(tmp_path):
    run = tmp_path / "run"
    first = write_reports(results_of("toy", 0), run)
    before = {p.name: p.read_bytes() for p in first}
    assert "reliability.png" in before
    for path in first:
        if path.name != "results.json":
            path.unlink()
    rebuilt = rebuild_reports([run])
    assert sorted(p.name for p in rebuilt) == sorted(before)
    for name in ("report.md", "results.csv", "results.json"):
        assert (run / name).read_bytes() == before[name], name
    assert (run / "reliability.png").stat().st_size > 10_000


@pytest.mark.slow
def test_several_runs_give_one_table_and_heat_maps_side_by_side(manifest, tiny_clap_dir, tmp_path, capsys):
    from matplotlib.image import imread

    from zsfuse.datasets import load_dataset
    from zsfuse.evaluation import amplification

    write_reports(results_of("corpus-one", 1), tmp_path / "eval-1")
    write_reports(results_of("crema-d", 2, speaker_independent=False), tmp_path / "eval-2")
    dataset = load_dataset("manifest", manifest)
    for k in (1, 2):
        amplification(
            dataset,
            clap=tiny_clap_dir,
            audio_repeats=(1, 2),
            text_repeats=(1, 2),
            params={"pad_mode": "zero"},
            device="cpu",
            dtype="float32",
            progress=False,
            out=tmp_path / f"amp-{k}",
        )
    runs = [tmp_path / "eval-1", tmp_path / "eval-2" / "results.json", tmp_path / "amp-1", tmp_path / "amp-2"]
    rc, out, err = run_cli(capsys, "report", *runs, "--out", tmp_path / "all")
    assert rc == 0, err
    summary = (tmp_path / "all" / "summary.md").read_text()
    for name, results in (("corpus-one", results_of("corpus-one", 1)), ("crema-d", results_of("crema-d", 2))):
        uas = [100 * f["systems"]["zs_fuse"]["ua"] for f in results["folds"]]
        assert f"{np.mean(uas):.1f} ± {np.std(uas, ddof=1):.1f}" in summary, name
    assert "crema-d (speaker-dependent)" in summary and "+5.0 (-1.0 to +10.0)" in summary
    assert summary.count("| 3 | manifest |") == 1 and summary.count("| 4 | manifest |") == 1
    for folder in ["1-corpus-one", "2-crema-d", "3-manifest", "4-manifest"]:
        assert (tmp_path / "all" / folder / "report.md").is_file(), folder
    single = imread(
        tmp_path
        / "all"
        / "3-manifest"
        / json.loads((tmp_path / "amp-1" / "amplification.json").read_text())["grids"][0]["heatmap"]
    )
    both = imread(tmp_path / "all" / "amplification.png")
    assert abs(both.shape[1] - 2 * single.shape[1]) <= 0.05 * both.shape[1] and both.std() > 0


def test_what_cannot_be_rebuilt_is_said(tmp_path, capsys):
    with pytest.raises(EvaluationError, match="does not exist"):
        rebuild_reports([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match="holds neither results.json"):
        rebuild_reports([tmp_path / "empty"])
    write_reports(results_of("toy", 0), tmp_path / "a")
    write_reports(results_of("toy", 1), tmp_path / "b")
    with pytest.raises(EvaluationError, match="several runs need --out"):
        rebuild_reports([tmp_path / "a", tmp_path / "b"])
    (tmp_path / "bad.json").write_text('{"x": 1}')
    rc, _, err = run_cli(capsys, "report", tmp_path / "bad.json")
    assert rc != 0 and "neither zsfuse evaluate's results nor zsfuse amplify's" in err

"""``zsfuse evaluate``: the FM baseline is tuned like ZS-Fuse, the gain is tested, speaker overlap is marked."""

import json

import numpy as np
import pytest

from zsfuse.datasets import load_dataset
from zsfuse.evaluation import baseline_grid, default_grid, evaluate, paired_comparison

pytestmark = pytest.mark.usefixtures("fresh_store")

PARAMS = {"zs__pad_mode": "zero"}


def run(dataset, clap, fm, grid, **kwargs):
    """``evaluate`` on the tiny models, on the CPU, without progress bars."""
    return evaluate(
        dataset, clap=clap, fm=fm, grid=grid, params=PARAMS, device="cpu", dtype="float32", progress=False, **kwargs
    )


HEAD_GRID = {"clf__normalize": ["standard", "layernorm"], "clf__estimator__C": [0.01, 10.0]}


def test_the_baseline_grid_is_every_entry_the_baseline_has():
    grid = {
        "features__zs__audio_repeats": [1, 2],
        "features__fm__layers": ["last", "all"],
        "clf__zs_weight": [0.0, 1.0],
        "clf__fusion": ["concat", "weighted"],
        "clf__temperature": ["fit"],
        "clf__normalize": ["standard", "layernorm"],
        "clf__estimator__C": [0.1, 1.0],
    }
    assert baseline_grid(grid) == {
        "fm__layers": ["last", "all"],
        "clf__normalize": ["standard", "layernorm"],
        "clf__estimator__C": [0.1, 1.0],
    }
    # the default grid of the logistic head tunes its normalisation and C, for both systems
    default = default_grid("logreg")
    assert default["clf__normalize"] == ["standard", "layernorm"] and len(default["clf__estimator__C"]) >= 2
    assert "clf__zs_weight" in default and "clf__estimator__C" not in default_grid("emobox")


@pytest.mark.slow
def test_the_baseline_is_tuned_by_the_same_inner_search(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from zsfuse import FMEmbeddingTransformer
    from zsfuse.fusion import layernorm

    dataset = load_dataset("manifest", manifest)
    grid = {"zs__audio_repeats": [1], "clf__zs_weight": [0.0, 1.0], **HEAD_GRID}
    cache = str(tmp_path / "cache")
    results = run(dataset, tiny_clap_dir, tiny_wavlm_dir, grid, cache_dir=cache, out=tmp_path / "out")
    paths, labels = np.asarray(dataset.paths, dtype=object), np.asarray(dataset.labels, dtype=object)
    speakers = np.asarray(dataset.speakers, dtype=object)
    fm = FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=cache)
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["folds"]
    for fold, record in zip(dataset.folds, results["folds"]):
        # an independent baseline: the scaler (or LayerNorm) and C searched with GroupKFold on the training speakers
        pipe = Pipeline([("fm", fm), ("norm", StandardScaler()), ("lr", LogisticRegression(max_iter=1000))])
        search = GridSearchCV(
            pipe,
            {"norm": [StandardScaler(), FunctionTransformer(layernorm)], "lr__C": HEAD_GRID["clf__estimator__C"]},
            cv=GroupKFold(n_splits=min(3, len(set(speakers[fold.train])))),
            scoring="balanced_accuracy",
        )
        search.fit(list(paths[fold.train]), labels[fold.train], groups=speakers[fold.train])
        chosen = {
            "clf__normalize": "standard" if isinstance(search.best_params_["norm"], StandardScaler) else "layernorm",
            "clf__estimator__C": search.best_params_["lr__C"],
        }
        assert record["baseline_params"] == chosen
        assert set(record["best_params"]) >= set(chosen)  # ZS-Fuse searched the same head entries, and more
        expected = search.predict(list(paths[fold.test]))
        ua = np.mean([np.mean(expected[labels[fold.test] == c] == c) for c in np.unique(labels[fold.test])])
        assert record["systems"]["fm_baseline"]["ua"] == pytest.approx(ua)
    assert [r["baseline_params"] for r in rows] == [r["baseline_params"] for r in results["folds"]]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| Fold | fm_baseline | zero_shot_tuned | zs_fuse |" in report and "`clf__estimator__C=" in report


@pytest.mark.slow
def test_the_report_says_whether_the_gain_is_more_than_noise(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    import csv

    dataset = load_dataset("manifest", manifest)
    results = run(
        dataset,
        tiny_clap_dir,
        tiny_wavlm_dir,
        {"zs__audio_repeats": [1], "clf__zs_weight": [0.0, 1.0]},
        out=tmp_path / "out",
    )
    with open(tmp_path / "out" / "predictions.csv", newline="") as f:
        preds = list(csv.DictReader(f))
    expected = paired_comparison(
        [p["label"] for p in preds],
        [p["fm_baseline"] for p in preds],
        [p["zs_fuse"] for p in preds],
        groups=[p["speaker"] for p in preds],
        classes=list(dataset.classes),
    )
    comparison = results["comparison"]
    for key in ("delta", "ci_low", "ci_high", "unit"):
        assert comparison[key] == expected[key], key
    assert comparison["mcnemar"] == expected["mcnemar"] and comparison["unit"] == "speaker"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Is the gain significant?" in report and comparison["text"] in report
    assert json.loads((tmp_path / "out" / "results.json").read_text())["comparison"]["delta"] == expected["delta"]


def test_speaker_dependent_folds_are_marked_in_every_report(tmp_path):
    from zsfuse.evaluation import format_table, write_reports

    fold = {
        "fold": "fold_1",
        "n_test": 4,
        "systems": {
            s: {"ua": 0.5, "wa": 0.5, "macro_f1": 0.5, "n": 4, "confusion": [[1, 1], [1, 1]]}
            for s in ("fm_baseline", "zero_shot", "zs_fuse")
        },
    }
    base = {"dataset": {"name": "crema-d", "classes": ["a", "b"]}, "folds": [fold]}
    marked = {**base, "dataset": {**base["dataset"], "speaker_independent": False}}
    assert "SPEAKER-DEPENDENT" in format_table(marked) and "SPEAKER-DEPENDENT" not in format_table(base)
    write_reports(marked, tmp_path / "dep")
    write_reports(base, tmp_path / "ind")
    assert "**speaker-dependent**" in (tmp_path / "dep" / "report.md").read_text()
    assert "speaker-independent: no test speaker" in (tmp_path / "ind" / "report.md").read_text()


def test_evaluate_marks_an_overlapping_protocol_as_speaker_dependent(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    from zsfuse.evaluation._runner import speaker_overlap_caveats

    dataset = load_dataset("manifest", manifest)
    assert speaker_overlap_caveats(dataset) == []

    class Overlapping:
        speaker_independent = False
        info = {"speaker_check": "overlap"}

    class Unchecked(Overlapping):
        info = {"speaker_check": "unchecked"}

    (caveat,) = speaker_overlap_caveats(Overlapping())
    assert caveat.startswith("speaker-dependent: the folds share speakers")
    (caveat,) = speaker_overlap_caveats(Unchecked())
    assert caveat.startswith("speaker-dependent (unverified): the dataset gives no speaker")


def test_allow_speaker_overlap_is_for_emobox_metadata_only(manifest):
    from zsfuse.datasets import DatasetOptionError

    with pytest.raises(DatasetOptionError, match="for EmoBox metadata"):
        load_dataset("manifest", manifest, allow_speaker_overlap=True)
    assert len(load_dataset("manifest", manifest, allow_speaker_overlap=False)) > 0


@pytest.mark.slow
@pytest.mark.parametrize("head", ["emobox", "superb"])
def test_the_torch_heads_run_through_evaluate(head, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, capsys):
    from _helpers import run_cli

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
        "--head",
        head,
        "--folds",
        "1",
        "--set",
        "zs__pad_mode=zero",
        "--set",
        "clf__estimator__epochs=3",
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--no-cache",
        "--no-progress",
        "--out",
        tmp_path / "out",
    )
    assert rc == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    config = results["config"]
    assert config["head"] == head
    expected = {"emobox": ("EmoBoxHead", "none"), "superb": ("SuperbHead", "mean")}[head]
    assert expected[0] in str(config["clf_params"]["estimator"]) and config["fm_params"]["pooling"] == expected[1]
    if head == "superb":  # every layer of the tiny WavLM (2 transformer layers + the input): 3 weighted blocks
        assert config["fm_params"]["layers"] == "all" and config["fm_params"]["layer_reduce"] == "concat"
        assert "n_layers=3" in str(config["clf_params"]["estimator"])
    # ZS-Fuse's grid ran with the head (the default grid, no head entries), the baseline had nothing to tune
    fold = results["folds"][0]
    assert "clf__zs_weight" in fold["best_params"] and fold["baseline_params"] == {}
    assert 0.0 <= fold["systems"]["fm_baseline"]["ua"] <= 1.0


@pytest.mark.slow
def test_zero_shot_tuned_is_the_zero_shot_scores_at_the_inner_searchs_choice(
    manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    from sklearn.model_selection import GroupKFold

    from zsfuse import CLAPZeroShotTransformer
    from zsfuse.prompts import emotion_words

    dataset = load_dataset("manifest", manifest)
    grid = {"zs__audio_repeats": [1, 2], "zs__text_repeats": [1, 3], "clf__zs_weight": [0.0]}
    cache = str(tmp_path / "cache")
    results = run(dataset, tiny_clap_dir, tiny_wavlm_dir, grid, cache_dir=cache)
    assert results["systems"] == ["fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse"]
    paths, labels = np.asarray(dataset.paths, dtype=object), np.asarray(dataset.labels, dtype=object)
    speakers = np.asarray(dataset.speakers, dtype=object)
    classes = sorted(dataset.classes)

    def ua(y, pred):
        return np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)])

    for fold, record in zip(dataset.folds, results["folds"]):
        train, test = np.asarray(fold.train), np.asarray(fold.test)

        def predict(a, t, idx):
            zs = CLAPZeroShotTransformer(
                model=tiny_clap_dir,
                labels=dataset.classes,
                label_words=emotion_words(dataset.classes),
                audio_repeats=a,
                text_repeats=t,
                device="cpu",
                dtype="float32",
                cache_dir=cache,
                **{k.split("__")[-1]: v for k, v in PARAMS.items()},
            ).fit()
            return np.asarray(classes, dtype=object)[np.argmax(zs.transform(list(paths[idx])), axis=1)]

        # the inner search by hand: mean UA over GroupKFold of the training speakers, first best in grid order
        cv = GroupKFold(n_splits=min(3, len(set(speakers[train]))))
        scores = {}
        for a in (1, 2):
            for t in (1, 3):
                scores[(a, t)] = np.mean(
                    [
                        ua(labels[train][val], predict(a, t, train[val]))
                        for _, val in cv.split(train, labels[train], speakers[train])
                    ]
                )
        best = max(scores, key=lambda k: (scores[k], -list(scores).index(k)))
        assert record["zero_shot_params"] == {
            "features__zs__audio_repeats": best[0],
            "features__zs__text_repeats": best[1],
        }
        assert record["systems"]["zero_shot_tuned"]["ua"] == pytest.approx(ua(labels[test], predict(*best, test)))
        assert record["systems"]["zero_shot"]["ua"] == pytest.approx(ua(labels[test], predict(1, 1, test)))


@pytest.mark.slow
def test_every_report_has_each_systems_calibration(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    from zsfuse.evaluation import calibration_metrics
    from zsfuse.fusion import softmax

    dataset = load_dataset("manifest", manifest)
    grid = {"zs__audio_repeats": [1], "clf__zs_weight": [0.5], "clf__fusion": ["weighted"]}
    out = tmp_path / "out"
    results = run(dataset, tiny_clap_dir, tiny_wavlm_dir, grid, out=out)
    classes = sorted(dataset.classes)
    # the zero-shot system's calibration, computed by hand: the softmax of its scores on the test clips
    from zsfuse import CLAPZeroShotTransformer
    from zsfuse.prompts import emotion_words

    zs = CLAPZeroShotTransformer(
        model=tiny_clap_dir,
        labels=dataset.classes,
        label_words=emotion_words(dataset.classes),
        pad_mode="zero",
        device="cpu",
        dtype="float32",
    ).fit()
    paths, labels = np.asarray(dataset.paths, dtype=object), np.asarray(dataset.labels, dtype=object)
    ys, probas = [], []
    for fold, record in zip(dataset.folds, results["folds"]):
        proba = softmax(zs.transform(list(paths[fold.test])))
        expected = calibration_metrics(labels[fold.test], proba, classes)
        assert record["calibration"]["zero_shot"]["ece"] == pytest.approx(expected["ece"])
        assert record["calibration"]["zero_shot"]["nll"] == pytest.approx(expected["nll"])
        assert set(record["calibration"]) == set(results["systems"])
        assert record["temperature"] is not None and record["temperature"] > 0  # "weighted" fits one
        ys.append(labels[fold.test])
        probas.append(proba)
    pooled = calibration_metrics(np.concatenate(ys), np.vstack(probas), classes)
    assert results["calibration"]["zero_shot"]["brier"] == pytest.approx(pooled["brier"])
    assert results["calibration"]["zero_shot"]["ece"] == pytest.approx(pooled["ece"])
    report = (out / "report.md").read_text()
    assert "## Calibration" in report and "![Reliability diagram](reliability.png)" in report
    assert "temperature zs_fuse fitted per fold" in report
    from matplotlib.image import imread

    image = imread(out / "reliability.png")
    assert image.shape[0] > 300 and image.shape[1] > 300 and image.std() > 0

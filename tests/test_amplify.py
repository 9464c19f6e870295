"""``zsfuse.evaluation.amplification`` and ``zsfuse amplify``: the grid, the selection on training speakers,
the encoder passes, the outputs, checked against computations written here."""

import csv
import json
import re
from fractions import Fraction

import numpy as np
import pytest
from _helpers import assert_one_line_error, run_cli
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from zsfuse import CLAPZeroShotTransformer
from zsfuse.datasets import load_dataset
from zsfuse.evaluation import EvaluationError, amplification
from zsfuse.evaluation._heatmap import write_heatmap

pytestmark = pytest.mark.usefixtures("fresh_store")
# manifest (conftest): speakers spk0, spk1, spk2 -- spk<s> is the test speaker of fold_<s+1>; 4 classes x 3 clips each

RUN = {"device": "cpu", "dtype": "float32", "progress": False}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def dataset(manifest):
    return load_dataset("manifest", manifest)


def plant(monkeypatch, dataset, predict):
    """Make every ``CLAPZeroShotTransformer.transform`` predict ``predict(cell, clip index)`` (a one-hot score).

    ``fit`` stays real (the tiny CLAP embeds the prompts); the planted scores depend on the cell
    ``(audio_repeats, text_repeats)`` and the clip only.
    """
    index = {str(p): i for i, p in enumerate(dataset.paths)}

    def transform(self, X):
        classes = list(self.classes_)
        scores = np.zeros((len(X), len(classes)))
        for k, clip in enumerate(X):
            scores[k, classes.index(predict((self.audio_repeats, self.text_repeats), index[str(clip)]))] = 1.0
        return scores

    monkeypatch.setattr(CLAPZeroShotTransformer, "transform", transform)


def exact_ua(y_true, y_pred):
    """Balanced accuracy as an exact fraction: the mean recall over the classes present."""
    recalls = []
    for c in sorted(set(y_true)):
        rows = [i for i, y in enumerate(y_true) if y == c]
        recalls.append(Fraction(sum(y_pred[i] == c for i in rows), len(rows)))
    return sum(recalls) / len(recalls)


def expected_choice(train_ua):
    """The rule, written out: best training UA; ties to (1, 1), then to the smallest (a, t)."""
    best = max(train_ua.values())
    tied = [cell for cell, ua in train_ua.items() if ua == best]
    return (1, 1) if (1, 1) in tied else min(tied)


def cell_of(record):
    return (record["audio_repeats"], record["text_repeats"])


def by_cell(results):
    return {cell_of(r["cell"]): r for r in results["cells"]}


# -- a planted answer -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_planted_cell_is_the_best_and_the_one_chosen_on_every_fold(dataset, tiny_clap_dir, monkeypatch):
    labels, classes = list(dataset.labels), list(dataset.classes)

    def predict(cell, i):  # right only at (2, 3); elsewhere always the next class: UA 0
        return labels[i] if cell == (2, 3) else classes[(classes.index(labels[i]) + 1) % len(classes)]

    plant(monkeypatch, dataset, predict)
    results = amplification(dataset, clap=tiny_clap_dir, **RUN)  # the default 4 x 4 grid

    (grid,) = results["grids"]
    assert grid["audio_repeats"] == [1, 2, 3, 4] and grid["text_repeats"] == [1, 2, 3, 4]
    expected = [[1.0 if (a, t) == (2, 3) else 0.0 for t in range(1, 5)] for a in range(1, 5)]
    assert grid["ua"] == expected
    assert (grid["best"]["audio_repeats"], grid["best"]["text_repeats"]) == (2, 3)
    assert [cell_of(f["chosen"]) for f in results["folds"]] == [(2, 3)] * 3
    assert [(f["test_ua"], f["baseline_test_ua"], f["gain"]) for f in results["folds"]] == [(1.0, 0.0, 1.0)] * 3
    assert results["selection"]["mean_gain"] == 1.0
    assert len(results["cells"]) == 16


@pytest.mark.slow
def test_the_grid_and_the_selection_match_an_independent_computation(dataset, tiny_clap_dir, monkeypatch, tmp_path):
    labels, speakers, classes = list(dataset.labels), list(dataset.speakers), list(dataset.classes)
    audio, text = (1, 2, 3), (1, 2, 3, 4)
    cells = [(a, t) for a in audio for t in text]
    # each speaker has its own good cell (right on all its clips); elsewhere right 30 % of the time
    good = {"spk0": (2, 1), "spk1": (3, 2), "spk2": (1, 4)}
    rng = np.random.default_rng(7)
    draws = {c: (rng.random(len(labels)), rng.integers(1, len(classes), len(labels))) for c in cells}

    def predict(cell, i):
        right, shift = draws[cell]
        if cell == good[speakers[i]] or right[i] < 0.3:
            return labels[i]
        return classes[(classes.index(labels[i]) + int(shift[i])) % len(classes)]

    plant(monkeypatch, dataset, predict)
    results = amplification(dataset, clap=tiny_clap_dir, audio_repeats=audio, text_repeats=text, out=tmp_path, **RUN)
    predicted = {c: [predict(c, i) for i in range(len(labels))] for c in cells}
    records = by_cell(results)

    # the pooled grid: every clip, sklearn's scores
    (grid,) = results["grids"]
    for ai, a in enumerate(audio):
        for ti, t in enumerate(text):
            ua = balanced_accuracy_score(labels, predicted[(a, t)])
            assert grid["ua"][ai][ti] == pytest.approx(ua, abs=1e-12)
            pooled = records[(a, t)]["pooled"]
            assert pooled["wa"] == pytest.approx(accuracy_score(labels, predicted[(a, t)]), abs=1e-12)
            f1 = f1_score(labels, predicted[(a, t)], labels=classes, average="macro", zero_division=0)
            assert pooled["macro_f1"] == pytest.approx(f1, abs=1e-12)
            assert pooled["n"] == len(labels)

    # per fold: train UA (exact) -> the chosen cell -> its test UA, next to (1, 1)'s
    chosen = []
    for fold, record in zip(dataset.folds, results["folds"]):
        train, test = list(fold.train), list(fold.test)
        train_ua = {c: exact_ua([labels[i] for i in train], [predicted[c][i] for i in train]) for c in cells}
        cell = expected_choice(train_ua)
        chosen.append(cell)
        test_ua = balanced_accuracy_score([labels[i] for i in test], [predicted[cell][i] for i in test])
        base_ua = balanced_accuracy_score([labels[i] for i in test], [predicted[(1, 1)][i] for i in test])
        assert record["fold"] == fold.name
        assert cell_of(record["chosen"]) == cell
        assert record["chosen_train_ua"] == pytest.approx(float(train_ua[cell]), abs=1e-12)
        assert record["test_ua"] == pytest.approx(test_ua, abs=1e-12)
        assert record["baseline_test_ua"] == pytest.approx(base_ua, abs=1e-12)
        assert record["gain"] == pytest.approx(test_ua - base_ua, abs=1e-12)
        assert record["test_speakers"] == sorted({speakers[i] for i in test})
        for c in cells:  # every cell's test score of the fold
            fold_test = records[c]["folds"][fold.name]["test"]
            assert fold_test["ua"] == pytest.approx(
                balanced_accuracy_score([labels[i] for i in test], [predicted[c][i] for i in test]), abs=1e-12
            )
    gains = [f["gain"] for f in results["folds"]]
    assert results["selection"]["mean_gain"] == pytest.approx(np.mean(gains), abs=1e-12)
    assert results["selection"]["mean_test_ua"] == pytest.approx(np.mean([f["test_ua"] for f in results["folds"]]))
    # the construction: the best pooled cell is a speaker's good cell, whose pooled gain the honest
    # selection does not reach (each fold's good cell belongs to its test speaker, unseen in training)
    best = max(cells, key=lambda c: (balanced_accuracy_score(labels, predicted[c]), c == (1, 1), [-x for x in c]))
    assert cell_of(results["best_pooled"]["cell"]) == best and best in good.values()
    assert results["best_pooled"]["gain"] > results["selection"]["mean_gain"]
    assert all(c != good[f"spk{k}"] for k, c in enumerate(chosen))

    # amplification.csv: one row per cell x fold, plus pooled, equal to the results
    with open(tmp_path / "amplification.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["audio_repeats", "text_repeats", "fold", "ua", "wa", "macro_f1", "n"]
    assert len(rows) == len(cells) * (len(dataset.folds) + 1)
    for row in rows:
        record = records[(int(row["audio_repeats"]), int(row["text_repeats"]))]
        metrics = record["pooled"] if row["fold"] == "pooled" else record["folds"][row["fold"]]["test"]
        assert (float(row["ua"]), float(row["wa"]), float(row["macro_f1"]), int(row["n"])) == pytest.approx(
            (metrics["ua"], metrics["wa"], metrics["macro_f1"], metrics["n"])
        )
    assert {r["fold"] for r in rows} == {"fold_1", "fold_2", "fold_3", "pooled"}
    assert json.loads((tmp_path / "amplification.json").read_text())["folds"] == json.loads(
        json.dumps(results["folds"])
    )

    # report.md: the section, the grid, the chosen cells, the honest gain
    report = (tmp_path / "report.md").read_text()
    section = report[report.index("## Prompt amplification") :]
    assert "| audio \\ text | 1 | 2 | 3 | 4 |" in section
    for a in audio:
        row = next(line for line in section.splitlines() if line.startswith(f"| **{a}** |"))
        shown = [re.search(r"\d+\.\d", c).group() for c in row.strip("|").split("|")[1:]]
        assert shown == [f"{100 * balanced_accuracy_score(labels, predicted[(a, t)]):.1f}" for t in text]
    for fold, cell in zip(results["folds"], chosen):
        assert f"| {fold['fold']} | {fold['test_speakers'][0]} | audio_repeats={cell[0]}, text_repeats={cell[1]} |" in (
            section
        )
    gain = 100 * np.mean(gains)
    assert f"Gain over (1, 1), selected on training speakers: {gain:+.1f} UA points" in section
    png = (tmp_path / grid["heatmap"]).read_bytes()
    assert grid["heatmap"] == "amplification_prompt_model.png" and png[:8] == PNG


@pytest.mark.slow
@pytest.mark.parametrize(
    ("right", "expected"),
    [
        (set(), (1, 1)),  # every cell equal: no amplification
        ({(1, 2), (2, 1)}, (1, 2)),  # a tie: the smallest (a, t)
        ({(2, 1), (2, 2), (3, 1)}, (2, 1)),
        ({(1, 1), (3, 3)}, (1, 1)),  # (1, 1) wins a tie against a larger cell
        ({(3, 3)}, (3, 3)),
    ],
)
def test_ties_go_to_1_1_then_to_the_smallest_cell(dataset, tiny_clap_dir, monkeypatch, right, expected):
    labels = list(dataset.labels)
    plant(monkeypatch, dataset, lambda cell, i: labels[i] if cell in right else "angry")
    results = amplification(dataset, clap=tiny_clap_dir, audio_repeats=(1, 2, 3), text_repeats=(1, 2, 3), **RUN)
    assert [cell_of(f["chosen"]) for f in results["folds"]] == [expected] * 3


# -- the cost -------------------------------------------------------------------------------------------


class Spy:
    """Counts what reaches the (process-wide, cached) tiny CLAP's towers."""

    def __init__(self, monkeypatch, clap):
        self.windows, self.texts = 0, []
        backend = CLAPZeroShotTransformer(model=clap, device="cpu", dtype="float32")._backend()
        real_audio, real_text = backend.embed_audio, backend.embed_text

        def embed_audio(windows):
            self.windows += len(windows)
            return real_audio(windows)

        def embed_text(texts):
            self.texts.extend(texts)
            return real_text(texts)

        monkeypatch.setattr(backend, "embed_audio", embed_audio)
        monkeypatch.setattr(backend, "embed_text", embed_text)


@pytest.mark.slow
def test_each_audio_setting_and_prompt_is_encoded_once(dataset, tiny_clap_dir, monkeypatch, capsys, tmp_path):
    spy = Spy(monkeypatch, tiny_clap_dir)
    n = len(dataset)
    results = amplification(
        dataset,
        clap=tiny_clap_dir,
        audio_repeats=(1, 2),
        text_repeats=(1, 2),
        text_repeat_units=("prompt", "label"),
        params={"zs__pad_mode": "zero"},
        device="cpu",
        dtype="float32",
        progress=True,
        out=tmp_path,
    )
    # 1 s clips in a 10 s window, tiled at most twice: one window per clip and audio setting
    assert spy.windows == 2 * n
    words = {"angry": "angry", "happy": "happy", "neutral": "neutral", "sad": "sad"}
    strings = {f"this person is feeling {w}." for w in words.values()}
    strings |= {f"this person is feeling {w}. this person is feeling {w}." for w in words.values()}
    strings |= {f"this person is feeling {w} {w}." for w in words.values()}
    assert sorted(spy.texts) == sorted(strings)  # 12 strings, each once (t=1 is the same for both units)
    assert len(results["cells"]) == 8
    costs = results["costs"]
    assert (costs["audio_passes"], costs["text_passes"], costs["n_clips"]) == (2 * n, len(strings), n)
    assert costs["prompts"] == sorted(strings)
    err = capsys.readouterr().err
    note = f"costs {2 * n} audio encoder passes (2 audio settings (audio_repeats x pad_mode) x {n} clips) and 12 text"
    assert note in err and err.index(note) < err.index("encoding CLAP audio")

    with open(tmp_path / "amplification.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == [
        "audio_repeats",
        "text_repeats",
        "text_repeat_unit",
        "fold",
        "ua",
        "wa",
        "macro_f1",
        "n",
    ]
    assert len(rows) == 8 * 4
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "amplification_label_zero.png",
        "amplification_prompt_zero.png",
    ]
    # t = 1 reads the same strings whatever the unit: the same predictions
    records = {
        (r["cell"]["audio_repeats"], r["cell"]["text_repeats"], r["cell"]["text_repeat_unit"]): r
        for r in results["cells"]
    }
    assert records[(2, 1, "prompt")]["pooled"] == records[(2, 1, "label")]["pooled"]

    # a second run in the same process reads everything from the store
    spy.windows, spy.texts = 0, []
    again = amplification(
        dataset,
        clap=tiny_clap_dir,
        audio_repeats=(1, 2),
        text_repeats=(1, 2),
        text_repeat_units=("prompt", "label"),
        params={"pad_mode": "zero"},
        **RUN,
    )
    assert (spy.windows, spy.texts) == (0, [])
    assert [r["pooled"] for r in again["cells"]] == [r["pooled"] for r in results["cells"]]


# -- the heat map ----------------------------------------------------------------------------------------


def png_size(data):
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_heat_map_is_a_png_sized_by_its_grid(tmp_path):
    import matplotlib.image

    def draw(rows, columns, name):
        rng = np.random.default_rng(rows * 10 + columns)
        table = {(a, t): float(rng.uniform(0.2, 0.6)) for a in range(1, rows + 1) for t in range(1, columns + 1)}
        best = max(table, key=table.get)
        path = write_heatmap(table, tmp_path / name, best=best, title=f"{rows} x {columns}")
        assert path == tmp_path / name
        return path.read_bytes()

    small, wide, tall = draw(2, 2, "a.png"), draw(2, 5, "b.png"), draw(5, 2, "c.png")
    (w_small, h_small), (w_wide, h_wide), (w_tall, h_tall) = png_size(small), png_size(wide), png_size(tall)
    assert w_wide > w_small and h_wide == h_small
    assert h_tall > h_small and w_tall == w_small
    pixels = matplotlib.image.imread(tmp_path / "b.png")[..., :3]
    assert pixels.shape[:2] == (h_wide, w_wide)
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # cells, text, colour bar: not a blank canvas
    assert (pixels.min(axis=2) < 0.9).mean() > 0.2
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary file left

    with pytest.raises(ValueError, match="not in the heat map table"):
        write_heatmap({(1, 1): 0.5}, tmp_path / "d.png", best=(2, 2))


# -- the command line --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_command_end_to_end(capsys, manifest, tiny_clap_dir, tmp_path, monkeypatch):
    from zsfuse.prompts import emotion_words

    monkeypatch.chdir(tmp_path)  # the default --out
    rc, out, err = run_cli(
        capsys,
        "amplify",
        "--dataset",
        "manifest",
        "--root",
        manifest,
        "--clap",
        tiny_clap_dir,
        "--audio-repeats",
        "1,3",  # with the model's own padding (whole copies, then zeros), 3 changes the window; 2 does not
        "--text-repeats",
        "1,2",
        "--set",
        "long_audio=start",
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--no-cache",
        "--no-progress",
    )
    assert rc == 0, err
    folder = tmp_path / "zsfuse-results" / "manifest-amplify"
    assert sorted(p.name for p in folder.iterdir()) == [
        "amplification.csv",
        "amplification.json",
        "amplification_prompt_model.png",
        "report.md",
    ]
    saved = json.loads((folder / "amplification.json").read_text())
    assert saved["config"]["command"].startswith("zsfuse amplify --dataset manifest")

    # the numbers, recomputed with the transformer itself
    dataset = load_dataset("manifest", manifest)
    labels, paths = list(dataset.labels), list(dataset.paths)
    table, confusions = [], {}
    for a in (1, 3):
        row = []
        for t in (1, 2):
            zs = CLAPZeroShotTransformer(
                model=tiny_clap_dir,
                labels=dataset.classes,
                label_words=emotion_words(dataset.classes),
                audio_repeats=a,
                text_repeats=t,
                long_audio="start",
                device="cpu",
                dtype="float32",
            ).fit()
            predicted = zs.classes_[np.argmax(zs.transform(paths), axis=1)]
            row.append(balanced_accuracy_score(labels, predicted))
            confusions[(a, t)] = confusion_matrix(labels, predicted, labels=list(dataset.classes)).tolist()
        table.append(row)
    np.testing.assert_allclose(saved["grids"][0]["ua"], table, atol=1e-12)
    assert {cell_of(r["cell"]): r["pooled"]["confusion"] for r in saved["cells"]} == confusions

    # printed: the grid (rows audio_repeats, columns text_repeats) and the selection summary
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("audio \\ text"))
    assert lines[header].split()[-2:] == ["1", "2"]
    for k, a in enumerate((1, 3)):
        cells = lines[header + 1 + k].split()
        assert cells[0] == str(a)
        assert [c.rstrip("*") for c in cells[1:]] == [f"{100 * v:.1f}" for v in table[k]]
    assert sum(line.count("*") for line in lines[header + 1 : header + 3]) == 1  # one best cell
    for fold in saved["folds"]:
        line = next(line for line in lines if line.startswith(fold["fold"] + " "))
        chosen = fold["chosen"]
        assert f"audio {chosen['audio_repeats']} x text {chosen['text_repeats']}" in line
        assert line.split()[-1] == f"{100 * fold['gain']:+.1f}"
    gain = 100 * saved["selection"]["mean_gain"]
    assert f"Gain over (1, 1), selected on training speakers: {gain:+.1f} UA points" in out
    assert "encoding" not in err  # --no-progress: no cost note, no bars


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--audio-repeats", "2,3"], ["audio_repeats must hold 1"]),
        (["--text-repeats", "1,x"], ["--text-repeats must be comma-separated positive integers"]),
        (["--set", "fm__layers=all"], ["'fm__layers'", "not a parameter of the zero-shot transformer"]),
        (["--set", "audio_repeats=2"], ["--audio-repeats"]),
        (["--pad-mode", "zero", "--set", "pad_mode=zero"], ["pad_mode is set twice"]),
        (["--pad-mode", "zero,loud"], ["pad_mode", "loud"]),
    ],
)
def test_a_bad_invocation_is_one_line_before_any_model_loads(capsys, manifest, tmp_path, argv, needles):
    rc, _, err = run_cli(
        capsys,
        "amplify",
        "--dataset",
        "manifest",
        "--root",
        manifest,
        "--clap",
        tmp_path / "no-such-model",  # never reached: the grid and parameters are checked first
        "--no-cache",
        "--out",
        tmp_path / "out",
        *argv,
    )
    assert_one_line_error(rc, err, *needles)
    assert not (tmp_path / "out").exists()


def test_the_command_is_listed_and_documented(capsys):
    from zsfuse.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "amplify" in capsys.readouterr().out


def test_a_fold_without_training_clips_is_refused(dataset, tiny_clap_dir):
    from zsfuse.datasets import Dataset, Fold

    one = Dataset(
        name="x",
        root="x",
        protocol="p",
        paths=dataset.paths,
        labels=dataset.labels,
        speakers=dataset.speakers,
        folds=(Fold("all", train=[], test=range(len(dataset))),),
    )
    with pytest.raises(EvaluationError, match="empty training or test part"):
        amplification(one, clap=tiny_clap_dir, **RUN)


@pytest.mark.slow
def test_cells_identical_by_construction_are_said_and_encoded_once(dataset, tiny_clap_dir, monkeypatch, tmp_path):
    spy = Spy(monkeypatch, tiny_clap_dir)
    n = len(dataset)
    results = amplification(
        dataset,
        clap=tiny_clap_dir,
        audio_repeats=(1, 2, 3),
        text_repeats=(1,),
        pad_modes=("repeat", "zero"),
        device="cpu",
        dtype="float32",
        progress=False,
        out=tmp_path,
    )
    # 1 s clips in a 10 s window: looping to fill makes every tiling the same input; zeros make three inputs
    assert spy.windows == n + 3 * n
    assert results["identical_audio"] == [[{"audio_repeats": a, "pad_mode": "repeat"} for a in (1, 2, 3)]]
    rows = {(c["cell"]["audio_repeats"], c["cell"]["pad_mode"]): c["pooled"]["ua"] for c in results["cells"]}
    assert rows[1, "repeat"] == rows[2, "repeat"] == rows[3, "repeat"]
    report = (tmp_path / "report.md").read_text()
    assert "Identical by construction: `audio_repeats` 1, 2, 3 (`pad_mode=repeat`)" in report

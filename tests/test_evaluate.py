"""``zsfuse.evaluation.evaluate`` end to end on tiny models: outputs, the FM baseline, the cache, resume."""

import csv
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _helpers import run_cli

from zsfuse.datasets import load_dataset
from zsfuse.evaluation import EvaluationError, evaluate
from zsfuse.store import clear_stores

GRID = {"zs__audio_repeats": [1, 2], "clf__zs_weight": [0.0, 1.0]}
PARAMS = {"zs__pad_mode": "zero"}


pytestmark = pytest.mark.usefixtures("fresh_store")
# manifest (conftest): 3 speakers, one per fold; 4 classes x 3 clips each


def run(dataset, clap, fm, tmp_path, name, **kwargs):
    kwargs.setdefault("cache_dir", str(tmp_path / f"cache-{name}"))
    return evaluate(
        dataset,
        clap=clap,
        fm=fm,
        grid=GRID,
        params=PARAMS,
        device="cpu",
        dtype="float32",
        progress=False,
        out=tmp_path / f"out-{name}",
        **kwargs,
    )


def scores(results):
    return [
        (
            f["fold"],
            name,
            f["systems"][name]["ua"],
            f["systems"][name]["wa"],
            f["systems"][name]["macro_f1"],
            f["systems"][name]["confusion"],
        )
        for f in results["folds"]
        for name in results["systems"]
    ]


class Counter:
    """Counts what reaches this process's (cached, shared) CLAP towers and FM encoder."""

    def __init__(self, monkeypatch, clap, fm, fail_after=None):
        from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer

        self.clap_windows = self.fm_pieces = self.texts = 0
        backend = CLAPZeroShotTransformer(model=clap, device="cpu", dtype="float32")._backend()
        encoder = FMEmbeddingTransformer(model=fm, device="cpu", dtype="float32")._encoder()
        real_audio, real_text, real_encode = backend.embed_audio, backend.embed_text, encoder.encode

        def embed_audio(windows):
            if fail_after is not None and self.clap_windows >= fail_after:
                raise KeyboardInterrupt  # what Ctrl-C does mid-extraction
            self.clap_windows += len(windows)
            return real_audio(windows)

        def embed_text(texts):
            self.texts += len(texts)
            return real_text(texts)

        def encode(pieces, *args, **kw):
            self.fm_pieces += len(pieces)
            return real_encode(pieces, *args, **kw)

        monkeypatch.setattr(backend, "embed_audio", embed_audio)
        monkeypatch.setattr(backend, "embed_text", embed_text)
        monkeypatch.setattr(encoder, "encode", encode)


@pytest.mark.slow
def test_evaluate_writes_every_output_and_a_second_run_encodes_nothing(
    manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, monkeypatch
):
    dataset = load_dataset("manifest", manifest)
    counter = Counter(monkeypatch, tiny_clap_dir, tiny_wavlm_dir)
    first = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "a")
    n = len(dataset)
    assert counter.fm_pieces == n  # one FM pass over the clips (1 s clips: one piece each)
    assert counter.clap_windows == 2 * n  # one CLAP pass per audio_repeats value of the grid

    out = tmp_path / "out-a"
    for name in (
        "results.json",
        "results.csv",
        "report.md",
        "predictions.csv",
        *(f"confusion_{s}.png" for s in first["systems"]),
    ):
        assert (out / name).is_file(), name
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"].keys() == {"fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse"}
    assert [f["fold"] for f in saved["folds"]] == [f.name for f in dataset.folds]
    assert saved["models"]["fm"]["fingerprint"] and saved["models"]["clap"]["fingerprint"]
    assert saved["environment"]["torch"]
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["system"] for r in rows} == {"fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse"}
    with open(out / "predictions.csv", newline="") as f:
        preds = list(csv.DictReader(f))
    assert sorted(int(p["index"]) for p in preds) == list(range(n))  # every clip tested once
    assert "| zs_fuse" in (out / "report.md").read_text() or "zs_fuse" in (out / "report.md").read_text()
    for png in out.glob("confusion_*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a second run, in a fresh memory level: every embedding and prompt comes from the disk cache
    clear_stores()
    counter.clap_windows = counter.fm_pieces = counter.texts = 0
    second = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "a")
    assert (counter.clap_windows, counter.fm_pieces, counter.texts) == (0, 0, 0)
    assert scores(second) == scores(first)


@pytest.mark.slow
def test_fm_baseline_is_the_zero_weight_fusion(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    from zsfuse import make_zsfuse_pipeline
    from zsfuse.prompts import emotion_words

    dataset = load_dataset("manifest", manifest)
    run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "b")
    with open(tmp_path / "out-b" / "predictions.csv", newline="") as f:
        preds = list(csv.DictReader(f))
    paths, labels = list(dataset.paths), np.asarray(dataset.labels)
    for fold in dataset.folds:
        pipe = make_zsfuse_pipeline(
            clap=tiny_clap_dir,
            fm=tiny_wavlm_dir,
            labels=dataset.classes,
            label_words=emotion_words(dataset.classes),
            device="cpu",
            dtype="float32",
            cache_dir=str(tmp_path / "cache-b"),
            zs_weight=0.0,
            **PARAMS,
        )
        pipe.fit([paths[i] for i in fold.train], labels[fold.train])
        fused = pipe.predict([paths[i] for i in fold.test])
        baseline = [p["fm_baseline"] for p in preds if p["fold"] == fold.name]
        order = [int(p["index"]) for p in preds if p["fold"] == fold.name]
        assert order == list(fold.test)
        assert list(fused) == baseline


@pytest.mark.slow
def test_an_interrupted_extraction_resumes_to_the_same_results(
    manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, monkeypatch
):
    dataset = load_dataset("manifest", manifest)
    reference = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "ref")
    n = len(dataset)
    clear_stores()
    # batches of 4 clips, each stored as it is done: stop 2 batches into the second audio setting
    Counter(monkeypatch, tiny_clap_dir, tiny_wavlm_dir, fail_after=n + 8)
    with pytest.raises(KeyboardInterrupt):
        run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "cut", batch_size=4)
    monkeypatch.undo()
    clear_stores()
    counter = Counter(monkeypatch, tiny_clap_dir, tiny_wavlm_dir)
    resumed = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "cut", batch_size=4)
    assert counter.clap_windows == n - 8  # only what the cut run had not stored
    assert counter.fm_pieces == n  # the FM pass had not started
    assert scores(resumed) == scores(reference)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from zsfuse.backends import hf_clap
    real = hf_clap.HFClapBackend.embed_audio
    calls = [0]
    def embed_audio(self, *a, **k):
        calls[0] += 1
        if calls[0] > 11:  # 9 batches of 4 clips for audio_repeats=1, then 2 of audio_repeats=2
            os.kill(os.getpid(), signal.SIGKILL)  # a hard kill: no cleanup runs
        return real(self, *a, **k)
    hf_clap.HFClapBackend.embed_audio = embed_audio
    from zsfuse.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.slow
def test_killing_evaluate_and_starting_again_gives_the_same_results(manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    argv = [
        "evaluate",
        "--dataset",
        "manifest",
        "--root",
        str(manifest),
        "--clap",
        tiny_clap_dir,
        "--fm",
        tiny_wavlm_dir,
        "--set",
        "zs__pad_mode=zero",
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--batch-size",
        "4",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
    ]
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(GRID))
    argv += ["--grid", str(grid)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *argv, "--out", str(tmp_path / "killed")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (tmp_path / "killed" / "results.json").exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "zsfuse", *argv, "--out", str(tmp_path / "resumed")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    fresh = subprocess.run(
        [
            sys.executable,
            "-m",
            "zsfuse",
            *argv,
            "--cache-dir",
            str(tmp_path / "cache-fresh"),
            "--out",
            str(tmp_path / "fresh"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    a = json.loads((tmp_path / "resumed" / "results.json").read_text())
    b = json.loads((tmp_path / "fresh" / "results.json").read_text())
    assert scores(a) == scores(b)
    assert "zs_fuse" in resumed.stdout  # the table


def test_plain_normalize_on_the_command_line_with_a_toml_grid(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    # ``--set normalize=standard`` is the classifier's (the FM's own is ``normalize_audio``): it was refused
    # as "a parameter of several steps"; and a TOML grid reads on every supported Python (tomli on 3.10)
    grid = tmp_path / "grid.toml"
    grid.write_text("clf__zs_weight = [0.0, 1.0]\n")
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
        "--folds",
        "1",
        "--inner-folds",
        "2",
        "--set",
        "zs__pad_mode=zero",
        "--set",
        "normalize=standard",
        "--set",
        "normalize_audio=false",
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
    assert config["clf_params"]["normalize"] == "standard"
    assert config["fm_params"]["normalize_audio"] is False and "normalize" not in config["fm_params"]
    assert [f["fold"] for f in results["folds"]] == [results["folds"][0]["fold"]]
    assert set(results["folds"][0]["best_params"]) == {"clf__zs_weight"}


def test_a_fold_without_a_class_in_training_is_refused(manifest, tiny_clap_dir, tiny_wavlm_dir):
    lines = manifest.read_text().splitlines()
    # "sad" kept for speaker 0 only: the fold that tests speaker 0 has no "sad" clip to learn from
    kept = [line for line in lines[1:] if ",sad," not in line or ",spk0," in line]
    sub = manifest.parent / "manifest-sad-spk0.csv"  # same folder: the relative paths stay valid
    sub.write_text("\n".join([lines[0], *kept]) + "\n")
    small = load_dataset("manifest", sub)
    with pytest.raises(EvaluationError, match=r"no training clip"):
        evaluate(small, clap=tiny_clap_dir, fm=tiny_wavlm_dir, grid=GRID, device="cpu", progress=False)


def test_a_bad_grid_is_refused_before_any_work(manifest, tiny_clap_dir, tiny_wavlm_dir):
    dataset = load_dataset("manifest", manifest)
    with pytest.raises(EvaluationError, match="no_such_param"):
        evaluate(dataset, clap=tiny_clap_dir, fm=tiny_wavlm_dir, grid={"no_such_param": [1]}, progress=False)
    with pytest.raises(EvaluationError, match="non-empty list"):
        evaluate(dataset, clap=tiny_clap_dir, fm=tiny_wavlm_dir, grid={"zs_weight": []}, progress=False)
    with pytest.raises(EvaluationError, match="unknown fold"):
        evaluate(dataset, clap=tiny_clap_dir, fm=tiny_wavlm_dir, folds=["fold_9"], progress=False)


@pytest.mark.slow
def test_n_jobs_2_extracts_in_worker_processes_and_gives_the_same_results(
    manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path, monkeypatch
):
    dataset = load_dataset("manifest", manifest)
    serial = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "serial")
    clear_stores()
    counter = Counter(monkeypatch, tiny_clap_dir, tiny_wavlm_dir)  # counts this process only
    parallel = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "parallel", n_jobs=2)
    assert (counter.clap_windows, counter.fm_pieces) == (0, 0)  # the workers encoded everything
    assert scores(parallel) == scores(serial)
    # the workers return their vectors: no disk cache is needed to hand them over
    clear_stores()
    in_memory = run(dataset, tiny_clap_dir, tiny_wavlm_dir, tmp_path, "no-cache", n_jobs=2, cache_dir=None)
    assert scores(in_memory) == scores(serial)

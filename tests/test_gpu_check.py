"""``benchmarks/gpu_check.py``: its ``--dry-run`` (tiny models on the CPU) runs every check and
writes a complete JSON report; without ``--dry-run`` and without CUDA it refuses with status 2."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
CHECKS = ("device_placement", "dtype_agreement", "zero_shot_throughput", "fm_throughput_memory", "store_cached_pass")

pytestmark = pytest.mark.slow  # the dry run takes ~30 s on 2 CPU cores


def run_script(*args, timeout=300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check") / "gpu.json"
    proc = run_script("--dry-run", "--clips", "6", "--out", str(out))
    return proc, out


def numbers(value, path="report"):
    """Every (path, number) in a JSON value, and the strings that stand for non-finite floats."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numbers(v, f"{path}[{i}]")
    elif isinstance(value, bool):
        return
    elif isinstance(value, (int, float)) or value in ("nan", "inf", "-inf"):
        yield path, value


def test_dry_run_exits_0_and_reports_every_check(dry_run):
    proc, out = dry_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["mode"] == "dry-run"
    assert report["device"] == "cpu"
    assert set(report["checks"]) == set(CHECKS)
    for name in CHECKS:
        entry = report["checks"][name]
        assert entry["status"] in ("ok", "skipped"), (name, entry)
        if entry["status"] == "skipped":
            assert entry["reason"], name
        else:
            assert entry["seconds"] > 0, name
    table = proc.stdout[proc.stdout.index("check ") :]
    for name in CHECKS:
        line = next(line for line in table.splitlines() if line.startswith(name))
        assert report["checks"][name]["status"] in line.split()


def test_dry_run_numbers_are_finite_and_consistent(dry_run):
    _, out = dry_run
    report = json.loads(out.read_text())
    bad = [(p, v) for p, v in numbers(report) if isinstance(v, str) or not math.isfinite(v)]
    assert not bad
    env = report["environment"]
    assert env["zsfuse"] and env["torch"] and env["transformers"]
    assert env["gpu"] is None  # no CUDA call in a dry run

    checks = report["checks"]
    placement = checks["device_placement"]
    assert placement["zero_shot"]["parameter_devices"] == ["cpu"]
    assert placement["fm"]["parameter_devices"] == ["cpu"]
    assert placement["zero_shot"]["output_type"] == "numpy.ndarray"

    dtype = checks["dtype_agreement"]
    assert dtype["dtypes"][0] == "float32"
    assert any("float16" in note for note in dtype["notes"])
    for row in dtype["vs_float32"].values():  # bfloat16, where the CPU's autocast has it
        for key in ("zero_shot_cosine_min", "fm_cosine_min"):
            assert -1.0 <= row[key] <= row[key.replace("min", "mean")] <= 1.0 + 1e-9
        assert 0.0 <= row["zero_shot_argmax_agreement"] <= 1.0

    zs = checks["zero_shot_throughput"]
    assert zs["clips"] == 6
    fp32 = zs["zsfuse"]["float32"]
    assert fp32["clips_per_s"] == pytest.approx(6 / fp32["seconds"])
    assert zs["pipeline"]["clips_per_s"] == pytest.approx(6 / zs["pipeline"]["seconds"])
    assert zs["ratio_vs_pipeline"] == pytest.approx(fp32["clips_per_s"] / zs["pipeline"]["clips_per_s"])
    assert zs["meets_target"] is None  # targets apply on a GPU

    fm = checks["fm_throughput_memory"]
    assert len(fm["runs"]) >= 2
    assert len({r["batch_seconds"] for r in fm["runs"]}) == len(fm["runs"])
    for r in fm["runs"]:
        assert r["peak_memory_mb"] is None  # no CUDA: memory not measured
        assert r["clips_per_s"] == pytest.approx(6 / r["seconds"])
        assert 0.0 <= r["padding_waste"] < 1.0
    # a smaller budget of padded audio per pass never needs fewer forward passes
    calls = [r["forward_calls"] for r in sorted(fm["runs"], key=lambda r: r["batch_seconds"])]
    assert calls == sorted(calls, reverse=True)

    store = checks["store_cached_pass"]
    for name in ("fm", "zero_shot"):
        s = store[name]
        assert s["speedup"] == pytest.approx(s["first_pass_s"] / s["disk_cached_pass_s"])
        assert s["disk_entries"] >= 6


def test_without_dry_run_and_without_cuda_exits_2_with_the_message(tmp_path):
    out = tmp_path / "gpu.json"
    proc = run_script("--out", str(out), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "CUDA is not available" in message and "--dry-run" in message
    assert not out.exists()


def test_a_spent_budget_skips_the_checks_with_a_note(tmp_path):
    out = tmp_path / "gpu.json"
    proc = run_script("--dry-run", "--budget-s", "0.001", "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    statuses = [report["checks"][name]["status"] for name in CHECKS]
    assert statuses == ["skipped"] * len(CHECKS)
    assert all("budget" in report["checks"][name]["reason"] for name in CHECKS)
    assert report["summary"] == {"ok": 0, "skipped": len(CHECKS), "error": 0}
    assert report["elapsed_s"] > report["budget_s"]

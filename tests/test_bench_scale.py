"""``benchmarks/bench_scale.py``: its smallest run prints every row of the table for both sizes, growth
columns that are numbers, store sizes no smaller than the raw vectors, and (with ``distributed``) the Dask
extraction rows. No timing is asserted."""

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_scale.py"
SIZES = ("200", "2k")
TIME_ROWS = (
    "plan.dataset",
    "plan.encoded",
    "store.write",
    "store.write.cpu",
    "store.keys",
    "plan.extract",
    "fold.load",
    "heads.fit",
)
MEMORY_ROWS = (
    "mem.plan.dataset",
    "mem.plan.encoded",
    "mem.store.write",
    "mem.store.keys",
    "mem.plan.extract",
    "mem.fold.load",
    "fold.overhead",
    "mem.heads.fit",
)
OTHER_ROWS = ("heads.per_iter", "store.bytes_per_clip", "heads.iterations")
DIM = 64


def load_script():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_distributed():
    return importlib.util.find_spec("distributed") is not None


@pytest.fixture(scope="module")
def smallest_run():  # ~1-2 min on 2 busy CPU cores: two sizes in fresh processes, and a Dask cluster
    """The benchmark at 200 and 2,000 clips of 64-d vectors, one repeat; 8 clips on Dask when it is installed."""
    args = ["--sizes", "200,2000", "--repeats", "1", "--extract-repeats", "1", "--dim", str(DIM), "--extract-clips"]
    args.append("8" if has_distributed() else "0")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def table_rows(stdout):
    """Row key -> its cells (values per size, growth, then the expectation's words)."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"(mem\.)?[a-z]+\.[a-z_.]+", parts[0]):
            rows.setdefault(parts[0], parts[1:])  # the table comes first; notes below it may start with a key
    return rows


def number(text):
    value = float(text)
    assert math.isfinite(value)
    return value


def test_growth_per_ten_times_clips():
    growth = load_script().growth
    assert growth(2.0, 20.0, 100, 1000) == pytest.approx(10.0)
    assert growth(1.0, 100.0, 1000, 100000) == pytest.approx(10.0)  # 100x clips, 100x time: 10x per 10x
    assert growth(4.0, 4.0, 1500, 150000) == pytest.approx(1.0)
    assert growth(0.0, 3.0, 10, 100) is None
    assert growth(None, 3.0, 10, 100) is None


def test_sizes_below_two_clips_per_fold_are_refused():
    parse = load_script().parse
    with pytest.raises(SystemExit):
        parse(["--sizes", "5,100"])
    assert parse(["--quick"]).sizes == [1000, 10000]
    assert parse(["--sizes", "2000,200"]).sizes == [200, 2000]


@pytest.mark.slow
def test_smallest_run_prints_every_row_with_numeric_growth(smallest_run):
    header = next(line for line in smallest_run.splitlines() if line.split()[:2] == ["quantity", "unit"])
    assert header.split()[2:5] == [*SIZES, "x10"]
    rows = table_rows(smallest_run)
    assert set(TIME_ROWS + MEMORY_ROWS + OTHER_ROWS) <= set(rows)
    for key in TIME_ROWS + MEMORY_ROWS + OTHER_ROWS:
        cells = rows[key][1:] if rows[key][0] in ("s", "ms", "MB", "B") else rows[key]
        small, large = number(cells[0]), number(cells[1])
        assert small >= 0 and large >= 0, key
        if small == 0:  # printed as 0: nothing (no growth from nothing, "-") or under the printed precision
            assert cells[2] == "-" or number(cells[2]) > 0, key
        else:
            assert number(cells[2]) > 0, key
    for key in TIME_ROWS[:4]:  # never 0 at 2,000 clips
        assert number(rows[key][2]) > 0, key


@pytest.mark.slow
def test_store_size_per_clip_is_at_least_the_raw_vector_and_its_growth_is_their_ratio(smallest_run):
    _, small, large, grown = table_rows(smallest_run)["store.bytes_per_clip"][:4]
    small, large = number(small), number(large)
    assert DIM * 4 <= small < 4 * DIM * 4 and DIM * 4 <= large < 4 * DIM * 4
    assert number(grown) == pytest.approx(large / small, abs=0.01)  # 10x clips: the growth is the plain ratio
    summary = next(line for line in smallest_run.splitlines() if line.strip().startswith("at 2k clips"))
    assert f"store {large:.0f} B per clip" in summary


@pytest.mark.slow
def test_heads_were_fitted_at_both_sizes(smallest_run):
    rows = table_rows(smallest_run)
    iterations = [number(c) for c in rows["heads.iterations"][:2]]
    assert all(i >= 1 and i == int(i) for i in iterations)
    assert "heads not fitted" not in smallest_run


@pytest.mark.slow
@pytest.mark.skipif(not has_distributed(), reason="needs the dask extra")
def test_extraction_rows_give_clips_per_second_and_the_ratio(smallest_run):
    part = smallest_run[smallest_run.index("\nextraction:") :]
    rates = {}
    for line in part.splitlines():
        found = re.match(r"\s+(.+?)\s+([0-9.]+) clips/s\s+\(([0-9.]+) s\)$", line)
        if found:
            rates[found.group(1)] = (number(found.group(2)), number(found.group(3)))
    assert set(rates) == {
        "n_jobs=1 in this process (1 torch thread)",
        "Dask LocalCluster, 1 worker (of 2)",
        "Dask LocalCluster, 2 workers (of 2)",
    }
    for per_second, seconds in rates.values():
        assert per_second == pytest.approx(8 / seconds, rel=0.05)
    ratio = number(re.search(r"2 workers / 1 worker = ([0-9.]+) x", part).group(1))
    one, two = rates["Dask LocalCluster, 1 worker (of 2)"][1], rates["Dask LocalCluster, 2 workers (of 2)"][1]
    assert ratio == pytest.approx(one / two, rel=0.05)

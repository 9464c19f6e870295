"""zsfuse.parallel: extraction on joblib workers (loky, Dask, Ray) that never see the driver's disk cache."""

import contextlib
import os

import numpy as np
import pytest

from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer
from zsfuse.audio import EncodedClip
from zsfuse.parallel import (
    ExtractionReport,
    claim_worker_slot,
    device_for_worker,
    expand_devices,
    extract,
    joblib_engine,
)
from zsfuse.store import clear_stores, get_store, open_stores
from zsfuse.testing import speechlike, write_wav

pytestmark = pytest.mark.usefixtures("fresh_store")

LABELS = ["ang", "hap", "neu"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """14 files of 0.4-1.7 s (two of them identical in content), as paths."""
    folder = tmp_path_factory.mktemp("clips")
    paths = []
    for i in range(14):
        path = folder / f"clip{i:02d}.wav"
        wave = speechlike(0.4 + 0.1 * (i % 12), 16000, seed=i % 12)  # 12 and 13 repeat 0 and 1
        write_wav(str(path), wave, 16000)
        paths.append(str(path))
    return paths


def estimators(clap, wavlm, cache_dir=None, fm_class=FMEmbeddingTransformer):
    zs = CLAPZeroShotTransformer(clap, labels=LABELS, device="cpu", dtype="float32", cache_dir=cache_dir)
    fm = fm_class(wavlm, device="cpu", dtype="float32", cache_dir=cache_dir)
    return zs, fm


def matrices(encoded, clap, wavlm):
    """The two transformers' outputs on encoded clips, with no store behind them (memory only, emptied)."""
    clear_stores()
    zs, fm = estimators(clap, wavlm)
    return zs.fit().transform(encoded), fm.fit().transform(encoded)


@contextlib.contextmanager
def one_torch_thread():
    """torch at one intra-op thread, as in the workers (loky and Dask give each worker one): the float
    reductions then run in the same order (at 2 threads the vectors differ by ~2e-7)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def in_worker_stores():
    from zsfuse.store import open_stores as opened

    return opened()


def test_loky_workers_give_what_one_process_gives_and_return_what_the_driver_writes(
    clips, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    serial_report, parallel_report = ExtractionReport(), ExtractionReport()
    with one_torch_thread():
        serial = extract(
            estimators(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "a"), clips, shard_size=4, report=serial_report
        )
    clear_stores()
    cache = tmp_path / "b"
    parallel = extract(
        estimators(tiny_clap_dir, tiny_wavlm_dir, cache), clips, n_jobs=2, shard_size=4, report=parallel_report
    )
    assert [c.digest for c in parallel] == [c.digest for c in serial]
    assert parallel[12].digest == parallel[0].digest  # content, not path
    for a, b in zip(serial, parallel):
        assert a.vectors.keys() == b.vectors.keys()
        for ns in a.vectors:
            # equal to float rounding: which clips a worker has already seen decides how its forward passes
            # are batched (repeated windows are encoded once), and batch shapes change the last bits
            np.testing.assert_allclose(a.vectors[ns], b.vectors[ns], rtol=0, atol=1e-6)
    assert parallel_report.workers[1] and os.getpid() not in parallel_report.workers[1]  # worker processes did it
    # 14 clips, 12 distinct contents: a repeat is encoded again only by a worker that has not seen it
    assert all(12 <= k <= 14 for k in parallel_report.encoded) and serial_report.encoded == [12, 12]
    # the driver alone wrote its store: every vector is there, and a rerun sends nothing to encode
    store = get_store(cache)
    for ns in parallel_report.namespaces:
        assert store.count(ns) == 12
    again = ExtractionReport()
    extract(estimators(tiny_clap_dir, tiny_wavlm_dir, cache), clips, n_jobs=2, shard_size=4, report=again)
    assert again.encoded == [0, 0] and again.cached == [14, 14]
    # what the transformers give on the encoded clips equals their own pass over the files (to float rounding
    # across batch shapes) -- with no store behind them: the clips carry the vectors
    zs_out, fm_out = matrices(parallel, tiny_clap_dir, tiny_wavlm_dir)
    clear_stores()
    zs, fm = estimators(tiny_clap_dir, tiny_wavlm_dir)
    np.testing.assert_allclose(zs_out, zs.fit().transform(clips), atol=1e-5)
    np.testing.assert_allclose(fm_out, fm.fit().transform(clips), atol=1e-5)


def test_encoded_clips_are_scored_without_their_audio(clips, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    encoded = extract(estimators(tiny_clap_dir, tiny_wavlm_dir), clips[:4])
    moved = [EncodedClip(str(tmp_path / "elsewhere" / f"{i}.wav"), c.digest, c.vectors) for i, c in enumerate(encoded)]
    zs_out, fm_out = matrices(moved, tiny_clap_dir, tiny_wavlm_dir)  # the files do not exist here
    ref_zs, ref_fm = matrices(encoded, tiny_clap_dir, tiny_wavlm_dir)
    np.testing.assert_array_equal(zs_out, ref_zs)
    np.testing.assert_array_equal(fm_out, ref_fm)
    # a setting the clips do not carry needs the audio, and says which clip is missing
    clear_stores()
    other = FMEmbeddingTransformer(tiny_wavlm_dir, pooling="mean+std", device="cpu", dtype="float32").fit()
    with pytest.raises(FileNotFoundError, match="clip 0"):
        other.transform(moved)


def test_arrays_and_known_clips_need_no_worker(clips, tiny_clap_dir, tiny_wavlm_dir):
    waves = [speechlike(0.5, 16000, seed=s) for s in range(3)]
    fm = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", sampling_rate=16000)
    first = extract(fm, waves)
    report = ExtractionReport()
    second = extract(fm, waves, n_jobs=2, report=report)  # hashed here, found in this process's store
    assert report.encoded == [0] and report.shards == [0] and report.cached == [3]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(*(next(iter(c.vectors.values())) for c in (a, b)))
    assert isinstance(second[0].source, dict) and second[0].source["sampling_rate"] == 16000


def test_without_return_encoded_the_driver_reads_no_vector_back(clips, tiny_wavlm_dir, tmp_path, monkeypatch):
    """return_encoded=False: the store is filled as with True, but no stored vector is read into the driver
    (a rerun of 150k clips would otherwise hold every vector in memory only to drop it)."""
    from zsfuse.store import EmbeddingStore

    cache = tmp_path / "cache"
    fm = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=cache)
    read = []
    real_get_many = EmbeddingStore.get_many

    def counting_get_many(self, namespace, keys):
        found = real_get_many(self, namespace, keys)
        read.extend(v for v in found if v is not None)
        return found

    monkeypatch.setattr(EmbeddingStore, "get_many", counting_get_many)
    report = ExtractionReport()
    assert extract(fm, clips[:6], shard_size=2, report=report, return_encoded=False) is None
    assert report.encoded == [6] and get_store(cache).count(report.namespaces[0]) == 6
    read.clear()
    again = ExtractionReport()
    assert extract(fm, clips[:8], n_jobs=2, shard_size=2, report=again, return_encoded=False) is None
    # the 6 stored clips count as cached, and none of their vectors was read; the 2 new ones came from the
    # workers (encoded there, or taken from a reused worker's memory if an earlier test had it encode them)
    assert again.cached == [6] and again.encoded[0] <= 2 and read == []
    assert get_store(cache).count(again.namespaces[0]) == 8
    full = extract(fm, clips[:8], n_jobs=2, shard_size=2)  # with True the vectors come back, from the store
    assert len(read) == 8
    assert all(isinstance(v, np.ndarray) and v.shape == read[0].shape for c in full for v in c.vectors.values())


def test_a_bad_clip_is_named_by_its_place_in_x_and_every_other_shard_is_kept(clips, tiny_wavlm_dir, tmp_path):
    from zsfuse.exceptions import ClipError

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    X = clips[:9] + [str(bad)] + clips[9:12]
    fm = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=tmp_path / "cache")
    with pytest.raises(ClipError, match=r"clip 9 \('.*bad.wav'\)"):
        extract(fm, X, n_jobs=2, shard_size=3)
    report = ExtractionReport()
    extract(fm, X[:9] + X[10:], shard_size=3, report=report)  # every other shard was finished and kept
    assert report.encoded == [2] and report.cached == [10]  # only the bad shard's two good clips are left


def kill_and_resume(clips, wavlm, tmp_path, n_jobs=2):
    """Kill a worker mid-extraction (its process exits); return (error, entries kept, report of the rerun, clips)."""
    from _faulty import KillingFMTransformer

    cache = tmp_path / "cache"
    X = clips[:12]
    open(X[9] + ".kill", "w").close()  # the shard of clips 8 and 9 kills its worker
    fm = KillingFMTransformer(wavlm, device="cpu", dtype="float32", cache_dir=cache)
    with pytest.raises(Exception) as failure:
        extract(fm, X, n_jobs=n_jobs, shard_size=2)
    kept = _entries(cache)
    report = ExtractionReport()
    fm = KillingFMTransformer(wavlm, device="cpu", dtype="float32", cache_dir=cache)
    encoded = extract(fm, X, n_jobs=n_jobs, shard_size=2, report=report)
    return failure.value, kept, report, encoded


def _entries(cache):
    import sqlite3

    with sqlite3.connect(os.path.join(cache, "embeddings-v2.sqlite")) as conn:
        return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]


def test_a_killed_loky_worker_loses_only_its_shard(clips, tiny_wavlm_dir, tmp_path):
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    error, kept, report, encoded = kill_and_resume(clips, tiny_wavlm_dir, tmp_path)
    assert isinstance(error, TerminatedWorkerError)
    assert kept <= 10  # the killed shard (clips 8 and 9) was never written
    assert report.encoded == [12 - kept] and report.cached == [kept]  # the rerun encodes only what is missing
    clear_stores()
    ref = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32").fit()
    np.testing.assert_allclose(
        np.stack([next(iter(c.vectors.values())) for c in encoded]), ref.transform(clips[:12]), atol=1e-5
    )


def test_worker_slots_are_claimed_once_per_process_and_spread_over_the_devices(tmp_path):
    from joblib import Parallel, delayed

    run = "test-run"
    slots = Parallel(n_jobs=2)(delayed(_slot_after_a_pause)(run, tmp_path) for _ in range(6))
    by_pid = {}
    for pid, slot in slots:
        by_pid.setdefault(pid, set()).add(slot)
    assert all(len(s) == 1 for s in by_pid.values())  # a process keeps its slot
    assert sorted(s.pop() for s in by_pid.values()) == list(range(len(by_pid)))  # 0, 1, ...: one each
    assert claim_worker_slot(run, tmp_path) == claim_worker_slot(run, tmp_path)
    assert expand_devices("cuda", cuda_count=3) == ["cuda:0", "cuda:1", "cuda:2"]
    assert expand_devices("auto", cuda_count=1) is None and expand_devices("cpu", cuda_count=4) is None
    assert expand_devices("cuda", devices=["cuda:1", "cuda:3"]) == ["cuda:1", "cuda:3"]
    with pytest.raises(ValueError, match="mixes device types"):
        expand_devices("cuda", devices=["cuda:0", "cpu"])
    assert device_for_worker(run, "cpu") == "cpu"


def _slot_after_a_pause(run, folder):
    import time

    slot = claim_worker_slot(run, folder)
    time.sleep(0.2)  # both workers get tasks
    return os.getpid(), slot


def test_bad_arguments_are_refused(tiny_wavlm_dir):
    with pytest.raises(ValueError, match="audio transformers"):
        extract(["not an estimator"], ["a.wav"])
    with pytest.raises(ValueError, match="at least one"):
        extract([], ["a.wav"])
    with pytest.raises(ValueError, match="unknown joblib backend"):
        with joblib_engine("spark"):
            pass
    with pytest.raises(ValueError, match="address is for the dask and ray"):
        with joblib_engine("loky", address="tcp://x:1"):
            pass


def test_a_backend_without_its_extra_names_the_extra(monkeypatch):
    import sys

    from zsfuse.exceptions import MissingDependencyError

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the dask extra were not installed
    monkeypatch.setitem(sys.modules, "ray", None)
    for name in ("dask", "ray"):
        with pytest.raises(MissingDependencyError, match=rf"pip install 'zsfuse\[{name}\]'"):
            with joblib_engine(name):
                pass


def test_workers_that_disagree_on_the_namespace_are_refused(clips, tiny_wavlm_dir, tmp_path):
    from _faulty import DriftingFMTransformer

    fm = DriftingFMTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="computed vectors under the namespace .*elsewhere.*Set device and dtype"):
        extract(fm, clips[:4], n_jobs=2, shard_size=2)
    assert not os.path.exists(tmp_path / "cache" / "embeddings-v2.sqlite") or _entries(tmp_path / "cache") == 0


# -- Dask and Ray: real local clusters (worker processes, loopback only) -----------------------------------------


def test_dask_cluster_extracts_without_the_driver_cache_and_loads_each_model_once_per_worker(
    clips, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    pytest.importorskip("distributed", reason="needs the dask extra")
    from distributed import Client, LocalCluster
    from joblib import parallel_config

    with one_torch_thread():
        serial = extract(estimators(tiny_clap_dir, tiny_wavlm_dir, tmp_path / "serial"), clips, shard_size=2)
    clear_stores()
    cache = tmp_path / "driver-cache"
    report = ExtractionReport()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client, parallel_config(backend="dask"):
            encoded = extract(
                estimators(tiny_clap_dir, tiny_wavlm_dir, cache), clips, n_jobs=-1, shard_size=2, report=report
            )
            stores = client.run(in_worker_stores)
            loads = client.run(_model_loads)
    for a, b in zip(serial, encoded):
        for ns in a.vectors:
            np.testing.assert_allclose(a.vectors[ns], b.vectors[ns], rtol=0, atol=1e-6)
    assert all(opened == [None] for opened in stores.values())  # no worker opened the driver's disk cache
    assert str(cache) in map(str, open_stores())
    assert report.shards == [7, 7]  # more shards than workers...
    for counts in loads.values():  # ...and yet each worker loaded each model at most once
        assert counts and max(counts.values()) == 1


def _model_loads():
    from zsfuse.models import model_loads

    return model_loads()


def test_a_killed_dask_worker_loses_nothing(clips, tiny_wavlm_dir, tmp_path):
    """Dask reruns the dead worker's shard on a live worker: the run completes, each clip written once."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    from _faulty import KillingFMTransformer
    from distributed import Client, LocalCluster
    from joblib import parallel_config

    X = clips[:12]
    open(X[9] + ".kill", "w").close()
    report = ExtractionReport()
    cache = tmp_path / "cache"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster), parallel_config(backend="dask"):
            fm = KillingFMTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=cache)
            encoded = extract(fm, X, n_jobs=-1, shard_size=2, report=report)
    assert not os.path.exists(X[9] + ".kill")  # a worker did die
    assert report.encoded == [12] and _entries(cache) == 12
    clear_stores()
    ref = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32").fit().transform(X)
    np.testing.assert_allclose(np.stack([next(iter(c.vectors.values())) for c in encoded]), ref, atol=1e-5)


def test_ray_extracts_what_one_process_extracts(clips, tiny_wavlm_dir, tmp_path):
    pytest.importorskip("ray", reason="needs the ray extra")
    fm = FMEmbeddingTransformer(tiny_wavlm_dir, device="cpu", dtype="float32", cache_dir=tmp_path / "cache")
    with one_torch_thread():
        serial = extract(fm, clips, shard_size=4)
    clear_stores()
    with joblib_engine("ray", n_workers=2):
        distributed = extract(fm, clips, n_jobs=2, shard_size=4)
    for a, b in zip(serial, distributed):
        np.testing.assert_allclose(*(next(iter(c.vectors.values())) for c in (a, b)), rtol=0, atol=1e-6)


def test_evaluate_on_a_local_dask_cluster_gives_the_scores_of_one_process(
    capsys, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    """``zsfuse evaluate --joblib-backend dask``: extraction and the inner grid search on Dask worker processes."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    import json

    from _helpers import run_cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"zs__audio_repeats": [1, 2], "clf__zs_weight": [0.0, 1.0]}))

    def evaluate(name, *extra):
        rc, _, err = run_cli(
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
            "2",
            "--set",
            "zs__pad_mode=zero",
            "--device",
            "cpu",
            "--dtype",
            "float32",
            "--cache-dir",
            tmp_path / f"cache-{name}",
            "--out",
            tmp_path / name,
            "--no-progress",
            *extra,
        )
        assert rc == 0, err
        results = json.loads((tmp_path / name / "results.json").read_text())
        return [(f["fold"], f["best_params"], f["systems"]) for f in results["folds"]]

    with one_torch_thread():
        serial = evaluate("serial")
    clear_stores()
    assert evaluate("dask", "--joblib-backend", "dask", "--n-jobs", "2") == serial
    assert [str(d) for d in open_stores() if d is not None] == [str(tmp_path / "cache-dask")]

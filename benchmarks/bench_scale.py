"""Scale: the driver's planning, the embedding store and the heads from 1.5k to 150k clips; Dask extraction.

Part 1 -- growth with the number of clips (no audio decoded). For each size N (``--sizes``, default
1,500 / 15,000 / 150,000), a fresh process (one per size and repeat, so that the memory figures of one
size never carry over to another) builds a synthetic corpus -- N paths of files that do not exist, N
content digests, 4 classes, ``N / 100`` speakers in 5 speaker folds -- and ``--dim`` (1024) float32
vectors, then measures, each phase with its wall time and the growth of the process's resident memory
over the phase (peak, sampled every 2 ms, heap trimmed before it):

* ``plan.dataset`` -- the :class:`zsfuse.datasets.Dataset` with its 5 speaker folds;
* ``plan.encoded`` -- N :class:`zsfuse.audio.EncodedClip` s (path, digest, a carried vector), the
  :class:`zsfuse.audio.Clips` over them and every clip's digest and vector read back (what a grid
  search on extracted clips does per fit);
* ``store.write`` -- every vector written with ``EmbeddingStore.put_many`` in transactions of 32 clips
  (the shard of :func:`zsfuse.parallel.extract`), into a new disk store whose memory level is bounded by
  ``--memory-mb`` (``ZSFUSE_MEMORY_CACHE_MB``); ``store.write.cpu`` is its CPU time (wall time beyond it is
  waiting on the disk); then ``store.bytes_per_clip``, the database size per clip (write-ahead log
  checkpointed);
* ``store.keys`` -- ``EmbeddingStore.keys(namespace)`` as an array of str, with an empty memory level
  (what the driver of ``extract`` sends its workers);
* ``plan.extract`` -- :func:`zsfuse.parallel.extract` (``n_jobs=1``) on the N clips as EncodedClips
  without vectors (their digests known, their vectors in the disk store) plus 4 new files: the whole
  driver side at scale (clips, digests, store lookups of every clip, ``keys``, shards), and 4 clips
  encoded by the tiny WavLM of :mod:`zsfuse.testing` under whose namespace the vectors are stored;
  memory level emptied first. Printed net of ``extract``'s fixed cost, measured just before in the same
  process: the same call on the 4 new files alone (the probe task, decoding and encoding them);
* ``fold.load`` -- the training part of fold 1 (80 % of N) read from the disk store with an empty
  memory level (``get_many``) into an (n, dim) float32 matrix; ``fold.overhead`` is the memory growth
  beyond the matrix itself;
* ``heads.fit`` -- the grid's head on N x (4 + dim) synthetic features with a class signal:
  :class:`zsfuse.LateFusionClassifier` (``fusion="concat"``, ``zs_weight=0.5``, ``normalize="standard"``:
  StandardScaler per block, then ``LogisticRegression(C=1)``, lbfgs), one grid point; ``heads.per_iter``
  is its time per lbfgs iteration. Sizes above ``--heads-max`` are not fitted (said in the output).

Printed: one column per size, then the growth per 10x clips between consecutive sizes
(``(q2 / q1) ** (1 / log10(n2 / n1))``): ~10 is linear; ~1 is bounded (the store's writes, whose memory
level is capped) or constant per clip (``store.bytes_per_clip``). Timings: best of ``--repeats`` runs,
interleaved over the sizes; memory: the largest of the runs.

Part 2 -- extraction on Dask. ``--extract-clips`` (48) generated speech-like clips of 1-2 s, the tiny
WavLM, ``--shard-size`` (8) clips per task, an empty store each run: :func:`zsfuse.parallel.extract` in
this process (``n_jobs=1``, torch at one thread as a Dask worker has), then on a
``distributed.LocalCluster`` of 2 worker processes (``threads_per_worker=1``; models loaded on every
worker before the clock starts), its tasks pinned to 1 and to 2 of the workers (joblib's dask backend
with ``workers=..., allow_other_workers=False``). Not a 1-worker cluster: joblib runs any backend whose
effective ``n_jobs`` is 1 sequentially in the calling process, so ``extract`` on a 1-worker cluster
never uses its worker. Printed: clips/s of each and the ratio 2 workers / 1 worker, best of
``--extract-repeats`` (5) runs interleaved over the three, after one untimed run of each. Skipped when
``distributed`` is not installed.

Run: python benchmarks/bench_scale.py [--sizes 1500,15000,150000] [--quick] [--repeats 2] [--dim 1024]
                                       [--memory-mb 64] [--heads-max 150000] [--extract-clips 48]
                                       [--extract-workers 1,2] [--shard-size 8] [--extract-repeats 5]
                                       [--work-dir DIR]
"""

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import json
import logging
import math
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

LABELS = ("angry", "happy", "neutral", "sad")
#: Clips per transaction of the store's writes: the shard of zsfuse.parallel.extract (its SHARD_CLIPS).
SHARD_CLIPS = 32
#: Distinct stored vectors; clip i stores row i % POOL (the store never compares vectors: size and cost are those of
#: N distinct ones, without generating N x dim random numbers per run).
POOL = 4096
FOLDS = 5
FOLD_TRAIN = 0  # fold 1: its training part (4 of 5 speaker groups, ~80 % of the clips) is the fold loaded
NEW_CLIPS = 4  # files extract() has to encode in plan.extract
RATE = 16000
DEFAULT_SIZES = (1500, 15000, 150000)
QUICK_SIZES = (1000, 10000)

#: (key, unit, what growth per 10x clips to expect). Time rows first, then memory, then sizes.
ROWS = [
    ("plan.dataset", "s", "~10: linear"),
    ("plan.encoded", "s", "~10: linear"),
    ("store.write", "s", "~10: linear"),
    ("store.write.cpu", "s", "~10: linear"),
    ("store.keys", "s", "~10: linear (+ sort)"),
    ("plan.extract", "s", "~10: linear"),
    ("fold.load", "s", "~10: linear"),
    ("heads.fit", "s", "~10 x iterations ratio"),
    ("heads.per_iter", "ms", "~10: linear"),
    ("mem.plan.dataset", "MB", "~10: per clip"),
    ("mem.plan.encoded", "MB", "~10: per clip"),
    ("mem.store.write", "MB", "-> 1: bounded"),
    ("mem.store.keys", "MB", "~10: per clip"),
    ("mem.plan.extract", "MB", "~10: per clip"),
    ("mem.fold.load", "MB", "~10: the matrix"),
    ("fold.overhead", "MB", "~10: per clip"),
    ("mem.heads.fit", "MB", "~10: the data"),
    ("store.bytes_per_clip", "B", "1: constant"),
    ("heads.iterations", "", "-"),
]
#: Rows whose repeats are combined by max (memory, peaks); the others by min (best time).
_BY_MAX = ("mem.", "fold.overhead")


# -- memory -------------------------------------------------------------------------------------------------


def rss_bytes():
    """Resident set size of this process in bytes (Linux /proc; elsewhere psutil, else the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def trim_heap():
    """Hand freed heap pages back to the system (glibc), so that the next phase's growth is its own."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Phase:
    """Time a block and sample its resident memory every 2 ms.

    Attributes (after the block): ``seconds`` (wall), ``cpu`` (CPU seconds of the process, the sampler's
    ~1 % included) and ``growth`` (peak - start resident bytes).
    """

    def __enter__(self):
        trim_heap()
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._t0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._cpu0  # user + system, every thread of the process
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        self.growth = max(0, self.peak - self.start)


# -- the synthetic corpus -------------------------------------------------------------------------------------


def synthetic_corpus(n):
    """Paths (of files that do not exist), digests, labels and speakers of N clips."""
    n_speakers = max(FOLDS, n // 100)
    speakers = [f"spk{i % n_speakers:05d}" for i in range(n)]
    paths = [f"/corpus/{s}/clip{i:07d}.wav" for i, s in enumerate(speakers)]
    digests = [hashlib.sha256(f"clip {i}".encode()).hexdigest()[:32] for i in range(n)]
    labels = [LABELS[(i * 7 + i // 11) % len(LABELS)] for i in range(n)]
    return paths, digests, labels, speakers, n_speakers


def vector_pool(dim, seed=0):
    """POOL distinct float32 vectors; clip i stores row i % POOL."""
    return np.random.default_rng(seed).standard_normal((POOL, dim), dtype=np.float32)


def head_features(n, dim, seed=1):
    """N x (4 + dim) float32 features with a class signal: 4 zero-shot logits, then an embedding; and labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    X = np.empty((n, len(LABELS) + dim), dtype=np.float32)
    X[:, : len(LABELS)] = np.eye(len(LABELS), dtype=np.float32)[y] + rng.standard_normal((n, len(LABELS)), np.float32)
    means = rng.standard_normal((len(LABELS), dim), dtype=np.float32) * 0.15
    for start in range(0, n, 8192):  # row blocks: no second N x dim temporary
        stop = min(n, start + 8192)
        block = rng.standard_normal((stop - start, dim), dtype=np.float32)
        X[start:stop, len(LABELS) :] = block + means[y[start:stop]]
    return X, np.asarray(LABELS, dtype=object)[y]


def db_size(path):
    """Bytes of an SQLite database with its write-ahead log folded in (checkpointed)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


# -- one size, in its own process --------------------------------------------------------------------------------


def run_size(n, args, setup):
    """Every phase of part 1 for N clips; returns {row key: value}."""
    os.environ["ZSFUSE_MEMORY_CACHE_MB"] = str(args.memory_mb)  # read by the stores made from here on
    from zsfuse import FMEmbeddingTransformer, LateFusionClassifier
    from zsfuse.audio import Clips, EncodedClip
    from zsfuse.datasets import Dataset, Fold
    from zsfuse.parallel import ExtractionReport, extract
    from zsfuse.store import clear_stores, get_store

    ns = setup["namespace"]
    dim = args.dim
    out = {}

    def record(key, phase):
        out[key] = phase.seconds
        out["mem." + key] = phase.growth / 2**20

    import torch

    torch.set_num_threads(1)  # the 4 new clips: at 2 threads on a busy machine, OpenMP waits made them cost ~0.3 s
    # the tiny WavLM loaded (and torch imported) before any phase, as in a driver that has already fitted it
    fm = FMEmbeddingTransformer(setup["model"], device="cpu", dtype="float32", cache_dir=None)
    extract(fm, [setup["warm_clip"]], n_jobs=1)
    clear_stores()
    paths, digests, labels, speakers, n_speakers = synthetic_corpus(n)
    pool = vector_pool(dim)

    with Phase() as phase:
        group = np.arange(n) % n_speakers % FOLDS
        folds = [Fold(f"fold_{k + 1}", np.flatnonzero(group != k), np.flatnonzero(group == k)) for k in range(FOLDS)]
        dataset = Dataset("synthetic", "/corpus", "speaker-folds", paths, labels, speakers, folds)
    record("plan.dataset", phase)
    train = dataset.folds[FOLD_TRAIN].train

    cache = os.path.join(args.dir, "cache")
    store = get_store(cache)
    with Phase() as phase:
        for start in range(0, n, SHARD_CLIPS):
            stop = min(n, start + SHARD_CLIPS)
            store.put_many(ns, {digests[i]: pool[i % POOL] for i in range(start, stop)})
    record("store.write", phase)
    out["store.write.cpu"] = phase.cpu
    out["store.bytes_per_clip"] = db_size(store.path) / n
    assert store.count(ns) == n

    store.clear_memory()
    with Phase() as phase:
        keys = np.asarray(store.keys(ns), dtype=str)
    record("store.keys", phase)
    assert len(keys) == n
    del keys

    with Phase() as phase:
        encoded = [EncodedClip(p, d, {ns: pool[i % POOL]}) for i, (p, d) in enumerate(zip(paths, digests))]
        clips = Clips(encoded)
        total = 0.0
        for i in range(n):
            total += float(clips.attached(i, ns)[i % dim]) if clips.known_digest(i) else math.nan
    record("plan.encoded", phase)
    assert math.isfinite(total)
    del encoded, clips

    # extract()'s fixed cost: the probe and the new files alone, into another store (same work on them)
    # best of 3, each into its own store opened beforehand (creating a database may wait on the disk: fsync)
    fixed = math.inf
    for other in [os.path.join(args.dir, f"fixed-{k}") for k in range(3)]:
        get_store(other)
        with Phase() as phase:
            extract(fm.set_params(cache_dir=other), setup["new_clips"], n_jobs=1)
        fixed = min(fixed, phase.seconds)
    X = [EncodedClip(p, d, {}) for p, d in zip(paths, digests)] + list(setup["new_clips"])
    store.clear_memory()
    fm.set_params(cache_dir=cache)
    report = ExtractionReport()
    with Phase() as phase:
        result = extract(fm, X, n_jobs=1, report=report)
    record("plan.extract", phase)
    out["plan.extract"] = max(0.0, phase.seconds - fixed)  # the driver's work on the N stored clips
    out["plan.extract.fixed"] = fixed
    assert report.cached == [n] and report.encoded == [len(setup["new_clips"])], report
    np.testing.assert_array_equal(result[n - 1].vectors[ns], pool[(n - 1) % POOL])
    del X, result

    store.clear_memory()
    with Phase() as phase:
        matrix = np.stack(store.get_many(ns, [digests[i] for i in train]))
    record("fold.load", phase)
    assert matrix.shape == (len(train), dim) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[-1], pool[train[-1] % POOL])
    out["fold.overhead"] = max(0.0, out["mem.fold.load"] - matrix.nbytes / 2**20)
    del matrix

    if n <= args.heads_max:
        features, y = head_features(n, dim)
        head = LateFusionClassifier(zs_labels=LABELS, zs_weight=0.5, fusion="concat", normalize="standard")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the time of the iterations it ran is what counts
            with Phase() as phase:
                head.fit(features, y)
        record("heads.fit", phase)
        iterations = int(np.max(head.estimator_.n_iter_))
        out["heads.iterations"] = iterations
        out["heads.per_iter"] = 1000 * phase.seconds / max(1, iterations)
    clear_stores()
    shutil.rmtree(cache, ignore_errors=True)
    return out


# -- part 2: extraction on Dask ------------------------------------------------------------------------------------


def make_clips(folder, count, low, high, seed):
    """``count`` speech-like files of ``low``-``high`` seconds at 16 kHz; their paths."""
    from zsfuse.testing import speechlike, write_wav

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"clip{i:03d}.wav")
        wave = speechlike(float(rng.uniform(low, high)), RATE, f0=float(rng.uniform(90, 250)), seed=seed * 1000 + i)
        write_wav(path, wave, RATE)
        paths.append(path)
    return paths


def prepare(work):
    """The tiny WavLM, the clips of both parts and the store namespace of the vectors (a JSON-able dict)."""
    from zsfuse import FMEmbeddingTransformer
    from zsfuse.parallel import ExtractionReport, extract
    from zsfuse.testing import make_tiny_wavlm

    model = make_tiny_wavlm(os.path.join(work, "tiny-wavlm"))
    warm = make_clips(os.path.join(work, "warm"), 1, 0.5, 0.5, seed=1)[0]
    new = make_clips(os.path.join(work, "new"), NEW_CLIPS, 0.5, 1.0, seed=2)
    report = ExtractionReport()
    extract(FMEmbeddingTransformer(model, device="cpu", dtype="float32"), [warm], n_jobs=1, report=report)
    return {"model": model, "warm_clip": warm, "new_clips": new, "namespace": report.namespaces[0]}


def _clear_worker_stores():
    """On a Dask worker: forget the vectors of the previous run (its process-wide memory store)."""
    from zsfuse.store import clear_stores

    clear_stores()


def _load_on_worker(model, clip):
    """On a Dask worker: load the model (the process-wide model cache) on one clip."""
    from zsfuse import FMEmbeddingTransformer
    from zsfuse.store import clear_stores

    FMEmbeddingTransformer(model, device="cpu", dtype="float32").fit().transform([clip])
    clear_stores()


def extract_once(setup, clips, cache, shard_size, client=None, workers=None):
    """Seconds of one ``extract`` of ``clips`` into the empty store ``cache`` (on the given Dask workers)."""
    from joblib import parallel_config

    from zsfuse import FMEmbeddingTransformer
    from zsfuse.parallel import ExtractionReport, extract
    from zsfuse.store import clear_stores

    shutil.rmtree(cache, ignore_errors=True)
    clear_stores()
    fm = FMEmbeddingTransformer(setup["model"], device="cpu", dtype="float32", cache_dir=cache)
    report = ExtractionReport()
    if client is None:
        start = time.perf_counter()
        extract(fm, clips, n_jobs=1, shard_size=shard_size, report=report)
        seconds = time.perf_counter() - start
    else:
        client.run(_clear_worker_stores)  # a worker's memory store would answer the second run
        # pinned to ``workers``: joblib runs a backend whose effective n_jobs is 1 in this process, so a
        # 1-worker cluster would never use its worker; here the cluster has more and the tasks stay on these
        with parallel_config(backend="dask", workers=workers, allow_other_workers=False):
            start = time.perf_counter()
            extract(fm, clips, n_jobs=-1, shard_size=shard_size, report=report)
            seconds = time.perf_counter() - start
        used = set(report.workers[0])
        assert len(used) <= len(workers) and os.getpid() not in used, report.workers
    assert report.encoded == [len(clips)], report
    clear_stores()
    shutil.rmtree(cache, ignore_errors=True)
    return seconds


def extraction_part(args, setup, work):
    """Part 2: clips/s in this process and on 1 and 2 Dask workers (best of ``--extract-repeats``); printed."""
    import torch

    from zsfuse.audio import file_info

    clips = make_clips(os.path.join(work, "extract"), args.extract_clips, 1.0, 2.0, seed=3)
    seconds = sum(frames / rate for frames, rate in map(file_info, clips))
    print(
        f"\nextraction: {len(clips)} clips of 1-2 s ({seconds:.0f} s of audio), tiny WavLM, shard_size "
        f"{args.shard_size}, an empty store each run, best of {args.extract_repeats} (after one untimed run each)"
    )
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("  distributed is not installed (pip install 'zsfuse[dask]'): Dask rows skipped")
        LocalCluster = None
    cache = os.path.join(work, "extract-cache")
    threads = torch.get_num_threads()
    with contextlib.ExitStack() as stack:
        configs = [("n_jobs=1 in this process (1 torch thread)", None)]
        client = None
        if LocalCluster is not None and args.extract_workers:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=max(args.extract_workers),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
            client.wait_for_workers(max(args.extract_workers))
            client.run(_load_on_worker, setup["model"], setup["warm_clip"])
            addresses = sorted(client.scheduler_info()["workers"])
            configs += [
                (f"Dask LocalCluster, {w} worker{'s' if w > 1 else ''} (of {len(addresses)})", addresses[:w])
                for w in args.extract_workers
            ]
        best = {label: math.inf for label, _ in configs}
        for repeat in range(args.extract_repeats + 1):  # the first run of each is a warm-up, not timed
            for label, workers in configs:
                if workers is None:
                    torch.set_num_threads(1)  # as on a Dask worker (OMP_NUM_THREADS=1)
                    try:
                        seconds = extract_once(setup, clips, cache, args.shard_size)
                    finally:
                        torch.set_num_threads(threads)
                else:
                    seconds = extract_once(setup, clips, cache, args.shard_size, client, workers)
                if repeat > 0:
                    best[label] = min(best[label], seconds)
    width = max(len(label) for label in best)
    for label, time_s in best.items():
        print(f"  {label:<{width}}  {len(clips) / time_s:7.1f} clips/s  ({time_s:.3f} s)")
    per_workers = {w: best[label] for (label, workers) in configs[1:] for w in [len(workers)]}
    if 1 in per_workers:
        for w in sorted(per_workers):
            if w > 1:
                print(f"  {w} workers / 1 worker = {per_workers[1] / per_workers[w]:.2f} x clips/s")
        reference = best[configs[0][0]]
        print(f"  1 worker / in process = {reference / per_workers[1]:.2f} x clips/s (Dask's overhead per shard)")


# -- the driver of the benchmark ---------------------------------------------------------------------------------


def child(n, repeat, args, work):
    """Run one size in a fresh process; its figures."""
    folder = os.path.join(work, f"size-{n}-run-{repeat}")
    os.makedirs(folder, exist_ok=True)
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--phase-size",
        str(n),
        "--dir",
        folder,
        "--setup",
        os.path.join(work, "setup.json"),
        "--dim",
        str(args.dim),
        "--memory-mb",
        str(args.memory_mb),
        "--heads-max",
        str(args.heads_max),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    shutil.rmtree(folder, ignore_errors=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the run of {n} clips failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def size_label(n):
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def growth(q1, q2, n1, n2):
    """Growth of a quantity per 10x clips between two sizes; None where undefined."""
    if q1 is None or q2 is None or q1 <= 0 or q2 < 0:
        return None
    return (q2 / q1) ** (1 / math.log10(n2 / n1))


def cell(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit == "":
        return f"{value:.0f}"
    return f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def print_table(sizes, results, args):
    """The figures per size and their growth per 10x clips."""
    pairs = list(zip(sizes, sizes[1:]))
    head = [
        "quantity",
        "unit",
        *(size_label(n) for n in sizes),
        *(f"x10 {size_label(a)}->{size_label(b)}" for a, b in pairs),
    ]
    rows = []
    for key, unit, expect in ROWS:
        values = [results[n].get(key) for n in sizes]
        growths = [growth(values[i], values[i + 1], a, b) for i, (a, b) in enumerate(pairs)]
        cells = [cell(v, unit) for v in values] + ["-" if g is None else f"{g:.2f}" for g in growths]
        rows.append([key, unit, *cells, expect])
    head.append("expected per 10x")
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    for r in [head, *rows]:
        print(
            "  "
            + "  ".join(
                str(v).ljust(w) if c in (0, 1, len(head) - 1) else str(v).rjust(w)
                for c, (v, w) in enumerate(zip(r, widths))
            )
        )
    skipped = [n for n in sizes if n > args.heads_max]
    if skipped:
        print(f"  heads not fitted above --heads-max {args.heads_max} clips: {', '.join(map(size_label, skipped))}")
    largest = sizes[-1]
    raw = args.dim * 4
    r = results[largest]
    print(
        f"  at {size_label(largest)} clips: store {r['store.bytes_per_clip']:.0f} B per clip on disk "
        f"({r['store.bytes_per_clip'] / raw - 1:+.1%} over the {raw} raw bytes); "
        f"extract() driver {r['mem.plan.extract'] * 2**20 / largest:.0f} B per clip of memory; "
        f"fold load {r['fold.overhead'] * 2**20 / (0.8 * largest):.0f} B per clip beyond the matrix"
    )
    fixed = ", ".join(f"{results[n]['plan.extract.fixed']:.2f} s" for n in sizes)
    print(f"  plan.extract is net of extract()'s fixed cost (probe + {NEW_CLIPS} new files alone): {fixed}")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=None, help="clips per size, comma-separated (default 1500,15000,150000)")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000, 1 repeat, 16 extraction clips")
    parser.add_argument("--repeats", type=int, default=None, help="best of this many runs (default 2; quick 1)")
    parser.add_argument("--dim", type=int, default=1024, help="vector width (float32)")
    parser.add_argument("--memory-mb", type=float, default=64, help="the store's memory level (ZSFUSE_MEMORY_CACHE_MB)")
    parser.add_argument("--heads-max", type=int, default=150000, help="fit the heads up to this many clips")
    parser.add_argument(
        "--extract-clips", type=int, default=None, help="clips of part 2 (default 48; quick 16; 0: skip)"
    )
    parser.add_argument("--extract-workers", default="1,2", help="Dask worker counts, comma-separated")
    parser.add_argument("--shard-size", type=int, default=8, help="clips per extraction task in part 2")
    parser.add_argument("--extract-repeats", type=int, default=None, help="best of, part 2 (default 5; quick 2)")
    parser.add_argument("--work-dir", default=None, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--phase-size", type=int, default=None, help=argparse.SUPPRESS)  # one size, in a child
    parser.add_argument("--dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--setup", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = args.sizes.split(",") if args.sizes else (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.sizes = sorted({int(s) for s in sizes})
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.extract_clips = (16 if args.quick else 48) if args.extract_clips is None else args.extract_clips
    args.extract_repeats = args.extract_repeats or (2 if args.quick else 5)
    args.extract_workers = sorted({int(w) for w in str(args.extract_workers).split(",") if w.strip()})
    if any(n < 2 * FOLDS for n in args.sizes):
        parser.error(f"every size must be at least {2 * FOLDS} clips")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse(argv)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.phase_size is not None:  # a child: one size
        with open(args.setup) as f:
            setup = json.load(f)
        args.dir = os.path.abspath(args.dir)
        print("RESULT " + json.dumps(run_size(args.phase_size, args, setup)), flush=True)
        return

    import sklearn

    import zsfuse

    work = args.work_dir or tempfile.mkdtemp(prefix="zsfuse-bench-scale-")
    os.makedirs(work, exist_ok=True)
    started = time.perf_counter()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"zsfuse scale benchmark (zsfuse {zsfuse.__version__}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
        + (f", load average {load[0]:.2f} at start" if load else "")
        + ")"
    )
    print(
        f"part 1: sizes {', '.join(map(size_label, args.sizes))} clips; {args.dim}-d float32 vectors; "
        f"store memory level {args.memory_mb:g} MB; {SHARD_CLIPS} clips per write transaction; "
        f"fold = 80 % of the clips; heads up to {size_label(args.heads_max)} clips; "
        f"best of {args.repeats} (memory: largest), each size in a fresh process"
    )
    try:
        setup = prepare(work)
        with open(os.path.join(work, "setup.json"), "w") as f:
            json.dump(setup, f)
        runs = {n: [] for n in args.sizes}
        for repeat in range(args.repeats):  # interleaved: a busy moment of the machine hits every size alike
            for n in args.sizes:
                runs[n].append(child(n, repeat, args, work))
        results = {}
        for n, figures in runs.items():
            keys = {k for f in figures for k in f}
            pick = {k: (max if k.startswith(_BY_MAX) else min) for k in keys}
            results[n] = {k: pick[k](f[k] for f in figures if k in f) for k in keys}
        print_table(args.sizes, results, args)
        if args.extract_clips > 0:
            extraction_part(args, setup, work)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"total {time.perf_counter() - started:.0f} s" + (f"; load average {load[0]:.2f} at the end" if load else ""))


if __name__ == "__main__":
    main()

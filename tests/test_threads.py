"""Thread safety: one model, tokenizer, loader cache and store shared by every thread of the process.

joblib's threading backend (and Dask workers, which run several threads) share the process-wide
backends. A fast tokenizer used by two threads at once failed with ``RuntimeError: Already borrowed``;
these tests hammer each shared object from several threads and compare with one thread.
"""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold

from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer, make_zsfuse_pipeline
from zsfuse.datasets import load_dataset
from zsfuse.evaluation import evaluate
from zsfuse.models import clear_model_cache, get_model
from zsfuse.store import EmbeddingStore, clear_stores

pytestmark = pytest.mark.usefixtures("fresh_store")

THREADS = 8
LABELS = ("angry", "happy", "neutral", "sad")


def hammer(fn, jobs, threads=THREADS):
    """Run ``fn(job)`` for every job on ``threads`` threads started together; return the results in order.

    The interpreter switches threads every 10 µs meanwhile (not every 5 ms), so that races show at once.
    """
    barrier = threading.Barrier(threads)

    def run(job):
        if job < threads:
            barrier.wait(timeout=30)  # the first wave starts at once
        return fn(job)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(run, range(jobs)))
    finally:
        sys.setswitchinterval(interval)


def prompt_batches(n):
    """Prompt batches of different lengths and a prompt too long for the text tower: every call pads and truncates."""
    long = "a person speaking " * 200
    return [[f"{w} voice number {i} " * (1 + i % 5) for w in LABELS] + ([long] if i % 3 == 0 else []) for i in range(n)]


def assert_threads_embed_text_as_one(backend, n_batches):
    """``backend.embed_text`` on ``n_batches`` prompt batches: the same vectors from one thread and from many."""
    batches = prompt_batches(n_batches)
    with pytest.warns(UserWarning, match="truncated"):
        serial = [backend.embed_text(b) for b in batches]
    with pytest.warns(UserWarning, match="truncated"):  # the long prompt, whichever thread runs it
        threaded = hammer(lambda i: backend.embed_text(batches[i]), n_batches)
    for a, b in zip(serial, threaded):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- the tokenizer and the forward passes ------------------------------------------------------------------


def test_the_hf_clap_tokenizer_is_shared_by_threads(tiny_clap_dir):
    backend = CLAPZeroShotTransformer(model=tiny_clap_dir, device="cpu", dtype="float32")._backend()
    assert_threads_embed_text_as_one(backend, 24)  # without the lock: RuntimeError: Already borrowed


def test_the_msclap_tokenizer_is_shared_by_threads(tiny_msclap):
    backend = CLAPZeroShotTransformer(
        model=tiny_msclap.checkpoint, version="2023", text_model=tiny_msclap.text_model, device="cpu", dtype="float32"
    )._backend()
    assert_threads_embed_text_as_one(backend, 12)


def test_fm_forward_passes_run_concurrently_on_one_encoder(tiny_wavlm_dir):
    encoder = FMEmbeddingTransformer(model=tiny_wavlm_dir, device="cpu", dtype="float32")._encoder()
    rng = np.random.default_rng(0)
    pieces = [rng.standard_normal(4000 + 800 * i).astype(np.float32) for i in range(THREADS + 1)]
    layers = [(1,), (0, 2), (encoder.spec.n_layers,)]

    def encode(i):
        stats = encoder.encode(pieces[i : i + 2], layers[i % 3], layer_reduce="concat")
        return [s.mean for s in stats]

    serial = [encode(i) for i in range(THREADS)]
    for a, b in zip(serial, hammer(encode, THREADS)):  # each thread gets its own layers
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


# -- the loader cache --------------------------------------------------------------------------------------


@pytest.fixture
def empty_model_cache():
    clear_model_cache()
    yield
    clear_model_cache()


def test_threads_missing_one_key_at_once_load_it_once(empty_model_cache):
    loads = []

    def load():
        loads.append(1)
        threading.Event().wait(0.2)  # a slow load: every other thread misses meanwhile
        return object()

    models = hammer(lambda i: get_model(("test", "one-key"), load), THREADS)
    assert len(loads) == 1
    assert all(m is models[0] for m in models)


def test_a_slow_load_does_not_hold_up_other_keys(empty_model_cache):
    slow_started, fast_loaded = threading.Event(), threading.Event()

    def slow():  # finishes once the other key has loaded: behind one global lock, it would time out
        slow_started.set()
        return fast_loaded.wait(timeout=3)

    def fast():
        fast_loaded.set()
        return True

    def ask(i):
        if i == 0:
            return get_model(("test", "slow"), slow)
        slow_started.wait(timeout=3)
        return get_model(("test", "fast"), fast)

    assert hammer(ask, 2, 2) == [True, True]


def test_a_failed_load_is_retried_and_never_cached(empty_model_cache):
    calls = []

    def load():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return "model"

    with pytest.raises(OSError):
        get_model(("test", "flaky"), load)
    assert hammer(lambda i: get_model(("test", "flaky"), load), THREADS) == ["model"] * THREADS
    assert len(calls) == 2


# -- the embedding store -------------------------------------------------------------------------------


@pytest.mark.parametrize("on_disk", [False, True])
def test_the_store_under_concurrent_puts_gets_and_counts(tmp_path, on_disk):
    store = EmbeddingStore(tmp_path / "cache" if on_disk else None, max_memory_bytes=2000 * 64)
    rounds, per_round = 40, 50

    def work(i):
        found = []
        for r in range(rounds):
            keys = [f"k{i}-{r}-{j}" for j in range(per_round)]
            store.put_many("ns", {k: np.full(8, i, np.float64) for k in keys})
            found += store.get_many("ns", keys + ["never-stored"])
            store.count("ns")  # iterates the memory level while other threads insert and evict
        return found

    results = hammer(work, THREADS)
    held = list(store._memory.values())
    assert store._memory_bytes == sum(v.nbytes for v in held) <= store.max_memory_bytes
    lookups = THREADS * rounds * (per_round + 1)
    assert store.stats["memory_hits"] + store.stats["disk_hits"] + store.stats["misses"] == lookups
    assert store.stats["writes"] == THREADS * rounds * per_round
    for i, found in enumerate(results):
        assert {float(v[0]) for v in found if v is not None} == {float(i)}
        misses = sum(v is None for v in found)  # "never-stored"; in memory alone, maybe an evicted key too
        assert misses == rounds if on_disk else misses >= rounds
    if on_disk:
        assert store.count("ns") == THREADS * rounds * per_round


# -- evaluate and GridSearchCV with the threading backend ----------------------------------------------------


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """The demo corpus, smaller: 3 speakers (one fold each) x 4 classes x 2 clips of 0.5 s."""
    from zsfuse.testing import write_demo_corpus

    manifest = write_demo_corpus(
        tmp_path_factory.mktemp("small-corpus"), n_speakers=3, clips_per_class=2, seconds=0.5, n_folds=3
    )
    return load_dataset("manifest", manifest)


def scores(results):
    return [
        (f["fold"], name, f["systems"][name]["ua"], f["systems"][name]["confusion"])
        for f in results["folds"]
        for name in results["systems"]
    ]


def test_evaluate_with_threads_gives_the_serial_results(small_corpus, tiny_clap_dir, tiny_wavlm_dir, tmp_path):
    def run(name, **kwargs):
        return evaluate(
            small_corpus,
            clap=tiny_clap_dir,
            fm=tiny_wavlm_dir,
            grid={"zs__audio_repeats": [1, 2]},
            params={"zs__pad_mode": "zero", "clf__estimator": RidgeClassifier()},
            folds=["fold_1"],
            device="cpu",
            dtype="float32",
            progress=False,
            cache_dir=str(tmp_path / f"cache-{name}"),
            out=tmp_path / f"out-{name}",
            **kwargs,
        )

    serial = run("serial")
    clear_stores()
    with joblib.parallel_config(backend="threading"):  # without the tokenizer lock: RuntimeError: Already borrowed
        threaded = run("threads", n_jobs=2)
    assert scores(threaded) == scores(serial)


def test_grid_search_with_threads_gives_the_serial_results(small_corpus, tiny_clap_dir, tiny_wavlm_dir):
    X, y, groups = list(small_corpus.paths), np.asarray(small_corpus.labels), np.asarray(small_corpus.speakers)
    grid = {"features__zs__audio_repeats": [1, 2]}  # two clones encode the same clips at once

    def search(n_jobs):
        clear_stores()  # each run encodes everything itself (threads share the in-memory store)
        pipe = make_zsfuse_pipeline(
            clap=tiny_clap_dir, fm=tiny_wavlm_dir, zs__pad_mode="zero", device="cpu", clf__estimator=RidgeClassifier()
        )
        return GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3), n_jobs=n_jobs).fit(X, y, groups=groups)

    serial = search(1)
    with joblib.parallel_config(backend="threading"):
        threaded = search(2)
    assert threaded.best_params_ == serial.best_params_
    for key in ["params", "mean_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_array_equal(threaded.cv_results_[key], serial.cv_results_[key], err_msg=key)

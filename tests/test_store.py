"""The embedding store: memory LRU, SQLite disk level, crash safety, concurrency, encode-once."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from zsfuse.audio import Clips
from zsfuse.extraction import encode_clips, encode_texts
from zsfuse.store import EmbeddingStore, clear_stores, get_store

sys.path.insert(0, os.path.dirname(__file__))
from _store_writer import NAMESPACE, value_for  # noqa: E402

WRITER = os.path.join(os.path.dirname(__file__), "_store_writer.py")


def writer(cache_dir, prefix, n_batches, batch, size, flag=None):
    args = [sys.executable, WRITER, str(cache_dir), prefix, str(n_batches), str(batch), str(size)]
    return subprocess.Popen(args + ([str(flag)] if flag else []), stdout=subprocess.PIPE, text=True)


def check_entries(cache_dir, prefix, n_batches, batch, size):
    """Every batch is wholly present or wholly absent, and every value is intact."""
    store = EmbeddingStore(cache_dir)
    present = []
    for b in range(n_batches):
        keys = [f"{prefix}-{b}-{k}" for k in range(batch)]
        values = store.get_many(NAMESPACE, keys)
        found = [v is not None for v in values]
        assert all(found) or not any(found), f"batch {b} is partly written"
        for key, value in zip(keys, values):
            if value is not None:
                np.testing.assert_array_equal(value, value_for(key, size))
        present.append(all(found))
    return present


def test_memory_round_trip_and_read_only():
    store = EmbeddingStore()
    store.put_many("ns", {"a": np.arange(3.0), "b": np.ones(2)})
    a, b, c = store.get_many("ns", ["a", "b", "c"])
    np.testing.assert_array_equal(a, [0, 1, 2])
    assert c is None and not a.flags.writeable
    assert store.get_many("other-namespace", ["a"]) == [None]
    assert store.stats["memory_hits"] == 2 and store.stats["misses"] == 2


def test_memory_level_is_bounded_lru():
    store = EmbeddingStore(max_memory_bytes=3 * 800)
    for k in "abcd":
        store.put_many("ns", {k: np.zeros(100)})  # 800 bytes each
        store.get_many("ns", ["a"])  # keep "a" recently used
    assert [v is not None for v in store.get_many("ns", list("abcd"))] == [True, False, True, True]


def test_one_store_per_cache_dir_per_process(tmp_path):
    clear_stores()
    assert get_store() is get_store()
    assert get_store(tmp_path) is get_store(str(tmp_path) + "/")
    assert get_store(tmp_path) is not get_store()


def test_disk_level_persists_across_stores(tmp_path):
    EmbeddingStore(tmp_path).put_many("ns", {"k": np.arange(4, dtype=np.float16).reshape(2, 2)})
    fresh = EmbeddingStore(tmp_path)
    (value,) = fresh.get_many("ns", ["k"])
    assert value.dtype == np.float16 and value.shape == (2, 2)
    assert fresh.stats["disk_hits"] == 1 and fresh.count("ns") == 1 and fresh.namespaces() == ["ns"]


def test_child_killed_mid_write_leaves_no_corrupt_entry(tmp_path):
    # batches of 20 x 64 KiB: a kill lands inside a transaction most of the time
    n_batches, batch, size = 100, 20, 16384
    child = writer(tmp_path, "kill", n_batches, batch, size)
    for _ in range(3):
        assert child.stdout.readline().startswith("committed")
    time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    conn = sqlite3.connect(tmp_path / "embeddings.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    present = check_entries(tmp_path, "kill", n_batches, batch, size)
    assert 3 <= sum(present) < n_batches, "the kill should land after three commits and before the end"
    # the next run resumes: only what is missing gets written, nothing is lost
    done = writer(tmp_path, "kill", n_batches, batch, size)
    done.communicate()
    assert all(check_entries(tmp_path, "kill", n_batches, batch, size))


def test_two_writers_at_once_lose_nothing(tmp_path):
    flag = tmp_path / "go"
    EmbeddingStore(tmp_path)  # create the database before both start
    children = [writer(tmp_path, p, 60, 10, 256, flag) for p in ("one", "two")]
    time.sleep(1.0)
    flag.touch()
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0 and out.count("committed") == 60
    for prefix in ("one", "two"):
        assert all(check_entries(tmp_path, prefix, 60, 10, 256))
    assert EmbeddingStore(tmp_path).count() == 2 * 60 * 10


# -- encode once -------------------------------------------------------------------------------------


class CountingEncoder:
    """Embeds a clip as [mean, rms, seconds]; counts what it encodes."""

    def __init__(self, fail_after=None):
        self.calls = []
        self.fail_after = fail_after

    def __call__(self, batch):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.append([c.index for c in batch])
        return [np.array([c.wave.mean(), np.sqrt((c.wave**2).mean()), c.seconds]) for c in batch]

    @property
    def n_clips(self):
        return sum(len(b) for b in self.calls)


def make_waves(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(int(rng.integers(800, 4000))).astype(np.float32) for _ in range(n)]


def test_each_unique_clip_is_encoded_once():
    waves = make_waves(10)
    X = waves + [waves[3], waves[3].copy(), waves[0]]  # duplicates by content
    clips = Clips(X, sampling_rate=8000)
    store, enc = EmbeddingStore(), CountingEncoder()
    first = encode_clips(clips, store, "enc", enc, batch_size=4)
    assert enc.n_clips == 10
    np.testing.assert_array_equal(first[11], first[3])
    again = CountingEncoder()
    second = encode_clips(Clips(X[::-1], sampling_rate=8000), store, "enc", again, batch_size=3)
    assert again.n_clips == 0
    for a, b in zip(first, second[::-1]):
        np.testing.assert_array_equal(a, b)
    other = CountingEncoder()
    encode_clips(clips, store, "enc|repeats=2", other)  # another front-end setting: encoded again
    assert other.n_clips == 10


def test_results_do_not_depend_on_batching_or_sorting():
    clips = Clips(make_waves(9, seed=1), sampling_rate=8000)
    ref = encode_clips(clips, EmbeddingStore(), "enc", CountingEncoder(), batch_size=1, sort_by_length=False)
    enc = CountingEncoder()
    out = encode_clips(clips, EmbeddingStore(), "enc", enc, batch_size=4)
    lengths = [[clips.seconds(i) for i in b] for b in enc.calls]
    assert sum(lengths, []) == sorted(sum(lengths, []))  # batched by length
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a, b)


def test_cached_files_are_neither_decoded_nor_encoded_again(tmp_path, monkeypatch):
    from zsfuse.audio import _clips

    paths = []
    for i, wave in enumerate(make_waves(6, seed=2)):
        paths.append(str(tmp_path / f"{i}.wav"))
        sf.write(paths[-1], wave * 0.1, 8000, subtype="FLOAT")
    store = EmbeddingStore(tmp_path / "cache")
    encode_clips(Clips(paths), store, "enc", CountingEncoder(), batch_size=2)
    decoded = []
    real = _clips.decode_file
    monkeypatch.setattr(_clips, "decode_file", lambda p, index=None: decoded.append(p) or real(p, index))
    enc = CountingEncoder()
    encode_clips(Clips(paths), store, "enc", enc)
    assert enc.n_clips == 0 and decoded == []
    # a new process knows no digests: it decodes, but finds every embedding on disk
    from zsfuse.audio._clips import _FileMemo

    monkeypatch.setattr(_clips, "_FILE_DIGESTS", _FileMemo())
    enc = CountingEncoder()
    encode_clips(Clips(paths), EmbeddingStore(tmp_path / "cache"), "enc", enc)
    assert enc.n_clips == 0 and len(decoded) == 6


def test_interrupted_extraction_resumes(tmp_path):
    clips = Clips(make_waves(10, seed=3), sampling_rate=8000)
    with pytest.raises(KeyboardInterrupt):
        encode_clips(clips, EmbeddingStore(tmp_path), "enc", CountingEncoder(fail_after=2), batch_size=3)
    enc = CountingEncoder()
    out = encode_clips(clips, EmbeddingStore(tmp_path), "enc", enc, batch_size=3)
    assert enc.n_clips == 10 - 2 * 3
    ref = encode_clips(clips, EmbeddingStore(), "enc", CountingEncoder())
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a, b)


def test_texts_are_encoded_once_per_distinct_string(tmp_path):
    seen = []

    def encode(texts):
        seen.extend(texts)
        return [np.array([len(t), t.count(" ")], dtype=np.float32) for t in texts]

    store = EmbeddingStore(tmp_path)
    prompts = ["angry", "sad", "angry", "this person is angry.", "sad"]
    out = encode_texts(prompts, store, "text-enc", encode, batch_size=2)
    assert sorted(seen) == sorted(set(prompts))
    np.testing.assert_array_equal(out[0], out[2])
    seen.clear()
    encode_texts(prompts + ["Angry"], EmbeddingStore(tmp_path), "text-enc", encode)
    assert seen == ["Angry"]  # keyed by the exact string

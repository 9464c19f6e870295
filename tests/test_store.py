"""The embedding store: memory LRU, SQLite disk level, crash safety, concurrency, integrity,
clear errors on an unusable cache, encode-once."""

import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import soundfile as sf

from zsfuse.audio import Clips
from zsfuse.exceptions import CacheError
from zsfuse.extraction import encode_clips, encode_texts
from zsfuse.store import _DB_NAME, EmbeddingStore, clear_stores, get_store, namespace_id

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
    conn = sqlite3.connect(tmp_path / _DB_NAME)
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


# -- integrity: an altered entry is a miss, never a wrong vector ------------------------------------------


def edit_rows(path, updates):
    """Apply ``{key: {column: value}}`` to the embeddings table of the database at ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for key, columns in updates.items():
            sets = ", ".join(f"{c} = ?" for c in columns)
            conn.execute(f"UPDATE embeddings SET {sets} WHERE key = ?", (*columns.values(), key))
    finally:
        conn.close()


def read_row(path, key):
    """Every column but ns and key of ``key``'s row, as a dict."""
    conn = sqlite3.connect(path)
    try:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(embeddings)") if r[1] not in ("ns", "key")]
        row = conn.execute(f"SELECT {', '.join(cols)} FROM embeddings WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return dict(zip(cols, row))


def read_fresh(cache_dir, keys, namespace="ns"):
    """Look ``keys`` up through a new store (so from disk); return the values and the UserWarnings."""
    store = EmbeddingStore(cache_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = store.get_many(namespace, keys)
    return store, values, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_flipped_bytes_are_a_miss_with_one_warning_and_the_recomputed_vector_is_stored(tmp_path):
    good = {k: np.arange(16, dtype=np.float32) + i for i, k in enumerate("abcde")}
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", good)
    for key in "ace":
        data = bytearray(read_row(store.path, key)["data"])
        data[5] ^= 0x01  # one bit of one float
        edit_rows(store.path, {key: {"data": bytes(data)}})
    fresh, values, warned = read_fresh(tmp_path, list("abcde"))
    assert [v is None for v in values] == [True, False, True, False, True]
    np.testing.assert_array_equal(values[1], good["b"])
    assert len(warned) == 1, "one warning per get_many call"
    assert "3 " in warned[0] and fresh.path in warned[0] and "recomputed" in warned[0]
    assert fresh.stats["misses"] == 3 and fresh.stats["disk_hits"] == 2
    assert fresh.count("ns") == 2  # the bad rows were deleted
    # the caller re-encodes what was missing: the new vector is stored (the bad row is gone)
    fresh.put_many("ns", {k: good[k] for k in "ace"})
    _, values, warned = read_fresh(tmp_path, list("abcde"))
    assert warned == []
    for key, value in zip("abcde", values):
        np.testing.assert_array_equal(value, good[key])


def test_rows_swapped_between_two_keys_are_detected(tmp_path):
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"a": np.zeros(8, np.float32), "b": np.ones(8, np.float32), "c": np.full(8, 2.0)})
    a, b = read_row(store.path, "a"), read_row(store.path, "b")
    edit_rows(store.path, {"a": b, "b": a})  # every column but the key swapped
    _, values, warned = read_fresh(tmp_path, ["a", "b", "c"])
    assert values[0] is None and values[1] is None
    np.testing.assert_array_equal(values[2], np.full(8, 2.0))
    assert len(warned) == 1 and "2 " in warned[0]


def test_edited_shape_or_dtype_is_detected(tmp_path):
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"s": np.arange(8, dtype=np.float32).reshape(2, 4), "d": np.arange(8, dtype=np.float32)})
    edit_rows(store.path, {"s": {"shape": "[4, 2]"}, "d": {"dtype": "<i4"}})  # same byte count: reshapes fine
    _, values, warned = read_fresh(tmp_path, ["s", "d"])
    assert [v is None for v in values] == [True, True]
    assert len(warned) == 1 and "2 " in warned[0]


def test_rows_with_a_valid_checksum_but_an_unusable_layout_are_corrupt(tmp_path):
    from zsfuse.store import _checksum

    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"obj": np.zeros(2), "short": np.zeros(3), "neg": np.zeros(2), "ok": np.zeros(2)})
    ns, data = namespace_id("ns"), np.zeros(2).tobytes()
    forged = {"obj": ("|O", "[2]"), "short": ("<f8", "[3]"), "neg": ("<f8", "[-2]")}
    for key, (dtype, shape) in forged.items():
        row = {"dtype": dtype, "shape": shape, "data": data, "checksum": _checksum(ns, key, dtype, shape, data)}
        edit_rows(store.path, {key: row})
    _, values, warned = read_fresh(tmp_path, ["obj", "short", "neg", "ok"])
    assert [v is None for v in values] == [True, True, True, False]
    assert len(warned) == 1 and "3 " in warned[0]


def test_non_numeric_embedding_is_refused(tmp_path):
    # an object array's bytes are pointers: stored, they would read back as garbage in another process
    for store in (EmbeddingStore(), EmbeddingStore(tmp_path)):
        with pytest.raises(TypeError, match="numeric"):
            store.put_many("ns", {"k": np.array([{"a": 1}, None], dtype=object)})
        assert store.get_many("ns", ["k"])[0] is None


def test_first_vector_written_is_kept(tmp_path):
    EmbeddingStore(tmp_path).put_many("ns", {"k": np.zeros(3)})
    EmbeddingStore(tmp_path).put_many("ns", {"k": np.ones(3)})
    _, values, warned = read_fresh(tmp_path, ["k"])
    np.testing.assert_array_equal(values[0], np.zeros(3))
    assert warned == []


def test_old_schema_database_in_the_folder_is_not_read(tmp_path):
    old = tmp_path / "embeddings.sqlite"  # what zsfuse wrote before checksums
    conn = sqlite3.connect(old)
    conn.executescript(
        """
        CREATE TABLE namespaces (ns TEXT PRIMARY KEY, description TEXT NOT NULL);
        CREATE TABLE embeddings (ns TEXT NOT NULL, key TEXT NOT NULL, dtype TEXT NOT NULL,
            shape TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;
        """
    )
    conn.execute("INSERT INTO namespaces VALUES (?, ?)", (namespace_id("ns"), "ns"))
    conn.execute("INSERT INTO embeddings VALUES (?, 'k', '<f8', '[3]', ?)", (namespace_id("ns"), np.ones(3).tobytes()))
    conn.commit()
    conn.close()
    before = old.read_bytes()
    store, values, warned = read_fresh(tmp_path, ["k"])
    assert values[0] is None and warned == []
    assert store.count() == 0 and store.namespaces() == []
    assert store.path != str(old) and old.read_bytes() == before


# -- an unusable cache is a CacheError that says what to do -----------------------------------------------


def assert_actionable(error, path):
    message = str(error)
    assert str(path) in message and "\n" not in message
    assert "cache_dir=None" in message and "--no-cache" in message and "delete" in message.lower()


def test_garbage_database_file_raises_cache_error_naming_it(tmp_path):
    (tmp_path / _DB_NAME).write_bytes(np.random.default_rng(0).bytes(16384))
    with pytest.raises(CacheError) as info:
        EmbeddingStore(tmp_path).get_many("ns", ["k"])
    assert_actionable(info.value, tmp_path / _DB_NAME)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    clear_stores()
    with pytest.raises(CacheError):
        get_store(tmp_path)


def test_text_file_named_like_the_database_raises_cache_error(tmp_path):
    (tmp_path / _DB_NAME).write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(CacheError, match="not an SQLite database") as info:
        EmbeddingStore(tmp_path).get_many("ns", ["k"])
    assert_actionable(info.value, tmp_path / _DB_NAME)


def test_malformed_database_pages_raise_cache_error_on_every_read(tmp_path):
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {f"k{i}": np.arange(64.0) + i for i in range(200)})
    store._connect().close()  # last connection: the WAL is folded back into the file
    with open(store.path, "r+b") as f:  # keep page 1 (header and schema), scramble the tables
        f.seek(4096)
        f.write(np.random.default_rng(1).bytes(os.path.getsize(store.path) - 4096))
    for read in (lambda s: s.get_many("ns", ["k1", "k2"]), lambda s: s.count(), lambda s: s.namespaces()):
        with pytest.raises(CacheError) as info:
            read(EmbeddingStore(tmp_path))
        assert_actionable(info.value, store.path)


def test_cache_dir_that_is_a_file_raises_cache_error(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("oops")
    with pytest.raises(CacheError) as info:
        EmbeddingStore(not_a_folder)
    message = str(info.value)
    assert str(not_a_folder) in message and "not a folder" in message
    assert "cache_dir=None" in message and "--no-cache" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod: see the simulated tests below")
@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_database_or_folder_raises_cache_error(tmp_path, what):
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"k": np.zeros(2)})
    store._connect().close()
    target = pathlib.Path(store.path) if what == "file" else tmp_path
    target.chmod(0o444 if what == "file" else 0o555)
    try:
        with pytest.raises(CacheError) as info:
            EmbeddingStore(tmp_path).put_many("ns", {"j": np.zeros(2)})
        assert_actionable(info.value, store.path)
    finally:
        target.chmod(0o644 if what == "file" else 0o755)


def test_read_only_database_simulated_by_sqlite_read_only_mode_raises_cache_error(tmp_path, monkeypatch):
    # tests run as root, whom chmod does not stop: open the file read-only at the SQLite level instead
    EmbeddingStore(tmp_path).put_many("ns", {"k": np.zeros(2)})
    real_connect = sqlite3.connect

    def read_only_connect(path, *args, **kwargs):
        return real_connect(pathlib.Path(path).as_uri() + "?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    with pytest.raises(CacheError, match="read-only") as info:
        EmbeddingStore(tmp_path).put_many("ns", {"j": np.zeros(2)})
    assert_actionable(info.value, tmp_path / _DB_NAME)


class FailingConnection:
    """Wraps a connection; statements containing ``fail_on`` raise ``error`` (a simulated failure)."""

    def __init__(self, conn, fail_on, error):
        self._conn, self._fail_on, self._error = conn, fail_on, error

    def execute(self, sql, *args):
        if self._fail_on in sql:
            raise self._error
        return self._conn.execute(sql, *args)

    def executemany(self, sql, *args):
        if self._fail_on in sql:
            raise self._error
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.mark.parametrize(
    "message, expected",
    [
        ("attempt to write a readonly database", "read-only"),
        ("database or disk is full", "full"),
        ("database is locked", "locked"),
    ],
)
def test_sqlite_write_errors_simulated_on_the_connection_raise_cache_error(tmp_path, message, expected):
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"a": np.zeros(2)})
    real = store._connect()
    store._local.conn = FailingConnection(real, "INSERT OR IGNORE INTO embeddings", sqlite3.OperationalError(message))
    with pytest.raises(CacheError, match=expected) as info:
        store.put_many("ns", {"b": np.ones(2), "c": np.ones(2)})
    assert_actionable(info.value, store.path)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    store._local.conn = real
    assert not real.in_transaction
    values = EmbeddingStore(tmp_path).get_many("ns", ["a", "b", "c"])
    assert [v is None for v in values] == [False, True, True]  # the failed batch was rolled back


def test_disk_full_on_write_raises_cache_error_and_loses_nothing_finished(tmp_path):
    # a real SQLITE_FULL: the database is capped at its current size with PRAGMA max_page_count
    store = EmbeddingStore(tmp_path)
    store.put_many("ns", {"a": np.arange(4.0)})
    conn = store._connect()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0] + 1}")
    big = {f"big{i}": np.zeros(4096) for i in range(10)}
    with pytest.raises(CacheError, match="full") as info:
        store.put_many("ns", big)
    assert_actionable(info.value, store.path)
    conn.execute("PRAGMA max_page_count = 1073741823")
    fresh = EmbeddingStore(tmp_path)
    assert fresh.get_many("ns", ["big0"])[0] is None and fresh.count() == 1
    store.put_many("ns", big)  # the store is still usable once there is room
    assert EmbeddingStore(tmp_path).count() == 11


def test_database_locked_by_another_connection_raises_cache_error(tmp_path):
    store = EmbeddingStore(tmp_path)
    store._connect().execute("PRAGMA busy_timeout = 50")  # instead of waiting two minutes
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        with pytest.raises(CacheError, match="locked") as info:
            store.put_many("ns", {"a": np.zeros(2)})
        assert_actionable(info.value, store.path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.put_many("ns", {"a": np.zeros(2)})
    assert EmbeddingStore(tmp_path).count() == 1


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


def test_enable_wal_retries_while_another_connection_holds_the_lock():
    import sqlite3

    from zsfuse.store import enable_wal

    calls, pauses = [], []

    def locked_twice(sql):
        calls.append(sql)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")

    enable_wal(locked_twice, timeout=5, sleep=pauses.append)
    assert calls == ["PRAGMA journal_mode = WAL"] * 3 and pauses == [0.01, 0.02]

    def always_locked(sql):
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(always_locked, timeout=0.05)

    def broken(sql):
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):  # other errors are not retried
        enable_wal(broken, timeout=5, sleep=pauses.append)
    assert pauses == [0.01, 0.02]

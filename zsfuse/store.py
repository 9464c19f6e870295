"""The embedding store: every (clip, encoder, front-end setting) is encoded once.

Embeddings are keyed by a *namespace* -- a string naming the encoder (its
fingerprint) and every front-end setting that changes what reaches it
(target rate, repeats, padding, windowing) -- and an item key: the content
digest of the decoded clip, or the exact text of a prompt.

Two levels:

* **memory** -- a bounded LRU shared by every estimator, clone and grid point in
  the process (:func:`get_store` returns one store per ``cache_dir``);
* **disk** (optional ``cache_dir``) -- one SQLite database. SQLite's journal
  makes each batch of writes atomic, so a process killed mid-write leaves no
  partial entry and keeps every finished batch, and several processes
  (GridSearchCV with ``n_jobs=2``, a second experiment) may read and write it at
  once. Keep ``cache_dir`` on a local disk: SQLite locking is unreliable on
  network file systems.

Integrity. Every entry on disk carries a checksum (the first 16 bytes of the
SHA-256 of its namespace id, key, dtype, shape and data), verified on every
disk read. An entry that fails it -- altered bytes, an edited dtype or shape,
data swapped with another key's -- or whose layout is unusable (not a plain
numeric dtype, a blob that does not fit its shape) is treated as a miss: one
``UserWarning`` per lookup gives the count and the database path, the bad rows
are deleted, and the caller recomputes and stores those embeddings again. A
good entry is never overwritten: the first vector written for a key is kept.

Threads share one store: the memory level and the counters are guarded by a
lock (held for dictionary operations only, never during disk I/O), and each
thread opens its own SQLite connection (a ``sqlite3`` connection belongs to the
thread that made it), whose writes SQLite serialises like another process's.

The database is ``embeddings-v2.sqlite``. Versions of zsfuse before checksums
wrote ``embeddings.sqlite``: such a file is never opened, never read (its
entries are recomputed once), and may be deleted.

A cache that cannot be used -- a corrupt file, a file that is not an SQLite
database, a read-only file or folder, a ``cache_dir`` that is a file, a full
disk, a database locked by another process for longer than the busy timeout --
raises :class:`~zsfuse.exceptions.CacheError`, whose one-line message names the
database and says what to do (delete the cache folder, choose another
``cache_dir``, or run without a disk cache: ``cache_dir=None``, ``--no-cache``),
chained to the original ``sqlite3`` error.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import time
import warnings
from collections import OrderedDict

import numpy as np

from .exceptions import CacheError

__all__ = ["EmbeddingStore", "get_store", "open_stores", "clear_stores", "DEFAULT_MEMORY_BYTES"]

#: Default bound of the in-memory level (override with ZSFUSE_MEMORY_CACHE_MB).
DEFAULT_MEMORY_BYTES = 1 << 30

#: The database file. A schema change gets a new name, so that an old cache is never misread.
_DB_NAME = "embeddings-v2.sqlite"
#: How long a writer waits for another process's transaction before giving up.
_BUSY_TIMEOUT_S = 120.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    ns TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""
#: What to do about an unusable cache (the end of every CacheError message).
_ADVICE = (
    "Delete the cache folder {folder} (it only holds embeddings, which are recomputed), "
    "choose another cache_dir, or run without a disk cache (cache_dir=None, --no-cache on the command line)."
)
#: ``dtype.str`` of a plain numeric dtype: bool, integers, floats, complex (never object, strings, records).
_NUMERIC_DTYPE = re.compile(r"[<>|=]?[biufc][0-9]{1,2}")


# The checksum of an entry is the first 16 bytes of SHA-256 over
#   "zsfuse-v2|" + len(ns) ":" ns + len(key) ":" key + len(dtype) ":" dtype + len(shape) ":" shape + "|" + data
# (lengths in characters): every text field is length-prefixed, so no two entries frame to the same bytes.
def _ns_part(ns) -> bytes:
    return f"zsfuse-v2|{len(ns)}:{ns}".encode("utf-8", "surrogatepass")


def _key_part(key) -> bytes:
    return f"{len(key)}:{key}".encode("utf-8", "surrogatepass")


def _layout_part(dtype, shape) -> bytes:
    return f"{len(dtype)}:{dtype}{len(shape)}:{shape}|".encode("utf-8", "surrogatepass")


def _checksum(ns, key, dtype, shape, data) -> bytes:
    """Return the checksum of one entry: 16 bytes binding namespace id, key, dtype, shape and data."""
    digest = hashlib.sha256(_ns_part(ns) + _key_part(key) + _layout_part(dtype, shape))
    digest.update(data)
    return digest.digest()[:16]


def _layout(dtype, shape):
    """Return ``(numpy dtype, shape tuple, byte count, checksum part)`` of an entry, or None if unusable.

    Usable: a plain numeric dtype (bool, integer, float, complex; never object, strings or
    records) and a JSON list of non-negative integers.
    """
    if not (isinstance(dtype, str) and isinstance(shape, str) and _NUMERIC_DTYPE.fullmatch(dtype)):
        return None
    try:
        np_dtype = np.dtype(dtype)
        dims = json.loads(shape)
    except (TypeError, ValueError, RecursionError):
        return None
    if np_dtype.kind not in "biufc" or np_dtype.fields is not None or np_dtype.subdtype is not None:
        return None
    if not isinstance(dims, list) or not all(type(d) is int and d >= 0 for d in dims):
        return None
    return np_dtype, tuple(dims), math.prod(dims) * np_dtype.itemsize, _layout_part(dtype, shape)


def _verified(ns, rows):
    """Split database rows ``(key, dtype, shape, data, checksum)`` into good arrays and bad rows.

    Returns
    -------
    found : dict of str to ndarray
        Key to its read-only array, for every row whose checksum and layout hold.
    bad : list of tuple
        The other rows, altered or corrupt.
    """
    found, bad, layouts = {}, [], {}
    namespace_digest = hashlib.sha256(_ns_part(ns))
    for row in rows:
        key, dtype, shape, data, checksum = row
        layout = layouts.get((dtype, shape), False)
        if layout is False:
            layout = layouts[(dtype, shape)] = _layout(dtype, shape)
        if layout is None or type(data) is not bytes or len(data) != layout[2] or type(key) is not str:
            bad.append(row)
            continue
        digest = namespace_digest.copy()
        digest.update(_key_part(key))
        digest.update(layout[3])
        digest.update(data)
        if digest.digest()[:16] != checksum:
            bad.append(row)
            continue
        found[key] = np.ndarray(layout[1], layout[0], data)  # over bytes: read-only, no copy
    return found, bad


def _problem(exc) -> str:
    """Say in a few words what an sqlite3 error means for the cache."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return "is read-only"
    if name.startswith("SQLITE_NOTADB") or "not a database" in text:
        return "is not an SQLite database (or its header is corrupt)"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text or "corrupt" in text:
        return "is corrupt"
    if name.startswith("SQLITE_FULL") or "full" in text:
        return "cannot be written: the disk is full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return f"stayed locked by another process for more than {_BUSY_TIMEOUT_S:g} s"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "cannot be opened (is its folder readable and writable?)"
    if name.startswith("SQLITE_IOERR") or "i/o error" in text:
        return "cannot be read or written (disk I/O error)"
    if "no such" in text or "has no column" in text:
        return "does not hold the tables zsfuse expects"
    return "cannot be used"


def enable_wal(execute, timeout=None, sleep=time.sleep):
    """Switch a database to WAL, retrying while another connection holds the lock.

    When several processes open a new store at once, SQLite may answer the
    journal-mode change with "database is locked" at once instead of waiting
    (its deadlock avoidance skips the busy handler); the change is then retried
    with a growing pause until ``timeout`` has passed.

    Parameters
    ----------
    execute : callable
        ``sqlite3.Connection.execute`` of the connection.
    timeout : float, optional
        Seconds to keep retrying (default: the store's busy timeout).
    sleep : callable, default=time.sleep
        Pause between attempts (replaced in tests).

    Raises
    ------
    sqlite3.OperationalError
        If the database is still locked after ``timeout``, or for any other error.
    """
    deadline = time.monotonic() + (_BUSY_TIMEOUT_S if timeout is None else timeout)
    pause = 0.01
    while True:
        try:
            execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() >= deadline:
                raise
        sleep(pause)
        pause = min(pause * 2, 0.25)


def namespace_id(namespace: str) -> str:
    """Return the short stable id (32 hex characters) of a namespace description."""
    return hashlib.blake2b(namespace.encode(), digest_size=16).hexdigest()


class EmbeddingStore:
    """Bounded in-memory LRU in front of an optional SQLite database.

    Most code should call :func:`get_store` instead, which shares one store per
    ``cache_dir`` across the process.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Folder of the on-disk level (created if needed). None keeps everything
        in memory only.
    max_memory_bytes : int, optional
        Bound of the memory level; least recently used entries are dropped
        beyond it. Default :data:`DEFAULT_MEMORY_BYTES`, or the environment
        variable ``ZSFUSE_MEMORY_CACHE_MB``.

    Attributes
    ----------
    stats : dict
        Counters: ``memory_hits``, ``disk_hits``, ``misses``, ``writes``.
    """

    def __init__(self, cache_dir=None, max_memory_bytes=None):
        self.cache_dir = None if cache_dir is None else os.path.abspath(os.fspath(cache_dir))
        if max_memory_bytes is None:
            env = os.environ.get("ZSFUSE_MEMORY_CACHE_MB")
            max_memory_bytes = int(float(env) * (1 << 20)) if env else DEFAULT_MEMORY_BYTES
        self.max_memory_bytes = int(max_memory_bytes)
        self._memory = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.RLock()
        self._local = threading.local()
        self.stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "writes": 0}
        if self.cache_dir is not None:
            self._make_folder()
            self._connect()  # fail early on an unusable folder or database

    # -- disk level ----------------------------------------------------------------------------
    @property
    def path(self):
        """Path of the SQLite database, or None without ``cache_dir``."""
        return None if self.cache_dir is None else os.path.join(self.cache_dir, _DB_NAME)

    def _error(self, exc) -> CacheError:
        """Turn an sqlite3 error into a CacheError naming the database and what to do."""
        detail = " ".join(str(exc).split())
        message = f"the embedding cache {self.path} {_problem(exc)} (sqlite3: {detail}). "
        return CacheError(message + _ADVICE.format(folder=self.cache_dir))

    def _make_folder(self):
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
        except OSError as exc:
            if os.path.exists(self.cache_dir) and not os.path.isdir(self.cache_dir):
                problem, fix = "is a file, not a folder", "Move that file away, choose another cache_dir"
            else:
                problem, fix = f"cannot be created ({exc.strerror or exc})", "Choose another cache_dir"
            raise CacheError(
                f"cache_dir {self.cache_dir} {problem}, so the embedding cache {self.path} cannot live there. "
                f"{fix}, or run without a disk cache (cache_dir=None, --no-cache on the command line)."
            ) from exc

    def _connect(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            enable_wal(conn.execute)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            # a read-only file or folder shows only on a write: try one now (it writes nothing)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM embeddings WHERE 0")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc) from exc
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    # -- API -------------------------------------------------------------------------------------
    def get_many(self, namespace: str, keys) -> list:
        """Look up embeddings.

        Parameters
        ----------
        namespace : str
            Encoder fingerprint and front-end settings.
        keys : sequence of str
            Item keys (clip digests or prompt strings).

        Returns
        -------
        list of ndarray or None
            One entry per key: a read-only array, or None when it is not stored
            (or when its disk entry failed the integrity check: a ``UserWarning``
            says so, and the bad entry is deleted so that a recomputed one is stored).

        Raises
        ------
        CacheError
            The disk level cannot be read (corrupt, not a database, unreadable).
        """
        ns = namespace_id(namespace)
        out = [None] * len(keys)
        missing = []
        with self._lock:
            for pos, key in enumerate(keys):
                value = self._memory.get((ns, key))
                if value is not None:
                    self._memory.move_to_end((ns, key))
                    out[pos] = value
                    self.stats["memory_hits"] += 1
                else:
                    missing.append(pos)
        if missing and self.cache_dir is not None:
            found = self._disk_get(ns, sorted({keys[p] for p in missing}))
            still = []
            for pos in missing:
                value = found.get(keys[pos])
                if value is None:
                    still.append(pos)
                else:
                    out[pos] = value
            with self._lock:
                for key, value in found.items():
                    self._remember((ns, key), value)
                self.stats["disk_hits"] += len(missing) - len(still)
            missing = still
        with self._lock:
            self.stats["misses"] += len(missing)
        return out

    def put_many(self, namespace: str, items) -> None:
        """Store embeddings, atomically on disk (all of ``items`` or none).

        Parameters
        ----------
        namespace : str
            Encoder fingerprint and front-end settings.
        items : mapping of str to ndarray
            Item key to embedding: a numeric array (bool, integer, float or complex).
            An existing entry is kept, not overwritten.

        Raises
        ------
        TypeError
            An embedding is not a numeric array (object, string or record dtype).
        CacheError
            The disk level cannot be written (read-only, disk full, locked, corrupt).
        """
        ns = namespace_id(namespace)
        frozen = {}
        for key, value in dict(items).items():
            value = np.array(value, copy=True)
            if value.dtype.kind not in "biufc":
                raise TypeError(f"embedding {key!r} has dtype {value.dtype}: the store holds numeric arrays only")
            value.setflags(write=False)
            frozen[key] = value
        if self.cache_dir is not None and frozen:
            self._disk_put(ns, namespace, frozen)
        with self._lock:
            for key, value in frozen.items():
                self._remember((ns, key), value)
            self.stats["writes"] += len(frozen)

    def count(self, namespace: str | None = None) -> int:
        """Return how many entries the store holds (on disk if it has a disk level)."""
        if self.cache_dir is None:
            ns = None if namespace is None else namespace_id(namespace)
            with self._lock:  # another thread's put would break the iteration
                return len(self._memory) if ns is None else sum(1 for k in self._memory if k[0] == ns)
        conn = self._connect()
        try:
            if namespace is None:
                return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
            return conn.execute("SELECT COUNT(*) FROM embeddings WHERE ns = ?", (namespace_id(namespace),)).fetchone()[
                0
            ]
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def keys(self, namespace: str) -> list[str]:
        """Return the item keys held for ``namespace`` (disk and memory), sorted.

        :func:`zsfuse.parallel.extract` sends them to its workers, which then
        encode only the clips the store lacks.

        Parameters
        ----------
        namespace : str
            Encoder fingerprint and front-end settings.

        Returns
        -------
        list of str
        """
        ns = namespace_id(namespace)
        with self._lock:
            found = {k[1] for k in self._memory if k[0] == ns}
        if self.cache_dir is not None:
            conn = self._connect()
            try:
                found.update(r[0] for r in conn.execute("SELECT key FROM embeddings WHERE ns = ?", (ns,)))
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
        return sorted(found)

    def namespaces(self) -> list[str]:
        """Return the namespace descriptions held on disk (or in memory)."""
        if self.cache_dir is None:
            return []
        conn = self._connect()
        try:
            rows = conn.execute("SELECT description FROM namespaces ORDER BY description").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return [r[0] for r in rows]

    def clear_memory(self) -> None:
        """Drop the in-memory level (the disk level is kept)."""
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0

    def __repr__(self):
        return f"EmbeddingStore(cache_dir={self.cache_dir!r}, in_memory={len(self._memory)})"

    # -- internals ---------------------------------------------------------------------------------
    def _remember(self, full_key, value):
        if full_key in self._memory:
            self._memory.move_to_end(full_key)
            return
        size = value.nbytes
        if size > self.max_memory_bytes:
            return
        self._memory[full_key] = value
        self._memory_bytes += size
        while self._memory_bytes > self.max_memory_bytes:
            _, dropped = self._memory.popitem(last=False)
            self._memory_bytes -= dropped.nbytes

    def _disk_get(self, ns, keys):
        conn = self._connect()
        found, bad = {}, []
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, dtype, shape, data, checksum FROM embeddings WHERE ns = ? AND key IN ({marks})",
                    (ns, *chunk),
                )
                good, wrong = _verified(ns, rows)
                found.update(good)
                bad.extend(wrong)
            if bad:
                # drop exactly the rows judged bad, so that the recomputed vectors get stored
                self._write(
                    conn,
                    "DELETE FROM embeddings WHERE ns = ? AND key = ? AND dtype IS ? AND shape IS ? "
                    "AND data IS ? AND checksum IS ?",
                    [(ns, *row) for row in bad],
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        if bad:
            warnings.warn(
                f"{len(bad)} cached embedding(s) in {self.path} failed their integrity check "
                "(altered or corrupt) and were discarded; they will be recomputed.",
                UserWarning,
                stacklevel=3,
            )
        return found

    def _disk_put(self, ns, namespace, items):
        rows = []
        for key, value in items.items():
            dtype, shape, data = value.dtype.str, json.dumps(list(value.shape)), value.tobytes()
            rows.append((ns, key, dtype, shape, data, _checksum(ns, key, dtype, shape, data)))
        conn = self._connect()
        try:
            self._write(
                conn,
                "INSERT OR IGNORE INTO embeddings (ns, key, dtype, shape, data, checksum) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
                first=("INSERT OR IGNORE INTO namespaces (ns, description) VALUES (?, ?)", (ns, namespace)),
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    @staticmethod
    def _write(conn, sql, rows, first=None):
        """Run ``first`` and ``sql`` over ``rows`` in one transaction: all of it or nothing."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if first is not None:
                conn.execute(*first)
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full)
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the first error is the one to report
            raise


_STORES: dict = {}
_STORES_LOCK = threading.Lock()


def get_store(cache_dir=None) -> EmbeddingStore:
    """Return the process-wide store for ``cache_dir`` (None: memory only).

    Every estimator, clone and grid point with the same ``cache_dir`` shares it,
    so a clip is encoded once per process whatever the fold or the clone.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Folder of the on-disk level.

    Returns
    -------
    EmbeddingStore
    """
    key = None if cache_dir is None else os.path.realpath(os.fspath(cache_dir))
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = EmbeddingStore(cache_dir)
        return store


def open_stores() -> list:
    """Return the ``cache_dir`` of every store opened in this process (None: the memory-only one).

    A worker of :func:`zsfuse.parallel.extract` or of a grid search on
    encoded clips lists only ``None``: it never opens its driver's disk cache.
    """
    with _STORES_LOCK:
        return [store.cache_dir for store in _STORES.values()]


def clear_stores() -> None:
    """Forget every process-wide store (their disk databases are kept)."""
    with _STORES_LOCK:
        _STORES.clear()

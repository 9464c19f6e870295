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
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["EmbeddingStore", "get_store", "clear_stores", "DEFAULT_MEMORY_BYTES"]

#: Default bound of the in-memory level (override with ZSFUSE_MEMORY_CACHE_MB).
DEFAULT_MEMORY_BYTES = 1 << 30

_DB_NAME = "embeddings.sqlite"
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
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""


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
            os.makedirs(self.cache_dir, exist_ok=True)
            self._connect()  # fail early on an unusable folder

    # -- disk level ----------------------------------------------------------------------------
    @property
    def path(self):
        """Path of the SQLite database, or None without ``cache_dir``."""
        return None if self.cache_dir is None else os.path.join(self.cache_dir, _DB_NAME)

    def _connect(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(self.path, timeout=120.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 120000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
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
            One entry per key: a read-only array, or None when it is not stored.
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
                    self.stats["disk_hits"] += 1
            with self._lock:
                for key, value in found.items():
                    self._remember((ns, key), value)
            missing = still
        self.stats["misses"] += len(missing)
        return out

    def put_many(self, namespace: str, items) -> None:
        """Store embeddings, atomically on disk (all of ``items`` or none).

        Parameters
        ----------
        namespace : str
            Encoder fingerprint and front-end settings.
        items : mapping of str to ndarray
            Item key to embedding. An existing entry is kept, not overwritten.
        """
        ns = namespace_id(namespace)
        frozen = {}
        for key, value in dict(items).items():
            value = np.array(value, copy=True)
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
            if namespace is None:
                return len(self._memory)
            ns = namespace_id(namespace)
            return sum(1 for k in self._memory if k[0] == ns)
        conn = self._connect()
        if namespace is None:
            return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        return conn.execute(
            "SELECT COUNT(*) FROM embeddings WHERE ns = ?", (namespace_id(namespace),)
        ).fetchone()[0]

    def namespaces(self) -> list[str]:
        """Return the namespace descriptions held on disk (or in memory)."""
        if self.cache_dir is None:
            return []
        rows = self._connect().execute("SELECT description FROM namespaces ORDER BY description")
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
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT key, dtype, shape, data FROM embeddings WHERE ns = ? AND key IN ({marks})",
                (ns, *chunk),
            )
            for key, dtype, shape, data in rows:
                value = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape))
                found[key] = value  # frombuffer on bytes is read-only
        return found

    def _disk_put(self, ns, namespace, items):
        rows = [
            (ns, key, value.dtype.str, json.dumps(list(value.shape)), value.tobytes())
            for key, value in items.items()
        ]
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR IGNORE INTO namespaces (ns, description) VALUES (?, ?)", (ns, namespace)
            )
            conn.executemany(
                "INSERT OR IGNORE INTO embeddings (ns, key, dtype, shape, data) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
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


def clear_stores() -> None:
    """Forget every process-wide store (their disk databases are kept)."""
    with _STORES_LOCK:
        _STORES.clear()

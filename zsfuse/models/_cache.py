"""The process-wide loader cache.

Torch models never live on an estimator: they sit in one module-level cache
keyed by ``(backend, model, revision, device, dtype)``, are loaded on first
``fit``/``transform`` and are never pickled.
"""

from __future__ import annotations

import threading

_MODELS: dict = {}
#: Guards ``_MODELS`` and ``_LOADING``; never held while a model loads.
_MODELS_LOCK = threading.Lock()
#: One lock per key being loaded: a second thread asking for that key waits for
#: the first one's load; other keys load meanwhile.
_LOADING: dict = {}
#: How many times each key was loaded in this process (a worker should load each model once).
_LOADS: dict = {}


def get_model(key: tuple, load):
    """Return the cached object for ``key``, calling ``load()`` on the first request.

    Safe under threads: threads that miss the same key at once wait for one
    ``load()`` and share its object (a failed load is retried by the next
    caller); an entry is visible only once it is fully built; loads of
    different keys run concurrently.

    Parameters
    ----------
    key : tuple
        ``(backend, model, revision, device, dtype)``; ``model`` should be a
        resolved path or hub id.
    load : callable
        Builds the object; called at most once per key per process (until
        :func:`clear_model_cache`).

    Returns
    -------
    object
    """
    key = tuple(str(k) for k in key)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        key_lock = _LOADING.setdefault(key, threading.RLock())
    with key_lock:
        with _MODELS_LOCK:
            if key in _MODELS:  # loaded by the thread we waited for
                return _MODELS[key]
        model = load()
        with _MODELS_LOCK:
            _MODELS[key] = model
            _LOADS[key] = _LOADS.get(key, 0) + 1
            _LOADING.pop(key, None)
        return model


def cached_models() -> list[tuple]:
    """Return the keys of the models loaded in this process."""
    with _MODELS_LOCK:
        return list(_MODELS)


def model_loads() -> dict:
    """Return how many times each model was loaded in this process: ``{key: count}``.

    A count above 1 means the model was loaded again after
    :func:`clear_model_cache`; :func:`zsfuse.parallel.extract` loads each
    model once per worker process, however many shards it encodes.
    """
    with _MODELS_LOCK:
        return dict(_LOADS)


def clear_model_cache() -> None:
    """Drop every cached model (frees their memory once nothing else holds them)."""
    with _MODELS_LOCK:
        _MODELS.clear()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass

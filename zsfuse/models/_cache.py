"""The process-wide loader cache.

Torch models never live on an estimator: they sit in one module-level cache
keyed by ``(backend, model, revision, device, dtype)``, are loaded on first
``fit``/``transform`` and are never pickled.
"""

from __future__ import annotations

import threading

_MODELS: dict = {}
_MODELS_LOCK = threading.RLock()


def get_model(key: tuple, load):
    """Return the cached object for ``key``, calling ``load()`` on the first request.

    Parameters
    ----------
    key : tuple
        ``(backend, model, revision, device, dtype)``; ``model`` should be a
        resolved path or hub id.
    load : callable
        Builds the object; called at most once per key per process.

    Returns
    -------
    object
    """
    key = tuple(str(k) for k in key)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load()
        return _MODELS[key]


def cached_models() -> list[tuple]:
    """Return the keys of the models loaded in this process."""
    with _MODELS_LOCK:
        return list(_MODELS)


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

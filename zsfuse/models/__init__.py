"""Model loading shared by every backend: device and dtype resolution, the
module-level loader cache, offline-first resolution of model ids, and safe
checkpoint loading. Backend adapters live beside it, one module each."""

from ._loading import (
    cached_models,
    clear_model_cache,
    get_model,
    load_pretrained,
    load_torch_checkpoint,
    model_fingerprint,
    read_model_type,
    require_extra,
    resolve_device,
    resolve_dtype,
    resolve_model_path,
)

__all__ = [
    "cached_models",
    "clear_model_cache",
    "get_model",
    "load_pretrained",
    "load_torch_checkpoint",
    "model_fingerprint",
    "read_model_type",
    "require_extra",
    "resolve_device",
    "resolve_dtype",
    "resolve_model_path",
]

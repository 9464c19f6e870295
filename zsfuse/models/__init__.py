"""Model loading shared by every backend, one concern per module: device, dtype
and autocast (``_device``), the module-level loader cache (``_cache``),
offline-first resolution of model ids (``_hub``), content fingerprints and safe
checkpoint loading (``_checkpoint``) and optional dependencies (``_extras``).
Backend adapters live beside it, one module each."""

from ._cache import cached_models, clear_model_cache, get_model, model_loads
from ._checkpoint import is_torch_checkpoint_file, load_torch_checkpoint, model_fingerprint
from ._device import DTYPE_NAMES, autocast, resolve_device, resolve_dtype
from ._extras import require_extra
from ._hub import (
    is_offline,
    load_pretrained,
    model_not_found_error,
    read_model_type,
    resolve_hub_file,
    resolve_model_path,
    trusts_remote_code,
)

__all__ = [
    "DTYPE_NAMES",
    "autocast",
    "cached_models",
    "clear_model_cache",
    "get_model",
    "is_offline",
    "load_pretrained",
    "is_torch_checkpoint_file",
    "load_torch_checkpoint",
    "model_loads",
    "model_fingerprint",
    "model_not_found_error",
    "read_model_type",
    "require_extra",
    "resolve_device",
    "resolve_dtype",
    "resolve_hub_file",
    "resolve_model_path",
    "trusts_remote_code",
]

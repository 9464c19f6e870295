"""CLAP-family backends: one adapter per model family, same small interface
(:class:`~zsfuse.backends._base.ClapBackend`). Adding a family = one module here
and one branch in :func:`load_clap_backend` (``_select``)."""

from ._base import ClapBackend
from ._select import (
    KNOWN_CLAP_MODELS,
    check_clap_model,
    clap_backend_kind,
    load_clap_backend,
)

__all__ = ["KNOWN_CLAP_MODELS", "ClapBackend", "check_clap_model", "clap_backend_kind", "load_clap_backend"]

"""Audio-language (CLAP-family) backends: one adapter module per family, one
small interface (:class:`~zsfuse.backends.ClapBackend`), one registry
(:mod:`._registry`). Adding a family = one adapter module that defines
``FAMILY`` and one line in :mod:`._families`."""

from ._base import ClapBackend
from ._family import ClapFamily, KnownModel
from ._listing import backends_help, families_markdown, list_backends
from ._registry import get_family, registered_families, resolve_clap_model
from ._select import (
    check_backend_options,
    check_clap_model,
    clap_backend_kind,
    known_clap_models,
    load_clap_backend,
    merge_options,
)
from ._training import not_zero_shot

__all__ = [
    "ClapBackend",
    "ClapFamily",
    "KnownModel",
    "backends_help",
    "check_backend_options",
    "check_clap_model",
    "clap_backend_kind",
    "families_markdown",
    "get_family",
    "known_clap_models",
    "list_backends",
    "load_clap_backend",
    "merge_options",
    "not_zero_shot",
    "registered_families",
    "resolve_clap_model",
]

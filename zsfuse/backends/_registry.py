"""The registry of audio-language (CLAP-family) backends.

One :class:`ClapFamily` per family says what it is, how to recognise it by
content (a folder's ``config.json``, a checkpoint file's keys), how to load it,
which ``backend_options`` it takes, and what its known models were trained on.
:func:`resolve_clap_model` maps any model string to its family; the zero-shot
transformer, the CLI's help, the docs table and :func:`zsfuse.list_backends`
all read this registry. Adding a family = one adapter module that defines a
``FAMILY`` and one line in :mod:`._families`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..exceptions import ModelKindError, ModelNotFoundError
from ._families import BUILTIN_FAMILIES
from ._family import (
    ClapFamily,
    KnownModel,
    ResolvedModel,
    checkpoint_keys,
    describe_config,
    describe_keys,
    read_config_json,
)

__all__ = [
    "ClapFamily",
    "KnownModel",
    "ResolvedModel",
    "checkpoint_keys",
    "family_of_known_model",
    "get_family",
    "known_model",
    "register",
    "registered_families",
    "resolve_clap_model",
    "split_prefix",
]


_FAMILIES: dict = {}


def register(family: ClapFamily) -> ClapFamily:
    """Add a family to the registry (its name and aliases must be new).

    Parameters
    ----------
    family : ClapFamily

    Returns
    -------
    ClapFamily
        ``family``, so that a module can write ``FAMILY = register(ClapFamily(...))``.
    """
    taken = [p for p in family.prefixes if p in _prefix_table()]
    if taken:
        raise ValueError(f"backend family prefix(es) {taken} already registered.")
    _FAMILIES[family.name] = family
    return family


def registered_families() -> tuple:
    """The registered families, in registration order (the built-in ones first)."""
    return tuple(_FAMILIES.values())


def _prefix_table():
    return {p: f for f in _FAMILIES.values() for p in f.prefixes}


def get_family(name) -> ClapFamily:
    """The family registered under ``name`` (or one of its aliases).

    Raises
    ------
    ValueError
        Naming the registered families.
    """
    registered_families()
    table = _prefix_table()
    if name not in table:
        raise ValueError(f"unknown backend family {name!r}; registered: {', '.join(table)}.")
    return table[name]


def known_model(name):
    """Return ``(family, KnownModel)`` for a released model's name, or ``(None, None)``."""
    for family in registered_families():
        for entry in family.known_models:
            if entry.name == name:
                return family, entry
    return None, None


def family_of_known_model(name):
    """The family of a released model's name, or None."""
    return known_model(name)[0]


def split_prefix(model):
    """Split ``"family:model"`` into ``(family, model)``; ``(None, model)`` without a prefix.

    A prefix is only a registered family name or alias, so Windows drive
    letters and URLs are left alone.
    """
    name = os.fspath(model)
    head, sep, rest = name.partition(":")
    if sep and rest:
        registered_families()
        family = _prefix_table().get(head)
        if family is not None:
            return family, rest
    return None, name


def _by_content(path, name):
    """The family whose recogniser accepts the file or folder at ``path`` (None if none), and what it holds."""
    families = registered_families()
    if os.path.isdir(path):
        config = read_config_json(path)
        for family in families:
            if family.recognise_config is not None and family.recognise_config(config):
                return family, describe_config(config)
        return None, describe_config(config)
    from ..models import is_torch_checkpoint_file

    if not is_torch_checkpoint_file(path):
        return None, "a file that is not a torch checkpoint (torch.save writes a zip archive or a pickle)"
    try:
        keys = checkpoint_keys(path)
    except ValueError:  # pickled objects besides tensors: refused, with the reason
        raise
    except Exception as exc:  # not a torch checkpoint at all
        return None, f"a file torch cannot read as a checkpoint ({type(exc).__name__}: {str(exc)[:120]})"
    for family in families:
        if family.recognise_checkpoint is not None and family.recognise_checkpoint(keys):
            return family, describe_keys(keys)
    return None, describe_keys(keys)


def _speech_hint(what):
    from ..fm import SUPPORTED_MODEL_TYPES  # noqa: PLC0415 (fm is heavier than the registry)

    if any(f"model_type {t!r}" in what for t in SUPPORTED_MODEL_TYPES):
        return " It is a speech foundation model: give it as the FM model (--fm, FMEmbeddingTransformer)."
    return ""


def _expected():
    return "; ".join(f"{f.title} ({f.name})" for f in registered_families())


def resolve_clap_model(model, *, revision=None, options=None) -> ResolvedModel:
    """Which family serves ``model``, decided by name or by content; no weight loads.

    In order: a ``family:`` prefix forces the family; a released model's name
    (``"msclap-2023"``, ``"laion/clap-htsat-unfused"``, ``"KeiKinn/paraclap"``)
    names it; a local checkpoint file is recognised by its state-dict keys; a
    local folder or hub id by its ``config.json`` (``model_type``,
    ``auto_map``). A hub id is fetched into (or read from) the Hugging Face
    cache to be recognised.

    Parameters
    ----------
    model : str or path-like
        The model.
    revision : str, optional
        Hub revision.
    options : mapping, optional
        ``backend_options``, passed to the family's ``locate``.

    Returns
    -------
    ResolvedModel

    Raises
    ------
    ModelNotFoundError
        A path that does not exist, or a hub id that cannot be fetched.
    ModelKindError
        A file or folder that no family recognises, or not the forced
        family's: the message says what it holds and what was expected.
    ValueError
        A name that is none of these.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"model must be a string or path, got {type(model).__name__}.")
    options = dict(options or {})
    forced, name = split_prefix(model)
    if forced is not None:
        return ResolvedModel(forced, name, forced=True)
    family = family_of_known_model(name)
    if family is not None:
        return ResolvedModel(family, name)
    if os.path.isfile(name) or os.path.isdir(name):
        path = name
    else:
        looks_like_path = name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or os.sep in name[:1]
        looks_like_file = name.endswith((".pth", ".pt", ".ckpt", ".bin", ".safetensors"))
        if looks_like_path or looks_like_file:
            raise ModelNotFoundError(
                f"audio-language model {name!r} looks like a path, but no such folder or file exists."
            )
        if name.count("/") != 1:
            raise ValueError(
                f"unknown audio-language model {name!r}. Known models: {', '.join(known_model_names())}; or a "
                f"hub id ('org/name') or local folder; or a checkpoint file; or 'family:model' with a family "
                f"among: {', '.join(p for f in registered_families() for p in f.prefixes)}."
            )
        from ..models import resolve_model_path

        path = resolve_model_path(name, revision, what="audio-language model")
    family, what = _by_content(path, name)
    if family is None:
        raise ModelKindError(
            f"audio-language model {name!r} ({path}) holds {what}, which no registered family recognises. "
            f"Expected one of: {_expected()}. Force a family with a prefix ('family:{name}') if you know it."
            f"{_speech_hint(what)}"
        )
    return ResolvedModel(family, name)


def check_forced(resolved: ResolvedModel, path):
    """Refuse a forced family's path that content says is another family's."""
    if not resolved.forced or not os.path.exists(path):
        return
    actual, what = _by_content(path, resolved.model)
    if actual is not None and actual is not resolved.family:
        raise ModelKindError(
            f"{resolved.model!r} was given as {resolved.family.title} ({resolved.family.name}:), but it holds "
            f"{what}: a {actual.title} model. Drop the prefix, or write '{actual.name}:{resolved.model}'."
        )


def known_model_names() -> tuple:
    """Every released model's name, family by family."""
    return tuple(m.name for f in registered_families() for m in f.known_models)


def check_options(family: ClapFamily, options) -> dict:
    """``backend_options`` checked against the family's: a dict of known keys.

    Raises
    ------
    ValueError
        Naming the unknown keys and the family's options.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"backend_options must be a dict, got {type(options).__name__}.")
    unknown = sorted(set(options) - set(family.options))
    if unknown:
        known = ", ".join(family.options) or "none"
        raise ValueError(f"backend_options {unknown} do not apply to {family.title} models; its options: {known}.")
    return dict(options)


def frozen_options(options: Mapping) -> tuple:
    """``options`` as a hashable, ordered tuple (for the model cache's key)."""
    return tuple(sorted((k, repr(v)) for k, v in options.items()))


for _family in BUILTIN_FAMILIES:
    register(_family)

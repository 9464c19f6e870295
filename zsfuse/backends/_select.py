"""Finding, checking and loading an audio-language model through the registry.

The one place that turns (model, options) into a loaded backend: the family
comes from :func:`~._registry.resolve_clap_model` (prefix, released name or
content), the options are checked against the family's, and the loaded
backend is cached per process (:func:`zsfuse.models.get_model`).
"""

from __future__ import annotations

import os

from ..models import get_model, resolve_model_path
from ._base import ClapBackend
from ._registry import (
    check_forced,
    check_options,
    family_of_known_model,
    frozen_options,
    known_model_names,
    resolve_clap_model,
    split_prefix,
)

__all__ = [
    "check_backend_options",
    "check_clap_model",
    "clap_backend_kind",
    "known_clap_models",
    "load_clap_backend",
    "merge_options",
]


def known_clap_models() -> tuple:
    """The released models zsfuse knows by name, family by family."""
    return known_model_names()


def clap_backend_kind(model, *, revision=None) -> str:
    """The name of the family that serves ``model`` (``"msclap"``, ``"hf-clap"``, ``"clsp"``, ...).

    Parameters
    ----------
    model : str or path-like
        A released model's name, a hub id, a local folder or checkpoint file,
        or ``"family:model"``.
    revision : str, optional
        Hub revision (a hub id is recognised by its ``config.json``).

    Returns
    -------
    str
    """
    return resolve_clap_model(model, revision=revision).family.name


def merge_options(backend_options=None, *, version=None, text_model=None) -> dict:
    """``backend_options`` with the MS-CLAP shortcuts ``version`` and ``text_model`` folded in.

    Raises
    ------
    ValueError
        When a shortcut and ``backend_options`` give different values.
    """
    options = dict(backend_options or {})
    for name, value in (("version", version), ("text_model", text_model)):
        if value is None:
            continue
        value = str(value) if name == "version" else value
        if name in options and str(options[name]) != str(value):
            raise ValueError(f"{name}={value!r} contradicts backend_options[{name!r}]={options[name]!r}.")
        options[name] = value
    return options


def check_backend_options(model, backend_options=None, *, version=None, text_model=None):
    """Check options against the model's family when a prefix or a released name tells it; read no file.

    A model known only by its content (a folder, a file, a hub id) is checked
    when it loads.

    Raises
    ------
    ValueError
        Options the family does not take, or shortcuts that contradict them.
    """
    options = merge_options(backend_options, version=version, text_model=text_model)
    if not options or not isinstance(model, (str, os.PathLike)):
        return
    family, name = split_prefix(model)
    family = family or family_of_known_model(name)
    if family is None:
        return
    _check_shortcuts(family, name, options)
    check_options(family, options)


def _check_shortcuts(family, model, options):
    """The MS-CLAP shortcuts (``version``, ``text_model``) named as such when the family takes neither."""
    foreign = [k for k in ("version", "text_model") if k in options and k not in family.options]
    if foreign:
        raise ValueError(
            f"version and text_model apply to MS-CLAP models only (got {', '.join(foreign)}); {model!r} is a "
            f"{family.title} model, whose backend_options are: {', '.join(family.options) or 'none'}."
        )


def _locate(resolved, revision, options):
    family = resolved.family
    if family.locate is not None:
        return family.locate(resolved.model, revision=revision, options=options)
    if os.path.isfile(resolved.model):
        return os.path.abspath(resolved.model)
    return resolve_model_path(resolved.model, revision, what=f"{family.title} model")


def _prepare(model, revision, trust_remote_code, options):
    resolved = resolve_clap_model(model, revision=revision, options=options)
    family = resolved.family
    _check_shortcuts(family, resolved.model, options)
    options = check_options(family, options)
    if os.path.exists(resolved.model):  # a forced family must fit the content (before its own locate)
        check_forced(resolved, resolved.model)
    path = _locate(resolved, revision, options)
    check_forced(resolved, path)
    if family.check is not None:
        family.check(resolved.model, path, trust_remote_code=trust_remote_code, options=options)
    return resolved, path, options


def check_clap_model(
    model, *, revision=None, trust_remote_code=False, backend_options=None, version=None, text_model=None
):
    """Find an audio-language model and check its family and options, without loading any weight.

    It resolves the model as loading would (a local folder or file, or the
    Hugging Face cache -- offline with ``HF_HUB_OFFLINE=1``) and reads its
    ``config.json`` or checkpoint keys.

    Parameters
    ----------
    model, revision, trust_remote_code, backend_options, version, text_model
        As for :func:`load_clap_backend`.

    Returns
    -------
    str
        The family's name.

    Raises
    ------
    ModelNotFoundError
        The model cannot be found (the message says how to fetch it).
    ModelKindError
        It is another kind of model.
    RemoteCodeError
        It ships its own code and ``trust_remote_code`` is False.
    ValueError
        Options the family does not take.
    """
    options = merge_options(backend_options, version=version, text_model=text_model)
    resolved, _, _ = _prepare(model, revision, trust_remote_code, options)
    return resolved.family.name


def load_clap_backend(
    model,
    *,
    revision=None,
    device="cpu",
    dtype=None,
    trust_remote_code=False,
    backend_options=None,
    version=None,
    text_model=None,
) -> ClapBackend:
    """Return the process-wide backend for ``model`` (loaded on first call).

    Parameters
    ----------
    model : str or path-like
        A released model's name (:func:`zsfuse.list_backends`), a hub id, a
        local folder or checkpoint file, or ``"family:model"`` to force a family.
    revision : str, optional
        Hub revision (branch, tag or commit).
    device : str
        A resolved device.
    dtype : torch.dtype, optional
        Compute dtype.
    trust_remote_code : bool, default=False
        Allow a checkpoint's own code to run (CLSP needs it).
    backend_options : dict, optional
        The family's options (:func:`zsfuse.list_backends` lists them).
    version : {"2022", "2023"}, optional
        MS-CLAP: ``backend_options["version"]``.
    text_model : str, optional
        MS-CLAP: ``backend_options["text_model"]``.

    Returns
    -------
    ClapBackend
    """
    options = merge_options(backend_options, version=version, text_model=text_model)
    # keyed by what was asked for: a model already loaded is returned without finding it again
    # (no hub request, no checkpoint read on every transform)
    name = os.fspath(model) if isinstance(model, (str, os.PathLike)) else model
    key = ("clap", name, revision, device, dtype, frozen_options(options), trust_remote_code)

    def load():
        resolved, path, checked = _prepare(model, revision, trust_remote_code, options)
        backend = resolved.family.load(
            resolved.model,
            path,
            revision=revision,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            options=checked,
        )
        backend.family_name = resolved.family.name
        return backend

    return get_model(key, load)

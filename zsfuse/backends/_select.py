"""Which adapter serves a CLAP model, and loading it: the one place that maps a
model name, folder or checkpoint file to a backend family. Adding a family = one
adapter module beside this one and one branch here."""

from __future__ import annotations

import os

from ..exceptions import ModelKindError, ModelNotFoundError
from ..models import resolve_model_path
from ._base import ClapBackend
from .hf_clap import HF_CLAP_MODELS, check_is_clap, load_hf_clap
from .ms_clap import MSCLAP_MODELS, load_msclap, resolve_msclap_checkpoint

#: Model names the zero-shot transformer knows by name.
KNOWN_CLAP_MODELS = MSCLAP_MODELS + HF_CLAP_MODELS

__all__ = ["KNOWN_CLAP_MODELS", "check_clap_model", "clap_backend_kind", "load_clap_backend"]


def clap_backend_kind(model) -> str:
    """Which adapter serves ``model``: ``"msclap"`` or ``"hf-clap"``.

    ``"msclap-2022"``, ``"msclap-2023"`` and checkpoint files (``.pth``, ``.pt``,
    ``.ckpt``) are MS-CLAP; hub ids and folders are transformers ``ClapModel``s.

    Parameters
    ----------
    model : str or path-like
        A known model name, a hub id, a local folder or a checkpoint file.

    Returns
    -------
    str
        ``"msclap"`` or ``"hf-clap"``.

    Raises
    ------
    ModelNotFoundError
        For a path (or checkpoint name) that does not exist.
    ModelKindError
        For a file that is not an MS-CLAP checkpoint.
    ValueError
        For a name that is none of these, listing the known models.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"model must be a string or path, got {type(model).__name__}.")
    name = os.fspath(model)
    if name in MSCLAP_MODELS or (os.path.isfile(name) and name.endswith((".pth", ".pt", ".ckpt"))):
        return "msclap"
    if name in HF_CLAP_MODELS or os.path.isdir(name):
        return "hf-clap"
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1 or name.endswith((".pth", ".pt", ".ckpt"))
    if os.path.isfile(name):
        raise ModelKindError(
            f"CLAP model {name!r} is a file but not an MS-CLAP checkpoint (.pth, .pt, .ckpt): pass the folder "
            "that holds a transformers ClapModel's config.json, or an MS-CLAP checkpoint with version=."
        )
    if looks_like_path:
        raise ModelNotFoundError(f"CLAP model {name!r} looks like a path, but no such folder or file exists.")
    if name.count("/") == 1:  # a hub id
        return "hf-clap"
    raise ValueError(
        f"unknown CLAP model {name!r}. Known models: {', '.join(KNOWN_CLAP_MODELS)}; or a hub id "
        f"('org/name') or local folder of a transformers ClapModel; or an MS-CLAP checkpoint file "
        f"(.pth) with version='2022' or '2023'."
    )


def check_clap_model(model, *, version=None, revision=None):
    """Find a CLAP model and check its kind, without loading any weight.

    It resolves the model as loading would (a local folder or file, or the
    Hugging Face cache -- offline with ``HF_HUB_OFFLINE=1``) and reads a
    transformers folder's ``config.json``.

    Parameters
    ----------
    model, version, revision
        As for :func:`load_clap_backend`.

    Raises
    ------
    ModelNotFoundError
        The model cannot be found (the message says how to fetch it).
    ModelKindError
        It is another kind of model.
    """
    if clap_backend_kind(model) == "msclap":
        resolve_msclap_checkpoint(os.fspath(model), version, revision)
        return
    check_is_clap(resolve_model_path(model, revision, what="CLAP model"), os.fspath(model))


def load_clap_backend(
    model, *, version=None, revision=None, text_model=None, device="cpu", dtype=None, trust_remote_code=False
) -> ClapBackend:
    """Return the process-wide backend for ``model`` (loaded on first call).

    Parameters
    ----------
    model : str or path-like
        See :func:`clap_backend_kind`.
    version : {"2022", "2023"}, optional
        MS-CLAP version of a checkpoint file.
    revision : str, optional
        Hub revision (branch, tag or commit).
    text_model : str, optional
        MS-CLAP only: folder or hub id of the text tower (default: the one the
        version's config names, ``gpt2`` or ``bert-base-uncased``).
    device : str
        A resolved device.
    dtype : torch.dtype, optional
        Compute dtype.
    trust_remote_code : bool, default=False
        transformers checkpoints only.

    Returns
    -------
    ClapBackend
    """
    kind = clap_backend_kind(model)
    if kind == "msclap":
        return load_msclap(os.fspath(model), version, revision, text_model, device, dtype)
    if version is not None or text_model is not None:
        raise ValueError("version and text_model apply to MS-CLAP models only.")
    return load_hf_clap(os.fspath(model), revision, device, dtype, trust_remote_code)

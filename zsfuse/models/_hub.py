"""Finding a model offline first: a local folder, or a snapshot in the Hugging Face cache."""

from __future__ import annotations

import os

import numpy as np

from ..exceptions import ModelNotFoundError


def is_offline() -> bool:
    """Whether the Hugging Face hub must not be contacted.

    Returns
    -------
    bool
        True when ``HF_HUB_OFFLINE`` (or, when that is unset,
        ``TRANSFORMERS_OFFLINE``) is ``1``, ``true``, ``yes`` or ``on``.
    """
    value = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return value.strip().lower() in {"1", "true", "yes", "on"}


def model_not_found_error(model, revision, what, cause, local="a folder holding its config.json and weights"):
    """The error for a model that is neither a local path nor in the Hugging Face cache.

    Parameters
    ----------
    model : str
        Hub id (or repo) that was looked up.
    revision : str or None
        Its revision, if one was asked for.
    what : str
        What the model is, for the message (e.g. ``"CLAP model"``).
    cause : object
        Why the lookup failed (an exception or a text), put on one line.
    local : str, default="a folder holding its config.json and weights"
        What the user can pass instead, after "or pass the path of".

    Returns
    -------
    ModelNotFoundError
        With a message that says where it was looked for (online or offline,
        which cache) and how to fetch it.
    """
    rev = f" (revision {revision!r})" if revision else ""
    from huggingface_hub.constants import HF_HUB_CACHE

    where = "offline (HF_HUB_OFFLINE=1)" if is_offline() else "online"
    cause = " ".join(str(cause).split()).rstrip(".")
    return ModelNotFoundError(
        f"{what} {model!r}{rev} is not a local folder and could not be loaded from the "
        f"Hugging Face cache ({HF_HUB_CACHE}) {where}: {cause}. "
        f"Fetch it on a machine with network access: `hf download {model}"
        f"{' --revision ' + revision if revision else ''}` (then copy the cache, or set HF_HOME "
        f"to it), or pass the path of {local}."
    )


def resolve_model_path(model, revision=None, what="model") -> str:
    """Return a local folder for a model: the folder itself, or its cached snapshot.

    Nothing is downloaded when ``HF_HUB_OFFLINE=1``; otherwise a hub id missing
    from the cache is fetched, as ``from_pretrained`` would.

    Parameters
    ----------
    model : str or path-like
        A local folder, or a Hugging Face hub id (``"microsoft/wavlm-large"``).
    revision : str, optional
        Branch, tag or commit of a hub id.
    what : str, default="model"
        What the model is, for the error message.

    Returns
    -------
    str
        Absolute path of a folder holding the model's files.

    Raises
    ------
    ModelNotFoundError
        If it is neither a local folder nor available from the cache, with the
        command that fetches it.
    """
    model = os.fspath(model)
    if os.path.isdir(model):
        return os.path.abspath(model)
    if os.path.exists(model):
        raise ModelNotFoundError(f"{what} {model!r} is a file; pass the folder holding config.json.")
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelNotFoundError(f"{what} {model!r} looks like a path but no such folder exists.")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model, revision=revision, local_files_only=is_offline())
    except Exception as exc:
        raise model_not_found_error(model, revision, what, f"{type(exc).__name__}: {exc}") from exc


def read_model_type(path) -> str | None:
    """Return ``model_type`` from a model folder's ``config.json`` (None when absent or unreadable).

    Plain JSON: no transformers import, no code from the folder. Used to
    recognise a model by its content before any weight is loaded.

    Parameters
    ----------
    path : str or path-like
        A model folder.

    Returns
    -------
    str or None
        E.g. ``"clap"``, ``"wavlm"``, ``"whisper"``.
    """
    import json

    try:
        with open(os.path.join(os.fspath(path), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    value = config.get("model_type") if isinstance(config, dict) else None
    return value if isinstance(value, str) else None


def load_pretrained(cls, model, revision=None, *, trust_remote_code=False, what="model", **kwargs):
    """Load a transformers object through :func:`resolve_model_path`.

    Parameters
    ----------
    cls : type
        A transformers class with ``from_pretrained`` (``AutoModel``,
        ``ClapModel``, ``AutoFeatureExtractor``, ...).
    model : str or path-like
        Local folder or hub id.
    revision : str, optional
        Revision of a hub id.
    trust_remote_code : bool, default=False
        Allow code shipped with the checkpoint to run. Off unless asked for.
    what : str, default="model"
        What is loaded, for error messages.
    **kwargs
        Passed to ``from_pretrained``.

    Returns
    -------
    object
        What ``cls.from_pretrained`` returns.
    """
    path = resolve_model_path(model, revision, what)
    # only a real True grants it: transformers reads None as "ask on the terminal", and any
    # other truthy value as yes
    trust_remote_code = trust_remote_code is True or (
        isinstance(trust_remote_code, np.bool_) and bool(trust_remote_code)
    )
    try:
        return cls.from_pretrained(path, trust_remote_code=trust_remote_code, **kwargs)
    except OSError as exc:
        raise ModelNotFoundError(
            f"{what} {os.fspath(model)!r} was found at {path} but could not be loaded by {cls.__name__}: {exc}"
        ) from exc

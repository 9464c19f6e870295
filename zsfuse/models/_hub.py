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


def model_not_found_error(
    model, revision, what, cause, local="a folder holding its config.json and weights", filename=None
):
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
    filename : str, optional
        One file of the repo that was looked up (the fetch command names it).

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
    local_kind = "file" if filename else "folder"
    return ModelNotFoundError(
        f"{what} {model!r}{rev} is not a local {local_kind} and could not be loaded from the "
        f"Hugging Face cache ({HF_HUB_CACHE}) {where}: {cause}. "
        f"Fetch it on a machine with network access: `hf download {model}{' ' + filename if filename else ''}"
        f"{' --revision ' + revision if revision else ''}` (then copy the cache, or set HF_HOME "
        f"to it), or pass the path of {local}."
    )


def resolve_model_path(model, revision=None, what="model", allow_patterns=None) -> str:
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
    allow_patterns : sequence of str, optional
        Only these files of a hub repo (e.g. ``["*.json", "*.txt"]`` for a
        tokenizer, ``["config.json"]`` for a configuration); default: all.

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

    patterns = None if allow_patterns is None else list(allow_patterns)
    try:
        return snapshot_download(model, revision=revision, allow_patterns=patterns, local_files_only=is_offline())
    except Exception as exc:
        local = "a folder holding its config.json and weights"
        if patterns is not None:
            local = f"a folder holding its {', '.join(patterns)}"
        raise model_not_found_error(model, revision, what, f"{type(exc).__name__}: {exc}", local) from exc


def resolve_hub_file(repo, filename, revision=None, what="file", local=None) -> str:
    """Return the local path of one file of a hub repo, from (or fetched into) the Hugging Face cache.

    Nothing is downloaded when ``HF_HUB_OFFLINE=1``.

    Parameters
    ----------
    repo : str
        Hub repo id (``"microsoft/msclap"``).
    filename : str
        The file inside it (``"CLAP_weights_2023.pth"``).
    revision : str, optional
        Branch, tag or commit.
    what : str, default="file"
        What the file is, for the error message (``"MS-CLAP 2023 checkpoint"``).
    local : str, optional
        What the user can pass instead (default: "the <filename> file").

    Returns
    -------
    str
        Absolute path of the file.

    Raises
    ------
    ModelNotFoundError
        With the command that fetches it.
    """
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo, filename, revision=revision, local_files_only=is_offline())
    except Exception as exc:
        cause = f"{type(exc).__name__}: {exc}"
        raise model_not_found_error(
            repo, revision, f"{what} ({filename}) of", cause, local or f"the {filename} file", filename=filename
        ) from exc


def trusts_remote_code(value) -> bool:
    """Whether a ``trust_remote_code`` value grants it: only a real True (Python or numpy).

    transformers reads None as "ask on the terminal" and any other truthy value
    as yes; zsfuse grants nothing but True.
    """
    return value is True or (isinstance(value, np.bool_) and bool(value))


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
    trust_remote_code = trusts_remote_code(trust_remote_code)  # only a real True grants it
    try:
        return cls.from_pretrained(path, trust_remote_code=trust_remote_code, **kwargs)
    except OSError as exc:
        raise ModelNotFoundError(
            f"{what} {os.fspath(model)!r} was found at {path} but could not be loaded by {cls.__name__}: {exc}"
        ) from exc

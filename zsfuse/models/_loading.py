"""Loading models once per process, offline first.

Torch models never live on an estimator: they sit in one module-level cache
keyed by ``(backend, model, revision, device, dtype)``, are loaded on first
``fit``/``transform`` and are never pickled.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading

import numpy as np

from ..exceptions import MissingDependencyError, ModelNotFoundError

_MODELS: dict = {}
_MODELS_LOCK = threading.RLock()
_FINGERPRINTS: dict = {}
_SNAPSHOT = re.compile(r"/(models|datasets|spaces)--([^/]+)/snapshots/([0-9a-f]{40})(?:/(.+))?$")

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def require_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency or say which extra installs it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"msclap"``.
    extra : str
        The zsfuse extra that provides it, e.g. ``"msclap"``.
    purpose : str
        What needs it, for the message (e.g. ``"MS-CLAP models"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingDependencyError
        If it is not installed, or installed but broken (the message keeps the cause).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == module
        state = "is not installed" if missing else f"is installed but fails to import ({exc})"
        raise MissingDependencyError(
            f"{purpose} need the '{module}' package, which {state}. "
            f"Install the extra: pip install 'zsfuse[{extra}]'"
        ) from exc


def resolve_device(device="auto") -> str:
    """Turn a device parameter into a concrete torch device string.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"} or torch.device
        ``"auto"`` takes the first CUDA GPU when there is one, else the CPU.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda:N"`` or ``"mps"``.

    Raises
    ------
    ValueError
        If the string is not a device, or names a GPU this machine lacks.
    """
    import torch

    device = str(device)
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device='mps' but MPS is not available here; use device='auto' or 'cpu'.")
        return "mps"
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}.")
    index = int(match.group(1) or 0)
    if not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here; use device='auto' or 'cpu'.")
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} but this machine has {torch.cuda.device_count()} CUDA device(s)."
        )
    return f"cuda:{index}"


def resolve_dtype(dtype="auto", device="cpu"):
    """Turn a dtype parameter into a torch dtype for ``device``.

    Parameters
    ----------
    dtype : {"auto", "float32", "float16", "bfloat16"} or torch.dtype
        ``"auto"``: float16 on CUDA (bfloat16 where the GPU supports it is
        available explicitly), float32 elsewhere.
    device : str
        A resolved device (see :func:`resolve_device`).

    Returns
    -------
    torch.dtype
    """
    import torch

    if isinstance(dtype, torch.dtype):
        name = str(dtype).removeprefix("torch.")
    elif dtype == "auto":
        name = "float16" if str(device).startswith("cuda") else "float32"
    else:
        name = _DTYPES.get(str(dtype))
        if name is None:
            raise ValueError(
                f"dtype must be 'auto', 'float32', 'float16' or 'bfloat16', got {dtype!r}."
            )
    if name not in _DTYPES.values():
        raise ValueError(f"dtype must be a floating dtype (float32, float16, bfloat16), got {dtype!r}.")
    return getattr(torch, name)


def _offline():
    value = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _not_found(model, revision, what, cause, local="a folder holding its config.json and weights"):
    rev = f" (revision {revision!r})" if revision else ""
    from huggingface_hub.constants import HF_HUB_CACHE

    where = "offline (HF_HUB_OFFLINE=1)" if _offline() else "online"
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
        return snapshot_download(model, revision=revision, local_files_only=_offline())
    except Exception as exc:
        raise _not_found(model, revision, what, f"{type(exc).__name__}: {exc}") from exc


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
    trust_remote_code = trust_remote_code is True or (isinstance(trust_remote_code, np.bool_)
                                                     and bool(trust_remote_code))
    try:
        return cls.from_pretrained(path, trust_remote_code=trust_remote_code, **kwargs)
    except OSError as exc:
        raise ModelNotFoundError(
            f"{what} {os.fspath(model)!r} was found at {path} but could not be loaded by "
            f"{cls.__name__}: {exc}"
        ) from exc


def model_fingerprint(path) -> str:
    """Content fingerprint of a model folder or checkpoint file.

    It keys the embedding store, so a model changed in place (new weights, new
    config) never reuses embeddings of the old one, and the same model in
    another folder does. Hashed once per process per (path, sizes, mtimes).

    Parameters
    ----------
    path : str or path-like
        A model folder (config, tokenizer, weights) or a single checkpoint file.

    Returns
    -------
    str
        24 hexadecimal characters, or ``models:<repo>@<commit>[/<file>]`` for a
        snapshot in the Hugging Face cache (whose commit already names its content).
    """
    path = os.path.abspath(os.fspath(path))
    snapshot = _SNAPSHOT.search(path)
    if snapshot is not None:  # a Hugging Face cache snapshot: the repo and commit say it all
        repo = snapshot.group(2).replace("--", "/")
        rest = f"/{snapshot.group(4)}" if snapshot.group(4) else ""
        return f"{snapshot.group(1)}:{repo}@{snapshot.group(3)}{rest}"
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
    else:
        files = [path]
    stats = tuple((os.path.relpath(f, path), os.path.getsize(f), os.stat(f).st_mtime_ns) for f in files)
    memo_key = (path, stats)
    if memo_key not in _FINGERPRINTS:
        h = hashlib.blake2b(digest_size=12)
        for f in files:
            h.update(os.path.relpath(f, path).encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
        _FINGERPRINTS[memo_key] = h.hexdigest()
    return _FINGERPRINTS[memo_key]


def load_torch_checkpoint(path, what="checkpoint"):
    """Load a torch checkpoint with ``weights_only=True`` onto the CPU.

    Parameters
    ----------
    path : str or path-like
        The ``.pt`` / ``.pth`` / ``.ckpt`` file.
    what : str, default="checkpoint"
        What it is, for error messages.

    Returns
    -------
    object
        Tensors, in plain containers.

    Raises
    ------
    ModelNotFoundError
        If the file does not exist.
    ValueError
        If it holds pickled objects other than tensors and plain containers:
        zsfuse does not execute pickled code from checkpoints.
    """
    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelNotFoundError(f"{what} {path!r} does not exist.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise ValueError(
                f"{what} {path!r} holds pickled objects besides tensors; zsfuse loads checkpoints "
                f"with weights_only=True and will not run them. Re-save it as a plain state dict. ({exc})"
            ) from exc
        raise


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

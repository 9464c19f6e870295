"""What identifies a model's content, and loading a torch checkpoint without running pickled code."""

from __future__ import annotations

import hashlib
import os
import re

from ..exceptions import ModelNotFoundError

_FINGERPRINTS: dict = {}
_SNAPSHOT = re.compile(r"/(models|datasets|spaces)--([^/]+)/snapshots/([0-9a-f]{40})(?:/(.+))?$")


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
        If it holds pickled objects other than tensors, plain containers and
        numpy number scalars: zsfuse does not execute pickled code from checkpoints.

    Notes
    -----
    Numpy number scalars (e.g. a learning rate saved with the optimizer state,
    as LAION-CLAP's training code does) are allowed: unpickling one needs only
    numpy's scalar constructor and a dtype, which build numbers and run no code.
    """
    import torch

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelNotFoundError(f"{what} {path!r} does not exist.")
    try:
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise ValueError(
                f"{what} {path!r} holds pickled objects besides tensors; zsfuse loads checkpoints "
                f"with weights_only=True and will not run them. Re-save it as a plain state dict. ({exc})"
            ) from exc
        raise


def _numpy_scalar_globals():
    """What unpickling a numpy number scalar needs: the scalar constructor and the number dtypes."""
    import numpy as np

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar
    dtypes = [type(np.dtype(c)) for c in ("f2", "f4", "f8", "i4", "i8", "u1", "?")]
    return [np.dtype, *dtypes, (scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar")]


def is_torch_checkpoint_file(path) -> bool:
    """Whether a file starts as ``torch.save`` writes one: a zip archive, or a legacy pickle.

    Read from its first bytes only, so a JSON, text or audio file is told apart
    before torch sees it.
    """
    try:
        with open(os.fspath(path), "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"

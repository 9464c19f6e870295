"""Where and in what precision a model runs: device and dtype parameters, and autocast."""

from __future__ import annotations

import contextlib
import re

#: Every dtype name :func:`resolve_dtype` reads -> the torch dtype it means.
DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


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
        raise ValueError(f"device={device!r} but this machine has {torch.cuda.device_count()} CUDA device(s).")
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
        name = DTYPE_NAMES.get(str(dtype))
        if name is None:
            raise ValueError(f"dtype must be 'auto', 'float32', 'float16' or 'bfloat16', got {dtype!r}.")
    if name not in DTYPE_NAMES.values():
        raise ValueError(f"dtype must be a floating dtype (float32, float16, bfloat16), got {dtype!r}.")
    return getattr(torch, name)


def autocast(device, dtype):
    """Mixed precision for a forward pass when a half dtype was asked for.

    The one place zsfuse turns a compute dtype into a context manager: weights
    stay float32, and ``torch.autocast`` runs matrix products in ``dtype``
    (norms and softmax stay float32).

    Parameters
    ----------
    device : str
        A resolved device (see :func:`resolve_device`), e.g. ``"cpu"`` or ``"cuda:0"``.
    dtype : torch.dtype or None
        The compute dtype (see :func:`resolve_dtype`); None means float32.

    Returns
    -------
    contextlib.AbstractContextManager
        ``torch.autocast`` on the device's type, or a context that does nothing
        for float32.
    """
    import torch

    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=str(device).split(":")[0], dtype=dtype)

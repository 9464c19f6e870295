"""The software and hardware an evaluation ran on, for its report.

:func:`environment_info` records what a reader needs to reproduce a number
-- Python, the platform, the versions of zsfuse and of the libraries that
compute its outputs, torch's CUDA build and the GPU -- and nothing that
identifies a person or a machine: no host name, user name or path.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

__all__ = ["PACKAGES", "environment_info"]

#: Distributions whose versions :func:`environment_info` records, by their
#: names on PyPI (zsfuse itself is read from ``zsfuse.__version__``).
PACKAGES = (
    "numpy",
    "scikit-learn",
    "torch",
    "transformers",
    "msclap",
    "skops",
    "soundfile",
    "soxr",
    "matplotlib",
)


def _version(distribution):
    """Installed version of ``distribution``, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _torch_info():
    """torch's CUDA build, whether a GPU is usable and its name (None, False, None without torch)."""
    info = {"torch_cuda": None, "cuda_available": False, "cuda_device": None}
    try:
        import torch
    except Exception:  # not installed, or a broken install: the report must still be written
        return info
    info["torch_cuda"] = getattr(torch.version, "cuda", None)
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        if info["cuda_available"]:
            info["cuda_device"] = torch.cuda.get_device_name(torch.cuda.current_device())
    except Exception:  # a driver problem is not a reason to lose the results
        pass
    return info


def environment_info():
    """Versions of Python, the platform, zsfuse and its libraries; torch's GPU.

    torch is imported (if it is not already), msclap is not: its version is
    read from the installed distribution's metadata.

    Returns
    -------
    dict
        A flat, JSON-serialisable dict, in this order::

            {
             "python": "3.11.9",                  # platform.python_version()
             "implementation": "CPython",
             "platform": "Linux-6.8.0-...-x86_64-with-glibc2.39",
             "machine": "x86_64",
             "cpu_count": 16,                     # os.cpu_count(), may be None
             "zsfuse": "0.1.0",                   # zsfuse.__version__
             "numpy": "2.4.1", "scikit-learn": "1.9.1", "torch": "2.9.0+cu128",
             "transformers": "4.57.1", "msclap": None, "skops": "0.13.0",
             "soundfile": "0.13.1", "soxr": "1.0.0", "matplotlib": "3.10.7",
                                                  # PACKAGES; None: not installed
             "torch_cuda": "12.8" or None,        # torch.version.cuda (None: CPU build)
             "cuda_available": bool,
             "cuda_device": "NVIDIA H100 80GB HBM3" or None,
            }

        No host name, user name or path is recorded.
    """
    from .._version import __version__

    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "zsfuse": __version__,
    }
    info.update((name, _version(name)) for name in PACKAGES)
    info.update(_torch_info())
    return info

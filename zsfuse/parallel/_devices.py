"""Which device a worker process uses: worker *i* takes device *i* mod *n*.

A worker learns its number *i* by claiming the lowest free slot of the run
(an empty file created with ``O_EXCL`` in the machine's temporary folder), the
first time it needs a device; the slot is kept for the rest of the run. So the
workers of one machine spread over its GPUs whatever the joblib backend, and
each loads its models once, on its own GPU.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

__all__ = ["claim_worker_slot", "device_for_worker", "expand_devices"]

_SLOTS: dict = {}
_SLOTS_LOCK = threading.Lock()


def claim_worker_slot(run_id: str, folder=None) -> int:
    """Return this process's slot in run ``run_id``: 0 for the first process to ask, 1 for the next, ...

    Parameters
    ----------
    run_id : str
        One extraction run (a random id chosen by its driver).
    folder : path-like, optional
        Where the slot files live (default: the temporary folder of this machine).

    Returns
    -------
    int
        The same number on every call of this process for this run.
    """
    with _SLOTS_LOCK:
        key = (run_id, os.getpid())
        if key in _SLOTS:
            return _SLOTS[key]
        root = Path(folder if folder is not None else tempfile.gettempdir()) / "zsfuse-worker-slots" / run_id
        root.mkdir(parents=True, exist_ok=True)
        slot = 0
        while True:
            try:
                fd = os.open(root / str(slot), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                slot += 1
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            break
        _SLOTS[key] = slot
        return slot


def expand_devices(device, devices=None, cuda_count=None):
    """The devices the workers share, or None when every worker keeps ``device``.

    Parameters
    ----------
    device : str
        The estimator's ``device``: ``"cuda"`` (or ``"auto"`` on a machine with
        CUDA) with several GPUs gives ``cuda:0 ... cuda:n-1``.
    devices : sequence of str, optional
        Given explicitly: used as they are (they must be of one type, so that
        every worker's vectors land in the same store namespace).
    cuda_count : int, optional
        GPUs on this machine (default: ``torch.cuda.device_count()``).

    Returns
    -------
    list of str or None

    Raises
    ------
    ValueError
        For an empty list or devices of several types.

    Examples
    --------
    >>> expand_devices("cuda", cuda_count=2)
    ['cuda:0', 'cuda:1']
    >>> expand_devices("cpu", cuda_count=2) is None
    True
    >>> expand_devices("cuda", devices=["cuda:2", "cuda:3"])
    ['cuda:2', 'cuda:3']
    """
    if devices is not None:
        devices = [str(d) for d in devices]
        if not devices:
            raise ValueError("devices is empty: give at least one device, e.g. devices=['cuda:0', 'cuda:1'].")
        kinds = sorted({d.split(":")[0] for d in devices})
        if len(kinds) > 1:
            raise ValueError(
                f"devices mixes device types {kinds}: every worker must compute on one type, since results "
                "differ slightly between them (and the store keeps them apart). Give devices of one type."
            )
        return devices
    if str(device) not in ("cuda", "auto"):
        return None
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{k}" for k in range(cuda_count)] if cuda_count > 1 else None


def device_for_worker(run_id, device, devices=None):
    """The device of this worker process: ``devices[slot mod n]``, or ``device`` when nothing is shared out.

    Parameters
    ----------
    run_id : str
        The run (see :func:`claim_worker_slot`).
    device : str
        The estimator's ``device``.
    devices : sequence of str, optional
        Explicit devices (see :func:`expand_devices`).

    Returns
    -------
    str
    """
    shared = expand_devices(device, devices)
    if not shared:
        return device
    return shared[claim_worker_slot(run_id) % len(shared)]

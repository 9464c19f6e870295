"""Extraction on any joblib backend (loky, threading, Dask, Ray) without a shared disk.

Workers encode shards of clips and *return* the vectors; the driver alone
writes its embedding store, shard by shard, so a killed run resumes with
nothing lost and ``cache_dir`` never has to be seen by another machine
(:func:`extract`). Several GPUs on one machine are shared out by
:func:`device_for_worker`; :func:`joblib_engine` connects the command line to
a Dask or Ray cluster.
"""

from ._devices import claim_worker_slot, device_for_worker, expand_devices
from ._engines import ENGINES, joblib_engine
from ._extract import ExtractionReport, extract

__all__ = [
    "ENGINES",
    "ExtractionReport",
    "claim_worker_slot",
    "device_for_worker",
    "expand_devices",
    "extract",
    "joblib_engine",
]

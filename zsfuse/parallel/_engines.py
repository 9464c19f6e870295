"""The joblib backends the command line offers, and how each one is started.

``loky`` (processes on this machine, joblib's default) and ``threading`` need
nothing. ``dask`` connects a ``dask.distributed.Client`` to a scheduler (or
starts a local cluster of worker processes for the run) and ``ray`` joins a Ray
cluster (or starts a local one); they come with the extras ``zsfuse[dask]`` and
``zsfuse[ray]``.
"""

from __future__ import annotations

import contextlib

from ..exceptions import MissingDependencyError

__all__ = ["ENGINES", "joblib_engine"]

#: Backend name -> what it runs on.
ENGINES = {
    "loky": "worker processes on this machine (joblib's default)",
    "threading": "threads of this process (one copy of each model)",
    "dask": "a Dask cluster: --address tcp://scheduler:8786, or a local cluster of --n-jobs worker processes",
    "ray": "a Ray cluster: --address of a running one, or a local one with --n-jobs CPUs",
}


@contextlib.contextmanager
def joblib_engine(name="loky", address=None, n_workers=None):
    """Run the joblib calls inside the block on the backend ``name``.

    Parameters
    ----------
    name : {"loky", "threading", "dask", "ray"}, default="loky"
        The backend (:data:`ENGINES`).
    address : str, optional
        Dask: the scheduler's address (``tcp://host:8786``); Ray: the
        cluster's address (``ray://host:10001`` or ``auto``). Without it, a
        local cluster is started for the block and stopped after it.
    n_workers : int, optional
        Worker processes (Dask) or CPUs (Ray) of a local cluster.

    Yields
    ------
    None

    Raises
    ------
    ValueError
        For an unknown backend, or an address given to loky or threading.
    MissingDependencyError
        When the extra of ``dask`` or ``ray`` is not installed.
    """
    from joblib import parallel_config

    if name not in ENGINES:
        raise ValueError(f"unknown joblib backend {name!r}: choose one of {', '.join(ENGINES)}.")
    if name in ("loky", "threading"):
        if address is not None:
            raise ValueError(f"an address is for the dask and ray backends, not {name!r}.")
        with parallel_config(backend=name):
            yield
        return
    with contextlib.ExitStack() as stack:
        if name == "dask":
            _start_dask(stack, address, n_workers)
        else:
            _start_ray(stack, address, n_workers)
        with parallel_config(backend=name):
            yield


def _missing(extra, exc):
    return MissingDependencyError(
        f"the {extra} backend needs its extra, which is not installed ({exc}): pip install 'zsfuse[{extra}]'."
    )


def _start_dask(stack, address, n_workers):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise _missing("dask", exc) from exc
    if address is None:
        cluster = stack.enter_context(
            LocalCluster(n_workers=n_workers or 2, threads_per_worker=1, processes=True, dashboard_address=None)
        )
        stack.enter_context(Client(cluster))
    else:
        stack.enter_context(Client(address))


def _start_ray(stack, address, n_workers):
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError as exc:
        raise _missing("ray", exc) from exc
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=n_workers or 2, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        stack.callback(ray.shutdown)
    register_ray()

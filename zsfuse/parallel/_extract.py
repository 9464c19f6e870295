"""Encode clips on joblib workers, which return vectors; the driver alone writes its store.

The run, per estimator:

1. one *probe* task fits the estimator where the models will run (a worker)
   and returns it with the store namespace of its vectors;
2. the driver looks up what its store already holds: clips carried as
   :class:`~zsfuse.audio.EncodedClip`, in-memory clips (hashed here) and files
   decoded earlier in this process need no worker; the digests the store holds
   for the namespace go to the workers, which decode the other clips and skip
   those;
3. the clips left are cut into shards; each worker encodes a shard into its own
   memory (``cache_dir=None``: it never opens the driver's store) and returns
   the digests and the new vectors; the driver writes each shard to its store
   as it arrives (one transaction per shard), so an interrupted run keeps every
   finished shard and a rerun encodes only what is missing.

Any joblib backend runs the tasks: ``joblib.parallel_config(backend="dask")``
(a ``dask.distributed.Client``), ``"ray"`` (after
``ray.util.joblib.register_ray()``), ``"loky"`` or ``"threading"``. Models load
once per worker process (the process-wide model cache), not once per shard.
"""

from __future__ import annotations

import copy
import os
import uuid
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..audio import Clips, EncodedClip
from ..exceptions import ClipError
from ..store import get_store
from ._devices import device_for_worker, expand_devices

__all__ = ["ExtractionReport", "extract"]

#: Clips in one shard: what a killed worker can lose, and the driver's step of writing. Fixed, not derived
#: from the number of workers: the shards, hence the batches and every float, are the same whatever ``n_jobs``.
SHARD_CLIPS = 32


@dataclass
class ExtractionReport:
    """What :func:`extract` did, per estimator (in order).

    Attributes
    ----------
    namespaces : list of str
        The store namespace of each estimator's vectors.
    cached : list of int
        Clips whose vectors the driver already held (store or carried).
    encoded : list of int
        Distinct clips the workers encoded.
    shards : list of int
        Tasks sent to workers.
    workers : list of dict
        Per estimator: worker process id -> device it ran on.
    """

    namespaces: list = field(default_factory=list)
    cached: list = field(default_factory=list)
    encoded: list = field(default_factory=list)
    shards: list = field(default_factory=list)
    workers: list = field(default_factory=list)


def extract(
    estimators, X, *, n_jobs=None, devices=None, shard_size=None, progress=False, report=None, return_encoded=True
):
    """Encode ``X`` with each estimator on joblib workers; the driver's store receives every vector.

    Workers never open ``cache_dir``: they return vectors, and the driver
    writes them to ``get_store(estimator.cache_dir)`` shard by shard. Results
    are identical to ``estimator.transform(X)`` in one process.

    Parameters
    ----------
    estimators : AudioTransformer or sequence of them
        :class:`~zsfuse.CLAPZeroShotTransformer` and/or
        :class:`~zsfuse.FMEmbeddingTransformer`, fitted or not (an unfitted one
        is fitted with ``fit()`` on a worker; the estimators given are not
        changed).
    X : sequence of clips
        Paths, segments, arrays (at the estimators' ``sampling_rate``) or
        :class:`~zsfuse.audio.EncodedClip` s.
    n_jobs : int, optional
        joblib's ``n_jobs`` (None: joblib's default, or the active
        ``joblib.parallel_config``; with Dask or Ray, ``-1`` uses every worker).
    devices : sequence of str, optional
        Devices shared out among the worker processes of a machine: worker *i*
        uses ``devices[i mod n]``. By default an estimator with
        ``device="cuda"`` on a machine with several GPUs uses them all.
    shard_size : int, optional
        Clips per task (default :data:`SHARD_CLIPS`). The shards do not depend
        on ``n_jobs``, so neither do the results, to the last bit.
    progress : bool, default=False
        A progress bar per estimator, counted on the driver as shards return.
    report : ExtractionReport, optional
        Filled with what was cached, encoded and where.
    return_encoded : bool, default=True
        Return the clips with their vectors (else None, and the driver does
        not keep the vectors beyond its store).

    Returns
    -------
    list of EncodedClip or None
        Each clip of ``X`` with its digest and the vector of every estimator,
        keyed by namespace: pass it as ``X`` to a pipeline or a grid search on
        any backend, and no worker needs the store or the audio.

    Raises
    ------
    ValueError
        For an estimator that is not an audio transformer, or workers that
        computed vectors under another namespace (another device type or
        model).
    ClipError
        For a clip that cannot be read, named by its index in ``X``; it is
        raised once every other shard has finished and been written, so the
        rerun after fixing it encodes only that clip's shard.
    """
    from joblib import Parallel, delayed, effective_n_jobs

    estimators = _as_list(estimators)
    clips = Clips(X, sampling_rate=_common_rate(estimators))
    n = len(clips)
    report = ExtractionReport() if report is None else report
    vectors = [{} for _ in range(n)]
    digests = [clips.known_digest(i) for i in range(n)]
    in_process = effective_n_jobs(n_jobs) == 1  # the "worker" is this process: it may use the store itself
    for est in estimators:
        run_id = uuid.uuid4().hex
        template = _worker_template(est, keep_store=in_process)
        store = get_store(est.cache_dir)
        (template, namespace), *_ = Parallel(n_jobs=n_jobs)([delayed(_probe)(template, run_id, devices)])
        held = None if return_encoded else frozenset(store.keys(namespace))  # membership only, no vector read
        out = _from_driver(clips, namespace, store, digests, held)
        todo = [i for i in range(n) if out[i] is None]
        if not todo:
            known = np.asarray([], dtype=str)
        else:
            known = np.asarray(sorted(held) if held is not None else store.keys(namespace), dtype=str)
        size = shard_size or SHARD_CLIPS
        shards = [todo[s : s + size] for s in range(0, len(todo), size)]
        where, encoded, failures = {}, 0, []
        tasks = [
            delayed(_encode_shard)(template, shard, [clips.source(i) for i in shard], known, run_id, devices)
            for shard in shards
        ]
        with _progress(len(todo), f"extracting ({type(est).__name__})", progress) as bar:
            for result in _as_completed(tasks, n_jobs):
                if isinstance(result, ClipError):  # a bad clip: the other shards still finish and are kept
                    failures.append(result)
                    continue
                if result.namespace != namespace:
                    raise ValueError(
                        f"a worker (process {result.pid}, device {result.device}) computed vectors under the "
                        f"namespace {result.namespace!r}, the first one under {namespace!r}: the workers differ "
                        "(device type, dtype or model files). Set device and dtype explicitly."
                    )
                fresh = {d: v for d, v in zip(result.digests, result.vectors) if v is not None}
                if fresh and not in_process:  # in this process the shard was written by its own encoding
                    store.put_many(namespace, fresh)  # one transaction: this shard is kept whatever follows
                for i, d, v in zip(result.indices, result.digests, result.vectors):
                    digests[i] = d
                    out[i] = v if v is None or return_encoded else _HELD  # written: the driver need not keep it
                encoded += result.encoded
                where[result.pid] = result.device
                bar.update(len(result.indices))
        if failures:
            raise min(failures, key=lambda exc: (exc.index is None, exc.index or 0))
        missing = [i for i in todo if out[i] is None]  # skipped on the workers: the store holds them
        stored = _stored(store, namespace, [digests[i] for i in missing], held)
        for i, v in zip(missing, stored):
            if v is None:
                raise RuntimeError(f"clip {i}: its vector ({namespace}) vanished from the store during extraction.")
            out[i] = v
        report.namespaces.append(namespace)
        report.cached.append(n - len(todo) + len(missing))
        report.encoded.append(encoded)
        report.shards.append(len(shards))
        report.workers.append(where)
        if return_encoded:
            for i in range(n):
                vectors[i][namespace] = out[i]
    if not return_encoded:
        return None
    return [_encoded(clips, i, digests[i], vectors[i]) for i in range(n)]


def _as_completed(tasks, n_jobs):
    """Run the tasks on joblib's active backend; yield each result as soon as the driver can have it.

    Backends that stream results (loky, threading, Dask) hand each shard over
    as it finishes. Those that do not (Ray's) run in waves of two tasks per
    worker, each wave written before the next starts.
    """
    from joblib import Parallel, effective_n_jobs

    if not tasks:
        return
    started = False
    try:
        for result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
            started = True
            yield result
        return
    except ValueError as exc:  # the backend's refusal comes before any task runs
        if started or "return_as" not in str(exc):
            raise
    wave = 2 * max(1, effective_n_jobs(n_jobs))
    for start in range(0, len(tasks), wave):
        yield from Parallel(n_jobs=n_jobs)(tasks[start : start + wave])


def _as_list(estimators):
    from .._estimator import AudioTransformer

    estimators = [estimators] if isinstance(estimators, AudioTransformer) else list(estimators)
    for est in estimators:
        if not isinstance(est, AudioTransformer):
            raise ValueError(
                f"extract takes zsfuse's audio transformers (CLAPZeroShotTransformer, FMEmbeddingTransformer), "
                f"got {type(est).__name__}."
            )
    if not estimators:
        raise ValueError("extract needs at least one estimator.")
    return estimators


def _common_rate(estimators):
    rates = {est.sampling_rate for est in estimators}
    if len(rates) > 1:
        raise ValueError(f"the estimators read arrays at different sampling_rate values {sorted(map(str, rates))}.")
    return rates.pop()


def _worker_template(est, keep_store=False):
    """A copy for the workers: its own memory store (``cache_dir=None``, unless it runs here), no progress bar."""
    try:
        check_is_fitted(est)
        template = copy.deepcopy(est)  # fitted state travels (small numpy arrays)
    except Exception:  # NotFittedError: fitted on a worker by the probe
        template = clone(est)
    template.set_params(progress=False)
    return template if keep_store else template.set_params(cache_dir=None)


#: Stands for a vector that the driver's store holds, where ``extract(..., return_encoded=False)``
#: has no use for the vector itself (so that a large run does not hold every vector in memory).
_HELD = object()


def _stored(store, namespace, digests, held=None):
    """The store's vector of each digest (None where it has none); only :data:`_HELD` if ``held`` is given.

    ``held``: the digests the store holds under ``namespace``, read once, when the vectors are not needed.
    """
    if held is None:
        return store.get_many(namespace, digests)
    return [_HELD if d in held else None for d in digests]


def _from_driver(clips, namespace, store, digests, held=None):
    """Vectors the driver has without a worker: carried by the clip, or in its store under a known digest."""
    out = [clips.attached(i, namespace) for i in range(len(clips))]
    for i in range(len(clips)):
        if out[i] is None and digests[i] is None and clips.path(i) is None and clips.known_digest(i) is None:
            digests[i] = clips[i].digest  # an in-memory clip: hashing it here is cheap
    known = [i for i in range(len(clips)) if out[i] is None and digests[i] is not None]
    for i, v in zip(known, _stored(store, namespace, [digests[i] for i in known], held)):
        out[i] = v
    return out


def _encoded(clips, i, digest, vectors):
    source = clips.source(i)
    if isinstance(source, EncodedClip):
        return source.with_vectors(vectors)
    return EncodedClip(source, digest, vectors)


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="clip", disable=not enabled, leave=False)


# -- on the workers ------------------------------------------------------------------------------------


@dataclass
class _ShardResult:
    indices: list
    namespace: str
    digests: list
    vectors: list
    encoded: int
    pid: int
    device: str


class _SortedKeys:
    """Membership in a sorted object array of digests (no set built per task)."""

    def __init__(self, keys):
        self.keys = keys

    def __contains__(self, key):
        pos = int(np.searchsorted(self.keys, key))
        return pos < len(self.keys) and self.keys[pos] == key


def _on_worker(template, run_id, devices):
    """The template on this worker's device (see :func:`device_for_worker`), fitted."""
    est = template
    if expand_devices(template.device, devices) is not None:
        est = copy.deepcopy(template).set_params(device=device_for_worker(run_id, template.device, devices))
    try:
        check_is_fitted(est)
    except Exception:
        est = est.fit()
    return est


def _probe(template, run_id, devices):
    """Fit the template where the models run; return it (with its own ``device``) and its namespace."""
    est = _on_worker(template, run_id, devices)
    namespace, _ = est._embed_clips(Clips([]))
    return est.set_params(device=template.device), namespace


def _encode_shard(template, indices, sources, known, run_id, devices):
    est = _on_worker(template, run_id, devices)
    report = {}
    try:
        clips = est._clips(sources)
        namespace, vectors = est._embed_clips(clips, skip=_SortedKeys(known), report=report)
    except ClipError as exc:  # returned, named by its position in the driver's X (not in the shard)
        index = indices[exc.index] if isinstance(exc.index, int) and 0 <= exc.index < len(indices) else exc.index
        return type(exc)(index, exc.path, exc.problem, exc.fix)
    return _ShardResult(
        list(indices),
        namespace,
        report["digests"],
        [None if v is None else np.asarray(v) for v in vectors],
        report["encoded"],
        os.getpid(),
        str(est.device),
    )

"""The three-system comparison behind ``zsfuse evaluate``.

For every fold of a speaker-independent protocol, three systems are fitted on
the training speakers and scored on the test speakers:

* ``fm_baseline`` -- the foundation-model embedding, normalised as the fusion
  classifier normalises its FM block, and the same head: exactly
  ``LateFusionClassifier(zs_weight=0)``, the supervised SOTA recipe;
* ``zero_shot`` -- the CLAP zero-shot scores alone (argmax; nothing learned);
* ``zero_shot_tuned`` -- the same, its amplification and prompt ensemble (the
  zero-shot entries of the grid) chosen by the inner search on the training
  speakers: what amplification alone buys;
* ``zs_fuse`` -- the ZS-Fuse pipeline, its amplification and fusion weight chosen
  by an inner ``GridSearchCV`` over the training speakers only.

Fair by construction: every grid entry the baseline has -- the head's own
parameters (``clf__normalize``, ``clf__estimator__C``, ...) and the FM
transformer's -- is tuned for the baseline by the same inner speaker-grouped
search as for ZS-Fuse, so fusion never gets more tuning than its baseline
(:func:`baseline_grid`). Both choices are recorded per fold.

Embeddings are extracted once, before any fold, for every audio setting of the
grid (one pass per ``audio_repeats`` value plus one FM pass), into the
embedding store: with a ``cache_dir`` a killed run resumes where it stopped,
and a second run encodes nothing. The folds then read the store.
"""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone

import numpy as np

from .._defaults import DEFAULT_CLAP_MODEL, DEFAULT_FM_MODEL
from .._json import jsonable
from ..exceptions import EvaluationError, TrainingDataWarning
from ._format import note, progress_bar

__all__ = [
    "DEFAULT_GRID",
    "HEADS",
    "SYSTEMS",
    "EvaluationError",
    "baseline_grid",
    "default_grid",
    "evaluate",
    "preflight",
    "resolve_grid",
]

#: The systems compared, in display order.
SYSTEMS = ("fm_baseline", "zero_shot", "zero_shot_tuned", "zs_fuse")

#: The default inner grid of ZS-Fuse (zsfuse evaluate, docs/commands/evaluate.md): audio and text
#: amplification and the fusion weight (``zs_weight=0`` keeps the FM baseline among the candidates).
DEFAULT_GRID = {
    "zs__audio_repeats": [1, 2, 3],
    "zs__text_repeats": [1, 2, 3],
    "clf__zs_weight": [0.0, 0.25, 0.5, 1.0],
}

#: The heads of ``zsfuse evaluate --head``: what each adds to the default grid (tuned for the FM
#: baseline and for ZS-Fuse alike) and the FM output it reads (``docs/commands/evaluate.md``).
HEADS = {
    # LogisticRegression on the pooled embedding: the normalisation and C (4 candidates)
    "logreg": {"grid": {"clf__normalize": ["standard", "layernorm"], "clf__estimator__C": [0.1, 1.0]}},
    # EmoBox's recipe on the last layer's frames: the epoch is chosen inside on a validation part. Each
    # candidate trains a network for 100 epochs, so the default grid is 8 candidates, not 36
    "emobox": {
        "grid": {"zs__audio_repeats": [1, 2], "zs__text_repeats": [1, 2], "clf__zs_weight": [0.0, 1.0]},
        "fm": {"pooling": "none", "layers": "last"},
    },
    # SUPERB's learned layer weighting on every layer's mean-pooled vector (exact: the time mean commutes)
    "superb": {"grid": {}, "fm": {"layers": "all", "layer_reduce": "concat", "pooling": "mean"}},
}

#: Parameters of the fusion classifier that only fusion has; every other ``clf__`` entry is the head's.
_FUSION_ONLY = {"zs_weight", "fusion", "zs_columns", "zs_labels", "temperature", "cv"}

_AUDIO_REPEATS = "features__zs__audio_repeats"


def default_grid(head="logreg"):
    """The default inner grid of ``zsfuse evaluate`` for a head.

    Parameters
    ----------
    head : {"logreg", "emobox", "superb"}, default="logreg"
        The head (see :data:`HEADS`).

    Returns
    -------
    dict
        :data:`DEFAULT_GRID` plus the head's own entries.
    """
    return {**DEFAULT_GRID, **HEADS[head]["grid"]}


def baseline_grid(grid):
    """The entries of a resolved grid that the FM baseline has, named as in its pipeline.

    The baseline is ``Pipeline([("fm", ...), ("clf", LateFusionClassifier(zs_columns=[]))])``:
    it takes the FM transformer's entries (``features__fm__x`` -> ``fm__x``) and
    the classifier's head entries (``clf__normalize``, ``clf__estimator__C``:
    every ``clf__`` entry but the fusion-only ones, ``zs_weight``, ``fusion``,
    ``temperature``, ...); the zero-shot entries do not concern it.

    Parameters
    ----------
    grid : dict
        Pipeline parameter name -> values (see :func:`resolve_grid`).

    Returns
    -------
    dict
        Baseline pipeline parameter name -> values.
    """
    out = {}
    for name, values in grid.items():
        if name.startswith("features__fm__"):
            out["fm__" + name[len("features__fm__") :]] = values
        elif name.startswith("clf__") and name[len("clf__") :].split("__")[0] not in _FUSION_ONLY:
            out[name] = values
    return out


def _as_grid_names(params):
    """Baseline parameter names back in the grid's spelling (``fm__x`` -> ``features__fm__x``)."""
    return {("features__" + k if k.startswith("fm__") else k): v for k, v in params.items()}


def resolve_grid(grid, pipe):
    """Return ``grid`` with every name spelled as the pipeline's parameter name.

    Parameters
    ----------
    grid : dict
        Name -> list of values. Names as in :func:`zsfuse.make_zsfuse_pipeline`:
        ``zs__audio_repeats``, ``clf__zs_weight``, a full path such as
        ``features__zs__text_repeats``, or a plain name one step owns
        (``audio_repeats``, ``zs_weight``).
    pipe : sklearn.pipeline.Pipeline
        A pipeline from :func:`zsfuse.make_zsfuse_pipeline`.

    Returns
    -------
    dict
        Pipeline parameter name -> list of values.

    Raises
    ------
    EvaluationError
        For an unknown name, or a value that is not a non-empty list.
    """
    from ..pipeline import route_params

    if not isinstance(grid, dict) or not grid:
        raise EvaluationError(f"the grid must be a non-empty mapping of parameter -> values, got {grid!r}.")
    union = pipe.named_steps["features"]
    zs, fm = dict(union.transformer_list)["zs"], dict(union.transformer_list)["fm"]
    known = set(pipe.get_params(deep=True))
    out = {}
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
            raise EvaluationError(f"grid entry {name!r} must be a non-empty list of values, got {values!r}.")
        try:
            routed = route_params({name: None}, zs, fm, pipe.named_steps["clf"])
        except ValueError as exc:
            raise EvaluationError(f"grid entry {name!r}: {exc}") from None
        for full in routed:
            if full not in known:
                raise EvaluationError(
                    f"grid entry {name!r} names {full!r}, which the pipeline does not have; "
                    "e.g. zs__audio_repeats, zs__text_repeats, zs__templates, clf__zs_weight, clf__fusion."
                )
            out[full] = [_plain(v) for v in values]
    return out


def preflight(pipe, grid):
    """Run every check that loads no model on every grid point, before any extraction.

    A bad parameter value, a speech-model folder of the wrong kind or a layer
    out of range then fails in seconds, not after every clip was encoded.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        A pipeline from :func:`zsfuse.make_zsfuse_pipeline`.
    grid : dict
        Pipeline parameter name -> list of values (see :func:`resolve_grid`).

    Raises
    ------
    EvaluationError
        Naming the grid point and what is wrong with it.
    """
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    for point in [None, *ParameterGrid(grid)]:  # the fixed parameters first, then each grid point
        candidate = clone(pipe).set_params(**(point or {}))
        steps = dict(candidate.named_steps["features"].transformer_list)
        if point is None:
            from ..backends import check_clap_model

            zs = steps["zs"]
            check_clap_model(  # found, a model of a registered family, with options it takes
                zs.model,
                version=zs.version,
                text_model=zs.text_model,
                revision=zs.revision,
                trust_remote_code=zs.trust_remote_code,
                backend_options=zs.backend_options,
            )
        try:
            steps["zs"].check_settings()  # also opens the disk cache: an unusable one fails (CacheError)
            steps["fm"].fit(None)  # reads the model's configuration, not its weights
            candidate.named_steps["clf"].check_settings()
        except ValueError as exc:
            where = "" if point is None else f" (grid point {jsonable(point)})"
            raise EvaluationError(f"{exc}{where}") from exc


def _plain(value):
    """numpy scalars and lists as plain Python values (for JSON and for set_params)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)  # a grid value that is a list, e.g. templates
    return value


def evaluate(
    dataset,
    *,
    clap=DEFAULT_CLAP_MODEL,
    fm=DEFAULT_FM_MODEL,
    grid=None,
    params=None,
    head="logreg",
    inner_folds=3,
    folds=None,
    device="auto",
    dtype="auto",
    batch_size=16,
    cache_dir=None,
    n_jobs=1,
    progress=True,
    out=None,
    command=None,
):
    """Fit and score the FM baseline, zero-shot and ZS-Fuse on every fold of a dataset.

    Parameters
    ----------
    dataset : zsfuse.datasets.Dataset
        Clips, labels, speakers and folds (from :func:`zsfuse.datasets.load_dataset`).
    clap, fm : str
        The CLAP model and the speech foundation model: hub ids, names
        (``msclap-2023``) or local folders.
    grid : dict, optional
        The inner grid of ZS-Fuse (see :func:`resolve_grid`). Default
        :func:`default_grid` of ``head``: :data:`DEFAULT_GRID` plus the head's
        own entries. Every entry the FM baseline has (the head's parameters,
        the FM transformer's) is tuned for the baseline too, by the same inner
        search (:func:`baseline_grid`).
    params : dict, optional
        Fixed pipeline parameters, as keywords of
        :func:`zsfuse.make_zsfuse_pipeline` (e.g. ``{"templates": (...),
        "layers": "all"}``). The zero-shot system uses them as they are; the
        default prompt words of the classes come from
        :func:`zsfuse.prompts.emotion_words`.
    head : {"logreg", "emobox", "superb"}, default="logreg"
        The supervised head of the FM baseline and of ZS-Fuse (:data:`HEADS`):
        ``"logreg"`` -- ``LogisticRegression`` on the pooled embedding, its
        ``C`` and the normalisation tuned; ``"emobox"`` -- EmoBox's recipe
        (:class:`~zsfuse.EmoBoxHead`) on the last layer's frames
        (``pooling="none"``); ``"superb"`` -- SUPERB's learned layer weighting
        (:class:`~zsfuse.SuperbHead`) on every layer's mean-pooled vector. With
        the torch heads the zero-shot block reaches the head as side features
        (``fusion="concat"``).
    inner_folds : int, default=3
        Folds of the inner search: ``GroupKFold`` over the training speakers
        (fewer when there are fewer speakers; stratified folds, with a note in
        the results, when the training part has one speaker).
    folds : sequence of str or int, optional
        Run only these folds (names or 1-based positions). Default: all.
    device, dtype, batch_size : optional
        How to run the models (see the transformers).
    cache_dir : str, optional
        On-disk embedding store: makes the extraction resumable and a second
        run free. Needed with ``n_jobs > 1``.
    n_jobs : int, default=1
        joblib workers for the extraction (shards of clips) and the inner grid
        search. Any joblib backend can take them (``joblib.parallel_config``).
    progress : bool, default=True
        Progress bars (extraction, folds) on stderr.
    out : str or path-like, optional
        Write ``results.json``, ``results.csv``, ``report.md``,
        ``predictions.csv`` and confusion-matrix PNGs here.
    command : str, optional
        The command line, recorded for reproduction.

    Returns
    -------
    dict
        The results (schema in :mod:`zsfuse.evaluation._report`).

    Raises
    ------
    EvaluationError
        For a bad grid or parameter, or a fold whose training part lacks a class.
    """
    from ..pipeline import make_zsfuse_pipeline
    from ..prompts import emotion_words
    from ._environment import environment_info
    from ._report import build_summary

    started = time.perf_counter()
    classes = tuple(dataset.classes)
    params = dict(params or {})
    if not any(k.split("__")[-1] == "label_words" for k in params):
        params["zs__label_words"] = emotion_words(classes)
    if isinstance(inner_folds, bool) or not isinstance(inner_folds, int) or inner_folds < 2:
        raise EvaluationError(f"inner_folds (--inner-folds) must be an integer of at least 2, got {inner_folds!r}.")
    clash = sorted(set(params) & {"labels", "device", "dtype", "batch_size", "cache_dir", "progress"})
    if clash:
        raise EvaluationError(
            f"{clash} cannot be set through params (--set): they are arguments of evaluate of their own "
            "(the classes come from the dataset; use --device, --dtype, --batch-size, --cache-dir)."
        )
    params = _head_params(head, params)
    try:
        pipe = make_zsfuse_pipeline(
            clap=clap,
            fm=fm,
            labels=classes,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            cache_dir=cache_dir,
            progress=False,
            **params,
        )
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None
    if head == "superb":  # the layer count of the FM's output: known from its configuration
        fm_step = clone_fitted(pipe.named_steps["features"], "fm")
        pipe.set_params(clf__estimator__n_layers=len(fm_step.layers_))
    grid = resolve_grid(default_grid(head) if grid is None else grid, pipe)
    chosen = _select_folds(dataset, folds)
    _check_folds(dataset, chosen)
    preflight(pipe, grid)
    caveats = training_data_caveats(clap, dataset) + speaker_overlap_caveats(dataset)

    paths = list(dataset.paths)
    labels = np.asarray(dataset.labels, dtype=object)
    speakers = np.asarray(dataset.speakers, dtype=object)
    needed = np.unique(np.concatenate([np.concatenate([f.train, f.test]) for f in chosen]))
    encoded = extract(pipe, grid, [paths[i] for i in needed], n_jobs=n_jobs, progress=progress)
    clips = list(paths)  # the clips of the folds carry their vectors: no worker needs the store or the audio
    for i, clip in zip(needed, encoded):
        clips[i] = clip
    searched = pipe if n_jobs == 1 else _without_disk_cache(pipe)

    fold_results, predictions, probabilities = [], [], []
    for fold in progress_bar(chosen, progress, "folds", unit="fold"):
        record, preds, proba = _run_fold(
            searched, grid, fold, clips, paths, labels, speakers, classes, inner_folds, n_jobs
        )
        fold_results.append(record)
        predictions.extend(preds)
        probabilities.append(proba)

    union = pipe.named_steps["features"]
    zs, fm_step = (clone_fitted(union, name) for name in ("zs", "fm"))
    environment = environment_info()
    results = {
        "zsfuse_version": environment.get("zsfuse"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": None,
        "dataset": dataset_record(dataset, chosen),
        "config": {
            "command": command,
            "clap": str(clap),
            "fm": str(fm),
            "grid": grid,
            "baseline_grid": _as_grid_names(baseline_grid(grid)),
            "head": head,
            "params": jsonable(params),
            "inner_folds": inner_folds,
            "device": device,
            "dtype": str(dtype),
            "batch_size": batch_size,
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "n_jobs": n_jobs,
            "folds": [f.name for f in chosen],
            "zs_params": jsonable(zs.get_params()),
            "fm_params": jsonable(fm_step.get_params()),
            "clf_params": jsonable(pipe.named_steps["clf"].get_params(deep=False)),
        },
        "models": {
            "clap": {"model": str(clap), "revision": zs.revision, "fingerprint": zs.backend_fingerprint_},
            "fm": {"model": str(fm), "revision": fm_step.revision, "fingerprint": fm_step.backend_fingerprint_},
        },
        "environment": environment,
        "systems": list(SYSTEMS),
        "caveats": caveats,
        "folds": fold_results,
        "comparison": compare_systems(predictions, classes),
        "calibration": pooled_system_calibration(probabilities, classes),
    }
    results["summary"] = build_summary(results)
    results["elapsed_s"] = round(time.perf_counter() - started, 3)
    if out is not None:
        write_outputs(results, predictions, out)
    return results


def _head_params(head, params):
    """``params`` with the head's estimator and the FM output it reads; a clash is an error."""
    if head not in HEADS:
        raise EvaluationError(f"unknown head {head!r}: choose one of {', '.join(map(repr, HEADS))}.")
    params = dict(params)
    if any(k.split("__")[-1] == "estimator" for k in params):
        if head != "logreg":
            raise EvaluationError(f"head={head!r} sets the classifier's estimator: do not also set it with params.")
        return params  # the user's own head
    from ..fusion import EmoBoxHead, SuperbHead, default_head

    params["clf__estimator"] = {"logreg": default_head, "emobox": EmoBoxHead, "superb": SuperbHead}[head]()
    for name, value in HEADS[head].get("fm", {}).items():
        given = [v for k, v in params.items() if k in (name, f"fm__{name}", f"features__fm__{name}")]
        if given and given[0] != value:
            raise EvaluationError(
                f"head={head!r} reads the FM output {name}={value!r}; params set {name}={given[0]!r}."
            )
        if not given:
            params[f"fm__{name}"] = value
    return params


def clone_fitted(union, name):
    """A fitted copy of one transformer of the union (for the records: model revision, fingerprint)."""
    from sklearn.base import clone

    est = clone(dict(union.transformer_list)[name])
    return est.fit(None)


def write_outputs(results, predictions, out):
    """Write the reports and ``predictions.csv`` to ``out``; return the paths."""
    import csv
    from pathlib import Path

    from ._atomic import atomic_write
    from ._report import write_reports

    written = write_reports(results, out)
    fields = ["fold", "index", "path", "speaker", "label", *SYSTEMS]

    def write(f):
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(predictions)

    path = atomic_write(Path(out) / "predictions.csv", write, newline="")
    return [*written, path]


# -- extraction ------------------------------------------------------------------------------------


#: Parameters of the zero-shot transformer that change only the text side: its audio vectors stay the same.
_TEXT_ONLY = frozenset({"labels", "label_words", "templates", "text_repeats", "text_repeat_unit", "ensemble", "output"})


def extraction_jobs(pipe, grid):
    """One estimator per distinct encoder setting that ``grid`` reaches (every audio setting of the zero-shot
    transformer, every setting of the FM transformer), with the pipeline's other parameters.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        A pipeline from :func:`zsfuse.make_zsfuse_pipeline`.
    grid : dict
        The resolved grid (full parameter names).

    Returns
    -------
    list of (str, AudioTransformer)
        A label (``"zs audio_repeats=2"``) and an unfitted clone per setting.
    """
    import itertools

    from sklearn.base import clone

    steps = dict(pipe.named_steps["features"].transformer_list)
    jobs = []
    for name in ("zs", "fm"):
        prefix = f"features__{name}__"
        keys = sorted(k for k in grid if k.startswith(prefix) and (name == "fm" or k[len(prefix) :] not in _TEXT_ONLY))
        for combo in itertools.product(*(grid[k] for k in keys)):
            setting = {k[len(prefix) :]: v for k, v in zip(keys, combo)}
            label = " ".join(f"{k}={v}" for k, v in setting.items())
            jobs.append((f"{name} {label}".strip(), clone(steps[name]).set_params(**setting)))
    return jobs


def extract(pipe, grid, paths, n_jobs=1, progress=True):
    """Encode every clip once per encoder setting of the grid (:func:`extraction_jobs`), into the store.

    The work runs on :func:`zsfuse.parallel.extract`: with ``n_jobs > 1`` on
    joblib workers of any backend (``joblib.parallel_config``), which return
    their vectors; only this process writes the pipeline's ``cache_dir``.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        A pipeline from :func:`zsfuse.make_zsfuse_pipeline`.
    grid : dict
        The resolved grid.
    paths : list of str
        The clips.
    n_jobs : int, default=1
        joblib workers.
    progress : bool, default=True
        Progress bars.

    Returns
    -------
    list of EncodedClip
        The clips with their vectors of every setting.
    """
    from ..parallel import extract as extract_clips

    jobs = extraction_jobs(pipe, grid)
    if progress:
        note(
            f"extracting {len(paths)} clips for {len(jobs)} encoder settings ({'; '.join(j for j, _ in jobs)}), "
            f"n_jobs={n_jobs}"
        )
    return extract_clips([est for _, est in jobs], paths, n_jobs=n_jobs, progress=progress)


def _without_disk_cache(pipe):
    """A clone of ``pipe`` whose audio transformers use their process's memory store: what workers get."""
    from sklearn.base import clone

    return clone(pipe).set_params(**{k: None for k in pipe.get_params() if k.endswith("__cache_dir")})


# -- one fold --------------------------------------------------------------------------------------


def _run_fold(pipe, grid, fold, clips, paths, labels, speakers, classes, inner_folds, n_jobs):
    from ._zero_shot_system import zero_shot_grid, zero_shot_system

    train, test = np.asarray(fold.train), np.asarray(fold.test)
    X_train, X_test = [clips[i] for i in train], [clips[i] for i in test]
    y_train, y_test = labels[train], labels[test]
    steps = dict(pipe.named_steps["features"].transformer_list)

    predicted = {}
    cv, note = _inner_cv(y_train, speakers[train], inner_folds)
    note = note if any(len(v) > 1 for v in grid.values()) else None  # no inner search, nothing to note
    baseline = fm_baseline(steps["fm"], pipe.named_steps["clf"])
    baseline, baseline_best = _search(baseline, baseline_grid(grid), cv, X_train, y_train, speakers[train], n_jobs)
    predicted["fm_baseline"] = baseline.predict(X_test)
    zero_shot = zero_shot_system(steps["zs"]).fit(X_train, y_train)
    predicted["zero_shot"] = zero_shot.predict(X_test)
    tuned, tuned_best = _search(
        zero_shot_system(steps["zs"]), zero_shot_grid(grid), cv, X_train, y_train, speakers[train], n_jobs
    )
    predicted["zero_shot_tuned"] = tuned.predict(X_test)
    fused, best = _search(pipe, grid, cv, X_train, y_train, speakers[train], n_jobs)
    predicted["zs_fuse"] = fused.predict(X_test)
    systems = {"fm_baseline": baseline, "zero_shot": zero_shot, "zero_shot_tuned": tuned, "zs_fuse": fused}
    proba = {name: _test_proba(est, X_test, classes) for name, est in systems.items()}

    from ._calibration import calibration_metrics
    from ._metrics import fold_metrics

    record = {
        "fold": fold.name,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "test_speakers": sorted({str(s) for s in speakers[test]}),
        "best_params": best,
        "baseline_params": _as_grid_names(baseline_best),
        "zero_shot_params": {"features__" + k: v for k, v in tuned_best.items()},
        "systems": {name: fold_metrics(y_test, predicted[name], classes) for name in SYSTEMS},
        "calibration": {
            name: calibration_metrics(y_test, p, sorted(classes)) for name, p in proba.items() if p is not None
        },
        "temperature": _temperature(fused),
    }
    if note:
        record["note"] = note
    preds = [
        {
            "fold": fold.name,
            "index": int(i),
            "path": paths[i],
            "speaker": str(speakers[i]),
            "label": str(labels[i]),
            **{name: str(predicted[name][k]) for name in SYSTEMS},
        }
        for k, i in enumerate(test)
    ]
    return record, preds, {name: (y_test, p) for name, p in proba.items() if p is not None}


def _test_proba(estimator, X, classes):
    """A fitted system's probabilities of ``X``, columns in sorted class order (None: it gives none)."""
    if not hasattr(estimator, "predict_proba"):
        return None
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    order = [list(estimator.classes_).index(c) for c in sorted(classes)]
    return proba[:, order]


def _temperature(fused):
    """The zero-shot temperature the fusion classifier fitted (``"weighted"``, ``"stack"``), else None."""
    value = getattr(fused[-1], "temperature_", None)
    return None if value is None else float(value)


def pooled_system_calibration(probabilities, classes):
    """Each system's calibration on the pooled test clips of all the folds.

    Parameters
    ----------
    probabilities : list of dict
        Per fold: system -> ``(y_test, proba)``, columns in sorted class order.
    classes : sequence
        The dataset's classes.

    Returns
    -------
    dict
        System -> :func:`~zsfuse.evaluation.pooled_calibration` (ECE, classwise
        ECE, NLL, Brier, and the reliability curve).
    """
    from ._calibration import pooled_calibration

    systems = [s for s in SYSTEMS if all(s in fold for fold in probabilities)]
    return {s: pooled_calibration([fold[s] for fold in probabilities], sorted(classes)) for s in systems}


def fm_baseline(fm, clf):
    """The FM-only system: ``fm`` -> the fusion classifier without a zero-shot block.

    ``LateFusionClassifier(zs_columns=[], fusion="concat")`` fits its head on
    the normalised FM block alone: exactly what ``zs_weight=0`` gives, with the
    same ``normalize`` and head, under the same parameter names
    (``clf__normalize``, ``clf__estimator__C``), so that one grid tunes both.

    Parameters
    ----------
    fm : FMEmbeddingTransformer
        The FM transformer (cloned).
    clf : LateFusionClassifier
        The fusion classifier (cloned): its ``normalize`` and ``estimator`` are used.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted, steps ``fm`` and ``clf``.
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    head = clone(clf).set_params(zs_columns=[], fusion="concat", zs_weight=0.0, zs_labels=None)
    return Pipeline([("fm", clone(fm)), ("clf", head)])


def _inner_cv(y, groups, inner_folds):
    """The inner folds: speaker-grouped, or stratified (with a note) when the training part has one speaker."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    n_groups = len(set(groups))
    if n_groups >= 2:
        return GroupKFold(n_splits=min(inner_folds, n_groups)), None
    _, counts = np.unique(y, return_counts=True)
    cv = StratifiedKFold(n_splits=max(2, min(inner_folds, int(counts.min()))))
    return cv, "one training speaker: the inner search used stratified folds (not speaker-independent)"


def _search(estimator, grid, cv, X, y, groups, n_jobs):
    """Fit ``estimator`` at the inner search's best point of ``grid`` (a plain fit for one point)."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    if all(len(v) == 1 for v in grid.values()):
        point = {k: v[0] for k, v in grid.items()}
        return clone(estimator).set_params(**point).fit(X, y), jsonable(point)
    search = GridSearchCV(
        clone(estimator), grid, cv=cv, scoring="balanced_accuracy", n_jobs=n_jobs, error_score="raise"
    )
    search.fit(X, y, groups=groups)
    return search.best_estimator_, jsonable(search.best_params_)


# -- checks and records -----------------------------------------------------------------------------


def training_data_caveats(clap, dataset):
    """Warn (:class:`~zsfuse.TrainingDataWarning`) and return the caveats when ``dataset`` trained ``clap``.

    The corpus is known by the dataset's name and, for EmoBox metadata, its
    EmoBox name; the facts come from the backend registry.

    Returns
    -------
    list of str
        Empty when the zero-shot system is zero-shot on this corpus.
    """
    from ..backends import not_zero_shot

    info = dict(getattr(dataset, "info", {}) or {})
    caveat = not_zero_shot(clap, [dataset.name, info.get("emobox_dataset"), info.get("corpus")])
    if caveat is None:
        return []
    warnings.warn(caveat, TrainingDataWarning, stacklevel=3)
    return [caveat]


def speaker_overlap_caveats(dataset):
    """The caveat of a protocol whose folds share speakers between training and test parts.

    Such folds (EmoBox's CREMA-D, Emo-DB and TESS splits) load only with
    ``allow_speaker_overlap=True``; their results are speaker-dependent and
    not comparable with speaker-independent ones.

    Returns
    -------
    list of str
        Empty for a speaker-independent dataset.
    """
    if getattr(dataset, "speaker_independent", True):
        return []
    info = dict(getattr(dataset, "info", {}) or {})
    if info.get("speaker_check") == "unchecked":
        return [
            "speaker-dependent (unverified): the dataset gives no speaker of its clips, so nothing shows that "
            "the test speakers of a fold are absent from its training part; do not compare these numbers "
            "with speaker-independent results."
        ]
    return [
        "speaker-dependent: the folds share speakers between their training and test parts "
        "(loaded with allow_speaker_overlap=True), so these numbers are not speaker-independent and "
        "cannot be compared with speaker-independent results."
    ]


def compare_systems(predictions, classes, a="fm_baseline", b="zs_fuse"):
    """Is ``b`` better than ``a``: the UA difference on the pooled test clips, its CI and McNemar's test.

    Parameters
    ----------
    predictions : list of dict
        The rows of ``predictions.csv``: ``fold``, ``speaker``, ``label`` and one
        column per system.
    classes : sequence
        The dataset's classes.
    a, b : str
        The reference system and the compared one.

    Returns
    -------
    dict
        :func:`~zsfuse.evaluation.pooled_over_folds` (a speaker bootstrap of the
        difference, seeded, 2000 resamples), plus ``"systems": [a, b]`` and
        ``"text"``, a one-line summary.
    """
    from ._significance import format_comparison, pooled_over_folds

    folds = {}
    for row in predictions:
        folds.setdefault(row["fold"], []).append(row)
    per_fold = [tuple([r[key] for r in rows] for key in ("label", a, b, "speaker")) for rows in folds.values()]
    result = pooled_over_folds(per_fold, classes=[str(c) for c in classes])
    result["systems"] = [a, b]
    result["text"] = format_comparison(result)
    return result


def _select_folds(dataset, folds):
    all_folds = list(dataset.folds)
    if not all_folds:
        raise EvaluationError(f"dataset {dataset.name!r} has no folds to evaluate.")
    if folds is None:
        return all_folds
    by_name = {f.name: f for f in all_folds}
    chosen = []
    for f in folds:
        key = str(f)
        if key in by_name:
            chosen.append(by_name[key])
        elif key.isdigit() and 1 <= int(key) <= len(all_folds):
            chosen.append(all_folds[int(key) - 1])
        else:
            raise EvaluationError(
                f"unknown fold {f!r}: the protocol has {', '.join(by_name)} (or 1..{len(all_folds)})."
            )
    return chosen


def _check_folds(dataset, folds):
    labels = np.asarray(dataset.labels, dtype=object)
    classes = set(dataset.classes)
    for fold in folds:
        if len(fold.test) == 0 or len(fold.train) == 0:
            raise EvaluationError(f"fold {fold.name!r} has an empty training or test part.")
        missing = classes - set(labels[np.asarray(fold.train)])
        if missing:
            raise EvaluationError(
                f"fold {fold.name!r}: class(es) {sorted(missing)} have no training clip, so no system can "
                "learn them; merge or drop them (--classes / a class map) or use another protocol."
            )


def dataset_record(dataset, folds, used=None):
    """The record of a dataset in the results: name, root, protocol, speakers, classes, counts, info.

    Parameters
    ----------
    dataset : zsfuse.datasets.Dataset
        The dataset.
    folds : sequence of Fold
        The folds run.
    used : array-like of int, optional
        The clips used; default: those of the folds' training and test parts.

    Returns
    -------
    dict
        JSON-able.
    """
    labels = np.asarray(dataset.labels, dtype=object)
    if used is None:
        used = np.unique(np.concatenate([np.concatenate([f.train, f.test]) for f in folds]))
    names, counts = np.unique(labels[used].astype(str), return_counts=True)
    info = dict(getattr(dataset, "info", {}) or {})
    return {
        "name": dataset.name,
        "root": str(dataset.root),
        "protocol": dataset.protocol,
        "speaker_independent": bool(getattr(dataset, "speaker_independent", True)),
        "speaker_check": info.get("speaker_check"),
        "n_clips": int(len(used)),
        "n_speakers": int(len(set(np.asarray(dataset.speakers, dtype=object)[used]))),
        "classes": [str(c) for c in dataset.classes],
        "class_counts": {str(n): int(c) for n, c in zip(names, counts)},
        "folds": [f.name for f in folds],
        "info": jsonable(info),
    }

"""``zsfuse evaluate``: the three-system comparison on a dataset's folds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ._args import cache_dir_of, command_line, parse_assignments, parse_toml, split_list


def read_grid(path):
    """Read a grid file: a JSON object or a TOML table of ``name = [values]``.

    Parameters
    ----------
    path : str
        ``.json`` or ``.toml`` file.

    Returns
    -------
    dict
        Name -> list of values, as written.
    """
    import json

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"grid file {path!r} does not exist.")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".toml":
        try:
            grid = parse_toml(text)
        except ValueError as exc:  # TOMLDecodeError
            raise ValueError(f"grid file {path!r} is not valid TOML: {exc}") from None
    else:
        try:
            grid = json.loads(text)
        except ValueError as exc:
            raise ValueError(
                f"grid file {path!r} is not valid JSON ({exc}); write e.g. "
                '{"zs__audio_repeats": [1, 2], "clf__zs_weight": [0, 0.5, 1]}'
            ) from None
    if not isinstance(grid, dict):
        raise ValueError(f"grid file {path!r} must hold an object of parameter -> list of values.")
    return grid


def dataset_options(args):
    """The keyword options of :func:`zsfuse.datasets.load_dataset` from the command line."""
    options = parse_assignments(args.option, "dataset option")
    if args.protocol is not None:
        options["protocol"] = args.protocol
    if args.classes is not None:
        options["classes"] = tuple(split_list(args.classes))
    if getattr(args, "allow_speaker_overlap", False):
        options["allow_speaker_overlap"] = True
    if args.prefix is not None:
        old, sep, new = args.prefix.partition("=")
        if not sep:
            raise ValueError(f"--prefix {args.prefix!r} must look like OLD=NEW.")
        options["prefix"] = (old, new)
    return options


def pipeline_params(args):
    """``--set`` assignments, with ``--backend-option`` and ``--trust-remote-code`` for the zero-shot step.

    Named as :func:`zsfuse.make_zsfuse_pipeline` names them (``zs__backend_options``,
    ``zs__trust_remote_code``); ``zsfuse amplify`` reads plain and ``zs__`` names alike.
    """
    params = parse_assignments(args.params, "--set")
    options = parse_assignments(args.backend_options, "--backend-option")
    if options:
        params["zs__backend_options"] = {**dict(params.get("zs__backend_options") or {}), **options}
    if args.trust_remote_code:
        params["zs__trust_remote_code"] = True
    return params


def run_evaluate(args, echo=None):
    """Load the dataset, run :func:`zsfuse.evaluation.evaluate`, print the table, write the reports."""
    from ..datasets import load_dataset
    from ..evaluation import format_table
    from ..parallel import joblib_engine

    echo = echo or (lambda text: print(text, file=sys.stderr))
    dataset = load_dataset(args.dataset, args.root, **dataset_options(args))
    echo(dataset.describe())
    grid = read_grid(args.grid) if args.grid else None
    out = args.out or os.path.join("zsfuse-results", dataset.name)
    n_jobs = args.n_jobs if args.n_jobs is not None else (-1 if args.joblib_backend in ("dask", "ray") else 1)
    workers = None if n_jobs < 1 else n_jobs
    with joblib_engine(args.joblib_backend, args.address, n_workers=workers):
        results = _evaluate(args, dataset, grid, out, n_jobs)
    print(format_table(results))
    echo(f"reports written to {out}/ (results.json, results.csv, report.md, predictions.csv, confusion_*.png)")
    return 0


def _evaluate(args, dataset, grid, out, n_jobs):
    from ..evaluation import evaluate

    return evaluate(
        dataset,
        clap=args.clap,
        fm=args.fm,
        grid=grid,
        params=pipeline_params(args),
        head=args.head,
        inner_folds=args.inner_folds,
        folds=split_list(args.folds),
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        cache_dir=cache_dir_of(args),
        n_jobs=n_jobs,
        progress=not args.no_progress,
        out=out,
        command=command_line(args),
    )

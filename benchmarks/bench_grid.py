"""The ZS-Fuse grid search: encode-once store against no caching, and against the floor.

The default grid of ``zsfuse evaluate`` (audio repeats 1-3 x text repeats 1-3 x ``clf__zs_weight`` in
{0, 0.25, 0.5, 1}: 36 candidates) in ``GridSearchCV`` with ``GroupKFold(5)`` over
generated speakers, on ``--clips`` generated clips (default 200 files of 2 s), with the
tiny offline CLAP and WavLM test models of :mod:`zsfuse.testing` (CLAP in
``pad_mode="zero"``, so every audio-repeat value is a different input). Printed, all
measured in this one run, in this process:

* **floor**: the encoding the grid cannot avoid -- every prompt string once (templates x
  classes x text repeats), one CLAP pass over the clips per audio-repeat value, one FM
  pass;
* **heads**: the same grid on precomputed features (the 36 x 5 + 1 fits of the
  classifier and their scoring, no audio at all): the other work the grid cannot avoid;
* **grid, store**: the real grid search with the embedding store (memory level only,
  or ``--cache-dir``), starting from an empty store, models already loaded;

(floor and grid: best of ``--repeats`` interleaved runs, as the machine may be shared;)
* **grid, no caching**: the same with the store disabled (``ZSFUSE_MEMORY_CACHE_MB=0``,
  no ``cache_dir``): every fit re-encodes its clips and prompts. By default measured on
  ``--uncached-candidates`` of the 36 candidates (every candidate costs the same without a
  cache: same clips, same passes) and scaled to 36; ``--uncached-candidates 0`` runs all.

Then **identical windows**: a 1-4 ``audio_repeats`` grid on the clips (shorter than a quarter of
the window) with loop-to-fill padding (``pad_mode="repeat"``, MS-CLAP's native one), where every
tiling gives the window of the clip looped, and with zero padding, where none coincide: encoder
windows per clip (target: 1 and 4).

Targets (the project's encode-once goals): grid with the store <= 1.5 x the floor; >= 10 x faster than no caching.
With tiny models encoding is cheap, so the heads are a large share of the grid: the
ratio to ``floor + heads`` says how much the store leaves on the table.

Run: python benchmarks/bench_grid.py [--clips 200] [--seconds 2] [--folds 5] [--n-jobs 1]
                                      [--repeats 2] [--uncached-candidates 2] [--cache-dir DIR]
"""

import argparse
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

LABELS = ("angry", "happy", "neutral", "sad")
TEMPLATES = ("this person is feeling {}.", "a person speaking in a {} voice.")
GRID = {
    "features__zs__audio_repeats": [1, 2, 3],
    "features__zs__text_repeats": [1, 2, 3],
    "clf__zs_weight": [0.0, 0.25, 0.5, 1.0],
}


def make_corpus(folder, n_clips, seconds, folds):
    from zsfuse.testing import make_audio_tree

    n_speakers = folds
    per_class = max(1, int(round(n_clips / (len(LABELS) * n_speakers))))
    records = make_audio_tree(
        folder, labels=LABELS, n_speakers=n_speakers, n_per_class=per_class, seconds=seconds, rate=16000
    )
    X = [r["path"] for r in records]
    y = np.array([r["label"] for r in records])
    groups = np.array([r["speaker"] for r in records])
    return X, y, groups


def make_pipe(clap, wavlm, cache_dir):
    from zsfuse import make_zsfuse_pipeline

    return make_zsfuse_pipeline(
        clap=clap,
        fm=wavlm,
        labels=LABELS,
        templates=TEMPLATES,
        zs__pad_mode="zero",
        layers="all",
        device="cpu",
        cache_dir=cache_dir,
    )


def grid_search(pipe, grid, folds, n_jobs):
    from sklearn.model_selection import GridSearchCV, GroupKFold

    return GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=folds), scoring="balanced_accuracy", n_jobs=n_jobs)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def floor_seconds(pipe, X, y):
    """Every prompt once, one CLAP pass per audio-repeat value, one FM pass (empty store)."""
    from sklearn.base import clone

    from zsfuse.store import clear_stores

    clear_stores()
    union = clone(pipe.named_steps["features"])
    zs, fm = (step for _, step in union.transformer_list)
    start = time.perf_counter()
    for k in GRID["features__zs__text_repeats"]:
        zs.set_params(text_repeats=k).fit(X, y)
    for k in GRID["features__zs__audio_repeats"]:
        zs.set_params(audio_repeats=k).transform(X)
    fm.fit(X).transform(X)
    return time.perf_counter() - start


def heads_seconds(pipe, X, y, groups, folds, n_jobs):
    """The same grid on precomputed features: the classifier fits alone."""
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from zsfuse import LateFusionClassifier
    from zsfuse.store import clear_stores

    clear_stores()
    union = pipe.named_steps["features"]
    blocks = {}
    for a in GRID["features__zs__audio_repeats"]:
        for t in GRID["features__zs__text_repeats"]:
            blocks[a, t] = union.set_params(zs__audio_repeats=a, zs__text_repeats=t).fit(X, y).transform(X)
    start = time.perf_counter()
    for block in blocks.values():  # 9 x (4 weights x folds + refit): the 36 x folds + 9 fits
        GridSearchCV(
            LateFusionClassifier(),
            {"zs_weight": GRID["clf__zs_weight"]},
            cv=GroupKFold(n_splits=folds),
            scoring="balanced_accuracy",
            n_jobs=n_jobs,
            refit=False,
        ).fit(block, y, groups=groups)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--uncached-candidates",
        type=int,
        default=2,
        help="candidates measured without caching (1-3), scaled to the grid; 0: all 36",
    )
    parser.add_argument("--repeats", type=int, default=2, help="best of this many floor and grid runs")
    parser.add_argument("--cache-dir", default=None, help="on-disk store for the cached grid (default: memory)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import sklearn
    import torch

    from zsfuse.models import clear_model_cache
    from zsfuse.store import clear_stores
    from zsfuse.testing import make_tiny_clap, make_tiny_wavlm

    work = tempfile.mkdtemp(prefix="zsfuse-bench-grid-")
    clap = make_tiny_clap(os.path.join(work, "tiny-clap"))
    wavlm = make_tiny_wavlm(os.path.join(work, "tiny-wavlm"))
    X, y, groups = make_corpus(os.path.join(work, "audio"), args.clips, args.seconds, args.folds)
    n_candidates = int(np.prod([len(v) for v in GRID.values()]))
    print(
        f"zsfuse grid benchmark: {len(X)} clips of {args.seconds:g} s, {args.folds} folds (GroupKFold), "
        f"{n_candidates} candidates, n_jobs={args.n_jobs}; tiny CLAP + tiny WavLM on CPU "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads; scikit-learn {sklearn.__version__})"
    )

    cache_dir = args.cache_dir
    pipe = make_pipe(clap, wavlm, None)  # floor and heads: memory only
    pipe.fit(X[:: max(1, len(X) // 16)], y[:: max(1, len(X) // 16)])  # load the models (not timed)

    # best of --repeats, floor and grid interleaved: this machine may be busy with something else
    floors, cached_runs = [], []
    for _ in range(args.repeats):
        floors.append(floor_seconds(pipe, X, y))
        clear_stores()
        if cache_dir is not None:  # an empty disk store too
            shutil.rmtree(cache_dir, ignore_errors=True)
        seconds, search = timed(
            lambda: grid_search(make_pipe(clap, wavlm, cache_dir), GRID, args.folds, args.n_jobs).fit(
                X, y, groups=groups
            )
        )
        cached_runs.append(seconds)
    floor, cached = min(floors), min(cached_runs)
    heads = heads_seconds(pipe, X, y, groups, args.folds, args.n_jobs)

    # no caching: a store that keeps nothing (new stores read the variable when they are made).
    # Without a cache every candidate costs the same (the same clips are encoded once per fit), so
    # by default a few are measured -- audio and text repeats 2, the first zs_weight values.
    k = args.uncached_candidates
    if 0 < k < len(GRID["clf__zs_weight"]):
        sub_grid = {
            "features__zs__audio_repeats": [2],
            "features__zs__text_repeats": [2],
            "clf__zs_weight": GRID["clf__zs_weight"][:k],
        }
    else:
        sub_grid = GRID
    measured = int(np.prod([len(v) for v in sub_grid.values()]))
    os.environ["ZSFUSE_MEMORY_CACHE_MB"] = "0"
    clear_stores()
    try:
        uncached_part, _ = timed(
            lambda: grid_search(make_pipe(clap, wavlm, None), sub_grid, args.folds, args.n_jobs).fit(
                X, y, groups=groups
            )
        )
    finally:
        del os.environ["ZSFUSE_MEMORY_CACHE_MB"]
        clear_stores()
    # scale per fit: measured x folds + 1 refit, to n_candidates x folds + 1
    fits_measured, fits_full = measured * args.folds + 1, n_candidates * args.folds + 1
    uncached = uncached_part * fits_full / fits_measured
    clear_model_cache()

    how = (
        "measured"
        if measured == n_candidates
        else (f"{uncached_part:.1f} s measured on {measured} candidates, scaled to {n_candidates}")
    )
    rows = [
        ("floor: encode once (prompts + 3 CLAP passes + 1 FM pass)", floor),
        ("heads: the grid on precomputed features", heads),
        ("grid search, embedding store", cached),
        (f"grid search, no caching ({how})", uncached),
    ]
    width = max(len(r[0]) for r in rows)
    for label, seconds in rows:
        print(f"  {label:<{width}}  {seconds:8.1f} s")
    print(f"  grid with the store / floor          = {cached / floor:5.2f} x   (target <= 1.5)")
    print(f"  grid with the store / (floor + heads) = {cached / (floor + heads):5.2f} x")
    print(f"  no caching / store                    = {uncached / cached:5.1f} x   (target >= 10)")
    print(f"  best: {search.best_params_}  UA {search.best_score_:.3f}")
    identical_windows(clap, X)
    shutil.rmtree(work, ignore_errors=True)


def identical_windows(clap, X):
    """A 1-4 audio-repeat grid on short clips: windows encoded with loop-to-fill padding and with zeros.

    Looping a short clip to fill the window after tiling it k times gives the window of the clip
    looped: the four values are one input, encoded once per clip. Zero padding makes four inputs.
    """
    from zsfuse import CLAPZeroShotTransformer
    from zsfuse.store import clear_stores

    print("identical windows: audio_repeats 1-4 on the same clips (tiny CLAP, 10 s window)")
    for pad_mode in ("repeat", "zero"):
        clear_stores()
        counted = []
        models = [
            CLAPZeroShotTransformer(model=clap, labels=LABELS, audio_repeats=k, pad_mode=pad_mode, device="cpu").fit()
            for k in (1, 2, 3, 4)
        ]
        backend = models[0]._backend()
        real = backend.embed_audio

        def counting(windows, real=real, counted=counted):
            counted.append(len(windows))
            return real(windows)

        backend.embed_audio = counting
        try:
            seconds, _ = timed(lambda models=models: [zs.transform(X) for zs in models])
        finally:
            backend.embed_audio = real
        print(
            f"  pad_mode={pad_mode!r:<9} {sum(counted) / len(X):4.2f} encoder windows per clip for the "
            f"4 values ({seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()

"""``zsfuse demo``: ``evaluate`` end to end on generated audio and tiny random models.

Nothing is downloaded: the corpus is synthetic speech-like audio whose four
classes differ in prosody only (pitch level and contour, loudness, syllable
rate; see :func:`zsfuse.testing.make_audio_tree`), and the models are tiny
random CLAP and WavLM models built from configs. It checks that the machinery
runs on this machine; its numbers say nothing about emotion recognition.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

DISCLAIMER = (
    "zsfuse demo: synthetic clips and tiny RANDOM models -- a smoke check of the machinery "
    "(data loading, extraction, cache, folds, grid search, reports), not emotion recognition. "
    "The zero-shot column is at chance by construction; use real checkpoints for real numbers."
)

#: The inner grid of the demo: small, so that it runs in well under two minutes on a laptop CPU.
DEMO_GRID = {"zs__audio_repeats": [1, 2], "zs__text_repeats": [1, 2], "clf__zs_weight": [0.0, 0.5, 1.0]}


def write_demo_corpus(folder, n_speakers=6, clips_per_class=4, seconds=1.5, n_folds=3):
    """Write the demo's clips and a manifest (``manifest.csv``: path, label, speaker, fold).

    Parameters
    ----------
    folder : str or path-like
        Where to write (``<folder>/<label>/spk<s>_<i>.wav``).
    n_speakers : int, default=6
        Generated speakers; speaker ``s`` is in test fold ``s % n_folds + 1``.
    clips_per_class : int, default=4
        Clips per class and speaker.
    seconds : float, default=1.5
        Clip length.
    n_folds : int, default=3
        Speaker-independent folds.

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    from ..testing import make_audio_tree

    folder = Path(folder)
    records = make_audio_tree(folder, labels=("angry", "happy", "neutral", "sad"), n_speakers=n_speakers,
                              n_per_class=clips_per_class, seconds=seconds, rate=16000)
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "speaker", "fold"])
        for r in records:
            s = int(r["speaker"].removeprefix("spk"))
            writer.writerow([os.path.relpath(r["path"], folder), r["label"], r["speaker"], s % n_folds + 1])
    return manifest


def build_demo_models(folder):
    """Build (or reuse) the tiny CLAP and WavLM models in ``folder``; return their paths."""
    from ..testing import make_tiny_clap, make_tiny_wavlm

    folder = Path(folder)
    clap, fm = folder / "tiny-clap", folder / "tiny-wavlm"
    if not (clap / "config.json").is_file():
        make_tiny_clap(clap, seed=0)
    if not (fm / "config.json").is_file():
        make_tiny_wavlm(fm, seed=0)
    return str(clap), str(fm)


def run_demo(args):
    """Generate the corpus and models under ``--out``, then run ``evaluate`` on them."""
    from ..datasets import load_dataset
    from ..evaluation import evaluate, format_table
    from ._evaluate import command_line

    if args.speakers < 3:
        raise ValueError(f"--speakers must be at least 3 (one held-out speaker group per fold), got {args.speakers}.")
    if args.clips_per_class < 1 or args.seconds <= 0:
        raise ValueError("--clips-per-class must be >= 1 and --seconds > 0.")
    started = time.perf_counter()
    out = Path(args.out)
    print(DISCLAIMER, file=sys.stderr)
    manifest = write_demo_corpus(out / "data", n_speakers=args.speakers, clips_per_class=args.clips_per_class,
                                 seconds=args.seconds, n_folds=3)
    clap, fm = build_demo_models(out / "models")
    dataset = load_dataset("manifest", manifest)
    print(dataset.describe(), file=sys.stderr)
    results = evaluate(
        dataset, clap=clap, fm=fm, grid=DEMO_GRID, params={"zs__pad_mode": "zero", "layers": "all"},
        inner_folds=3, device="cpu", dtype="float32", batch_size=16, cache_dir=str(out / "cache"),
        n_jobs=args.n_jobs, progress=not args.no_progress, out=out / "results", command=command_line(args),
    )
    print(format_table(results))
    print(f"\nreports in {out / 'results'}/; the run took {time.perf_counter() - started:.0f} s.", file=sys.stderr)
    print(DISCLAIMER, file=sys.stderr)
    return 0

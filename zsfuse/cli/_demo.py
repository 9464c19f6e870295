"""``zsfuse demo``: ``evaluate`` end to end on generated audio and tiny random models.

Nothing is downloaded: the corpus is synthetic speech-like audio whose four
classes differ in prosody only (pitch level and contour, loudness, syllable
rate; see :func:`zsfuse.testing.make_audio_tree`), and the models are tiny
random CLAP and WavLM models built from configs. It checks that the machinery
runs on this machine; its numbers say nothing about emotion recognition.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..testing import write_demo_corpus

DISCLAIMER = (
    "zsfuse demo: synthetic clips and tiny RANDOM models -- a smoke check of the machinery "
    "(data loading, extraction, cache, folds, grid search, reports), not emotion recognition. "
    "The zero-shot column is at chance by construction; use real checkpoints for real numbers."
)

#: The inner grid of the demo: small, so that the demo runs in about 35 seconds on a CPU.
DEMO_GRID = {"zs__audio_repeats": [1, 2], "zs__text_repeats": [1, 2], "clf__zs_weight": [0.0, 0.5, 1.0]}


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
    from ._args import command_line

    if args.speakers < 3:
        raise ValueError(f"--speakers must be at least 3 (one held-out speaker group per fold), got {args.speakers}.")
    if args.clips_per_class < 1 or args.seconds <= 0:
        raise ValueError("--clips-per-class must be >= 1 and --seconds > 0.")
    started = time.perf_counter()
    out = Path(args.out)
    print(DISCLAIMER, file=sys.stderr)
    manifest = write_demo_corpus(
        out / "data", n_speakers=args.speakers, clips_per_class=args.clips_per_class, seconds=args.seconds, n_folds=3
    )
    clap, fm = build_demo_models(out / "models")
    dataset = load_dataset("manifest", manifest)
    print(dataset.describe(), file=sys.stderr)
    results = evaluate(
        dataset,
        clap=clap,
        fm=fm,
        grid=DEMO_GRID,
        params={"zs__pad_mode": "zero", "layers": "all"},
        inner_folds=3,
        device="cpu",
        dtype="float32",
        batch_size=16,
        cache_dir=str(out / "cache"),
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        out=out / "results",
        command=command_line(args),
    )
    print(format_table(results))
    # what prompt amplification does to the zero-shot scores (the embeddings are in the store already)
    from ..evaluation import amplification
    from ._amplify import format_amplification

    amplified = amplification(
        dataset,
        clap=clap,
        audio_repeats=DEMO_GRID["zs__audio_repeats"],
        text_repeats=DEMO_GRID["zs__text_repeats"],
        params={"pad_mode": "zero"},
        device="cpu",
        dtype="float32",
        batch_size=16,
        cache_dir=str(out / "cache"),
        progress=False,
        out=out / "amplification",
    )
    print("\nprompt amplification (smoke check: a tiny RANDOM CLAP, chance-level by construction)")
    print(format_amplification(amplified))
    print(
        f"\nreports in {out / 'results'}/ (calibration: reliability.png) and {out / 'amplification'}/ "
        f"(heat map); the run took {time.perf_counter() - started:.0f} s.",
        file=sys.stderr,
    )
    print(DISCLAIMER, file=sys.stderr)
    return 0

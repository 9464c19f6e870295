"""Storage cost of frame-level features (``pooling="none"``) on a full-size WavLM-Large.

The model is ``WavLMConfig`` sized as ``microsoft/wavlm-large`` (24 layers, width
1024, 16 heads, stable layer norm, layer-norm feature encoder with 512 channels,
kernels 10,3,3,3,3,2,2 and strides 5,2,2,2,2,2,2: 400-sample receptive field, 20 ms
hop; ~315 M parameters), randomly initialised -- the size of a frame matrix does
not depend on the weights -- and saved to a temporary folder, so that zsfuse
loads it through the same code path as a hub id. The clips are generated
speech-like signals of ``--min-seconds`` to ``--max-seconds`` (2-8 s) adding up to
``--seconds`` (60 s) of audio.

Each setting encodes every clip into a fresh disk store (``cache_dir``) and
reads back, with the store's SQLite database checkpointed (write-ahead log
folded in):

* the database file size, and the raw bytes of the embeddings (frames x width x
  2 for float16 frames; width x 4 for float32 vectors);
* extrapolated to one hour of audio: frame-level features grow with the audio
  (50 frames per second), pooled vectors with the number of clips (here one per
  ``mean clip length`` seconds of audio);
* the ratio of each frame-level store to the pooled store of the same layers.

Settings: ``layers="last"`` (1024 values per frame) and ``layers="all",
layer_reduce="concat"`` (25 x 1024 values per frame), each frame-level and
pooled (``pooling="mean"``). Encoding ~60 s of audio took 40-140 s per setting on
2 CPU cores shared with other work (four settings, plus building, saving and
loading the model: 4-9 minutes); the storage figures do not depend on the load.

Run: python benchmarks/bench_frames.py [--seconds 60] [--min-seconds 2] [--max-seconds 8] [--threads N]
         [--settings last,all-concat] [--skip-pooled]
"""

import argparse
import os
import shutil
import sqlite3
import tempfile
import time

import numpy as np
from bench_fm import wavlm_large  # the same WavLM-Large-sized model as the FM benchmark

RATE = 16000
SETTINGS = {
    "last": dict(layers="last"),
    "all-concat": dict(layers="all", layer_reduce="concat"),
}


def make_clips(total_seconds, low, high, seed=0):
    """Speech-like clips of ``low``-``high`` seconds (uniform) until they add up to ``total_seconds`` or more."""
    from zsfuse.testing import speechlike

    rng = np.random.default_rng(seed)
    clips, total = [], 0.0
    while total < total_seconds:
        clips.append(speechlike(float(rng.uniform(low, high)), RATE, f0=float(rng.uniform(90, 250)), seed=len(clips)))
        total += len(clips[-1]) / RATE
    return clips


def store_sizes(cache_dir):
    """``(file bytes, raw embedding bytes, entries)`` of the store's database, write-ahead log folded in."""
    path = os.path.join(cache_dir, "embeddings-v2.sqlite")
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw, entries = conn.execute("SELECT SUM(LENGTH(data)), COUNT(*) FROM embeddings").fetchone()
    finally:
        conn.close()
    files = [path, path + "-wal"]
    return sum(os.path.getsize(f) for f in files if os.path.exists(f)), int(raw or 0), int(entries)


def measure(model_dir, clips, pooling, params, root):
    """Encode every clip into a fresh disk store; return the measured figures."""
    from zsfuse import FMEmbeddingTransformer

    cache_dir = tempfile.mkdtemp(prefix="store-", dir=root)
    fm = FMEmbeddingTransformer(
        model=model_dir, pooling=pooling, sampling_rate=RATE, device="cpu", cache_dir=cache_dir, **params
    ).fit()
    start = time.perf_counter()
    out = fm.transform(clips)
    seconds = time.perf_counter() - start
    if pooling == "none":
        frames = sum(cell.shape[0] for cell in out[:, 0])
        expected_raw = sum(cell.nbytes for cell in out[:, 0])
        assert all(cell.dtype == np.float16 for cell in out[:, 0])
    else:
        frames, expected_raw = 0, out.astype(np.float32).nbytes
    file_bytes, raw, entries = store_sizes(cache_dir)
    assert entries == len(clips) and raw == expected_raw, (entries, raw, expected_raw)
    shutil.rmtree(cache_dir, ignore_errors=True)
    return dict(width=fm.embedding_dim_, frames=frames, raw=raw, file=file_bytes, encode_s=seconds)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio to encode (default 60 s)")
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--skip-pooled", action="store_true", help="frame-level stores only (no ratio)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SETTINGS))
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; choose among {sorted(SETTINGS)}")
    root = tempfile.mkdtemp(prefix="zsfuse-bench-frames-")
    try:
        model_dir = os.path.join(root, "wavlm-large")
        start = time.perf_counter()
        n_params = wavlm_large(model_dir)
        print(
            f"WavLM-Large-sized model: {n_params / 1e6:.0f} M parameters, built and saved in "
            f"{time.perf_counter() - start:.0f} s"
        )
        clips = make_clips(args.seconds, args.min_seconds, args.max_seconds)
        audio = sum(len(c) for c in clips) / RATE
        print(
            f"{len(clips)} clips, {audio:.1f} s of audio (mean clip {audio / len(clips):.2f} s), "
            f"torch threads {torch.get_num_threads()}\n"
        )
        per_hour = 3600.0 / audio
        from zsfuse import FMEmbeddingTransformer

        # load the model once before any timing (no store: nothing is kept)
        FMEmbeddingTransformer(model=model_dir, sampling_rate=RATE, device="cpu").fit().transform(clips[:1])
        rows = []
        for name in names:
            frames = measure(model_dir, clips, "none", SETTINGS[name], root)
            pooled = None if args.skip_pooled else measure(model_dir, clips, "mean", SETTINGS[name], root)
            rows.append((name, frames, pooled))

        header = (
            f"{'setting':<12} {'pooling':<7} {'width':>6} {'frames':>7} {'raw bytes':>12} {'file bytes':>12} "
            f"{'overhead':>8} {'file MB/hour':>12} {'raw MB/hour':>12} {'x pooled (file, raw)':>20} {'encode s':>8}"
        )
        print(header)
        print("-" * len(header))
        for name, frames, pooled in rows:
            for pooling, m in (("none", frames), ("mean", pooled)):
                if m is None:
                    continue
                ratio = ""
                if pooled and pooling == "none":
                    ratio = f"{frames['file'] / pooled['file']:.0f}x, {frames['raw'] / pooled['raw']:.0f}x"
                print(
                    f"{name:<12} {pooling:<7} {m['width']:>6} {m['frames'] or '':>7} {m['raw']:>12,} "
                    f"{m['file']:>12,} {100 * (m['file'] / m['raw'] - 1):>7.1f}% "
                    f"{m['file'] * per_hour / 1e6:>12,.1f} {m['raw'] * per_hour / 1e6:>12,.1f} {ratio:>20} "
                    f"{m['encode_s']:>8.1f}"
                )
        print(
            "\nMB = 10^6 bytes. Frame-level sizes grow with the audio (50 frames per second); pooled sizes with the "
            f"number of clips (here one per {audio / len(clips):.2f} s). overhead: the SQLite file beyond the raw "
            "embedding bytes (keys, checksums, pages; a small store is mostly its fixed pages). x pooled: the "
            "frame-level store over the pooled store of the same layers, as files and as raw bytes (the ratio a large "
            "store approaches: half the mean number of frames per clip, float16 against float32)."
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""FMEmbeddingTransformer throughput, padding waste and memory on a full-size WavLM-Large.

The model is ``WavLMConfig`` sized as ``microsoft/wavlm-large`` (24 layers, width
1024, 16 heads, stable layer norm, layer-norm feature encoder; ~315 M parameters),
randomly initialised -- speed and memory do not depend on the weights -- and
saved to a temporary folder, so that zsfuse loads it through the same code path
as a hub id. The clips are generated speech-like signals with durations drawn
uniformly from ``[--min-seconds, --max-seconds]``, in random order.

Measured in this one run, on the same model object, for the same vectors (the
mean of the last hidden state over each clip's frames, normalised input):

* ``zsfuse``: ``FMEmbeddingTransformer.transform`` with an empty store (every clip
  encoded) and its default batching: clips sorted by length, at most
  ``--batch-size`` ("auto": 4 on a CPU) clips and ``--batch-seconds`` ("auto": 8 s
  on a CPU) of padded audio per pass, attention masks;
* ``zsfuse b=B`` (``--zsfuse-batch-sizes``, none by default): the same at
  ``batch_size=B`` with ``batch_seconds=None``, like for like with the sorted raw loops;
* ``one-by-one``: a plain loop, one clip per forward pass (no padding at all);
* ``naive padded``: batches of ``--naive-batch-size`` (8) clips in the given order,
  padded to the longest with an attention mask (what
  ``Wav2Vec2FeatureExtractor(padding=True)`` batches give);
* ``sorted b=B`` (``--raw-batch-sizes``: 2, 4, 8, 16): a raw loop at its
  best, the clips sorted by length, B per padded pass.

The methods are timed in one process, in turn, round after round (best of
``--repeats``, after a warm-up): a busy spell of the machine hits them alike.
For each: clips per second, the ratio to the best raw loop (any method but
zsfuse's), padding waste (% of the frames computed that were padding) and, each
method in a fresh process (so that one method's freed-but-retained heap does not
hide or inflate another's; ``--skip-memory`` skips these), the peak RSS above the
RSS with the model loaded (its weights paged in) and the clips in memory, over a
warm-up and one run. RSS includes what glibc's heap keeps after ``free`` (it
grows with every run of varied sizes), so each method also runs once in a
process with ``MALLOC_MMAP_THRESHOLD_`` pinned to 128 KiB, where large blocks
return to the system at ``free``: that "heap trimmed" peak is close to the
memory the tensors really need. Targets on a 2-core CPU: zsfuse >= 0.95x the
best raw loop, waste <= 10 %, peak RSS growth < 300 MB.

The defaults (24 clips of 1-6 s, best of 2) run in about 10 minutes on 2 idle
CPU cores (~0.23 s of compute per second of audio); the long run (--clips 500) is
``--clips 500 --repeats 1 --raw-batch-sizes 4`` (about two hours there).

Run: python benchmarks/bench_fm.py [--clips 24] [--min-seconds 1] [--max-seconds 6]
         [--batch-size auto|N] [--batch-seconds auto|none|S] [--naive-batch-size 8]
         [--raw-batch-sizes 2,4,8,16] [--zsfuse-batch-sizes B,...] [--repeats 2] [--skip-memory] [--threads N]
"""

import argparse
import gc
import os
import shutil
import tempfile
import threading
import time

import numpy as np

RATE = 16000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples the resident set size every few milliseconds in a thread."""

    def __enter__(self):
        gc.collect()
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self):
        return (self.peak - self.start) / 2**20


def wavlm_large(folder):
    """Save a randomly initialised WavLM-Large-sized model and its feature extractor."""
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMModel

    config = WavLMConfig(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        conv_dim=(512,) * 7,
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
    )
    torch.manual_seed(0)
    model = WavLMModel(config).eval()
    n_params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    del model
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(folder)
    return n_params


def make_clips(n, low, high, seed=0):
    from zsfuse.testing import speechlike

    rng = np.random.default_rng(seed)
    return [speechlike(float(rng.uniform(low, high)), RATE, f0=float(rng.uniform(90, 250)), seed=i) for i in range(n)]


def frames(n_samples):
    return (n_samples - 400) // 320 + 1


def one_by_one(model, clips, fe):
    import torch

    out = []
    with torch.inference_mode():
        for wave in clips:
            x = torch.from_numpy(fe(wave, sampling_rate=RATE, return_tensors="np")["input_values"])
            out.append(model(x).last_hidden_state[0].mean(0).numpy())
    total = sum(frames(len(w)) for w in clips)
    return np.stack(out), total, total


def naive_padded(model, clips, fe, batch_size):
    import torch

    out, computed, valid = [], 0, 0
    with torch.inference_mode():
        for start in range(0, len(clips), batch_size):
            batch = clips[start : start + batch_size]
            inputs = fe(batch, sampling_rate=RATE, padding=True, return_attention_mask=True, return_tensors="pt")
            hidden = model(**inputs).last_hidden_state
            counts = torch.tensor([frames(len(w)) for w in batch])
            mask = (torch.arange(hidden.shape[1])[None] < counts[:, None]).float()
            out.append(((hidden * mask[..., None]).sum(1) / counts[:, None]).numpy())
            computed += hidden.shape[0] * hidden.shape[1]
            valid += int(counts.sum())
    return np.concatenate(out), computed, valid


def sorted_padded(model, clips, fe, batch_size):
    """A raw loop at its best: clips sorted by length, ``batch_size`` per pass, padded, masked mean."""
    order = sorted(range(len(clips)), key=lambda i: len(clips[i]))
    out, computed, valid = naive_padded(model, [clips[i] for i in order], fe, batch_size)
    back = np.empty_like(out)
    back[order] = out
    return back, computed, valid


def batch_sizes_arg(value):
    """A comma-separated list of positive integers (may be empty)."""
    sizes = [int(v) for v in value.split(",") if v.strip()]
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {value!r}")
    return sizes


def method_names(args):
    """Every method this run measures, raw loops first."""
    raw = ["one-by-one", "naive padded"] + [f"sorted b={b}" for b in args.raw_batch_sizes]
    return raw + ["zsfuse"] + [f"zsfuse b={b}" for b in args.zsfuse_batch_sizes]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=24, help="number of clips (the long run: 500)")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=6.0)
    parser.add_argument(
        "--batch-size",
        default="auto",
        type=lambda v: v if v == "auto" else int(v),
        help="zsfuse's batch_size: 'auto' (its default: 4 on a CPU) or N",
    )
    parser.add_argument(
        "--batch-seconds",
        default="auto",
        help="zsfuse's batch_seconds: 'auto' (its default: 8 s on a CPU), 'none' or seconds",
    )
    parser.add_argument("--naive-batch-size", type=int, default=8, help="clips per pass of the naive loop")
    parser.add_argument(
        "--raw-batch-sizes",
        type=batch_sizes_arg,
        default=[2, 4, 8, 16],
        help="raw loops on clips sorted by length, this many per padded pass (batch 1: one-by-one)",
    )
    parser.add_argument(
        "--zsfuse-batch-sizes",
        type=batch_sizes_arg,
        default=[],
        help="also zsfuse at these batch_size values, with batch_seconds=None (only batch_size counts)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds over the methods (the best counts)")
    parser.add_argument("--skip-memory", action="store_true", help="time only (no per-method processes for peak RSS)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated subset of the methods to run (default: all; see the table's names)",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: run one method
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch_seconds == "none":
        args.batch_seconds = None
    elif args.batch_seconds != "auto":
        args.batch_seconds = float(args.batch_seconds)
    return args


def child(args):
    """Run methods in this fresh process: model loaded once; in turn, best of --repeats; peak RSS.

    ``--child`` names the methods (comma-separated): several are timed in turn,
    round after round (a busy spell of the machine hits them alike); the peak
    RSS is meaningful when the process runs one method.
    """
    import json

    import torch
    from transformers import Wav2Vec2FeatureExtractor

    from zsfuse import FMEmbeddingTransformer
    from zsfuse.store import clear_stores

    if args.threads:
        torch.set_num_threads(args.threads)
    clips = make_clips(args.clips, args.min_seconds, args.max_seconds)

    def transformer(batch_size, batch_seconds):
        return FMEmbeddingTransformer(
            model=args.folder,
            layers="last",
            pooling="mean",
            device="cpu",
            dtype="float32",
            sampling_rate=RATE,
            batch_size=batch_size,
            batch_seconds=batch_seconds,
        ).fit()

    fm = transformer(args.batch_size, args.batch_seconds)
    encoder = fm._encoder()  # the raw loops use the very model object zsfuse loaded
    model, fe = encoder.model, Wav2Vec2FeatureExtractor.from_pretrained(args.folder)

    def ours(estimator):
        def run(batch):
            clear_stores()  # every clip encoded: nothing from the store
            before = dict(encoder.counters)
            out = estimator.transform(batch)
            counters = encoder.counters
            return out, counters["frames"] - before["frames"], counters["valid_frames"] - before["valid_frames"]

        return run

    with torch.inference_mode():  # page in the weights (loaded memory-mapped): they are the model, not growth
        sum(float(p.float().sum()) for p in model.parameters())
    runs = {
        "one-by-one": lambda batch: one_by_one(model, batch, fe),
        "naive padded": lambda batch: naive_padded(model, batch, fe, args.naive_batch_size),
        "zsfuse": ours(fm),
    }
    for b in args.raw_batch_sizes:
        runs[f"sorted b={b}"] = lambda batch, b=b: sorted_padded(model, batch, fe, b)
    for b in args.zsfuse_batch_sizes:
        runs[f"zsfuse b={b}"] = ours(transformer(b, None))
    names = args.child.split(",")
    results = {name: {"times": []} for name in names}
    with PeakRSS() as rss:  # from the loaded model on: warm-up and every timed run
        for name in names:
            runs[name](clips[:2])  # warm-up (first-call allocations), not timed
        for _ in range(args.repeats):
            for name in names:
                start = time.perf_counter()
                out, computed, valid = runs[name](clips)
                results[name]["times"].append(time.perf_counter() - start)
                results[name].update(computed=int(computed), valid=int(valid))
                np.save(os.path.join(os.path.dirname(args.folder), f"{name}.npy"), out)
    for r in results.values():
        r.update(seconds=min(r["times"]), rss_mb=rss.growth_mb, threads=torch.get_num_threads())
    print(json.dumps(results))


def main():
    import json
    import subprocess
    import sys

    args = parse_args()
    if args.child:
        return child(args)
    methods = method_names(args)
    if args.methods is not None:
        chosen = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = sorted(set(chosen) - set(methods))
        if unknown:
            raise SystemExit(f"unknown methods {unknown}; choose from {methods}")
        methods = [m for m in methods if m in chosen]
    workdir = tempfile.mkdtemp(prefix="bench-fm-")
    try:
        folder = os.path.join(workdir, "wavlm-large-random")
        t0 = time.perf_counter()
        n_params = wavlm_large(folder)
        seconds = sum(len(w) for w in make_clips(args.clips, args.min_seconds, args.max_seconds)) / RATE
        print(
            f"WavLM-Large-sized random model: {n_params / 1e6:.0f} M parameters (saved in "
            f"{time.perf_counter() - t0:.0f} s); {args.clips} clips, {seconds:.0f} s of audio "
            f"({args.min_seconds:g}-{args.max_seconds:g} s each, random order); zsfuse batch_size="
            f"{args.batch_size!r}, batch_seconds={args.batch_seconds!r}; naive batches of "
            f"{args.naive_batch_size}; best of {args.repeats}, the methods timed in turn in one process; "
            "peak RSS: each method in a fresh process",
            flush=True,
        )

        def run_child(names, env=None, extra=()):
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                *sys.argv[1:],
                *extra,
                "--child",
                ",".join(names),
                "--folder",
                folder,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f"{names} failed:\n{proc.stderr}")
            return json.loads(proc.stdout.strip().splitlines()[-1])

        results = run_child(methods)  # timing: every method in turn, round after round
        for name in methods:
            results[name]["out"] = np.load(os.path.join(workdir, f"{name}.npy"))
            times = ", ".join(f"{t:.1f}" for t in results[name]["times"])
            print(f"  {name}: {times} s (torch threads: {results[name]['threads']})", flush=True)
        # glibc keeps freed heap blocks: RSS then exceeds what the tensors need. A second process per
        # method pins malloc's mmap threshold so that large blocks go back to the system at free: its
        # peak is close to the live memory.
        trimmed_env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
        for name in [] if args.skip_memory else methods:
            results[name]["rss_mb"] = run_child([name], extra=("--repeats", "1"))[name]["rss_mb"]
            results[name]["rss_trimmed_mb"] = run_child([name], trimmed_env, ("--repeats", "1"))[name]["rss_mb"]

        raw = {n: args.clips / r["seconds"] for n, r in results.items() if not n.startswith("zsfuse")}
        best_raw = max(raw.values()) if raw else float("nan")
        best_name = max(raw, key=raw.get) if raw else "-"
        print(f"\nbest raw loop: {best_name}")
        print("| method | clips/s | vs best raw loop | padding waste | peak RSS growth | ... heap trimmed |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, r in results.items():
            rate = args.clips / r["seconds"]
            waste = 1 - r["valid"] / r["computed"]
            memory = "- | -" if args.skip_memory else f"{r['rss_mb']:.0f} MB | {r['rss_trimmed_mb']:.0f} MB"
            print(f"| {name} | {rate:.2f} | {rate / best_raw:.2f}x | {100 * waste:.1f} % | {memory} |")
        if {"zsfuse", "one-by-one"} <= set(results):
            diff = max(np.abs(results[n]["out"] - results["one-by-one"]["out"]).max() for n in results)
            print(f"\nmax |method - one-by-one| over all vectors and methods: {diff:.2e}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

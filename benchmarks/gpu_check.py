"""One-call GPU check of zsfuse: placement, half precision, throughput, GPU memory, the store's cached pass.

Five checks, each timed and guarded (an exception in one is recorded with its
message and the others still run), within one time budget (``--budget-s``: a
check still running when it is spent is stopped, the later ones are skipped
with a note). Printed as a table and written to one JSON file (``--out``),
rewritten after every check so that a run stopped from outside keeps what it
measured:

1. ``device_placement``: the zero-shot and FM transformers with ``device="cuda"``
   hold their model on the GPU and return numpy arrays on the host;
2. ``dtype_agreement``: the same clips in float32, float16 and bfloat16: per-clip
   cosine similarity of the embeddings to float32 (min, mean) and agreement of
   the zero-shot argmax with float32;
3. ``zero_shot_throughput``: ``CLAPZeroShotTransformer`` on a full-size LAION-CLAP
   architecture (``ClapConfig()`` defaults, random weights, loaded from a folder
   like a hub id) against transformers' ``zero-shot-audio-classification``
   pipeline on the same device, clips/s and the ratio (target >= 5x);
4. ``fm_throughput_memory``: ``FMEmbeddingTransformer`` on a WavLM-Large-sized
   random model for several ``batch_seconds``: clips/s and peak GPU memory;
5. ``store_cached_pass``: a second transform with a fresh in-memory store over
   the disk ``cache_dir`` of the first: its time and the speed-up.

``--dry-run`` runs the same code on the CPU with the test kit's tiny models and
a few short clips (no CUDA call; memory is reported as null, float16 is skipped
and bfloat16 runs where the CPU's autocast supports it), in well under a minute:
CI runs it (``tests/test_gpu_check.py``). Without ``--dry-run`` and without CUDA
the script exits with status 2.

Run: python benchmarks/gpu_check.py [--out gpu_check.json] [--budget-s 480] [--clips 64]
         [--device cuda] [--checks NAME,...] [--dry-run]
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import signal
import sys
import tempfile
import time
import traceback

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here needs the network; a GPU machine may have none
try:
    import zsfuse
except ImportError:  # run from a checkout that is not installed: the package sits beside benchmarks/
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import zsfuse

CHECKS = (
    "device_placement",
    "dtype_agreement",
    "zero_shot_throughput",
    "fm_throughput_memory",
    "store_cached_pass",
)
LABELS = ("angry", "happy", "neutral", "sad")
CLAP_RATE, FM_RATE = 48000, 16000
REPEATS = 3  # best of, for every timing (2 in a dry run)
TARGETS = {
    "device_placement": "model parameters on the device, numpy arrays back on the host",
    "dtype_agreement": {"cosine_min": 0.99, "argmax_agreement": 0.9},
    "zero_shot_throughput": {"ratio_vs_pipeline": 5.0},
    "fm_throughput_memory": {"peak_gib_at_120s": 20.0},
    "store_cached_pass": {"speedup": 10.0},
}
EXIT_NO_CUDA = 2


class BudgetExceeded(Exception):
    """Raised inside a check when the time budget runs out."""


def _on_alarm(signum, frame):
    raise BudgetExceeded("the time budget (--budget-s) ran out during this check")


# -- helpers ---------------------------------------------------------------------------------------


def finite_or_text(value):
    """JSON-safe copy: numpy scalars to Python, non-finite floats to the strings 'nan', 'inf', '-inf'."""
    if isinstance(value, dict):
        return {str(k): finite_or_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_text(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def cosines(a, b):
    """Per-row cosine similarity of two (n, d) arrays, in float64."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def best_of(fn, setup=None):
    """(best seconds, last output) over ``REPEATS`` runs; ``setup`` runs untimed before each."""
    best, out = float("inf"), None
    for _ in range(REPEATS):
        if setup is not None:
            setup()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def make_clips(n, rate, low, high, seed=0):
    from zsfuse.testing import speechlike

    rng = np.random.default_rng(seed)
    return [
        speechlike(float(rng.uniform(low, high)), rate, f0=float(rng.uniform(90, 250)), seed=seed * 1000 + i)
        for i in range(n)
    ]


class Context:
    """What every check shares: the device, the clips, and the models (built once, on first use)."""

    def __init__(self, args, workdir, report):
        self.dry_run = args.dry_run
        self.device = "cpu" if args.dry_run else args.device
        self.workdir = workdir
        self.report = report
        n = args.clips if args.clips else (8 if args.dry_run else 64)
        low, high = (1.0, 3.0) if args.dry_run else (2.0, 8.0)
        self.clap_clips = make_clips(n, CLAP_RATE, low, high, seed=0)
        self.fm_clips = make_clips(n, FM_RATE, low, high, seed=0)
        # warm-up clips (cuDNN/cuBLAS set-up, first allocations): never the timed ones, so they leave them unstored
        # (a whole batch of 16 windows for CLAP, so that the timed passes meet no new shape)
        self.clap_warm = make_clips(16, CLAP_RATE, low, high, seed=7)
        self.fm_warm = make_clips(4, FM_RATE, low, high, seed=7)
        self.audio_seconds = sum(len(c) for c in self.fm_clips) / FM_RATE
        self.batch_seconds = (4.0, 16.0) if args.dry_run else (60.0, 120.0, 240.0)
        self.fm_dtype = "float32" if args.dry_run else "float16"
        self._built = {}

    def cuda(self):
        return not self.dry_run

    def _model(self, name, build):
        if name not in self._built:
            start = time.perf_counter()
            try:
                self._built[name] = (build(os.path.join(self.workdir, name)), None)
            except Exception as exc:
                self._built[name] = (None, f"{type(exc).__name__}: {exc}")
            self.report["models"][name]["build_s"] = round(time.perf_counter() - start, 2)
            self.report["models"][name]["error"] = self._built[name][1]
        folder, error = self._built[name]
        if error is not None:
            raise RuntimeError(f"building the {name} model failed: {error}")
        return folder

    def clap(self):
        """Folder of the CLAP model: full-size (ClapConfig() defaults) or, in a dry run, the tiny one."""
        if self.dry_run:
            from zsfuse.testing import make_tiny_clap

            self.report["models"]["clap"] = {"kind": "zsfuse.testing.make_tiny_clap (tiny ClapConfig)"}
            return self._model("clap", make_tiny_clap)
        from bench_zero_shot import full_size_clap

        self.report["models"]["clap"] = {"kind": "ClapConfig() defaults (HTSAT + RoBERTa), random weights"}
        return self._model("clap", full_size_clap)

    def wavlm(self):
        """Folder of the WavLM model: WavLM-Large-sized or, in a dry run, the tiny one."""
        if self.dry_run:
            from zsfuse.testing import make_tiny_wavlm

            self.report["models"]["wavlm"] = {"kind": "zsfuse.testing.make_tiny_wavlm"}
            return self._model("wavlm", make_tiny_wavlm)
        from bench_fm import wavlm_large

        self.report["models"]["wavlm"] = {"kind": "WavLM-Large sizes (24 x 1024, 16 heads, 4096), random weights"}

        def build(folder):
            self.report["models"]["wavlm"]["parameters"] = wavlm_large(folder)
            return folder

        return self._model("wavlm", build)

    def zero_shot(self, **params):
        from zsfuse import CLAPZeroShotTransformer

        params = {"device": self.device, "dtype": "float32", **params}
        return CLAPZeroShotTransformer(model=self.clap(), labels=LABELS, sampling_rate=CLAP_RATE, **params)

    def fm(self, **params):
        from zsfuse import FMEmbeddingTransformer

        params = {"device": self.device, "dtype": "float32", **params}
        return FMEmbeddingTransformer(model=self.wavlm(), sampling_rate=FM_RATE, **params)

    def release(self):
        """Forget loaded models and stores between checks (frees host and GPU memory)."""
        from zsfuse.models import clear_model_cache
        from zsfuse.store import clear_stores

        clear_stores()
        clear_model_cache()
        gc.collect()


# -- the checks --------------------------------------------------------------------------------------


def check_device_placement(ctx):
    """Both transformers hold their model on the device and return host numpy arrays."""
    zs = ctx.zero_shot().fit()
    scores = zs.transform(ctx.clap_clips[:4])
    zs_devices = sorted({str(p.device) for p in zs._backend().model.parameters()})
    fm = ctx.fm().fit()
    vectors = fm.transform(ctx.fm_clips[:4])
    fm_devices = sorted({str(p.device) for p in fm._encoder().model.parameters()})
    want = ctx.device.split(":")[0]
    result = {
        "device": ctx.device,
        "zero_shot": {
            "backend_device": zs._backend().device,
            "parameter_devices": zs_devices,
            "output_type": type(scores).__module__ + "." + type(scores).__name__,
            "output_dtype": str(scores.dtype),
        },
        "fm": {
            "encoder_device": fm._encoder().device,
            "parameter_devices": fm_devices,
            "output_type": type(vectors).__module__ + "." + type(vectors).__name__,
            "output_dtype": str(vectors.dtype),
        },
    }
    problems = []
    for name, devices, out in (("zero-shot", zs_devices, scores), ("FM", fm_devices, vectors)):
        if not devices or any(d.split(":")[0] != want for d in devices):
            problems.append(f"{name} model parameters on {devices}, expected {want}")
        if type(out) is not np.ndarray or not np.isfinite(out).all():
            problems.append(f"{name} output is {type(out).__name__} (finite: {np.isfinite(out).all()})")
    if problems:
        raise AssertionError("; ".join(problems))
    result["summary"] = f"zero-shot on {zs_devices}, FM on {fm_devices}; numpy {scores.dtype}/{vectors.dtype} back"
    return result


def cpu_autocast_bf16():
    """Whether torch's CPU autocast runs a matrix product in bfloat16 here."""
    import torch

    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = torch.ones(4, 4) @ torch.ones(4, 4)
        return out.dtype == torch.bfloat16
    except Exception:
        return False


def check_dtype_agreement(ctx):
    """float16 / bfloat16 embeddings and zero-shot argmax against float32."""
    import torch

    if ctx.dry_run:
        dtypes, notes = ["float32"], ["float16 skipped: a dry run is on the CPU"]
        if cpu_autocast_bf16():
            dtypes.append("bfloat16")
        else:
            notes.append(f"bfloat16 skipped: torch {torch.__version__}'s CPU autocast does not support it here")
    else:
        dtypes, notes = ["float32", "float16"], []
        if torch.cuda.is_bf16_supported():
            dtypes.append("bfloat16")
        else:
            notes.append("bfloat16 skipped: this GPU does not support it")
    runs = {}
    for dtype in dtypes:
        start = time.perf_counter()
        zs = ctx.zero_shot(dtype=dtype).fit()
        fm = ctx.fm(dtype=dtype).fit()
        runs[dtype] = {
            "zs_embed": zs.embed_audio(ctx.clap_clips),
            "zs_scores": zs.transform(ctx.clap_clips),
            "fm": fm.transform(ctx.fm_clips),
            "seconds": time.perf_counter() - start,
        }
    ref = runs["float32"]
    top2 = np.sort(ref["zs_scores"], axis=1)[:, -2:]
    result = {
        "dtypes": dtypes,
        "notes": notes,
        "clips": len(ctx.clap_clips),
        "fp32_top2_margin_min": float((top2[:, 1] - top2[:, 0]).min()),
        "targets": TARGETS["dtype_agreement"],
        "vs_float32": {},
    }
    parts = []
    for dtype in dtypes[1:]:
        run = runs[dtype]
        zs_cos, fm_cos = cosines(run["zs_embed"], ref["zs_embed"]), cosines(run["fm"], ref["fm"])
        agree = float(np.mean(run["zs_scores"].argmax(1) == ref["zs_scores"].argmax(1)))
        row = {
            "zero_shot_cosine_min": float(zs_cos.min()),
            "zero_shot_cosine_mean": float(zs_cos.mean()),
            "zero_shot_argmax_agreement": agree,
            "fm_cosine_min": float(fm_cos.min()),
            "fm_cosine_mean": float(fm_cos.mean()),
            "seconds": run["seconds"],
        }
        target = TARGETS["dtype_agreement"]
        row["meets_target"] = bool(
            min(row["zero_shot_cosine_min"], row["fm_cosine_min"]) >= target["cosine_min"]
            and agree >= target["argmax_agreement"]
        )
        result["vs_float32"][dtype] = row
        parts.append(f"{dtype}: cos min zs {zs_cos.min():.4f} fm {fm_cos.min():.4f}, argmax {agree:.0%}")
    result["summary"] = "; ".join(parts + notes) or "float32 only"
    return result


def check_zero_shot_throughput(ctx):
    """zsfuse's first pass against the transformers pipeline, one clip at a time, same device."""
    from transformers import pipeline

    from zsfuse.audio import window
    from zsfuse.store import clear_stores

    clips, n = ctx.clap_clips, len(ctx.clap_clips)
    rows = {}
    dtypes = ["float32"] if ctx.dry_run else ["float32", "auto"]
    for dtype in dtypes:
        zs = ctx.zero_shot(dtype=dtype, output="proba", batch_size=16).fit()
        zs.transform(ctx.clap_warm)
        seconds, _ = best_of(lambda zs=zs: zs.transform(clips), setup=lambda zs=zs: (clear_stores(), zs.fit()))
        backend = zs._backend()
        rows[dtype] = {"seconds": seconds, "clips_per_s": n / seconds, "compute_dtype": str(backend.dtype)}
    # the share of the CPU-side log-mel features (the same for zsfuse and the pipeline)
    fe = backend.feature_extractor
    windows = [window(c, fe.nb_max_samples, "repeatpad")[0] for c in clips]
    mel_s, _ = best_of(lambda: [fe(windows[s : s + 16], sampling_rate=CLAP_RATE) for s in range(0, n, 16)])

    pipe = pipeline("zero-shot-audio-classification", model=ctx.clap(), device=ctx.device)
    pipe(ctx.clap_warm[0], candidate_labels=list(LABELS))
    pipe_s, _ = best_of(lambda: [pipe(c, candidate_labels=list(LABELS)) for c in clips])
    base = rows["float32"]
    ratio = base["clips_per_s"] / (n / pipe_s)
    result = {
        "clips": n,
        "clip_seconds": [round(len(c) / CLAP_RATE, 2) for c in (min(clips, key=len), max(clips, key=len))],
        "batch_size": 16,
        "zsfuse": rows,
        "pipeline": {"seconds": pipe_s, "clips_per_s": n / pipe_s, "dtype": "float32"},
        "ratio_vs_pipeline": ratio,
        "ratios_vs_pipeline": {d: r["clips_per_s"] / (n / pipe_s) for d, r in rows.items()},
        "log_mel_features": {"seconds": mel_s, "share_of_zsfuse_float32": mel_s / base["seconds"]},
        "targets": TARGETS["zero_shot_throughput"],
        "meets_target": None if ctx.dry_run else bool(ratio >= TARGETS["zero_shot_throughput"]["ratio_vs_pipeline"]),
    }
    extra = "".join(f", {d} {r['clips_per_s']:.1f}" for d, r in rows.items() if d != "float32")
    result["summary"] = (
        f"zsfuse {base['clips_per_s']:.1f} clips/s (fp32{extra}), pipeline {n / pipe_s:.1f}: {ratio:.2f}x"
        f" (target >= 5x on a GPU); log-mel {mel_s / base['seconds']:.0%} of zsfuse's time"
    )
    return result


def check_fm_throughput_memory(ctx):
    """FM clips/s and peak GPU memory for several batch_seconds."""
    from zsfuse.store import clear_stores

    torch = None
    if ctx.cuda():
        import torch
    clips, n = ctx.fm_clips, len(ctx.fm_clips)
    rows = []
    for batch_seconds in ctx.batch_seconds:
        # batch_size high enough that batch_seconds, not the clip count, sizes each pass
        fm = ctx.fm(dtype=ctx.fm_dtype, batch_size=256, batch_seconds=batch_seconds).fit()
        encoder = fm._encoder()
        fm.transform(ctx.fm_warm)
        if torch is not None:
            torch.cuda.synchronize()
            weights = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        before = dict(encoder.counters)
        seconds, _ = best_of(lambda fm=fm: fm.transform(clips), setup=clear_stores)
        frames = encoder.counters["frames"] - before["frames"]
        valid = encoder.counters["valid_frames"] - before["valid_frames"]
        row = {
            "batch_seconds": batch_seconds,
            "seconds": seconds,
            "clips_per_s": n / seconds,
            "audio_seconds_per_s": ctx.audio_seconds / seconds,
            "forward_calls": (encoder.counters["forward_calls"] - before["forward_calls"]) // REPEATS,
            "padding_waste": 1 - valid / frames if frames else None,
            "peak_memory_mb": None,
            "peak_above_weights_mb": None,
        }
        if torch is not None:
            peak = torch.cuda.max_memory_allocated()
            row["peak_memory_mb"] = peak / 2**20
            row["peak_above_weights_mb"] = (peak - weights) / 2**20
            row["weights_mb"] = weights / 2**20
        rows.append(row)
    at_120 = next((r for r in rows if r["batch_seconds"] == 120.0), None)
    meets = None
    if at_120 is not None and at_120["peak_memory_mb"] is not None:
        meets = bool(at_120["peak_memory_mb"] / 1024 <= TARGETS["fm_throughput_memory"]["peak_gib_at_120s"])
    result = {
        "clips": n,
        "audio_seconds": ctx.audio_seconds,
        "dtype": ctx.fm_dtype,
        "batch_size": 256,
        "runs": rows,
        "notes": ["no CUDA in a dry run: memory is not measured"] if ctx.dry_run else [],
        "targets": TARGETS["fm_throughput_memory"],
        "meets_target": meets,
    }

    def memory(r):
        return "n/a" if r["peak_memory_mb"] is None else f"{r['peak_memory_mb'] / 1024:.2f} GiB"

    result["summary"] = "; ".join(
        f"{r['batch_seconds']:g} s: {r['clips_per_s']:.1f} clips/s, peak {memory(r)}" for r in rows
    )
    return result


def check_store_cached_pass(ctx):
    """First pass into a disk store, then a second with a fresh in-memory store over the same folder."""
    from zsfuse.store import clear_stores, get_store

    result = {"targets": TARGETS["store_cached_pass"]}
    for name, make, clips in (
        ("fm", lambda cache: ctx.fm(dtype=ctx.fm_dtype, cache_dir=cache), ctx.fm_clips),
        ("zero_shot", lambda cache: ctx.zero_shot(cache_dir=cache), ctx.clap_clips),
    ):
        cache = os.path.join(ctx.workdir, f"store-{name}")
        clear_stores()
        est = make(cache).fit()  # loads the model (and embeds the prompts): not part of either pass
        est.transform(ctx.fm_warm if name == "fm" else ctx.clap_warm)
        start = time.perf_counter()
        first = est.transform(clips)
        first_s = time.perf_counter() - start
        clear_stores()  # a fresh in-memory store: the second pass reads the disk
        start = time.perf_counter()
        second = est.transform(clips)
        second_s = time.perf_counter() - start
        memory_s, _ = best_of(lambda est=est, clips=clips: est.transform(clips))  # now from memory
        if not np.array_equal(first, second):
            raise AssertionError(f"{name}: the cached pass differs from the first pass")
        result[name] = {
            "clips": len(clips),
            "first_pass_s": first_s,
            "disk_cached_pass_s": second_s,
            "memory_cached_pass_s": memory_s,
            "speedup": first_s / second_s,
            "disk_entries": get_store(cache).count(),
        }
    speedups = [result[k]["speedup"] for k in ("fm", "zero_shot")]
    result["meets_target"] = None if ctx.dry_run else bool(min(speedups) >= TARGETS["store_cached_pass"]["speedup"])
    result["summary"] = (
        f"disk-cached pass {result['fm']['speedup']:.0f}x faster (FM), {result['zero_shot']['speedup']:.0f}x "
        "(zero-shot)"
    )
    return result


CHECK_FUNCTIONS = {name: globals()[f"check_{name}"] for name in CHECKS}


# -- environment, table, main --------------------------------------------------------------------------


def environment(dry_run):
    import torch
    import transformers

    env = {
        "zsfuse": zsfuse.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_cuda_build": torch.version.cuda,
        "cuda_available": None,
        "gpu": None,
    }
    if not dry_run:
        props = torch.cuda.get_device_properties(0)
        env["cuda_available"] = True
        env["cudnn"] = torch.backends.cudnn.version()
        env["gpu"] = {
            "name": props.name,
            "count": torch.cuda.device_count(),
            "memory_gib": props.total_memory / 2**30,
            "capability": f"{props.major}.{props.minor}",
            "bf16_supported": torch.cuda.is_bf16_supported(),
        }
    return env


def print_table(report):
    print(f"\n{'check':<22} {'status':<8} {'seconds':>8}  summary")
    for name in CHECKS:
        entry = report["checks"][name]
        text = entry.get("summary") or entry.get("reason") or entry.get("error") or ""
        seconds = entry.get("seconds")
        shown = f"{seconds:8.1f}" if isinstance(seconds, float) else f"{'-':>8}"
        print(f"{name:<22} {entry['status']:<8} {shown}  {text}")
    env = report["environment"] or {}
    gpu = env.get("gpu") or {}
    print(
        f"\n{report['mode']} on {report['device']} ({gpu.get('name', 'no GPU')}), torch {env.get('torch')}, "
        f"transformers {env.get('transformers')}, zsfuse {env.get('zsfuse')}; {report['elapsed_s']:.0f} s of "
        f"a {report['budget_s']:g} s budget; JSON: {report['out']}"
    )


def write(report, path, start):
    """Write the report (atomically: a run stopped from outside leaves the last complete file)."""
    report["elapsed_s"] = time.perf_counter() - start
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(finite_or_text(report), f, indent=2)
    os.replace(tmp, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON file written (default: gpu_check.json)")
    parser.add_argument("--budget-s", type=float, default=480.0, help="total time budget in seconds (default: 480)")
    parser.add_argument("--clips", type=int, default=None, help="clips per check (default: 64; dry run: 8)")
    parser.add_argument("--device", default="cuda", help="the CUDA device (default: cuda)")
    parser.add_argument("--checks", default=",".join(CHECKS), help="comma-separated subset of: " + ", ".join(CHECKS))
    parser.add_argument("--dry-run", action="store_true", help="tiny models on the CPU: checks the script itself")
    args = parser.parse_args(argv)
    args.checks = [c.strip() for c in args.checks.split(",") if c.strip()]
    unknown = sorted(set(args.checks) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {unknown}; choose from {', '.join(CHECKS)}")
    if not args.dry_run and not args.device.startswith("cuda"):
        parser.error(f"--device {args.device!r}: this script checks a CUDA GPU; use --dry-run for the CPU")
    if args.clips is not None and args.clips < 2:
        parser.error("--clips must be at least 2")
    return args


def main(argv=None):
    global REPEATS
    args = parse_args(argv)
    if args.dry_run:
        REPEATS = 2
    start = time.perf_counter()
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            f"gpu_check.py: CUDA is not available here (torch {torch.__version__}); "
            "use --dry-run to check the script on the CPU, or run it on a GPU machine.",
            file=sys.stderr,
        )
        return EXIT_NO_CUDA
    if not args.dry_run:
        from zsfuse.models import resolve_device

        args.device = resolve_device(args.device)
    report = {
        "schema": 1,
        "mode": "dry-run" if args.dry_run else "gpu",
        "device": "cpu" if args.dry_run else args.device,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "budget_s": args.budget_s,
        "repeats": REPEATS,
        "out": os.path.abspath(args.out),
        "environment": None,
        "models": {},
        "checks": {name: {"status": "pending"} for name in CHECKS},
    }
    try:
        report["environment"] = environment(args.dry_run)
    except Exception as exc:  # recorded: the checks still run
        report["environment"] = {"error": f"{type(exc).__name__}: {exc}"}
    deadline = start + args.budget_s
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    with tempfile.TemporaryDirectory(prefix="zsfuse-gpu-check-") as workdir:
        ctx = Context(args, workdir, report)
        for name in CHECKS:
            left = deadline - time.perf_counter()
            if name not in args.checks:
                report["checks"][name] = {"status": "skipped", "reason": "not selected with --checks"}
            elif left <= 0:
                report["checks"][name] = {"status": "skipped", "reason": "the time budget (--budget-s) was spent"}
            else:
                print(f"[{time.perf_counter() - start:6.1f} s] {name} ...", flush=True)
                t0 = time.perf_counter()
                try:
                    signal.setitimer(signal.ITIMER_REAL, left)
                    try:
                        entry = {"status": "ok", **CHECK_FUNCTIONS[name](ctx)}
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                except Exception as exc:  # recorded; the other checks still run
                    entry = {
                        "status": "error",
                        "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                        "traceback": traceback.format_exc().splitlines()[-12:],
                    }
                entry["seconds"] = time.perf_counter() - t0
                report["checks"][name] = entry
                print(f"[{time.perf_counter() - start:6.1f} s] {name}: {entry['status']}", flush=True)
                try:
                    ctx.release()
                except Exception as exc:  # pragma: no cover - freeing memory must not stop the run
                    entry.setdefault("notes", []).append(f"release failed: {exc}")
            write(report, args.out, start)
    signal.signal(signal.SIGALRM, previous)
    statuses = [report["checks"][n]["status"] for n in CHECKS]
    report["summary"] = {s: statuses.count(s) for s in ("ok", "skipped", "error")}
    write(report, args.out, start)
    print_table(report)
    return 1 if "error" in statuses else 0


if __name__ == "__main__":
    sys.exit(main())

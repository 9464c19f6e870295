"""Zero-shot throughput: zsfuse against the transformers pipeline and the raw forward pass.

Full-size, randomly initialised towers (``ClapConfig()`` defaults: HTSAT audio,
RoBERTa text; and msclap's HTSAT when msclap is installed), 64 generated clips
of 2-8 s. Printed, measured in this one run:

* zsfuse: ``CLAPZeroShotTransformer.fit_transform`` (first pass: every clip encoded);
* the ``zero-shot-audio-classification`` pipeline, one clip at a time (it runs the
  text tower for every clip);
* the raw batched ``get_audio_features`` forward on features computed beforehand
  (the floor: no decoding, no feature extraction);
* zsfuse's second pass (every embedding from the store).

Run: python benchmarks/bench_zero_shot.py [--clips 64] [--batch-size 16] [--pipeline-clips 16]
"""

import argparse
import os
import tempfile
import time

import numpy as np

LABELS = ("angry", "happy", "neutral", "sad")


REPEATS = 2


def timed(fn, setup=None):
    """Best of REPEATS runs (the machine may be busy with something else)."""
    best, out = float("inf"), None
    for _ in range(REPEATS):
        if setup is not None:
            setup()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def make_clips(n, rate, seed=0):
    from zsfuse.testing import speechlike

    rng = np.random.default_rng(seed)
    return [speechlike(float(rng.uniform(2, 8)), rate, f0=float(rng.uniform(90, 250)), seed=i) for i in range(n)]


def full_size_clap(folder):
    """A ClapConfig()-sized random model with a default feature extractor and an offline tokenizer."""
    import torch
    from transformers import AutoTokenizer, ClapConfig, ClapFeatureExtractor, ClapModel

    from zsfuse.testing import make_tiny_clap

    make_tiny_clap(folder)  # for its offline tokenizer files
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = ClapConfig(text_config={"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id})
    torch.manual_seed(0)
    ClapModel(config).eval().save_pretrained(folder)
    # 64 mel bins, 48 kHz, 10 s; no fusion, as laion/clap-htsat-unfused
    ClapFeatureExtractor(truncation="rand_trunc").save_pretrained(folder)
    return folder


def bench_hf(workdir, n_clips, batch_size, pipeline_clips):
    import torch
    from transformers import ClapFeatureExtractor, ClapModel, pipeline

    from zsfuse import CLAPZeroShotTransformer
    from zsfuse.audio import window
    from zsfuse.store import clear_stores

    folder = full_size_clap(os.path.join(workdir, "clap-full"))
    clips = make_clips(n_clips, 48000)
    rows = []

    zs = CLAPZeroShotTransformer(
        model=folder, labels=LABELS, output="proba", batch_size=batch_size, device="cpu", sampling_rate=48000
    )
    zs.fit()  # loads the model and embeds 4 prompts: not part of the per-clip work
    t_ours, ours = timed(lambda: zs.transform(clips), setup=lambda: (clear_stores(), zs.fit()))
    t_cached, cached = timed(lambda: zs.transform(clips))
    assert np.array_equal(ours, cached)

    model = ClapModel.from_pretrained(folder).eval()
    fe = ClapFeatureExtractor.from_pretrained(folder)
    windows = [window(c, fe.nb_max_samples, "repeatpad")[0] for c in clips]
    feats = [
        fe(windows[s : s + batch_size], sampling_rate=48000, return_tensors="pt")["input_features"]
        for s in range(0, len(windows), batch_size)
    ]

    def raw():
        with torch.inference_mode():
            for f in feats:
                model.get_audio_features(input_features=f)

    t_raw, _ = timed(raw)

    pipe = pipeline("zero-shot-audio-classification", model=folder, device="cpu")
    subset = clips[:pipeline_clips]
    pipe(subset[0], candidate_labels=list(LABELS))  # warm-up
    t_pipe, _ = timed(lambda: [pipe(c, candidate_labels=list(LABELS)) for c in subset])

    ours_cps = n_clips / t_ours
    rows.append(("hf-clap", "zsfuse first pass", ours_cps, 1.0))
    rows.append(("hf-clap", "raw batched get_audio_features", n_clips / t_raw, n_clips / t_raw / ours_cps))
    rows.append(
        (
            "hf-clap",
            f"transformers pipeline ({pipeline_clips} clips)",
            pipeline_clips / t_pipe,
            pipeline_clips / t_pipe / ours_cps,
        )
    )
    rows.append(("hf-clap", "zsfuse cached pass", n_clips / t_cached, n_clips / t_cached / ours_cps))
    return rows


def bench_msclap(workdir, n_clips, batch_size):
    try:
        import msclap  # noqa: F401
    except ImportError:
        return []
    import torch

    from zsfuse import CLAPZeroShotTransformer
    from zsfuse.audio import window
    from zsfuse.store import clear_stores
    from zsfuse.testing import make_tiny_msclap

    tiny = make_tiny_msclap(os.path.join(workdir, "msclap"))  # full-size HTSAT, tiny GPT-2
    clips = make_clips(n_clips, 44100, seed=1)
    zs = CLAPZeroShotTransformer(
        model=tiny.checkpoint,
        version="2023",
        text_model=tiny.text_model,
        labels=LABELS,
        batch_size=batch_size,
        device="cpu",
        sampling_rate=44100,
    )
    zs.fit()
    t_ours, _ = timed(lambda: zs.transform(clips), setup=lambda: (clear_stores(), zs.fit()))
    t_cached, _ = timed(lambda: zs.transform(clips))
    backend = zs._backend()
    windows = np.stack([window(c, backend.window_samples, "repeat")[0] for c in clips])

    def raw():
        with torch.inference_mode():
            for s in range(0, len(windows), batch_size):
                backend.model.audio_encoder(torch.from_numpy(windows[s : s + batch_size]))

    t_raw, _ = timed(raw)
    ours_cps = n_clips / t_ours
    return [
        ("msclap-2023", "zsfuse first pass", ours_cps, 1.0),
        ("msclap-2023", "raw batched audio_encoder", n_clips / t_raw, n_clips / t_raw / ours_cps),
        ("msclap-2023", "zsfuse cached pass", n_clips / t_cached, n_clips / t_cached / ours_cps),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--pipeline-clips", type=int, default=16, help="clips for the (slow) pipeline; its clips/s is per clip anyway"
    )
    parser.add_argument("--skip-msclap", action="store_true")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per system")
    args = parser.parse_args()
    global REPEATS
    REPEATS = args.repeats
    import torch

    with tempfile.TemporaryDirectory() as workdir:
        rows = bench_hf(workdir, args.clips, args.batch_size, args.pipeline_clips)
        if not args.skip_msclap:
            rows += bench_msclap(workdir, args.clips, args.batch_size)
    print(
        f"\n{args.clips} clips of 2-8 s, batch size {args.batch_size}, best of {REPEATS}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads, device cpu"
    )
    print(f"{'model':<13} {'system':<42} {'clips/s':>9} {'vs zsfuse first pass':>21}")
    for model, system, cps, ratio in rows:
        print(f"{model:<13} {system:<42} {cps:>9.2f} {ratio:>20.2f}x")
    print("\nzsfuse first pass / raw forward and / pipeline are the inverses of the ratios above.")


if __name__ == "__main__":
    main()

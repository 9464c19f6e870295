"""Whisper's 30 s window against the clip's own length: ``whisper_input="window"`` vs ``"clip"``.

The model is a Whisper encoder sized as ``openai/whisper-tiny.en`` (width 384, 4
layers, 6 heads, feed-forward 1536, 80 mel bins, 1500 positions), randomly
initialised (transformers' Whisper initialisation: sinusoidal positions) and
saved to a temporary folder with its feature extractor, so that zsfuse loads it
as it loads a hub id; the decoder, which zsfuse drops, is cut to one small layer.
The clips are generated speech (:func:`zsfuse.testing.speechlike`) of 2-8 s.

Printed:

* speed -- ``FMEmbeddingTransformer.transform`` (``layers="last"``,
  ``pooling="mean"``, default batching) on ``--timed`` clips with an empty store,
  the two modes interleaved, best of ``--repeats`` runs each: clips/s, the
  speed-up, and the encoder frames computed per clip;
* agreement -- on ``--clips`` clips of a generated 2-class task (rising pitch
  from ~100 Hz against falling pitch from ~250 Hz, durations, pitch and tempo
  jittered): the cosine between each clip's two pooled vectors (mean, min), and
  a logistic regression -- on the raw vectors, and after standardising them
  (``StandardScaler``, as heads on FM features usually are) -- trained on one
  mode's vectors of the first half of the clips, then applied to both modes'
  vectors of the other half: how often its two argmaxes agree, and its accuracy
  on each mode.

Random weights say how the two computations differ, not how a trained model's
representations do: a trained Whisper attends selectively, and its layers may
read the window's padding; check the agreement on your own data with the real
checkpoint before swapping the modes.

Defaults: 12 timed clips, 48 for agreement, best of 3 -- about 1.5 minutes on 2
idle CPU cores.

Run: python benchmarks/bench_whisper.py [--timed 12] [--clips 48] [--repeats 3] [--threads N]
"""

import argparse
import tempfile
import time

import numpy as np

RATE = 16000


def whisper_tiny_en(folder):
    """Save a randomly initialised Whisper tiny.en-sized encoder (and a stub decoder) with its feature extractor."""
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    config = WhisperConfig(
        vocab_size=64,
        num_mel_bins=80,
        d_model=384,
        encoder_layers=4,
        encoder_attention_heads=6,
        encoder_ffn_dim=1536,
        decoder_layers=1,
        decoder_attention_heads=6,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    torch.manual_seed(0)
    model = WhisperModel(config).eval()
    n_params = sum(p.numel() for p in model.encoder.parameters())
    model.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return n_params


def make_task(n, seed=0):
    """``n`` clips of 2-8 s, alternately of class 0 (rising, ~100 Hz) and 1 (falling, ~250 Hz)."""
    from zsfuse.testing import speechlike

    rng = np.random.default_rng(seed)
    clips, y = [], []
    for i in range(n):
        label = i % 2
        f0 = (100.0, 250.0)[label] * rng.uniform(0.9, 1.1)
        contour = ("rise", "fall")[label]
        clips.append(speechlike(rng.uniform(2.0, 8.0), RATE, f0=f0, contour=contour, tempo=rng.uniform(3, 5), seed=i))
        y.append(label)
    return clips, np.array(y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timed", type=int, default=12, help="clips in each timed run")
    parser.add_argument("--clips", type=int, default=48, help="clips of the 2-class agreement task (>= 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode, interleaved (the best counts)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)

    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from zsfuse import FMEmbeddingTransformer
    from zsfuse.store import clear_stores

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        n_params = whisper_tiny_en(folder)
        clips, y = make_task(max(args.clips, args.timed, 8))
        seconds = [len(c) / RATE for c in clips]
        print(
            f"Whisper tiny.en-sized encoder, random weights ({n_params / 1e6:.1f} M parameters), "
            f"torch threads: {torch.get_num_threads()}"
        )
        fms = {
            mode: FMEmbeddingTransformer(model=folder, sampling_rate=RATE, whisper_input=mode).fit()
            for mode in ("window", "clip")
        }
        timed = clips[: args.timed]
        for fm in fms.values():  # load the model, warm up
            fm.transform(timed[:2])
        best = {mode: np.inf for mode in fms}
        frames = {}
        for _ in range(args.repeats):
            for mode, fm in fms.items():
                clear_stores()
                counters = fm._encoder().counters
                before = counters["frames"]
                start = time.perf_counter()
                fm.transform(timed)
                best[mode] = min(best[mode], time.perf_counter() - start)
                frames[mode] = (counters["frames"] - before) / len(timed)
        print(
            f"\nspeed: {len(timed)} clips of {min(seconds[: args.timed]):.1f}-{max(seconds[: args.timed]):.1f} s "
            f"({sum(seconds[: args.timed]):.0f} s of audio), best of {args.repeats}"
        )
        for mode in fms:
            print(
                f"  whisper_input={mode!r:9} {len(timed) / best[mode]:6.2f} clips/s  "
                f"({frames[mode]:.0f} encoder frames per clip)"
            )
        print(f"  speed-up: {best['window'] / best['clip']:.2f}x")

        vectors = {mode: fm.transform(clips).astype(np.float64) for mode, fm in fms.items()}
        a, b = vectors["window"], vectors["clip"]
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        print(f"\nagreement: {len(clips)} clips of 2-8 s, 2 classes, last layer mean-pooled")
        print(f"  cosine(window, clip) per clip: mean {cos.mean():.4f}, min {cos.min():.4f}")
        train = np.arange(len(clips)) < len(clips) // 2
        print(f"  heads fit on one mode's vectors of {train.sum()} clips, applied to {(~train).sum()} others:")
        heads = {
            "logistic regression": lambda: LogisticRegression(max_iter=5000),
            "standardised + logistic regression": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        }
        for name, make in heads.items():
            for source in ("window", "clip"):
                other = "clip" if source == "window" else "window"
                head = make().fit(vectors[source][train], y[train])
                pred = {mode: head.predict(vectors[mode][~train]) for mode in vectors}
                agree = np.mean(pred[source] == pred[other])
                acc = {mode: np.mean(pred[mode] == y[~train]) for mode in pred}
                print(
                    f"    {name}, fit on {source!r}: argmax agreement {agree:.0%}; "
                    f"accuracy {acc[source]:.0%} on {source!r}, {acc[other]:.0%} on {other!r}"
                )


if __name__ == "__main__":
    main()

"""The fixed cases whose outputs ``tests/test_golden.py`` pins (see ``tests/data/record_golden.py``).

Each case builds an estimator on a tiny offline model, runs it on generated
audio, and returns its output. The same code records the reference values and
checks them, so a refactoring that changes any output, or any cache key,
fails the test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
RATE = 16000
SECONDS = (0.6, 2.5, 4.0, 12.5)  # the last is longer than LAION-CLAP's 10 s window
LABELS = ("angry", "happy", "neutral", "sad")


def golden_file() -> Path:
    import transformers

    return DATA / f"golden-transformers{transformers.__version__.split('.')[0]}.npz"


def clips():
    from zsfuse.testing import speechlike

    return [
        speechlike(s, RATE, f0=110 + 20 * i, contour=("rise", "fall", "flat")[i % 3], seed=i)
        for i, s in enumerate(SECONDS)
    ]


ZS_CASES = {
    "zs_default": {},
    "zs_logit_ensemble": dict(
        templates=("this person is feeling {}.", "a {} voice."),
        ensemble="logit",
        label_words={"angry": ("angry", "furious"), "happy": "joyful", "neutral": "calm", "sad": ("sad", "unhappy")},
    ),
    "zs_proba_ensemble": dict(
        templates=("this person is feeling {}.", "a {} voice."), ensemble="proba", output="proba"
    ),
    "zs_amplified": dict(audio_repeats=3, text_repeats=2, text_repeat_unit="label"),
    "zs_zero_pad_mean": dict(pad_mode="zero", long_audio="mean", output="log_proba", text_repeats=3),
    "zs_repeat_start": dict(pad_mode="repeat", long_audio="start", audio_repeats=2),
}

FM_CASES = {
    "fm_wavlm_default": ("wavlm", {}),
    "fm_wavlm_all_concat_std": ("wavlm", dict(layers="all", layer_reduce="concat", pooling="mean+std")),
    "fm_wavlm_chunked": ("wavlm", dict(layers=(0, -1), max_seconds=3.0)),
    "fm_hubert_mean_layers": ("hubert", dict(layers="all")),
    "fm_wav2vec2_default": ("wav2vec2", dict(layers=1)),
    "fm_data2vec_default": ("data2vec", {}),
    "fm_whisper_default": ("whisper", dict(layers=(0, 2), layer_reduce="concat")),
}


def _builders():
    import zsfuse.testing as T

    return {
        "wavlm": T.make_tiny_wavlm,
        "hubert": T.make_tiny_hubert,
        "wav2vec2": T.make_tiny_wav2vec2,
        "whisper": T.make_tiny_whisper,
        "data2vec": T.make_tiny_data2vec,
    }


def fusion_data():
    """A fixed numeric [zero-shot logits | FM block] table with labels (no model needed)."""
    rng = np.random.default_rng(7)
    y = np.repeat(np.array(LABELS), 15)
    onehot = (y[:, None] == np.array(LABELS)[None]).astype(float)
    zs = 3.0 * onehot + rng.normal(size=(len(y), len(LABELS)))
    fm = onehot @ rng.normal(size=(len(LABELS), 12)) + rng.normal(scale=1.5, size=(len(y), 12))
    return np.hstack([zs, fm]), y


#: ``normalize="layernorm"`` is spelled out: it was the default when the values were recorded.
FUSION_CASES = {
    "fusion_concat": dict(fusion="concat", zs_weight=0.5, normalize="layernorm"),
    "fusion_concat_standard": dict(fusion="concat", zs_weight=2.0, normalize="standard"),
    "fusion_concat_baseline": dict(fusion="concat", zs_weight=0.0, normalize="layernorm"),
    "fusion_weighted": dict(fusion="weighted", zs_weight=0.3, normalize="layernorm"),
    "fusion_weighted_fixed_t": dict(fusion="weighted", zs_weight=0.7, temperature=2.0, normalize=None),
    "fusion_stack": dict(fusion="stack", zs_weight=1.0, cv=3, normalize="layernorm"),
}


def run_fusion_cases():
    from zsfuse import LateFusionClassifier

    X, y = fusion_data()
    out = {}
    for name, params in FUSION_CASES.items():
        clf = LateFusionClassifier(zs_labels=LABELS, **params).fit(X, y)
        out[name + "_proba"] = clf.predict_proba(X)
        out[name + "_decision"] = clf.decision_function(X)
    return out


def run_model_cases(tmp: Path):
    from zsfuse import CLAPZeroShotTransformer, FMEmbeddingTransformer
    from zsfuse.store import clear_stores, get_store
    from zsfuse.testing import make_tiny_clap

    clear_stores()
    cache = tmp / "cache"
    waves = clips()
    out = {}
    clap = make_tiny_clap(tmp / "clap")
    common = dict(sampling_rate=RATE, device="cpu", dtype="float32", cache_dir=str(cache))
    for name, params in ZS_CASES.items():
        params = {"labels": LABELS, **params} if "label_words" not in params else params
        out[name] = CLAPZeroShotTransformer(model=clap, **common, **params).fit().transform(waves)
    if importlib.util.find_spec("msclap") is not None:
        from zsfuse.testing import make_tiny_msclap

        tiny = make_tiny_msclap(tmp / "msclap")
        for name, params in (("msclap_default", {}), ("msclap_amplified", dict(audio_repeats=2, text_repeats=2))):
            zs = CLAPZeroShotTransformer(
                model=tiny.checkpoint, version="2023", text_model=tiny.text_model, labels=LABELS, **common, **params
            )
            out[name] = zs.fit().transform(waves)
    builders, folders = _builders(), {}
    for name, (kind, params) in FM_CASES.items():
        if kind not in folders:
            folders[kind] = builders[kind](tmp / kind)
        out[name] = FMEmbeddingTransformer(model=folders[kind], **common, **params).fit().transform(waves)
    namespaces = get_store(str(cache)).namespaces()
    clear_stores()
    return out, namespaces


def run_all_cases(tmp: Path):
    values, namespaces = run_model_cases(tmp)
    values.update(run_fusion_cases())
    return values, namespaces

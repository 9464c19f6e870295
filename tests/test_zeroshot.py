"""CLAPZeroShotTransformer on a tiny transformers ClapModel (both environments)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from zsfuse import CLAPZeroShotTransformer
from zsfuse.audio import repeat, window, window_digest
from zsfuse.models import cached_models, clear_model_cache
from zsfuse.store import clear_stores
from zsfuse.testing import chirp, noise_burst, speechlike, write_wav

RATE = 48000
WINDOW = 10 * RATE
LABELS = ("sad", "angry", "neutral", "happy")  # unsorted on purpose


pytestmark = pytest.mark.usefixtures("fresh_store")  # every test starts with an empty in-memory store


def make(tiny_clap_dir, **params):
    params.setdefault("labels", LABELS)
    params.setdefault("sampling_rate", RATE)
    return CLAPZeroShotTransformer(model=tiny_clap_dir, **params)


class Spy:
    """Records what reaches a backend's encoders."""

    def __init__(self, monkeypatch, backend):
        self.windows, self.texts, self.audio_calls = [], [], []
        real_audio, real_text = backend.embed_audio, backend.embed_text

        def embed_audio(windows):
            self.audio_calls.append(len(windows))
            self.windows.extend(np.array(w) for w in windows)
            return real_audio(windows)

        def embed_text(texts):
            self.texts.extend(texts)
            return real_text(texts)

        monkeypatch.setattr(backend, "embed_audio", embed_audio)
        monkeypatch.setattr(backend, "embed_text", embed_text)


def spy_on(monkeypatch, estimator):
    return Spy(monkeypatch, estimator._backend())


# -- parity with the reference implementation ------------------------------------------------------------------


# class words of several token lengths: the prompts are padded to a common length in one batch, so the text
# attention mask matters
PIPELINE_WORDS = {"sad": "sad", "angry": "furious and loud", "neutral": "calm", "happy": "very happy indeed"}


@pytest.mark.parametrize("words", [None, PIPELINE_WORDS], ids=["labels", "words-of-several-lengths"])
def test_scores_equal_the_transformers_pipeline(tiny_clap_dir, words):
    from transformers import pipeline

    # exactly one 10 s window, and shorter clips (the extractor's own "repeatpad" against zsfuse's); the
    # pipeline crops longer clips at random: they are compared with a direct forward below
    clips = [
        speechlike(d, RATE, f0=f0, contour=c, seed=i)
        for i, (d, f0, c) in enumerate(
            [(10.0, 110, "rise"), (10.0, 200, "fall"), (10.0, 150, "flat"), (3.7, 130, "rise"), (0.8, 240, "fall")]
        )
    ]
    candidates = {c: words[c] if words else c for c in LABELS}
    params = dict(
        templates=("This is a sound of {}.",),
        label_words=None if words is None else {c: (w,) for c, w in words.items()},
    )
    zs = make(tiny_clap_dir, output="proba", **params)
    ours = zs.fit_transform(clips)
    logits = make(tiny_clap_dir, output="logit", **params).fit().transform(clips)
    assert len({len(ids) for ids in zs._backend().tokenizer([p[0] for p in zs.prompts_])["input_ids"]}) == (
        1 if words is None else 3
    )
    pipe = pipeline("zero-shot-audio-classification", model=tiny_clap_dir)
    for clip, row, logit in zip(clips, ours, logits):
        result = {r["label"]: r["score"] for r in pipe(clip, candidate_labels=[candidates[c] for c in LABELS])}
        theirs = np.array([result[candidates[c]] for c in sorted(LABELS)], dtype=np.float64)
        np.testing.assert_allclose(row, theirs, atol=1e-5, rtol=0)
        # the pipeline's probabilities are softmax(logits_per_audio): its log-probabilities are the logits up
        # to a constant, which compares the scale (the temperature) too, not only near-uniform probabilities
        np.testing.assert_allclose(logit - logit.mean(), np.log(theirs) - np.log(theirs).mean(), atol=2e-5, rtol=0)
    assert list(zs.classes_) == sorted(LABELS)


# several templates and classes with different numbers of words of several token lengths: prototypes are means
# of several unit vectors (their re-normalisation matters) and the prompts are padded (the attention mask matters).
# transformers' get_*_features already return unit vectors: zsfuse's own normalisation of a clip's audio embedding
# matters only for long_audio="mean" (a mean of windows), hence clips of 2 and 3 windows below.
FORWARD_TEMPLATES = ("This is a sound of {}.", "the speaker sounds {}, clearly and slowly.", "{}")
FORWARD_WORDS = {
    "sad": ("sad", "very unhappy"),
    "angry": ("furious and loud",),
    "neutral": ("neutral", "calm", "flat"),
    "happy": ("happy",),
}


def forward_clips():
    """Clips shorter than the 10 s window, exactly one window, and longer (windows of different content)."""
    long = np.concatenate(
        [
            speechlike(9.0, RATE, f0=110, seed=11),
            noise_burst(8.0, RATE, seed=12, amplitude=0.3),
            chirp(200.0, 3000.0, 9.0, RATE),
        ]
    )  # 26 s: three different windows
    return [
        speechlike(2.5, RATE, f0=180, contour="fall", seed=13),
        noise_burst(0.6, RATE, seed=14),
        speechlike(10.0, RATE, f0=140, seed=15),
        np.concatenate([speechlike(6.0, RATE, f0=230, seed=16), chirp(500.0, 100.0, 7.5, RATE)]),  # 13.5 s
        long,
    ]


def expected_windows(clip, long_audio):
    """What the model must see of a clip: shorter clips as they are (the feature extractor pads them itself);
    longer ones cut as docs/zero_shot.md says ("start", "center" crop, or consecutive windows, the last one
    aligned to the end of the clip, for "mean")."""
    n = clip.shape[0]
    if n <= WINDOW:
        return [clip]
    if long_audio == "start":
        return [clip[:WINDOW]]
    if long_audio == "center":
        return [clip[(n - WINDOW) // 2 : (n - WINDOW) // 2 + WINDOW]]
    return [clip[s : s + WINDOW] for s in [*range(0, n - WINDOW, WINDOW), n - WINDOW]]


def direct_clap_logits(model_dir, clip_windows, class_prompts, n_templates, ensemble):
    """Zero-shot logits from one ``ClapModel`` forward, the ensemble rules written out.

    transformers' own feature extractor (its padding of short clips), tokenizer (padding and attention mask)
    and model; the temperature is the one ``logits_per_audio`` uses. A clip of several windows is the
    re-normalised mean of its windows' unit embeddings.
    """
    import torch
    from transformers import ClapModel, ClapProcessor

    model = ClapModel.from_pretrained(model_dir).eval()
    processor = ClapProcessor.from_pretrained(model_dir)
    audio = processor.feature_extractor([w for ws in clip_windows for w in ws], sampling_rate=RATE, return_tensors="pt")
    text = processor.tokenizer([p for ps in class_prompts for p in ps], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(
            input_ids=text["input_ids"],
            attention_mask=text["attention_mask"],
            input_features=audio["input_features"],
            is_longer=audio["is_longer"],
        )
    windows, prompts = out.audio_embeds.double().numpy(), out.text_embeds.double().numpy()
    scale = float(model.logit_scale_a.detach().exp())
    np.testing.assert_allclose(out.logits_per_audio.double().numpy(), scale * windows @ prompts.T, atol=1e-5)
    bounds = np.cumsum([0] + [len(ps) for ps in class_prompts])
    rows, start = [], 0
    for ws in clip_windows:
        a = windows[start : start + len(ws)].mean(0)
        start += len(ws)
        per_prompt = scale * prompts @ (a / np.linalg.norm(a))
        per_class = [per_prompt[b:e] for b, e in zip(bounds[:-1], bounds[1:])]
        if ensemble == "embedding":
            protos = [prompts[b:e].mean(0) for b, e in zip(bounds[:-1], bounds[1:])]
            rows.append([scale * (a / np.linalg.norm(a)) @ (p / np.linalg.norm(p)) for p in protos])
        elif ensemble == "logit":
            rows.append([s.mean() for s in per_class])
        else:  # "proba": per template (words averaged), softmax over classes; mean over templates; log
            by_template = np.stack([s.reshape(n_templates, -1).mean(1) for s in per_class], axis=1)
            p = np.exp(by_template) / np.exp(by_template).sum(1, keepdims=True)
            rows.append(np.log(p.mean(0)))
    return np.array(rows)


@pytest.mark.parametrize("long_audio", ["start", "center", "mean"])
def test_logits_equal_a_direct_clap_forward(tiny_clap_dir, long_audio):
    clips = forward_clips()
    prompts = [[t.format(w) for t in FORWARD_TEMPLATES for w in FORWARD_WORDS[c]] for c in sorted(LABELS)]
    windows = [expected_windows(clip, long_audio) for clip in clips]
    assert [len(w) for w in windows] == ([1, 1, 1, 2, 3] if long_audio == "mean" else [1] * 5)
    for ensemble in ("embedding", "logit", "proba"):
        zs = make(
            tiny_clap_dir,
            templates=FORWARD_TEMPLATES,
            label_words=FORWARD_WORDS,
            ensemble=ensemble,
            long_audio=long_audio,
            output="logit",
            batch_size=2,
        ).fit()
        assert zs.prompts_ == prompts
        expected = direct_clap_logits(tiny_clap_dir, windows, prompts, len(FORWARD_TEMPLATES), ensemble)
        np.testing.assert_allclose(zs.transform(clips), expected, atol=2e-5, rtol=0, err_msg=ensemble)


# -- amplification -------------------------------------------------------------------------------------------


def test_audio_repeats_tile_before_windowing(tiny_clap_dir, monkeypatch):
    clip = speechlike(3.0, RATE, seed=1)
    for pad_mode, expected in [
        ("zero", np.concatenate([clip, clip, np.zeros(4 * RATE, np.float32)])),
        ("repeat", np.concatenate([clip, clip, clip, clip[:RATE]])),
        # whole copies of the tiled 6 s clip: one fits, the rest is zeros
        ("repeatpad", np.concatenate([clip, clip, np.zeros(4 * RATE, np.float32)])),
    ]:
        clear_stores()  # "repeatpad" gives the window "zero" gave: it would come from the store
        zs = make(tiny_clap_dir, audio_repeats=2, pad_mode=pad_mode).fit()
        spy = spy_on(monkeypatch, zs)
        zs.transform([clip])
        assert len(spy.windows) == 1
        np.testing.assert_array_equal(spy.windows[0], expected, err_msg=pad_mode)


def test_settings_that_give_the_same_window_encode_it_once(tiny_clap_dir, monkeypatch):
    short = [speechlike(1.0 + 0.3 * i, RATE, f0=120 + 10 * i, seed=i) for i in range(3)]  # < a quarter of 10 s
    # looping to fill the window: tiling a short clip k times first changes nothing the encoder sees
    looped = {k: make(tiny_clap_dir, audio_repeats=k, pad_mode="repeat").fit() for k in (1, 2, 3, 4)}
    spy = spy_on(monkeypatch, looped[1])
    scores = {k: zs.transform(short) for k, zs in looped.items()}
    assert len(spy.windows) == len(short)  # one encoder pass per clip for the whole 1-4 grid
    for k in (2, 3, 4):
        np.testing.assert_array_equal(scores[k], scores[1])
    # zero padding: every tiling is a different input, encoded once per audio_repeats value
    for k in (1, 2, 3, 4):
        make(tiny_clap_dir, audio_repeats=k, pad_mode="zero").fit().transform(short)
    assert len(spy.windows) == len(short) * 5
    # the same settings again: nothing decoded, nothing encoded (the clip-level key answers)
    looped[3].transform(short)
    assert len(spy.windows) == len(short) * 5


def test_model_padding_is_the_checkpoints_own(tiny_clap_dir, monkeypatch):
    zs = make(tiny_clap_dir).fit()
    assert zs.pad_mode_ == "repeatpad"  # LAION-CLAP's feature extractor default
    clip = speechlike(4.0, RATE, seed=2)
    spy = spy_on(monkeypatch, zs)
    zs.transform([clip])
    np.testing.assert_array_equal(spy.windows[0], np.concatenate([clip, clip, np.zeros(2 * RATE, np.float32)]))


@pytest.mark.parametrize(
    "unit, expected",
    [
        (
            "prompt",
            "a person speaking in a sad voice. a person speaking in a sad voice. a person speaking in a sad voice.",
        ),
        ("label", "a person speaking in a sad sad sad voice."),
    ],
)
def test_text_repeats_reach_the_text_tower(tiny_clap_dir, monkeypatch, unit, expected):
    zs = make(tiny_clap_dir, templates=("a person speaking in a {} voice.",), text_repeats=3, text_repeat_unit=unit)
    spy = spy_on(monkeypatch, zs)
    zs.fit()
    assert expected in spy.texts
    assert zs.prompts_[list(zs.classes_).index("sad")] == [expected]


def test_amplification_changes_scores_only_where_it_should(tiny_clap_dir):
    short = [speechlike(3.0, RATE, seed=s) for s in range(3)]  # 2 x 3 s fits the 10 s window

    def scores(**params):
        clear_stores()
        return make(tiny_clap_dir, **params).fit().transform(short)

    # loop-to-fill padding already repeats the clip: tiling it first changes nothing
    np.testing.assert_array_equal(
        scores(pad_mode="repeat", audio_repeats=1), scores(pad_mode="repeat", audio_repeats=2)
    )
    # with zero padding, tiling fills more of the window with speech
    assert np.abs(scores(pad_mode="zero", audio_repeats=1) - scores(pad_mode="zero", audio_repeats=2)).max() > 1e-4
    assert np.abs(scores(text_repeats=1) - scores(text_repeats=2)).max() > 1e-4


# -- long clips ----------------------------------------------------------------------------------------------


def test_long_audio_modes(tiny_clap_dir, monkeypatch):
    clip = (np.arange(25 * RATE) / (25 * RATE)).astype(np.float32)
    expected = {
        "start": [clip[:WINDOW]],
        "center": [clip[int(7.5 * RATE) : int(17.5 * RATE)]],
        "mean": [clip[:WINDOW], clip[WINDOW : 2 * WINDOW], clip[-WINDOW:]],
    }
    for mode, windows in expected.items():
        zs = make(tiny_clap_dir, long_audio=mode, batch_size=2).fit()
        spy = spy_on(monkeypatch, zs)
        zs.transform([clip])
        assert len(spy.windows) == len(windows), mode
        for got, want in zip(spy.windows, windows):
            np.testing.assert_array_equal(got, want)
        assert max(spy.audio_calls) <= 2  # a long clip never exceeds batch_size windows per forward


def test_mean_of_windows_is_the_renormalised_mean(tiny_clap_dir):
    clip = speechlike(25.0, RATE, seed=3)
    zs = make(tiny_clap_dir, long_audio="mean").fit()
    backend = zs._backend()
    windows = np.stack([clip[:WINDOW], clip[WINDOW : 2 * WINDOW], clip[-WINDOW:]])
    emb = backend.embed_audio(windows)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    np.testing.assert_allclose(zs.embed_audio([clip])[0], emb.mean(0), atol=1e-6)


# -- determinism ---------------------------------------------------------------------------------------------


def mixed_clips():
    durations = [1.0, 12.0, 4.5, 0.3, 10.0, 7.2, 21.0]
    return [speechlike(d, RATE, f0=100 + 20 * i, seed=i) for i, d in enumerate(durations)]


DETERMINISM_SCRIPT = """
import sys, numpy as np
from zsfuse import CLAPZeroShotTransformer
from zsfuse.testing import speechlike
clips = [speechlike(d, 48000, f0=100 + 20 * i, seed=i) for i, d in enumerate([1.0, 12.0, 4.5, 0.3, 10.0, 7.2, 21.0])]
zs = CLAPZeroShotTransformer(model=sys.argv[1], labels=("sad", "angry", "neutral", "happy"), batch_size=3,
                             sampling_rate=48000)
np.save(sys.argv[2], zs.fit_transform(clips))
"""


def test_same_clip_same_scores_whatever_the_batch(tiny_clap_dir, tmp_path):
    clips = mixed_clips()
    zs = make(tiny_clap_dir, batch_size=8).fit()
    together = zs.transform(clips)
    for i, clip in enumerate(clips):
        clear_stores()
        np.testing.assert_allclose(zs.transform([clip])[0], together[i], atol=1e-5, rtol=0)
    clear_stores()
    order = np.random.default_rng(0).permutation(len(clips))
    shuffled = make(tiny_clap_dir, batch_size=1).fit().transform([clips[i] for i in order])
    np.testing.assert_allclose(shuffled, together[order], atol=1e-5, rtol=0)
    out = tmp_path / "scores.npy"
    run = subprocess.run(
        [sys.executable, "-c", DETERMINISM_SCRIPT, tiny_clap_dir, str(out)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    np.testing.assert_allclose(np.load(out), together, atol=1e-5, rtol=0)


# -- encode once in a grid search ----------------------------------------------------------------------------


def test_grid_search_encodes_each_clip_once_per_audio_setting(tiny_clap_dir, monkeypatch):
    labels = np.array(["angry", "happy", "neutral", "sad"] * 6)
    X = [speechlike(2.0 + 0.1 * i, RATE, f0=100 + 5 * i, seed=i) for i in range(24)]
    template_sets = [("this person is feeling {}.",), ("a person speaking in a {} voice.", "the speaker sounds {}.")]
    pipe = Pipeline([("zs", make(tiny_clap_dir, labels=None)), ("clf", LogisticRegression(max_iter=500))])
    spy = spy_on(monkeypatch, pipe.named_steps["zs"])
    grid = {"zs__templates": template_sets, "zs__text_repeats": [1, 2, 3], "zs__audio_repeats": [1, 2]}
    search = GridSearchCV(pipe, grid, cv=StratifiedKFold(3), n_jobs=1).fit(X, labels)
    assert len(search.cv_results_["params"]) == 12
    # each distinct window once: LAION-CLAP's "repeatpad" fits whole copies of the (tiled) clip, so a clip
    # of 2.1-2.5 s gives 4 copies whether tiled once or twice, and is encoded once for both values
    windows = {window_digest(window(repeat(x, k), 10 * RATE, "repeatpad", "center")) for x in X for k in (1, 2)}
    assert len(windows) < 24 * 2 and len(spy.windows) == len(windows)
    assert len(spy.texts) == len(set(spy.texts))  # each prompt string once
    expected = {" ".join([t.format(w)] * k) for ts in template_sets for t in ts for w in set(labels) for k in (1, 2, 3)}
    assert set(spy.texts) == expected


# -- errors --------------------------------------------------------------------------------------------------


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown audio-language model 'msclap-2024'.*msclap-2023.*laion/clap-htsat-unfused"
    ):
        CLAPZeroShotTransformer(model="msclap-2024", labels=LABELS).fit()


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(label_words={"sad": "sad", "angry": "angry"}),
            r"labels and label_words disagree: no words for \['happy', 'neutral'\]",
        ),
        (dict(label_words={**{c: c for c in LABELS}, "calm": "calm"}), r"words for unknown classes \['calm'\]"),
        (dict(templates=("this person is feeling.",)), r"must hold exactly one empty '\{\}'"),
        (dict(templates=("{} and {}",)), r"must hold exactly one empty"),
        (dict(templates=("feeling {emotion}",)), r"must hold exactly one empty"),
        (dict(templates=()), "templates must hold at least one template"),
        (
            dict(audio_repeats=0),
            r"The 'audio_repeats' parameter of CLAPZeroShotTransformer must be an integer in "
            r"the range \[1, inf\) \(not a bool\)\. Got 0 instead\.",
        ),
        (
            dict(text_repeats=True),
            r"'text_repeats' parameter .* must be an integer in the range \[1, inf\) \(not a bool\)\. Got True",
        ),
        (dict(audio_repeats=1.0), r"'audio_repeats' parameter .* Got 1\.0 instead"),
        (dict(text_repeat_unit="word"), r"'text_repeat_unit' parameter .* must be a str among .*'label'.*Got 'word'"),
        (dict(pad_mode="reflect"), r"'pad_mode' parameter .* must be a str among .*'repeatpad'.*Got 'reflect'"),
        (dict(output="probability"), r"'output' parameter .* must be a str among .*'log_proba'.*Got 'probability'"),
        (dict(ensemble="max"), r"'ensemble' parameter .* Got 'max'"),
        (dict(long_audio="end"), r"'long_audio' parameter .* Got 'end'"),
        (
            dict(label_words=[("sad", "sad")]),
            r"'label_words' parameter .* must be None or an instance of "
            r"'collections\.abc\.Mapping'",
        ),
        (dict(labels=3), r"'labels' parameter .* must be None, an instance of 'str' or an array-like\. Got 3"),
        (dict(version="2024"), r"'version' parameter .* Got '2024'"),
        (dict(device="gpu"), r"'device' parameter .* must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'\. Got 'gpu'"),
        (dict(dtype="int8"), r"'dtype' parameter .* must be 'auto', 'float32', 'float16' or 'bfloat16'\. Got 'int8'"),
        (dict(batch_size=0), r"'batch_size' parameter .* Got 0"),
        (
            dict(sampling_rate=0),
            r"'sampling_rate' parameter .* must be None or a number in the range \(0\.0, inf\) \(not a bool\)",
        ),
        (dict(progress="yes"), r"'progress' parameter .* must be an instance of 'bool'"),
        (dict(trust_remote_code=1), r"'trust_remote_code' parameter .* must be an instance of 'bool'"),
        (dict(labels=("happy",)), "at least 2 classes"),
    ],
)
def test_bad_parameters(tiny_clap_dir, params, match):
    clear_model_cache()
    with pytest.raises(ValueError, match=match):
        make(tiny_clap_dir, **params).fit()
    assert cached_models() == []  # every one fails before any model loads


def test_undocumented_spellings_still_pass_validation(tiny_clap_dir):
    # taken before the constraints were declared: an int version, short dtype names, a torch dtype or device
    torch = pytest.importorskip("torch")
    for params in (
        dict(version=2023),
        dict(version="2022"),
        dict(dtype="fp32"),
        dict(dtype=torch.float32),
        dict(device=torch.device("cpu")),
        dict(device="cuda:1"),
        dict(sampling_rate=16000.0),
    ):
        make(tiny_clap_dir, **params)._validate_params()


def test_y_with_unknown_labels(tiny_clap_dir):
    with pytest.raises(ValueError, match=r"y holds labels that are not among the classes .*\['calm'\]"):
        make(tiny_clap_dir).fit(None, ["sad", "calm", "happy"])
    zs = make(tiny_clap_dir, labels=None).fit(None, ["sad", "happy", "sad"])
    assert list(zs.classes_) == ["happy", "sad"]


def test_long_prompt_is_truncated_with_a_warning(tiny_clap_dir):
    zs = make(tiny_clap_dir, templates=("this person is feeling {}" + " very" * 100 + ".",))
    with pytest.warns(UserWarning, match=r"exceed the text tower's 77 tokens and were truncated"):
        zs.fit()
    assert np.isfinite(zs.transform([speechlike(1.0, RATE)])).all()


def test_bad_clip_is_named(tiny_clap_dir, tmp_path):
    zs = make(tiny_clap_dir).fit()
    with pytest.raises(ValueError, match=r"clip 1: has 1 NaN or infinite samples"):
        zs.transform([np.zeros(RATE, np.float32), np.array([0.0, np.nan], np.float32)])


# -- scikit-learn API ----------------------------------------------------------------------------------------


def test_outputs_names_and_pandas(tiny_clap_dir, tmp_path):
    pd = pytest.importorskip("pandas")
    path = write_wav(tmp_path / "a.wav", speechlike(2.0, 16000, seed=4), 16000)
    clips = pd.Series([path, speechlike(2.0, RATE, seed=5)], index=["a", "b"])
    logit = make(tiny_clap_dir).fit().transform(clips)
    proba = make(tiny_clap_dir, output="proba").fit().transform(clips)
    log_proba = make(tiny_clap_dir, output="log_proba").fit().transform(clips)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(np.exp(log_proba), proba, atol=1e-12)
    np.testing.assert_allclose(proba, np.exp(logit) / np.exp(logit).sum(1, keepdims=True), atol=1e-12)
    zs = make(tiny_clap_dir).set_output(transform="pandas").fit()
    frame = zs.transform(clips)
    assert list(frame.columns) == ["zs_angry", "zs_happy", "zs_neutral", "zs_sad"]
    assert list(frame.index) == ["a", "b"]
    np.testing.assert_allclose(frame.to_numpy(), logit)


def test_ensembles(tiny_clap_dir):
    templates = ("this person is feeling {}.", "the speaker sounds {}.")
    words = {
        "sad": ("sad", "unhappy"),
        "angry": ("angry", "furious"),
        "neutral": ("neutral", "calm"),
        "happy": ("happy", "joyful"),
    }
    clips = [speechlike(2.0, RATE, seed=s) for s in range(3)]
    zs = {
        e: make(tiny_clap_dir, label_words=words, templates=templates, ensemble=e).fit()
        for e in ("embedding", "logit", "proba")
    }
    backend = zs["logit"]._backend()
    audio = zs["logit"].embed_audio(clips).astype(np.float64)  # float64 as zsfuse's scoring
    audio = audio / np.linalg.norm(audio, axis=1, keepdims=True)
    scale = backend.logit_scale()
    classes = sorted(LABELS)
    per_prompt = {}
    for c in classes:
        texts = [t.format(w) for t in templates for w in words[c]]
        emb = backend.embed_text(texts).astype(np.float64)
        per_prompt[c] = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    proto = np.stack([per_prompt[c].mean(0) / np.linalg.norm(per_prompt[c].mean(0)) for c in classes])
    np.testing.assert_allclose(zs["embedding"].transform(clips), scale * audio @ proto.T, atol=1e-5)
    logit = np.stack([(scale * audio @ per_prompt[c].T).mean(1) for c in classes], axis=1)
    np.testing.assert_allclose(zs["logit"].transform(clips), logit, atol=1e-5)
    per_template = np.stack(
        [[(scale * audio @ per_prompt[c][2 * t : 2 * t + 2].T).mean(1) for c in classes] for t in range(2)]
    )  # (template, class, clip)
    probs = np.exp(per_template) / np.exp(per_template).sum(1, keepdims=True)
    mean_p = probs.mean(0).T
    got = zs["proba"].transform(clips)
    np.testing.assert_allclose(np.exp(got) / np.exp(got).sum(1, keepdims=True), mean_p, atol=1e-6)


def test_clone_and_pickle_hold_no_weights(tiny_clap_dir):
    zs = make(tiny_clap_dir, templates=["a {} voice."]).fit()
    assert clone(zs).get_params() == zs.get_params()
    assert zs.get_params()["templates"] == ["a {} voice."]  # stored as given
    blob = pickle.dumps(zs)
    assert len(blob) < 50_000 and b"torch" not in blob
    clip = speechlike(1.5, RATE, seed=9)
    np.testing.assert_array_equal(pickle.loads(blob).transform([clip]), zs.transform([clip]))


def test_construction_loads_nothing(tiny_clap_dir):
    from zsfuse.models import cached_models, clear_model_cache

    clear_model_cache()
    zs = CLAPZeroShotTransformer(model="laion/clap-htsat-unfused", labels=LABELS)
    clone(zs)
    assert cached_models() == []
    tags = zs.__sklearn_tags__()
    assert not tags.input_tags.two_d_array and tags.input_tags.string


def test_files_are_resampled_to_the_models_rate(tiny_clap_dir, tmp_path, monkeypatch):
    wave = speechlike(2.0, 16000, seed=6)
    path = write_wav(tmp_path / "x.wav", wave, 16000, subtype="FLOAT")
    zs = make(tiny_clap_dir, pad_mode="zero").fit()
    spy = spy_on(monkeypatch, zs)
    zs.transform([path])
    from zsfuse.audio import resample

    np.testing.assert_array_equal(spy.windows[0][: 2 * RATE], resample(wave, 16000, RATE))
    assert not spy.windows[0][2 * RATE :].any()


def test_msclap_missing_says_which_extra(monkeypatch):
    if os.environ.get("ZSFUSE_CI_ENV") == "full":
        pytest.skip("msclap is installed here")
    pytest.importorskip("torch")
    try:
        import msclap  # noqa: F401

        pytest.skip("msclap is installed here")
    except ImportError:
        pass
    from zsfuse.exceptions import MissingDependencyError

    with pytest.raises(MissingDependencyError, match=r"pip install 'zsfuse\[msclap\]'"):
        CLAPZeroShotTransformer(model="msclap-2023", labels=LABELS).fit()

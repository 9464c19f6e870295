"""CLAPZeroShotTransformer on a tiny MS-CLAP 2023 model (the "full" environment only)."""

import numpy as np
import pytest

pytest.importorskip("msclap", reason="needs the msclap extra: pip install 'zsfuse[msclap]'")
torch = pytest.importorskip("torch")

from zsfuse import CLAPZeroShotTransformer  # noqa: E402
from zsfuse.store import clear_stores  # noqa: E402
from zsfuse.testing import msclap_reference_wrapper, speechlike  # noqa: E402

RATE = 44100
WINDOW = 7 * RATE
LABELS = ("angry", "happy", "neutral", "sad")


pytestmark = pytest.mark.usefixtures("fresh_store")  # every test starts with an empty in-memory store


@pytest.fixture(scope="module")
def reference(tiny_msclap):
    return msclap_reference_wrapper(tiny_msclap)


def make(tiny, **params):
    params.setdefault("labels", LABELS)
    params.setdefault("sampling_rate", RATE)
    return CLAPZeroShotTransformer(model=tiny.checkpoint, version="2023", text_model=tiny.text_model, **params)


def test_embeddings_equal_msclaps_own(tiny_msclap, reference):
    clips = [speechlike(7.0, RATE, f0=f0, seed=i) for i, f0 in enumerate((110, 180, 240))]
    zs = make(tiny_msclap, templates=("this person is feeling {}.",)).fit()
    ours = zs.embed_audio(clips)
    theirs = reference._get_audio_embeddings(torch.from_numpy(np.stack(clips))[:, None, :]).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    prompts = [p for ps in zs.prompts_ for p in ps]
    ours_text = zs._backend().embed_text(prompts)
    theirs_text = reference.get_text_embeddings(prompts).numpy()
    np.testing.assert_allclose(ours_text, theirs_text, atol=1e-5, rtol=0)
    # the scores are msclap's own similarity, softmaxed
    sim = reference.compute_similarity(torch.from_numpy(theirs), torch.from_numpy(theirs_text)).detach().numpy()
    probs = make(tiny_msclap, output="proba").fit().transform(clips)
    expected = np.exp(sim - sim.max(1, keepdims=True))
    np.testing.assert_allclose(probs, expected / expected.sum(1, keepdims=True), atol=1e-5)
    # and the logits themselves (near-uniform probabilities would hide a small error in the temperature)
    logits = make(tiny_msclap, output="logit").fit().transform(clips)
    np.testing.assert_allclose(logits, sim, atol=1e-5, rtol=0)


def msclaps_own_audio_embeddings(reference, monkeypatch, clips, long_audio):
    """msclap's own ``get_audio_embeddings`` on in-memory clips at 44.1 kHz.

    Two things are replaced: its file reader ``read_audio`` (``torchaudio.load``) by a lookup of the
    arrays, and the random start of its crop of a long clip (``random.randrange(n - window)`` in
    ``load_audio_into_tensor``) by the start zsfuse documents for ``long_audio`` ("start": 0,
    "center": ``(n - window) // 2``). msclap's own loop-to-fill padding of short clips, its crop,
    collation and model are what zsfuse is compared with.
    """
    import sys
    import types

    arrays = {f"clip{i}.wav": np.asarray(c, dtype=np.float32) for i, c in enumerate(clips)}
    crops = []

    def randrange(stop):
        crops.append(stop)
        return 0 if long_audio == "start" else stop // 2

    def read_audio(self, audio_path, resample=True):
        return torch.from_numpy(arrays[audio_path]).reshape(1, -1), RATE

    monkeypatch.setattr(sys.modules["msclap.CLAPWrapper"], "random", types.SimpleNamespace(randrange=randrange))
    monkeypatch.setattr(type(reference), "read_audio", read_audio)
    out = reference.get_audio_embeddings(list(arrays), resample=False).numpy()
    assert crops == [len(c) - WINDOW for c in clips if len(c) > WINDOW]  # msclap cropped the long clips only
    return out


@pytest.mark.parametrize("long_audio", ["start", "center"])
def test_logits_equal_msclaps_own_for_short_and_long_clips(tiny_msclap, reference, monkeypatch, long_audio):
    """Clips shorter than the 7 s window (msclap loops them to fill it: zsfuse's native pad mode "repeat")
    and longer (msclap crops at random; compared at the window zsfuse picks)."""
    clips = [
        speechlike(2.3, RATE, f0=150, contour="fall", seed=21),
        speechlike(0.5, RATE, f0=260, seed=22),
        speechlike(7.0, RATE, f0=120, seed=23),
        np.concatenate([speechlike(4.0, RATE, f0=200, seed=24), speechlike(5.5, RATE, f0=100, seed=25)]),
    ]
    templates = ("this person is feeling {}.",)
    zs = make(tiny_msclap, templates=templates, long_audio=long_audio, output="logit").fit()  # pad_mode="model"
    theirs_audio = msclaps_own_audio_embeddings(reference, monkeypatch, clips, long_audio)
    np.testing.assert_allclose(zs.embed_audio(clips), theirs_audio, atol=1e-5, rtol=0)
    theirs_text = reference.get_text_embeddings([t.format(c) for c in sorted(LABELS) for t in templates])
    sim = reference.compute_similarity(torch.from_numpy(theirs_audio), theirs_text).detach().numpy()
    np.testing.assert_allclose(zs.transform(clips), sim, atol=1e-5, rtol=0)
    # an explicit pad_mode="repeat" is the same thing
    clear_stores()
    np.testing.assert_allclose(
        make(tiny_msclap, templates=templates, long_audio=long_audio, pad_mode="repeat", output="logit")
        .fit()
        .transform(clips),
        sim,
        atol=1e-5,
        rtol=0,
    )


def test_exclamation_mark_is_pooled_correctly(tiny_msclap, reference):
    """msclap pools GPT-2 at the first "!" (its padding id): zsfuse pools at the last token."""
    zs = make(tiny_msclap).fit()
    backend = zs._backend()
    ours = backend.embed_text(["what a surprise!", "what a surprise"])
    theirs = reference.get_text_embeddings(["what a surprise!", "what a surprise"]).numpy()
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-5)  # no "!": identical
    assert np.abs(ours[0] - theirs[0]).max() > 1e-3  # msclap pools at the wrong token
    # ours equals the pooling at the true last token of the unpadded sequence
    tokens = backend.tokenizer("what a surprise! <|endoftext|>", return_tensors="pt")
    with torch.inference_mode():
        hidden = backend.model.caption_encoder.base(**tokens)[0][0, -1]
        direct = backend.model.caption_encoder.projection(hidden[None]).numpy()[0]
    np.testing.assert_allclose(ours[0], direct, atol=1e-5)


def test_long_prompt_keeps_the_end_token(tiny_msclap):
    zs = make(tiny_msclap, templates=("this person is feeling {}" + " very" * 120 + ".",))
    with pytest.warns(UserWarning, match="exceed the text tower's 77 tokens"):
        zs.fit()
    tokens = zs._backend()._tokenize([zs.prompts_[0][0]])
    assert int(tokens["attention_mask"].sum()) == 77
    assert int(tokens["input_ids"][0, -1]) == zs._backend().tokenizer.eos_token_id


def test_amplification_and_native_padding(tiny_msclap, monkeypatch):
    zs = make(tiny_msclap, audio_repeats=2).fit()
    assert zs.pad_mode_ == "repeat" and zs.window_samples_ == WINDOW and zs.sampling_rate_ == RATE
    backend = zs._backend()
    seen = []
    real = backend.embed_audio
    monkeypatch.setattr(backend, "embed_audio", lambda w: seen.extend(np.array(x) for x in w) or real(w))
    clip = speechlike(2.0, RATE, seed=3)
    zs.transform([clip])
    np.testing.assert_array_equal(seen[0], np.concatenate([clip, clip, clip, clip[:RATE]]))
    # stereo input is averaged, not concatenated as msclap's reader does
    seen.clear()
    clear_stores()
    zs.transform([np.stack([clip, 0.5 * clip], axis=1)])
    np.testing.assert_allclose(seen[0][: 2 * RATE], 0.75 * clip, atol=1e-7)


def test_version_is_required_for_an_ambiguous_checkpoint(tiny_msclap, tmp_path):
    import shutil

    odd = tmp_path / "weights.pth"
    shutil.copy(tiny_msclap.checkpoint, odd)
    with pytest.raises(ValueError, match="pass version='2022' or '2023'"):
        CLAPZeroShotTransformer(model=str(odd), labels=LABELS, text_model=tiny_msclap.text_model).fit()


def test_msclap_2022_equals_msclaps_own(tmp_path):
    """CNN14 audio + BERT text (CLS pooling, token type ids), 5 s at 44.1 kHz."""
    from zsfuse.testing import make_tiny_msclap

    tiny = make_tiny_msclap(tmp_path / "ms2022", version="2022")
    reference = msclap_reference_wrapper(tiny)
    zs = CLAPZeroShotTransformer(
        model=tiny.checkpoint, version="2022", text_model=tiny.text_model, labels=LABELS, sampling_rate=RATE
    ).fit()
    assert zs.window_samples_ == 5 * RATE
    clips = [speechlike(5.0, RATE, f0=f0, seed=i) for i, f0 in enumerate((120, 220))]
    theirs = reference._get_audio_embeddings(torch.from_numpy(np.stack(clips))[:, None, :]).numpy()
    np.testing.assert_allclose(zs.embed_audio(clips), theirs, atol=1e-5, rtol=0)
    prompts = [p for ps in zs.prompts_ for p in ps]
    np.testing.assert_allclose(
        zs._backend().embed_text(prompts), reference.get_text_embeddings(prompts).numpy(), atol=1e-5, rtol=0
    )

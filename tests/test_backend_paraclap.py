"""ParaCLAP backend: parity with the published forward, variable length, refusals, end to end."""

import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from zsfuse.backends.paraclap import (  # noqa: E402
    FAMILY,
    PARACLAP_REPO,
    ParaCLAPBackend,
    check_paraclap,
    locate_paraclap,
    recognise_paraclap_checkpoint,
)
from zsfuse.exceptions import ModelKindError, ModelNotFoundError  # noqa: E402
from zsfuse.testing import speechlike, tone  # noqa: E402
from zsfuse.testing._paraclap import (  # noqa: E402
    TINY_PARACLAP_EMBED_DIM,
    TINY_PARACLAP_LOGIT_SCALE,
    make_tiny_paraclap,
)

RATE = 16000
PROMPTS = ["this person is feeling happy.", "sad", "the speaker sounds furious and very loud indeed."]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_paraclap(tmp_path_factory.mktemp("tiny-paraclap"))


@pytest.fixture(scope="module")
def backend(tiny):
    return ParaCLAPBackend("tiny", tiny.checkpoint, options=tiny.backend_options)


def clips():
    """Clips of several lengths, one under the 400-sample receptive field."""
    return [
        speechlike(0.3, RATE, f0=120, seed=0),
        tone(220.0, 0.02, RATE),  # 320 samples
        speechlike(1.27, RATE, f0=180, contour="fall", seed=1),
        speechlike(0.81, RATE, f0=150, seed=2),
        speechlike(0.81, RATE, f0=200, seed=3),
    ]


# -- the published forward, written here from models_xin.py / eval.py / utils.py of KeiKinn/ParaCLAP -------------
class Reference:
    """ParaCLAP's forward in plain torch: wav2vec 2.0 mean over time, BERT [CLS], projection heads, exp(logit_scale)."""

    def __init__(self, tiny):
        from transformers import AutoTokenizer, BertModel, Wav2Vec2Model

        self.state = torch.load(tiny.checkpoint, map_location="cpu", weights_only=True)
        self.audio = Wav2Vec2Model.from_pretrained(tiny.audio_model).eval()
        self.text = BertModel.from_pretrained(tiny.text_model).eval()
        for prefix, model in (("audio_branch.base.", self.audio), ("text_branch.base.", self.text)):
            model.load_state_dict({k[len(prefix) :]: v for k, v in self.state.items() if k.startswith(prefix)})
        self.tokenizer = AutoTokenizer.from_pretrained(tiny.text_model)

    def head(self, prefix, x):
        s = self.state
        h = x @ s[prefix + "linear1.weight"].T
        y = h + F.gelu(h) @ s[prefix + "linear2.weight"].T
        return F.layer_norm(y, (y.shape[-1],), s[prefix + "layer_norm.weight"], s[prefix + "layer_norm.bias"])

    @torch.no_grad()
    def embed_audio(self, wave):
        """One unpadded clip, as the evaluation scripts (batch_size=1, no feature extractor, no mask)."""
        x = torch.from_numpy(np.asarray(wave, dtype=np.float32))[None]
        return self.head("audio_projection.", self.audio(x)["last_hidden_state"].mean(1))[0].numpy()

    @torch.no_grad()
    def embed_text(self, texts):
        tokens = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        return self.head("text_projection.", self.text(**tokens)[0][:, 0, :]).numpy()

    def logits(self, audio, text):
        """compute_similarity: exp(logit_scale) * cosine, audio by text."""
        a = F.normalize(torch.from_numpy(audio), dim=-1)
        t = F.normalize(torch.from_numpy(text), dim=-1)
        return (self.state["logit_scale"].exp() * a @ t.T).numpy()


@pytest.fixture(scope="module")
def reference(tiny):
    return Reference(tiny)


def padded_to_receptive_field(wave):
    return np.pad(wave, (0, max(0, 400 - len(wave))))


# -- (1) parity ---------------------------------------------------------------------------------------------------
def test_embeddings_and_logits_equal_the_published_forward(backend, reference):
    waves = clips()
    expected_audio = np.stack([reference.embed_audio(padded_to_receptive_field(w)) for w in waves])
    one_by_one = np.stack([backend.embed_audio([w])[0] for w in waves])
    np.testing.assert_allclose(one_by_one, expected_audio, atol=1e-5, rtol=0)
    expected_text = reference.embed_text(PROMPTS)
    text = backend.embed_text(PROMPTS)
    np.testing.assert_allclose(text, expected_text, atol=1e-5, rtol=0)
    assert text.shape == (len(PROMPTS), TINY_PARACLAP_EMBED_DIM)
    assert backend.logit_scale() == pytest.approx(float(np.exp(TINY_PARACLAP_LOGIT_SCALE)), rel=1e-6)
    cos = F.normalize(torch.from_numpy(one_by_one), dim=-1) @ F.normalize(torch.from_numpy(text), dim=-1).T
    np.testing.assert_allclose(
        backend.logit_scale() * cos.numpy(), reference.logits(expected_audio, expected_text), atol=1e-4, rtol=0
    )


def test_weights_come_from_the_checkpoint_not_the_base_folders(backend, tiny):
    from transformers import Wav2Vec2Model

    folder_weights = Wav2Vec2Model.from_pretrained(tiny.audio_model).state_dict()
    loaded = backend.model.audio_branch.base.state_dict()
    key = "encoder.layers.0.attention.q_proj.weight"
    assert not torch.allclose(folder_weights[key], loaded[key].cpu())


def test_a_padded_batch_equals_one_by_one(backend):
    waves = clips()
    together = backend.embed_audio(waves)
    one_by_one = np.stack([backend.embed_audio([w])[0] for w in waves])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5, rtol=0)
    reordered = backend.embed_audio(waves[::-1])[::-1]
    np.testing.assert_allclose(reordered, together, atol=1e-5, rtol=0)
    assert together.dtype == np.float32 and together.shape == (len(waves), TINY_PARACLAP_EMBED_DIM)
    np.testing.assert_allclose(backend.embed_text(PROMPTS[:1])[0], backend.embed_text(PROMPTS)[0], atol=1e-5)


def test_padding_is_masked_only_for_a_layer_norm_feature_encoder(backend, monkeypatch):
    waves = clips()
    padded = backend.embed_audio(waves)
    base = backend.model.audio_branch.base
    calls = []
    real = base.forward

    def spy(x, attention_mask=None, **kwargs):
        calls.append((tuple(x.shape), attention_mask is not None))
        return real(x, attention_mask=attention_mask, **kwargs)

    monkeypatch.setattr(base, "forward", spy)
    backend.embed_audio(waves)
    assert calls == [((5, max(len(w) for w in waves)), True)]
    calls.clear()
    monkeypatch.setattr(backend, "pad_safe", False)  # as for a group-norm feature encoder
    grouped = backend.embed_audio(waves)
    assert sorted(calls) == sorted([((1, 4800), False), ((1, 400), False), ((1, 20320), False), ((2, 12960), False)])
    np.testing.assert_allclose(grouped, padded, atol=1e-5, rtol=0)


def test_legacy_weight_norm_names_and_inert_keys_load(tiny, backend, tmp_path):
    state = torch.load(tiny.checkpoint, weights_only=True)
    renamed = {}
    for k, v in state.items():
        k = k.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        )
        if not k.startswith("text_branch.base.pooler."):
            renamed[k] = v
    renamed["text_branch.base.embeddings.position_ids"] = torch.arange(512)[None]
    assert any(k.endswith("weight_g") for k in renamed)
    path = tmp_path / "legacy.pth.tar"
    torch.save(renamed, path)
    legacy = ParaCLAPBackend("legacy", str(path), options=tiny.backend_options)
    waves = clips()[:3]
    np.testing.assert_allclose(legacy.embed_audio(waves), backend.embed_audio(waves), atol=1e-6, rtol=0)
    np.testing.assert_allclose(legacy.embed_text(PROMPTS), backend.embed_text(PROMPTS), atol=1e-6, rtol=0)
    assert legacy.fingerprint != backend.fingerprint


def test_backend_attributes(backend, tiny):
    assert backend.variable_length is True
    assert backend.native_pad_mode == "none"
    assert backend.sampling_rate == RATE
    assert backend.window_samples == 30 * RATE
    assert backend.max_text_tokens == 512
    assert backend.min_samples == 400
    assert backend.fingerprint.startswith("paraclap:") and ":audio=" in backend.fingerprint
    assert ":text=" in backend.fingerprint
    short = ParaCLAPBackend("tiny", tiny.checkpoint, options={**tiny.backend_options, "max_seconds": 1.5})
    assert short.window_samples == 24000
    with pytest.raises(ValueError, match="expected 1-D waveforms of 1 to 24000"):
        short.embed_audio([np.zeros(24001, np.float32)])
    with pytest.raises(ValueError, match="expected 1-D waveforms"):
        short.embed_audio([np.zeros(0, np.float32)])
    assert short.embed_audio([]).shape == (0, TINY_PARACLAP_EMBED_DIM)


def test_half_precision_runs_under_autocast(tiny, backend):
    half = ParaCLAPBackend("tiny", tiny.checkpoint, dtype=torch.bfloat16, options=tiny.backend_options)
    waves = clips()
    audio, text = half.embed_audio(waves), half.embed_text(PROMPTS)
    assert audio.dtype == np.float32 and text.dtype == np.float32
    assert half.model.audio_projection.linear1.weight.dtype == torch.float32  # weights stay float32
    cos = np.sum(audio * backend.embed_audio(waves), 1) / np.linalg.norm(audio, axis=1)
    cos /= np.linalg.norm(backend.embed_audio(waves), axis=1)
    assert cos.min() > 0.95


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), True, "10"])
def test_bad_max_seconds(tiny, value):
    with pytest.raises(ValueError, match="max_seconds"):
        check_paraclap("tiny", tiny.checkpoint, options={"max_seconds": value})


def test_long_prompt_is_truncated_with_a_warning(backend):
    long = "happy " * 600
    with pytest.warns(UserWarning, match="exceed the text tower's 512 tokens"):
        out = backend.embed_text([long, "sad"])
    assert np.isfinite(out).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.embed_text(["sad"])


# -- (2) recognising and refusing ------------------------------------------------------------------------------------
def test_recognised_by_its_keys_only(tiny):
    keys = frozenset(torch.load(tiny.checkpoint, weights_only=True))
    assert recognise_paraclap_checkpoint(keys)
    msclap = frozenset(
        {
            "audio_encoder.base.conv_block1.conv1.weight",
            "caption_encoder.base.wte.weight",
            "audio_encoder.projection.linear1.weight",
            "logit_scale",
        }
    )
    laion_training = frozenset(
        {
            "module.audio_branch.layers.0.weight",
            "module.text_branch.embeddings.word_embeddings.weight",
            "module.audio_projection.0.weight",
            "module.logit_scale_a",
        }
    )
    laion_stripped = frozenset(k.removeprefix("module.") for k in laion_training)
    for other in (msclap, laion_training, laion_stripped, frozenset()):
        assert not recognise_paraclap_checkpoint(other)


def test_a_checkpoint_of_another_kind_is_refused(tmp_path, tiny):
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2, 2), "decoder.bias": torch.zeros(2)}, path)
    with pytest.raises(ModelKindError, match=r"holds 2 weights.*decoder\.bias.*not a ParaCLAP state dict"):
        check_paraclap("other", str(path), options=tiny.backend_options)
    with pytest.raises(ModelKindError, match="not a ParaCLAP state dict"):
        ParaCLAPBackend("other", str(path), options=tiny.backend_options)
    with pytest.raises(ModelKindError, match="not a checkpoint file"):
        check_paraclap("folder", str(tmp_path), options=tiny.backend_options)


def test_missing_and_unexpected_weights_are_named(tiny, tmp_path):
    state = torch.load(tiny.checkpoint, weights_only=True)
    gone = ("audio_projection.linear2.weight", "text_branch.base.encoder.layer.1.output.dense.weight")
    for key in gone:
        del state[key]
    state["audio_projection.linear3.weight"] = torch.zeros(2, 2)
    path = tmp_path / "partial.pth.tar"
    torch.save(state, path)
    check_paraclap("partial", str(path), options=tiny.backend_options)  # still a ParaCLAP checkpoint by its keys
    with pytest.raises(ModelKindError) as info:
        ParaCLAPBackend("partial", str(path), options=tiny.backend_options)
    message = str(info.value)
    assert "2 weights missing" in message and all(k in message for k in gone)
    assert "1 unexpected weights" in message and "audio_projection.linear3.weight" in message


def test_a_checkpoint_that_does_not_fit_the_base_models_is_refused(tiny, tmp_path):
    with pytest.raises(ModelKindError, match="wav2vec 2.0"):  # a BERT folder as the audio tower
        ParaCLAPBackend("tiny", tiny.checkpoint, options={**tiny.backend_options, "audio_model": tiny.text_model})
    from zsfuse.testing import make_tiny_wav2vec2

    group_norm = make_tiny_wav2vec2(tmp_path / "w2v-group", feat_extract_norm="group")
    with pytest.raises(ModelKindError, match="does not fit the ParaCLAP architecture"):
        ParaCLAPBackend("tiny", tiny.checkpoint, options={**tiny.backend_options, "audio_model": group_norm})


def test_locate(tiny, tmp_path, monkeypatch):
    assert locate_paraclap(tiny.checkpoint) == os.path.abspath(tiny.checkpoint)
    folder = os.path.dirname(tiny.checkpoint)
    assert locate_paraclap(folder) == os.path.abspath(tiny.checkpoint)  # best.pth.tar, as the hub repo's
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.pt", "b.pt"):
        torch.save({}, two / name)
    with pytest.raises(ModelKindError, match="several checkpoint files"):
        locate_paraclap(str(two))
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelNotFoundError, match=r"best\.pth\.tar.*hf download KeiKinn/paraclap"):
        locate_paraclap(PARACLAP_REPO)


def test_family_facts():
    assert FAMILY.name == "paraclap" and FAMILY.sampling_rate == RATE
    assert set(FAMILY.options) == {"max_seconds", "audio_model", "text_model"}
    (known,) = FAMILY.known_models
    assert known.name == PARACLAP_REPO and "msp-podcast" in known.training_corpora
    assert "2406.07203" in known.source


# -- through the registry -------------------------------------------------------------------------------------------
registry = pytest.importorskip("zsfuse.backends._registry")
wired = pytest.mark.skipif(
    not any(f.name == "paraclap" for f in registry.registered_families()),
    reason="the paraclap family is not registered (zsfuse/backends/_families.py)",
)


@wired
def test_registry_recognises_and_loads_it(tiny):
    from zsfuse.backends import load_clap_backend, not_zero_shot, resolve_clap_model

    assert resolve_clap_model(tiny.checkpoint).family.name == "paraclap"
    assert resolve_clap_model(PARACLAP_REPO).family.name == "paraclap"
    backend = load_clap_backend(tiny.checkpoint, backend_options=tiny.backend_options)
    assert isinstance(backend, ParaCLAPBackend) and backend.family_name == "paraclap"
    assert not_zero_shot(PARACLAP_REPO, ["MSP-Podcast"]).startswith("not zero-shot: ParaCLAP")
    assert not_zero_shot(PARACLAP_REPO, ["ravdess"]) is None


@wired
def test_forcing_paraclap_on_another_kind_is_refused(tiny, tmp_path):
    from zsfuse.backends import load_clap_backend

    path = tmp_path / "unrelated.pt"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ModelKindError, match=r"holds 1 weights.*encoder\.weight.*not a ParaCLAP state dict"):
        load_clap_backend(f"paraclap:{path}", backend_options=tiny.backend_options)
    state = torch.load(tiny.checkpoint, weights_only=True)
    del state["text_projection.layer_norm.bias"]
    partial = tmp_path / "partial.pth.tar"
    torch.save(state, partial)
    with pytest.raises(ModelKindError, match=r"1 weights missing: \['text_projection\.layer_norm\.bias'\]"):
        load_clap_backend(f"paraclap:{partial}", backend_options=tiny.backend_options)


@wired
def test_forcing_paraclap_on_an_msclap_checkpoint_names_it(tiny, tiny_msclap):
    from zsfuse.backends import load_clap_backend

    with pytest.raises(ModelKindError, match=r"MS-CLAP") as info:
        load_clap_backend(f"paraclap:{tiny_msclap.checkpoint}", backend_options=tiny.backend_options)
    assert "ParaCLAP" in str(info.value)


# -- (3) end to end -------------------------------------------------------------------------------------------------
zeroshot_ready = pytest.mark.skipif(
    "variable_length" not in open(os.path.join(os.path.dirname(__file__), "..", "zsfuse", "zeroshot.py")).read(),
    reason="the zero-shot transformer has no variable-length support yet",
)
LABELS = ("angry", "happy", "neutral", "sad")


def e2e_clips():
    durations = [0.02, 0.5, 0.35, 1.3, 2.7, 0.9, 0.6, 1.1]
    waves = [speechlike(d, RATE, f0=100 + 15 * i, seed=i) for i, d in enumerate(durations)]
    waves[0] = tone(300.0, 0.02, RATE)
    return waves


@wired
@zeroshot_ready
@pytest.mark.usefixtures("fresh_store")
def test_zero_shot_transformer_end_to_end(tiny, tmp_path, monkeypatch):
    from zsfuse import CLAPZeroShotTransformer

    def make(**params):
        return CLAPZeroShotTransformer(
            model=tiny.checkpoint,
            labels=LABELS,
            backend_options={**tiny.backend_options, "max_seconds": 1.0},
            audio_repeats=2,
            long_audio="mean",
            sampling_rate=RATE,
            cache_dir=str(tmp_path / "store"),
            **params,
        )

    waves = e2e_clips()
    zs = make().fit()
    scores = zs.transform(waves)
    assert scores.shape == (len(waves), len(LABELS)) and np.isfinite(scores).all()
    assert zs.backend_family_ == "paraclap" and zs.pad_mode_ == "none"
    assert zs.window_samples_ == RATE and zs.sampling_rate_ == RATE

    # a clip that fits once tiled (0.5 s x 2 = the 1 s window): its score is the backend's own
    backend = zs._backend()
    audio = backend.embed_audio([np.tile(waves[1], 2)])[0]
    audio = audio / np.linalg.norm(audio)
    np.testing.assert_allclose(scores[1], zs.logit_scale_ * zs.prototypes_ @ audio, atol=1e-4, rtol=0)

    # the second transform reads the store: no audio reaches the model
    calls = []
    real = backend.embed_audio
    monkeypatch.setattr(backend, "embed_audio", lambda w: calls.append(len(w)) or real(w))
    again = make().fit().transform(waves)
    assert calls == []
    np.testing.assert_allclose(again, scores, atol=1e-6, rtol=0)


@wired
@zeroshot_ready
@pytest.mark.usefixtures("fresh_store")
def test_grid_search_over_audio_repeats(tiny, tmp_path):
    from zsfuse import CLAPZeroShotTransformer

    waves = [speechlike(0.3 + 0.05 * i, RATE, f0=100 + 10 * i, seed=i) for i in range(12)]
    labels = np.array(LABELS * 3)
    zs = CLAPZeroShotTransformer(
        model=tiny.checkpoint,
        backend_options={**tiny.backend_options, "max_seconds": 1.0},
        long_audio="mean",
        sampling_rate=RATE,
        cache_dir=str(tmp_path / "store"),
    )
    pipe = Pipeline([("zs", zs), ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"zs__audio_repeats": [1, 2]}, cv=StratifiedKFold(3), n_jobs=1).fit(waves, labels)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_the_check_finds_the_base_models_before_any_weight_loads(tiny, monkeypatch):
    # check_clap_model (zsfuse evaluate's preflight) fails at once when a base model is missing offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=r"ParaCLAP text tower 'no-such/bert'"):
        check_paraclap("tiny", tiny.checkpoint, options={**tiny.backend_options, "text_model": "no-such/bert"})

"""LAION-CLAP / ReCLAP training checkpoints (the ``laion-ckpt`` family), on tiny checkpoints written offline."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from zsfuse import CLAPZeroShotTransformer
from zsfuse.backends import get_family, load_clap_backend, resolve_clap_model
from zsfuse.backends.laion_ckpt import FAMILY, LaionCheckpointBackend, load_laion_state_dict, recognise_laion_checkpoint
from zsfuse.exceptions import ModelKindError, ModelNotFoundError
from zsfuse.models import load_torch_checkpoint
from zsfuse.store import clear_stores
from zsfuse.testing import speechlike, tone
from zsfuse.testing._laion_ckpt import make_tiny_laion_checkpoint

RATE = 48000
WINDOW = 10 * RATE
PROMPTS = ["this person is feeling angry.", "a calm voice", "the speaker sounds very happy indeed."]

pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """``{fused: TinyLaionCheckpoint}``, unfused and fused."""
    folder = tmp_path_factory.mktemp("tiny-laion-ckpt")
    return {fused: make_tiny_laion_checkpoint(folder / f"tiny-{fused}.pt", fused=fused) for fused in (False, True)}


def windows():
    clips = [speechlike(1.5, RATE, seed=1), tone(440.0, 3.0, RATE), speechlike(10.0, RATE, contour="fall", seed=2)]
    return np.stack([np.resize(c, WINDOW) for c in clips]).astype(np.float32)


def features(out):
    """``get_*_features``' answer as numpy: a tensor (transformers 4) or an output's ``pooler_output`` (5)."""
    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return out.detach().float().numpy()


def reference_embeddings(reference_dir, waves, texts):
    """Audio and text embeddings and the audio temperature, straight from the original ``ClapModel``."""
    from transformers import ClapModel, ClapProcessor

    model = ClapModel.from_pretrained(reference_dir).eval()
    processor = ClapProcessor.from_pretrained(reference_dir)
    feats = processor.feature_extractor(list(waves), sampling_rate=RATE, return_tensors="pt")
    tokens = processor.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        audio = model.get_audio_features(
            input_features=feats["input_features"], is_longer=torch.zeros((len(waves), 1), dtype=torch.bool)
        )
        text = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
    return features(audio), features(text), float(model.logit_scale_a.detach().exp())


# -- parity ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("prefix", ["", "reclap:", "laion-ckpt:"], ids=["by-content", "reclap", "laion-ckpt"])
def test_embeddings_equal_the_original_clap_model(tiny, fused, prefix):
    ckpt = tiny[fused]
    backend = load_clap_backend(prefix + ckpt.checkpoint, backend_options={"tokenizer": ckpt.tokenizer})
    assert isinstance(backend, LaionCheckpointBackend)
    assert backend.family_name == "laion-ckpt"
    audio_cfg = backend.model.config.audio_config
    assert (audio_cfg.enable_fusion, audio_cfg.spec_size, audio_cfg.window_size) == (fused, 128, 8)
    assert (list(audio_cfg.depths), list(audio_cfg.num_attention_heads)) == ([2, 2], [2, 4])
    assert backend.model.config.text_config.num_attention_heads == 2  # width 128 // 64
    assert (backend.sampling_rate, backend.window_samples, backend.native_pad_mode) == (RATE, WINDOW, "repeatpad")
    waves = windows()
    audio, text, scale = reference_embeddings(ckpt.reference_dir, waves, PROMPTS)
    np.testing.assert_allclose(backend.embed_audio(waves), audio, atol=1e-5, rtol=0)
    np.testing.assert_allclose(backend.embed_text(PROMPTS), text, atol=1e-5, rtol=0)
    assert backend.logit_scale() == pytest.approx(scale, abs=1e-5)
    # and the same numbers as the hf-clap backend on the reference folder
    hf = load_clap_backend(ckpt.reference_dir)
    np.testing.assert_allclose(backend.embed_audio(waves), hf.embed_audio(waves), atol=1e-5, rtol=0)
    np.testing.assert_allclose(backend.embed_text(PROMPTS), hf.embed_text(PROMPTS), atol=1e-5, rtol=0)


def test_fingerprint_names_weights_tokenizer_and_heads(tiny):
    a = load_clap_backend(tiny[False].checkpoint, backend_options={"tokenizer": tiny[False].tokenizer})
    b = load_clap_backend(tiny[True].checkpoint, backend_options={"tokenizer": tiny[False].tokenizer})
    assert a.fingerprint.startswith("laion-ckpt:") and ":tok=" in a.fingerprint
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint.split(":tok=")[1] == b.fingerprint.split(":tok=")[1]


def test_text_heads_option(tmp_path):
    ckpt = make_tiny_laion_checkpoint(tmp_path / "heads4.pt", text_heads=4, seed=3)
    _, text, _ = reference_embeddings(ckpt.reference_dir, windows()[:1], PROMPTS)
    default = load_clap_backend(ckpt.checkpoint, backend_options={"tokenizer": ckpt.tokenizer})
    assert default.model.config.text_config.num_attention_heads == 2  # the convention, wrong here
    assert np.abs(default.embed_text(PROMPTS) - text).max() > 1e-3
    right = load_clap_backend(ckpt.checkpoint, backend_options={"tokenizer": ckpt.tokenizer, "text_heads": 4})
    np.testing.assert_allclose(right.embed_text(PROMPTS), text, atol=1e-5, rtol=0)
    assert right.fingerprint != default.fingerprint
    for bad in (0, "two", True):
        with pytest.raises(ValueError, match="text_heads"):
            load_clap_backend(ckpt.checkpoint, backend_options={"tokenizer": ckpt.tokenizer, "text_heads": bad})
    with pytest.raises(ModelKindError, match="do not divide"):
        load_clap_backend(ckpt.checkpoint, backend_options={"tokenizer": ckpt.tokenizer, "text_heads": 3})


# -- recognition and refusals ----------------------------------------------------------------------------------------


def test_family_is_registered_and_recognises_training_keys(tiny):
    assert get_family("reclap") is get_family("laion-clap") is get_family("laion-ckpt")
    assert get_family("laion-ckpt").name == FAMILY.name
    keys = frozenset(load_laion_state_dict(tiny[False].checkpoint))
    assert all(k.startswith("module.") for k in keys)
    assert recognise_laion_checkpoint(keys)
    assert recognise_laion_checkpoint({k[len("module.") :] for k in keys})
    assert not recognise_laion_checkpoint({"audio_encoder.base.htsat.bn0.weight", "caption_encoder.base.wte.weight"})
    assert not recognise_laion_checkpoint({"audio_model.audio_encoder.norm.weight", "text_model.pooler.dense.weight"})
    assert resolve_clap_model(tiny[True].checkpoint).family.name == "laion-ckpt"
    assert resolve_clap_model("630k-audioset-best.pt").family.name == "laion-ckpt"  # a released file's name


def rewrite(src, dst, edit):
    """Copy the checkpoint ``src`` to ``dst`` with ``edit(state_dict)`` applied (module. prefixes kept)."""
    obj = torch.load(src, weights_only=True)
    edit(obj["state_dict"])
    torch.save(obj, dst)
    return str(dst)


P = "module."
BLOCK = P + "audio_branch.layers.0.blocks.0."


def _rename_norm(sd):
    sd[BLOCK + "norm_1.weight"] = sd.pop(BLOCK + "norm1.weight")


def _wrong_shape(sd):
    sd[P + "text_projection.2.weight"] = torch.zeros(16, 8)


@pytest.mark.parametrize(
    "edit, needles",
    [
        (lambda sd: sd.update({BLOCK + "attn.extra.weight": torch.zeros(2)}), ["map to nothing", BLOCK + "attn.extra"]),
        (
            lambda sd: sd.pop(P + "audio_branch.layers.1.blocks.1.mlp.fc2.bias"),
            ["missing", "audio_model.audio_encoder.layers.1.blocks.1.output.dense.bias"],
        ),
        (lambda sd: sd.pop(P + "text_projection.2.weight"), ["missing", "text_projection.linear2.weight"]),
        (
            lambda sd: sd.pop(P + "audio_branch.layers.1.blocks.0.attn.relative_position_bias_table"),
            ["missing", "audio_model.audio_encoder.layers.1.blocks.0.attention.self.relative_position_bias_table"],
        ),
        (_rename_norm, [BLOCK + "norm_1.weight", "audio_model.audio_encoder.layers.0.blocks.0.layernorm_before"]),
        (_wrong_shape, ["wrong shape after conversion", "text_projection.linear2.weight (16, 8)"]),
        (
            lambda sd: sd.update({P + "text_branch.encoder.block.0.layer.0.SelfAttention.q.weight": torch.zeros(2)}),
            ["T5 text tower"],
        ),
        (lambda sd: sd.update({P + "audio_branch.conv_block1.conv1.weight": torch.zeros(2)}), ["PANN"]),
    ],
    ids=["extra", "missing", "missing-essential", "no-table", "renamed", "wrong-shape", "t5-text", "pann-audio"],
)
def test_a_checkpoint_that_fits_no_variant_is_refused_naming_the_keys(tiny, tmp_path, edit, needles):
    path = rewrite(tiny[False].checkpoint, tmp_path / "edited.pt", edit)
    for model in (path, "reclap:" + path):
        with pytest.raises(ModelKindError) as info:
            load_clap_backend(model, backend_options={"tokenizer": tiny[False].tokenizer})
        for needle in needles:
            assert needle in str(info.value), (needle, str(info.value))


def test_an_msclap_checkpoint_forced_as_reclap_is_refused(tiny_msclap):
    with pytest.raises(ModelKindError, match="MS-CLAP"):
        load_clap_backend("reclap:" + tiny_msclap.checkpoint)
    with pytest.raises(ModelKindError, match="holds an MS-CLAP checkpoint"):  # the family's own check
        FAMILY.check(tiny_msclap.checkpoint, tiny_msclap.checkpoint, options={})


def test_a_clap_folder_forced_as_laion_ckpt_is_refused(tiny):
    with pytest.raises(ModelKindError):
        load_clap_backend("laion-ckpt:" + tiny[False].reference_dir)
    with pytest.raises(ModelKindError, match="is a folder"):
        FAMILY.check(tiny[False].reference_dir, tiny[False].reference_dir, options={})


def test_a_tokenizer_that_cannot_be_found_says_how_to_fetch_it(tiny, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="hf download nobody/no-such-tokenizer"):
        load_clap_backend(tiny[False].checkpoint, backend_options={"tokenizer": "nobody/no-such-tokenizer"})
    # the check (zsfuse evaluate's preflight) finds it missing too, before any weight loads
    from zsfuse.backends import check_clap_model

    with pytest.raises(ModelNotFoundError, match="no-such-tokenizer"):
        check_clap_model(tiny[False].checkpoint, backend_options={"tokenizer": "nobody/no-such-tokenizer"})


def test_numpy_scalars_beside_the_weights_load(tiny, tmp_path):
    # the training code saves its optimizer too; its learning rate may be a numpy float
    obj = torch.load(tiny[False].checkpoint, weights_only=True)
    obj["optimizer"] = {"param_groups": [{"lr": np.float64(1e-4), "betas": (np.float32(0.9), 0.99)}]}
    path = str(tmp_path / "with-optimizer.pt")
    torch.save(obj, path)
    assert load_torch_checkpoint(path)["optimizer"]["param_groups"][0]["lr"] == 1e-4  # numbers, no code
    assert set(load_laion_state_dict(path)) == set(obj["state_dict"])
    backend = load_clap_backend(path, backend_options={"tokenizer": tiny[False].tokenizer})  # through the registry
    reference = load_clap_backend(tiny[False].reference_dir)
    np.testing.assert_allclose(backend.embed_text(PROMPTS), reference.embed_text(PROMPTS), atol=1e-5, rtol=0)


def test_a_released_name_is_looked_up_in_the_hugging_face_cache_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    for model, needle in (
        ("630k-audioset-best.pt", "lukewys/laion_clap 630k-audioset-best.pt"),
        ("reclap:someone/reclap/reclap_base.pt", "someone/reclap reclap_base.pt"),
    ):
        with pytest.raises(ModelNotFoundError, match=needle):
            load_clap_backend(model)


# -- end to end ------------------------------------------------------------------------------------------------------


class Spy:
    """Counts what reaches the backend's encoders."""

    def __init__(self, monkeypatch, backend):
        self.windows = 0
        real = backend.embed_audio

        def embed_audio(batch):
            self.windows += len(batch)
            return real(batch)

        monkeypatch.setattr(backend, "embed_audio", embed_audio)


def clips(n):
    return [
        speechlike(1.0 + 0.1 * i, RATE, f0=100 + 7 * i, seed=i) if i % 2 else tone(200.0 + 30 * i, 1.5, RATE)
        for i in range(n)
    ]


def test_zero_shot_transformer_fit_transform_store_and_grid_search(tiny, tmp_path, monkeypatch):
    ckpt = tiny[False]
    params = dict(
        model=ckpt.checkpoint,
        backend_options={"tokenizer": ckpt.tokenizer},
        labels=["angry", "happy", "neutral", "sad"],
        sampling_rate=RATE,
        audio_repeats=2,
        cache_dir=str(tmp_path / "store"),
    )
    X = clips(12)
    zs = CLAPZeroShotTransformer(**params).fit()
    spy = Spy(monkeypatch, zs._backend())
    first = zs.transform(X)
    assert first.shape == (12, 4) and np.isfinite(first).all()
    assert spy.windows == 12
    clear_stores()  # the in-memory store: the second transform reads the disk store
    second = CLAPZeroShotTransformer(**params).fit().transform(X)
    assert spy.windows == 12  # nothing encoded again
    np.testing.assert_allclose(second, first, atol=1e-6, rtol=0)

    y = np.array(["angry", "happy", "neutral", "sad"] * 3)
    pipe = Pipeline([("zs", CLAPZeroShotTransformer(**params)), ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"zs__audio_repeats": [1, 2, 3]}, cv=StratifiedKFold(3), n_jobs=1).fit(X, y)
    assert search.best_params_["zs__audio_repeats"] in (1, 2, 3)
    # audio_repeats=2 came from the store; 1 and 3 cost a pass per clip where the window differs: the
    # checkpoint's "repeatpad" holds whole copies of the tiled clip, then zeros, so k copies of x fitting
    # n(k) = k * (W // (k * len)) times coincide with another k where the copy counts agree
    window = zs._backend().window_samples
    distinct = sum(len({k * (window // (k * len(x))) for k in (1, 2, 3)}) for x in X)
    assert distinct < 12 * 3 and spy.windows == distinct

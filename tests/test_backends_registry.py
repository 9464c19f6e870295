"""The backend registry: recognition by content, forced families, options, variable-length models,
``list_backends`` and the training-data caveat."""

import dataclasses
import fractions
import json
import warnings

import numpy as np
import pytest
from _helpers import run_cli

import zsfuse
from zsfuse import CLAPZeroShotTransformer, ModelKindError, ModelNotFoundError, TrainingDataWarning
from zsfuse.backends import (
    ClapBackend,
    ClapFamily,
    KnownModel,
    _registry,
    clap_backend_kind,
    load_clap_backend,
    not_zero_shot,
)
from zsfuse.backends.hf_clap import FAMILY as HF_CLAP
from zsfuse.testing import speechlike

pytestmark = pytest.mark.usefixtures("fresh_store")


@pytest.fixture
def register(monkeypatch):
    """Register a family for one test only."""

    def add(family):
        monkeypatch.setitem(_registry._FAMILIES, family.name, family)
        return family

    return add


# -- recognition by content ---------------------------------------------------------------------------------
def test_a_folder_is_recognised_by_its_config_not_by_the_shape_of_its_name(tiny_clap_dir, tiny_wavlm_dir):
    assert clap_backend_kind(tiny_clap_dir) == "hf-clap"
    assert clap_backend_kind("msclap-2023") == "msclap"  # a released name: no file read
    assert clap_backend_kind(f"hf-clap:{tiny_clap_dir}") == "hf-clap"
    with pytest.raises(ModelKindError, match=r"model_type 'wavlm'.*no registered family.*Expected one of: MS-CLAP"):
        clap_backend_kind(tiny_wavlm_dir)


def test_a_checkpoint_of_no_known_family_is_refused_with_its_keys(tmp_path):
    import torch

    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2), "head.bias": torch.zeros(1)}}, path)
    with pytest.raises(ModelKindError, match=r"2 weights, e\.g\. \['encoder\.weight', 'head\.bias'\].*no registered"):
        clap_backend_kind(path)
    text = tmp_path / "notes.pt"
    text.write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(ModelKindError, match=r"torch cannot read as a checkpoint"):
        clap_backend_kind(text)


def test_a_checkpoint_that_holds_code_is_refused_before_anything_runs(tmp_path):
    import torch

    path = tmp_path / "pickled.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": fractions.Fraction(1, 3)}, path)
    with pytest.raises(ValueError, match=r"pickled objects besides tensors"):
        clap_backend_kind(path)


def test_a_missing_path_and_an_unknown_name(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"looks like a path"):
        clap_backend_kind(tmp_path / "nowhere" / "model.pt")
    with pytest.raises(ValueError, match=r"unknown audio-language model 'clap'.*msclap-2023.*'family:model'"):
        clap_backend_kind("clap")


def test_a_forced_family_that_the_content_contradicts_is_refused(tiny_clap_dir):
    with pytest.raises(ModelKindError, match=r"given as MS-CLAP \(msclap:\).*a LAION-CLAP \(transformers\) model"):
        load_clap_backend(f"msclap:{tiny_clap_dir}")


def test_a_windows_drive_or_url_is_not_a_prefix():
    assert _registry.split_prefix("C:/models/x.pt") == (None, "C:/models/x.pt")
    assert _registry.split_prefix("https://example.org/x") == (None, "https://example.org/x")
    family, rest = _registry.split_prefix("hf-clap:laion/clap-htsat-unfused")
    assert family is HF_CLAP and rest == "laion/clap-htsat-unfused"


def test_a_prefix_cannot_be_registered_twice(register):
    with pytest.raises(ValueError, match=r"already registered"):
        _registry.register(dataclasses.replace(HF_CLAP, name="another", aliases=("hf-clap",)))


# -- options ----------------------------------------------------------------------------------------------------
def test_options_are_checked_against_the_family_before_any_model_loads(tiny_clap_dir):
    zs = CLAPZeroShotTransformer(model="msclap-2023", labels=("a", "b"), backend_options={"max_seconds": 3})
    with pytest.raises(ValueError, match=r"\['max_seconds'\] do not apply to MS-CLAP models; its options: version"):
        zs.fit()
    zs = CLAPZeroShotTransformer(model=tiny_clap_dir, labels=("a", "b"), backend_options={"tokenizer": "x"})
    with pytest.raises(ValueError, match=r"do not apply to LAION-CLAP \(transformers\) models; its options: none"):
        zs.fit()
    with pytest.raises(ValueError, match=r"version and text_model apply to MS-CLAP models only"):
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=("a", "b"), version="2023").fit()
    with pytest.raises(ValueError, match=r"version='2022' contradicts backend_options\['version'\]='2023'"):
        CLAPZeroShotTransformer(
            model="msclap-2023", labels=("a", "b"), version="2022", backend_options={"version": "2023"}
        ).fit()
    with pytest.raises(ValueError, match=r"backend_options"):
        CLAPZeroShotTransformer(model=tiny_clap_dir, labels=("a", "b"), backend_options=["x"]).fit()


def test_the_msclap_shortcuts_are_backend_options():
    from zsfuse.backends import merge_options

    assert merge_options(None, version=2023, text_model="/t") == {"version": "2023", "text_model": "/t"}
    assert merge_options({"version": "2023"}, version="2023") == {"version": "2023"}


# -- a variable-length family ---------------------------------------------------------------------------------
class _Variable(ClapBackend):
    """A numpy audio-language model that takes clips as they are; it records what it receives."""

    name = "variable"
    variable_length = True
    native_pad_mode = "none"
    sampling_rate = 16000
    max_text_tokens = 77
    device = "cpu"
    dtype = "torch.float32"

    def __init__(self, max_seconds):
        super().__init__()
        self.window_samples = int(max_seconds * self.sampling_rate)
        self.fingerprint = f"variable:{max_seconds}"
        self.received, self.batches = [], []

    def embed_audio(self, waves):
        waves = self._checked_waves(waves)
        self.received.extend(len(w) for w in waves)
        self.batches.append([len(w) for w in waves])
        return np.stack([[w.mean(), w.std(), len(w) / self.window_samples, 1.0] for w in waves]).astype(np.float32)

    def embed_text(self, texts):
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=4) for t in texts]
        return np.stack(rows).astype(np.float32)

    def logit_scale(self):
        return 10.0


def _variable_family():
    return ClapFamily(
        name="variable",
        title="Variable",
        summary="a test family",
        load=lambda model, path, *, options, **_: _Variable(float(options.get("max_seconds", 1.0))),
        locate=lambda model, **_: model,
        options={"max_seconds": "longest input in seconds (default 1.0)"},
    )


def test_a_variable_length_model_gets_each_clip_as_it_is(register):
    register(_variable_family())
    clips = [speechlike(s, 16000, seed=i) for i, s in enumerate((0.25, 0.6, 2.5))]
    zs = CLAPZeroShotTransformer(model="variable:any", labels=("a", "b"), sampling_rate=16000, long_audio="mean")
    zs.fit()
    backend = zs._backend()  # the process-wide instance the transformer uses
    backend.received.clear()
    zs.transform(clips)
    # short clips untouched; the 2.5 s clip cut into 1 s windows, the last one aligned to its end
    assert backend.received == [4000, 9600, 16000, 16000, 16000]
    assert zs.pad_mode_ == "none" and zs.window_samples_ == 16000 and zs.backend_family_ == "variable"

    backend.received.clear()
    zs.set_params(audio_repeats=2, long_audio="center").transform(clips)
    assert backend.received == [8000, 16000, 16000]  # tiled first, then capped

    tuned = CLAPZeroShotTransformer(
        model="variable:any", labels=("a", "b"), sampling_rate=16000, backend_options={"max_seconds": 0.5}
    ).fit()
    capped = tuned._backend()
    assert capped is not backend  # options key the process-wide model cache
    capped.received.clear()
    tuned.set_params(pad_mode="zero").fit().transform(clips[:1])
    assert capped.received == [8000]  # filled up to the longest input


def test_variable_length_segments_are_batched_by_length_and_returned_in_order(register):
    register(_variable_family())
    clips = [speechlike(s, 16000, seed=i) for i, s in enumerate((0.9, 0.55, 0.2, 0.6, 0.5))]
    zs = CLAPZeroShotTransformer(model="variable:any", labels=("a", "b"), sampling_rate=16000, batch_size=2).fit()
    backend = zs._backend()
    backend.received.clear()  # the process keeps one model per settings, across tests
    backend.batches.clear()
    together = zs.transform(clips)
    # clips sorted by length into store batches of 2; within one, a forward pass closes when the next
    # segment is over 1.25 x its shortest (8000 after 3200), or when full
    assert backend.batches == [[3200], [8000], [8800, 9600], [14400]]
    alone = np.vstack([zs.transform([c]) for c in clips])
    np.testing.assert_allclose(together, alone, rtol=1e-6)  # each row is its own clip's, whatever the grouping


def test_a_released_model_can_record_its_training_corpora(register):
    register(
        dataclasses.replace(
            _variable_family(),
            known_models=(KnownModel("org/seen", training_corpora=("msp-podcast", "iemocap"), source="paper, §3"),),
        )
    )
    caveat = not_zero_shot("org/seen", ["MSP-Podcast"])
    assert caveat.startswith("not zero-shot: Variable (org/seen) was trained on msp-podcast (source: paper, §3)")
    assert not_zero_shot("variable:org/seen", ["msppodcast"]) == caveat  # the prefix and the spelling do not matter
    assert not_zero_shot("org/seen", ["ravdess"]) is None
    assert not_zero_shot("org/unseen", ["iemocap"]) is None


def test_evaluate_warns_and_reports_when_the_corpus_trained_the_zero_shot_model(
    register, manifest, tiny_clap_dir, tiny_wavlm_dir, tmp_path
):
    from zsfuse.datasets import load_dataset
    from zsfuse.evaluation import evaluate

    register(
        dataclasses.replace(
            HF_CLAP,
            name="trained-on-ravdess",
            aliases=(),
            known_models=(KnownModel(tiny_clap_dir, training_corpora=("ravdess",), source="a test"),),
        )
    )
    dataset = dataclasses.replace(load_dataset("manifest", manifest), name="ravdess")
    with pytest.warns(TrainingDataWarning, match=r"not zero-shot: .* was trained on ravdess \(source: a test\)"):
        results = evaluate(
            dataset,
            clap=tiny_clap_dir,
            fm=tiny_wavlm_dir,
            grid={"clf__zs_weight": [1.0]},
            folds=["fold_1"],
            device="cpu",
            progress=False,
            out=tmp_path / "out",
        )
    assert results["caveats"] and "trained on ravdess" in results["caveats"][0]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Caveats" in report and "trained on ravdess" in report
    assert json.loads((tmp_path / "out" / "results.json").read_text())["caveats"] == results["caveats"]

    other = dataclasses.replace(dataset, name="crema-d")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingDataWarning)
        clean = evaluate(
            other,
            clap=tiny_clap_dir,
            fm=tiny_wavlm_dir,
            grid={"clf__zs_weight": [1.0]},
            folds=["fold_1"],
            device="cpu",
            progress=False,
        )
    assert clean["caveats"] == []


def test_zero_shot_command_warns_for_a_corpus_the_model_was_trained_on(capsys, tmp_path):
    from zsfuse.testing import write_wav

    clip = write_wav(tmp_path / "a.wav", speechlike(0.5, 16000), 16000)
    with pytest.warns(TrainingDataWarning, match=r"MS-CLAP \(msclap-2023\) was trained on iemocap"):
        # the warning comes before the model loads; the load itself fails offline here, which is fine
        run_cli(capsys, "zero-shot", clip, "--labels", "angry,sad", "--corpus", "IEMOCAP", "--no-cache")


# -- listing ------------------------------------------------------------------------------------------------------
def test_list_backends_comes_from_the_registries(register):
    rows = zsfuse.list_backends()
    zero_shot = [r for r in rows if r["kind"] == "zero-shot"]
    assert [r["family"] for r in zero_shot][:2] == ["msclap", "hf-clap"]
    msclap = zero_shot[0]
    assert set(msclap["options"]) == {"version", "text_model"}
    assert "iemocap" in msclap["training_data"]["msclap-2023"]["corpora"]
    fm = [r for r in rows if r["kind"] == "fm"]
    assert [r["family"] for r in fm] == ["ssl", "whisper"] and "wavlm" in fm[0]["model_types"]
    register(_variable_family())
    assert zsfuse.list_backends("zero-shot")[-1]["family"] == "variable"
    with pytest.raises(ValueError, match=r"kind must be"):
        zsfuse.list_backends("clap")


def test_the_command_help_names_the_registered_families(capsys):
    with pytest.raises(SystemExit):
        run_cli(capsys, "zero-shot", "--help")
    out = capsys.readouterr().out
    assert "MS-CLAP [msclap:]: msclap-2023, msclap-2022" in " ".join(out.split())


def test_the_docs_tables_are_the_registry():
    from pathlib import Path

    from zsfuse.backends import families_markdown

    text = (Path(__file__).parents[1] / "docs" / "zero_shot.md").read_text()
    between = text.split("<!-- families:start -->\n", 1)[1].split("<!-- families:end -->", 1)[0]
    assert between == families_markdown(), "docs/zero_shot.md is out of date: run python docs/update_tables.py"
    for family in _registry.registered_families():
        assert f"{family.title} (`{family.name}:" in between


# -- the command line with the new families ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def clsp_dir(tmp_path_factory):
    from zsfuse.testing import make_tiny_clsp

    return make_tiny_clsp(tmp_path_factory.mktemp("clsp") / "clsp")


def test_zero_shot_command_passes_backend_options_and_trust(capsys, tmp_path, clsp_dir):
    from zsfuse.testing import make_tiny_paraclap, write_wav

    clips = [write_wav(tmp_path / f"c{i}.wav", speechlike(0.6 + i, 16000, seed=i), 16000) for i in range(2)]
    tiny = make_tiny_paraclap(tmp_path / "paraclap")
    options = [f"--backend-option=audio_model={tiny.audio_model}", f"--backend-option=text_model={tiny.text_model}"]
    args = ["zero-shot", *clips, "--labels", "angry,sad", "--device", "cpu", "--no-cache", "--json"]
    rc, out, err = run_cli(capsys, *args, "--model", tiny.checkpoint, *options, "--backend-option", "max_seconds=1")
    assert rc == 0, err
    assert [r["file"] for r in json.loads(out)] == [str(c) for c in clips]
    rc, _, err = run_cli(capsys, *args, "--model", tiny.checkpoint, *options, "--backend-option", "nope=1")
    assert rc == 2 and "backend_options ['nope'] do not apply to ParaCLAP models" in err

    rc, _, err = run_cli(capsys, *args, "--model", clsp_dir)
    assert rc == 2 and "trust_remote_code=True" in err and "--trust-remote-code" in err
    rc, out, err = run_cli(capsys, *args, "--model", clsp_dir, "--trust-remote-code")
    assert rc == 0, err
    assert len(json.loads(out)) == 2


def test_evaluate_command_runs_a_model_that_ships_its_code(capsys, manifest, tiny_wavlm_dir, tmp_path, clsp_dir):
    out = tmp_path / "out"
    argv = ["evaluate", "--dataset", "manifest", "--root", manifest, "--clap", clsp_dir, "--fm", tiny_wavlm_dir]
    argv += ["--device", "cpu", "--no-cache", "--no-progress", "--folds", "1", "--out", out]
    argv += ["--grid", _write_grid(tmp_path)]
    rc, _, err = run_cli(capsys, *argv)
    assert rc == 2 and "--trust-remote-code" in err and not out.exists()  # refused in the preflight
    rc, table, err = run_cli(capsys, *argv, "--trust-remote-code", "--backend-option", "max_seconds=0.5")
    assert rc == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["zs_params"]["backend_options"] == {"max_seconds": 0.5}
    assert results["config"]["zs_params"]["trust_remote_code"] is True
    assert results["models"]["clap"]["fingerprint"].startswith("clsp:")
    assert "CLSP" in (out / "report.md").read_text()  # cited in the references


def _write_grid(tmp_path):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"clf__zs_weight": [1.0]}))
    return path


def test_a_saved_pipeline_reports_and_keeps_its_backend_options(tmp_path):
    from zsfuse import make_zsfuse_pipeline

    options = {"tokenizer": "/models/roberta-tokenizer", "text_heads": 12}
    pipe = make_zsfuse_pipeline(clap="reclap:/models/reclap.pt", fm="/models/wavlm", zs__backend_options=options)
    path = zsfuse.save(pipe, tmp_path / "p.skops")
    info = zsfuse.inspect(path)
    step = next(s for s in info.steps if s.cls.endswith("CLAPZeroShotTransformer"))
    assert step.backend_options == options
    assert "/models/roberta-tokenizer" in info.models  # a model it would load, named before anything loads
    assert "backend_options" in str(info)
    loaded = zsfuse.load(path)
    assert loaded.get_params()["features__zs__backend_options"] == options


def test_a_loaded_model_is_not_looked_up_again_on_every_transform(register, monkeypatch):
    register(_variable_family())
    zs = CLAPZeroShotTransformer(model="variable:any", labels=("a", "b"), sampling_rate=16000).fit()
    zs.transform([speechlike(0.3, 16000)])  # loaded (or already in the process's cache)
    calls = []
    real = _registry.resolve_clap_model
    monkeypatch.setattr("zsfuse.backends._select.resolve_clap_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    zs.transform([speechlike(0.4, 16000, seed=1)])
    zs.fit().transform([speechlike(0.5, 16000, seed=2)])
    assert calls == []  # no hub request, no checkpoint read: the process's model is reused

"""Model loading: devices, dtypes, the loader cache, offline resolution, safe checkpoints."""

import contextlib
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from zsfuse.exceptions import MissingDependencyError, ModelNotFoundError  # noqa: E402
from zsfuse.models import (  # noqa: E402
    autocast,
    cached_models,
    clear_model_cache,
    get_model,
    is_offline,
    load_pretrained,
    load_torch_checkpoint,
    model_fingerprint,
    model_not_found_error,
    require_extra,
    resolve_device,
    resolve_dtype,
    resolve_model_path,
)


def test_resolve_device_on_this_machine():
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"
    for bad in ("gpu", "cuda:x", "tpu"):
        with pytest.raises(ValueError, match="device must be"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_resolve_dtype():
    assert resolve_dtype("auto", "cpu") is torch.float32
    assert resolve_dtype("auto", "cuda:0") is torch.float16
    assert resolve_dtype("bf16", "cpu") is torch.bfloat16
    assert resolve_dtype(torch.float16, "cuda:0") is torch.float16
    with pytest.raises(ValueError, match="dtype must be"):
        resolve_dtype("int8", "cpu")


def test_autocast_only_for_half_dtypes():
    """One autocast for every backend: nothing for float32, torch.autocast on the device's type otherwise."""
    assert isinstance(autocast("cpu", torch.float32), contextlib.nullcontext)
    assert isinstance(autocast("cpu", None), contextlib.nullcontext)
    context = autocast("cpu", torch.bfloat16)
    assert isinstance(context, torch.autocast) and context.device == "cpu"
    with context:
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype == torch.bfloat16


def test_offline_switch_and_the_not_found_message(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert is_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # HF_HUB_OFFLINE wins when set
    assert not is_offline()
    error = model_not_found_error("org/m", "v2", "CLAP model", "LookupError:  not\n cached.", local="the file")
    assert isinstance(error, ModelNotFoundError)
    message = str(error)
    assert message.startswith("CLAP model 'org/m' (revision 'v2') is not a local folder")
    assert " online: LookupError: not cached. " in message
    assert "`hf download org/m --revision v2`" in message and message.endswith("pass the path of the file.")


def test_require_extra_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'zsfuse\[nothing\]'"):
        require_extra("zsfuse_no_such_module", "nothing", "Imaginary models")
    assert require_extra("numpy", "core", "arrays") is np


def test_loader_cache_loads_once():
    clear_model_cache()
    calls = []
    key = ("test", "/models/x", None, "cpu", "float32")
    first = get_model(key, lambda: calls.append(1) or object())
    assert get_model(key, lambda: calls.append(1) or object()) is first
    assert calls == [1] and tuple(map(str, key)) in cached_models()
    clear_model_cache()
    assert cached_models() == []


def test_local_folder_loads_through_the_hub_code_path(tiny_wavlm_dir):
    from transformers import AutoModel

    assert resolve_model_path(tiny_wavlm_dir) == os.path.abspath(tiny_wavlm_dir)
    model = load_pretrained(AutoModel, tiny_wavlm_dir)
    assert type(model).__name__ == "WavLMModel"


def test_missing_hub_model_offline_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError, match=r"hf download microsoft/wavlm-large --revision v1"):
        resolve_model_path("microsoft/wavlm-large", revision="v1", what="speech model")
    with pytest.raises(ModelNotFoundError, match="looks like a path"):
        resolve_model_path(str(tmp_path / "nope" / "model"))


def test_hub_id_resolves_from_the_cache_offline(tmp_path, tiny_wavlm_dir):
    """A model placed in the Hugging Face cache layout loads by its id with HF_HUB_OFFLINE=1."""
    hub = tmp_path / "hf" / "hub"
    snapshot = hub / "models--someone--tiny-wavlm" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for name in os.listdir(tiny_wavlm_dir):
        os.symlink(os.path.join(tiny_wavlm_dir, name), snapshot / name)
    refs = hub / "models--someone--tiny-wavlm" / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    code = (
        "from zsfuse.models import resolve_model_path, load_pretrained\n"
        "from transformers import AutoModel\n"
        "print(resolve_model_path('someone/tiny-wavlm'))\n"
        "print(type(load_pretrained(AutoModel, 'someone/tiny-wavlm')).__name__)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(snapshot), "WavLMModel"]


def test_fingerprint_follows_content(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "config.json").write_text('{"hidden": 8}')
        (folder / "model.bin").write_bytes(b"\x00" * 100)
    assert model_fingerprint(a) == model_fingerprint(b)
    (b / "model.bin").write_bytes(b"\x01" * 100)
    assert model_fingerprint(a) != model_fingerprint(b)


class NotATensor:
    pass


def test_checkpoints_load_weights_only(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.ones(2)}}, good)
    assert torch.equal(load_torch_checkpoint(good)["model"]["w"], torch.ones(2))
    evil = tmp_path / "evil.pt"
    torch.save({"model": NotATensor()}, evil)
    with pytest.raises(ValueError, match="weights_only=True"):
        load_torch_checkpoint(evil)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_torch_checkpoint(tmp_path / "missing.pt")


def test_fingerprint_of_a_hub_snapshot_is_its_commit(tmp_path):
    snapshot = tmp_path / "hub" / "models--microsoft--msclap" / "snapshots" / ("b" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "CLAP_weights_2023.pth").write_bytes(b"\x00")
    assert model_fingerprint(snapshot) == f"models:microsoft/msclap@{'b' * 40}"
    assert model_fingerprint(snapshot / "CLAP_weights_2023.pth") == (
        f"models:microsoft/msclap@{'b' * 40}/CLAP_weights_2023.pth"
    )

"""The package itself: a cheap, side-effect-free import, and the environment it runs in."""

import os
import subprocess
import sys

import pytest


def run_python(code):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSFUSE_")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_import_is_light_and_offline():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network touched at import')\n"
        "socket.socket.connect = refuse\n"
        "import zsfuse\n"
        "heavy = [m for m in ('torch', 'msclap', 'transformers', 'torchaudio', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print(zsfuse.__version__)\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == __import__("zsfuse").__version__


def test_lazy_public_names():
    import zsfuse

    for name in zsfuse.__all__:
        assert getattr(zsfuse, name) is not None, name
    with pytest.raises(AttributeError):
        zsfuse.no_such_name  # noqa: B018


def test_msclap_really_imports_in_the_full_environment():
    """CI's "full" environment sets ZSFUSE_CI_ENV=full: there msclap must work, not skip.

    This catches the torchaudio trap: with a CPU-only torch, torchaudio 2.11 fails to
    import while ``pip check`` is happy.
    """
    env_name = os.environ.get("ZSFUSE_CI_ENV")
    if env_name != "full":
        pytest.skip(f"not the 'full' CI environment (ZSFUSE_CI_ENV={env_name!r})")
    out = run_python("import torchaudio, msclap; from msclap import CLAP; print(torchaudio.__version__)")
    assert out.returncode == 0, f"msclap does not import in the full environment:\n{out.stderr}"


def test_latest_environment_has_current_numpy_and_transformers():
    env_name = os.environ.get("ZSFUSE_CI_ENV")
    if env_name != "latest":
        pytest.skip(f"not the 'latest' CI environment (ZSFUSE_CI_ENV={env_name!r})")
    import numpy
    import transformers

    assert int(numpy.__version__.split(".")[0]) >= 2
    assert int(transformers.__version__.split(".")[0]) >= 5
    with pytest.raises(ImportError):
        import msclap  # noqa: F401

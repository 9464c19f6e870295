"""Python 3.10 as promised: requires-python is the Python CI tests last, and TOML reads there (tomli)."""

import os
import re
import sys
from pathlib import Path

import pytest

from zsfuse.cli._args import parse_toml
from zsfuse.cli._evaluate import read_grid

ROOT = Path(__file__).resolve().parent.parent


def pyproject():
    return parse_toml((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_requires_python_is_the_lowest_python_ci_tests():
    lowest = re.search(r"^LOWEST_PYTHON=(\d+\.\d+)$", (ROOT / ".ci" / "run").read_text(), re.M).group(1)
    project = pyproject()["project"]
    assert project["requires-python"] == f">={lowest}"
    assert f"Programming Language :: Python :: {lowest}" in project["classifiers"]
    # the grid reader's TOML parser where the standard library has none (tomllib is 3.11+)
    assert "tomli>=1.1; python_version < '3.11'" in project["dependencies"]


def test_a_toml_grid_is_read(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text("zs__audio_repeats = [1, 2]\nclf__zs_weight = [0.0, 0.5]\n")
    assert read_grid(str(grid)) == {"zs__audio_repeats": [1, 2], "clf__zs_weight": [0.0, 0.5]}
    grid.write_text("x = [1,\n")
    with pytest.raises(ValueError, match="is not valid TOML"):
        read_grid(str(grid))


def test_toml_is_read_with_tomli_before_python_3_11(monkeypatch):
    pytest.importorskip("tomli", reason="tomli is installed where Python < 3.11 (a dependency there)")
    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on 3.10: no such module
    assert parse_toml("a = [1, 2]") == {"a": [1, 2]}


def test_the_lowest_python_environment_runs_on_it():
    """CI's "py310" environment sets ZSFUSE_CI_ENV=py310: it must really be that Python."""
    if os.environ.get("ZSFUSE_CI_ENV") != "py310":
        pytest.skip(f"not the 'py310' CI environment (ZSFUSE_CI_ENV={os.environ.get('ZSFUSE_CI_ENV')!r})")
    assert sys.version_info[:2] == (3, 10)
    import tomli  # noqa: F401  (the dependency that replaces tomllib there)

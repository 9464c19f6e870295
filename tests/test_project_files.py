"""The licence, citation and contributor files: present, well-formed, and true to the code."""

import re
import sys
from pathlib import Path

import pytest

import zsfuse
from zsfuse.evaluation._references import REFERENCES

ROOT = Path(__file__).resolve().parents[1]
PAPER = "Prompt Amplification and Zero-Shot Late Fusion in Audio-Language Models for Speech Emotion Recognition"


@pytest.fixture(scope="module")
def pyproject():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def citation():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_license_is_bsd_3_clause_as_pyproject_says(pyproject):
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the zsfuse developers" in text
    assert "Neither the name of the copyright holder nor the names of its" in text  # clause 3
    assert len(re.findall(r"^\d\. ", text, flags=re.MULTILINE)) == 3
    assert pyproject["license"] == {"text": "BSD-3-Clause"}
    assert not any(c.startswith("License ::") and "BSD" not in c for c in pyproject.get("classifiers", []))


def test_citation_cff_is_valid_and_current(citation, pyproject):
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license", "type", "references"):
        assert citation[key], key
    assert citation["version"] == zsfuse.__version__
    assert citation["license"] == pyproject["license"]["text"]
    assert citation["authors"] == [{"name": "The zsfuse developers"}]
    assert citation["authors"][0]["name"] == pyproject["authors"][0]["name"]
    assert PAPER in citation["message"]
    assert pyproject["urls"]["Documentation"].startswith(citation["repository-code"] + "/")
    for reference in citation["references"]:
        assert {"type", "title", "authors"} <= set(reference), reference.get("title")
        assert all("name" in a or {"given-names", "family-names"} <= set(a) for a in reference["authors"])


def test_citation_cff_and_the_report_cite_the_same_works(citation):
    titles = [reference["title"] for reference in citation["references"]]
    assert titles[0] == PAPER
    cited = " ".join(reference.citation for reference in REFERENCES)
    for title in titles:
        assert title in cited, title
    for key in ("ms-clap-2022", "ms-clap-2023", "laion-clap", "wavlm", "hubert", "wav2vec2", "emobox"):
        reference = next(r for r in REFERENCES if r.key == key)
        assert any(title in reference.citation for title in titles), key


def test_contributing_guide_is_short_and_names_what_exists():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 80
    paths = set(re.findall(r"`((?:\.ci|benchmarks|docs|tests|zsfuse)/[\w./-]+)`", text))
    paths |= {link.split("#")[0] for link in re.findall(r"\]\(([^)]+)\)", text)}
    assert {
        "tests/test_golden.py",
        "tests/test_structure.py",
        "zsfuse/datasets/_registry.py",
        "zsfuse/fusion/_modes.py",
        "LICENSE",
    } <= paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing
    assert 'pip install -e ".[msclap,test]"' in (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[msclap,test]"' in text

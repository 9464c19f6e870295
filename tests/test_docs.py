"""Docs that are executed and true.

1. Every Python block of ``README.md`` and ``docs/**/*.md`` runs, in order, one namespace per file,
   with Sybil (https://sybil.readthedocs.io) parsing the Markdown: fenced ``python`` blocks (a
   ``>>>`` block is a doctest and must print what it shows), hidden set-up blocks
   (``<!-- invisible-code-block: python -->``) and skip markers. A block that needs real weights or a
   corpus is preceded by ``<!-- skip: next "the reason" -->`` and reported as skipped with that reason.
   The runnable blocks build what they use with ``zsfuse.testing`` (tiny offline models, generated
   audio), as a reader would; each file runs in a fresh temporary working folder.
2. Every parameter of the three estimators, every keyword of ``make_zsfuse_pipeline`` and
   ``zsfuse.evaluation.evaluate`` and every option of every ``zsfuse`` sub-command is documented with
   its default, in the page that documents it (a table row whose first cell names it).
"""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path
from unittest import SkipTest

import pytest

sybil = pytest.importorskip("sybil", reason="the executable docs need sybil (the test extra)")
from sybil.evaluators.skip import Skipper  # noqa: E402
from sybil.example import NotEvaluated  # noqa: E402
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SYBIL = sybil.Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    patterns=["*.md"],
    path=str(REPO),
)

pytestmark = pytest.mark.usefixtures("fresh_store")


def _rel(path):
    return path.relative_to(REPO).as_posix()


class _DocumentRun:
    """A parsed document whose examples run in order, lazily, each at most once."""

    def __init__(self, path):
        self.document = SYBIL.parse(path)
        self.examples = list(self.document.examples())
        self.outcomes = []

    def code_examples(self):
        return [
            i
            for i, ex in enumerate(self.examples)
            if not isinstance(ex.region.evaluator, Skipper) and type(ex.region.evaluator).__name__ != "ClearNamespace"
        ]

    def run_to(self, k):
        while len(self.outcomes) <= k:
            example = self.examples[len(self.outcomes)]
            try:
                example.evaluate()
            except BaseException as exc:  # noqa: BLE001 -- recorded; re-raised by the test of that block
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self.outcomes.append(exc)
            else:
                self.outcomes.append(None)
        return self.outcomes[k]


_RUNS = {}


def _run_of(rel):
    if rel not in _RUNS:
        _RUNS[rel] = _DocumentRun(REPO / rel)
    return _RUNS[rel]


def _blocks():
    found = []
    for path in DOCS:
        rel = _rel(path)
        run = _DocumentRun(path)
        found += [pytest.param(rel, i, id=f"{rel}:{run.examples[i].line}") for i in run.code_examples()]
    return found


BLOCKS = _blocks()


def test_the_docs_have_python_blocks():
    files = {p.values[0] for p in BLOCKS}
    assert {"README.md", "docs/zero_shot.md", "docs/fm.md", "docs/fusion.md", "docs/persistence.md"} <= files


@pytest.fixture(scope="module")
def doc_folders(tmp_path_factory):
    return {}


@pytest.mark.parametrize(("doc", "index"), BLOCKS)
def test_doc_block_runs(doc, index, doc_folders, tmp_path_factory, monkeypatch):
    if doc not in doc_folders:
        doc_folders[doc] = tmp_path_factory.mktemp("doc-run")
        _RUNS.pop(doc, None)
    monkeypatch.chdir(doc_folders[doc])  # a block that writes a file writes it here
    outcome = _run_of(doc).run_to(index)
    if isinstance(outcome, SkipTest):
        pytest.skip(f"{doc}: {outcome}")
    if isinstance(outcome, NotEvaluated):
        pytest.skip(f"{doc}: not evaluated (skip condition)")
    if outcome is not None:
        raise outcome


def test_skipped_blocks_say_why():
    for path in DOCS:
        for match in re.finditer(r"<!--\s*skip:\s*(\w+)(.*?)-->", path.read_text(encoding="utf-8"), re.S):
            if match[1] in ("next", "start"):
                assert re.fullmatch(r'\s*"[^"]{10,}"\s*', match[2]), (
                    f"{_rel(path)}: a skip marker without a reason: {match[0]!r}"
                )


# -- every parameter and option documented with its default ---------------------------------------------------

HEADERS = ("Parameter", "Option", "Keyword", "Argument")


def _table_rows(page):
    """``{name: row text after the first cell}`` for the rows of the tables headed Parameter, Option, ...

    Each row's first cell names one or more parameters or options in backticks.
    """
    rows, header = {}, None
    for line in (REPO / page).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells[0]
            continue
        if header not in HEADERS:
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            rows.setdefault(name.split()[0], "|".join(cells[1:]))
    return rows


def _shown(value):
    """The ways a default may be written in a table cell."""
    if isinstance(value, str):
        return {f'`"{value}"`', f"`'{value}'`"}
    if isinstance(value, tuple):
        return {"`" + repr(value).replace("'", '"') + "`", f"`{value!r}`"}
    return {f"`{value!r}`"}


ESTIMATOR_PAGES = {
    "CLAPZeroShotTransformer": "docs/zero_shot.md",
    "FMEmbeddingTransformer": "docs/fm.md",
    "LateFusionClassifier": "docs/fusion.md",
    "EmoBoxHead": "docs/heads.md",
    "SuperbHead": "docs/heads.md",
}


@pytest.mark.parametrize("name", sorted(ESTIMATOR_PAGES))
def test_every_estimator_parameter_is_documented_with_its_default(name):
    import zsfuse

    page = ESTIMATOR_PAGES[name]
    rows = _table_rows(page)
    missing = []
    for param, default in getattr(zsfuse, name)().get_params(deep=False).items():
        row = rows.get(param)
        if row is None or not any(s in row.split("|")[0] for s in _shown(default)):
            missing.append(f"{param} (default {default!r})")
    assert not missing, f"{page} lacks a parameter row with its default for: {', '.join(missing)}"


@pytest.mark.parametrize(
    ("function", "page"),
    [
        ("zsfuse.make_zsfuse_pipeline", "docs/fusion.md"),
        ("zsfuse.evaluation.evaluate", "docs/commands/evaluate.md"),
        ("zsfuse.evaluation.amplification", "docs/commands/amplify.md"),
        ("zsfuse.evaluation.rebuild_reports", "docs/commands/report.md"),
    ],
)
def test_every_keyword_is_documented_with_its_default(function, page):
    import importlib

    module, _, attr = function.rpartition(".")
    signature = inspect.signature(getattr(importlib.import_module(module), attr))
    rows = _table_rows(page)
    missing = []
    for param in signature.parameters.values():
        key = f"**{param.name}" if param.kind is param.VAR_KEYWORD else param.name
        row = rows.get(key)
        if row is None:
            missing.append(key)
        elif param.default is not param.empty and not any(s in row.split("|")[0] for s in _shown(param.default)):
            missing.append(f"{key} (default {param.default!r})")
    assert not missing, f"{page} lacks a row with the default of {function}'s: {', '.join(missing)}"


def _subparsers():
    import argparse

    from zsfuse.cli._parser import build_parser  # the parser the command runs

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("command", ["evaluate", "amplify", "report", "zero-shot", "predict", "demo"])
def test_every_command_option_is_documented_with_its_default(command):
    page = f"docs/commands/{command}.md"
    rows = _table_rows(page)
    missing = []
    for action in _subparsers()[command]._actions:
        if action.dest == "help":
            continue
        names = [o for o in action.option_strings if o.startswith("--")] or [action.dest.upper()]
        row = next((rows[n] for n in names if n in rows), None)
        if row is None:
            missing.append(names[0])
            continue
        default_cell = row.split("|")[0]
        if action.required and action.nargs not in ("*", "?"):
            if "required" not in default_cell:
                missing.append(f"{names[0]} (required)")
        elif action.default not in (None, False, []) and f"`{action.default}`" not in default_cell:
            missing.append(f"{names[0]} (default {action.default!r})")
    assert not missing, f"{page} lacks an option row with its default for: {', '.join(missing)}"


def test_every_command_has_a_page_linked_from_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in _subparsers():
        assert f"docs/commands/{command}.md" in readme, command
        assert (REPO / "docs" / "commands" / f"{command}.md").is_file(), command


def test_the_version_option_is_documented():
    from zsfuse import __version__
    from zsfuse.cli._parser import build_parser  # the parser the command runs

    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["--version"])
    assert done.value.code == 0
    assert "zsfuse --version" in (REPO / "README.md").read_text(encoding="utf-8"), __version__

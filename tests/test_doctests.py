"""The numpydoc examples are executed: every ``>>>`` line in ``zsfuse`` runs and gives what it shows.

Examples that need real model weights or files are marked ``# doctest: +SKIP``
in the docstring (the few that load a hub model); everything else runs here,
offline, in both CI environments.
"""

import doctest
import importlib
import pkgutil

import pytest

import zsfuse

#: Modules whose import needs an optional extra that may be absent in an environment.
NEEDS = {"zsfuse.backends.ms_clap": "msclap"}


def modules_with_examples():
    names = ["zsfuse"] + [m.name for m in pkgutil.walk_packages(zsfuse.__path__, "zsfuse.")]
    found = []
    for name in sorted(n for n in names if n != "zsfuse.__main__"):  # __main__ runs the command line
        module = importlib.import_module(name)
        tests = [
            t
            for t in doctest.DocTestFinder().find(module)
            if t.examples and t.filename and t.filename.startswith(zsfuse.__path__[0])
        ]
        if tests:
            found.append(name)
    return found


MODULES = modules_with_examples()


def test_examples_are_found():
    assert {"zsfuse._numeric", "zsfuse.pipeline", "zsfuse.prompts"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module):
        if test.filename and test.filename.startswith(zsfuse.__path__[0]):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (output above)"

"""The package's import graph: no cycle (imports inside functions included), no private module
imported from another subpackage, no private name imported from another module, and ``__init__``
files that only re-export."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "zsfuse"


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def is_package(name):
    return MODULES[name].name == "__init__.py"


def resolve(importer, level, module):
    """The absolute name of ``from <level dots><module> import ...`` inside ``importer``."""
    if level == 0:
        return module
    base = importer.split(".") if is_package(importer) else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name):
    """Yield ``(target module, imported names)`` for every zsfuse import in the module, at any depth."""
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "zsfuse":
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node.level, node.module)
            if target.split(".")[0] != "zsfuse":
                continue
            names = [a.name for a in node.names]
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            for n in submodules:
                yield f"{target}.{n}", []
            rest = [n for n in names if n not in submodules]
            if rest or not submodules:
                yield target, rest


def graph():
    edges = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _ in imports_of(name):
            if target != name:
                assert target in MODULES, f"{name} imports {target}, which does not exist"
                edges[name].add(target)
    return edges


def find_cycle(edges):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def subpackage(name):
    """``zsfuse.fusion._modes`` -> ``zsfuse.fusion``; top-level modules are their own."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or is_package(name) else name


def test_the_graph_is_read():
    edges = graph()
    assert "zsfuse.zeroshot" in edges and "zsfuse._estimator" in edges["zsfuse.zeroshot"]


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_private_module_of_another_subpackage():
    """A subpackage's private modules are its own: others import what its ``__init__`` exports."""
    offenders = []
    for name in MODULES:
        for target, _ in imports_of(name):
            if subpackage(target) == subpackage(name) or subpackage(target) == target:
                continue
            if any(part.startswith("_") for part in target.split(".")[2:]):
                offenders.append(f"{name} imports module {target}")
    assert not offenders, "\n".join(offenders)


def test_no_private_name_from_another_module():
    """A name shared between modules is public (documented), also inside one subpackage."""
    offenders = [
        f"{name} imports {target}.{n}"
        for name in MODULES
        for target, names in imports_of(name)
        if target != name
        for n in names
        if n.startswith("_") and n != "__version__"
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_package(n) and n != "zsfuse"))
def test_init_files_only_reexport(name):
    tree = ast.parse(MODULES[name].read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not defined, f"{name}/__init__.py defines {defined}; move them to a module and re-export"

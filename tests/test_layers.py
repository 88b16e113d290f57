"""The import contract: every module sits in one layer, and no import (lazy ones included) points up a layer.

    foundation → data → graph → blocks → analysis → model → interop → training → grading → runners → widgets → api

A module may import its own layer and the layers before it, so the layers never form a cycle; and the imports a
module runs when it is loaded (not those inside functions) never form a cycle between modules either. The table
is the one in docs/architecture.md (tests/test_architecture.py checks that they agree). The few imports that
still point up are listed in ``KNOWN_UPWARD`` with the reason; the list may only shrink: an entry that no longer
happens fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import slamdunk_lab as sd

PACKAGE = Path(sd.__file__).parent

#: (layer, the top-level modules and packages of slamdunk_lab in it), lowest first.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "_files", "_html", "_version")),
    ("data", ("data", "tokenizers", "tokcache")),
    ("graph", ("graph",)),
    ("blocks", ("blocks",)),
    ("analysis", ("analysis", "templates")),
    ("model", ("model", "generation", "sampling", "io", "_resources")),
    ("interop", ("interop",)),
    ("training", ("training",)),
    ("grading", ("grading",)),
    ("runners", ("runners",)),
    ("widgets", ("widgets",)),
    ("api", ("session", "cli", "server", "api", "__init__", "__main__")),
]

#: Imports that still point up, each with why; remove the entry when its import goes.
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("slamdunk_lab.runners.base", "slamdunk_lab.widgets.monitor"):
        "Run.monitor() shows the monitor widget for a run (lazy); the runner seam keeps it to that one call",
    ("slamdunk_lab.widgets.runs", "slamdunk_lab.session"):
        "the runs browser asks the session which MLflow runs are still active (lazy)",
    ("slamdunk_lab.runners.commands", "slamdunk_lab.cli"):
        "the worker/serve/cluster subcommands live beside the runners but are command-line code (CommandError)",
    ("slamdunk_lab.runners.commands", "slamdunk_lab.server.api"):
        "`slamdunk-lab serve` starts the HTTP API from the runners' subcommands",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["slamdunk_lab", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__" and len(parts) > 2:
            parts = parts[:-1]
        elif parts == ["slamdunk_lab", "__init__"]:
            parts = ["slamdunk_lab"]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _import_nodes(tree: ast.Module, lazy: bool):
    """Import statements of a module: all of them, or (``lazy=False``) those run when it is loaded: not inside
    functions, nor under ``if TYPE_CHECKING:``."""
    if lazy:
        yield from (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        return
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo += node.orelse
        else:
            todo += list(ast.iter_child_nodes(node))


def imports_of(name: str, lazy: bool = True) -> set[str]:
    """The slamdunk_lab modules ``name`` imports, absolute: anywhere in its file (inside functions too), or with
    ``lazy=False`` only those it imports when it is loaded."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8")), lazy):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            submodules = {f"{module}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules
            if len(submodules) < len(node.names):  # names defined in the module itself
                found.add(module)
    return {m for m in found if m in MODULES and m != name}


def layer_of(name: str) -> int:
    top = name.split(".")[1] if name != "slamdunk_lab" else "__init__"
    for rank, (_, members) in enumerate(LAYERS):
        if top in members:
            return rank
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS here and to docs/architecture.md")


def test_every_module_belongs_to_a_layer():
    for name in MODULES:
        layer_of(name)


def test_no_import_points_up_a_layer():
    upward = {(m, d) for m in MODULES for d in imports_of(m) if layer_of(d) > layer_of(m)}
    unexplained = sorted(upward - KNOWN_UPWARD.keys())
    assert not unexplained, "imports that point up a layer:\n" + "\n".join(
        f"  {m} imports {d} ({LAYERS[layer_of(m)][0]} → {LAYERS[layer_of(d)][0]})" for m, d in unexplained)
    gone = sorted(KNOWN_UPWARD.keys() - upward)
    assert not gone, f"remove these from KNOWN_UPWARD, they no longer happen: {gone}"


def test_no_import_cycle_when_modules_load():
    """Layers cannot form a cycle (no import points up); within a layer, what a module imports as it loads
    never leads back to it (an import inside a function, run later, may)."""
    graph = {m: imports_of(m, lazy=False) - {d for (a, d) in KNOWN_UPWARD if a == m} for m in MODULES}
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root, targets in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(targets)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def test_the_scan_sees_lazy_and_relative_imports():
    """The checks above cannot pass by reading nothing."""
    assert "slamdunk_lab.interop.codegen" in imports_of("slamdunk_lab.widgets.canvas")  # inside a function
    assert "slamdunk_lab.interop.codegen" not in imports_of("slamdunk_lab.widgets.canvas", lazy=False)
    assert "slamdunk_lab.widgets._base" in imports_of("slamdunk_lab.widgets.canvas", lazy=False)
    assert "slamdunk_lab.blocks.catalog" in imports_of("slamdunk_lab.analysis.validate")  # from ..blocks.catalog
    assert "slamdunk_lab.graph.schema" in imports_of("slamdunk_lab.interop.seed")
    assert layer_of("slamdunk_lab.graph.schema") < layer_of("slamdunk_lab.blocks.catalog")
    assert sorted(map(tuple, _strongly_connected({"a": {"b"}, "b": {"a"}, "c": set()}))) == [("a", "b"), ("c",)]


@pytest.mark.parametrize("pure", ["slamdunk_lab.graph", "slamdunk_lab.blocks.catalog", "slamdunk_lab.analysis",
                                  "slamdunk_lab.templates", "slamdunk_lab.interop.seed"])
def test_the_pure_layers_load_without_torch(pure):
    """Graph work (designing, checking, importing a seed) needs no torch: a fresh interpreter proves it."""
    import subprocess
    import sys

    code = (f"import sys, importlib; importlib.import_module({pure!r}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr

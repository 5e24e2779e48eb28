"""The package's house rules, read from the code: rooms follow the data flow, and a room imports only
rooms before it in :data:`ROOMS` (no upward import), with no import cycle between modules; no function
is longer than MAX_FUNCTION_LINES; each subpackage says in its docstring what it holds.

Imports are read with ``ast`` from every module, those inside functions included (a lazy import is
still a dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "facegan"
# The rooms in data-flow order; a module may import its own room and the rooms before it.
ROOMS = ("errors", "fileio", "options", "data", "viz", "models", "latent", "evaluation", "config", "interop",
         "training", "editing", "app", "notebook", "cli", "__init__", "__main__")
MAX_FUNCTION_LINES = 80


def modules() -> dict[str, Path]:
    """'facegan.data.images' -> its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def room(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(module: str, path: Path, top_level_only: bool = False) -> set[str]:
    """The facegan modules ``module`` imports (``from facegan.x import y`` counts y when it is a module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    known, found = modules(), set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` imports run no code
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("facegan")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facegan"):
            assert node.level == 0, f"{module}: relative import (the package imports absolutely)"
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(known)
            found |= subs or {node.module}
    return {m for m in found if m in known and m != module}


def test_every_module_is_in_a_room():
    assert {room(m) for m in modules()} <= set(ROOMS), sorted({room(m) for m in modules()} - set(ROOMS))


def test_no_room_imports_a_room_after_it():
    upward = [f"{m} ({room(m)}) imports {dep} ({room(dep)})" for m, path in modules().items()
              for dep in sorted(imports(m, path)) if ROOMS.index(room(dep)) > ROOMS.index(room(m))]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles_between_modules():
    graph = {m: imports(m, path, top_level_only=True) for m, path in modules().items()}
    # a module importing its own package's __init__ (which runs first anyway) is no cycle of ours
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, trail: list[str]) -> None:
        if state.get(m) == 2:
            return
        assert state.get(m) != 1, "import cycle: " + " -> ".join(trail[trail.index(m):] + [m])
        state[m] = 1
        for dep in sorted(graph[m]):
            visit(dep, trail + [m])
        state[m] = 2

    for m in sorted(graph):
        visit(m, [])


def test_no_function_is_longer_than_the_limit():
    long = []
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{m}.{node.name}: {lines} lines")
    assert not long, "\n".join(long)


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_each_room_says_what_it_holds(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc and len(doc) > 80, f"facegan/{package}/__init__.py needs a docstring saying what it holds"


def test_the_checks_catch_what_they_name(tmp_path):
    """The import reader sees a lazy import and a module imported by name (so the tests above can fail)."""
    path = tmp_path / "m.py"
    path.write_text("from facegan.data import images\n\ndef f():\n    from facegan.cli.common import Parser\n")
    assert imports("facegan.x", path) == {"facegan.data.images", "facegan.cli.common"}
    assert imports("facegan.x", path, top_level_only=True) == {"facegan.data.images"}

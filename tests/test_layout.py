"""The package's house rules, read from the code: rooms follow the data flow, and a room imports only
rooms before it in :data:`ROOMS` (no upward import), with no import cycle between modules; no function
is longer than MAX_FUNCTION_LINES; each subpackage says in its docstring what it holds.

Imports are read with ``ast`` from every module, all of them: at the top, inside functions (a lazy import
is still a dependency, only a later one) and under ``if TYPE_CHECKING:``. Both the room check and the
cycle check see them.
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


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """'facegan.data.images' -> its file, for every module of the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def room(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports anywhere in its file, inside functions too
    (``from facegan.x import y`` counts y when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("facegan")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facegan"):
            assert node.level == 0, f"{module}: relative import (the package imports absolutely)"
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            found |= subs or {node.module}
    return {m for m in found if m in known and m != module}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports."""
    found = modules(package)
    return {m: imports(m, path, set(found)) for m, path in found.items()}


def import_cycle(package: Path = PACKAGE) -> list[str]:
    """One import cycle between the package's modules, as [a, b, ..., a], or [] when there is none. A module
    importing its own package's ``__init__`` (which runs first anyway) is no cycle of ours."""
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in import_graph(package).items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, trail: list[str]) -> list[str]:
        if state.get(m) == 1:
            return trail[trail.index(m):] + [m]
        if state.get(m) == 2:
            return []
        state[m] = 1
        for dep in sorted(graph[m]):
            cycle = visit(dep, trail + [m])
            if cycle:
                return cycle
        state[m] = 2
        return []

    for m in sorted(graph):
        cycle = visit(m, [])
        if cycle:
            return cycle
    return []


def test_every_module_is_in_a_room():
    assert {room(m) for m in modules()} <= set(ROOMS), sorted({room(m) for m in modules()} - set(ROOMS))


def test_no_room_imports_a_room_after_it():
    upward = [f"{m} ({room(m)}) imports {dep} ({room(dep)})" for m, deps in import_graph().items()
              for dep in sorted(deps) if ROOMS.index(room(dep)) > ROOMS.index(room(m))]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles_between_modules():
    cycle = import_cycle()
    assert not cycle, "import cycle: " + " -> ".join(cycle)


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
    known = {"facegan.data", "facegan.data.images", "facegan.cli", "facegan.cli.common"}
    assert imports("facegan.x", path, known) == {"facegan.data.images", "facegan.cli.common"}


def test_a_lazy_import_cycle_is_caught(tmp_path):
    """A cycle closed only by an import inside a function (as ``build_synthesis`` once closed
    stylegan2.networks -> adain -> networks) fails the cycle check."""
    package = tmp_path / "facegan"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "__init__.py").write_text("")
    (package / "models" / "adain.py").write_text("from facegan.models.networks import SynthesisNetwork\n")
    networks = package / "models" / "networks.py"
    networks.write_text("class SynthesisNetwork:\n    pass\n")
    assert import_cycle(package) == []
    networks.write_text("class SynthesisNetwork:\n    pass\n\n\ndef build_synthesis():\n"
                        "    from facegan.models.adain import AdaINSynthesisNetwork\n"
                        "    return AdaINSynthesisNetwork()\n")
    assert import_cycle(package) == ["facegan.models.adain", "facegan.models.networks", "facegan.models.adain"]

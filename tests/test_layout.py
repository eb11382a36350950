"""The package's shape: no import circle inside loadtests/, and locust only inside swarm/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import loadtests

PACKAGE = Path(loadtests.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every loadtests module that ``path`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from loadtests.x import y` may name a module y or an attribute of x.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the loadtests modules it imports (the package roots excluded)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {
        name: {m for m in _imports(path, modules) if m != name and not name.startswith(m + ".")}
        for name, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, stack.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_inside_loadtests() -> None:
    assert find_cycle(import_graph()) is None


def test_only_swarm_inside_and_the_locustfile_import_locust() -> None:
    importers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "locust" or n.startswith(("locust.", "gevent")) for n in names):
                importers.append(_module_name(path))
    allowed = {"loadtests.locustfile"}
    assert {
        m for m in importers if m not in allowed and not m.startswith("loadtests.swarm.inside")
    } == set()


def test_the_public_face_names_what_it_promises_and_loads_lazily() -> None:
    """Every public name resolves, and ``import loadtests`` loads none of them."""
    script = (
        "import sys, loadtests\n"
        "print(sorted(m for m in sys.modules if m.startswith('loadtests.')))\n"
        "for name in loadtests.__all__: getattr(loadtests, name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert set(loadtests.__all__) == {*loadtests._PUBLIC, "__version__"}

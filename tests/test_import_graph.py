"""The project's import graph (every non-test module, read with ast, nothing imported): no
module imports itself back through others, and no app imports one on a higher floor.

An edge is any import a module makes, at its top or inside a function (a deferred import
still ties the two modules: one cannot be understood, or moved, without the other), except
imports under ``if TYPE_CHECKING:``, which never run. Circles are found as the strongly
connected components of the graph (Tarjan). The floors are DESIGN.md's table ("Apps live on
floors and import only from lower floors (and wuyi/lib)"); wuyi/lib imports no app.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"tests", "migrations", ".venv", "node_modules", "static", "locale", "templates"}

# DESIGN.md, "Layout": an app may import only apps on a lower floor (and wuyi/lib).
FLOORS = {
    "accounts": 0,
    "compounds": 1,
    "messaging": 2,
    "residents": 3,
    "volunteers": 4,
    "supplies": 5,
    "medical": 5,
    "sanitation": 5,
    "screening": 5,
    "care": 5,
    "campaign": 6,
    "dashboards": 7,
}

# The circles known today, each through a deferred import in services.py of the tasks.py whose
# tasks call services.py. The test fails when an exempted circle is gone, so an exemption
# cannot outlive it: delete its entry then.
KNOWN_CIRCLES: set[frozenset[str]] = set()  # none: a new circle is broken, not listed


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts) or rel.parts[0].startswith("."):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped |= {id(n) for n in ast.walk(inner)}
    return skipped


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports (an import of a package's name is an edge to the
    module when `from package import module`, else to the package's __init__)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = [f"{module}.{alias.name}" for alias in node.names] + [module]
        else:
            continue
        for candidate in candidates:
            # the longest prefix that is a project module
            parts = candidate.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                targets.add(".".join(parts))
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative): the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_tarjan_finds_a_circle_and_only_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    circles = [frozenset(c) for c in strongly_connected(import_graph())]
    unexpected = [sorted(c) for c in circles if c not in KNOWN_CIRCLES]
    assert not unexpected, f"import circles: {unexpected}"
    gone = [sorted(c) for c in KNOWN_CIRCLES if c not in circles]
    assert not gone, f"the exempted circle {gone} is gone: remove it from KNOWN_CIRCLES"


def test_no_app_imports_one_above_it():
    apps = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
    assert not [a for a in apps if a not in FLOORS], "an app with no floor: add it to DESIGN.md"
    against = []
    for module, targets in import_graph().items():
        top = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if module.startswith("wuyi.lib") and other in FLOORS:
                against.append(f"{module} (the ground floor) imports {target}")
            elif (
                top in FLOORS
                and other in FLOORS
                and other != top
                and (FLOORS[other] >= FLOORS[top])
            ):
                against.append(f"{module} imports {target}")
    assert not against, "\n".join(sorted(against))


if __name__ == "__main__":  # python tests/test_import_graph.py: print the circles
    for circle in strongly_connected(import_graph()):
        print(sorted(circle), file=sys.stdout)

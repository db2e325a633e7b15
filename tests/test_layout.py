"""The layout's promises, kept by a test: no import circle, indexer/ never names the web app, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

from support import ROOT

#: A module past this many lines does more than one thing.
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*ROOT.glob("indexer/**/*.py"), *ROOT.glob("webapp/**/*.py")]):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_imports_itself_round_a_circle() -> None:
    assert _circles(_imports(_modules())) == []


def test_no_package_depends_on_itself_through_another() -> None:
    graph = _imports(_modules())
    package = {name: ".".join(name.split(".")[:2]) for name in graph}
    packages: dict[str, set[str]] = {name: set() for name in set(package.values())}
    for name, targets in graph.items():
        packages[package[name]] |= {package[target] for target in targets if package[target] != package[name]}
    assert _circles(packages) == []


def test_nothing_in_the_indexer_names_the_web_app() -> None:
    naming = [str(path.relative_to(ROOT)) for name, path in _modules().items()
              if name.startswith("indexer") and "webapp" in path.read_text(encoding="utf-8")]
    assert naming == []


def test_no_module_is_over_the_limit() -> None:
    long = {str(path.relative_to(ROOT)): lines for path in _modules().values()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

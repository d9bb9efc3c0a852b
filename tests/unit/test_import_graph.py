"""The package graph of tms_console goes one way (DESIGN.md "Layout"): no cycle, domain at the bottom,
and nothing of the product imports the sandbox, the dev tooling or the tests.

Every import counts, at any depth (inside functions too). A node is the first component under
`tms_console` (a package such as `services`, or a top-level module such as `settings`).
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tms_console"
FORBIDDEN = ("sandbox", "devtools", "tests")

Edges = dict[str, dict[str, set[str]]]  # node -> imported node -> files that import it


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: resolve against the importing module's package
        package = module.split(".")
        package = package if is_package else package[:-1]
        base = ".".join(package[: len(package) - node.level + 1])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def _node(dotted: str) -> str | None:
    """`tms_console.services.install` -> "services"; anything outside ours -> its top-level name."""
    parts = dotted.split(".")
    if parts[0] != "tms_console":
        return parts[0] if parts[0] in FORBIDDEN else None
    return parts[1] if len(parts) > 1 else "tms_console"


def import_edges() -> Edges:
    edges: Edges = defaultdict(lambda: defaultdict(set))
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = _node(module)
        assert source is not None
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for dotted in _imported(node, module, path.name == "__init__.py"):
                    target = _node(dotted)
                    if target is not None and target != source:
                        edges[source][target].add(str(path.relative_to(PACKAGE.parent)))
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_graph_has_no_cycle() -> None:
    edges = import_edges()
    cycle = find_cycle({source: set(targets) for source, targets in edges.items()})
    where = [sorted(edges[a][b]) for a, b in itertools.pairwise(cycle)] if cycle else []
    assert cycle is None, f"import cycle {' -> '.join(cycle or [])}; imported in {where}"


def test_domain_imports_nothing_of_ours() -> None:
    edges = import_edges()
    assert not edges.get("domain"), f"domain imports {dict(edges['domain'])}"


def test_the_product_never_imports_the_sandbox_devtools_or_tests() -> None:
    graph = import_edges()
    found = {
        (source, target) for source, targets in graph.items() for target in targets if target in FORBIDDEN
    }
    assert not found, f"tms_console imports dev-only code: {sorted(found)}"


def test_no_module_is_loaded_by_name() -> None:
    """Provider hooks are objects the registry maps, never modules imported from a provider's key."""
    loaders = {
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Import) and any(a.name == "importlib" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importlib"))
        or (isinstance(node, ast.Name) and node.id == "__import__")
    }
    assert not loaders, f"dynamic imports in {sorted(loaders)}"


def test_the_finder_sees_imports_inside_functions_and_relative_ones() -> None:
    """The checks above are only as good as the import finder: it must not miss the hidden kinds."""
    tree = ast.parse("def f():\n    from ..oauth import http\n    import tms_console.settings\n")
    module = "tms_console.providers.config"
    found = [
        dotted
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for dotted in _imported(node, module, is_package=False)
    ]
    assert {_node(d) for d in found} == {"oauth", "settings"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None

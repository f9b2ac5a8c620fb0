"""seqgan's modules import each other without a cycle (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import seqgan

ROOT = Path(seqgan.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its ``__init__.py``)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["seqgan", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The ``seqgan.*`` names imported anywhere in ``tree`` (module level, functions, methods), except
    under ``if TYPE_CHECKING:``; ``from a import b`` yields ``a.b`` (resolved to a module later)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {n for n in names if n == "seqgan" or n.startswith("seqgan.")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the seqgan modules it imports. Importing ``a.b.c`` runs ``a.b`` first, so the edge goes to
    every package on the way too, except the importing module's own parent packages (already running)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        own_parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        edges: set[str] = set()
        for target in _imported(tree, name, path.name == "__init__.py"):
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:  # `from pkg import attr` names the package
                parts.pop()
            for i in range(1, len(parts) + 1):
                dep = ".".join(parts[:i])
                if dep != name and dep not in own_parents:
                    edges.add(dep)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "seqgan.config" in graph["seqgan.tasks.base"]  # module level
    assert "seqgan.data.frames" in graph["seqgan.tasks.next_frame.task"]  # inside NextFrameTask methods
    assert "seqgan.tasks" in graph["seqgan.train.trainer"]  # the package of seqgan.tasks.base
    assert "seqgan.tasks" not in graph["seqgan.tasks.base"]  # its own package is already importing


def test_find_cycle_reports_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_config_imports_no_task():
    assert not {d for d in import_graph()["seqgan.config"] if d.startswith("seqgan.tasks")}

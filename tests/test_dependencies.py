"""The declared dependencies are the imported ones.

Walks the imports of the runtime code (``seqgan/`` and ``recipes/utils/*.py``): every third-party module
imported at module level is a ``[project.dependencies]`` entry; one imported inside a function (lazily)
is a dependency or belongs to an extra, and one imported through ``seqgan._optional.require(module,
extra)`` belongs to that extra. Every declared runtime dependency and every non-test extra is imported
somewhere, so nothing stays declared after its last use.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
RUNTIME = [*sorted((REPO / "seqgan").rglob("*.py")), *sorted((REPO / "recipes" / "utils").glob("*.py"))]
FIRST_PARTY = {"seqgan"} | {p.stem for p in (REPO / "recipes" / "utils").glob("*.py")}

# import name -> distribution, where they differ
DISTRIBUTION = {
    "yaml": "PyYAML",
    "sklearn": "scikit-learn",
    "ale_py": "ale-py",
    "PIL": "Pillow",
    "pygame": "pygame-ce",
}
# modules of one distribution that need another one installed
NEEDS = {"torch.utils.tensorboard": "tensorboard"}
# distributions whose modules import packages they do not declare (so seqgan's extra declares them)
UNDECLARED_BY_UPSTREAM = {"speechmos": ("librosa", "requests")}


@dataclass(frozen=True)
class Import:
    module: str  # the full dotted name
    file: str
    line: int
    lazy: bool  # inside a function
    extra: str | None = None  # imported through require(module, extra)

    @property
    def distribution(self) -> str:
        for prefix, dist in NEEDS.items():
            if self.module == prefix or self.module.startswith(prefix + "."):
                return dist
        top = self.module.split(".")[0]
        return DISTRIBUTION.get(top, top)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, spec
    return _normalise(match.group(1))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, root: Path = REPO) -> list[Import]:
    """The absolute imports of one file (``if TYPE_CHECKING:`` blocks left out)."""
    rel = str(path.relative_to(root))
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, lazy)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, rel, node.lineno, lazy) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Import(node.module, rel, node.lineno, lazy))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "require"
            and len(node.args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
        ):
            found.append(Import(node.args[0].value, rel, node.lineno, True, extra=node.args[1].value))
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel), False)
    return found


def _third_party(imports: list[Import]) -> list[Import]:
    stdlib = set(sys.stdlib_module_names)
    return [i for i in imports if i.module.split(".")[0] not in stdlib | FIRST_PARTY]


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def runtime_imports() -> list[Import]:
    return _third_party([i for path in RUNTIME for i in _imports(path)])


def test_the_walk_sees_module_level_lazy_and_required_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import numpy as np\n"
        "if TYPE_CHECKING:\n"
        "    import pandas\n"
        "def f():\n"
        "    from scipy.signal import stft\n"
        "    ale = require('ale_py', 'frames')\n"
        "    from torch.utils.tensorboard import SummaryWriter\n"
    )
    found = _third_party(_imports(source, root=tmp_path))
    assert [(i.module, i.lazy, i.extra, i.distribution) for i in found] == [
        ("numpy", False, None, "numpy"),
        ("scipy.signal", True, None, "scipy"),
        ("ale_py", True, "frames", "ale-py"),
        ("torch.utils.tensorboard", True, None, "tensorboard"),
    ]


def test_every_import_is_declared(project: dict, runtime_imports: list[Import]) -> None:
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {
        name: {_requirement_name(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()
    }
    optional = set().union(*(reqs for name, reqs in extras.items() if name != "test"))
    problems = []
    for i in runtime_imports:
        dist = _normalise(i.distribution)
        where = f"{i.file}:{i.line} imports {i.module}"
        if i.extra is not None:
            if i.extra not in extras:
                problems.append(f"{where} through require(..., {i.extra!r}), an extra pyproject.toml lacks")
            elif dist not in extras[i.extra]:
                problems.append(f"{where}: {i.distribution} is not in the extra [{i.extra}]")
        elif not i.lazy and dist not in core:
            problems.append(f"{where} at module level: {i.distribution} is not in [project.dependencies]")
        elif i.lazy and dist not in core | optional:
            problems.append(f"{where}: {i.distribution} is neither a dependency nor in an extra")
    assert not problems, "\n".join(problems)


def test_every_declared_dependency_is_used(project: dict, runtime_imports: list[Import]) -> None:
    used = {_normalise(i.distribution) for i in runtime_imports}
    used |= {_normalise(d) for dist, deps in UNDECLARED_BY_UPSTREAM.items() if dist in used for d in deps}
    declared = list(project["dependencies"])
    for name, reqs in project["optional-dependencies"].items():
        if name != "test":  # test tools are run, not imported by the runtime code
            declared += reqs
    unused = sorted(r for r in declared if _requirement_name(r) not in used)
    assert not unused, f"declared but imported by no runtime code: {unused}"


def test_optional_packages_are_never_imported_at_module_level(project: dict, runtime_imports) -> None:
    core = {_requirement_name(r) for r in project["dependencies"]}
    for i in runtime_imports:
        if _normalise(i.distribution) not in core:
            assert i.lazy, f"{i.file}:{i.line}: {i.module} is optional; import it where it is used"


def test_the_name_map_agrees_with_the_installed_distributions(runtime_imports: list[Import]) -> None:
    from importlib.metadata import packages_distributions

    installed = packages_distributions()
    for i in runtime_imports:
        if i.module in NEEDS:
            continue
        dists = installed.get(i.module.split(".")[0])
        if dists:  # what is not installed here cannot be checked
            assert _normalise(i.distribution) in {_normalise(d) for d in dists}, (i.module, dists)


def test_tests_import_only_declared_packages(project: dict) -> None:
    local = FIRST_PARTY | {p.stem for p in (REPO / "tests").rglob("*.py")}
    stdlib = set(sys.stdlib_module_names)
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for reqs in project["optional-dependencies"].values():
        declared |= {_requirement_name(r) for r in reqs}
    files = sorted((REPO / "tests").rglob("*.py"))
    missing = sorted(
        f"{i.file}:{i.line} imports {i.module}"
        for path in files
        for i in _imports(path)
        if i.extra is None  # require() calls in tests name fakes
        and i.module.split(".")[0] not in stdlib | local
        and _normalise(i.distribution) not in declared
    )
    assert not missing, "\n".join(missing)

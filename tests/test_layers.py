"""The two wings stay apart: the server loads nothing of Jupyter, and the Jupyter side never imports the server (it
only starts it as a process), so the same notebooks work against a real RethinkDB."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rethink_widgets"
SERVER = PACKAGE / "server"
JUPYTER = PACKAGE / "jupyter"
JUPYTER_MODULES = ("IPython", "ipykernel", "ipywidgets", "anywidget", "traitlets", "jupyter_client", "tornado")


def imports(path: Path) -> Iterator[tuple[str, list[str], bool]]:
    """Each import in a file: the module it names (relative imports resolved against the file's package), the names
    it takes from it (none for `import m`), and whether it sits under `if TYPE_CHECKING:` (never run)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            typing_only.update(inner for statement in node.body for inner in ast.walk(statement))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node in typing_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base, [alias.name for alias in node.names], node in typing_only


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules a file imports, and of what `from` imports take from them."""
    names: set[str] = set()
    for module, taken, _typing_only in imports(path):
        names.add(module)
        names.update(f"{module}.{name}" for name in taken)
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, wherever in the file (but under `if
    TYPE_CHECKING:`). `from pkg import name` imports the module `pkg.name` when there is one, else `pkg`."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for module, taken, typing_only in imports(path):
            if not typing_only:
                targets.update(f"{module}.{item}" if f"{module}.{item}" in paths else module for item in taken)
                if not taken:
                    targets.add(module)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as the modules along it (first one repeated at the end), or [] when it has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return []

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return []


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "rethink_widgets.server.storage" in graph["rethink_widgets.server.server"]
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def registers_terms(path: Path) -> bool:
    """Whether a module is a term family: one that calls `terms.operation` to register its terms."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "operation"
        for node in ast.walk(tree)
    )


def test_term_families_never_import_one_another() -> None:
    families = {module_name(path) for path in (SERVER / "evaluation").rglob("*.py") if registers_terms(path)}
    assert "rethink_widgets.server.evaluation.arithmetic" in families
    graph = import_graph()
    for family in sorted(families):
        assert not graph[family] & families, f"{family} imports {sorted(graph[family] & families)}"


def test_the_server_loads_nothing_of_jupyter() -> None:
    code = (
        "import sys, rethink_widgets.server.cli, rethink_widgets.server.server\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(JUPYTER_MODULES)!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_server_imports_nothing_of_the_jupyter_side() -> None:
    for path in SERVER.rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(JUPYTER_MODULES), f"{path.relative_to(PACKAGE)} imports {name}"
            if name.startswith("rethink_widgets."):
                assert name.startswith("rethink_widgets.server"), f"{path.relative_to(PACKAGE)} imports {name}"


def test_every_module_lives_in_one_wing() -> None:
    outside = [path.name for path in PACKAGE.glob("*.py")]
    assert outside == ["__init__.py"]
    assert sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__") == [
        "jupyter",
        "server",
    ]


def test_the_jupyter_side_never_imports_the_server() -> None:
    jupyter_side = [*JUPYTER.rglob("*.py"), PACKAGE / "__init__.py"]
    assert len(jupyter_side) > 5
    for path in jupyter_side:
        for name in imported_modules(path):
            assert not name.startswith("rethink_widgets.server"), f"{path.relative_to(PACKAGE)} imports {name}"

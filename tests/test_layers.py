"""The two wings stay apart: the server loads nothing of Jupyter, and the Jupyter side never imports the server (it
only starts it as a process), so the same notebooks work against a real RethinkDB."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rethink_widgets"
SERVER = PACKAGE / "server"
JUPYTER = PACKAGE / "jupyter"
JUPYTER_MODULES = ("IPython", "ipykernel", "ipywidgets", "anywidget", "traitlets", "jupyter_client", "tornado")


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


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

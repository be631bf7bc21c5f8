"""Driving JupyterLab in Chromium: notebooks written to its root, opened, and run cell by cell."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
from playwright.sync_api import Page

READY_TIMEOUT = 60
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class Lab:
    """A running Jupyter server (JupyterLab or Notebook 7) and where its notebooks open."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    tree: str = "/lab/tree/"

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the Lab's root; returns its path there."""
        book = nbformat.v4.new_notebook()
        book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(book, self.root / name)
        return name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_FIND_PANEL = """(path) => Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === path)"""


def open_notebook(page: Page, lab: Lab, path: str) -> None:
    """Open a notebook and wait for its kernel to be idle."""
    page.goto(f"{lab.url}{lab.tree}{path}?token={lab.token}&reset")
    page.wait_for_function(
        f"""(path) => {{ const w = window.jupyterapp && ({_FIND_PANEL})(path);
            const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
            return !!k && k.status === 'idle' && w.content.widgets.length > 0; }}""",
        arg=path,
        timeout=READY_TIMEOUT * 1000,
    )


def run_all(page: Page, path: str) -> None:
    """Run every cell (the command is not awaited: a lost `idle` would leave it pending forever)."""
    page.evaluate(
        f"""(path) => {{ const w = ({_FIND_PANEL})(path);
            window.jupyterapp.shell.activateById(w.id);
            window.jupyterapp.commands.execute('notebook:run-all-cells'); }}""",
        path,
    )


def save(page: Page, path: str) -> None:
    page.evaluate(
        f"""async (path) => {{ const w = ({_FIND_PANEL})(path);
            await w.context.save(); }}""",
        path,
    )


def screenshot(page: Page, name: str) -> None:
    """Save what the page shows, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

"""Jupyter servers (JupyterLab, Notebook 7) and Chromium, as the browser tests and benchmarks drive them."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Page
from servers import free_port

READY_TIMEOUT = 60
# What a view says once the kernel that made its widget has restarted (js/shared.js).
RESTARTED = "Not live: the kernel restarted, so this widget is gone. Re-run this cell."
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class Lab:
    """A running Jupyter server (JupyterLab or Notebook 7) and where its notebooks open."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    tree: str = "/lab/tree/"
    data_dir: Path | None = None  # where the server keeps its notebook signatures

    def trust(self, path: str) -> None:
        """Sign a notebook as its author would (`jupyter trust`), so its saved widgets render."""
        from nbformat.sign import NotebookNotary

        book = nbformat.read(self.root / path, as_version=4)
        NotebookNotary(data_dir=str(self.data_dir)).sign(book)

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the Lab's root; returns its path there."""
        book = nbformat.v4.new_notebook()
        book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(book, self.root / name)
        return name


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


def run_notebook(page: Page, lab: Lab, cells: list[str]) -> str:
    """A new notebook of `%load_ext rethink_widgets` then `cells`, opened in `page` and run; returns its path."""
    path = lab.notebook(f"{secrets.token_hex(4)}.ipynb", ["%load_ext rethink_widgets", *cells])
    open_notebook(page, lab, path)
    run_all(page, path)
    return path


def restart_kernel(page: Page, path: str) -> None:
    """Kernel ▸ Restart, without its confirmation dialog."""
    page.evaluate(f"async (path) => {{ await ({_FIND_PANEL})(path).sessionContext.session.kernel.restart(); }}", path)


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


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ChromiumMissing(Exception):
    """Debian's chromium is not installed."""


def chromium_path() -> str:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ChromiumMissing(
        "Chromium is not installed, so the browser tests cannot run. Install it with "
        "`apt-get install -y chromium` (as root), or run `make test`, which does."
    )


def _quiet_settings(config: Path) -> None:
    """No news or update toasts covering the page."""
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


# Flags per front end: where notebooks open, and how to expose the app and keep it quiet.
_FRONT_ENDS = {
    "lab": ("/lab/tree/", [
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]),
    # Notebook 7 does not start its app with the news and update flags; the settings file keeps it quiet.
    "notebook": ("/notebooks/", ["--JupyterNotebookApp.expose_app_in_browser=True"]),
}  # fmt: skip


@contextlib.contextmanager
def serve(app: str, server: Any, base: Path, environment: dict[str, str] | None = None) -> Iterator[Lab]:
    """Run `jupyter lab` or `jupyter notebook` on a free port with a token and directories of its own; its kernels
    use `server`, or, when it is None, the embedded server (`environment` adds to the kernels' environment)."""
    names = ("root", "config", "runtime", "workspaces", "data")
    root, config, runtime, workspaces, data = (base / name for name in names)
    for directory in (root, runtime, workspaces, data):
        directory.mkdir()
    _quiet_settings(config)
    port, token = free_port(), secrets.token_hex(12)
    tree, flags = _FRONT_ENDS[app]
    command = [
        sys.executable, "-m", "jupyter", app, "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *flags,
    ]  # fmt: skip
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("RETHINKDB_")},
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        **({"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port)} if server is not None else {}),
        **(environment or {}),
    }
    log_path = base / f"{app}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, token, process, log_path)
            yield Lab(url, token, root, process, tree, data)
        finally:
            stop(process, 20)


def stop(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Ask a server process to end; kill it if it has not within `seconds`."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_until_up(url: str, token: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Jupyter did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)

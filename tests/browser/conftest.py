"""Real JupyterLab and real Chromium (driven by Playwright) for what a person sees.

Chromium is Debian's package (`make test` installs it); Playwright drives it by `executable_path`, since its own
browser download cannot work on these machines. Without Chromium the suite fails, saying how to install it.
Each test's final screen is saved under test-output/screenshots/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_lab import READY_TIMEOUT, Lab, free_port, screenshot
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


def _serve(app: str, server: Any, base: Path) -> Iterator[Lab]:
    """Run `jupyter lab` or `jupyter notebook` on a free port with a token and directories of its own."""
    root, config, runtime, workspaces = (base / name for name in ("root", "config", "runtime", "workspaces"))
    for directory in (root, runtime, workspaces):
        directory.mkdir()
    _quiet_settings(config)
    port, token = free_port(), secrets.token_hex(12)
    tree, flags = _FRONT_ENDS[app]
    command = [
        sys.executable, "-m", "jupyter", app, "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *flags,
    ]  # fmt: skip
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        "RETHINKDB_HOST": server.host,
        "RETHINKDB_PORT": str(server.port),
    }
    log_path = base / f"{app}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, token, process, log_path)
            yield Lab(url, token, root, process, tree)
        finally:
            process.terminate()
            try:
                process.wait(20)
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


@pytest.fixture(scope="session")
def lab(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _serve("lab", server, tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="session")
def notebook7(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _serve("notebook", server, tmp_path_factory.mktemp("notebook"))


# Notebook 7.6 raises this while loading any notebook, with or without widgets (checked on a bare notebook).
_FRONT_END_OWN_ERRORS = {"Cannot read properties of undefined (reading 'schema')"}


def _note_error(errors: list[str], message: str) -> None:
    if message not in _FRONT_END_OWN_ERRORS:
        errors.append(message)


def chromium_path() -> str:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium is not installed, so the browser tests cannot run. Install it with "
        "`apt-get install -y chromium` (as root), or run `make test`, which does.",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running while it is open: close it with the module, so that
    # later tests can run their own asyncio loops.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    context.on("weberror", lambda error: _note_error(errors, str(error.error)))
    yield opened
    for number, each in enumerate(context.pages):
        screenshot(each, request.node.name + (f"-{number}" if number else ""))
    context.close()
    assert not errors, f"errors in the page: {errors}"

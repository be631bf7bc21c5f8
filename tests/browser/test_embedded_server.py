"""The embedded server the extension started dies (kill -9): the extension starts it again and the widgets come
back by themselves, showing what was written afterwards. In a JupyterLab whose kernels configure no database."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_lab import Lab, open_notebook, run_all, serve
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB
from servers import free_port

from rethink_widgets.jupyter import embedded
from rethink_widgets.jupyter.connection import Connector, Settings
from rethink_widgets.jupyter.embedded import answers

TIMEOUT = 60_000  # ms: the server starts again, then each feed's next retry (at most 5 s apart) takes a snapshot


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data home ($XDG_DATA_HOME) of the embedded server, stopped afterwards."""
    path = tmp_path_factory.mktemp("home")
    yield path
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(path))
        with contextlib.suppress(ProcessLookupError):
            if (pid := embedded.holder()) is not None:
                os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def embedded_lab(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with serve("lab", None, tmp_path_factory.mktemp("lab"), {"XDG_DATA_HOME": str(home)}) as running:
        yield running


def test_a_killed_embedded_server_is_started_again_and_views_recover(
    embedded_lab: Lab, home: Path, monkeypatch: pytest.MonkeyPatch, page: Page
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    port = free_port()  # not 28015, where a real server may run
    cells = [
        f"import rethink_widgets.jupyter.connection as c\nc.DEFAULT_PORT = {port}",
        "%load_ext rethink_widgets",
        "r.table_create('chores').run(conn)",
        "LiveTable(r.table('chores'))",
        "TodoList(r.table('chores'))",
    ]
    path = embedded_lab.notebook(f"{uuid.uuid4().hex[:8]}.ipynb", cells)
    open_notebook(page, embedded_lab, path)
    run_all(page, path)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    first = embedded.holder()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT / 1000
    # No one but the kernel's extension starts it; it holds the data directory a moment before it listens.
    while embedded.holder() in (None, first) or not answers("127.0.0.1", port):
        assert time.monotonic() < deadline, "the embedded server was not started again"
        time.sleep(0.1)
    conn = Connector(Settings(host="127.0.0.1", port=port, password=None)).connect_sync()
    r = RethinkDB()
    r.table("chores").insert({"text": "written afterwards", "done": False, "created_at": r.now()}).run(conn)
    conn.close()
    expect(page.locator(".rw-todo li .rw-text")).to_have_text(["written afterwards"], timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody tr")).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-table .rw-offline")).to_have_text("")  # the kernel was never in doubt

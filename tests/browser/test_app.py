"""The todo app (notebooks/05-todo-app.ipynb) served by Voilà as `make app` serves it (`rethink_widgets.jupyter.app`),
against a server of its own, visited from Chromium: two visitors converge with each other and the database, what a
visitor types is checked by the kernel and shown as text, a visitor whose kernel ended is told to reload, and
visitors coming and going leave no kernel, feed or connection behind."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from background import eventually
from jupyter_lab import READY_TIMEOUT, screenshot, stop
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from rethinkdb import RethinkDB
from servers import ServerProcess, free_port, start_server

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05-todo-app.ipynb"
TIMEOUT = 15_000
# Short culling, so that a vanished visitor's kernel ends within the test (`make app` waits a minute).
CULLING = ("--MappingKernelManager.cull_idle_timeout=15", "--MappingKernelManager.cull_interval=2")
NO_CULLING = ("--MappingKernelManager.cull_idle_timeout=0",)
APP_ENDED = "Not live: this page's kernel has ended"  # js/shared.js, NOT_LIVE.appEnded
FEEDS = "^\\[152,"  # a changefeed's job: its query's term is CHANGES (152)


@dataclass
class App:
    url: str
    server: ServerProcess
    password: str
    log: Path

    def connect(self, r: RethinkDB) -> Any:
        return r.connect(self.server.host, self.server.port, password=self.password)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve_app(base: Path, *options: str) -> Iterator[App]:
    """The app on a free port, its kernels' database a server of its own (with a password, as the embedded server
    has one), Jupyter's settings in directories of its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("RETHINKDB_", "JUPYTER_"))}
    for name in ("config", "data", "runtime"):
        (base / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(base / name)
    port, password = free_port(), secrets.token_hex(8)
    command = [sys.executable, "-m", "rethink_widgets.jupyter.app", str(NOTEBOOK), f"--port={port}", "--no-browser"]
    log = base / "voila.log"
    server = start_server(base / "database", "--initial-password", password)
    env |= {"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port), "RETHINKDB_PASSWORD": password}
    try:
        with log.open("wb") as output:
            process = subprocess.Popen([*command, *options], env=env, stdout=output, stderr=subprocess.STDOUT, cwd=base)
            try:
                _wait_until_up(port, process, log)
                yield App(f"http://127.0.0.1:{port}/", server, password, log)
            finally:
                stop(process, 30)
    finally:
        server.stop()


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Voilà did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[App]:
    """The app as `make app` serves it; `@pytest.mark.parametrize("app", [CULLING], indirect=True)` adds options."""
    with serve_app(tmp_path, *getattr(request, "param", ())) as running:
        yield running


@dataclass
class Visitor:
    context: BrowserContext
    page: Page
    errors: list[str]

    @property
    def kernel_id(self) -> str:
        kernel: str = self.page.evaluate(
            "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
        )
        return kernel

    def items(self) -> list[tuple[str, bool]]:
        """The todo list as the visitor sees it: each item's text and whether it is checked off."""
        # Read at once, in the page: the list may change between reading one item and the next.
        items = self.page.locator(".rw-todo li").evaluate_all(
            "items => items.map(item => [item.querySelector('.rw-text').innerText,"
            " item.querySelector('input[type=checkbox]').checked])"
        )
        return [(text, done) for text, done in items]

    def add(self, text: str) -> None:
        box = self.page.locator(".rw-todo input[aria-label='New item']")
        box.fill(text)
        box.press("Enter")

    def item(self, text: str) -> Locator:
        return self.page.locator(".rw-todo li").filter(has_text=text)


def visit(browser: Browser, app: App) -> Visitor:
    """A visitor in a browser of their own (a context), once both widgets are live."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app.url, timeout=READY_TIMEOUT * 1000)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=READY_TIMEOUT * 1000)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    return Visitor(context, page, errors)


def in_database(app: App, r: RethinkDB) -> list[tuple[str, bool]]:
    conn = app.connect(r)
    try:
        docs = r.table("todo").order_by("created_at", "id").run(conn)
    finally:
        conn.close()
    return [(doc["text"], doc["done"]) for doc in docs]


def test_two_visitors_converge_with_the_database(app: App, browser: Browser, r: RethinkDB) -> None:
    first, second = visit(browser, app), visit(browser, app)
    first.add("buy milk")
    expect(second.item("buy milk")).to_have_count(1, timeout=TIMEOUT)
    second.add("walk the dog")
    second.add("write the report")
    expect(first.item("write the report")).to_have_count(1, timeout=TIMEOUT)
    second.item("buy milk").locator("input[type=checkbox]").check()
    expect(first.item("buy milk")).to_have_class("rw-done", timeout=TIMEOUT)
    first.item("walk the dog").hover()
    first.item("walk the dog").locator("button[aria-label='Delete item']").click()
    expect(second.item("walk the dog")).to_have_count(0, timeout=TIMEOUT)
    # Both lists, both tables beside them and the database hold the same, once it has settled.
    expected = [("buy milk", True), ("write the report", False)]
    for visitor in (first, second):
        shows(visitor, expected)
    assert in_database(app, r) == expected
    screenshot(first.page, "todo-app")  # the README's picture
    for visitor in (first, second):
        assert not visitor.errors, visitor.errors
        visitor.context.close()


def shows(visitor: Visitor, expected: list[tuple[str, bool]]) -> None:
    """The visitor's list holds `expected`, and the table beside it as many rows, once it has settled."""
    eventually(lambda: visitor.items() == expected, TIMEOUT / 1000)
    rows = f"{len(expected)} row{'' if len(expected) == 1 else 's'}"
    expect(visitor.page.locator(".rw-table .rw-status")).to_contain_text(rows, timeout=TIMEOUT)
    for text, _done in expected:
        expect(visitor.page.locator(".rw-table")).to_contain_text(text)


def test_what_a_visitor_types_is_checked_and_shown_as_text(app: App, browser: Browser, r: RethinkDB) -> None:
    visitor = visit(browser, app)
    visitor.add("   ")
    expect(visitor.page.locator(".rw-todo .rw-message")).to_have_text("A todo needs some text.", timeout=TIMEOUT)
    visitor.add("x" * 501)
    expect(visitor.page.locator(".rw-todo .rw-message")).to_contain_text("at most 500 characters", timeout=TIMEOUT)
    markup = '<img src=x onerror="window.pwned = 1"><b>bold</b>'
    visitor.add(markup)
    expect(visitor.item("bold")).to_have_count(1, timeout=TIMEOUT)
    shows(visitor, [(markup, False)])
    assert visitor.page.locator(".jp-OutputArea img, .jp-OutputArea b").count() == 0
    assert visitor.page.evaluate("() => window.pwned") is None
    assert in_database(app, r) == [(markup, False)]
    visitor.context.close()


def test_a_visitor_whose_kernel_ended_is_told_to_reload(app: App, browser: Browser) -> None:
    visitor = visit(browser, app)
    end_kernel(app, visitor.kernel_id)  # as the culler ends one: the kernel manager's shutdown
    for widget in (".rw-todo", ".rw-table"):
        expect(visitor.page.locator(f"{widget} .rw-offline")).to_contain_text(APP_ENDED, timeout=TIMEOUT)
        expect(visitor.page.locator(f"{widget} .rw-offline")).to_contain_text("Reload the page")
    expect(visitor.page.locator(".rw-todo input[aria-label='New item']")).to_be_disabled()
    visitor.page.reload()
    expect(visitor.page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=READY_TIMEOUT * 1000)
    expect(visitor.page.locator(".rw-todo .rw-offline")).to_have_text("")
    visitor.context.close()


def end_kernel(app: App, kernel_id: str) -> None:
    """Shut a kernel down through Voilà's kernels API (with a cookie and header of our making, as XSRF asks)."""
    token = secrets.token_hex(8)
    headers = {"Cookie": f"_xsrf={token}", "X-XSRFToken": token}
    request = urllib.request.Request(f"{app.url}api/kernels/{kernel_id}", method="DELETE", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204


def feeds_and_connections(app: App, r: RethinkDB, conn: Any) -> tuple[int, int]:
    """The server's open changefeeds (`rethinkdb.jobs`) and client connections (`rethinkdb.stats`)."""
    system = r.db("rethinkdb")
    feeds = system.table("jobs").filter(lambda job: job["info"]["query"].match(FEEDS)).count().run(conn)
    connections = system.table("stats").get(["cluster"])["query_engine"]["client_connections"].run(conn)
    return feeds, connections


def settles_at(app: App, r: RethinkDB, conn: Any, baseline: tuple[int, int]) -> None:
    """Wait (generously: culling, then the kernel's end, take their time) until the counts are back at `baseline`."""
    seen: list[tuple[int, int]] = []

    def back() -> bool:
        seen.append(feeds_and_connections(app, r, conn))
        time.sleep(0.5)
        return seen[-1] == baseline

    try:
        eventually(back, 180)
    except AssertionError:
        raise AssertionError(f"feeds and connections {seen[-1]}, not back at {baseline}:\n{app.log_text()}") from None


@pytest.mark.parametrize("app", [NO_CULLING], indirect=True, ids=["no-culling"])
def test_a_closed_tab_ends_its_kernel(app: App, browser: Browser, r: RethinkDB) -> None:
    conn = app.connect(r)
    baseline = feeds_and_connections(app, r, conn)
    kernels = []
    for _ in range(3):
        visitor = visit(browser, app)
        feeds, connections = feeds_and_connections(app, r, conn)
        assert feeds > baseline[0] and connections > baseline[1]
        kernels.append(visitor.kernel_id)
        visitor.page.close(run_before_unload=True)  # as a tab closes: the page asks for its kernel's shutdown
        visitor.context.close()
    settles_at(app, r, conn, baseline)
    log = app.log_text()
    assert all(f"Kernel shutdown: {kernel}" in log for kernel in kernels), log
    assert not re.search(r"\b403 [A-Z]+ /", log), log  # no request refused (logged as "403 GET /...")
    conn.close()


@pytest.mark.timeout(900)  # 20 visits, then culling
@pytest.mark.parametrize("app", [CULLING], indirect=True, ids=["culling"])
def test_visitors_coming_and_going_leave_nothing_behind(app: App, browser: Browser, r: RethinkDB) -> None:
    conn = app.connect(r)
    r.table_create("todo").run(conn)
    writes = threading.Event()
    writer = threading.Thread(target=keep_writing, args=(app, r, writes), daemon=True)
    baseline = feeds_and_connections(app, r, conn)
    writer.start()  # its connection, open from here to the end, is one more
    eventually(lambda: feeds_and_connections(app, r, conn)[1] == baseline[1] + 1)
    baseline = feeds_and_connections(app, r, conn)
    vanished = []
    try:
        for number in range(20):
            visitor = visit(browser, app)
            if number % 2:  # the browser goes without a word (a crash, a lost network): the kernel is culled
                vanished.append(visitor.kernel_id)
            else:
                visitor.page.close(run_before_unload=True)
            visitor.context.close()
        # Every departed visitor's kernel ends, with its feeds and connections, although its feeds keep receiving
        # changes: live updates do not count as a kernel's activity.
        settles_at(app, r, conn, baseline)
    finally:
        writes.set()
        writer.join(30)
    log = app.log_text()
    assert all(f"Culling 'idle' kernel 'python3' ({kernel})" in log for kernel in vanished), log
    conn.close()


def keep_writing(app: App, r: RethinkDB, stop: threading.Event) -> None:
    """Change an item every few tenths of a second until `stop`, so that every visitor's feeds keep receiving."""
    conn = app.connect(r)
    try:
        item = {"id": "busy", "text": "changing all the time", "done": False, "created_at": r.now()}
        r.table("todo").insert(item, conflict="replace").run(conn)
        while not stop.wait(0.3):
            r.table("todo").get("busy").update({"done": r.row["done"].not_()}).run(conn)
    finally:
        conn.close()

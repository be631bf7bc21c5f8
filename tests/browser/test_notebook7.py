"""LiveTable and TodoList in Notebook 7, the other front end people use."""

from __future__ import annotations

import uuid
from typing import Any

from jupyter_lab import Lab, open_notebook, run_all
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 15_000


def test_live_table_and_todo_list(notebook7: Lab, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    table = todo  # TodoList makes it
    cells = ["%load_ext rethink_widgets", f"TodoList(r.table('{table}'))", f"LiveTable(r.table('{table}'))"]
    path = notebook7.notebook(f"{uuid.uuid4().hex[:8]}.ipynb", cells)
    open_notebook(page, notebook7, path)
    run_all(page, path)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    box = page.locator(".rw-todo input[aria-label='New item']")
    box.fill("from notebook 7")
    box.press("Enter")
    expect(page.locator(".rw-todo li")).to_contain_text(["from notebook 7"], timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody tr")).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody")).to_contain_text("from notebook 7")
    page.locator(".rw-todo li input[type=checkbox]").check()
    expect(page.locator(".rw-table tbody")).to_contain_text("true", timeout=TIMEOUT)
    r.table(table).insert({"text": "from outside", "done": False, "created_at": r.now()}).run(conn)
    expect(page.locator(".rw-todo li")).to_have_count(2, timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody tr")).to_have_count(2, timeout=TIMEOUT)

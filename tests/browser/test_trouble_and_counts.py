"""What the widgets say when they cannot show what was asked, in real JupyterLab and Chromium: a refused query fails
its cell, a feed in error shows its error in place of controls that cannot work, a missing table is waited for;
hidden controls stay hidden; counts are said in words that agree with them.

`page` comes last in each test's arguments, so its final screenshot is taken before the tables are dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import Lab, run_notebook
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 15_000


@pytest.fixture
def tables(conn: Any, r: RethinkDB) -> Iterator[list[str]]:
    """Names for tables the test makes (or means to be missing), dropped afterwards."""
    names = ["t_" + uuid.uuid4().hex[:8] for _ in range(3)]
    yield names
    for name in names:
        if name in r.table_list().run(conn):
            r.table_drop(name).run(conn)


def test_a_feed_in_error_shows_it_in_place_of_its_controls(
    lab: Lab, conn: Any, r: RethinkDB, tables: list[str], page: Page
) -> None:
    name = tables[0]
    r.table_create(name).run(conn)
    rows = [{"id": i, "x": i, "text": f"item {i}"} for i in range(60)]  # more than a page
    r.table(name).insert([*rows, {"id": 60, "x": "not a number", "text": "odd"}]).run(conn)
    query = f"r.table('{name}').filter(r.row['x'] * 2 >= 0)"  # followed, but the row 60 stops it
    run_notebook(page, lab, [f"LiveTable({query})", f"TodoList({query})"])
    reason = "Expected type NUMBER but found STRING."
    for widget in (page.locator(".rw-table"), page.locator(".rw-todo")):
        trouble = widget.locator(".rw-trouble")
        expect(trouble).to_be_visible(timeout=TIMEOUT)
        expect(trouble).to_contain_text(reason)
        expect(trouble).to_contain_text("fix the query and run its cell again")
        expect(widget.locator(".rw-status")).to_have_text("error")
    table = page.locator(".rw-table")
    for control in ("input[type=search]", ".rw-grid", "input[aria-label='New row as JSON']"):
        expect(table.locator(control)).to_be_hidden()
    todo = page.locator(".rw-todo")
    for control in ("input[aria-label='New item']", "ul", ".rw-left"):
        expect(todo.locator(control)).to_be_hidden()


def test_a_refused_query_fails_its_cell_and_makes_no_widget(
    lab: Lab, conn: Any, r: RethinkDB, tables: list[str], page: Page
) -> None:
    name = tables[0]
    r.table_create(name).run(conn)
    run_notebook(page, lab, [f"LiveTable(r.table('{name}').count())"])
    expect(page.locator(".jp-OutputArea-output", has_text="LiveTable cannot follow")).to_contain_text(
        "Cannot call `changes` on this type: NUMBER.", timeout=TIMEOUT
    )
    expect(page.locator(".rw-table")).to_have_count(0)


def test_a_missing_table_is_waited_for(lab: Lab, conn: Any, r: RethinkDB, tables: list[str], page: Page) -> None:
    name = tables[0]
    run_notebook(page, lab, [f"LiveTable(r.table('{name}'))"])
    said = f"LiveTable: Table `test.{name}` does not exist; waiting for it to be created."
    expect(page.locator(".jp-OutputArea-output", has_text=said)).to_be_visible(timeout=TIMEOUT)
    table = page.locator(".rw-table")
    trouble = table.locator(".rw-trouble")
    expect(trouble).to_have_text(f"Waiting for table test.{name} to be created: it shows once it is.", timeout=TIMEOUT)
    expect(table.locator("input[aria-label='New row as JSON']")).to_be_hidden()
    r.table_create(name).run(conn)
    r.table(name).insert({"id": 1, "name": "first"}).run(conn)
    expect(table.locator("tbody tr")).to_have_count(1, timeout=TIMEOUT)
    expect(trouble).to_be_hidden()
    expect(table.locator(".rw-status")).to_contain_text("ready · 1 row · ")


def test_controls_that_cannot_work_are_hidden(lab: Lab, conn: Any, r: RethinkDB, tables: list[str], page: Page) -> None:
    one, few = tables[:2]
    for name, count in ((one, 1), (few, 7)):
        r.table_create(name).run(conn)
        r.table(name).insert([{"id": i, "name": f"person {i}"} for i in range(count)]).run(conn)
    run_notebook(page, lab, [f"LiveTable(r.table('{one}'))", f"LiveTable(r.table('{few}'), editable=False)"])
    editable, read_only = page.locator(".rw-table").nth(0), page.locator(".rw-table").nth(1)
    expect(editable.locator(".rw-status")).to_contain_text("ready · 1 row · 0 changes/s", timeout=TIMEOUT)
    expect(read_only.locator(".rw-status")).to_contain_text("ready · 7 rows", timeout=TIMEOUT)
    expect(editable.locator("input[aria-label='New row as JSON']")).to_be_visible()
    expect(read_only.locator("input[aria-label='New row as JSON']")).to_be_hidden()
    expect(read_only.get_by_role("button", name="Add row")).to_be_hidden()
    for table in (editable, read_only):  # a scrolling grid: no pager saying "page 1 of 1"
        expect(table.locator(".rw-pager")).to_have_count(0)
        expect(table.locator(".rw-trouble")).to_be_hidden()


def test_todo_list_says_what_it_does_not_show(lab: Lab, conn: Any, r: RethinkDB, tables: list[str], page: Page) -> None:
    name = tables[0]
    r.table_create(name).run(conn)
    items = [{"id": "a", "text": "to do", "done": False}, {"id": "b", "text": "done", "done": True}]
    others = [{"id": "c", "title": "a note"}, {"id": "d", "text": None}, {"id": "e", "text": 3}]
    r.table(name).insert([{**item, "created_at": r.now()} for item in items] + others).run(conn)
    run_notebook(page, lab, [f"TodoList(r.table('{name}'))"])
    todo = page.locator(".rw-todo")
    expect(todo.locator(".rw-status")).to_have_text("ready", timeout=TIMEOUT)
    expect(todo.locator("li .rw-text")).to_have_text(["to do", "done"])
    expect(todo.locator(".rw-left")).to_have_text("1 item left")
    expect(todo.locator(".rw-others")).to_have_text("3 documents are not todo items (no `text` string): not shown.")
    r.table(name).get("c").delete().run(conn)
    r.table(name).get("d").delete().run(conn)
    expect(todo.locator(".rw-others")).to_have_text(
        "1 document is not a todo item (no `text` string): not shown.", timeout=TIMEOUT
    )
    r.table(name).get("e").delete().run(conn)
    expect(todo.locator(".rw-others")).to_be_hidden(timeout=TIMEOUT)

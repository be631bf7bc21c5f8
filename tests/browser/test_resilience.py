"""What a person sees when things go wrong: a page reload, a killed database, a flood of changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import Lab, open_notebook, run_notebook, save
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB
from servers import Restartable

TIMEOUT = 30_000


@pytest.fixture
def counters(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "counters_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"id": i, "n": 0} for i in range(100)]).run(conn)
    yield name
    r.table_drop(name).run(conn)


def show(page: Page, lab: Lab, cells: list[str]) -> str:
    path = run_notebook(page, lab, cells)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    return path


def shown_counts(page: Page) -> list[str]:
    return page.locator(".rw-table tbody tr td:nth-child(2)").all_inner_texts()


def todo_texts(page: Page) -> Any:
    return expect(page.locator(".rw-todo li .rw-text"))


def test_reload_with_the_kernel_alive(lab: Lab, conn: Any, r: RethinkDB, counters: str, page: Page) -> None:
    todo = counters + "_todo"
    path = show(page, lab, [f"LiveTable(r.table('{counters}'), page_size=10)", f"TodoList(r.table('{todo}'))"])
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    save(page, path)
    r.table(counters).update({"n": 7}).run(conn)  # while the page is away
    r.table(todo).insert({"text": "added while away", "done": False, "created_at": r.now()}).run(conn)
    page.reload()
    open_notebook(page, lab, path)
    first_ten = page.locator(".rw-table tbody tr[data-key]:nth-child(-n+10) td:nth-child(2)")
    expect(first_ten).to_have_text(["7"] * 10, timeout=TIMEOUT)
    todo_texts(page).to_have_text(["added while away"], timeout=TIMEOUT)
    r.table(counters).get(3).update({"n": 8}).run(conn)
    r.table(todo).update({"done": True}).run(conn)
    expect(page.locator(".rw-table tbody tr[data-key='3'] td:nth-child(2)")).to_have_text("8", timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-left")).to_have_text("0 items left", timeout=TIMEOUT)
    r.table_drop(todo).run(conn)


def test_database_killed_and_restarted(lab: Lab, r: RethinkDB, restartable: Restartable, page: Page) -> None:
    port = restartable.port
    conn = r.connect("127.0.0.1", port)
    r.table_create("live").run(conn)
    r.table("live").insert([{"id": i, "n": 0} for i in range(5)]).run(conn)
    r.table_create("chores").run(conn)
    r.table("chores").insert({"text": "before", "done": False, "created_at": r.now()}).run(conn)
    cells = [f"%rethink connect 127.0.0.1:{port}", "LiveTable(r.table('live'))", "TodoList(r.table('chores'))"]
    show(page, lab, cells)
    todo_texts(page).to_have_text(["before"], timeout=TIMEOUT)
    restartable.kill()
    expect(page.locator(".rw-table .rw-status")).to_contain_text("reconnecting", timeout=TIMEOUT)
    lost = f"reconnecting: 127.0.0.1:{port} refuses connections (no server is running there); trying again"
    expect(page.locator(".rw-todo .rw-status")).to_contain_text(lost, timeout=TIMEOUT)
    restartable.restart()
    conn = r.connect("127.0.0.1", port)
    r.table("live").get(0).delete().run(conn)
    r.table("live").update({"n": 3}).run(conn)
    r.table("chores").insert({"text": "after", "done": False, "created_at": r.now()}).run(conn)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody tr td:nth-child(2)")).to_have_text(["3"] * 4, timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    todo_texts(page).to_have_text(["before", "after"], timeout=TIMEOUT)


def test_a_burst_of_20000_changes_ends_exact(lab: Lab, conn: Any, r: RethinkDB, counters: str, page: Page) -> None:
    show(page, lab, [f"LiveTable(r.table('{counters}'))"])
    for step in range(1, 201):  # 200 writes of 100 rows each, as fast as the database takes them
        r.table(counters).update({"n": step}).run(conn, durability="soft", noreply=step % 10 != 0)
    conn.noreply_wait()
    r.table(counters).get(42).update({"n": "last"}).run(conn)
    final = {row["id"]: str(row["n"]) for row in r.table(counters).run(conn)}
    assert final[42] == "last"  # (noreply writes on one connection may land in any order, as on RethinkDB)
    first_ten = page.locator(".rw-table tbody tr[data-key]:nth-child(-n+10) td:nth-child(2)")
    expect(first_ten).to_have_text([final[i] for i in range(10)], timeout=TIMEOUT)
    page.locator(".rw-table regular-table").evaluate("grid => { grid.scrollTop = 40 * 24; }")  # rows 40 on
    expect(page.locator(".rw-table tbody tr[data-key='42'] td:nth-child(2)")).to_have_text("last", timeout=TIMEOUT)
    shown = page.locator(".rw-table tbody tr[data-key]").evaluate_all(
        "rows => rows.map(row => [Number(row.dataset.key), row.children[1].textContent])"
    )
    assert shown and all(text == final[key] for key, text in shown)  # every row in sight exact
    expect(page.locator(".rw-table .rw-status")).to_contain_text("100 rows")

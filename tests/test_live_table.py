"""LiveTable in a real kernel against the embedded server: what the widget's views are sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ServerProcess
from kernel import Kernel
from rethinkdb import RethinkDB


@pytest.fixture
def kernel(server: ServerProcess, tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path, {"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port)})
    cell = k.run("%load_ext rethink_widgets")
    assert not cell.error, cell.error
    yield k
    k.close()


def cells(state: dict[str, Any], column: str) -> list[Any]:
    return [row["cells"].get(column) for row in state["page_rows"]]


def test_rows_appear_and_follow_writes(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "name": f"n{i}"} for i in range(3)]).run(conn)
    cell = kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready(); t")
    assert not cell.error, cell.error
    assert cell.text == f"LiveTable(test.{table}, 3 rows, ready)"
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    state = kernel.state(comm)
    assert state["columns"] == ["id", "name"]
    assert cells(state, "name") == ["n0", "n1", "n2"]
    r.table(table).insert({"id": 3, "name": "new"}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 4, what="the insert")
    assert cells(kernel.state(comm), "name")[-1] == "new"
    assert kernel.state(comm)["changed"] == ["3"]
    r.table(table).get(0).delete().run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 3, what="the delete")
    assert cells(kernel.state(comm), "id") == [1, 2, 3]


@pytest.fixture
def people(conn: Any, r: RethinkDB, table: str) -> str:
    r.table(table).insert([{"id": i, "name": f"p{i:02}", "age": 20 + (i * 7) % 30} for i in range(120)]).run(conn)
    return table


def open_table(kernel: Kernel, code: str) -> str:
    cell = kernel.run(f"t = {code}; await t.ready(); t")
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    return comm


def test_sort_filter_and_pages(kernel: Kernel, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'), page_size=50)")
    state = kernel.state(comm)
    assert (state["total"], state["matched"], len(state["page_rows"])) == (120, 120, 50)
    kernel.send_update(comm, {"page": 2})
    kernel.wait_for(lambda: cells(kernel.state(comm), "id") == list(range(100, 120)), what="page 3")
    kernel.send_update(comm, {"page": 0, "sort": ["age", "desc"]})
    kernel.wait_for(lambda: cells(kernel.state(comm), "age")[0] == 49, what="sorted by age")
    ages = cells(kernel.state(comm), "age")
    assert ages == sorted(ages, reverse=True)
    kernel.send_update(comm, {"sort": [], "filter": "P1"})  # any case: p10..p19, p100..p119
    kernel.wait_for(lambda: kernel.state(comm)["matched"] == 30, what="filtered")
    assert cells(kernel.state(comm), "id")[:3] == [10, 11, 12]
    assert kernel.run("len(t.rows), t.rows[0]['id']").text == "(30, 10)"


def test_edit_conflict_delete_and_add(kernel: Kernel, conn: Any, r: RethinkDB, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'))")
    row = kernel.state(comm)["page_rows"][0]
    kernel.send_custom(comm, {"type": "edit", "key": row["key"], "rev": row["rev"], "column": "age", "text": "33"})
    kernel.wait_for(lambda: cells(kernel.state(comm), "age")[0] == 33, what="the edit")
    assert r.table(people).get(0).run(conn)["age"] == 33
    # The row changes elsewhere; an edit made from the old view is refused and nothing is lost.
    stale = kernel.state(comm)["page_rows"][0]
    r.table(people).get(0).update({"name": "elsewhere"}).run(conn)
    kernel.wait_for(lambda: cells(kernel.state(comm), "name")[0] == "elsewhere", what="the outside write")
    kernel.send_custom(comm, {"type": "edit", "key": stale["key"], "rev": stale["rev"], "column": "age", "text": "1"})
    kernel.wait_for(lambda: "changed since you saw it" in kernel.state(comm)["message"], what="the conflict")
    assert r.table(people).get(0).run(conn) == {"id": 0, "name": "elsewhere", "age": 33}
    # A text column keeps text; a number column refuses what is not JSON.
    row = kernel.state(comm)["page_rows"][1]
    kernel.send_custom(comm, {"type": "edit", "key": row["key"], "rev": row["rev"], "column": "age", "text": "x"})
    kernel.wait_for(lambda: "not a valid value" in kernel.state(comm)["message"], what="the refusal")
    kernel.send_custom(comm, {"type": "delete", "key": row["key"], "rev": row["rev"]})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 119, what="the delete")
    assert r.table(people).get(1).run(conn) is None
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 500, "name": "added"}'})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 120, what="the insert")
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 500}'})
    kernel.wait_for(lambda: "Duplicate primary key" in kernel.state(comm)["message"], what="the duplicate")
    kernel.send_custom(comm, {"type": "insert", "text": "[1, 2"})
    kernel.wait_for(lambda: "JSON object" in kernel.state(comm)["message"], what="the bad row")
    assert r.table(people).count().run(conn) == 120


def test_burst_is_coalesced_and_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "n": 0} for i in range(100)]).run(conn)
    comm = open_table(kernel, f"LiveTable(r.table('{table}'))")
    kernel.updates.clear()
    for step in range(1, 201):  # 20,000 changes
        r.table(table).update({"n": step}).run(conn, durability="soft")
    kernel.wait_for(lambda: set(cells(kernel.state(comm), "n")) == {200}, timeout=60, what="the final state")
    times = [when for when, c, _ in kernel.updates if c == comm]
    per_second = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert per_second <= 40, f"{per_second} updates in one second"
    assert kernel.run("sorted({row['n'] for row in t.rows})").text == "[200]"


def test_rerun_and_close_leave_no_feed(kernel: Kernel, people: str) -> None:
    code = f"t = LiveTable(r.table('{people}')); await t.ready(); t"
    first = kernel.run(code)
    kernel.run(code)
    kernel.wait_for(lambda: kernel.widget(first) in kernel.closed, what="the first widget to close")
    assert kernel.run("from rethink_widgets import feeds; len(feeds.LIVE)").text == "1"
    kernel.run("t.close()")
    assert kernel.run("len(feeds.LIVE), t.status").text == "(0, 'closed')"

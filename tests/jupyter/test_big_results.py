"""Big results in a real kernel against the embedded server: rows show while the snapshot streams in, with progress;
the result is exact once ready; a new sort or filter gives the right rows without holding up the kernel's loop."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import ServerProcess

from rethink_widgets.jupyter.filtering import cell_text
from rethink_widgets.jupyter.sorting import sort_key

ROWS = 40_000


def big_row(i: int) -> dict[str, Any]:
    """A row whose `v` mixes ReQL types (numbers, strings, booleans, null, arrays) and is often tied."""
    kinds: list[Any] = [i % 50, f"v{i % 70}", i % 3 == 0, None, [i % 4], (i % 90) / 8]
    row: dict[str, Any] = {"id": i, "name": f"row {i}", "v": kinds[i % 6]}
    if i % 11 == 0:
        del row["v"]
    return row


@pytest.fixture(scope="module")
def big(server: ServerProcess, r: RethinkDB) -> Iterator[str]:
    """A table of `ROWS` rows, for the module's tests to read (each restores what it changes)."""
    conn = r.connect(server.host, server.port)
    name = "big_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    for start in range(0, ROWS, 10_000):
        r.table(name).insert([big_row(i) for i in range(start, start + 10_000)]).run(conn, durability="soft")
    yield name
    r.table_drop(name).run(conn)
    conn.close()


def updates(kernel: Kernel, comm: str) -> list[dict[str, Any]]:
    """Every state the widget sent, each as a view had it then (from the traits' first values)."""
    state: dict[str, Any] = {"status": "connecting", "progress": {}, "window_rows": [], "changed": []}
    seen = []
    for _, c, update in kernel.updates:
        if c == comm:
            state = {**state, **update}
            seen.append(state)
    return seen


def test_rows_show_while_the_snapshot_comes_in_with_progress(kernel: Kernel, big: str) -> None:
    cell = kernel.run(f"t = LiveTable(r.table('{big}'), page_size=20); await t.ready(60); t", timeout=120)
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    during = [state for state in updates(kernel, comm) if state["status"] == "initializing"]
    shown = [state for state in during if state["window_rows"]]
    assert shown, "no rows were shown before ready"
    assert all(0 < state["progress"]["rows"] < ROWS for state in shown)
    assert any(state["progress"]["of"] == ROWS for state in shown)  # a whole table: counted
    # The first page is rows in primary key order from the first update on: it fills, it does not jump.
    first_ids = [[row["cells"]["id"] for row in state["window_rows"]] for state in shown]
    assert all(ids == list(range(len(ids))) for ids in first_ids)
    assert not any(state["changed"] for state in during)  # arriving rows do not flash as changed
    final = kernel.state(comm)
    assert (final["progress"], final["total"], len(final["window_rows"])) == ({}, ROWS, 20)


def test_a_query_that_cannot_be_counted_says_rows_so_far(kernel: Kernel, big: str) -> None:
    query = f"r.table('{big}').filter(r.row['id'] % 2 == 0)"
    cell = kernel.run(f"t = LiveTable({query}); await t.ready(60); t", timeout=120)
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    progress = [state["progress"] for state in updates(kernel, comm) if state["status"] == "initializing"]
    assert any(p and p["rows"] > 0 for p in progress) and all(p["of"] is None for p in progress if p)
    assert kernel.state(comm)["total"] == ROWS // 2


def test_exact_once_ready_despite_writes_during_the_snapshot(
    kernel: Kernel, server: ServerProcess, conn: Any, r: RethinkDB, big: str, table: str
) -> None:
    r.table(table).insert(r.table(big)).run(conn, durability="soft")
    written, stop = threading.Event(), threading.Event()

    def write() -> None:
        """Updates, deletes, inserts and a many-row update, from before the widget's snapshot until it is ready:
        however long the snapshot takes, writes land while it is read."""
        with r.connect(server.host, server.port) as writer:
            i = 0
            while not stop.is_set():
                r.table(table).get(ROWS - 1 - i % 100).update({"name": f"changed {i}"}).run(writer)
                r.table(table).get(3 + i).delete().run(writer)
                r.table(table).insert({"id": ROWS + i, "name": f"added {i}"}).run(writer)
                if i % 10 == 0:
                    r.table(table).filter(r.row["id"] % 1000 == 7).update({"v": f"touched {i}"}).run(writer)
                i += 1
                written.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert written.wait(30)
        cell = kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready(60); t", timeout=120)
    finally:
        stop.set()
        writer.join()
    assert not cell.error, cell.error
    final = list(r.table(table).order_by("id").run(conn))
    kernel.run("import json")

    def held() -> Any:
        return json.loads(kernel.run("print(json.dumps(sorted(t.rows, key=lambda row: row['id'])))").stdout)

    kernel.wait_for(lambda: held() == final, timeout=60, what="the rows the database holds, every write included")


def expected_ids(column: str, descending: bool, needle: str) -> list[int]:
    """Python's sorted in ReQL's order (ties by primary key either way, rows without the column last) of the
    filtered rows."""
    rows = sorted((big_row(i) for i in range(ROWS)), key=lambda row: row["id"])
    kept = [row for row in rows if any(needle.casefold() in cell_text(v).casefold() for v in row.values())]
    having = sorted((row for row in kept if column in row), key=lambda row: sort_key(row[column]), reverse=descending)
    return [row["id"] for row in having] + [row["id"] for row in kept if column not in row]


def shows(kernel: Kernel, comm: str, ids: list[int]) -> Callable[[], bool]:
    """Whether the widget's page shows the rows with these ids, in this order."""
    return lambda: [row["cells"]["id"] for row in kernel.state(comm)["window_rows"]] == ids


def test_sort_and_filter_give_the_right_rows_and_leave_the_loop_free(kernel: Kernel, big: str) -> None:
    cell = kernel.run(f"t = LiveTable(r.table('{big}'), page_size=1000); await t.ready(60); t", timeout=120)
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    # One step of the build per turn of the loop, so the count of turns below does not depend on speed.
    kernel.run("from rethink_widgets.jupyter import live_widget; live_widget.STEP_SECONDS = 0; t.view.step_rows = 2000")
    for sort, needle in [(["v", "desc"], ""), (["v", "asc"], "1"), (["name", "desc"], "ROW 2")]:
        turns = kernel.run(
            f"t.sort, t.filter = {sort!r}, {needle!r}\n"
            "import asyncio\n"
            "await asyncio.sleep(0)  # the new order starts building on the loop\n"
            "turns = 0\n"
            "while t.view.building:  # another task on the loop, counting its turns meanwhile\n"
            "    turns += 1\n"
            "    await asyncio.sleep(0)\n"
            "turns"
        )
        assert not turns.error, turns.error
        assert int(turns.text) >= 20, f"the loop turned only {turns.text} times while sorting"
        want = expected_ids(sort[0], sort[1] == "desc", needle)
        kernel.wait_for(shows(kernel, comm, want[:1000]), timeout=30, what=f"{sort} {needle!r}")
        assert kernel.state(comm)["matched"] == len(want)
        everything = json.loads(kernel.run("import json; print(json.dumps([row['id'] for row in t.rows]))").stdout)
        assert everything == expected_ids(sort[0], sort[1] == "desc", "")

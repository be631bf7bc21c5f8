"""LiveTable in a real kernel against the embedded server: what the widget's views are sent."""

from __future__ import annotations

import datetime
import functools
from pathlib import Path
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import Restartable, ServerProcess

from rethink_widgets.jupyter.live_table import parse_cell


def cells(state: dict[str, Any], column: str) -> list[Any]:
    return [row["cells"].get(column) for row in state["window_rows"]]


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
    return kernel.open_widget(code, "t")[0]


def test_sort_filter_and_windows(kernel: Kernel, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'), page_size=50)")
    state = kernel.state(comm)
    assert (state["total"], state["matched"], len(state["window_rows"])) == (120, 120, 50)
    kernel.send_update(comm, {"sort": ["age", "desc"]})
    kernel.wait_for(lambda: cells(kernel.state(comm), "age")[0] == 49, what="sorted by age")
    ages = cells(kernel.state(comm), "age")
    assert ages == sorted(ages, reverse=True)
    assert kernel.run("t.sort").text == "[['age', 'desc']]"  # one key given as a pair is one key of a list
    # Two keys, each in its own direction: age descending, then name descending among equal ages.
    kernel.send_update(comm, {"sort": [["age", "desc"], ["name", "desc"]]})
    people_rows = sorted(((20 + (i * 7) % 30, f"p{i:02}") for i in range(120)), reverse=True)
    kernel.wait_for(lambda: cells(kernel.state(comm), "name") == [name for _, name in people_rows[:50]], what="2 keys")
    kernel.send_update(comm, {"sort": [["age", "asc"], ["name", "desc"]]})
    mixed = sorted(people_rows, key=lambda row: row[0])  # stable: names stay descending within an age
    kernel.wait_for(lambda: cells(kernel.state(comm), "name") == [name for _, name in mixed[:50]], what="mixed keys")
    kernel.send_update(comm, {"sort": [], "filter": "P1"})  # any case: p10..p19, p100..p119
    kernel.wait_for(lambda: kernel.state(comm)["matched"] == 30, what="filtered")
    assert cells(kernel.state(comm), "id")[:3] == [10, 11, 12]
    # .rows is the whole result in the views' sort order, whatever their filter hides.
    kernel.send_update(comm, {"sort": ["age", "asc"]})
    shown = [20 + (i * 7) % 30 for i in [*range(10, 20), *range(100, 120)]]
    kernel.wait_for(lambda: cells(kernel.state(comm), "age") == sorted(shown), what="filtered, sorted by age")
    everyone = sorted(20 + (i * 7) % 30 for i in range(120))
    assert kernel.run(f"[row['age'] for row in t.rows] == {everyone}").text == "True"


def test_edit_conflict_delete_and_add(kernel: Kernel, conn: Any, r: RethinkDB, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'))")
    row = kernel.state(comm)["window_rows"][0]
    edit = {"type": "edit", "key": row["key"], "rev": row["rev"], "column": "age", "text": "33", "ref": "v:0"}
    kernel.send_custom(comm, edit)  # named: the kernel says when it is written
    kernel.wait_for(lambda: (comm, {"type": "edited", "ref": "v:0"}) in kernel.custom, what="the edit's answer")
    kernel.wait_for(lambda: cells(kernel.state(comm), "age")[0] == 33, what="the edit")
    assert r.table(people).get(0).run(conn)["age"] == 33
    # The row changes elsewhere; an edit made from the old view is refused and nothing is lost.
    stale = kernel.state(comm)["window_rows"][0]
    r.table(people).get(0).update({"name": "elsewhere"}).run(conn)
    kernel.wait_for(lambda: cells(kernel.state(comm), "name")[0] == "elsewhere", what="the outside write")
    kernel.send_custom(comm, {"type": "edit", "key": stale["key"], "rev": stale["rev"], "column": "age", "text": "1"})
    kernel.wait_for(lambda: "changed since you saw it" in kernel.state(comm)["message"], what="the conflict")
    assert r.table(people).get(0).run(conn) == {"id": 0, "name": "elsewhere", "age": 33}
    # A text column keeps text; a number column refuses what is not JSON.
    row = kernel.state(comm)["window_rows"][1]
    kernel.send_custom(comm, {"type": "edit", "key": row["key"], "rev": row["rev"], "column": "age", "text": "x"})
    kernel.wait_for(lambda: "not a valid value" in kernel.state(comm)["message"], what="the refusal")
    kernel.send_custom(comm, {"type": "delete", "key": row["key"], "rev": row["rev"]})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 119, what="the delete")
    assert r.table(people).get(1).run(conn) is None
    # An insert names itself (`ref`), and the kernel says when it took the row; a refused one is not answered so.
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 500, "name": "added"}', "ref": "v:1"})
    kernel.wait_for(lambda: (comm, {"type": "added", "ref": "v:1"}) in kernel.custom, what="the insert's answer")
    assert r.table(people).get(500).run(conn) == {"id": 500, "name": "added"}
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 120, what="the new row")
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 500}', "ref": "v:2"})
    kernel.wait_for(lambda: "Duplicate primary key" in kernel.state(comm)["message"], what="the duplicate")
    kernel.send_custom(comm, {"type": "insert", "text": "[1, 2", "ref": "v:3"})
    kernel.wait_for(lambda: "JSON object" in kernel.state(comm)["message"], what="the bad row")
    assert r.table(people).count().run(conn) == 120
    assert [content["ref"] for _, content in kernel.custom if content.get("type") == "added"] == ["v:1"]
    # The row deleted last can be put back, as any insert: not over a row that took its key meanwhile.
    assert kernel.state(comm)["undo"] == row["key"]
    kernel.send_custom(comm, {"type": "undo_delete", "key": "nonsense"})
    kernel.wait_for(lambda: "no deleted row to put back" in kernel.state(comm)["message"], what="a wrong undo")
    r.table(people).insert({"id": 1, "name": "took its key"}).run(conn)
    kernel.send_custom(comm, {"type": "undo_delete", "key": row["key"]})
    kernel.wait_for(lambda: "Duplicate primary key" in kernel.state(comm)["message"], what="the refused undo")
    assert r.table(people).get(1).run(conn) == {"id": 1, "name": "took its key"} and kernel.state(comm)["undo"] == ""


def test_undo_a_delete_puts_the_document_back(kernel: Kernel, conn: Any, r: RethinkDB, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'))")
    row = kernel.state(comm)["window_rows"][5]
    before = r.table(people).get(5).run(conn)
    kernel.send_custom(comm, {"type": "delete", "key": row["key"], "rev": row["rev"]})
    kernel.wait_for(lambda: (kernel.state(comm)["undo"], kernel.state(comm)["total"]) == (row["key"], 119), what="del")
    assert r.table(people).get(5).run(conn) is None
    kernel.send_custom(comm, {"type": "undo_delete", "key": row["key"]})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 120, what="the undo")
    assert r.table(people).get(5).run(conn) == before and kernel.state(comm)["undo"] == ""


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
    assert kernel.run("from rethink_widgets.jupyter import feeds; len(feeds.LIVE)").text == "1"
    kernel.run("t.close()")
    assert kernel.run("len(feeds.LIVE), t.status").text == "(0, 'closed')"


def test_ordered_limit_point_and_mapped_queries(kernel: Kernel, conn: Any, r: RethinkDB, people: str) -> None:
    r.table(people).index_create("age").run(conn)
    r.table(people).index_wait("age").run(conn)
    top = open_table(kernel, f"LiveTable(r.table('{people}').order_by(index=r.desc('age')).limit(3))")
    assert cells(kernel.state(top), "age") == [49, 49, 49]
    r.table(people).get(5).update({"age": 99}).run(conn)
    kernel.wait_for(lambda: cells(kernel.state(top), "age") == [99, 49, 49], what="the new leader")
    point = open_table(kernel, f"LiveTable(r.table('{people}').get(7))")
    assert cells(kernel.state(point), "id") == [7]
    mapped = open_table(kernel, f"LiveTable(r.table('{people}').filter(r.row['id'] < 4).map(r.row['age']))")
    state = kernel.state(mapped)
    assert state["columns"] == ["value"] and state["editable"] is False
    assert sorted(cells(state, "value")) == sorted(r.table(people).filter(r.row["id"] < 4)["age"].run(conn))
    r.table(people).get(2).update({"age": 98}).run(conn)
    kernel.wait_for(lambda: 98 in cells(kernel.state(mapped), "value"), what="the mapped change")
    assert kernel.state(mapped)["total"] == 4


def test_rows_in_an_area_follow_the_data_in_and_out(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("at", geo=True).run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": 1, "at": r.point(0.5, 0.5)}, {"id": 2, "at": r.point(5, 5)}]).run(conn)
    area = "r.polygon([0, 0], [1, 0], [1, 1], [0, 1])"
    near = open_table(kernel, f"LiveTable(r.table('{table}').get_intersecting({area}, index='at'))")
    assert cells(kernel.state(near), "id") == [1] and kernel.state(near)["editable"] is True
    t.insert([{"id": 3, "at": r.point(0.3, 0.3)}, {"id": 4, "at": r.point(3, 3)}]).run(conn)
    t.get(1).update({"at": r.point(7, 7)}).run(conn)
    kernel.wait_for(lambda: cells(kernel.state(near), "id") == [3], what="one row in, one out, one elsewhere")


def test_top_rows_with_chosen_columns_keep_their_order(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("v").run(conn)
    t.index_wait("v").run(conn)
    t.insert([{"id": i, "v": i * 10, "note": "x"} for i in range(8)]).run(conn)
    query = t.order_by(index="v").pluck("id", "v").limit(5)
    comm = open_table(kernel, f"LiveTable(r.table('{table}').order_by(index='v').pluck('id', 'v').limit(5))")
    assert kernel.state(comm)["columns"] == ["id", "v"]
    assert cells(kernel.state(comm), "id") == [0, 1, 2, 3, 4]
    writes = [
        t.insert({"id": 20, "v": 15, "note": "y"}),  # comes in second, pushes out the last
        t.get(0).update({"v": 100}),  # leaves; the next best comes in
        t.get(3).update({"v": 5}),  # moves up to the front
        t.get(20).update({"note": "z"}),  # a column not shown: nothing moves
        t.get(1).delete(),
        t.insert([{"id": 30, "v": 1}, {"id": 31, "v": 12}, {"id": 32, "v": 999}]),  # one batch
        t.get_all(30, 2, 4).delete(),
        t.get(7).update({"v": -1}),
    ]

    def shows(expected: list[int]) -> bool:
        return cells(kernel.state(comm), "id") == expected

    for write in writes:
        write.run(conn)
        expected = [row["id"] for row in query.run(conn)]
        kernel.wait_for(functools.partial(shows, expected), what=f"{expected}")
        assert cells(kernel.state(comm), "v") == [row["v"] for row in query.run(conn)]


def test_rows_that_are_not_objects_sort_by_value(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "n": n} for i, n in enumerate([10, 100, 2, 9])]).run(conn)
    comm = open_table(kernel, f"LiveTable(r.table('{table}').map(r.row['n']))")
    kernel.send_update(comm, {"sort": ["value", "asc"]})
    kernel.wait_for(lambda: cells(kernel.state(comm), "value") == [2, 9, 10, 100], what="sorted by value")
    kernel.send_update(comm, {"sort": ["value", "desc"]})
    kernel.wait_for(lambda: cells(kernel.state(comm), "value") == [100, 10, 9, 2], what="sorted by value, descending")


def test_time_cells_are_marked_and_an_edit_round_trips(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert(
        [
            {"id": 1, "due": r.time(2024, 5, 1, 12, 30, 0, "+02:00"), "note": "2024-05-01T12:30:00+02:00"},
            {"id": 2, "log": {"at": r.time(2024, 5, 1, "Z")}, "note": "no time"},
        ]
    ).run(conn)
    comm = open_table(kernel, f"LiveTable(r.table('{table}'))")
    timed, plain = kernel.state(comm)["window_rows"]
    # A time goes as its ISO text, and its row says which cells are times: the string beside it reads the same.
    assert timed["cells"]["due"] == timed["cells"]["note"] == "2024-05-01T12:30:00+02:00"
    assert timed["times"] == ["due"]
    assert plain["cells"]["log"] == {"at": "2024-05-01T00:00:00+00:00"} and "times" not in plain  # nested: text
    # The text a view edits is read back as a time, in the offset typed, to the millisecond.
    typed = "2025-01-02T03:04:05.120-05:00"
    edit = {"type": "edit", "key": timed["key"], "rev": timed["rev"], "column": "due", "text": typed}
    kernel.send_custom(comm, edit)
    kernel.wait_for(lambda: cells(kernel.state(comm), "due")[0] == typed, what="the new time")
    due = r.table(table).get(1)["due"]
    assert due.type_of().run(conn) == "PTYPE<TIME>"
    assert (due.to_iso8601().run(conn), due.to_epoch_time().run(conn)) == (typed, 1735805045.12)
    # The time's own text sent back changes nothing: the database is not written, the row keeps its revision.
    timed = kernel.state(comm)["window_rows"][0]
    kernel.send_custom(comm, {**edit, "rev": timed["rev"], "text": timed["cells"]["due"]})
    mark = {"type": "edit", "key": plain["key"], "rev": plain["rev"], "column": "note", "text": "after"}
    kernel.send_custom(comm, mark)  # carried out after the one before it, so once it shows, that one is done
    kernel.wait_for(lambda: cells(kernel.state(comm), "note")[1] == "after", what="the edit after it")
    assert kernel.state(comm)["window_rows"][0] == timed and kernel.state(comm)["message"] == ""
    assert due.to_iso8601().run(conn) == typed
    kernel.send_custom(comm, {**edit, "rev": timed["rev"], "text": "next tuesday"})
    kernel.wait_for(lambda: "is not a time" in kernel.state(comm)["message"], what="the refusal")
    assert due.to_iso8601().run(conn) == typed


def test_the_filter_reads_a_time_as_its_iso_text(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert(
        [{"id": 1, "due": r.time(2024, 5, 1, 12, 30, 0, "+02:00")}, {"id": 2, "due": r.time(2024, 6, 1, "Z")}]
    ).run(conn)
    comm = open_table(kernel, f"LiveTable(r.table('{table}'))")
    kernel.send_update(comm, {"filter": "2024-05-01T12:30"})
    kernel.wait_for(lambda: kernel.state(comm)["matched"] == 1, what="the filter")
    assert cells(kernel.state(comm), "id") == [1]


def test_namespace_and_user_r_stays_synchronous(server: ServerProcess, tmp_path: Path, table: str) -> None:
    k = Kernel(tmp_path, {"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port)})
    try:
        k.run("LiveTable = 'mine'")
        assert not k.run("%load_ext rethink_widgets").error
        assert k.run("LiveTable").text == "'mine'"
        cell = k.run(f"r.table('{table}').insert({{'id': 1}}).run(conn)['inserted'], r.table('{table}').count().run()")
        assert cell.text == "(1, 1)"
        assert not k.run("%reload_ext rethink_widgets").error
        assert k.run(f"r.table('{table}').count().run(conn)").text == "1"
        assert not k.run("%unload_ext rethink_widgets").error
        assert k.run("'watch' in dir(), LiveTable").text == "(False, 'mine')"
    finally:
        k.close()


def test_watch_feed_and_status_magic(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    kernel.run(f"seen = []; w = watch(r.table('{table}'), seen.append)")
    cell = kernel.run(
        "import asyncio\n"
        "async def first(n):\n"
        "    got = []\n"
        f"    async for change in feed(r.table('{table}')):\n"
        "        got.append(change['new_val']['id'])\n"
        "        if len(got) == n: return got\n"
        "task = asyncio.ensure_future(first(2))\n"
        "from rethink_widgets.jupyter import feeds\n"
        "for _ in range(100):  # changes made before the watch and the feed are open would be missed\n"
        "    if [live.status for live in feeds.LIVE.values()] == ['ready'] * 2: break\n"
        "    await asyncio.sleep(0.1)"
    )
    assert not cell.error, cell.error
    r.table(table).insert([{"id": 1}, {"id": 2}]).run(conn)
    assert kernel.run("await asyncio.wait_for(task, 10)").text == "[1, 2]"
    kernel.run("import time\nfor _ in range(50):\n    if len(seen) == 2: break\n    await asyncio.sleep(0.1)")
    assert kernel.run("[c['new_val']['id'] for c in seen]").text == "[1, 2]"
    status = kernel.run("%rethink").stdout
    assert f"Watch test.{table}: ready" in status
    assert "stopped feed" in kernel.run("%rethink stop " + status.split("[")[1].split("]")[0]).stdout
    assert "no live feeds" in kernel.run("%rethink").stdout
    kernel.run("def broken(change): raise ValueError('boom')\nw2 = watch(r.table('" + table + "'), broken)")
    kernel.run("for _ in range(100):\n    if w2.status == 'ready': break\n    await asyncio.sleep(0.1)")
    r.table(table).insert({"id": 3}).run(conn)
    kernel.run("for _ in range(50):\n    if w2.status.startswith('error'): break\n    await asyncio.sleep(0.1)")
    assert kernel.run("w2.status").text == "'error: ValueError: boom'"


def test_server_restart_reconnects(restartable: Restartable, restartable_kernel: Kernel, r: RethinkDB) -> None:
    k, port = restartable_kernel, restartable.port
    conn = r.connect("127.0.0.1", port)
    r.table_create("live").run(conn)
    r.table("live").insert([{"id": 1}, {"id": 2}]).run(conn)
    comm = open_table(k, "LiveTable(r.table('live'))")
    restartable.kill()
    # It says to what, why and what to do (the database was configured: not the embedded server).
    lost = f"reconnecting: 127.0.0.1:{port} refuses connections (no server is running there); trying again"
    k.wait_for(lambda: k.state(comm)["status"].startswith(lost), what="reconnecting")
    assert k.state(comm)["status"].endswith("s; start it, or use another one with `%rethink connect HOST:PORT`")
    restartable.restart()
    conn = r.connect("127.0.0.1", port)
    r.table("live").get(1).delete().run(conn)
    r.table("live").insert({"id": 3}).run(conn)
    # The feed may come back between the two writes: ready with [2], then the insert follows.
    k.wait_for(
        lambda: k.state(comm)["status"] == "ready" and cells(k.state(comm), "id") == [2, 3],
        timeout=20,
        what="ready again, with the writes made while it was away",
    )


def test_requests_handled_on_a_subshell_thread(kernel: Kernel, conn: Any, r: RethinkDB, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'))")
    kernel.run("import threading; threads = []; t.on_msg(lambda *a: threads.append(threading.current_thread().name))")
    subshell = kernel.subshell()
    # ipykernel routes a comm's incoming messages to the subshell it last sent from, as JupyterLab's replies go:
    # let the widget's own updates (sent from the main loop) die down, then have it speak from the subshell.
    kernel.drain(quiet=1.5)
    kernel.run("t.message = 'from a subshell'", subshell=subshell)
    row = kernel.state(comm)["window_rows"][0]
    edit = {"type": "edit", "key": row["key"], "rev": row["rev"], "column": "name", "text": "via subshell"}
    kernel.send_custom(comm, edit, subshell=subshell)
    kernel.wait_for(lambda: cells(kernel.state(comm), "name")[0] == "via subshell", what="the edit")
    assert r.table(people).get(0).run(conn)["name"] == "via subshell"
    assert kernel.run("threads[-1] != threading.main_thread().name").text == "True"


def test_bad_input_from_a_view_or_python(kernel: Kernel, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'), page_size=10)")
    for sort in (["age", "sideways"], [["age", "asc"], ["age", "desc"]], [["age"]], "age"):
        kernel.send_update(comm, {"message": "", "sort": sort})
        kernel.wait_for(lambda: "sort must be" in kernel.state(comm)["message"], what=f"the refusal of {sort}")
    assert kernel.run("t.sort").text == "[]"
    assert "page_size must be a whole number" in kernel.run(f"LiveTable(r.table('{people}'), page_size=0)").error
    assert kernel.run("LiveTable('people')").error.startswith("TypeError: expected a ReQL query")
    kernel.run("import asyncio")
    cell = kernel.run("m = LiveTable(r.table('no_such_table')); await asyncio.sleep(1); m.status")
    assert cell.text == "'waiting for table test.no_such_table to be created'"
    cell = kernel.run("d = LiveTable(r.expr([1, 2]))")
    assert cell.error.startswith("ReqlQueryLogicError: LiveTable cannot follow [1, 2]: Cannot call `changes` on this")


def test_chosen_columns(kernel: Kernel, people: str) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{people}'), columns=['name', 'missing'])")
    state = kernel.state(comm)
    assert state["columns"] == ["name", "missing"]
    assert state["window_rows"][0]["cells"] == {"name": "p00"}  # only what is shown crosses the wire


def test_to_dataframe(kernel: Kernel, people: str) -> None:
    open_table(kernel, f"LiveTable(r.table('{people}'))")
    cell = kernel.run("df = t.to_dataframe(); list(df.columns), len(df), df['id'].tolist()[:3]")
    assert cell.text == "(['id', 'age', 'name'], 120, [0, 1, 2])", cell.error
    kernel.run(f"n = LiveTable(r.table('{people}').map(r.row['age'])); await n.ready()")
    assert kernel.run("d = n.to_dataframe(); list(d.columns), len(d)").text == "(['value'], 120)"


def test_an_edit_never_changes_what_the_view_cannot_show_exactly() -> None:
    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
    assert parse_cell('{"a": [1, 2.5, "x", null, true]}', {"a": [1]}) == {"a": [1, 2.5, "x", None, True]}
    for old in ({"at": when}, [b"\x00\x01"], {"n": 2**60}):
        with pytest.raises(ValueError, match="update it from Python instead"):
            parse_cell('{"at": "2024-05-01T00:00:00+00:00"}', old)


def test_a_row_added_to_a_filtered_table_gets_the_filters_fields(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    comm = open_table(kernel, f"LiveTable(r.table('{table}').filter({{'team': 'red'}}))")
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 1, "name": "ann"}', "ref": "v:1"})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 1, what="the new row, shown")
    # What the person typed wins: a row typed for another team goes there, and leaves this view.
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 2, "team": "blue"}', "ref": "v:2"})
    kernel.wait_for(lambda: (comm, {"type": "added", "ref": "v:2"}) in kernel.custom, what="the second insert")
    assert r.table(table).order_by("id").run(conn) == [
        {"id": 1, "name": "ann", "team": "red"},
        {"id": 2, "team": "blue"},
    ]
    assert kernel.state(comm)["total"] == 1

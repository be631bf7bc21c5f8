"""LiveChart in a real kernel against the embedded server: the Perspective table inside the widget holds exactly the
query's result, whatever the writes."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from chart_writes import HOLD_AFTER_A_CHUNK
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import Restartable

# Reads, in the kernel, what the Perspective table of chart `c` holds: its rows, the synthetic key left out. `c.table`
# writes the rows not written yet first; `shown_rows` reads the table the viewer shows as it is (the chart's own
# batches fill it).
READ_TABLE = """
import json
def chart_rows(c, table=None):
    view = (c.table if table is None else table).view()
    try:
        rows = view.to_json()
    finally:
        view.delete()
    return [{k: v for k, v in row.items() if not k.startswith('__key__')} for row in rows]
def shown_rows(c):
    return chart_rows(c, c.viewer.table)
"""


def normal(rows: list[dict[str, Any]]) -> list[str]:
    """Rows in an order-free form in which 2 and 2.0 are the same."""
    return sorted(
        json.dumps(
            {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in row.items()}, sort_keys=True
        )
        for row in rows
    )


def as_perspective(docs: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Documents as Perspective holds them: every column, missing fields null, times in epoch milliseconds."""
    return [{c: _cell(doc.get(c)) for c in columns} for doc in docs]


def _cell(value: Any) -> Any:
    return value.timestamp() * 1000 if isinstance(value, datetime.datetime) else value


def table_rows(kernel: Kernel, name: str = "c", shown: bool = False) -> list[str]:
    cell = kernel.run(f"print(json.dumps({'shown_rows' if shown else 'chart_rows'}({name})))")
    assert not cell.error, cell.error
    return normal(json.loads(cell.stdout))


def wait_equal(
    kernel: Kernel, expected: list[dict[str, Any]], name: str = "c", timeout: float = 30, shown: bool = False
) -> None:
    """Wait until the chart's Perspective table holds `expected` (generously: it follows a live feed); `shown`: the
    table the viewer shows, read without writing the rows not written yet."""
    want = normal(expected)
    deadline = time.monotonic() + timeout
    while (rows := table_rows(kernel, name, shown)) != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"the Perspective table holds {rows}, not {want}")
        time.sleep(0.2)


def open_chart(kernel: Kernel, code: str, name: str = "c") -> str:
    return kernel.open_widget(code, name, before=READ_TABLE)[0]


def test_the_table_follows_inserts_updates_and_deletes(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    at = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    docs = [{"id": i, "status": ["open", "done"][i % 2], "n": i * 10, "at": at} for i in range(5)]
    r.table(table).insert(docs).run(conn)
    cell = kernel.run(f"{READ_TABLE}\nc = LiveChart(r.table('{table}'), group_by=['status']); await c.ready(); c")
    assert not cell.error, cell.error
    assert cell.text == f"LiveChart(test.{table}, Y Bar, 5 rows, ready)"
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 5, what="the count")
    columns = ["id", "status", "n", "at"]
    wait_equal(kernel, as_perspective(docs, columns))
    schema = "{'id': 'integer', 'status': 'string', 'n': 'integer', 'at': 'datetime'}"
    assert kernel.run(f"c.table.schema() == {schema}").text == "True"
    # The viewer shows every column (not the synthetic key; the primary key first, as the database orders fields)
    # and has the options given.
    assert kernel.run("c.viewer.columns, c.viewer.group_by, c.viewer.plugin").text == (
        "(['id', 'at', 'n', 'status'], ['status'], 'Y Bar')"
    )

    r.table(table).insert({"id": 5, "status": "open", "n": 7, "at": at}).run(conn)
    r.table(table).get(1).update({"n": 1000}).run(conn)
    r.table(table).get(2).replace({"id": 2, "status": "done"}).run(conn)  # n and at gone: nulls, not the old values
    r.table(table).get(3).delete().run(conn)
    wait_equal(kernel, as_perspective(r.table(table).run(conn), columns))
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 5, what="the count")
    # Perspective's own pivot of the table is the database's own aggregate.
    pivot = kernel.run(
        "v = c.table.view(group_by=['status'], columns=['n'], aggregates={'n': 'sum'}); print(json.dumps("
        "v.to_columns())); v.delete()"
    )
    sums = json.loads(pivot.stdout)
    by_status = dict(zip([path[0] for path in sums["__ROW_PATH__"][1:]], sums["n"][1:], strict=True))
    database = r.table(table).group("status")["n"].sum().run(conn)
    assert by_status == database
    assert kernel.run("len(c.rows)").text == "5"


# Notes, in the kernel, when chart `c` changes its Perspective table (`written`, the loop's times), until cancelled.
WATCH_WRITES = """
import asyncio
written = []
async def watch_writes():
    seen = c.bridge.writes
    while True:
        written.extend([asyncio.get_running_loop().time()] * (c.bridge.writes - seen))
        seen = c.bridge.writes
        await asyncio.sleep(0.005)
watcher = asyncio.ensure_future(watch_writes())
"""


def test_a_burst_is_batched_and_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "n": 0} for i in range(100)]).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), plugin='Datagrid')")
    assert not kernel.run(WATCH_WRITES).error
    for step in range(1, 201):  # 20,000 changes
        r.table(table).update({"n": step}).run(conn, durability="soft")
    done = kernel.run("await c.wait_until(lambda c: {row['n'] for row in c.rows} == {200}, timeout=60)")
    assert not done.error, done.error
    times = json.loads(kernel.run("await asyncio.sleep(0.5); watcher.cancel(); print(json.dumps(written))").stdout)
    # Each batch is at most one Perspective update (no row went away): few a second.
    assert times
    per_second = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert per_second <= 40, f"{per_second} Perspective updates in one second"
    wait_equal(kernel, [{"id": i, "n": 200} for i in range(100)])


def test_after_a_burst_the_table_the_viewer_shows_is_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """The chart's own path, batches a few times a second in chunks, ends exact: read from the table the viewer
    shows, as it is (`c.table` would write the rows not written yet first)."""
    r.table(table).insert([{"id": i, "n": 0, "tag": "old"} for i in range(2_000)]).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid', group_by=['tag'])")
    for step in range(1, 11):  # over 20,000 changes: updates, inserts and deletes
        r.table(table).update({"n": step / 3}).run(conn, durability="soft")
        new = [{"id": 10_000 + step * 100 + i, "n": -step / 7, "tag": "new"} for i in range(100)]
        r.table(table).insert(new).run(conn, durability="soft")
        r.table(table).filter((r.row["id"] < 2_000) & (r.row["id"] % 100 == step)).delete().run(conn, durability="soft")
    expected = list(r.table(table).run(conn))
    assert len(expected) == 2_000 - 200 + 1_000
    wait_equal(kernel, expected, shown=True, timeout=60)
    assert kernel.run("c.bridge.pending, c.viewer.table is c.bridge.table, c.status").text == "(0, True, 'ready')"


def test_a_field_that_appears_or_changes_type_widens_the_schema(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": 1, "kind": "a", "v": 1}, {"id": 2, "kind": "b", "v": 2}]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), plugin='Datagrid', group_by=['kind'])")
    assert kernel.run("c.table.schema()['v']").text == "'integer'"
    viewer = kernel.state(comm)["_viewer"].removeprefix("IPY_MODEL_")
    # A person sorts in the viewer (its view sets the viewer's traits): that is kept too.
    kernel.send_update(viewer, {"sort": [["v", "desc"]]})
    kernel.wait_for(lambda: kernel.run("c.viewer.sort").text == "[['v', 'desc']]", what="the sort")
    first_table = kernel.run("c.table.get_name()").text

    r.table(table).insert({"id": 3, "kind": "a", "v": "three"}).run(conn)
    wait_equal(
        kernel,
        [{"id": 1, "kind": "a", "v": "1"}, {"id": 2, "kind": "b", "v": "2"}, {"id": 3, "kind": "a", "v": "three"}],
    )
    assert kernel.run("c.table.schema()['v']").text == "'string'"
    assert kernel.run("c.table.get_name()").text != first_table
    assert kernel.state(viewer)["table_name"] == kernel.run("print(c.table.get_name())").stdout.strip()
    assert kernel.run("c.viewer.plugin, c.viewer.group_by, c.viewer.sort").text == (
        "('Datagrid', ['kind'], [['v', 'desc']])"
    )
    # A field that appears later is a new column, shown (the person chose no columns); rows without it hold null.
    r.table(table).get(2).update({"weight": 2.5}).run(conn)
    wait_equal(
        kernel,
        [
            {"id": 1, "kind": "a", "v": "1", "weight": None},
            {"id": 2, "kind": "b", "v": "2", "weight": 2.5},
            {"id": 3, "kind": "a", "v": "three", "weight": None},
        ],
    )
    assert kernel.run("c.viewer.columns").text == "['id', 'kind', 'v', 'weight']"
    # Nested values are JSON text; integers beyond Perspective's 32 bits make the column float, not wrapped.
    r.table(table).insert({"id": 4, "tags": ["x", "y"], "big": 2**40}).run(conn)
    kernel.wait_for(lambda: kernel.run("'tags' in c.table.schema()").text == "True", what="the new columns")
    row = json.loads(kernel.run("print(json.dumps([x for x in chart_rows(c) if x['id'] == 4][0]))").stdout)
    assert (row["tags"], row["big"]) == ('["x","y"]', 2**40)


def test_keyless_queries_get_a_synthetic_key(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "status": "open" if i < 3 else "done", "n": 1} for i in range(5)]).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}').map(lambda d: {{'status': d['status'], 'n': d['n']}}))")
    wait_equal(kernel, [{"status": "open", "n": 1}] * 3 + [{"status": "done", "n": 1}] * 2)  # equal rows stay apart
    r.table(table).get(0).delete().run(conn)
    r.table(table).get(4).update({"n": 5}).run(conn)
    wait_equal(kernel, [{"status": "open", "n": 1}] * 2 + [{"status": "done", "n": 1}, {"status": "done", "n": 5}])
    # Rows that are not objects are one column, `value`.
    open_chart(kernel, f"LiveChart(r.table('{table}').map(r.row['n']), plugin='Datagrid')", name="values")
    wait_equal(kernel, [{"value": 1}] * 3 + [{"value": 5}], name="values")
    r.table(table).insert({"id": 9, "n": 2}).run(conn)
    wait_equal(kernel, [{"value": 1}] * 3 + [{"value": 5}, {"value": 2}], name="values")


# Holds chart `c`'s writes to its Perspective table until `held[0] = False`: the changes made meanwhile go in together.
HOLD_WRITES = """
held, write = [True], c.bridge.write
def held_write(*args, **kwargs):
    if not held[0]:
        write(*args, **kwargs)
c.bridge.write = held_write
"""


def test_rows_go_in_as_their_last_change_brought_them(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """The rows changed since the last write go in as the result holds them now: a row deleted then inserted again,
    one updated then deleted, one updated twice, one inserted and one deleted."""
    r.table(table).insert([{"id": i, "v": f"v{i}", "n": i} for i in range(4)]).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), plugin='Datagrid')")
    before = [{"id": i, "v": f"v{i}", "n": i} for i in range(4)]
    wait_equal(kernel, before)
    assert not kernel.run(HOLD_WRITES).error
    writes = [
        r.table(table).get(1).delete(),
        r.table(table).insert({"id": 1, "v": "again"}),
        r.table(table).get(2).update({"n": 20}),
        r.table(table).get(2).delete(),
        r.table(table).get(3).update({"n": 30}),
        r.table(table).get(3).update({"v": None}),
        r.table(table).insert({"id": 4, "v": "new"}),
        r.table(table).get(0).delete(),
    ]
    for write in writes:  # each one seen by the feed before the next, so that none is squashed into another
        write.run(conn)
        want = json.dumps(sorted(r.table(table).run(conn), key=lambda row: row["id"]))
        rows = "print(json.dumps(sorted(c.rows, key=lambda row: row['id'])))"
        kernel.wait_for(lambda: kernel.run(rows).stdout.strip() == want, what="the change in the result")  # noqa: B023
    assert table_rows(kernel) == normal(before)  # not written yet
    assert not kernel.run("held[0] = False; c._throttle.poke()").error
    wait_equal(
        kernel, [{"id": 1, "v": "again", "n": None}, {"id": 3, "v": None, "n": 30}, {"id": 4, "v": "new", "n": None}]
    )


def test_server_restart_resnapshots(restartable: Restartable, restartable_kernel: Kernel, r: RethinkDB) -> None:
    k = restartable_kernel
    conn = r.connect("127.0.0.1", restartable.port)
    r.table_create("live").run(conn)
    r.table("live").insert([{"id": 1, "n": 1}, {"id": 2, "n": 2}]).run(conn)
    comm = open_chart(k, "LiveChart(r.table('live'))")
    restartable.kill()
    k.wait_for(lambda: k.state(comm)["status"].startswith("reconnecting"), what="reconnecting")
    wait_equal(k, [{"id": 1, "n": 1}, {"id": 2, "n": 2}])  # what it showed stays meanwhile
    restartable.restart()
    conn = r.connect("127.0.0.1", restartable.port)
    r.table("live").get(1).delete().run(conn)
    r.table("live").insert({"id": 3, "n": 3}).run(conn)
    r.table("live").get(2).update({"n": 20}).run(conn)
    k.wait_for(lambda: k.state(comm)["status"] == "ready", timeout=20, what="ready again")
    wait_equal(k, [{"id": 2, "n": 20}, {"id": 3, "n": 3}])


# Feeds opened from now on keep at most 10 changes waiting on the server.
SMALL_QUEUE = """
from rethink_widgets.jupyter import feeds
_options = feeds.feed_options
feeds.feed_options = lambda info: {**_options(info), 'changefeed_queue_size': 10}
"""


def test_an_overflowed_feed_resnapshots(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "n": 0} for i in range(3)]).run(conn)
    kernel.open_widget(f"LiveChart(r.table('{table}'))", "c", before=READ_TABLE + SMALL_QUEUE)
    # A cell writes 50 changes with the kernel's own (synchronous) connection, holding the kernel's loop: the feed
    # reads none of them meanwhile, the server's queue for it overflows, and the chart takes a fresh snapshot.
    writes = (
        f"t = r.table('{table}')\nfor i in range(3, 53): t.insert({{'id': i, 'n': i}}).run()\nt.get(0).delete().run()"
    )
    assert not kernel.run(writes).error
    wait_equal(kernel, [{"id": 1, "n": 0}, {"id": 2, "n": 0}] + [{"id": i, "n": i} for i in range(3, 53)])
    kernel.wait_for(lambda: kernel.run("c.status").text == "'ready'", what="ready")
    # It was told of the overflow (the server skipped changes), and what it holds is whole again.
    assert "Changefeed cache over array size limit" in kernel.run("c.feed.last_error").text


def test_rerun_close_and_chart_of_a_live_table(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i, "status": "open"} for i in range(3)]).run(conn)
    code = f"{READ_TABLE}\nc = LiveChart(r.table('{table}')); await c.ready(); c"
    first = kernel.run(code)
    viewer = kernel.wait_for(lambda: kernel.state(kernel.widget(first))["_viewer"], what="the viewer")
    viewer = viewer.removeprefix("IPY_MODEL_")
    kernel.run(code)
    kernel.wait_for(lambda: {kernel.widget(first), viewer} <= kernel.closed, what="the first chart and its viewer")
    assert kernel.run("from rethink_widgets.jupyter import feeds; len(feeds.LIVE)").text == "1"
    cell = kernel.run(
        f"t = LiveTable(r.table('{table}')); d = t.chart('Datagrid', group_by=['status']); await d.ready(); d"
    )
    assert cell.text == f"LiveChart(test.{table}, Datagrid, 3 rows, ready)"
    wait_equal(kernel, [{"id": i, "status": "open"} for i in range(3)], name="d")
    kernel.run("c.close(); d.close()")
    assert kernel.run("len(feeds.LIVE), c.status, d.status").text == "(1, 'closed', 'closed')"


def test_refusals(kernel: Kernel, table: str) -> None:
    # Without Perspective, LiveChart says which extra brings it.
    cell = kernel.run(f"import sys; sys.modules['perspective'] = None\nLiveChart(r.table('{table}'))")
    assert cell.error == (
        "ImportError: LiveChart needs Perspective, installed with the charts extra: "
        "pip install 'rethink_widgets[charts]'"
    )
    kernel.run("del sys.modules['perspective']")
    cell = kernel.run(f"LiveChart(r.table('{table}'), plugin='Pie')")
    assert cell.error.startswith("ValueError: plugin must be one of 'Datagrid', 'Y Bar'")
    # An option Perspective's viewer does not take, or a value of the wrong shape, is refused in the cell.
    cell = kernel.run(f"LiveChart(r.table('{table}'), group_bye=['status'])")
    assert cell.error == (
        "ValueError: LiveChart has no option 'group_bye'; Perspective's viewer options are: plugin, columns, "
        "columns_config, group_by, split_by, group_rollup_mode, split_rollup_mode, aggregates, sort, filter, "
        "expressions, plugin_config, settings, theme, title"
    )
    cell = kernel.run(f"LiveChart(r.table('{table}'), columns=['n', 3])")
    assert cell.error == "ValueError: LiveChart's columns, group_by and split_by name columns by text; not ['n', 3]"
    cell = kernel.run(f"LiveChart(r.table('{table}'), aggregates=['n'])")
    assert cell.error == (
        "ValueError: LiveChart's options are refused: The 'aggregates' trait of a PerspectiveViewer instance "
        "expected a dict, not the list ['n']."
    )
    # The viewer is read-only: an edit there would change the chart, not the database.
    cell = kernel.run(f"LiveChart(r.table('{table}'), 'Datagrid', plugin_config={{'edit_mode': 'EDIT'}})")
    assert cell.error.startswith("ValueError: LiveChart's viewer is read-only: an edit in it would change the chart")
    assert kernel.run("from rethink_widgets.jupyter import feeds; len(feeds.LIVE)").text == "0"


def test_the_viewer_stays_read_only(kernel: Kernel, table: str) -> None:
    """A view that turns the datagrid's edit mode on (it syncs the viewer's plugin_config) gets it set back."""
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    kernel.run("c.bridge.viewer.plugin_config = {'edit_mode': 'EDIT', 'scroll_lock': True}")
    held = kernel.run("print(c.bridge.viewer.plugin_config)").stdout.strip()
    assert held == "{'edit_mode': 'READ_ONLY', 'scroll_lock': True}"


# Opens chart `c` of `{table}` and notes, at each of its updates, what the chart says and what its Perspective table
# holds: (status, progress, rows in the table, the table's name, whether views have the viewer yet).
STREAMING = """
samples = []
def sample(_):
    samples.append((c.status, dict(c.progress), c.bridge.table.size(), c.bridge.table.get_name(), bool(c._viewer)))
c = LiveChart(r.table('{table}'), 'Datagrid', {options})
c.observe(sample, 'version')
"""
BIG = 20_000  # rows: ten times the first chunk written (chart_table.FIRST_CHUNK)


def fill_big(conn: Any, r: RethinkDB, table: str, doc: Any = None) -> list[dict[str, Any]]:
    docs = [doc(i) if doc else {"id": i, "name": f"row {i}", "n": i % 97} for i in range(BIG)]
    for start in range(0, BIG, 5_000):
        r.table(table).insert(docs[start : start + 5_000]).run(conn, durability="soft")
    return docs


def samples(kernel: Kernel) -> list[tuple[str, dict[str, Any], int, str, bool]]:
    return [tuple(sample) for sample in json.loads(kernel.run("print(json.dumps(samples))").stdout)]


def assert_rising(progress: list[dict[str, Any] | None]) -> None:
    """The count of rows written, as a fill went on, never went back, and never past the count of all."""
    shown = [p for p in progress if p]
    counts = [p["rows"] for p in shown]
    assert counts == sorted(counts) and all(p["of"] is None or p["rows"] <= p["of"] for p in shown), shown


def test_a_big_snapshot_streams_into_the_table(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    docs = fill_big(conn, r, table)
    cell = kernel.run(f"{READ_TABLE}{HOLD_AFTER_A_CHUNK}{STREAMING.format(table=table, options='')}c")
    assert not cell.error, cell.error

    def early() -> list[tuple[dict[str, Any], int, bool]]:
        return [(progress, held, shown) for status, progress, held, _, shown in samples(kernel) if status != "ready"]

    # Before the chart was ready its table held some of the rows, the viewer shown over them, and the status said
    # how many were written: those in, and those handed to Perspective's thread, which it takes in at its next poll.
    kernel.wait_for(
        lambda: any(0 < held < BIG and shown for _, held, shown in early()), what="the viewer over some rows"
    )
    assert all(progress["rows"] >= held for progress, held, _ in early()), early()
    ready = kernel.run("held[0] = False; ChartTable.write = write; c._throttle.poke(); await c.ready(60); c")
    assert ready.text == f"LiveChart(test.{table}, Datagrid, {BIG} rows, ready)"
    assert kernel.run("c.bridge.table.size(), c.progress").text == f"({BIG}, {{}})"
    wait_equal(kernel, docs)
    # What views were sent: `initializing` with the rows written so far, then `ready` once every row is in.
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    sent = [state for _, c, state in kernel.updates if c == comm]
    assert any(0 < (state.get("progress") or {}).get("rows", 0) < BIG for state in sent), sent
    assert kernel.state(comm)["progress"] == {}
    assert_rising([state.get("progress") for state in sent])


def test_writes_during_a_streamed_snapshot_end_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    fill_big(conn, r, table)
    # Writes made as soon as the table holds the first rows, while the rest stream in.
    t = f"r.table('{table}')"
    writes = (
        f"{t}.get(5).delete().run(); {t}.get({BIG - 1}).delete().run()\n"
        f"{t}.get(7).update({{'n': -7}}).run(); {t}.get({BIG - 2}).update({{'n': -1}}).run()\n"
        f"{t}.insert({{'id': {BIG}, 'name': 'new', 'n': 1}}).run()\n"
    )
    code = STREAMING.format(table=table, options="")
    cell = kernel.run(f"{READ_TABLE}{code}await c.wait_until(lambda c: c.bridge.table.size() > 0)\n{writes}")
    assert not cell.error, cell.error
    assert not kernel.run("await c.ready(60)").error
    wait_equal(kernel, list(r.table(table).run(conn)))


def test_a_field_widening_mid_stream_makes_the_table_anew(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    # The rows come in by id: the last ones have `v` as text, and one has a field the others lack.
    def doc(i: int) -> dict[str, Any]:
        row = {"id": i, "kind": "ab"[i % 2], "v": i if i < BIG - 100 else f"v{i}"}
        return row | {"extra": 1.5} if i == BIG - 1 else row

    docs = fill_big(conn, r, table, doc)
    code = STREAMING.format(table=table, options="group_by=['kind'], sort=[['v', 'desc']]")
    cell = kernel.run(f"{READ_TABLE}{code}await c.ready(60); c")
    assert not cell.error, cell.error
    # The first rows went into a table whose `v` held integers, before the chart was ready (Perspective's thread may
    # not have taken them in yet when a sample is taken: the table's name tells it); the schema widened as the later
    # rows came, and the table was made anew.
    early = {name for status, _, _, name, _ in samples(kernel) if status != "ready"}
    final = kernel.run("print(c.table.get_name())").stdout.strip()
    assert early - {final}, (early, final)
    # The count of rows written went on from where it was: the new table filled quickly, from its first row.
    assert_rising([progress for _, progress, *_ in samples(kernel)])
    assert kernel.run("c.table.schema()['v'], c.table.schema()['extra']").text == "('string', 'float')"
    assert kernel.run("c.viewer.group_by, c.viewer.sort, c.viewer.columns").text == (
        "(['kind'], [['v', 'desc']], ['id', 'kind', 'v', 'extra'])"
    )
    assert kernel.state(kernel.widget(cell))["_viewer"] is not None
    wait_equal(kernel, [{"extra": None} | row | {"v": str(row["v"])} for row in docs])


def test_the_count_of_rows_written_never_goes_back(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Rows in the middle of the snapshot widen `v`: the table is made anew and filled again from its first row,
    while the count of rows written goes on from where it was. Chunks of 1,000 rows: many counts."""
    fill_big(conn, r, table, lambda i: {"id": i, "v": f"v{i}" if BIG // 2 <= i < BIG // 2 + 10 else i})
    small_chunks = (
        "from rethink_widgets.jupyter import chart_table\nchart_table.FIRST_CHUNK = chart_table.LAST_CHUNK = 1_000"
    )
    code = STREAMING.format(table=table, options="")
    cell = kernel.run(f"{READ_TABLE}{small_chunks}\n{code}await c.ready(60); c")
    assert not cell.error, cell.error
    taken = samples(kernel)
    assert len({name for *_, name, _ in taken}) == 2, taken  # made anew once
    assert len([progress for _, progress, *_ in taken if progress.get("rows")]) >= 5, taken
    assert_rising([progress for _, progress, *_ in taken])
    assert taken[-1][:2] == ("ready", {})


def test_options_perspective_refuses_are_told(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Options Perspective refuses once it knows the columns are told in the status line (`message`), whether given
    to LiveChart, set from Python or in the viewer; fixing them clears it."""
    r.table(table).insert([{"id": i, "status": "ab"[i % 2], "n": i} for i in range(4)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), group_by=['status'], aggregates={{'n': 'bogus'}})")

    def says(text: str) -> None:
        kernel.wait_for(lambda: kernel.state(comm)["message"] == text, what=f"the message {text!r}")

    says(
        "Perspective refused the option aggregates={'n': 'bogus'}: "
        "Invalid aggregate 'bogus' for column 'n' found in View aggregates."
    )
    assert kernel.run("c.message").text.startswith('"Perspective refused the option aggregates=')
    kernel.run("c.viewer.aggregates = {'n': 'sum'}")
    says("")
    # Set in the viewer, by a person: a bad sort direction, then a good one.
    viewer = kernel.state(comm)["_viewer"].removeprefix("IPY_MODEL_")
    kernel.send_update(viewer, {"sort": [["n", "sideways"]]})
    kernel.wait_for(lambda: "sort=[['n', 'sideways']]: unknown variant `sideways`" in kernel.state(comm)["message"])
    kernel.send_update(viewer, {"sort": [["n", "desc"]]})
    says("")
    kernel.run("c.viewer.filter = [['n', '~~', 1]]")
    says("Perspective refused the option filter=[['n', '~~', 1]]: Unknown filter operator string: `~~`")
    kernel.run("c.viewer.filter = [['n', '>', 1]]")
    says("")
    # A field no row has yet is not refused: the chart waits for it, and uses it once a row has it.
    kernel.run("c.viewer.split_by = ['region']")
    says("Waiting for fields no row has yet: 'region' (in split_by); the chart uses each once a row has it.")
    r.table(table).insert({"id": 9, "status": "a", "n": 1, "region": "north"}).run(conn)
    says("")
    assert kernel.run("c.viewer.split_by, c.viewer.sort").text == "(['region'], [['n', 'desc']])"


def test_the_viewer_is_there_in_the_making_cell(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """`c.viewer` is Perspective's viewer at once, before any row arrives; views draw it once its table holds rows,
    with what was set."""
    r.table(table).insert([{"id": i, "status": "ab"[i % 2], "n": i} for i in range(3)]).run(conn)
    cell = kernel.run(f"c = LiveChart(r.table('{table}')); c.viewer.plugin = 'Y Line'; c.viewer.group_by = ['status']")
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    assert kernel.state(comm)["_viewer"] is None  # no row in its table yet
    assert kernel.run("await c.ready(); c").text == f"LiveChart(test.{table}, Y Line, 3 rows, ready)"
    viewer = kernel.wait_for(lambda: kernel.state(comm)["_viewer"], what="the viewer").removeprefix("IPY_MODEL_")
    assert (kernel.state(viewer)["plugin"], kernel.state(viewer)["group_by"]) == ("Y Line", ["status"])
    assert kernel.run("c.viewer is c.bridge.viewer").text == "True"


def test_viewer_changes_from_a_subshell_are_applied_on_the_main_thread(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    viewer = kernel.state(comm)["_viewer"].removeprefix("IPY_MODEL_")
    kernel.run(
        "import threading; on_main = []\n"
        "c.viewer.observe(lambda _: on_main.append(threading.current_thread() is threading.main_thread()), 'sort')"
    )
    subshell = kernel.subshell()
    kernel.drain(quiet=1.5)  # the widgets' own updates from the main loop die down ...
    kernel.run("c.viewer.title = 'from a subshell'", subshell=subshell)  # ... so the viewer's comm hears from there
    kernel.send_update(viewer, {"sort": [["n", "desc"]]}, subshell)
    kernel.wait_for(lambda: kernel.run("c.viewer.sort").text == "[['n', 'desc']]", what="the sort")
    assert kernel.run("on_main").text == "[True]"


def test_a_change_views_need_not_redraw_for_sends_them_nothing(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """A changed row goes to the Perspective table (its viewer's views are told by Perspective); the chart's own
    views, whose status and count stay, are sent nothing."""
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'))")
    kernel.drain(quiet=1)
    kernel.updates.clear()
    r.table(table).get(1).update({"n": 10}).run(conn)
    wait_equal(kernel, [{"id": 0, "n": 0}, {"id": 1, "n": 10}, {"id": 2, "n": 2}])
    kernel.drain(quiet=1)
    assert [state for _, c, state in kernel.updates if c == comm] == []
    # A row more changes the count: views get it.
    r.table(table).insert({"id": 3, "n": 3}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 4, what="the count")


def test_a_refused_rerun_still_ends_the_earlier_run(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Running a cell again ends what its earlier run made, even when the new chart or table is refused."""
    r.table(table).insert([{"id": i, "status": "open"} for i in range(3)]).run(conn)
    live = "len(__import__('rethink_widgets.jupyter.feeds').jupyter.feeds.LIVE)"
    first = kernel.run(f"c = LiveChart(r.table('{table}'), 'Y Bar'); await c.ready(); c", cell_id="chart")
    assert not first.error, first.error
    again = kernel.run(f"c = LiveChart(r.table('{table}'), 'Y Barr')", cell_id="chart")
    assert again.error.startswith("ValueError: plugin must be one of")
    kernel.wait_for(lambda: kernel.widget(first) in kernel.closed, what="the first chart's widget closed")
    assert kernel.run(f"c.status, {live}").text == "('closed', 0)"
    table_cell = kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready(); t", cell_id="table")
    assert kernel.run(f"LiveTable(r.table('{table}'), page_size=0)", cell_id="table").error.startswith("ValueError")
    kernel.wait_for(lambda: kernel.widget(table_cell) in kernel.closed, what="the first table's widget closed")
    assert kernel.run(f"t.status, {live}").text == "('closed', 0)"


def test_a_live_table_s_chart_on_its_own_or_another_connection(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """`LiveTable.chart` charts the table's query on the table's database, or on the connection given; a chart it
    refuses leaves nothing running."""
    r.table(table).insert([{"id": i, "status": "open"} for i in range(3)]).run(conn)
    assert not kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready()").error
    made = kernel.run(
        "import os\n"
        "other = r.connect(os.environ['RETHINKDB_HOST'], int(os.environ['RETHINKDB_PORT']))\n"
        "d = t.chart('Datagrid', conn=other, group_by=['status']); await d.ready(); d"
    )
    assert made.text == f"LiveChart(test.{table}, Datagrid, 3 rows, ready)", made.error
    r.table(table).insert({"id": 3, "status": "done"}).run(conn)
    assert not kernel.run("await d.wait_until(lambda d: len(d.rows) == 4)").error
    refused = kernel.run("t.chart('Nope')")
    assert refused.error.startswith("ValueError: plugin must be one of")
    live = "from rethink_widgets.jupyter import feeds; sorted(f.kind for f in feeds.LIVE.values())"
    assert kernel.run(live).text == "['LiveChart', 'LiveTable']"


def test_a_plugin_set_later_is_checked_as_one_given(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """A plugin Perspective does not have is refused when set on the viewer, from Python or by a view, as when given
    to LiveChart; every plugin of Perspective's is taken."""
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Density')")
    cell = kernel.run("c.viewer.plugin = 'Nope'")
    assert cell.error.startswith("TraitError: plugin must be one of 'Datagrid', 'Y Bar'")
    assert cell.error.endswith("; not 'Nope'")
    assert kernel.run("c.viewer.plugin").text == "'Density'"
    viewer = kernel.state(comm)["_viewer"].removeprefix("IPY_MODEL_")
    kernel.drain()
    kernel.updates.clear()
    kernel.send_update(viewer, {"plugin": "Nope"})
    sent_back = [("plugin", "Density")]
    kernel.wait_for(lambda: [list(s.items()) for _, c, s in kernel.updates if c == viewer] == [sent_back])
    assert kernel.run("c.viewer.plugin").text == "'Density'"
    kernel.send_update(viewer, {"plugin": "Map Line"})
    kernel.wait_for(lambda: kernel.run("c.viewer.plugin").text == "'Map Line'", what="the plugin a view chose")


# Makes, in the kernel, a view of the table chart `c`'s viewer shows with the viewer's configuration, as the viewer's
# view in a page does; prints its columns, or Perspective's error.
VIEWER_VIEW = """
def viewer_view(c):
    options = ('group_by', 'split_by', 'columns', 'aggregates', 'sort', 'filter', 'expressions')
    try:
        view = c.viewer.table.view(**{name: getattr(c.viewer, name) for name in options})
    except Exception as error:
        return print(error)
    try:
        print(json.dumps(view.to_columns()))
    finally:
        view.delete()
"""


def test_an_aggregate_that_fails_over_rows_is_left_out_and_told(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """The average of text fails in Perspective only over rows, and breaks the table it was tried on (its next
    update crashed the kernel): the viewer leaves it out, so no view in a page makes it, and the status line says
    so; the chart goes on following writes."""
    r.table(table).insert([{"id": i, "status": "ab"[i % 2], "n": i} for i in range(4)]).run(conn)
    options = "group_by=['status'], columns=['status', 'n'], aggregates={'status': 'avg', 'n': 'sum'}"
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Y Bar', {options})")
    told = (
        "Perspective refused the option aggregates={'status': 'avg'}: Unexpected dtype once the table holds rows. "
        "The chart leaves it out (Perspective would break the chart's table) and uses the column's default aggregate."
    )
    kernel.wait_for(lambda: kernel.state(comm)["message"] == told, what="the aggregate told")
    assert kernel.run("c.viewer.aggregates, c.viewer.aggregates_set_aside").text == (
        "({'n': 'sum'}, {'status': ['avg', 'Unexpected dtype']})"
    )
    assert not kernel.run(VIEWER_VIEW).error
    shown = json.loads(kernel.run("viewer_view(c)").stdout)
    assert shown["n"] == [6, 2, 4]  # the sums of n: in all, for a, for b
    r.table(table).insert({"id": 4, "status": "a", "n": 10}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 5, what="the new row counted")
    wait_viewer = "await c.wait_until(lambda c: c.viewer.table.size() == 5, timeout=30); viewer_view(c)"
    assert json.loads(kernel.run(wait_viewer).stdout)["n"] == [16, 12, 4]
    # Aggregates set anew: what was set aside is forgotten, and the status line says nothing more.
    kernel.run("c.viewer.aggregates = {'status': 'count', 'n': 'sum'}")
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "", what="the message cleared")
    assert kernel.run("c.viewer.aggregates_set_aside").text == "{}"
    # Set from Python, it is left out at once.
    kernel.run("c.viewer.aggregates = {'status': 'mean'}")
    assert kernel.run("c.viewer.aggregates").text == "{}"
    kernel.wait_for(lambda: "aggregates={'status': 'mean'}" in kernel.state(comm)["message"], what="told again")


def test_an_aggregate_broken_by_a_widening_is_left_out_and_told(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """An average of numbers is taken; once a value of text makes the column text, it is left out of the new
    table's configuration, and told."""
    r.table(table).insert([{"id": i, "kind": "ab"[i % 2], "v": i} for i in range(4)]).run(conn)
    options = "group_by=['kind'], columns=['v'], aggregates={'v': 'avg'}"
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid', {options})")
    assert not kernel.run(VIEWER_VIEW).error
    assert json.loads(kernel.run("viewer_view(c)").stdout)["v"] == [1.5, 1, 2]
    r.table(table).insert({"id": 4, "kind": "a", "v": "four"}).run(conn)
    kernel.wait_for(lambda: "aggregates={'v': 'avg'}: Unexpected dtype" in kernel.state(comm)["message"])
    assert kernel.run("c.viewer.table.schema()['v'], c.viewer.aggregates").text == "('string', {})"
    r.table(table).insert({"id": 5, "kind": "b", "v": 5}).run(conn)
    wait_viewer = "await c.wait_until(lambda c: c.viewer.table.size() == 6, timeout=30); viewer_view(c)"
    assert json.loads(kernel.run(wait_viewer).stdout)["v"] == [6, 3, 3]  # counted, Perspective's default for text
    assert "Unexpected dtype" in kernel.state(comm)["message"]


def test_a_column_no_row_has_is_told(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """A mistyped (or not yet seen) column asked of LiveChart is told as a group_by one is; the viewer shows the
    columns that exist meanwhile, and takes the column in once a row has it."""
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Y Bar', columns=['nn'], group_by=['id'])")
    told = "Waiting for fields no row has yet: 'nn' (in columns); the chart uses each once a row has it."
    kernel.wait_for(lambda: kernel.state(comm)["message"] == told, what="the column told")
    assert kernel.run("sorted(c.viewer.columns)").text == "['id', 'n']"
    r.table(table).insert({"id": 3, "n": 3, "nn": 30}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "", what="the message cleared")
    assert kernel.run("c.viewer.columns").text == "['nn']"
    # Among columns that exist, the missing one is told too; columns chosen anew say nothing of it.
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Y Bar', columns=['n', 'm'])", name="d")
    told = "Waiting for fields no row has yet: 'm' (in columns); the chart uses each once a row has it."
    kernel.wait_for(lambda: kernel.state(comm)["message"] == told, what="the column told")
    assert kernel.run("d.viewer.columns").text == "['n']"
    kernel.run("d.viewer.columns = ['id', 'n']")
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "", what="the message cleared")

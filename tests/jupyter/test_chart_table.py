"""LiveChart's bridge to Perspective (chart_table.ChartTable) in a real kernel against the embedded server: numbers
and times as the driver gives them, values of every kind, the synthetic key, the viewer's configuration through a
widening, refusals."""

from __future__ import annotations

import datetime
import json
import math
import random
from typing import Any

from kernel import Kernel
from rethinkdb import RethinkDB
from test_live_chart import BIG, fill_big, normal, open_chart, table_rows, wait_equal

# In the kernel: `bridged(docs)` is a ChartTable holding rows that come from elsewhere than the driver (a result
# filled by hand), written whole; `held(bridge)` what its table holds, the synthetic key left out.
BRIDGE = """
import asyncio, json
from rethink_widgets.jupyter.chart_table import ChartTable
from rethink_widgets.jupyter.results import ResultSet
def bridged(docs, primary_key='id'):
    result = ResultSet(primary_key)
    for doc in docs:
        result.apply({'new_val': doc})
    bridge = ChartTable(asyncio.get_event_loop(), {}, lambda error: None)
    bridge.refill(result)
    bridge.write(result, everything=True)
    return bridge
def held(bridge):
    view = bridge.table.view()
    try:
        return [{k: v for k, v in row.items() if not k.startswith('__key__')} for row in view.to_json()]
    finally:
        view.delete()
"""


def test_whole_number_keys_are_the_index_and_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    # RethinkDB's numbers are floats: the driver gives a whole one within 2^53 as an integer, and Perspective holds
    # those exactly; 32 bits or beyond make the column float.
    ids = [2**53, -(2**53), 2**53 - 1, 2**31, 7, 0, -1]
    r.table(table).insert([{"id": i, "n": i, "s": str(i)} for i in ids]).run(conn)
    docs = list(r.table(table).run(conn))
    assert {type(doc["id"]) for doc in docs} == {int}
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    assert kernel.run("c.table.schema()['id'], c.table.get_index()").text == "('float', 'id')"
    wait_equal(kernel, docs)
    rows = json.loads(kernel.run("print(json.dumps(chart_rows(c)))").stdout)
    assert sorted(row["id"] for row in rows) == sorted(map(float, ids))  # each exactly, none lost
    assert all(row["id"] == row["n"] == float(row["s"]) for row in rows)
    # A change finds its row by that key.
    r.table(table).get(2**53 - 1).update({"n": 1}).run(conn)
    r.table(table).get(-(2**53)).delete().run(conn)
    wait_equal(kernel, list(r.table(table).run(conn)), shown=True)


def neighbours(x: float) -> list[float]:
    """`x` and the floats just below and above it."""
    return [math.nextafter(x, -math.inf), x, math.nextafter(x, math.inf)]


def test_float_keys_a_bit_apart_stay_apart_and_exact(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Perspective reads a float given as a number a bit off now and then (0.9452706955539223 and the next float up
    would be one row): keys that are not whole numbers within 2^53 make the index the synthetic key, and floats go in
    as their text, which it reads exactly."""
    floats = neighbours(0.9452706955539223) + neighbours(2.0**60) + neighbours(-1e-300) + [1.5, 2**53 + 2.0]
    random.seed(15)
    floats += [random.random() for _ in range(200)]  # about one in ten would come out a bit off
    docs = [{"id": x, "v": x, "n": i} for i, x in enumerate(floats)]
    r.table(table).insert(docs).run(conn)
    assert sorted(doc["id"] for doc in r.table(table).run(conn)) == sorted(floats)  # the database keeps them apart
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    assert kernel.run("c.table.schema()['id'], c.table.get_index()").text == "('float', '__key__')"
    wait_equal(kernel, docs, shown=True)
    rows = json.loads(kernel.run("print(json.dumps(shown_rows(c)))").stdout)
    assert len(rows) == len(floats)
    assert all(row["id"] == row["v"] == floats[row["n"]] for row in rows)  # exactly, bit for bit

    # Each change finds its own row, not its neighbour's.
    r.table(table).get(floats[1]).delete().run(conn)
    r.table(table).get(floats[4]).update({"v": floats[5]}).run(conn)
    r.table(table).get(floats[6]).delete().run(conn)
    wait_equal(kernel, list(r.table(table).run(conn)), shown=True)
    r.table(table).delete().run(conn)
    wait_equal(kernel, [], shown=True)


def test_whole_number_keys_up_to_2_53_are_the_index_and_each_change_finds_its_row(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """Whole-number keys within 2^53 (microsecond timestamps, say) are the index, a float column once they pass 32
    bits: a delete removes its own row, never its neighbour's (as floats, Perspective misread them from 2^50 on)."""
    random.seed(50)
    ids = sorted({random.randrange(2**50, 2**53) for _ in range(200)} | {2**53 - i for i in range(1, 6)})
    docs = [{"id": key, "n": i} for i, key in enumerate(ids)]
    r.table(table).insert(docs).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    assert kernel.run("c.table.schema()['id'], c.table.get_index()").text == "('float', 'id')"
    wait_equal(kernel, docs, shown=True)
    r.table(table).get_all(*ids[::2]).delete().run(conn)
    r.table(table).get(2**53 - 1).delete().run(conn)
    wait_equal(kernel, list(r.table(table).run(conn)), shown=True)


def test_integers_beyond_what_a_float_holds_are_exact_text(kernel: Kernel) -> None:
    """Integers the driver never gives (beyond 2^53), in rows from elsewhere: text with every digit, and a key of
    them is the synthetic one (a float index would make 2^60 and 2^60 + 1 one row)."""
    assert not kernel.run(BRIDGE).error
    code = "b = bridged([{'id': 2**60, 'n': 2**60 + 1}, {'id': 2**60 + 1, 'n': 1}, {'id': 3, 'n': 2**70}])"
    assert not kernel.run(code).error
    schema = "{'__key__': 'string', 'id': 'string', 'n': 'string'}"
    assert kernel.run(f"b.table.schema() == {schema}, b.table.get_index()").text == "(True, '__key__')"
    rows = json.loads(kernel.run("print(json.dumps(held(b))); b.close()").stdout)
    assert sorted(rows, key=lambda row: row["n"]) == [
        {"id": str(2**60 + 1), "n": "1"},
        {"id": str(2**60), "n": str(2**60 + 1)},
        {"id": "3", "n": str(2**70)},
    ]


def test_each_kind_of_value_and_times_read_alike(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    at = datetime.datetime(2024, 5, 1, 14, 30, tzinfo=plus_two)  # 12:30 UTC
    later = at + datetime.timedelta(milliseconds=250)
    docs = [
        {"id": 1, "flag": True, "small": 5, "big": 2**40, "x": 1.5, "name": "a", "at": at, "mixed": at},
        {"id": 2, "at": at.astimezone(datetime.UTC), "mixed": "soon", "nested": {"when": later, "n": [1]}},
        {"id": 3, "mixed": later.astimezone(datetime.UTC), "bytes": r.binary(b"\x00\x01"), "nothing": None},
    ]
    r.table(table).insert(docs).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    kinds = json.loads(kernel.run("print(json.dumps({k: sorted(v) for k, v in c.bridge.kinds.items()}))").stdout)
    assert kinds == {
        "id": ["integer"],
        "flag": ["boolean"],
        "small": ["integer"],
        "big": ["bigint"],
        "x": ["float"],
        "name": ["string"],
        "at": ["datetime"],
        "mixed": ["datetime", "string"],
        "nested": ["json"],
        "bytes": ["json"],
        "nothing": [],
    }
    schema = json.loads(kernel.run("print(json.dumps(c.table.schema()))").stdout)
    assert schema == {
        "id": "integer",
        "flag": "boolean",
        "small": "integer",
        "big": "float",
        "x": "float",
        "name": "string",
        "at": "datetime",
        "mixed": "string",
        "nested": "string",
        "bytes": "string",
    }
    # The same instant reads the same whatever its offset: a datetime column holds it in UTC, and so does text.
    epoch_ms = at.timestamp() * 1000
    none = dict.fromkeys(schema)
    wait_equal(
        kernel,
        [
            none | docs[0] | {"at": epoch_ms, "mixed": "2024-05-01T12:30:00+00:00"},
            none
            | {"id": 2, "at": epoch_ms, "mixed": "soon", "nested": '{"n":[1],"when":"2024-05-01T12:30:00.250+00:00"}'},
            none | {"id": 3, "mixed": "2024-05-01T12:30:00.250+00:00", "bytes": "<binary, 2 bytes>"},
        ],
    )


def test_text_with_nul_and_binary_data_are_shown_visibly(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Perspective cuts text at a NUL: a NUL shows as U+2400; binary data shows by its size, as in LiveTable, also
    inside nested values."""
    docs = [
        {"id": "a", "s": "nul\x00inside\x00", "b": r.binary(b"\x00\x01"), "nested": {"b": r.binary(b"abc")}},
        {"id": "b", "s": "\x00", "b": r.binary(b""), "nested": ["x\x00y"]},
        {"id": "c", "s": "plain", "b": None, "nested": None},
    ]
    assert r.table(table).insert(docs).run(conn)["inserted"] == 3
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid', group_by=['s'])")
    expected: list[dict[str, Any]] = [
        {"id": "a", "s": "nul\u2400inside\u2400", "b": "<binary, 2 bytes>", "nested": '{"b":"<binary, 3 bytes>"}'},
        {"id": "b", "s": "\u2400", "b": "<binary, 0 bytes>", "nested": '["x\\u0000y"]'},
        {"id": "c", "s": "plain", "b": None, "nested": None},
    ]
    wait_equal(kernel, expected, shown=True)
    r.table(table).get("b").update({"s": "x\x00"}).run(conn)
    r.table(table).get("c").delete().run(conn)
    wait_equal(kernel, [expected[0], expected[1] | {"s": "x\u2400"}], shown=True)
    assert kernel.run("c.status, c.message").text == "('ready', '')"


def test_a_key_with_nul_is_not_the_index(kernel: Kernel) -> None:
    """Keys with NUL from elsewhere than RethinkDB (which refuses them): Perspective would cut "b\\x00c" to "b", one
    row with the key "b", so the index is the synthetic key."""
    assert not kernel.run(BRIDGE).error
    assert not kernel.run("b = bridged([{'id': 'b\\x00c', 'n': 1}, {'id': 'b', 'n': 2}])").error
    assert kernel.run("b.table.get_index()").text == "'__key__'"
    rows = json.loads(kernel.run("print(json.dumps(held(b))); b.close()").stdout)
    assert sorted(rows, key=lambda row: row["n"]) == [{"id": "b\u2400c", "n": 1}, {"id": "b", "n": 2}]


def test_expressions_and_empty_slots_stay_in_the_columns_through_a_widening(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    # Asked for: an expression's column beside a field's.
    options = "columns=['double', 'n'], expressions={'double': '\"n\" * 2'}"
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid', {options})")
    assert kernel.run("c.viewer.columns").text == "['double', 'n']"
    xy = open_chart(kernel, f"LiveChart(r.table('{table}'), 'X/Y Scatter', {options})", name="xy")
    # Chosen in the viewer (its view sets the viewer's traits): the X/Y plugins' columns are slots, None when empty.
    viewer = kernel.wait_for(lambda: kernel.state(xy)["_viewer"], what="the viewer").removeprefix("IPY_MODEL_")
    kernel.send_update(viewer, {"columns": ["double", "n", None, None, "id"]})
    kernel.wait_for(lambda: kernel.run("xy.viewer.columns").text == "['double', 'n', None, None, 'id']", what="it")
    names = {name: kernel.run(f"print({name}.table.get_name())").stdout for name in ("c", "xy")}

    r.table(table).insert({"id": 3, "n": 3.5, "tag": "new"}).run(conn)  # n widens to float, a field appears
    expected = [{"id": i, "n": i, "tag": None} for i in range(3)] + [{"id": 3, "n": 3.5, "tag": "new"}]
    for name in ("c", "xy"):
        wait_equal(kernel, expected, name=name)
        assert kernel.run(f"print({name}.table.get_name())").stdout != names[name]
        assert kernel.run(f"{name}.table.schema()['n']").text == "'float'"
    assert kernel.run("c.viewer.columns, c.viewer.expressions").text == "(['double', 'n'], {'double': '\"n\" * 2'})"
    assert kernel.run("xy.viewer.columns").text == "['double', 'n', None, None, 'id']"
    # The expression is Perspective's to compute on the new table.
    doubled = kernel.run(
        "v = c.table.view(columns=['n', 'double'], expressions=c.viewer.expressions); "
        "print(json.dumps(sorted(v.to_columns()['double']))); v.delete()"
    )
    assert json.loads(doubled.stdout) == [0, 2, 4, 7]
    # Views are told at the next flush (reading `c.table` above wrote the new table's rows at once).
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready in the views")


# In the kernel: what chart `c`'s table holds, its synthetic key left out whatever its name (a field may be named
# `__key__`).
READ_ALL = """
import json
def all_rows(c):
    view = c.table.view()
    try:
        return [{k: v for k, v in row.items() if k != c.bridge.key_column} for row in view.to_json()]
    finally:
        view.delete()
"""


def held_rows(kernel: Kernel, name: str = "c") -> list[str]:
    cell = kernel.run(f"print(json.dumps(all_rows({name})))")
    assert not cell.error, cell.error
    return sorted(json.dumps(row, sort_keys=True) for row in json.loads(cell.stdout))


def wait_holding(kernel: Kernel, expected: list[dict[str, Any]], name: str = "c") -> None:
    want = sorted(json.dumps(row, sort_keys=True) for row in expected)
    kernel.wait_for(lambda: held_rows(kernel, name) == want, timeout=30, what=f"the table to hold {want}")


def test_a_field_named_like_the_synthetic_key_keeps_every_row(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i, "__key__": i % 2, "k": "ab"[i % 2]} for i in range(4)]).run(conn)
    # Rows of a map have no primary key: the synthetic key's column is named so that no field has its name.
    query = f"r.table('{table}').map(lambda d: {{'__key__': d['__key__'], 'k': d['k']}})"
    kernel.open_widget(f"LiveChart({query}, 'Datagrid')", "c", before=READ_ALL)
    assert kernel.run("c.bridge.key_column, c.table.get_index()").text == "('__key__2', '__key__2')"
    wait_holding(kernel, [{"__key__": 0, "k": "a"}, {"__key__": 1, "k": "b"}] * 2)
    r.table(table).get(0).delete().run(conn)
    r.table(table).get(3).update({"__key__": 7}).run(conn)
    wait_holding(kernel, [{"__key__": 1, "k": "b"}, {"__key__": 0, "k": "a"}, {"__key__": 7, "k": "b"}])

    # Keys of two kinds make the index synthetic; a field of its name that comes later renames it.
    r.table(table).replace(r.row.without("__key__")).run(conn)
    r.table(table).insert({"id": "one", "k": "x"}).run(conn)
    kernel.open_widget(f"LiveChart(r.table('{table}'), 'Datagrid')", "d")
    assert kernel.run("d.bridge.key_column").text == "'__key__'"
    r.table(table).insert({"id": "two", "k": "y", "__key__": 2}).run(conn)
    expected = [{"id": "1", "k": "b"}, {"id": "2", "k": "a"}, {"id": "3", "k": "b"}, {"id": "one", "k": "x"}]
    wait_holding(kernel, [row | {"__key__": None} for row in expected] + [{"id": "two", "k": "y", "__key__": 2}], "d")
    assert kernel.run("d.bridge.key_column, d.status").text == "('__key__2', 'ready')"


def test_fields_named_as_perspective_names_its_own_are_left_out(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """Perspective refuses a field named psp_op, loses __INDEX__'s values, breaks its views on psp_pkey and
    __ROW_PATH__, and crashes the kernel on psp_okey; a NUL cuts a name short, so `a\\x00b` would be `a`'s."""
    own = {"psp_okey": 1, "psp_op": 2, "psp_pkey": 3, "__INDEX__": 4, "__ROW_PATH__": 5, "a\x00b": 6}
    r.table(table).insert([{"id": 1, "a": "x"} | own, {"id": 2, "a": "y"}]).run(conn)
    kernel.open_widget(f"LiveChart(r.table('{table}'), 'Datagrid', group_by=['a'])", "c", before=READ_ALL)
    wait_holding(kernel, [{"id": 1, "a": "x"}, {"id": 2, "a": "y"}])
    left_out = json.loads(kernel.run("print(json.dumps(c.bridge.left_out))").stdout)
    assert sorted(left_out) == sorted(own)
    message = kernel.run("print(c.message)").stdout.strip()
    assert message.startswith("Left out of the chart (Perspective keeps these field names for itself): "), message
    assert all(repr(name) in message for name in own), message
    grouped = kernel.run("v = c.table.view(group_by=['a'], columns=['id']); print(v.to_columns()); v.delete()")
    assert grouped.stdout.strip() == "{'__ROW_PATH__': [[], ['x'], ['y']], 'id': [3, 1, 2]}"
    r.table(table).get(2).update({"psp_okey": 9, "n": 1}).run(conn)
    wait_holding(kernel, [{"id": 1, "a": "x", "n": None}, {"id": 2, "a": "y", "n": 1}])
    assert kernel.run("c.status").text == "'ready'"


# Notes, as each chunk of chart `c`'s rows goes into a Perspective table, the table its viewer shows (its name as views
# get it, and the rows in it), the table written to, how many rows are not in it yet, and the chart's status. Chunks
# of 1,000 rows: many of them.
SAMPLE_SHOWN = """
from rethink_widgets.jupyter import chart_table
chart_table.FIRST_CHUNK = chart_table.LAST_CHUNK = c.bridge._chunk = 1_000
shown_samples = []
told = c.bridge._on_written
def sample(error):
    told(error)
    shown, written = c.bridge.viewer, c.bridge.table
    assert shown.table.get_name() == shown.table_name
    shown_samples.append((shown.table_name, shown.table.size(), written.get_name(), c.bridge.pending, c.status))
c.bridge._on_written = sample
"""


def test_a_widening_after_ready_fills_the_new_table_aside(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    docs = fill_big(conn, r, table)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid', group_by=['n'])")
    first = kernel.run("print(c.table.get_name())").stdout.strip()
    viewer = kernel.state(comm)["_viewer"].removeprefix("IPY_MODEL_")
    assert kernel.state(viewer)["table_name"] == first
    assert not kernel.run(SAMPLE_SHOWN).error
    kernel.drain()
    kernel.updates.clear()

    # n was integers: text now, in a new table of every row. Once the chart has heard of the change, `ready` waits
    # until the viewer shows that table.
    widen = (
        f"r.table('{table}').get(5).update({{'n': 'five'}}).run()\n"
        "await c.wait_until(lambda c: any(row['n'] == 'five' for row in c.rows), timeout=60)\n"
        "await c.ready(60)\n"
        "print(json.dumps([c.viewer.table_name == c.bridge.table.get_name(), c.status]))"
    )
    cell = kernel.run(widen, timeout=90)
    assert not cell.error, cell.error
    assert json.loads(cell.stdout) == [True, "ready"]
    final = kernel.state(viewer)["table_name"]
    assert final != first
    expected = [doc | {"n": "five" if doc["id"] == 5 else str(doc["n"])} for doc in docs]
    assert table_rows(kernel, shown=True) == normal(expected)  # read as shown: nothing written first
    samples = [tuple(s) for s in json.loads(kernel.run("print(json.dumps(shown_samples))").stdout)]
    # Until the new table held every row, the viewer showed the first one, whole, and the chart said initializing.
    assert {name for name, *_ in samples} == {first, final}, samples
    assert all(size == BIG for name, size, *_ in samples if name == first), samples
    aside = [(pending, status) for name, _, written, pending, status in samples if name == first and written == final]
    assert len([pending for pending, _ in aside if pending > 0]) >= 3, samples
    assert {status for _, status in aside} == {"initializing"}, samples
    assert samples[-1][:2] == (final, BIG) and samples[-1][-1] == "ready", samples
    # Views were told: `initializing` with the rows of the new table written, never fewer than before, then ready.
    sent = [state for _, c, state in kernel.updates if c == comm and "progress" in state]
    counts = [state["progress"]["rows"] for state in sent if state["progress"]]
    assert counts and counts == sorted(counts) and all(0 <= n <= BIG for n in counts), sent
    assert {state["progress"]["of"] for state in sent if state["progress"]} == {BIG}, sent
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready in the views")
    assert kernel.state(comm)["progress"] == {}
    assert kernel.run("c.table.schema()['n'], c.viewer.group_by").text == "('string', ['n'])"


# Notes the messages of chart_table's log (warnings and worse) in `told`; tables replaced are deleted half a second
# later, not 30 s. `gone(table)`: whether a Perspective table was deleted.
RETIRE_SOON = """
import asyncio, json, logging
from rethink_widgets.jupyter import chart_table
chart_table.RETIRE_SECONDS = 0.5
told = []
class Noted(logging.Handler):
    def emit(self, record):
        told.append(record.getMessage())
logging.getLogger('rethink_widgets.jupyter.chart_table').addHandler(Noted(logging.WARNING))
def gone(table):
    try:
        table.size()
    except Exception as error:
        return "Couldn't find key" in str(error)
    return False
"""


def test_a_table_a_python_view_keeps_is_deleted_once_the_view_is(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i, "n": i} for i in range(3)]).run(conn)
    open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    assert not kernel.run(RETIRE_SOON).error
    assert not kernel.run("kept = c.table; view = kept.view(); first = kept.get_name()").error
    r.table(table).insert({"id": 3, "n": "three"}).run(conn)  # n widens: a new table, the first one replaced
    kernel.wait_for(lambda: kernel.run("c.viewer.table_name != first").text == "True", what="the new table shown")
    # The view keeps the first table, still whole, however often it is tried; the log says so once.
    cell = kernel.run("await asyncio.sleep(2); print(json.dumps([kept.size(), view.num_rows(), gone(kept), told]))")
    assert not cell.error, cell.error
    size, rows, deleted, messages = json.loads(cell.stdout)
    first = kernel.run("print(first)").stdout.strip()
    assert (size, rows, deleted) == (3, 3, False)
    assert messages == [
        f"LiveChart: the Perspective table {first}, replaced by another or closed, is kept while a view is open on "
        "it (one made in Python: delete it, view.delete()); it is deleted once none is"
    ]
    assert not kernel.run("view.delete()").error
    kernel.wait_for(lambda: kernel.run("gone(kept)").text == "True", what="the first table deleted")

    # Closing the chart deletes its table, once the view made on it is deleted.
    assert not kernel.run("kept = c.table; view = kept.view(); c.close(); await asyncio.sleep(2)").error
    assert kernel.run("kept.size(), gone(kept), len(told)").text == "(4, False, 2)"
    assert not kernel.run("view.delete()").error
    kernel.wait_for(lambda: kernel.run("gone(kept)").text == "True", what="the chart's table deleted")
    assert kernel.run("len(told)").text == "2"


# While `refusing[0]`, the rows chart `c` writes hold a `name` Perspective refuses (a lone surrogate: it cannot be
# UTF-8), as rows it cannot hold would be.
REFUSE = """
refusing, columns = [True], c.bridge._columns
def refused_columns(*args):
    made = columns(*args)
    if refusing[0]:
        made['name'] = ['\\ud800'] * len(made['name'])
    return made
c.bridge._columns = refused_columns
"""


def test_rows_perspective_refuses_say_error_until_a_table_takes_them_all(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    r.table(table).insert([{"id": i, "name": f"n{i}", "n": i} for i in range(3)]).run(conn)
    comm = open_chart(kernel, f"LiveChart(r.table('{table}'), 'Datagrid')")
    assert not kernel.run(REFUSE).error
    r.table(table).get(1).update({"n": 10}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["status"].startswith("error: "), timeout=30, what="the error")
    status = kernel.state(comm)["status"]
    assert status.startswith("error: Perspective refused rows (PyPerspectiveError: "), status
    assert status.endswith("run the cell again; the kernel's log has the details (retrying)"), status
    assert kernel.run("print(c.status)").stdout.startswith("error: Perspective refused rows")
    cell = kernel.run("await c.ready(2)")
    assert cell.error.startswith("TimeoutError: ") and "error: Perspective refused rows" in cell.error, cell.error
    # It tries again, with a new table, and is refused again while the cause lasts; changes go on meanwhile.
    kernel.wait_for(lambda: int(kernel.run("c._retries").text) >= 2, timeout=30, what="a second refusal")
    r.table(table).get(2).delete().run(conn)
    r.table(table).insert({"id": 3, "name": "n3", "n": 3}).run(conn)
    assert kernel.state(comm)["status"].startswith("error: ")

    assert not kernel.run("refusing[0] = False").error  # the cause is gone: the next try fills a table whole
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", timeout=60, what="ready again")
    wait_equal(kernel, list(r.table(table).run(conn)))
    assert kernel.run("c.bridge.refused, c.viewer.table_name == c.table.get_name()").text == "(None, True)"


def test_a_wider_table_shows_at_once_while_a_snapshot_streams_in(kernel: Kernel) -> None:
    """While a snapshot streams in, a table made anew shows its rows as they come, even when the viewer showed a
    table that held every row so far (none: the chart's first update may come before the snapshot's first rows); on
    a whole result it fills aside."""
    assert not kernel.run(BRIDGE).error
    code = """
result = ResultSet('id')
result.begin_snapshot()
b = ChartTable(asyncio.get_event_loop(), {}, lambda error: None)
b.refill(result)
seen = [b.filling]
for i in range(3):
    result.apply({'new_val': {'id': i, 'n': i}})
b.mark(dict.fromkeys(['0', '1', '2']))
b.write(result, more_coming=True)
seen.append(b.shown is b.table and b.viewer.table_name == b.table.get_name())
result.end_snapshot()
b.write(result, everything=True)
result.apply({'new_val': {'id': 1, 'n': 'one'}, 'old_val': {'id': 1, 'n': 1}})
b.mark({'1': {'id': 1, 'n': 'one'}})
while b.unwritten:  # a chunk, once the last one's rest is over
    b.write(result)
seen.append(b.shown is b.table)
b.write(result, everything=True)
seen.append(b.shown is b.table and b.viewer.table_name == b.table.get_name())
print(json.dumps([seen, held(b)])); b.close()
"""
    cell = kernel.run(code)
    assert not cell.error, cell.error
    seen, rows = json.loads(cell.stdout)
    # Not filling before any row came; shown at once as the snapshot streamed in; aside on the whole result, shown
    # once whole.
    assert seen == [False, True, False, True]
    assert sorted(rows, key=lambda row: row["id"]) == [{"id": 0, "n": "0"}, {"id": 1, "n": "one"}, {"id": 2, "n": "2"}]

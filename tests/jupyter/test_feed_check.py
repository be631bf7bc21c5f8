"""Queries a widget cannot follow are refused in the cell that makes it, in RethinkDB's words; a widget on a table
that does not exist yet waits for it and says so; a feed that fails for good makes `await w.ready()` raise."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB

from rethink_widgets.jupyter.feed_check import HINT, waiting_for


@pytest.fixture
def scores(conn: Any, r: RethinkDB, table: str) -> str:
    r.table(table).insert([{"id": i, "x": i * 10} for i in range(5)]).run(conn)
    return table


def refusal(kind: str, query: str, reason: str) -> str:
    """The error a cell making a widget on `query` ends with."""
    return f"ReqlQueryLogicError: {kind} cannot follow {query}: {reason} {HINT}"


def widget_state(kernel: Kernel, variable: str) -> dict[str, Any]:
    """What the views of the widget in `variable` are sent."""
    comm = kernel.run(f"{variable}.comm.comm_id").text.strip("'")
    return kernel.state(comm)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("r.table('{t}').count()", "Cannot call `changes` on this type: NUMBER."),
        ("r.table('{t}').order_by('x')", "Cannot call `changes` on an eager stream."),
        ("r.table('{t}').order_by(index='id')", "Cannot call `changes` on an `order_by` without a `limit`."),
        ("r.table('{t}').limit(2)", "Cannot get changes on the first elements of an unordered stream."),
    ],
)
def test_a_query_no_changefeed_follows_is_refused_in_its_cell(
    kernel: Kernel, scores: str, query: str, reason: str
) -> None:
    query = query.format(t=scores)
    cell = kernel.run(f"t = LiveTable({query})")
    assert cell.error == refusal("LiveTable", query, reason)
    assert cell.comms == []  # no widget was made, so no view shows an empty table
    assert kernel.run("from rethink_widgets.jupyter import feeds; len(feeds.LIVE), 't' in dir()").text == "(0, False)"
    kernel.run("1 / 0")  # the refused widget is now referenced by nothing (not even the last traceback) ...
    assert kernel.run("import gc; gc.collect(); 'collected'").stderr == ""  # ... and goes quietly


def test_todo_list_refuses_too(kernel: Kernel, scores: str) -> None:
    query = f"r.table('{scores}').order_by(index='id')"
    cell = kernel.run(f"TodoList({query})")
    assert cell.error == refusal("TodoList", query, "Cannot call `changes` on an `order_by` without a `limit`.")


def test_a_missing_table_is_waited_for_and_said(kernel: Kernel, conn: Any, r: RethinkDB) -> None:
    name = "later_" + uuid.uuid4().hex[:8]
    cell = kernel.run(f"t = LiveTable(r.table('{name}')); t")
    assert not cell.error, cell.error
    assert cell.stderr == f"LiveTable: Table `test.{name}` does not exist; waiting for it to be created.\n"
    waiting = f"waiting for table test.{name} to be created"
    kernel.wait_for(lambda: widget_state(kernel, "t")["status"] == waiting, what="the view to say it waits")
    assert kernel.run("t.status").text == repr(waiting)
    r.table_create(name).run(conn)
    try:
        r.table(name).insert({"id": 1, "x": "here"}).run(conn)
        assert not kernel.run("await t.ready(timeout=30)").error
        kernel.wait_for(lambda: widget_state(kernel, "t")["total"] == 1, what="the row once the table exists")
    finally:
        r.table_drop(name).run(conn)


def test_a_missing_database_is_waited_for(kernel: Kernel) -> None:
    cell = kernel.run("t = LiveTable(r.db('nowhere').table('t')); import asyncio; await asyncio.sleep(1); t.status")
    assert cell.stderr == "LiveTable: Database `nowhere` does not exist; waiting for it to be created.\n"
    assert cell.text == "'waiting for database nowhere to be created'"


def test_ready_raises_the_error_that_ended_the_feed(kernel: Kernel, conn: Any, r: RethinkDB, scores: str) -> None:
    r.table(scores).insert({"id": 9}).run(conn)  # a row the map cannot read: the feed opens, then fails on it
    cell = kernel.run(f"t = LiveTable(r.table('{scores}').map(r.row['x'] * 2))")
    assert not cell.error, cell.error  # following it is allowed; reading this row is what fails
    cell = kernel.run("await t.ready()")
    assert cell.error.startswith("ReqlNonExistenceError: No attribute `x` in object:")
    assert kernel.run("await t.ready()").error.startswith("ReqlNonExistenceError: No attribute `x`")  # every time
    status = widget_state(kernel, "t")["status"]
    assert status.startswith("error: No attribute `x` in object:")


def test_what_a_widget_waits_for() -> None:
    assert waiting_for("Table `test.todo` does not exist.") == "waiting for table test.todo to be created"
    assert waiting_for("Database `shop` does not exist.") == "waiting for database shop to be created"
    assert waiting_for('Primary replica for shard ["", +inf) not available') is None

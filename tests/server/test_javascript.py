"""r.js through the driver: scripts' values and functions, conversions both ways, RethinkDB's messages, time limits,
and scripts that run away without stopping the server or anyone else's queries."""

from __future__ import annotations

import datetime
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from background import eventually, in_background
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlDriverError, ReqlInternalError, ReqlQueryLogicError
from servers import ServerProcess, start_server

FOREVER = "while (true) {}"


def workers_of(server: ServerProcess) -> list[int]:
    """The server's JavaScript worker processes."""
    # Each thread's children are listed under that thread: a worker is made by the thread of the query needing it.
    tasks = Path(f"/proc/{server.process.pid}/task")
    children = [int(pid) for task in tasks.iterdir() for pid in _read(task / "children").split()]
    return [pid for pid in children if is_worker(pid)]


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""  # a thread that ended meanwhile


def is_worker(pid: int) -> bool:
    """Whether `pid` is a live JavaScript worker (a process that ended has no command line)."""
    try:
        return b"javascript_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.fixture
def own(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, whose worker processes the test may count and kill."""
    proc = start_server(tmp_path / "data")
    yield proc
    proc.stop()


def test_values_and_functions(conn: Any, r: RethinkDB) -> None:
    assert r.js("1 + 1; 2 + 2").run(conn) == 4
    assert r.js("({a: [1, 'b', null, true], c: 1.5})").run(conn) == {"a": [1, "b", None, True], "c": 1.5}
    assert r.do(1, 2, r.js("(function(a, b) { return a + b; })")).run(conn) == 3
    assert r.expr([1, 2, 3]).map(r.js("(function(x) { return x * 10; })")).run(conn) == [10, 20, 30]
    assert r.expr([1, 2, 3]).filter(r.js("(function(x) { return x >= 2; })")).run(conn) == [2, 3]
    assert r.expr({"a": 1}).merge(r.js("(function(doc) { return {b: doc.a + 1}; })")).run(conn) == {"a": 1, "b": 2}
    # Objects go in as objects, and a function's extra parameters are undefined.
    assert r.expr({"n": 2}).do(r.js("(function(doc, extra) { return [doc.n, typeof extra]; })")).run(conn) == [
        2,
        "undefined",
    ]


def test_strings_and_fields_pass_whole(conn: Any, r: RethinkDB) -> None:
    identity = r.js("(function(value) { return value; })")
    odd = {"__proto__": 1, "é": "😀 \u2028", "constructor": [None]}
    assert r.expr(odd).do(identity).run(conn) == odd
    # Half a surrogate pair alone cannot be UTF-8 text: it comes back as U+FFFD, and the worker carries on.
    assert r.js("'\\ud800x'").run(conn) == "\ufffdx"
    assert r.js("'ok'").run(conn) == "ok"


def test_a_functions_state_holds_while_other_queries_run_scripts(own: ServerProcess, r: RethinkDB) -> None:
    conn, other = r.connect(own.host, own.port), r.connect(own.host, own.port)
    done: list[bool] = []

    def others() -> int:
        runs = 0
        while not done:
            assert r.js("1").run(other) == 1
            runs += 1
        return runs

    thread, outcome = in_background(others)
    counter = r.js("(function() { var n = 0; return function() { return ++n; }; })()")
    counts = list(r.range(300).map(counter).run(conn))
    done.append(True)
    thread.join(30)
    assert counts == list(range(1, 301))
    assert outcome[0] > 0


def test_times_go_in_as_dates_and_come_back_as_times(conn: Any, r: RethinkDB) -> None:
    back = r.js("new Date(Date.UTC(2012, 7, 1))").run(conn)
    assert back == datetime.datetime(2012, 8, 1, tzinfo=back.tzinfo)
    assert back.utcoffset() == datetime.timedelta(0)
    doubled = r.epoch_time(1000).do(r.js("(function(t) { return t.getTime() * 2; })")).run(conn)
    assert doubled == 2_000_000


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (lambda r: r.js("function() { return 1; }"), "SyntaxError: function name expected"),
        (lambda r: r.js("undefined"), "Cannot convert javascript `undefined` to ql::datum_t."),
        (lambda r: r.js("throw new TypeError('nope')"), "TypeError: nope"),
        (lambda r: r.js("({f: function () {}})"), "Cannot convert function to ql::datum_t."),
        (lambda r: r.js("/a/"), "Cannot convert RegExp to ql::datum_t."),
        (lambda r: r.js("1 / 0"), "Number return value is not finite."),
        (
            lambda r: r.js("(function() { return 1; })"),
            "Query result must be of type DATUM, GROUPED_DATA, or STREAM (got FUNCTION).",
        ),
        (lambda r: r.expr([1]).map(r.js("1")), "Expected type FUNCTION but found DATUM:"),
        (
            lambda r: r.do(r.binary(b"x"), r.js("(function(b) { return 1; })")),
            "`r.binary` data cannot be used in `r.js`.",
        ),
        (
            lambda r: r.do(1, r.js("(function(x) { return function() {}; })")),
            "Returning functions from within `r.js` is unsupported.",
        ),
    ],
)
def test_refusals(conn: Any, r: RethinkDB, query: Any, message: str) -> None:
    fails(conn, query(r), ReqlQueryLogicError, message)


def test_each_query_has_globals_of_its_own(conn: Any, r: RethinkDB) -> None:
    assert r.js("var seen = 1; seen").run(conn) == 1
    assert r.js("typeof seen").run(conn) == "undefined"
    # Within one query, a function keeps its state from row to row.
    counter = r.js("(function() { var n = 0; return function() { return ++n; }; })()")
    assert r.expr([0, 0, 0]).map(counter).run(conn) == [1, 2, 3]


def test_writes_refuse_scripts_unless_non_atomic(conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert({"id": 1}).run(conn)
    fails(
        conn,
        r.table(table).get(1).update({"n": r.js("5")}),
        ReqlQueryLogicError,
        "Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?",
    )
    assert r.table(table).get(1).update({"n": r.js("5")}, non_atomic=True).run(conn)["replaced"] == 1
    assert r.table(table).get(1)["n"].run(conn) == 5


def test_a_non_atomic_write_runs_its_script_before_taking_the_write_lock(own: ServerProcess, r: RethinkDB) -> None:
    conn, other = r.connect(own.host, own.port), r.connect(own.host, own.port)
    r.table_create("slow").run(other)
    r.table_create("quick").run(other)
    r.table("slow").insert({"id": 1}).run(other)
    slow_update = r.table("slow").get(1).update({"n": r.js(FOREVER, timeout=600)}, non_atomic=True)
    thread, _outcome = in_background(lambda: slow_update.run(conn))
    eventually(lambda: len(workers_of(own)) == 1)
    # Other writers go on while the script runs: the script runs before the update's write.
    assert r.table("quick").insert({"id": 1}).run(other)["inserted"] == 1
    assert r.table("slow").get(1).update({"seen": True}).run(other)["replaced"] == 1
    assert thread.is_alive()
    conn.close(noreply_wait=False)
    thread.join(30)


def test_a_script_that_runs_too_long_is_stopped_and_others_go_on(own: ServerProcess, r: RethinkDB) -> None:
    slow, quick = r.connect(own.host, own.port), r.connect(own.host, own.port)
    thread, outcome = in_background(lambda: r.js(FOREVER, timeout=3).run(slow))
    eventually(lambda: len(workers_of(own)) == 1)
    # While the script loops, the server answers everyone else, scripts included.
    assert r.js("6 * 7").run(quick) == 42
    assert r.range(10).count().run(quick) == 10
    thread.join(30)
    assert isinstance(outcome[0], ReqlQueryLogicError)
    assert outcome[0].message == f"JavaScript query `{FOREVER}` timed out after 3.000 seconds."
    fails(
        slow,
        r.js(FOREVER, timeout=0.25),
        ReqlQueryLogicError,
        f"JavaScript query `{FOREVER}` timed out after 0.250 seconds.",
    )


def test_closing_the_connection_stops_the_script(own: ServerProcess, r: RethinkDB) -> None:
    conn = r.connect(own.host, own.port)
    thread, outcome = in_background(lambda: r.js(FOREVER, timeout=600).run(conn))
    eventually(lambda: len(workers_of(own)) == 1)
    looping = workers_of(own)[0]
    conn.close(noreply_wait=False)
    thread.join(30)
    assert isinstance(outcome[0], ReqlDriverError)
    eventually(lambda: looping not in workers_of(own))


def test_a_crashed_worker_is_an_error_and_the_next_script_runs(own: ServerProcess, r: RethinkDB) -> None:
    conn, other = r.connect(own.host, own.port), r.connect(own.host, own.port)
    thread, outcome = in_background(lambda: r.js(FOREVER, timeout=600).run(conn))
    eventually(lambda: len(workers_of(own)) == 1)
    os.kill(workers_of(own)[0], signal.SIGKILL)
    thread.join(30)
    assert isinstance(outcome[0], ReqlInternalError)
    assert outcome[0].message == f"Javascript query `{FOREVER}` caused a crash in a worker process."
    assert r.js("'still here'").run(other) == "still here"


def test_workers_go_when_the_server_is_killed(own: ServerProcess, r: RethinkDB) -> None:
    conn = r.connect(own.host, own.port)
    in_background(lambda: r.js(FOREVER, timeout=600).run(conn))
    eventually(lambda: len(workers_of(own)) == 1)
    worker = workers_of(own)[0]
    own.kill()
    eventually(lambda: not is_worker(worker))

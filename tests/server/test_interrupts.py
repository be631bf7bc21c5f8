"""Stopping queries: STOP, a closed connection, a deleted job row and shutdown each stop a query where it runs; long
queries from one client never stop another client's queries from answering."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from background import eventually, in_background
from kernel import Kernel
from raw_client import raw_connect, receive, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlDriverError, ReqlOpIndeterminateError, ReqlResourceLimitError
from servers import ServerProcess, start_server

LONG = RethinkDB().range(10**9).count()  # minutes of work for this server
SUCCESS_SEQUENCE = 2


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: these tests load it on purpose."""
    proc = start_server(tmp_path_factory.mktemp("hostile") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def admin(hostile_server: ServerProcess) -> Iterator[Any]:
    conn = RethinkDB().connect(hostile_server.host, hostile_server.port)
    yield conn
    conn.close(noreply_wait=False)


def other_jobs(conn: Any) -> int:
    """How many queries the server holds besides the one asking (a stopped query is listed until its worker is free)."""
    jobs: int = RethinkDB().db("rethinkdb").table("jobs").count().run(conn)
    return jobs - 1


def test_closing_the_connection_stops_its_query(hostile_server: ServerProcess, admin: Any) -> None:
    conn = RethinkDB().connect(hostile_server.host, hostile_server.port)
    thread, outcome = in_background(lambda: LONG.run(conn))
    eventually(lambda: other_jobs(admin) == 1)
    conn.close(noreply_wait=False)
    thread.join(30)
    assert isinstance(outcome[0], ReqlDriverError)
    eventually(lambda: other_jobs(admin) == 0)


def test_deleting_the_job_row_stops_the_query(hostile_server: ServerProcess, admin: Any) -> None:
    r = RethinkDB()
    conn = r.connect(hostile_server.host, hostile_server.port)
    thread, outcome = in_background(lambda: LONG.run(conn))
    eventually(lambda: other_jobs(admin) == 1)
    long_running = r.db("rethinkdb").table("jobs").filter(lambda job: job["duration_sec"] > 0.2)
    eventually(lambda: long_running.count().run(admin) == 1)
    assert long_running.delete().run(admin)["deleted"] == 1
    thread.join(30)
    assert isinstance(outcome[0], ReqlOpIndeterminateError)
    assert str(outcome[0]).startswith("Query terminated by the `rethinkdb.jobs` table")
    eventually(lambda: other_jobs(admin) == 0)
    assert r.expr("the connection goes on").run(conn) == "the connection goes on"
    conn.close()


def test_deleting_a_feeds_job_row_ends_the_feed(hostile_server: ServerProcess, admin: Any) -> None:
    r = RethinkDB()
    r.table_create("watched").run(admin)
    try:
        feed = r.table("watched").changes().run(admin)
        open_for_a_while = r.db("rethinkdb").table("jobs").filter(lambda job: job["duration_sec"] > 0.2)
        eventually(lambda: open_for_a_while.count().run(admin) == 1)  # the feed: nothing else runs
        assert open_for_a_while.delete().run(admin)["deleted"] == 1
        with pytest.raises(ReqlOpIndeterminateError, match=r"rethinkdb\.jobs"):
            feed.next(wait=30)
    finally:
        r.table_drop("watched").run(admin)


def test_stop_of_an_evaluating_query_answers_it_and_stops_it(hostile_server: ServerProcess, admin: Any) -> None:
    with raw_connect(hostile_server) as sock:
        send(sock, 7, ReQLEncoder().encode([1, LONG, {}]).encode())
        eventually(lambda: other_jobs(admin) == 1)
        send(sock, 7, b"[3]")
        # The stopped query's own reply, then STOP's: both empty and final, as RethinkDB answers them.
        for _ in range(2):
            token, reply = receive(sock)
            assert (token, reply["t"], reply["r"]) == (7, SUCCESS_SEQUENCE, [])
        eventually(lambda: other_jobs(admin) == 0)
        send(sock, 8, ReQLEncoder().encode([1, RethinkDB().expr([1, 2]), {}]).encode())  # the connection goes on
        assert receive(sock)[1]["r"] == [[1, 2]]


def test_a_noreply_query_stops_when_its_connection_closes(hostile_server: ServerProcess, admin: Any) -> None:
    conn = RethinkDB().connect(hostile_server.host, hostile_server.port)
    LONG.run(conn, noreply=True)
    eventually(lambda: other_jobs(admin) == 1)
    conn.close(noreply_wait=False)
    eventually(lambda: other_jobs(admin) == 0)


def test_64_long_queries_from_one_user_leave_others_answering(hostile_server: ServerProcess, admin: Any) -> None:
    r = RethinkDB()
    r.table_create("points").run(admin)
    r.table("points").insert([{"id": i} for i in range(10)]).run(admin)
    flood = [r.connect(hostile_server.host, hostile_server.port) for _ in range(32)]
    one = r.connect(hostile_server.host, hostile_server.port)  # 32 more on a single connection
    threads = [in_background(functools.partial(LONG.run, c))[0] for c in flood]
    threads += [in_background(lambda: LONG.run(one))[0] for _ in range(32)]
    try:
        eventually(lambda: other_jobs(admin) == 64)
        # Every query of another client (the same user) still answers, the point gets and a write among them.
        thread, outcome = in_background(
            lambda: (
                [r.table("points").get(i % 10)["id"].run(admin) for i in range(50)]
                + [r.table("points").insert({"id": 10}).run(admin)["inserted"]]
            )
        )
        thread.join(60)
        assert outcome == [[i % 10 for i in range(50)] + [1]]
    finally:
        for conn in [*flood, one]:
            conn.close(noreply_wait=False)
        for thread in threads:
            thread.join(30)
        eventually(lambda: other_jobs(admin) == 0)
        r.table_drop("points").run(admin)


def test_a_huge_reply_is_refused_and_the_server_goes_on(admin: Any) -> None:
    r = RethinkDB()
    five_kb = "x" * 5000
    with pytest.raises(ReqlResourceLimitError, match="Reply over size limit"):
        r.range(100_000).map(lambda _: five_kb).coerce_to("array").run(admin)
    # The same rows through a cursor arrive in batches, every one of them.
    assert sum(1 for _ in r.range(30_000).map(lambda _: five_kb).run(admin)) == 30_000
    assert r.expr("still here").run(admin) == "still here"


def test_shutdown_stops_long_queries(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data")
    r = RethinkDB()
    conn = r.connect(proc.host, proc.port)
    r.table_create("kept").run(conn)
    r.table("kept").insert([{"id": i} for i in range(100)]).run(conn)
    runners = [r.connect(proc.host, proc.port) for _ in range(4)]
    threads = [in_background(functools.partial(LONG.run, c))[0] for c in runners]
    eventually(lambda: other_jobs(conn) == 4)
    assert proc.stop(timeout=30) == 0
    for thread in threads:
        thread.join(30)
    assert "stopping 4 running queries" in proc.output()
    restarted = start_server(tmp_path / "data")
    try:
        again = r.connect(restarted.host, restarted.port)
        assert r.table("kept").count().run(again) == 100
        again.close()
    finally:
        restarted.stop()


def test_a_kernels_interrupt_stops_its_query_in_the_server(kernel: Kernel, conn: Any) -> None:
    r = RethinkDB()
    ranges = r.db("rethinkdb").table("jobs").filter(lambda job: job["info"]["query"].match("^\\[43,\\[\\[173"))
    long_cell = kernel.start("r.range(10**9).count().run()")
    eventually(lambda: ranges.count().run(conn) == 1)
    kernel.manager.interrupt_kernel()  # the notebook's Interrupt button: the driver drops its connection
    assert kernel.finish(long_cell).error.startswith("KeyboardInterrupt")
    eventually(lambda: ranges.count().run(conn) == 0)
    cell = kernel.run("r.expr('the kernel goes on').run()")
    assert cell.text == "'the kernel goes on'", cell.error


def test_noreply_wait_on_a_token_in_use_is_a_duplicate(hostile_server: ServerProcess, admin: Any) -> None:
    with raw_connect(hostile_server) as sock:
        send(sock, 9, ReQLEncoder().encode([1, LONG, {}]).encode())
        eventually(lambda: other_jobs(admin) == 1)
        send(sock, 9, b"[4]")  # NOREPLY_WAIT
        token, reply = receive(sock)
        assert (token, reply["r"]) == (9, ["ERROR: duplicate token 9"])
        send(sock, 9, b"[3]")  # the long query is still there to stop: two replies
        assert [receive(sock)[1]["t"] for _ in range(2)] == [SUCCESS_SEQUENCE, SUCCESS_SEQUENCE]
    eventually(lambda: other_jobs(admin) == 0)


def test_shutdown_with_clients_that_read_nothing(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data")
    big = RethinkDB().range(40_000).map(lambda _: "x" * 500).coerce_to("array")  # a 20 MB reply
    stalled = [raw_connect(proc) for _ in range(6)]
    for sock in stalled:  # replies fill the socket buffers: nobody reads them
        for token in (1, 2):
            send(sock, token, ReQLEncoder().encode([1, big, {}]).encode())
    try:
        admin = RethinkDB().connect(proc.host, proc.port)
        # Every reply made, waiting to be read: 240 MB of them, which a loaded 2-core machine takes a while to make.
        eventually(lambda: other_jobs(admin) == 0, seconds=180)
        admin.close()
        assert proc.stop(timeout=30) == 0
    finally:
        for sock in stalled:
            sock.close()
        proc.kill()  # (stopped already, unless the test failed)
    log = proc.output()
    assert "Traceback" not in log and " ERROR " not in log, log

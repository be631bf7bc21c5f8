"""Small queries (a point get, a soft single-row write) answered on the server's event loop: the same answers as
on a worker thread, and a write that would wait or run long there goes to a worker thread without freezing the server
for other clients, and without writing anything twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from background import eventually, in_background
from raw_client import raw_connect, receive, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlDriverError, ReqlNonExistenceError, ReqlOpFailedError
from servers import ServerProcess

r = RethinkDB()
SLOW_INDEX = lambda doc: r.range(10**9).count()  # noqa: E731  (minutes of work for each document written)


@pytest.fixture
def connections(server: ServerProcess) -> Iterator[Callable[[], Any]]:
    """Opens connections to the session's server, closed afterwards."""
    opened: list[Any] = []

    def connect() -> Any:
        opened.append(r.connect(server.host, server.port))
        return opened[-1]

    yield connect
    for conn in opened:
        conn.close(noreply_wait=False)


def jobs_on(conn: Any, table: str) -> int:
    """How many queries on `table` the server runs on worker threads (a query on the loop is never seen running)."""
    jobs = r.db("rethinkdb").table("jobs")
    count: int = jobs.filter(lambda job: job["info"]["query"].match(f'"{table}"')).count().run(conn)
    return count


def writes(conn: Any, t: Any, durability: str) -> list[Any]:
    """Single-row writes of every small shape, and what they leave; run soft they are answered on the loop."""

    def run(query: Any) -> Any:
        return query.run(conn, durability=durability)

    out = [
        run(t.insert({"id": 1, "v": [1, {"a": None}], "s": "é"})),
        run(t.insert({"id": 1})),  # a duplicate primary key
        run(t.insert({"id": 2}, conflict="update", return_changes=True)),
        run(t.get(1).update({"v": 2, "w": [3]})),
        run(t.get(1).update({"v": 2})),  # unchanged
        run(t.get(2).replace({"id": 2, "x": 1.5e-7}, return_changes=True)),
        run(t.get(3).update({"v": 1})),  # skipped: no such document
        run(t.get(2).replace({"x": 1})),  # the primary key may not go
        run(t.get(1).delete(return_changes=True)),
        run(t.get(1).delete()),
        run(t.get(2)),
        run(t.get(1)),
        run(t.get([1, "compound"])),
    ]
    generated = run(t.insert({"v": 0}))
    out.append((sorted(generated), generated["inserted"], len(generated["generated_keys"][0])))
    return out


def test_small_writes_answer_on_the_loop_as_on_a_worker(conn: Any, table: str) -> None:
    soft = writes(conn, r.table(table), "soft")
    r.table(table).delete().run(conn)
    assert soft == writes(conn, r.table(table), "hard")
    assert soft[1]["first_error"].startswith("Duplicate primary key `id`:")
    assert soft[-1] == (["deleted", "errors", "generated_keys", "inserted", "replaced", "skipped", "unchanged"], 1, 36)


def test_projections_of_a_point_get_answer_as_of_the_same_document_elsewhere(conn: Any, table: str) -> None:
    doc = {"id": 1, "a": {"b": [1, 2]}, "c": "x"}
    r.table(table).insert(doc).run(conn)
    steps: list[Callable[[Any], Any]] = [
        lambda d: d["a"]["b"],
        lambda d: d.pluck("c", {"a": "b"}),
        lambda d: d.without("a"),
        lambda d: d.has_fields("c"),
        lambda d: d.keys(),
        lambda d: d.values(),
        lambda d: d["missing"].default("none"),
    ]
    for step in steps:
        assert step(r.table(table).get(1)).run(conn) == step(r.expr(doc)).run(conn)
    with pytest.raises(ReqlNonExistenceError, match=r"^No attribute `missing` in object:"):
        r.table(table).get(1)["missing"].run(conn)


def test_errors_of_small_queries(conn: Any, table: str) -> None:
    with pytest.raises(ReqlOpFailedError, match=r"^Table `test\.nowhere` does not exist"):
        r.table("nowhere").get(1).run(conn)
    with pytest.raises(ReqlOpFailedError, match=r"^Database `nowhere` does not exist"):
        r.db("nowhere").table(table).insert({}).run(conn, durability="soft")
    assert r.table(table).get(1).run(conn, profile=True)["value"] is None


def test_a_noreply_insert_is_there_once_noreply_wait_returns(conn: Any, table: str) -> None:
    for i in range(100):
        r.table(table).insert({"id": i}).run(conn, durability="soft", noreply=True)
    conn.noreply_wait()
    assert r.table(table).count().run(conn) == 100


@pytest.fixture
def slow(conn: Any, table: str) -> Iterator[str]:
    """A table beside `table` whose every write takes long (its index function does), holding the write lock."""
    name = f"{table}_slow"
    r.table_create(name).run(conn)
    r.table(name).index_create("never", SLOW_INDEX).run(conn)
    r.table(name).index_wait().run(conn)
    yield name
    r.table_drop(name).run(conn)


def test_a_write_its_index_makes_long_moves_off_the_loop_and_stops_with_its_connection(
    connections: Callable[[], Any], table: str, slow: str
) -> None:
    admin, writer, reader = connections(), connections(), connections()
    r.table(table).insert({"id": "here"}).run(admin)
    thread, outcome = in_background(lambda: r.table(slow).insert({"id": 1}).run(writer, durability="soft"))
    eventually(lambda: jobs_on(admin, slow) == 1)
    # The loop is free: another client's point get and soft write answer while the long write runs.
    assert r.table(table).get("here").run(reader) == {"id": "here"}
    writer.close(noreply_wait=False)
    thread.join(30)
    assert isinstance(outcome[0], ReqlDriverError)
    eventually(lambda: jobs_on(admin, slow) == 0)
    assert r.table(slow).count().run(admin) == 0  # stopped, it wrote nothing; nor did its try on the loop


def test_a_soft_write_waiting_for_the_write_lock_leaves_the_loop_free(
    connections: Callable[[], Any], table: str, slow: str
) -> None:
    admin, long_writer, writer, reader = connections(), connections(), connections(), connections()
    r.table(table).insert({"id": "here"}).run(admin)
    long_thread, _ = in_background(lambda: r.table(slow).insert({"id": 1}).run(long_writer, durability="soft"))
    eventually(lambda: jobs_on(admin, slow) == 1)
    # This write waits for the lock the long one holds, on a worker thread: the loop still answers others.
    thread, outcome = in_background(lambda: r.table(table).insert({"id": 1}).run(writer, durability="soft"))
    eventually(lambda: jobs_on(admin, table) == 1)
    assert r.table(table).get("here").run(reader) == {"id": "here"}
    assert outcome == []
    long_writer.close(noreply_wait=False)
    thread.join(30)
    assert outcome[0]["inserted"] == 1
    assert r.table(table).count().run(admin) == 2
    long_thread.join(30)


def test_a_soft_write_of_one_document_is_answered_once_and_seen_at_once(
    server: ServerProcess, table: str, connections: Callable[[], Any]
) -> None:
    """A soft update, replace or delete of one document that is the whole query is answered before its commit, on the
    loop or (a frame too big for the loop) on a worker: one answer each, and whatever another connection asks once it
    has come sees the write. Inside a bigger query, or profiled, the write is answered as any other query."""
    t = r.table(table)
    reader = connections()
    sock = raw_connect(server)

    def ask(token: int, term: Any, **optargs: Any) -> Any:
        payload: str = ReQLEncoder().encode([1, term, {"durability": "soft", **optargs}])
        send(sock, token, payload.encode())
        answered, reply = receive(sock)
        assert answered == token
        return reply["r"][0]

    ask(1, t.insert({"id": 1, "n": 0}))
    for n in range(1, 21):
        pad = "x" * (40_000 if n % 2 else 10)  # (odd rounds: a frame too big for the loop)
        assert ask(1, t.get(1).update({"n": n, "pad": pad}))["replaced"] == 1
        assert t.get(1)["n"].run(reader) == n
    assert ask(2, t.get(1).replace({"id": 1, "m": 1}))["replaced"] == 1
    assert t.get(1).run(reader) == {"id": 1, "m": 1}
    assert ask(3, t.get(1).update({"m": 2})["replaced"]) == 1
    profiled = ReQLEncoder().encode([1, t.get(1).update({"m": 3}), {"durability": "soft", "profile": True}])
    send(sock, 4, profiled.encode())
    token, reply = receive(sock)
    assert (token, reply["r"][0]["replaced"], "p" in reply) == (4, 1, True)
    assert ask(5, t.get(1).delete())["deleted"] == 1
    assert t.get(1).run(reader) is None
    assert ask(6, r.expr("next")) == "next"  # (no second answer came before it)
    sock.close()

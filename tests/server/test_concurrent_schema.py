"""Clients changing the catalog at once: of conflicting creates, drops and renames one succeeds, the others get
RethinkDB's ReqlOpFailedError, and the server logs no traceback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError
from servers import ServerProcess

CLIENTS = 8
# Races are won by chance: a few rounds make each kind of conflict happen.
ROUNDS = 3


@pytest.fixture
def conns(private: ServerProcess, r: RethinkDB) -> Iterator[list[Any]]:
    connections = [r.connect(private.host, private.port) for _ in range(CLIENTS)]
    yield connections
    for connection in connections:
        connection.close(noreply_wait=False)


def race(conns: list[Any], queries: list[Any]) -> list[Any]:
    """Run each query on its own connection from its own thread, all at once: each one's result or error."""
    outcomes: list[Any] = [None] * len(queries)
    start = threading.Barrier(len(queries))

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = queries[i].run(conns[i])
        except Exception as error:  # the outcome under test
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def one_wins(outcomes: list[Any], message: str) -> Any:
    """The one success among `outcomes`; every other one is a ReqlOpFailedError saying `message`."""
    errors: list[Any] = [o for o in outcomes if isinstance(o, Exception)]  # the driver's errors, untyped
    assert len(errors) == len(outcomes) - 1, errors
    for error in errors:
        assert type(error) is ReqlOpFailedError, error
        assert error.message == message
    return next(o for o in outcomes if not isinstance(o, Exception))


def no_traceback(server: ServerProcess) -> None:
    server.stop()
    log = server.output()
    assert "Traceback" not in log, log
    assert "Internal error" not in log, log


def test_concurrent_table_creates(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    for i in range(ROUNDS):
        name = f"x{i}"
        won = one_wins(race(conns, [r.table_create(name)] * CLIENTS), f"Table `test.{name}` already exists.")
        assert won["tables_created"] == 1
        assert r.table_list().run(conns[0]) == [f"x{j}" for j in range(i + 1)]
        r.table(name).insert({"id": 1}).run(conns[0])
        assert r.table(name).count().run(conns[0]) == 1
    no_traceback(private)


def test_concurrent_db_creates(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    for i in range(ROUNDS):
        name = f"d{i}"
        won = one_wins(race(conns, [r.db_create(name)] * CLIENTS), f"Database `{name}` already exists.")
        assert won["dbs_created"] == 1
    assert r.db_list().run(conns[0]) == ["d0", "d1", "d2", "rethinkdb", "test"]
    no_traceback(private)


def test_concurrent_index_creates(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    r.table_create("x").run(conns[0])
    r.table("x").insert([{"id": i, "g": i % 3} for i in range(10)]).run(conns[0])
    for i in range(ROUNDS):
        name = f"g{i}"
        query = r.table("x").index_create(name, r.row["g"])
        assert one_wins(race(conns, [query] * CLIENTS), f"Index `{name}` already exists on table `test.x`.") == {
            "created": 1
        }
        r.table("x").index_wait(name).run(conns[0])
        assert r.table("x").get_all(1, index=name).count().run(conns[0]) == 3
    no_traceback(private)


def test_concurrent_drops(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    c = conns[0]
    for i in range(ROUNDS):
        r.db_create(f"d{i}").run(c)
        r.db(f"d{i}").table_create("inside").run(c)
        r.table_create(f"x{i}").run(c)
        r.table(f"x{i}").index_create("g").run(c)
        message = f"Index `g` does not exist on table `test.x{i}`."
        assert one_wins(race(conns, [r.table(f"x{i}").index_drop("g")] * CLIENTS), message) == {"dropped": 1}
        won = one_wins(race(conns, [r.table_drop(f"x{i}")] * CLIENTS), f"Table `test.x{i}` does not exist.")
        assert won["tables_dropped"] == 1
        won = one_wins(race(conns, [r.db_drop(f"d{i}")] * CLIENTS), f"Database `d{i}` does not exist.")
        assert won["tables_dropped"] == 1
    assert r.db_list().run(c) == ["rethinkdb", "test"]
    assert r.table_list().run(c) == []
    assert r.db("rethinkdb").table("table_config").count().run(c) == 0
    no_traceback(private)


def test_concurrent_renames(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    c = conns[0]
    for i in range(ROUNDS):
        # Every client renames its own table to one name: one gets it, the others fail as their write's error.
        for j in range(CLIENTS):
            r.table_create(f"r{i}_{j}").run(c)
        outcomes = race(conns, [r.table(f"r{i}_{j}").config().update({"name": f"y{i}"}) for j in range(CLIENTS)])
        assert sorted(o["replaced"] for o in outcomes) == [0] * (CLIENTS - 1) + [1]
        for j, outcome in enumerate(outcomes):
            if not outcome["replaced"]:
                assert outcome["first_error"] == (
                    f"Can't rename table `test.r{i}_{j}` to `test.y{i}` because table `test.y{i}` already exists."
                )
        assert len(r.table_list().run(c)) == (i + 1) * CLIENTS
        # The same for databases, and for an index renamed by every client.
        for j in range(CLIENTS):
            r.db_create(f"e{i}_{j}").run(c)
        outcomes = race(conns, [r.db(f"e{i}_{j}").config().update({"name": f"f{i}"}) for j in range(CLIENTS)])
        assert sorted(o["replaced"] for o in outcomes) == [0] * (CLIENTS - 1) + [1]
        assert {o["first_error"] for o in outcomes if not o["replaced"]} == {f"Database `f{i}` already exists."}
        r.table(f"y{i}").index_create("a").run(c)
        message = f"Index `a` does not exist or index `b` already exists on table `test.y{i}`."
        assert one_wins(race(conns, [r.table(f"y{i}").index_rename("a", "b")] * CLIENTS), message) == {"renamed": 1}
        assert r.table(f"y{i}").index_list().run(c) == ["b"]
    no_traceback(private)


def test_writes_to_a_table_dropped_meanwhile(private: ServerProcess, conns: list[Any], r: RethinkDB) -> None:
    c = conns[0]
    for i in range(ROUNDS):
        r.table_create("x").run(c)
        r.table("x").insert([{"id": j} for j in range(3000)]).run(c)
        outcomes = race(conns, [r.table_drop("x")] + [r.table("x").update({"v": j}) for j in range(1, CLIENTS)])
        assert outcomes[0]["tables_dropped"] == 1, outcomes[0]
        gone = {"Table `test.x` does not exist.", "Table `test.x` was dropped while being read."}
        for outcome in outcomes[1:]:
            if isinstance(outcome, dict):
                assert outcome["errors"] == 0, (i, outcome)
            else:
                assert type(outcome) is ReqlOpFailedError, outcome
                assert outcome.message in gone
    no_traceback(private)

"""Durability: data, indexes and passwords survive a clean restart, and acknowledged writes survive kill -9."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlError
from servers import start_server


def test_data_survives_clean_restart(tmp_path: Path) -> None:
    r = RethinkDB()
    server = start_server(tmp_path / "data")
    conn = r.connect(port=server.port)
    r.db_create("app").run(conn)
    r.db("app").table_create("people", primary_key="name").run(conn)
    r.db("app").table("people").insert([{"name": "ada", "age": 36}, {"name": "bob", "age": 7}]).run(conn)
    r.db("app").table("people").index_create("age", lambda row: row["age"]).run(conn)
    conn.close()
    assert server.stop() == 0

    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(port=server.port)
        people = r.db("app").table("people")
        assert sorted(r.db_list().run(conn)) == ["app", "rethinkdb", "test"]
        assert people.get("ada").run(conn) == {"name": "ada", "age": 36}
        assert people.index_list().run(conn) == ["age"]
        assert [p["name"] for p in people.between(0, 10, index="age").run(conn)] == ["bob"]
    finally:
        server.stop()


def test_acknowledged_hard_writes_survive_kill_9(tmp_path: Path) -> None:
    r = RethinkDB()
    server = start_server(tmp_path / "data")
    conn = r.connect(port=server.port)
    r.table_create("log").run(conn)
    acked: list[int] = []

    def writer() -> None:
        i = 0
        try:
            while True:
                r.table("log").insert({"id": i}).run(conn)  # durability defaults to hard
                acked.append(i)
                i += 1
        except (ReqlError, OSError):
            pass

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    thread.join(30)
    assert len(acked) >= 50

    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(port=server.port)
        stored = {doc["id"] for doc in r.table("log").run(conn)}
        assert set(acked) <= stored
    finally:
        server.stop()


def test_acknowledged_hard_writes_of_concurrent_writers_survive_kill_9(tmp_path: Path) -> None:
    """Concurrent hard writers share fsyncs (group commit); each write is acknowledged only once it is on disk."""
    r = RethinkDB()
    server = start_server(tmp_path / "data")
    with r.connect(port=server.port) as conn:
        r.table_create("log").run(conn)
    acked: list[str] = []

    def writer(n: int) -> None:
        try:
            with r.connect(port=server.port) as conn:
                for i in range(100_000):
                    r.table("log").insert({"id": f"{n}-{i}"}).run(conn)  # durability defaults to hard
                    acked.append(f"{n}-{i}")
        except (ReqlError, OSError):
            pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 400 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    for thread in threads:
        thread.join(30)
    assert len(acked) >= 400

    server = start_server(tmp_path / "data")
    try:
        with r.connect(port=server.port) as conn:
            stored = {doc["id"] for doc in r.table("log").run(conn)}
        assert set(acked) <= stored
    finally:
        server.stop()


def test_password_change_survives_restart(tmp_path: Path) -> None:
    r = RethinkDB()
    server = start_server(tmp_path / "data")
    conn = r.connect(port=server.port)
    r.db("rethinkdb").table("users").get("admin").update({"password": "n3w"}).run(conn)
    conn.close()
    server.stop()
    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(port=server.port, password="n3w")
        assert r.expr(1).run(conn) == 1
    finally:
        server.stop()

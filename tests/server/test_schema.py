"""Databases, tables and secondary indexes (built in the background) through the real driver."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlCompileError, ReqlOpFailedError, ReqlQueryLogicError
from servers import start_server


def name() -> str:
    return "n_" + uuid.uuid4().hex[:10]


def test_db_lifecycle(conn: Any, r: RethinkDB) -> None:
    db = name()
    created = r.db_create(db).run(conn)
    assert created["dbs_created"] == 1
    assert created["config_changes"][0]["new_val"]["name"] == db
    assert db in r.db_list().run(conn)
    assert r.db(db).config().run(conn)["name"] == db
    with pytest.raises(ReqlOpFailedError, match=f"Database `{db}` already exists."):
        r.db_create(db).run(conn)
    r.db(db).table_create("a").run(conn)
    dropped = r.db_drop(db).run(conn)
    assert dropped["dbs_dropped"] == 1
    assert dropped["tables_dropped"] == 1
    with pytest.raises(ReqlOpFailedError, match=f"Database `{db}` does not exist."):
        r.db_drop(db).run(conn)


def test_system_db_is_listed_and_protected(conn: Any, r: RethinkDB) -> None:
    assert {"rethinkdb", "test"} <= set(r.db_list().run(conn))
    assert "users" in r.db("rethinkdb").table_list().run(conn)
    with pytest.raises(ReqlOpFailedError):
        r.db_drop("rethinkdb").run(conn)
    with pytest.raises(ReqlOpFailedError):
        r.db("rethinkdb").table_create("x").run(conn)


def test_invalid_names(conn: Any, r: RethinkDB) -> None:
    with pytest.raises(ReqlQueryLogicError, match=r"Database name `a b` invalid \(Use A-Z, a-z, 0-9, _ and - only\)."):
        r.db_create("a b").run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"Table name `a.b` invalid"):
        r.table_create("a.b").run(conn)


def test_table_lifecycle(conn: Any, r: RethinkDB) -> None:
    t = name()
    created = r.table_create(t, primary_key="key", durability="soft").run(conn)
    config = created["config_changes"][0]["new_val"]
    assert (config["primary_key"], config["durability"], config["name"], config["db"]) == ("key", "soft", t, "test")
    assert t in r.table_list().run(conn)
    assert r.table(t).config().run(conn)["primary_key"] == "key"
    assert r.table(t).status().run(conn)["status"]["ready_for_writes"] is True
    assert r.table(t).wait().run(conn) == {"ready": 1}
    with pytest.raises(ReqlOpFailedError, match=f"Table `test.{t}` already exists."):
        r.table_create(t).run(conn)
    assert r.table_drop(t).run(conn)["tables_dropped"] == 1
    with pytest.raises(ReqlOpFailedError, match=f"Table `test.{t}` does not exist."):
        r.table_drop(t).run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Table `test.{t}` does not exist."):
        r.table(t).run(conn)


def test_table_create_option_errors(conn: Any, r: RethinkDB) -> None:
    with pytest.raises(ReqlQueryLogicError, match="Durability option `fake` unrecognized"):
        r.table_create(name(), durability="fake").run(conn)
    with pytest.raises(ReqlCompileError, match=r"Unrecognized optional argument `foo`."):
        r.table_create(name(), foo="bar").run(conn)


def test_indexes(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert([{"id": 1, "a": 5, "b": 1, "tags": ["x", "y"]}, {"id": 2, "a": 3, "b": 2, "tags": ["y"]}]).run(conn)
    assert t.index_create("a").run(conn) == {"created": 1}
    assert t.index_create("ab", [r.row["a"], r.row["b"]]).run(conn) == {"created": 1}
    assert t.index_create("tags", multi=True).run(conn) == {"created": 1}
    assert t.index_create("neg", lambda row: row["a"] * -1).run(conn) == {"created": 1}
    assert t.index_list().run(conn) == ["a", "ab", "neg", "tags"]
    status = t.index_status("a").run(conn)[0]
    assert (status["index"], status["ready"], status["multi"], status["geo"]) == ("a", True, False, False)
    assert t.index_wait().run(conn)[0]["ready"] is True
    assert [d["id"] for d in t.get_all("y", index="tags").run(conn)] == [1, 2]
    assert [d["id"] for d in t.get_all([3, 2], index="ab").run(conn)] == [2]
    assert [d["id"] for d in t.between(-10, 0, index="neg").run(conn)] == [1, 2]
    with pytest.raises(ReqlOpFailedError, match=f"Index `a` already exists on table `test.{table}`."):
        t.index_create("a").run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"Index name conflict: `id` is the name of the primary key."):
        t.index_create("id").run(conn)
    assert t.index_rename("a", "a2").run(conn) == {"renamed": 1}
    assert t.index_drop("a2").run(conn) == {"dropped": 1}
    with pytest.raises(ReqlOpFailedError, match=f"Index `a2` does not exist on table `test.{table}`."):
        t.index_drop("a2").run(conn)
    with pytest.raises(ReqlOpFailedError, match=f"Index `a2` was not found on table `test.{table}`."):
        t.get_all(1, index="a2").run(conn)


def test_an_index_on_a_field_holds_what_any_function_of_it_holds(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    values = [1, 1.0, 2.5, "s", None, True, [1, [2, 1], 1], [], {"o": 1}, r.epoch_time(5)]
    t.insert([{"id": i, "v": value} for i, value in enumerate(values)] + [{"id": "none"}]).run(conn)
    # `index_create(name)` reads the field itself; a function of the field that says the same goes the long way.
    for multi in (False, True):
        suffix = "_multi" if multi else ""
        t.index_create("v" + suffix, lambda row: row["v"], multi=multi).run(conn)
        t.index_create("by_function" + suffix, lambda row: r.branch(True, row["v"], 0), multi=multi).run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": f"late {i}", "v": value} for i, value in enumerate(values)]).run(conn)  # (indexed as written)
    for suffix in ("", "_multi"):
        entries = [list(t.order_by(index=name + suffix).pluck("id").run(conn)) for name in ("v", "by_function")]
        assert entries[0] == entries[1]
        assert len(entries[0]) == 16  # (no null, no object; in a multi index no [], and [1, [2, 1], 1] twice)
    assert [doc["id"] for doc in t.get_all(1, index="v_multi").run(conn)] == [0, 1, 6, "late 0", "late 1", "late 6"]


def not_ready(index: str, table: str) -> str:
    return f"Index `{index}` on table `test.{table}` was accessed before its construction was finished."


def fill(conn: Any, r: RethinkDB, table: str, rows: int) -> None:
    r.table(table).insert(r.range(rows).map(lambda i: {"id": i, "g": i % 7})).run(conn, durability="soft")


def test_index_builds_in_the_background(conn: Any, r: RethinkDB, table: str) -> None:
    fill(conn, r, table, 50_000)
    t = r.table(table)
    assert t.index_create("g").run(conn) == {"created": 1}
    building = t.index_status("g").run(conn)[0]
    assert building["ready"] is False
    assert 0 <= building["progress"] < 1
    assert (building["index"], building["multi"], building["geo"], building["outdated"]) == ("g", False, False, False)
    assert t.index_list().run(conn) == ["g"]
    waited = t.index_wait("g").run(conn)[0]
    assert waited["ready"] is True
    assert "progress" not in waited
    assert "progress" not in t.index_status().run(conn)[0]
    assert t.get_all(3, index="g").count().run(conn) == t.filter({"g": 3}).count().run(conn)


def test_index_is_unusable_until_built(conn: Any, r: RethinkDB, table: str) -> None:
    fill(conn, r, table, 50_000)
    t = r.table(table)
    t.index_create("g").run(conn)
    message = not_ready("g", table)
    for query in (
        t.get_all(1, index="g"),
        t.between(1, 3, index="g"),
        t.order_by(index="g").limit(1),
        r.expr([1]).eq_join(lambda x: x, t, index="g"),
        t.get_all(1, index="g").changes(),
        t.between(1, 3, index="g").changes(),
    ):
        with pytest.raises(ReqlOpFailedError) as info:
            query.run(conn)
        assert info.value.message == message
    t.index_wait().run(conn)
    assert t.order_by(index="g").nth(0)["g"].run(conn) == 0


def test_writes_during_a_build_are_indexed(conn: Any, r: RethinkDB, table: str) -> None:
    fill(conn, r, table, 50_000)
    t = r.table(table)
    t.index_create("g").run(conn)
    # Rows the builder has passed and rows it has not reached yet, changed while it runs.
    for start in (0, 25_000, 49_000):
        t.between(start, start + 300).update({"g": 100}).run(conn)
        t.between(start + 300, start + 400).delete().run(conn)
        t.insert([{"id": start + 0.5 + i / 1000, "g": 101} for i in range(50)]).run(conn)
    assert t.index_status("g").run(conn)[0]["ready"] is False  # the writes above ran during the build
    t.index_wait("g").run(conn)
    for value in (0, 3, 6, 100, 101):
        indexed = sorted(t.get_all(value, index="g")["id"].run(conn))
        assert indexed == sorted(t.filter({"g": value})["id"].run(conn))
    assert t.between(r.minval, r.maxval, index="g").count().run(conn) == t.count().run(conn) == 50_000 - 150


def test_index_drop_stops_a_build(conn: Any, r: RethinkDB, table: str) -> None:
    fill(conn, r, table, 50_000)
    t = r.table(table)
    t.index_create("g").run(conn)
    assert t.index_drop("g").run(conn) == {"dropped": 1}
    assert t.index_list().run(conn) == []
    with pytest.raises(ReqlOpFailedError, match=f"Index `g` was not found on table `test.{table}`."):
        t.index_status("g").run(conn)
    # The name is free again, and the new index builds from the start.
    t.index_create("g", lambda row: row["g"] * 2).run(conn)
    t.index_wait().run(conn)
    assert t.get_all(6, index="g").count().run(conn) == t.filter({"g": 3}).count().run(conn)


def test_index_rename_during_a_build(conn: Any, r: RethinkDB, table: str) -> None:
    fill(conn, r, table, 20_000)
    t = r.table(table)
    t.index_create("g").run(conn)
    assert t.index_rename("g", "h").run(conn) == {"renamed": 1}
    assert t.index_wait().run(conn)[0]["index"] == "h"
    assert t.get_all(2, index="h").count().run(conn) == t.filter({"g": 2}).count().run(conn)


def test_a_restart_resumes_a_build(tmp_path: Any, r: RethinkDB) -> None:
    server = start_server(tmp_path / "data")
    conn = r.connect(server.host, server.port)
    r.table_create("big").run(conn)
    fill(conn, r, "big", 50_000)
    r.table("big").index_create("g").run(conn)
    r.table("big").between(0, 1000).update({"g": 100}).run(conn)
    assert r.table("big").index_status("g").run(conn)[0]["ready"] is False  # killed mid-build
    conn.close()
    server.kill()
    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(server.host, server.port)
        t = r.table("big")
        assert t.index_wait("g").run(conn)[0]["ready"] is True
        assert t.get_all(100, index="g").count().run(conn) == 1000
        assert t.get_all(5, index="g").count().run(conn) == t.filter({"g": 5}).count().run(conn)
        conn.close()
    finally:
        server.stop()


def test_a_clean_stop_does_not_wait_for_a_build(tmp_path: Any, r: RethinkDB) -> None:
    server = start_server(tmp_path / "data")
    conn = r.connect(server.host, server.port)
    r.table_create("big").run(conn)
    fill(conn, r, "big", 150_000)
    r.table("big").index_create("g").run(conn)
    waiter = r.connect(server.host, server.port)
    token = r.table("big").index_wait("g").run(waiter, noreply=True)  # waits in the server while it stops
    assert token is None
    assert server.stop() == 0  # SIGTERM: the build stops where it is
    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(server.host, server.port)
        assert r.table("big").index_status("g").run(conn)[0]["ready"] is False  # it was stopped mid-build
        assert r.table("big").index_wait("g").run(conn)[0]["ready"] is True
        assert r.table("big").get_all(5, index="g").count().run(conn) == r.table("big").filter({"g": 5}).count().run(
            conn
        )
    finally:
        server.stop()


def test_index_errors_name_the_table(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    with pytest.raises(ReqlOpFailedError, match=f"Index `nope` does not exist on table `test.{table}`."):
        t.index_drop("nope").run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"^Could not prove function deterministic\.  Index functions must"):
        t.index_create("other", lambda row: r.table(table).get(0)).run(conn)
    assert t.index_list().run(conn) == []


def test_info_describes_values_selections_and_slices(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.minval.info().run(conn) == {"type": "MINVAL"}
    assert r.expr(None).info().run(conn) == {"type": "NULL"}
    assert r.expr({"a": [1]}).info().run(conn) == {"type": "OBJECT", "value": '{\n\t"a":\t[\n\t\t1\n\t]\n}'}
    t = r.table(table)
    described = t.info().run(conn)
    assert t.filter(True).info().run(conn) == {"type": "SELECTION<STREAM>", "table": described}
    assert t.between(0, 5, right_bound="closed").info().run(conn) == {
        "index": "id", "left_bound": 0, "left_bound_type": "closed", "right_bound": 5, "right_bound_type": "closed",
        "sorting": "UNORDERED", "table": described, "type": "TABLE_SLICE",
    }  # fmt: skip
    unbounded = t.order_by(index=r.desc("id")).info().run(conn)
    assert (unbounded["sorting"], unbounded["left_bound_type"], unbounded["right_bound_type"]) == (
        "DESCENDING",
        "unbounded",
        "unbounded",
    )
    assert t.between(5, 1).info()["left_bound_type"].run(conn) == "unachievable"


def test_a_slice_on_a_missing_index_fails_only_when_read(conn: Any, r: RethinkDB, table: str) -> None:
    # As in RethinkDB: between, order_by and get_all name an index they read only when rows are asked of them.
    t = r.table(table)
    t.insert({"id": 1, "a": 0}).run(conn)
    described = t.info().run(conn)
    assert t.between(0, 1, index="a").info().run(conn) == {
        "index": "a", "left_bound": 0, "left_bound_type": "closed", "right_bound": 1, "right_bound_type": "open",
        "sorting": "UNORDERED", "table": described, "type": "TABLE_SLICE",
    }  # fmt: skip
    assert t.order_by(index="a").between(0, 1, index="a").info()["sorting"].run(conn) == "ASCENDING"
    assert t.get_all(0, index="a").info().run(conn) == {"type": "SELECTION<STREAM>", "table": described}
    missing = f"Index `a` was not found on table `test.{table}`."
    for query in (
        t.between(0, 1, index="a"),
        t.order_by(index="a"),
        t.order_by(index="a").limit(1),
        t.between(0, 1, index="a").count(),
        t.get_all(0, index="a"),
        t.between(0, 1, index="a").changes(),
        t.order_by(index="a").limit(1).changes(),
        t.get_all(0, index="a").changes(),
    ):
        with pytest.raises(ReqlOpFailedError) as info:
            query.run(conn)
        assert info.value.message == missing
    t.index_create("a").run(conn)
    t.index_wait("a").run(conn)
    assert list(t.between(0, 1, index="a").run(conn)) == [{"id": 1, "a": 0}]

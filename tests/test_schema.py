"""Databases, tables and secondary indexes through the real driver."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlCompileError, ReqlOpFailedError, ReqlQueryLogicError


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
    with pytest.raises(ReqlOpFailedError, match=f"Index `a2` was not found on table `test.{table}`."):
        t.index_drop("a2").run(conn)

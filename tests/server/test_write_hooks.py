"""set_write_hook and get_write_hook, and the hook running on every insert, update, replace and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError, ReqlQueryLogicError
from servers import start_server


def test_set_get_and_drop(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    assert t.get_write_hook().run(conn) is None
    assert t.set_write_hook(lambda ctx, old, new: new).run(conn) == {"created": 1}
    assert t.set_write_hook(lambda ctx, old, new: new.merge({"b": 1})).run(conn) == {"replaced": 1}
    hook = t.get_write_hook().run(conn)
    assert set(hook) == {"function", "query"}
    assert isinstance(hook["function"], bytes)
    assert t.config()["write_hook"].run(conn) == hook
    assert t.set_write_hook(None).run(conn) == {"deleted": 1}
    assert t.set_write_hook(None).run(conn) == {"deleted": 1}
    assert t.config()["write_hook"].run(conn) is None


def test_binary_from_get_write_hook_sets_the_same_hook(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.set_write_hook(lambda ctx, old, new: new.merge({"b": 1})).run(conn)
    blob = t.get_write_hook()["function"].run(conn)
    t.set_write_hook(None).run(conn)
    assert t.set_write_hook(r.binary(blob)).run(conn) == {"created": 1}
    t.insert({"id": 1}).run(conn)
    assert t.get(1).run(conn) == {"id": 1, "b": 1}
    with pytest.raises(ReqlQueryLogicError, match="except from a reql_write_hook_function returned from"):
        t.set_write_hook(r.binary(b"not a hook")).run(conn)


def test_invalid_hooks(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    with pytest.raises(ReqlQueryLogicError, match=r"^Write hook functions must expect 3 arguments in:"):
        t.set_write_hook(lambda ctx: 1).run(conn)
    deterministic = r"^Could not prove function deterministic.  Write hook functions must be deterministic in:"
    with pytest.raises(ReqlQueryLogicError, match=deterministic):
        t.set_write_hook(lambda ctx, old, new: new.merge({"at": r.now()})).run(conn)
    with pytest.raises(ReqlQueryLogicError, match=deterministic):
        t.set_write_hook(lambda ctx, old, new: r.table(table).get(1)).run(conn)
    with pytest.raises(ReqlOpFailedError, match=r"^Database `rethinkdb` is special; you can't set a write hook"):
        r.db("rethinkdb").table("users").set_write_hook(lambda ctx, old, new: new).run(conn)


def test_hook_changes_what_writes_store(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    hook = lambda ctx, old, new: new.merge({"n": 1, "t": ctx["timestamp"], "key": ctx["primary_key"]})  # noqa: E731
    t.set_write_hook(hook).run(conn)
    assert t.insert({"id": 1}).run(conn)["inserted"] == 1
    row = t.get(1).run(conn)
    assert (row["n"], row["key"], type(row["t"]).__name__) == (1, 1, "datetime")
    t.set_write_hook(lambda ctx, old, new: new.merge({"seen": old["n"]})).run(conn)
    assert t.get(1).update({"x": 2}).run(conn)["replaced"] == 1
    assert t.get(1).pluck("x", "seen").run(conn) == {"x": 2, "seen": 1}
    assert t.get(1).replace({"id": 1}).run(conn)["replaced"] == 1
    assert t.get(1).run(conn) == {"id": 1, "seen": 1}


def test_hook_may_not_change_deletions(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.set_write_hook(lambda ctx, old, new: None).run(conn)
    inserted = t.insert({"id": 1}).run(conn)
    assert (inserted["errors"], inserted["inserted"]) == (1, 0)
    assert inserted["first_error"] == "A write hook function must not turn a replace/insert into a deletion."
    t.insert({"id": 1}, ignore_write_hook=True).run(conn)
    t.set_write_hook(lambda ctx, old, new: {}).run(conn)
    deleted = t.delete().run(conn)
    assert deleted["first_error"] == "A write hook function must not turn a deletion into a replace/insert."
    assert t.count().run(conn) == 1


def test_errors_in_the_hook_are_the_documents_errors(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.insert({"id": 1}).run(conn)
    t.set_write_hook(lambda ctx, old, new: r.error("no")).run(conn)
    assert t.insert({"id": 2}).run(conn)["first_error"] == "Error in write hook: no"
    deleted = t.delete().run(conn)
    assert (deleted["errors"], deleted["first_error"]) == (1, "Error in write hook: no")
    assert t.delete(ignore_write_hook=True).run(conn)["deleted"] == 1


def test_table_config_keeps_the_hook_read_only(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.set_write_hook(lambda ctx, old, new: new).run(conn)
    config = r.db("rethinkdb").table("table_config").filter({"name": table})
    assert config.update({"durability": "soft"}).run(conn)["replaced"] == 1
    result = config.update({"write_hook": None}).run(conn)
    assert result["first_error"].startswith("The `write_hook` field is read-only")


def test_the_hook_survives_a_restart(tmp_path: Path, r: RethinkDB) -> None:
    server = start_server(tmp_path / "data")
    conn = r.connect(server.host, server.port)
    r.table_create("hooked").run(conn)
    r.table("hooked").set_write_hook(lambda ctx, old, new: new.merge({"stamped": True})).run(conn)
    shown = r.table("hooked").get_write_hook().run(conn)
    conn.close()
    server.stop()
    server = start_server(tmp_path / "data")
    try:
        conn = r.connect(server.host, server.port)
        assert r.table("hooked").get_write_hook().run(conn) == shown
        r.table("hooked").insert({"id": 1}).run(conn)
        assert r.table("hooked").get(1).run(conn) == {"id": 1, "stamped": True}
        assert r.table("hooked").set_write_hook(None).run(conn) == {"deleted": 1}
    finally:
        server.stop()

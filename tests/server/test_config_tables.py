"""The catalog system tables (`db_config`, `table_config`, `table_status`) read, written and changefed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError
from servers import start_server


def name() -> str:
    return "c_" + uuid.uuid4().hex[:10]


def system(r: RethinkDB, table: str, **optargs: Any) -> Any:
    return r.db("rethinkdb").table(table, **optargs)


def test_table_config_lists_user_tables(conn: Any, r: RethinkDB, table: str) -> None:
    rows = list(system(r, "table_config").filter({"name": table}).run(conn))
    assert len(rows) == 1
    row = rows[0]
    assert row["db"] == "test"
    assert row["primary_key"] == "id"
    assert row["indexes"] == []
    assert row["write_acks"] == "majority"
    assert row["durability"] == "hard"
    assert len(row["shards"]) == 1
    assert row == r.table(table).config().run(conn)
    assert "rethinkdb" not in {row["db"] for row in system(r, "table_config").run(conn)}


def test_identifier_format_uuid_names_databases_by_id(conn: Any, r: RethinkDB, table: str) -> None:
    db_id = r.db("test").config()["id"].run(conn)
    by_id = list(system(r, "table_config", identifier_format="uuid").filter({"name": table}).run(conn))
    assert by_id[0]["db"] == db_id
    status = list(system(r, "table_status", identifier_format="uuid").filter({"name": table}).run(conn))
    assert status[0]["db"] == db_id


def test_table_status_is_ready_and_read_only(conn: Any, r: RethinkDB, table: str) -> None:
    status = r.table(table).status().run(conn)
    assert status["name"] == table
    assert status["status"]["all_replicas_ready"] is True
    assert status["shards"][0]["replicas"][0]["state"] == "ready"
    result = system(r, "table_status").insert({"id": str(uuid.uuid4())}).run(conn)
    assert result["errors"] == 1
    assert "It's illegal to write to the `rethinkdb.table_status` table." in result["first_error"]


def test_renaming_a_table_through_config(conn: Any, r: RethinkDB) -> None:
    old, new = name(), name()
    r.table_create(old).run(conn)
    r.table(old).insert({"id": 1}).run(conn)
    assert r.table(old).config().update({"name": new}).run(conn)["replaced"] == 1
    assert new in r.table_list().run(conn)
    assert old not in r.table_list().run(conn)
    assert r.table(new).get(1).run(conn) == {"id": 1}
    r.table_drop(new).run(conn)


def test_config_refuses_what_cannot_change(conn: Any, r: RethinkDB, table: str) -> None:
    result = r.table(table).config().update({"primary_key": "other"}).run(conn)
    assert result["errors"] == 1
    assert result["first_error"] == "It's illegal to change a table's primary key"
    result = r.table(table).config().update({"durability": "sometimes"}).run(conn)
    assert result["first_error"] == 'In `durability`: Expected "soft" or "hard", got: "sometimes"'
    assert r.table(table).config()["durability"].run(conn) == "hard"


def test_tables_and_databases_made_and_dropped_by_rows(conn: Any, r: RethinkDB) -> None:
    db = name()
    assert system(r, "db_config").insert({"name": db}).run(conn)["inserted"] == 1
    assert db in r.db_list().run(conn)
    assert system(r, "table_config").insert({"name": "made", "db": db}).run(conn)["inserted"] == 1
    assert r.db(db).table_list().run(conn) == ["made"]
    r.db(db).table("made").insert({"id": "x"}).run(conn)
    assert system(r, "table_config").filter({"db": db}).delete().run(conn)["deleted"] == 1
    assert r.db(db).table_list().run(conn) == []
    assert system(r, "db_config").filter({"name": db}).delete().run(conn)["deleted"] == 1
    assert db not in r.db_list().run(conn)


def test_reconfigure_sets_shards(conn: Any, r: RethinkDB, table: str) -> None:
    result = r.table(table).reconfigure(shards=2, replicas=1).run(conn)
    assert result["reconfigured"] == 1
    assert len(result["config_changes"][0]["new_val"]["shards"]) == 2
    assert len(r.table(table).config()["shards"].run(conn)) == 2
    dry = r.table(table).reconfigure(shards=3, replicas=1, dry_run=True).run(conn)
    assert dry["reconfigured"] == 0
    assert len(r.table(table).config()["shards"].run(conn)) == 2
    with pytest.raises(ReqlOpFailedError, match="Can't put 2 replicas on servers with the tag `default`"):
        r.table(table).reconfigure(shards=1, replicas=2).run(conn)


def test_table_status_feed_sees_tables_come_and_go(conn: Any, r: RethinkDB) -> None:
    made = name()
    feed = system(r, "table_status").changes().run(conn)
    r.table_create(made).run(conn)
    created = feed.next(wait=5)
    assert created["old_val"] is None
    assert created["new_val"]["name"] == made
    r.table_drop(made).run(conn)
    dropped = feed.next(wait=5)
    assert dropped["old_val"]["name"] == made
    assert dropped["new_val"] is None
    feed.close()


def test_config_feed_follows_an_index(conn: Any, r: RethinkDB, table: str) -> None:
    feed = r.table(table).config().changes().run(conn)
    r.table(table).index_create("done").run(conn)
    change = feed.next(wait=5)
    assert change["old_val"]["indexes"] == []
    assert change["new_val"]["indexes"] == ["done"]
    feed.close()


def test_catalog_survives_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    r = RethinkDB()
    conn = r.connect(port=server.port)
    r.table_create("kept", shards=3).run(conn)
    r.table("kept").config().update({"durability": "soft", "write_acks": "single"}).run(conn)
    conn.close()
    server.stop()
    server = start_server(tmp_path / "data")
    conn = r.connect(port=server.port)
    config = r.table("kept").config().run(conn)
    assert (len(config["shards"]), config["durability"], config["write_acks"]) == (3, "soft", "single")
    conn.close()
    server.stop()


def test_rebalance_reports_each_table(conn: Any, r: RethinkDB) -> None:
    db = name()
    r.db_create(db).run(conn)
    r.db(db).table_create("a").run(conn)
    r.db(db).table_create("b").run(conn)
    result = r.db(db).table("a").rebalance().run(conn)
    assert result["rebalanced"] == 1
    assert result["status_changes"][0]["new_val"]["name"] == "a"
    assert r.db(db).rebalance().run(conn)["rebalanced"] == 2
    r.db_drop(db).run(conn)


def test_permissions_keys_name_uuids(conn: Any, r: RethinkDB) -> None:
    permissions = r.db("rethinkdb").table("permissions")
    r.db("rethinkdb").table("users").insert({"id": "keyed", "password": False}).run(conn)
    db_id = r.db("test").config()["id"].run(conn)
    errors = [
        ({}, "You must specify a primary key."),
        ({"id": ["keyed", "invalid"]}, 'Expected a UUID as the database, got "invalid".'),
        ({"id": ["keyed", "00000000-0000-0000-0000-000000000000"]},
         "No database with UUID `00000000-0000-0000-0000-000000000000` exists."),
        ({"id": ["keyed", db_id, "invalid"]}, 'Expected a UUID as the table, got "invalid".'),
    ]  # fmt: skip
    for doc, message in errors:
        result = permissions.insert(doc).run(conn)
        assert (result["errors"], result["first_error"]) == (1, message)
    r.db("rethinkdb").table("users").get("keyed").delete().run(conn)

"""The `rethinkdb.users` system table: listing users, adding them, changing and removing passwords."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError
from servers import ServerProcess


def test_password_change_takes_effect(private: ServerProcess) -> None:
    r = RethinkDB()
    conn = r.connect(port=private.port)
    users = r.db("rethinkdb").table("users")
    assert list(users.run(conn)) == [{"id": "admin", "password": False}]
    assert users.get("admin").update({"password": "x"}).run(conn)["replaced"] == 1
    assert users.get("admin").run(conn) == {"id": "admin", "password": True}
    conn.close()
    with pytest.raises(ReqlAuthError):
        r.connect(port=private.port)
    conn = r.connect(port=private.port, password="x")
    users.get("admin").update({"password": False}).run(conn)
    conn.close()
    r.connect(port=private.port).close()


def test_add_and_remove_users(private: ServerProcess) -> None:
    r = RethinkDB()
    conn = r.connect(port=private.port)
    users = r.db("rethinkdb").table("users")
    assert users.insert({"id": "bob", "password": "secret"}).run(conn)["inserted"] == 1
    r.connect(port=private.port, user="bob", password="secret").close()
    assert users.get("bob").delete().run(conn)["deleted"] == 1
    with pytest.raises(ReqlAuthError, match="Unknown user"):
        r.connect(port=private.port, user="bob", password="secret")
    removing_admin = users.get("admin").delete().run(conn)
    assert removing_admin["errors"] == 1


def test_system_database_lists_its_tables(conn: Any, r: RethinkDB) -> None:
    assert r.db("rethinkdb").table_list().run(conn) == [
        "cluster_config", "current_issues", "db_config", "jobs", "logs", "permissions", "server_config",
        "server_status", "stats", "table_config", "table_status", "users",
    ]  # fmt: skip
    info = r.db("rethinkdb").table("stats").info().run(conn)
    assert info["name"] == "stats" and info["db"]["name"] == "rethinkdb" and info["primary_key"] == "id"


def test_server_config_renames_and_retags(private: ServerProcess) -> None:
    r = RethinkDB()
    conn = r.connect(port=private.port)
    config = r.db("rethinkdb").table("server_config")
    [row] = config.run(conn)
    assert set(row) == {"id", "name", "tags", "cache_size_mb"} and row["tags"] == ["default"]
    assert config.get(row["id"]).update({"name": "alpha", "tags": ["b", "a"]}).run(conn)["replaced"] == 1
    assert config.get(row["id"]).run(conn)["name"] == "alpha"
    shards = r.db("rethinkdb").table("table_config").run(conn)
    assert all(shard["primary_replica"] == "alpha" for table in shards for shard in table["shards"])
    bad = config.get(row["id"]).update({"name": "no spaces"}).run(conn)
    assert bad["errors"] == 1 and "is not a valid server name" in bad["first_error"]
    assert "illegal to delete" in config.get(row["id"]).delete().run(conn)["first_error"]
    assert "illegal to insert" in config.insert({"id": "x", "name": "y", "tags": []}).run(conn)["first_error"]


def test_server_status_reports_this_process(conn: Any, r: RethinkDB, server: ServerProcess) -> None:
    [row] = r.db("rethinkdb").table("server_status").run(conn)
    assert row["network"]["reql_port"] == server.port
    assert row["network"]["http_admin_port"] == "<no http admin>"
    assert row["process"]["pid"] == server.process.pid
    assert set(row["process"]) == {"argv", "cache_size_mb", "pid", "time_started", "version"}
    result = r.db("rethinkdb").table("server_status").delete().run(conn)
    assert result["first_error"] == "It's illegal to write to the `rethinkdb.server_status` table."


def test_cluster_config_rows(conn: Any, r: RethinkDB) -> None:
    table = r.db("rethinkdb").table("cluster_config")
    assert list(table.order_by("id").run(conn)) == [
        {"id": "auth", "auth_key": None},
        {"id": "heartbeat", "heartbeat_timeout_secs": 10},
    ]
    assert table.insert({"id": "other"}).run(conn)["first_error"].startswith("It's illegal to insert new rows")
    assert table.get("auth").delete().run(conn)["first_error"].startswith("It's illegal to delete rows")
    assert table.get("heartbeat").update({"heartbeat_timeout_secs": "x"}).run(conn)["errors"] == 1


def test_issues_logs_and_jobs(conn: Any, r: RethinkDB) -> None:
    assert list(r.db("rethinkdb").table("current_issues").run(conn)) == []
    assert list(r.db("rethinkdb").table("logs").run(conn)) == []
    [job] = r.db("rethinkdb").table("jobs").run(conn)  # the query reading `jobs` is running
    assert job["type"] == "query" and job["id"][0] == "query" and job["info"]["user"] == "admin"
    assert job["info"]["client_address"] == "127.0.0.1" and isinstance(job["duration_sec"], float)


def test_stats_count_reads_and_writes(conn: Any, r: RethinkDB, table: str) -> None:
    r.table(table).insert([{"id": i} for i in range(5)]).run(conn)
    list(r.table(table).run(conn))
    table_id = r.table(table).info().run(conn)["id"]
    stats = {tuple(row["id"][:2]): row for row in r.db("rethinkdb").table("stats").run(conn)}
    assert set(stats[("cluster",)]["query_engine"]) == {
        "client_connections", "clients_active", "queries_per_sec", "read_docs_per_sec", "written_docs_per_sec",
    }  # fmt: skip
    per_table = stats[("table_server", table_id)]["query_engine"]
    assert per_table["written_docs_total"] == 5 and per_table["read_docs_total"] == 5
    assert stats[("table", table_id)]["table"] == table
    assert stats[("server", stats[("table_server", table_id)]["id"][2])]["query_engine"]["queries_total"] > 0

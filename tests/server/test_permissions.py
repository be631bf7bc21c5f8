"""Permissions: `grant` at each scope, the `rethinkdb.permissions` table, and their enforcement for another user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlOpFailedError, ReqlPermissionError
from servers import ServerProcess, start_server


@pytest.fixture
def admin(private: ServerProcess) -> Iterator[Any]:
    r = RethinkDB()
    conn = r.connect(port=private.port)
    r.db("rethinkdb").table("users").insert({"id": "bob", "password": "pw"}).run(conn)
    r.db_create("app").run(conn)
    r.db("app").table_create("notes").run(conn)
    r.db("app").table("notes").insert({"id": 1}).run(conn)
    yield conn
    conn.close()


def bob(private: ServerProcess) -> Any:
    return RethinkDB().connect(port=private.port, user="bob", password="pw", db="app")


def denied(permission: str) -> str:
    return re.escape(f"User `bob` does not have the required `{permission}` permission")


def test_new_user_can_do_nothing(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.table("notes").run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.table("notes").get(1).run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        r.table("notes").insert({"id": 2}).run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("config")):
        r.table("notes").index_create("x").run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("config")):
        r.table_create("other").run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("config")):
        r.db_create("other").run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.db("rethinkdb").table("users").run(conn)


def test_changefeeds_need_read(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.table("notes").changes().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.table("notes").get(1).changes().run(conn)
    r.db("app").table("notes").grant("bob", {"read": True}).run(admin)
    feed = r.table("notes").changes(include_initial=True).run(conn)
    assert feed.next(wait=5) == {"new_val": {"id": 1}}
    feed.close()


def test_grants_at_each_scope(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    assert r.grant("bob", {"read": True}).run(admin) == {
        "granted": 1, "permissions_changes": [{"old_val": None, "new_val": {"read": True}}],
    }  # fmt: skip
    assert list(r.table("notes").run(conn)) == [{"id": 1}]
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        r.table("notes").insert({"id": 2}).run(conn)
    r.db("app").grant("bob", {"write": True, "config": True}).run(admin)
    assert r.table("notes").insert({"id": 2}).run(conn)["inserted"] == 1
    assert r.table("notes").index_create("x").run(conn) == {"created": 1}
    # The narrowest scope that sets a permission decides.
    r.db("app").table("notes").grant("bob", {"read": False}).run(admin)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.table("notes").count().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        r.table("notes").insert({"id": 3}).run(conn)
    rows = r.db("rethinkdb").table("permissions").filter({"user": "bob"}).order_by("id").run(admin)
    assert [row["permissions"] for row in rows] == [
        {"read": True}, {"config": True, "write": True}, {"read": False},
    ]  # fmt: skip
    assert rows[2]["database"] == "app" and rows[2]["table"] == "notes" and len(rows[2]["id"]) == 3


def test_global_permissions_do_not_reach_the_system_database(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    r.grant("bob", {"read": True, "write": True}).run(admin)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.db("rethinkdb").table("stats").run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        r.grant("bob", {"config": True}).run(conn)
    r.db("rethinkdb").table("stats").grant("bob", {"read": True}).run(admin)
    assert len(list(r.db("rethinkdb").table("stats").run(conn))) >= 2
    r.db("rethinkdb").grant("bob", {"read": True, "write": True}).run(admin)
    assert r.grant("bob", {"config": True}).run(conn)["granted"] == 1


def test_grant_errors(private: ServerProcess, admin: Any) -> None:
    r = RethinkDB()
    with pytest.raises(ReqlOpFailedError, match=re.escape("Expected a boolean or null for `read`, got 1")):
        r.grant("bob", {"read": 1}).run(admin)
    with pytest.raises(ReqlOpFailedError, match=re.escape("Unexpected key(s) `invalid`")):
        r.grant("bob", {"invalid": "invalid"}).run(admin)
    with pytest.raises(
        ReqlOpFailedError, match=re.escape("The `connect` permission is only valid at the global scope")
    ):
        r.db("app").grant("bob", {"connect": True}).run(admin)
    with pytest.raises(ReqlOpFailedError, match=re.escape("The permissions of the user `admin` can't be modified")):
        r.db("app").table("notes").grant("admin", {"config": False}).run(admin)
    with pytest.raises(ReqlOpFailedError, match=re.escape("User `carol` not found")):
        r.grant("carol", {"read": True}).run(admin)
    r.grant("bob", {"read": True, "write": True, "config": True, "connect": True}).run(admin)
    change = r.grant("bob", {"read": None, "write": False}).run(admin)["permissions_changes"][0]
    assert change["new_val"] == {"write": False, "config": True, "connect": True}
    assert r.grant("bob", {"write": None, "config": None, "connect": None}).run(admin)["permissions_changes"] == [
        {"old_val": {"write": False, "config": True, "connect": True}, "new_val": None}
    ]


def test_permissions_table_writes(private: ServerProcess, admin: Any) -> None:
    r = RethinkDB()
    permissions = r.db("rethinkdb").table("permissions")
    assert permissions.get(["admin"]).run(admin)["permissions"] == {
        "config": True, "connect": True, "read": True, "write": True,
    }  # fmt: skip
    assert permissions.insert({"id": ["bob"], "permissions": {"read": True}}).run(admin)["inserted"] == 1
    assert list(r.table("notes").run(bob(private))) == [{"id": 1}]
    assert permissions.get(["bob"]).delete().run(admin)["deleted"] == 1
    with pytest.raises(ReqlPermissionError):
        r.table("notes").run(bob(private))
    modify_admin = permissions.get(["admin"]).update({"permissions": {"read": False}}).run(admin)
    assert modify_admin["first_error"] == "The permissions of the user `admin` can't be modified."
    assert permissions.insert({"id": ["carol"], "permissions": {}}).run(admin)["first_error"] == (
        "No user named `carol`."
    )


def test_permissions_survive_a_restart_and_go_with_their_user(tmp_path: Path) -> None:
    r = RethinkDB()
    first = start_server(tmp_path / "data")
    conn = r.connect(port=first.port)
    r.db("rethinkdb").table("users").insert({"id": "bob", "password": "pw"}).run(conn)
    r.table_create("t").run(conn)
    r.table("t").grant("bob", {"read": True}).run(conn)
    conn.close()
    first.stop()
    second = start_server(tmp_path / "data")
    try:
        conn = r.connect(port=second.port, user="bob", password="pw")
        assert list(r.table("t").run(conn)) == []
        admin = r.connect(port=second.port)
        r.db("rethinkdb").table("users").get("bob").delete().run(admin)
        assert list(r.db("rethinkdb").table("permissions").run(admin)) == [
            {"id": ["admin"], "permissions": {"config": True, "connect": True, "read": True, "write": True},
             "user": "admin"},
        ]  # fmt: skip
    finally:
        second.stop()


def test_reconfiguring_through_config_needs_config(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    rename = r.table("notes").config().update({"name": "renamed"})
    with pytest.raises(ReqlPermissionError, match=denied("config")):  # config() itself needs it
        rename.run(conn)
    r.db("app").table("notes").grant("bob", {"config": True}).run(admin)
    assert r.table("notes").config()["name"].run(conn) == "notes"
    with pytest.raises(ReqlPermissionError, match=denied("read")):  # the row lives in the system database
        rename.run(conn)
    r.db("rethinkdb").grant("bob", {"read": True, "write": True}).run(admin)
    for_tables = r.db("rethinkdb").table("table_config")
    assert for_tables.insert({"name": "made", "db": "app"}).run(conn)["first_error"] == (
        "User `bob` does not have the required `config` permission."
    )
    assert r.db("app").table_list().run(admin) == ["notes"]
    assert rename.run(conn)["replaced"] == 1
    assert r.db("app").table_list().run(admin) == ["renamed"]


# ---------------------------------------------------------------- open feeds follow permissions

FEED_WAIT = 10  # generous: the feed's next change, or its end


def ends_denied(feed: Any) -> None:
    with pytest.raises(ReqlPermissionError, match=denied("read")):
        feed.next(wait=FEED_WAIT)


def test_revoking_read_on_the_table_ends_the_users_feeds(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    notes = r.db("app").table("notes")
    notes.grant("bob", {"read": True}).run(admin)
    bobs_table_feed = r.table("notes").changes().run(conn)
    bobs_point_feed = r.table("notes").get(2).changes().run(conn)
    admins_feed = notes.changes().run(admin)
    notes.grant("bob", {"read": False}).run(admin)
    notes.grant("bob", {"read": True}).run(admin)  # granting back does not bring an ended feed back
    notes.insert({"id": 2}).run(admin)
    ends_denied(bobs_table_feed)
    ends_denied(bobs_point_feed)
    assert admins_feed.next(wait=FEED_WAIT) == {"new_val": {"id": 2}, "old_val": None}
    # A feed opened now follows the permission as it is now.
    fresh = r.table("notes").changes().run(conn)
    notes.insert({"id": 3}).run(admin)
    assert fresh.next(wait=FEED_WAIT) == {"new_val": {"id": 3}, "old_val": None}


def test_revoking_read_on_the_database_ends_only_the_feeds_on_its_tables(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    r.table_create("elsewhere").run(admin)  # in `test`
    r.grant("bob", {"read": True}).run(admin)
    in_app = r.table("notes").changes().run(conn)
    in_test = r.db("test").table("elsewhere").changes().run(conn)
    r.db("app").grant("bob", {"read": False}).run(admin)
    r.db("app").table("notes").insert({"id": 2}).run(admin)
    r.db("test").table("elsewhere").insert({"id": 1}).run(admin)
    ends_denied(in_app)
    assert in_test.next(wait=FEED_WAIT) == {"new_val": {"id": 1}, "old_val": None}


def test_deleting_the_user_ends_their_feeds(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    notes = r.db("app").table("notes")
    r.grant("bob", {"read": True}).run(admin)
    bobs_feed = r.table("notes").changes(include_initial=True).run(conn)
    assert bobs_feed.next(wait=FEED_WAIT) == {"new_val": {"id": 1}}
    admins_feed = notes.changes().run(admin)
    r.db("rethinkdb").table("users").get("bob").delete().run(admin)
    notes.insert({"id": 2}).run(admin)
    ends_denied(bobs_feed)
    assert admins_feed.next(wait=FEED_WAIT) == {"new_val": {"id": 2}, "old_val": None}


def test_writing_the_permissions_table_ends_feeds_that_lose_read(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    permissions, notes = r.db("rethinkdb").table("permissions"), r.db("app").table("notes")
    permissions.insert({"id": ["bob"], "permissions": {"read": True}}).run(admin)
    feed = r.table("notes").changes().run(conn)
    permissions.get(["bob"]).update({"permissions": {"write": True}}).run(admin)  # `read` stays
    notes.insert({"id": 2}).run(admin)
    assert feed.next(wait=FEED_WAIT) == {"new_val": {"id": 2}, "old_val": None}
    assert permissions.get(["bob"]).delete().run(admin)["deleted"] == 1
    notes.insert({"id": 3}).run(admin)
    ends_denied(feed)


def test_feeds_on_system_tables_end_too(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    users = r.db("rethinkdb").table("users")
    users.grant("bob", {"read": True}).run(admin)
    by_name = users.changes().run(conn)
    by_id = r.db("rethinkdb").table("users", identifier_format="uuid").changes().run(conn)
    users.insert({"id": "carol"}).run(admin)
    assert by_name.next(wait=FEED_WAIT) == {"new_val": {"id": "carol", "password": False}, "old_val": None}
    assert by_id.next(wait=FEED_WAIT) == {"new_val": {"id": "carol", "password": False}, "old_val": None}
    r.db("rethinkdb").grant("bob", {"read": False}).run(admin)  # the table's own grant still allows it
    users.insert({"id": "dave"}).run(admin)
    for feed in (by_name, by_id):
        assert feed.next(wait=FEED_WAIT)["new_val"] == {"id": "dave", "password": False}
    users.grant("bob", {"read": None}).run(admin)
    ends_denied(by_name)
    ends_denied(by_id)


# ---------------------------------------------------------------- what the table terms need, as in RethinkDB


def test_what_the_table_terms_need(private: ServerProcess, admin: Any) -> None:
    r, conn = RethinkDB(), bob(private)
    notes = r.table("notes")
    # A table's indexes and status need read (RethinkDB checks nothing for them; a user without read learns nothing).
    for term in (notes.index_list(), notes.index_status(), notes.index_wait(), notes.status()):
        with pytest.raises(ReqlPermissionError, match=denied("read")):
            term.run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("read")):  # it counts the documents
        notes.info().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("config")):
        notes.config().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("config")):
        r.db("app").config().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        notes.sync().run(conn)
    r.db("app").table("notes").grant("bob", {"read": True}).run(admin)
    assert notes.info().run(conn)["doc_count_estimates"] == [1]
    assert notes.index_list().run(conn) == []
    assert notes.index_status().run(conn) == []
    assert notes.index_wait().run(conn) == []
    assert notes.status().run(conn)["name"] == "notes"
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        notes.sync().run(conn)
    with pytest.raises(ReqlPermissionError, match=denied("write")):
        r.db("rethinkdb").table("stats").sync().run(conn)
    r.db("app").table("notes").grant("bob", {"write": True, "config": True}).run(admin)
    assert notes.sync().run(conn) == {"synced": 1}
    assert notes.config().run(conn)["name"] == "notes"
    r.db("rethinkdb").table("stats").grant("bob", {"read": True, "write": True}).run(admin)
    with pytest.raises(ReqlOpFailedError, match=re.escape("Artificial tables don't support `sync()`")):
        r.db("rethinkdb").table("stats").sync().run(conn)

"""The `rethinkdb.users` system table: listing users, adding them, changing and removing passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError
from servers import start_server


@pytest.fixture
def private(tmp_path: Path):
    server = start_server(tmp_path / "data")
    yield server
    server.stop()


def test_password_change_takes_effect(private) -> None:
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


def test_add_and_remove_users(private) -> None:
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

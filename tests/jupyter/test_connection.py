"""Where the widgets find their database: the environment, an address, a user's own connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB, errors
from servers import Restartable, ServerProcess

from rethink_widgets.jupyter.connection import Connector, Settings


def test_settings_from_the_environment() -> None:
    assert Settings.from_environment({}) == Settings(password=None)
    assert not Settings.from_environment({}).configured
    env = {"RETHINKDB_HOST": "db", "RETHINKDB_PORT": "1234", "RETHINKDB_USER": "u", "RETHINKDB_DB": "shop"}
    settings = Settings.from_environment(env)
    assert (settings.address, settings.user, settings.db, settings.configured) == ("db:1234", "u", "shop", True)
    with pytest.raises(ValueError, match="RETHINKDB_PORT must be a port number"):
        Settings.from_environment({"RETHINKDB_PORT": "x"})


def test_only_an_address_means_a_database_elsewhere() -> None:
    """A db or a password alone still uses the local database, so the embedded server may be started for it."""
    assert not Settings.from_environment({"RETHINKDB_DB": "shop", "RETHINKDB_PASSWORD": "pw"}).configured
    assert Settings.from_environment({"RETHINKDB_PORT": "1234"}).configured
    assert Settings.from_environment({"RETHINKDB_HOST": "db"}).configured


def test_the_embedded_servers_password_unless_another_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing said: admin with the password the embedded server keeps, read when connecting (a server started a
    moment ago wrote it); never sent to a database named elsewhere, nor for another user."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    local = Settings.from_environment({})
    assert local.connect_options()["password"] == ""  # no embedded server yet, or an older one
    (tmp_path / "rethink_widgets" / "rethinkdb_data").mkdir(parents=True)
    (tmp_path / "rethink_widgets" / "rethinkdb_data" / "admin_password").write_text("generated\n")
    assert local.connect_options()["password"] == "generated"
    assert Settings.from_environment({"RETHINKDB_PASSWORD": "mine"}).connect_options()["password"] == "mine"
    assert Settings.from_environment({"RETHINKDB_USER": "bob"}).connect_options()["password"] == ""
    assert Settings.from_environment({"RETHINKDB_HOST": "db"}).connect_options()["password"] == ""
    assert Settings.parse("db:99", local).connect_options()["password"] == ""
    assert "mine" not in repr(Settings(password="mine"))


def test_parse_an_address() -> None:
    base = Settings(user="u", password="p")
    assert Settings.parse("db:99", base) == Settings("db", 99, "u", "p", None, True)
    assert Settings.parse("db", base).port == 28015
    assert Settings.parse(":99", base).host == "localhost"
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        Settings.parse("db:x")


def test_settings_of_a_users_connection(server: ServerProcess, conn: Any, r: RethinkDB) -> None:
    settings = Settings.of_connection(r.connect(server.host, server.port, db="other", password=""))
    assert (settings.host, settings.port, settings.user, settings.password, settings.db) == (
        server.host,
        server.port,
        "admin",
        "",
        "other",
    )


def test_the_users_connection_outlives_a_server_restart(restartable: Restartable, r: RethinkDB) -> None:
    conn = Connector(Settings("127.0.0.1", restartable.port)).connect_sync()
    r.table_create("kept").run(conn)
    restartable.kill()
    restartable.restart()
    assert r.table_list().run(conn) == ["kept"]  # no "Connection is closed." after the restart
    assert conn.server()["name"]


def test_a_connection_the_user_closed_stays_closed(server: ServerProcess, r: RethinkDB) -> None:
    conn = Connector(Settings(server.host, server.port)).connect_sync()
    conn.close()
    with pytest.raises(errors.ReqlDriverError, match="Connection is closed"):
        r.expr(1).run(conn)
    conn.reconnect()
    assert r.expr(1).run(conn) == 1

"""Where the widgets find their database: the environment, an address, a user's own connection."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb import RethinkDB
from servers import ServerProcess

from rethink_widgets.database import Settings


def test_settings_from_the_environment() -> None:
    assert Settings.from_environment({}) == Settings()
    assert not Settings.from_environment({}).configured
    env = {"RETHINKDB_HOST": "db", "RETHINKDB_PORT": "1234", "RETHINKDB_USER": "u", "RETHINKDB_DB": "shop"}
    settings = Settings.from_environment(env)
    assert (settings.address, settings.user, settings.db, settings.configured) == ("db:1234", "u", "shop", True)
    with pytest.raises(ValueError, match="RETHINKDB_PORT must be a port number"):
        Settings.from_environment({"RETHINKDB_PORT": "x"})


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

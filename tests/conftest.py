"""Fixtures that start real embedded servers on free loopback ports and connect the real rethinkdb driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rethinkdb import RethinkDB
from servers import ServerProcess, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("server") / "data")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def r() -> RethinkDB:
    """A driver instance of the tests' own (sync loop type)."""
    return RethinkDB()


@pytest.fixture
def conn(server: ServerProcess, r: RethinkDB) -> Iterator[Any]:
    connection = r.connect(server.host, server.port)
    yield connection
    connection.close(noreply_wait=False)


@pytest.fixture
def table(conn: Any, r: RethinkDB) -> Iterator[str]:
    """A fresh empty table in `test`, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    r.table_create(name).run(conn)
    yield name
    r.table_drop(name).run(conn)

"""Fixtures that start real embedded servers on free loopback ports, connect the real rethinkdb driver, and start
real kernels."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import Restartable, ServerProcess, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("server") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def private(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own (for users and grants, or a log to read once it stopped), stopped afterwards."""
    proc = start_server(tmp_path / "data")
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


@pytest.fixture
def kernel(server: ServerProcess, tmp_path: Path) -> Iterator[Kernel]:
    """A real IPython kernel with `%load_ext rethink_widgets` run, its database the test session's server."""
    yield from _kernel_on(server.host, server.port, tmp_path)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    """A server of the test's own, which it may kill and start again (same data, same port)."""
    server = Restartable(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture
def restartable_kernel(restartable: Restartable, tmp_path: Path) -> Iterator[Kernel]:
    """A kernel with `%load_ext rethink_widgets` run, its database the `restartable` server."""
    yield from _kernel_on(restartable.host, restartable.port, tmp_path)


def _kernel_on(host: str, port: int, cwd: Path) -> Iterator[Kernel]:
    k = Kernel(cwd, {"RETHINKDB_HOST": host, "RETHINKDB_PORT": str(port)})
    cell = k.run("%load_ext rethink_widgets")
    assert not cell.error, cell.error
    yield k
    k.close()


@pytest.fixture
def todo(conn: Any, r: RethinkDB) -> Iterator[str]:
    """The name of a todo table that does not exist yet (a TodoList creates it), dropped afterwards."""
    name = "todo_" + uuid.uuid4().hex[:8]
    yield name
    if name in r.table_list().run(conn):
        r.table_drop(name).run(conn)

"""The demo notebooks run against a fresh embedded server, under nbval in `make test` or re-executed by hand.

As a pytest plugin (`-p notebook_server`): before each notebook's kernel starts, start a server of its own and point
the kernel at it through `RETHINKDB_HOST`, `RETHINKDB_PORT` and `RETHINKDB_PASSWORD` (nbval's kernels inherit the
environment), so each notebook runs top to bottom on a fresh database, as a newcomer's first run does.

    python tests/notebook_server.py notebooks/*.ipynb    # re-run notebooks in place (their stored outputs)
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from servers import ServerProcess, start_server

_running: list[tuple[ServerProcess, str]] = []


def start() -> ServerProcess:
    directory = tempfile.mkdtemp(prefix="notebooks-")
    # With a password, as `make demo`'s embedded server has one: a notebook that connects without it fails here.
    password = secrets.token_hex(8)
    server = start_server(Path(directory) / "data", "--initial-password", password)
    _running.append((server, directory))
    os.environ["RETHINKDB_HOST"] = server.host
    os.environ["RETHINKDB_PORT"] = str(server.port)
    os.environ["RETHINKDB_PASSWORD"] = password
    return server


def stop() -> None:
    while _running:
        server, directory = _running.pop()
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


_serving: list[Path] = []  # the notebook the running server is for


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Runs before the notebook's collector sets up, which is when nbval starts its kernel; the previous notebook's
    # kernel was shut down in its last cell's teardown.
    if item.path.suffix != ".ipynb" or _serving == [item.path]:
        return
    stop()
    start()
    _serving[:] = [item.path]


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop()


def execute(paths: list[str]) -> None:
    import nbformat
    from nbclient import NotebookClient

    for path in paths:
        start()
        try:
            book = nbformat.read(path, as_version=4)
            NotebookClient(book, timeout=600, resources={"metadata": {"path": str(Path(path).parent)}}).execute()
            nbformat.write(book, path)
            print(f"executed {path}")
        finally:
            stop()


if __name__ == "__main__":
    execute(sys.argv[1:])

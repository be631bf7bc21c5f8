"""`%rethink` in a real kernel: the server it names, every live feed, stopping feeds, connecting elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import free_port, start_server

from rethink_widgets.jupyter import connection, magics
from rethink_widgets.jupyter.embedded import data_directory


def test_status_lists_widgets_watches_and_feeds(kernel: Kernel, r: RethinkDB, conn: Any, table: str) -> None:
    r.table(table).insert([{"id": 1}, {"id": 2}]).run(conn)
    kernel.run(
        f"import asyncio; t = LiveTable(r.table('{table}').get(1)); await t.ready()\n"
        f"w = watch(r.table('{table}'), print)\n"
        f"changes = feed(r.table('{table}')); task = asyncio.ensure_future(anext(changes))\n"
        "from rethink_widgets.jupyter.feeds import LIVE\n"
        "for _ in range(100):\n"
        "    if len(LIVE) == 3 and w.status == 'ready': break\n"
        "    await asyncio.sleep(0.1)"
    )
    status = kernel.run("%rethink").stdout
    assert status.startswith(f"database: {kernel_address(kernel)} (default db test), an external server named ")
    assert f"LiveTable test.{table}: ready, 1 row, 0 changes/s" in status
    assert f"Watch test.{table}: ready, 0 changes" in status
    assert f"Feed test.{table}: " in status


def kernel_address(kernel: Kernel) -> str:
    return kernel.run("print(conn.host + ':' + str(conn.port))").stdout.strip()


def test_stop_needs_a_number_or_all(kernel: Kernel, table: str) -> None:
    kernel.run(f"w = watch(r.table('{table}'), print)")
    assert kernel.run("%rethink stop").stdout.strip() == magics.STOP_USAGE
    assert kernel.run("w.status").text != "'closed'"
    assert kernel.run("%rethink stop all").stdout.strip() == "stopped 1 feed"
    assert kernel.run("w.status").text == "'closed'"


def test_connect_moves_conn_and_status_to_the_new_server(kernel: Kernel, tmp_path: Path, r: RethinkDB) -> None:
    other = start_server(tmp_path / "other")
    try:
        r.table_create("only_there").run(r.connect(other.host, other.port))
        said = kernel.run(f"%rethink connect {other.host}:{other.port}").stdout
        assert f"use {other.host}:{other.port}" in said
        assert kernel.run("'only_there' in r.table_list().run(conn), conn.port").text == f"(True, {other.port})"
        status = kernel.run("%rethink").stdout
        assert status.startswith(f"database: {other.host}:{other.port} (default db test), an external server named ")
    finally:
        other.stop()


def test_connect_to_nothing_changes_nothing(kernel: Kernel) -> None:
    before = kernel_address(kernel)
    port = free_port()
    assert "could not connect to 127.0.0.1:" in kernel.run(f"%rethink connect 127.0.0.1:{port}").stdout
    assert kernel_address(kernel) == before
    assert f"database: {before} " in kernel.run("%rethink").stdout


def test_status_names_the_embedded_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An embedded server holding the user's data directory, as `%load_ext` starts it (here without a kernel)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    embedded = start_server(data_directory())
    try:
        connection.use(connection.Connector(connection.Settings(embedded.host, embedded.port)))
        assert magics.status().startswith(f"database: {embedded.host}:{embedded.port} (default db test), the embedded")
        connection.use(connection.Connector(connection.Settings(embedded.host, embedded.port, configured=True)))
        assert ", an external server" in magics.status()
    finally:
        connection.use(None)
        embedded.stop()

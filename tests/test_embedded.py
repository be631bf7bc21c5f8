"""Starting the embedded server for a notebook when nothing is configured or answering."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from rethinkdb import RethinkDB

from rethink_widgets.database import Settings
from rethink_widgets.embedded import answers, ensure_server
from rethink_widgets.server.server import LOCK_FILE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_configured_or_answering_means_no_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ensure_server(Settings(port=free_port(), configured=True)) is None
    assert not (tmp_path / "rethinkdb_data").exists()


def test_starts_a_shared_server_in_rethinkdb_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(host="127.0.0.1", port=free_port())
    said = ensure_server(settings)
    assert said is not None and f"started the embedded ReQL server on 127.0.0.1:{settings.port}" in said
    try:
        conn = RethinkDB().connect("127.0.0.1", settings.port)
        assert RethinkDB().db_list().run(conn) == ["rethinkdb", "test"]
        assert ensure_server(settings) is None  # a second kernel uses the running one
        assert (tmp_path / "rethinkdb_data" / "server.log").exists()
    finally:
        pid = int((tmp_path / "rethinkdb_data" / LOCK_FILE).read_text())
        os.kill(pid, signal.SIGTERM)


def test_answers() -> None:
    assert not answers("127.0.0.1", free_port())

"""The command line: flags, the listening line, the directory lock and clean shutdown on signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rethinkdb import RethinkDB
from servers import start_server


def test_help_names_rethinkdb_style_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rethink_widgets.server", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--bind", "--driver-port", "--directory", "--initial-password", "--log-level"):
        assert flag in out


def test_creates_directory_and_reports_real_port(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "data"
    server = start_server(directory)
    try:
        assert directory.is_dir()
        assert server.port > 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
    finally:
        assert server.stop() == 0


def test_binds_loopback_by_default(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        # The kernel's socket table: local addresses are little-endian hex, 0100007F is 127.0.0.1.
        entries = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        listening = [entry for entry in entries if entry.endswith(f":{server.port:04X}")]
        assert listening
        assert all(entry.startswith("0100007F:") for entry in listening)
    finally:
        server.stop()


def test_second_server_on_same_directory_is_refused(tmp_path: Path) -> None:
    first = start_server(tmp_path / "data")
    try:
        second = subprocess.run(
            [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", str(first.directory)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode != 0
        assert "already using the data directory" in second.stderr
        conn = RethinkDB().connect(port=first.port)  # the first one is unharmed
        assert RethinkDB().expr(1).run(conn) == 1
        conn.close()
    finally:
        first.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_releases_lock(tmp_path: Path, sig: int) -> None:
    server = start_server(tmp_path / "data")
    r = RethinkDB()
    conn = r.connect(port=server.port)
    r.table_create("kept").run(conn)
    assert server.stop(sig) == 0
    assert "Shutting down" in server.output()
    again = start_server(tmp_path / "data")
    try:
        conn = r.connect(port=again.port)
        assert r.table_list().run(conn) == ["kept"]
        conn.close()
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-connections", "0", "expected a positive number, got 0"),
        ("--handshake-timeout", "-1", "expected a positive number of seconds, got -1"),
        ("--handshake-timeout", "inf", "expected a positive number of seconds, got inf"),
    ],
)
def test_connection_limits_must_be_positive(tmp_path: Path, flag: str, value: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rethink_widgets.server", "--directory", str(tmp_path / "data"), flag, value],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr

"""The command line: flags, the listening line, the directory lock and clean shutdown on signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError
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


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_data_directory_and_its_files_are_the_users_alone(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    server = start_server(directory)
    try:
        r = RethinkDB()
        conn = r.connect(port=server.port)
        r.table_create("kept").run(conn)
        r.table("kept").insert([{"id": i} for i in range(100)]).run(conn)
        assert mode(directory) == 0o700
        files = {path.name: mode(path) for path in directory.iterdir()}
        assert files == {"LOCK": 0o600, "data.sqlite": 0o600, "data.sqlite-wal": 0o600, "data.sqlite-shm": 0o600}
        conn.close()
    finally:
        server.stop()


def test_auto_initial_password_is_generated_and_kept_for_the_user_alone(tmp_path: Path) -> None:
    r = RethinkDB()
    server = start_server(tmp_path / "data", "--initial-password", "auto")
    password_file = tmp_path / "data" / "admin_password"
    try:
        password = password_file.read_text()
        assert len(password) >= 32
        assert mode(password_file) == 0o600
        with pytest.raises(ReqlAuthError):
            r.connect(port=server.port)
        r.connect(port=server.port, password=password).close()
    finally:
        server.stop()
    again = start_server(tmp_path / "data", "--initial-password", "auto")
    try:
        assert password_file.read_text() == password  # generated once, not at every start
        r.connect(port=again.port, password=password).close()
    finally:
        again.stop()


def test_initial_password_upgrades_an_empty_one_and_never_replaces_one(tmp_path: Path) -> None:
    """As on RethinkDB: a directory whose admin has the empty password (as older versions left it) gets the initial
    password at its next start; one whose admin has a password keeps it."""
    r = RethinkDB()
    older = start_server(tmp_path / "data")
    r.table_create("kept").run(r.connect(port=older.port))
    older.stop()
    upgraded = start_server(tmp_path / "data", "--initial-password", "auto")
    try:
        with pytest.raises(ReqlAuthError):
            r.connect(port=upgraded.port)
        password = (tmp_path / "data" / "admin_password").read_text()
        assert r.table_list().run(r.connect(port=upgraded.port, password=password)) == ["kept"]
    finally:
        upgraded.stop()
    ignored = start_server(tmp_path / "data", "--initial-password", "other")
    try:
        with pytest.raises(ReqlAuthError):
            r.connect(port=ignored.port, password="other")
        r.connect(port=ignored.port, password=password).close()
    finally:
        ignored.stop()


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

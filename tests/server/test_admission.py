"""Who gets in: the connection cap, the handshake deadline, delays after failed logins, and a log that floods of bad
clients cannot blow up. Real servers, the real driver and raw sockets."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from raw_client import raw_connect
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError, ReqlDriverError
from servers import ServerLog, ServerProcess, start_server

from rethink_widgets.server.admission import FREE_FAILURES, LoginFailures, delay_after

V1_0 = 0x34C2BDC3
WAIT = 60.0  # generous: "eventually", never "within"


def running(tmp_path: Path, *args: str) -> Iterator[tuple[ServerProcess, ServerLog]]:
    server = start_server(tmp_path / "data", *args)
    yield server, server.log
    server.stop()


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerLog]]:
    """At most 4 connections; 2 seconds to log in."""
    yield from running(tmp_path, "--max-connections", "4", "--handshake-timeout", "2")


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerLog]]:
    yield from running(tmp_path, "--initial-password", "s3cret")


def idle_socket(server: ServerProcess) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=WAIT)


def closed_by_server(sock: socket.socket) -> bool:
    """Reads whatever the server says until it closes the socket; False if it never does."""
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def login(server: ServerProcess, password: str, source: str = "127.0.0.1") -> str:
    """A V1_0 login from a given loopback address: "ok" or the server's error."""
    try:
        raw_connect(server, password, source, timeout=WAIT).close()
    except ReqlAuthError as error:
        return str(error)
    return "ok"


def test_idle_sockets_over_the_cap_do_not_lock_a_client_out(small: tuple[ServerProcess, ServerLog]) -> None:
    server, _ = small
    idle = [idle_socket(server) for _ in range(12)]
    r = RethinkDB()
    conn = r.connect(port=server.port)  # takes the place of the oldest idle socket
    assert r.expr(1).run(conn) == 1
    assert all(closed_by_server(sock) for sock in idle)  # pushed out, or at their deadline
    assert r.expr(2).run(conn) == 2  # a logged-in connection has no deadline
    conn.close()


def test_handshake_deadline_closes_silent_and_stalled_clients(small: tuple[ServerProcess, ServerLog]) -> None:
    server, output = small
    silent = idle_socket(server)
    stalled = idle_socket(server)
    stalled.sendall(struct.pack("<L", V1_0) + b'{"protocol_version": 0')  # and never the rest
    assert closed_by_server(silent)
    reply = b""
    while chunk := stalled.recv(4096):
        reply += chunk
    messages = [json.loads(m) for m in reply.split(b"\0") if m]
    assert messages[0]["success"] is True  # the server's greeting, then why it hangs up
    assert messages[1] == {"success": False, "error": "No login within 2 s (--handshake-timeout).", "error_code": -1}
    output.wait_for(r"handshake with 127\.0\.0\.1:\d+ failed: not done within 2 s")


def test_connection_over_the_cap_is_refused_clearly(small: tuple[ServerProcess, ServerLog]) -> None:
    server, output = small
    r = RethinkDB()
    connections = [r.connect(port=server.port) for _ in range(4)]
    with pytest.raises(ReqlDriverError, match=r"Too many connections: the server accepts 4 at a time"):
        r.connect(port=server.port)
    output.wait_for(r"refused a connection from 127\.0\.0\.1:\d+: all 4 connections are in use")
    assert [r.expr(i).run(c) for i, c in enumerate(connections)] == [0, 1, 2, 3]
    connections.pop().close()
    deadline = time.monotonic() + WAIT
    while True:  # the server notices the close on its own time
        try:
            conn = r.connect(port=server.port)
            break
        except ReqlDriverError as error:
            assert "Too many connections" in str(error)
            assert time.monotonic() < deadline
    assert r.expr(5).run(conn) == 5


def test_log_stays_small_under_a_flood_of_failed_handshakes(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    output = server.log
    try:
        for _ in range(300):
            with idle_socket(server) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
                assert closed_by_server(sock)
            with idle_socket(server) as sock:
                sock.sendall(struct.pack("<L", V1_0) + b"{nope}\0")
                assert closed_by_server(sock)
        # The failures left out are summed up at the end of their second.
        output.wait_for(r"handshake with 127\.0\.0\.1:\d+ failed: .* \(and \d+ more like this since the last")
    finally:
        server.stop()
        lines = [line for line in output.text().splitlines() if "handshake with" in line]
    assert 2 <= len(lines) <= 30  # 600 failures, at most a line a second


def test_a_server_allowed_few_files_caps_connections_below_that(tmp_path: Path) -> None:
    """The measured failure: 1,100 idle sockets on a server allowed 1,024 files made accept() fail in a loop that
    logged without end, and no client could connect."""
    server = start_server(tmp_path / "data", open_files=512)
    assert "the open-file limit (512) allows 128 connections at a time, not 4096" in server.startup
    output = server.log
    try:
        idle = [idle_socket(server) for _ in range(400)]
        r = RethinkDB()
        conn = r.connect(port=server.port)
        assert r.expr(1).run(conn) == 1
        conn.close()
        for sock in idle:
            sock.close()
    finally:
        server.stop()
        lines = output.text().splitlines()
    assert not any("out of system resource" in line or "Traceback" in line for line in lines)
    assert len(lines) <= 40


def test_wrong_password_is_rethinkdbs_error_through_the_driver(secured: tuple[ServerProcess, ServerLog]) -> None:
    server, _ = secured
    r = RethinkDB()
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        r.connect(port=server.port, password="nope")
    with pytest.raises(ReqlAuthError, match="Unknown user"):
        r.connect(port=server.port, user="nobody", password="s3cret")
    assert r.expr(1).run(r.connect(port=server.port, password="s3cret")) == 1


def test_unknown_user_gets_the_same_challenge_as_a_real_one(secured: tuple[ServerProcess, ServerLog]) -> None:
    def challenge(user: str) -> dict[str, str]:
        with socket.create_connection((server.host, server.port), timeout=WAIT) as sock:
            first = {"protocol_version": 0, "authentication_method": "SCRAM-SHA-256", "authentication": ""}
            first["authentication"] = f"n,,n={user},r=abc"
            sock.sendall(struct.pack("<L", V1_0) + json.dumps(first).encode() + b"\0")
            replies = b""
            while replies.count(b"\0") < 2:
                replies += sock.recv(4096)
        text = json.loads(replies.split(b"\0")[1])["authentication"]
        return dict(part.split("=", 1) for part in text.split(","))

    server, _ = secured
    real, decoy = challenge("admin"), challenge("nobody")
    assert decoy["i"] == real["i"] == "4096"
    assert len(decoy["s"]) == len(real["s"])
    assert decoy["r"].startswith("abc")


def test_repeated_failures_from_one_address_are_answered_later(secured: tuple[ServerProcess, ServerLog]) -> None:
    server, output = secured
    attacker = "127.0.0.2"
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda _: login(server, "guess", attacker), range(FREE_FAILURES + 3)))
        assert all("Wrong password" in reply for reply in first)
        slow = pool.submit(login, server, "guess", attacker)
        output.wait_for(rf"{FREE_FAILURES + 4} failures in a row from {re.escape(attacker)}: answering in 4 s")
        # While that answer waits, everyone else (127.0.0.1 here) logs in as usual.
        assert [login(server, "s3cret") for _ in range(3)] == ["ok"] * 3
        assert "Wrong password" in login(server, "s3cret-typo")
        assert not slow.done()
        assert "Wrong password" in slow.result(WAIT)
        assert login(server, "s3cret", attacker) == "ok"  # the right password still works


def test_failure_counts_grow_delays_reset_on_success_and_stay_bounded() -> None:
    failures = LoginFailures()
    delays = [round(failures.failed("10.0.0.1")[1], 1) for _ in range(10)]
    # At once, as from many connections: each delayed answer is booked after the one before.
    assert delays == [0, 0, 0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5]
    assert failures.failed("10.0.0.2") == (1, 0)
    failures.succeeded("10.0.0.1")
    assert failures.failed("10.0.0.1") == (1, 0)
    for n in range(20_000):
        failures.failed(f"10.1.{n // 256}.{n % 256}")
    assert len(failures._failures) == 10_000
    assert delay_after(10**9) == 4

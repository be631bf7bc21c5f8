"""The handshake and framing, from the real driver and from raw sockets that misbehave."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlAuthError
from rethinkdb.handshake import HandshakeV1_0
from servers import ServerProcess, run_async, start_server

V1_0 = 0x34C2BDC3


def raw_connect(server: ServerProcess, password: str = "") -> socket.socket:
    """A raw socket that completed the real V1_0 handshake, using the driver's own handshake code."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    hs = HandshakeV1_0(json.JSONDecoder(), json.JSONEncoder(), server.host, server.port, "admin", password)
    reply = None
    while True:
        request = hs.next_message(reply)
        if request is None:
            return sock
        if request:
            sock.sendall(request)
        buffer = b""
        while not buffer.endswith(b"\0"):
            chunk = sock.recv(1)
            assert chunk, "server closed during handshake"
            buffer += chunk
        reply = buffer[:-1]


def send(sock: socket.socket, token: int, payload: bytes) -> None:
    sock.sendall(struct.pack("<qL", token, len(payload)) + payload)


def receive(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    header = _exactly(sock, 12)
    token, size = struct.unpack("<qL", header)
    return token, json.loads(_exactly(sock, size))


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@pytest.fixture
def secured(tmp_path: Path):
    server = start_server(tmp_path / "data", "--initial-password", "s3cret")
    yield server
    server.stop()


def test_all_loop_types_connect(server: ServerProcess) -> None:
    r = RethinkDB()
    conn = r.connect(port=server.port)
    assert r.expr([1, "a", {"b": None}]).run(conn) == [1, "a", {"b": None}]
    conn.close()
    for loop_type in ("asyncio", "tornado"):

        async def body(r: RethinkDB, conn: Any) -> Any:
            return await r.expr({"x": [1, 2]}).run(conn)

        assert run_async(server, loop_type, body) == {"x": [1, 2]}


def test_password_is_checked(secured: ServerProcess) -> None:
    r = RethinkDB()
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        r.connect(port=secured.port)
    with pytest.raises(ReqlAuthError, match="Wrong password"):
        r.connect(port=secured.port, password="nope")
    with pytest.raises(ReqlAuthError, match="Unknown user"):
        r.connect(port=secured.port, user="nobody", password="s3cret")
    conn = r.connect(port=secured.port, password="s3cret")
    assert r.expr(2).run(conn) == 2


def test_password_is_not_stored_in_plain_text(secured: ServerProcess) -> None:
    secured.stop()
    data = (secured.directory / "data.sqlite").read_bytes()
    assert b"s3cret" not in data


def test_unknown_magic_number_gets_plain_text_refusal(server: ServerProcess) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(struct.pack("<L", 0x12345678))
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"ERROR: Received an unsupported protocol version.")
    assert reply.endswith(b"\0")


def test_malformed_handshake_json_fails_cleanly(server: ServerProcess) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(struct.pack("<L", V1_0) + b"{not json\0")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    messages = [json.loads(m) for m in reply.split(b"\0") if m]
    assert messages[0]["success"] is True
    assert messages[-1]["success"] is False


def test_malformed_query_json_is_a_client_error(server: ServerProcess) -> None:
    sock = raw_connect(server)
    send(sock, 7, b"[1, {nope")
    token, response = receive(sock)
    assert token == 7
    assert response["t"] == 16
    assert response["r"] == ["Client is buggy (failed to deserialize query)."]
    send(sock, 8, b"[1, 5, {}]")  # the connection still works
    assert receive(sock) == (8, {"t": 1, "r": [5]})
    sock.close()


def test_frame_claiming_2gb_is_refused_and_closed(server: ServerProcess) -> None:
    sock = raw_connect(server)
    sock.sendall(struct.pack("<qL", 3, 2**31))
    token, response = receive(sock)
    assert token == 3
    assert response["t"] == 16
    assert "greater than maximum" in response["r"][0]
    assert sock.recv(1) == b""  # closed
    r = RethinkDB()
    conn = r.connect(port=server.port)  # the server survives
    assert r.expr(1).run(conn) == 1


def test_unknown_query_type_and_unknown_tokens(server: ServerProcess) -> None:
    sock = raw_connect(server)
    send(sock, 1, b"[9]")
    assert receive(sock)[1]["r"] == ["Unrecognized QueryType: 9."]
    send(sock, 2, b"[2]")
    assert receive(sock)[1] == {"t": 16, "r": ["Token 2 not in stream cache."], "b": []}
    send(sock, 3, b"[3]")
    assert receive(sock)[1]["r"] == ["Token 3 not in stream cache."]
    send(sock, 4, b"[5]")
    token, info = receive(sock)
    assert token == 4
    assert info["t"] == 5
    assert set(info["r"][0]) == {"id", "name", "proxy"}
    sock.close()


def test_client_vanishing_mid_query_does_not_hurt_others(server: ServerProcess) -> None:
    sock = raw_connect(server)
    big = json.dumps([1, [2, list(range(200_000))], {}]).encode()
    send(sock, 1, big)
    sock.close()
    r = RethinkDB()
    conn = r.connect(port=server.port)
    assert r.expr([1, 2]).run(conn) == [1, 2]

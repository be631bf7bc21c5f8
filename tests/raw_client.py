"""A raw client socket that logs in with the driver's own handshake code, then speaks frames by hand: for what the
driver never sends (malformed frames, STOP of an evaluating query) and for logins from a chosen loopback address."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from rethinkdb.handshake import HandshakeV1_0
from servers import ServerProcess


def log_in(sock: socket.socket, server: ServerProcess, password: str = "") -> None:
    """Run the V1_0 handshake as `admin`; the driver's ReqlAuthError when the server refuses."""
    handshake = HandshakeV1_0(json.JSONDecoder(), json.JSONEncoder(), server.host, server.port, "admin", password)
    reply = None
    while (request := handshake.next_message(reply)) is not None:
        if request:
            sock.sendall(request)
        buffer = b""
        while not buffer.endswith(b"\0"):
            chunk = sock.recv(1)
            assert chunk, "server closed during handshake"
            buffer += chunk
        reply = buffer[:-1]


def raw_connect(
    server: ServerProcess, password: str = "", source: str = "127.0.0.1", timeout: float = 10
) -> socket.socket:
    """A socket that completed the handshake."""
    sock = socket.create_connection((server.host, server.port), timeout=timeout, source_address=(source, 0))
    try:
        log_in(sock, server, password)
    except BaseException:
        sock.close()
        raise
    return sock


def send(sock: socket.socket, token: int, payload: bytes) -> None:
    sock.sendall(struct.pack("<qL", token, len(payload)) + payload)


def receive(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    token, size = struct.unpack("<qL", exactly(sock, 12))
    return token, json.loads(exactly(sock, size))


def exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

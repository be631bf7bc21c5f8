"""Bytes on the socket: the V1_0 handshake with SCRAM-SHA-256, then query and response frames.

A query frame is an 8-byte little-endian token, a 4-byte little-endian length and that many bytes of JSON; a
response frame has the same header. Handshake messages are NUL-terminated JSON.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any

from rethinkdb.ql2_pb2 import VersionDummy

from rethink_widgets.server import scram

V1_0 = VersionDummy.Version.V1_0
SERVER_VERSION = "2.4.4-rethink_widgets"
MAX_QUERY_BYTES = 128 * 1024 * 1024
MAX_HANDSHAKE_MESSAGE = 16 * 1024
HEADER = struct.Struct("<qL")
MAGIC = struct.Struct("<L")
BAD_VERSION = (
    b"ERROR: Received an unsupported protocol version. This port is for RethinkDB queries. "
    b"Does your client driver version not match the server?\n\x00"
)


class HandshakeError(Exception):
    """The handshake failed; `reply` (if any) was already sent and the connection must close."""


class FrameTooLarge(Exception):
    def __init__(self, token: int, size: int) -> None:
        super().__init__(f"Query size ({size}) greater than maximum ({MAX_QUERY_BYTES}).")
        self.token = token


def dumps(value: Any) -> str:
    """A response datum as JSON text: compact, UTF-8, keys sorted (RethinkDB's objects are sorted maps)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _json_message(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\x00"


def _failure(writer: asyncio.StreamWriter, error: str, code: int) -> HandshakeError:
    writer.write(_json_message({"success": False, "error": error, "error_code": code}))
    return HandshakeError(error)


async def _read_message(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dict[str, Any]:
    try:
        raw = await reader.readuntil(b"\x00")
    except asyncio.LimitOverrunError:
        raise _failure(writer, "Handshake message too long.", 20) from None
    except asyncio.IncompleteReadError:
        raise HandshakeError("client closed the connection during the handshake") from None
    try:
        message = json.loads(raw[:-1])
    except ValueError:
        raise _failure(writer, "Invalid JSON in the handshake message.", 20) from None
    if not isinstance(message, dict):
        raise _failure(writer, "Expected a JSON object in the handshake message.", 20)
    return message


def _sasl_attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or len(name) != 1:
            raise ValueError(part)
        attributes[name] = value
    return attributes


def _unescape_username(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


async def handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    credentials_of: Callable[[str], dict[str, Any] | None],
) -> str:
    """Run the V1_0 handshake and return the authenticated user name; raise HandshakeError otherwise."""
    try:
        (magic,) = MAGIC.unpack(await reader.readexactly(4))
    except asyncio.IncompleteReadError:
        raise HandshakeError("client closed the connection before the handshake") from None
    if magic != V1_0:
        writer.write(BAD_VERSION)
        raise HandshakeError(f"unsupported protocol version {magic:#x}")
    writer.write(_json_message({
        "success": True, "min_protocol_version": 0, "max_protocol_version": 0, "server_version": SERVER_VERSION,
    }))  # fmt: skip
    exchange, user, known = await _client_first(reader, writer, credentials_of)
    writer.write(_json_message({"success": True, "authentication": exchange.server_first}))
    final = await _read_message(reader, writer)
    text = final.get("authentication")
    if not isinstance(text, str):
        raise _failure(writer, "Expected a string `authentication` field.", 5)
    bare, _, proof_part = text.rpartition(",p=")
    try:
        attributes = _sasl_attributes(bare)
    except ValueError:
        raise _failure(writer, "Invalid encoding", 10) from None
    if attributes.get("c") != "biws":
        raise _failure(writer, "Channel binding is not supported", 15)
    if attributes.get("r") != exchange.nonce:
        raise _failure(writer, "Invalid nonce", 10)
    if not known:
        raise _failure(writer, "Unknown user", 17)
    signature = exchange.verify(bare, proof_part)
    if signature is None:
        raise _failure(writer, "Wrong password", 12)
    writer.write(_json_message({"success": True, "authentication": f"v={signature}"}))
    return user


async def _client_first(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    credentials_of: Callable[[str], dict[str, Any] | None],
) -> tuple[scram.Exchange, str, bool]:
    message = await _read_message(reader, writer)
    version = message.get("protocol_version")
    if not isinstance(version, (int, float)) or isinstance(version, bool):
        raise _failure(writer, "Expected a number for `protocol_version`.", 1)
    if version != 0:
        raise _failure(writer, "Unsupported `protocol_version`.", 2)
    method = message.get("authentication_method")
    if not isinstance(method, str):
        raise _failure(writer, "Expected a string for `authentication_method`.", 3)
    if method != "SCRAM-SHA-256":
        raise _failure(writer, "Unsupported `authentication_method`.", 4)
    text = message.get("authentication")
    if not isinstance(text, str):
        raise _failure(writer, "Expected a string for `authentication`.", 5)
    if not text.startswith("n,,"):
        raise _failure(writer, "Channel binding is not supported", 15)
    bare = text[3:]
    try:
        attributes = _sasl_attributes(bare)
        user, nonce = _unescape_username(attributes["n"]), attributes["r"]
    except (ValueError, KeyError):
        raise _failure(writer, "Invalid encoding", 10) from None
    if set(attributes) - {"n", "r"}:
        raise _failure(writer, "Extensions not supported", 11)
    credentials = credentials_of(user)
    known = credentials is not None
    exchange = scram.Exchange(credentials or scram.decoy_credentials(), bare, nonce)
    return exchange, user, known


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next query frame as (token, JSON bytes). Raises IncompleteReadError at end of stream."""
    token, size = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > MAX_QUERY_BYTES:
        raise FrameTooLarge(token, size)
    return token, await reader.readexactly(size)


def frame(token: int, payload: bytes) -> bytes:
    return HEADER.pack(token, len(payload)) + payload

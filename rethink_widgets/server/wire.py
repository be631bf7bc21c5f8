"""Bytes on the socket: the V1_0 handshake with SCRAM-SHA-256, then query and response frames.

A query frame is an 8-byte little-endian token, a 4-byte little-endian length and that many bytes of JSON; a
response frame has the same header. Handshake messages are NUL-terminated JSON. Bytes that RethinkDB would refuse
(bad JSON, NaN, messages or frames too long) are refused here in its words, never with an unexpected exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import struct
from collections.abc import Callable
from typing import Any

import orjson
import re2
from rethinkdb.ql2_pb2 import Query, VersionDummy

from rethink_widgets.server import scram
from rethink_widgets.server.errors import ReqlClientError

V1_0 = VersionDummy.Version.V1_0
SERVER_VERSION = "2.4.4-rethink_widgets"
MAX_QUERY_BYTES = 128 * 1024 * 1024  # a frame this long or longer is refused, as in RethinkDB
# An oversized frame below this is read and dropped before the refusal, for a while, so that a client still sending it
# reads the refusal instead of a broken pipe (RethinkDB does the same).
MAX_SKIPPED_BYTES = 1024 * 1024 * 1024
SKIP_SECONDS = 60.0
MAX_HANDSHAKE_MESSAGE = 2048  # RethinkDB's read buffer for one handshake message, NUL included
HEADER = struct.Struct("<qL")
MAGIC = struct.Struct("<L")
BAD_VERSION = (
    b"ERROR: Received an unsupported protocol version. This port is for RethinkDB queries. "
    b"Does your client driver version not match the server?\n\x00"
)
UNPARSABLE_QUERY = "Client is buggy (failed to deserialize query)."
_QUERY_TYPES = frozenset(value for name, value in vars(Query.QueryType).items() if name.isupper())
# Only a \uD800-\uDFFF escape can leave a lone surrogate in a decoded string (raw UTF-8 cannot encode one), and only
# a run of 309 digits can make an integer beyond a double: frames without either need no second look.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS_ONLY = bytes(ord("0") if ord("0") <= b <= ord("9") else ord(" ") for b in range(256))
_HUGE_DIGITS = b"0" * 309
# (A datetime or a dataclass is no datum: Python's json refuses it, so orjson must not write it either.)
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# What orjson writes for a float Python writes with a one-digit negative exponent (1.5e-7 for 1.5e-07), or as a
# decimal (0.00001 for 1e-05). A number begins the text or follows one of `:,[` (the text is compact): text within
# strings, a UUID's "4e-5" say, seldom matches (and then only costs time). RE2 looks for it in time linear in the
# text (Python's re tries the pattern at every character: 20 ns a byte).
_SMALL_FLOAT = re2.compile(rb"(?:^|[:,\[])-?(?:[0-9][0-9.]*e-[0-9](?:[^0-9]|$)|0\.0000)")


class HandshakeError(Exception):
    """The handshake failed; `reply` (if any) was already sent and the connection must close."""


class ClientClosed(HandshakeError):
    """The client closed the connection before sending anything (a port probe, most likely)."""


class LoginFailed(HandshakeError):
    """Unknown user or wrong password. The reply is not sent yet: the server decides when a guesser gets it."""

    def __init__(self, error: str, code: int) -> None:
        super().__init__(error)
        self.reply = _json_message({"success": False, "error": error, "error_code": code})


class FrameTooLarge(Exception):
    def __init__(self, token: int, size: int) -> None:
        super().__init__(f"Query size ({size}) greater than maximum ({MAX_QUERY_BYTES - 1}).")
        self.token = token
        self.size = size


def dumps(value: Any) -> str:
    """A response datum as JSON text: compact, UTF-8, keys sorted (RethinkDB's objects are sorted maps).

    orjson writes it, unless it may hold what orjson writes otherwise than Python's json module, which then does:
    floats below 1e-4 (1e-05 in Python's text), NaN and infinities (orjson's null; Python refuses them), integers
    beyond 64 bits, keys that are not strings."""
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return _json_dumps(value)
    if (b"null" in text and not finite(value)) or ((b"e-" in text or b"0.0000" in text) and _SMALL_FLOAT.search(text)):
        return _json_dumps(value)
    return text.decode()


def finite(value: Any) -> bool:
    """Whether no float in `value` is NaN or infinite (its nulls are nulls: most documents have some)."""
    stack = [value]  # not recursive: a value may nest as deeply as the parser allows
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number too big for a double: {text}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads(data: bytes) -> Any:
    """UTF-8 JSON as RethinkDB's parser reads it; ValueError for what it refuses: NaN, Infinity, numbers beyond a
    double, lone UTF-16 surrogates, and nesting deeper than the server follows.

    orjson reads it, whatever its size (orjson reads integers beyond 64 bits as doubles, as RethinkDB reads every
    number), and refuses nesting past 1024 (a query nested almost that deeply is refused as it is compiled). What
    orjson refuses, Python's json module reads by the same rules, as it did before orjson: the server reads frames
    by one set of rules, whichever library does it."""
    with contextlib.suppress(ValueError):  # (orjson's JSONDecodeError is a ValueError)
        return orjson.loads(data)
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    suspect = _SURROGATE_ESCAPE.search(data) or _HUGE_DIGITS in data.translate(_DIGITS_ONLY)
    if suspect and not _representable(value):
        raise ValueError("a lone UTF-16 surrogate or a number too big for a double")
    return value


def _representable(value: Any) -> bool:
    stack = [value]  # not recursive: the value may be nested as deeply as the parser allows
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return False
        elif isinstance(item, int):
            try:
                float(item)
            except OverflowError:
                return False
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
    return True


def json_type(value: Any) -> str:
    """The JSON type's name as RethinkDB's messages about raw JSON spell it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, (int, float)):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    return "ARRAY" if isinstance(value, list) else "OBJECT"


def parse_query(payload: bytes) -> list[Any]:
    """A query frame as `[type, term?, optargs?]`, checked as RethinkDB checks it; ReqlClientError otherwise."""
    try:
        query = loads(payload)
    except ValueError:
        raise ReqlClientError(UNPARSABLE_QUERY) from None
    if not isinstance(query, list):
        raise _unparsed(f"Expected a query to be an array, but found {json_type(query)}.")
    if not 1 <= len(query) <= 3:
        raise _unparsed(f"Expected 1 to 3 elements in the top-level query, but found {len(query)}.")
    kind = query[0]
    if type(kind) is not int and json_type(kind) != "NUMBER":
        raise _unparsed(f"Expected a query type as a number, but found {json_type(kind)}.")
    if kind not in _QUERY_TYPES:
        raise _unparsed(f"Unrecognized QueryType: {dumps(kind)}.")
    if len(query) == 3 and not isinstance(query[2], dict):
        raise _unparsed(f"Expected global optargs as an object, but found {json_type(query[2])}.")
    query[0] = int(kind)
    return query


def _unparsed(message: str) -> ReqlClientError:
    return ReqlClientError(f"Server could not parse query: {message}")


def _json_message(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\x00"


def refusal(error: str) -> bytes:
    """A handshake reply refusing the connection; the driver raises ReqlDriverError with `error` as its message.
    -1 is RethinkDB's code for errors outside the protocol and authentication steps."""
    return _json_message({"success": False, "error": error, "error_code": -1})


def _failure(writer: asyncio.StreamWriter, error: str, code: int) -> HandshakeError:
    writer.write(_json_message({"success": False, "error": error, "error_code": code}))
    return HandshakeError(error)


async def _read_message(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dict[str, Any]:
    # Byte by byte, as RethinkDB reads it: whatever follows the NUL belongs to the next step and stays unread.
    raw = bytearray()
    while True:
        try:
            byte = await reader.readexactly(1)
        except asyncio.IncompleteReadError:
            raise HandshakeError("client closed the connection during the handshake") from None
        if len(raw) + 1 == MAX_HANDSHAKE_MESSAGE:
            raise _failure(writer, "Limited read buffer size.", 7)
        if byte == b"\x00":
            break
        raw += byte
    try:
        message = loads(bytes(raw))
    except ValueError:
        raise _failure(writer, "Invalid JSON object.", 8) from None
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
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise HandshakeError("client closed the connection before the handshake") from None
        raise ClientClosed("client closed the connection without a word") from None
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
    # Checked for unknown users too, against their decoy credentials: both answers cost the same.
    signature = exchange.verify(bare, proof_part)
    if not known:
        raise LoginFailed("Unknown user", 17)
    if signature is None:
        raise LoginFailed("Wrong password", 12)
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
    if size >= MAX_QUERY_BYTES:
        raise FrameTooLarge(token, size)
    return token, await reader.readexactly(size)


class ClientProtocol(asyncio.StreamReaderProtocol):
    """A client's socket: a stream (StreamReader, StreamWriter) through the handshake; once handed over, the bytes
    that arrive go straight to a receiver, so that no task has to wake up for each query frame."""

    def __init__(self, limit: int, connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]) -> None:
        super().__init__(asyncio.StreamReader(limit=limit), connected)
        self._received: Callable[[bytes], None] | None = None
        self._ended: Callable[[], None] | None = None
        self._at_end = False

    def hand_over(self, received: Callable[[bytes], None], ended: Callable[[], None]) -> None:
        """From now on, bytes that arrive go to `received`, and `ended()` is called once the client's side ends (at
        once if it has ended already). What the stream holds still is the caller's to read."""
        self._received, self._ended = received, ended
        if self._at_end:
            ended()

    def data_received(self, data: bytes) -> None:
        if self._received is None:
            super().data_received(data)
        else:
            self._received(data)

    def eof_received(self) -> bool | None:
        self._end()
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        super().connection_lost(exc)

    def _end(self) -> None:
        if not self._at_end:
            self._at_end = True
            if self._ended is not None:
                self._ended()


_SMALL_FRAME = 4096  # bytes


class Frames:
    """The query frames a client sends, cut one by one from the bytes received so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0  # where the next frame begins

    def add(self, data: bytes) -> None:
        if self._start:
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data

    def next(self) -> tuple[int, bytes] | None:
        """The next complete frame as (token, JSON bytes), or None. Raises FrameTooLarge at an oversized frame's
        header (which is taken, the frame's bytes left to `drop`)."""
        start, buffer = self._start, self._buffer
        if len(buffer) - start < HEADER.size:
            return None
        token, size = HEADER.unpack_from(buffer, start)
        if size >= MAX_QUERY_BYTES:
            self._start = start + HEADER.size
            raise FrameTooLarge(token, size)
        stop = start + HEADER.size + size
        if stop > len(buffer):
            return None
        self._start = stop
        if size <= _SMALL_FRAME:  # (most are: a CONTINUE, a point get) two small copies cost less than a view
            return token, bytes(buffer[start + HEADER.size : stop])
        with memoryview(buffer) as view:
            return token, bytes(view[start + HEADER.size : stop])

    def waiting(self) -> bool:
        """Whether bytes received are left after the frames taken."""
        return len(self._buffer) > self._start

    def drop(self, size: int) -> int:
        """Drop up to `size` of the bytes received (an oversized frame's); returns how many it dropped."""
        dropped = min(size, len(self._buffer) - self._start)
        self._start += dropped
        return dropped


def frame(token: int, payload: bytes) -> bytes:
    return HEADER.pack(token, len(payload)) + payload

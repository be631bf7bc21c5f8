"""The handshake and framing, from the real driver and from raw sockets that misbehave; JSON text on the wire."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from raw_client import exactly, log_in, raw_connect, receive, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlAuthError
from rethinkdb.ql2_pb2 import Response
from servers import ServerProcess, run_async, start_server

from rethink_widgets.server import wire

V1_0 = 0x34C2BDC3

QUERY_LOGIC = Response.ErrorType.QUERY_LOGIC  # what RethinkDB's query cache reports for a token it cannot use


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[ServerProcess]:
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
    assert receive(sock)[1]["r"] == ["Server could not parse query: Unrecognized QueryType: 9."]
    send(sock, 2, b"[2]")
    assert receive(sock)[1] == {"t": 16, "e": QUERY_LOGIC, "r": ["Token 2 not in stream cache."], "b": []}
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


def _open_cursor(sock: socket.socket, token: int) -> None:
    """START a range served one row per batch, so the cursor stays open on the server."""
    send(sock, token, b'[1, [173, [3]], {"max_batch_rows": 1}]')
    assert receive(sock) == (token, {"t": 3, "r": [0], "n": []})


# Frames of many objects (a batch of documents) are read by the same rules as small ones.
BAD_IN_A_BATCH = [b"NaN", b"1e400", b"1" + b"0" * 400, b'"\\ud800"', b"[" * 1025 + b"]" * 1025]


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[1, " + b"[" * 100_000,
        b"NaN",
        b"[1, NaN, {}]",
        b"[1, -Infinity, {}]",
        b"[1, 1e400, {}]",
        b"[1, 1" + b"0" * 400 + b", {}]",
        b'[1, "\\ud800", {}]',
        b'[1, "\xff", {}]',
        b"",
        *(b"[1, [2, [" + b"{}, " * 1000 + bad + b"]], {}]" for bad in BAD_IN_A_BATCH),
    ],
    ids=["nested 100000", "nested unclosed", "bare NaN", "NaN", "-Infinity", "1e400", "400 digits", "lone surrogate",
         "bad UTF-8", "empty", *(f"{bad.decode()[:20]} after 1000 objects" for bad in BAD_IN_A_BATCH)],
)  # fmt: skip
def test_unparsable_frame_is_a_client_error_and_the_connection_goes_on(server: ServerProcess, payload: bytes) -> None:
    sock = raw_connect(server)
    _open_cursor(sock, 1)
    send(sock, 2, payload)
    assert receive(sock) == (2, {"t": 16, "r": ["Client is buggy (failed to deserialize query)."], "b": []})
    send(sock, 1, b"[2]")  # the query already running on this connection goes on
    assert receive(sock) == (1, {"t": 3, "r": [1], "n": []})
    send(sock, 3, b"[1, 5, {}]")  # and new ones run
    assert receive(sock) == (3, {"t": 1, "r": [5]})
    sock.close()


def test_surrogate_pairs_and_big_numbers_that_fit_are_fine(server: ServerProcess) -> None:
    sock = raw_connect(server)
    send(sock, 1, b'[1, "\\ud83d\\ude00", {}]')
    assert receive(sock) == (1, {"t": 1, "r": ["\U0001f600"]})
    send(sock, 2, b"[1, 1e300, {}]")
    assert receive(sock) == (2, {"t": 1, "r": [1e300]})
    # An integer beyond 64 bits is read as a double (as RethinkDB reads every number), in a big frame as in a small.
    for token, before in ((3, b""), (4, b"{}, " * 1000)):
        send(sock, token, b"[1, [2, [%s1180591620717411303425]], {}]" % before)
        token_back, reply = receive(sock)
        number = reply["r"][0][-1]
        assert (token_back, number, type(number)) == (token, 1.1805916207174113e21, float)
    sock.close()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{}", "Expected a query to be an array, but found OBJECT."),
        (b'"START"', "Expected a query to be an array, but found STRING."),
        (b"[]", "Expected 1 to 3 elements in the top-level query, but found 0."),
        (b"[1, 2, {}, 4]", "Expected 1 to 3 elements in the top-level query, but found 4."),
        (b"[true, 5, {}]", "Expected a query type as a number, but found BOOL."),
        (b'["1", 5, {}]', "Expected a query type as a number, but found STRING."),
        (b"[1.5, 5, {}]", "Unrecognized QueryType: 1.5."),
        (b"[1, 5, []]", "Expected global optargs as an object, but found ARRAY."),
        (b"[5, null, null]", "Expected global optargs as an object, but found NULL."),
    ],
)
def test_odd_query_shapes_get_rethinkdbs_messages(server: ServerProcess, payload: bytes, message: str) -> None:
    sock = raw_connect(server)
    send(sock, 4, payload)
    assert receive(sock) == (4, {"t": 16, "r": [f"Server could not parse query: {message}"], "b": []})
    send(sock, 5, b"[1, 5, {}]")
    assert receive(sock) == (5, {"t": 1, "r": [5]})
    sock.close()


def test_reused_token_is_refused_and_the_first_query_goes_on(server: ServerProcess) -> None:
    sock = raw_connect(server)
    _open_cursor(sock, 1)
    send(sock, 1, b"[1, 5, {}]")
    assert receive(sock) == (1, {"t": 16, "e": QUERY_LOGIC, "r": ["ERROR: duplicate token 1"], "b": []})
    send(sock, 1, b"[2]")
    assert receive(sock) == (1, {"t": 3, "r": [1], "n": []})
    sock.close()


def test_a_token_is_free_again_the_moment_its_reply_arrives(server: ServerProcess) -> None:
    """A client may reuse a token as soon as it has read the reply, even for a query that ran on a worker thread
    (a frame too large to be answered on the loop) or a cursor's last batch."""
    padding = b'"' + b"x" * 40_000 + b'"'
    worker_query = b"[1, [2, [%s, 7]], {}]" % padding  # (an array of a long string and 7: its reply holds both)
    with raw_connect(server) as sock:
        for _ in range(300):
            send(sock, 4, worker_query)
            token, reply = receive(sock)
            assert (token, reply["t"], reply["r"][0][1]) == (4, 1, 7)
            send(sock, 4, b"[1, [173, [10]], {}]")  # r.range(10): a cursor, read to its last batch
            assert _read_to_the_end(sock, 4) == list(range(10))


def _read_to_the_end(sock: socket.socket, token: int) -> list[Any]:
    """The rows of the cursor `token`, asking for each batch after the first. A batch usually holds all ten rows, but
    it ends once its time is up (RethinkDB's rule: 125 ms for a first batch), which a busy machine may reach sooner."""
    rows: list[Any] = []
    while True:
        reply_token, reply = receive(sock)
        assert reply_token == token and reply["t"] in {2, 3}, reply  # SUCCESS_SEQUENCE, SUCCESS_PARTIAL
        rows += reply["r"]
        if reply["t"] == 2:
            return rows
        send(sock, token, b"[2]")  # CONTINUE


def test_frame_over_128_mib_is_read_then_refused(server: ServerProcess) -> None:
    """The client sends the whole oversized query before it reads, as a driver does: it gets the refusal, not a
    broken pipe."""
    sock = raw_connect(server)
    size = 128 * 1024 * 1024
    sock.sendall(struct.pack("<qL", 9, size))
    chunk = bytes(1024 * 1024)
    for _ in range(size // len(chunk)):
        sock.sendall(chunk)
    assert receive(sock) == (9, {"t": 16, "r": [f"Query size ({size}) greater than maximum ({size - 1})."], "b": []})
    assert sock.recv(1) == b""  # then closed, as RethinkDB does
    sock.close()


def _handshake_reply(server: ServerProcess, data: bytes) -> list[dict[str, Any]]:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(struct.pack("<L", V1_0) + data)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    return [json.loads(m) for m in reply.split(b"\0") if m]


def test_handshake_message_over_2048_bytes_is_refused(server: ServerProcess) -> None:
    messages = _handshake_reply(server, b'{"protocol_version": 0, "x": "' + b"a" * 5000)
    assert messages[-1] == {"success": False, "error": "Limited read buffer size.", "error_code": 7}


@pytest.mark.parametrize("message", [b"[" * 2000, b'{"protocol_version": NaN}', b"{"])
def test_unreadable_handshake_json_is_refused(server: ServerProcess, message: bytes) -> None:
    messages = _handshake_reply(server, message + b"\0")
    assert messages[-1] == {"success": False, "error": "Invalid JSON object.", "error_code": 8}


def test_small_floats_are_written_as_python_writes_them(server: ServerProcess) -> None:
    with raw_connect(server) as sock:
        send(sock, 1, b"[1, [2, [0.00001, 1.5e-7, 1e-10, 1e16, 0.0001, 12.5]], {}]")
        size = int.from_bytes(exactly(sock, 12)[8:], "little")
        assert exactly(sock, size) == b'{"t":1,"r":[[1e-05,1.5e-07,1e-10,1e+16,0.0001,12.5]]}'
        # Each alone, first in an array or an object, beside a UUID's "4e-5" (text within a string, not a number).
        for number, text in ((b"0.00001", b"1e-05"), (b"-1.5e-7", b"-1.5e-07"), (b"1e-10", b"1e-10")):
            send(sock, 2, b'[1, [2, [[2, [%s]], {"a": %s, "b": "3f2b1c4e-5a6d"}]], {}]' % (number, number))
            size = int.from_bytes(exactly(sock, 12)[8:], "little")
            assert exactly(sock, size) == b'{"t":1,"r":[[[%s],{"a":%s,"b":"3f2b1c4e-5a6d"}]]}' % (text, text)


def test_nulls_are_written_as_python_writes_them(server: ServerProcess) -> None:
    with raw_connect(server) as sock:
        send(sock, 1, b'[1, {"b": [2, [null, "null", 1e-7, {"c": null}]], "a": null}, {}]')
        size = int.from_bytes(exactly(sock, 12)[8:], "little")
        assert exactly(sock, size) == b'{"t":1,"r":[{"a":null,"b":[null,"null",1e-07,{"c":null}]}]}'


def test_reply_text_refuses_what_json_cannot_hold_even_beside_nulls() -> None:
    assert wire.dumps({"b": [None, 1.5], "a": None}) == '{"a":null,"b":[null,1.5]}'
    for value in (float("nan"), [None, {"x": float("inf")}], {"a": None, "b": [-float("inf")]}):
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            wire.dumps(value)


def test_frames_sent_together_are_each_answered(server: ServerProcess, r: RethinkDB, table: str, conn: Any) -> None:
    r.table(table).insert([{"id": i} for i in range(10)]).run(conn)
    get = f'[1,[16,[[15,["{table}"]],%d]],{{}}]'
    with raw_connect(server) as sock:
        sock.sendall(b"".join(_frame(token, (get % (token % 10)).encode()) for token in range(1, 2001)))
        replies = dict(receive(sock) for _ in range(2000))
    assert replies == {token: {"t": 1, "r": [{"id": token % 10}]} for token in range(1, 2001)}


def test_a_frame_that_arrives_in_pieces_is_answered(server: ServerProcess) -> None:
    payload = b'[1, [2, ["pieces"]], {}]'
    data = _frame(7, payload)
    with raw_connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in (data[:3], data[3:12], data[12:20], data[20:]):  # within the header, at its end, in the body
            sock.sendall(piece)
            time.sleep(0.05)  # (so that the pieces arrive apart)
        assert receive(sock) == (7, {"t": 1, "r": [["pieces"]]})


def test_a_client_that_reads_no_replies_is_read_no_further(server: ServerProcess, r: RethinkDB, conn: Any) -> None:
    big = ReQLEncoder().encode(r.expr("x" * 10_000)).encode()
    frames = b"".join(_frame(token, b"[1, %s, {}]" % big) for token in range(1, 4001))  # 40 MB of queries
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.settimeout(10)
    sock.connect((server.host, server.port))
    with sock:
        log_in(sock, server)
        sock.setblocking(False)
        sent, stuck_since = 0, time.monotonic()
        while sent < len(frames) and time.monotonic() - stuck_since < 2:
            try:
                sent += sock.send(frames[sent:])
                stuck_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        # The server stopped reading the queries of a client that reads none of its 40 MB of replies...
        assert sent < len(frames)
        # ...and answers the others.
        assert r.expr("others").run(conn) == "others"


def _frame(token: int, payload: bytes) -> bytes:
    return struct.pack("<qL", token, len(payload)) + payload

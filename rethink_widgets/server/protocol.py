"""One client connection: the five query types, tokens, and cursors served in batches.

Every START runs as its own task and evaluates in the server's worker pool, so queries on one connection run side
by side and a slow one never holds up the rest. Every query that wants a reply gets exactly one frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rethinkdb.ql2_pb2 import Query

from rethink_widgets.server import wire
from rethink_widgets.server.errors import RESPONSE, ReqlClientError, ReqlError, ReqlInternalError
from rethink_widgets.server.evaluation import Atom, Feed, Sequence
from rethink_widgets.server.feed_cursor import FeedCursor

if TYPE_CHECKING:
    from rethink_widgets.server.server import Server

log = logging.getLogger(__name__)
QUERY = Query.QueryType
_CONTINUE = b"[%d]" % QUERY.CONTINUE


@dataclass
class BatchLimits:
    """How much one batch of a cursor may hold, from the query's global optargs (RethinkDB's defaults)."""

    max_rows: float = math.inf
    max_bytes: int = 1024 * 1024
    max_seconds: float = 0.5
    first_scaledown: int = 4

    @classmethod
    def from_optargs(cls, optargs: dict[str, Any]) -> BatchLimits:
        limits = cls()
        rows = optargs.get("max_batch_rows")
        if isinstance(rows, (int, float)) and rows >= 1:
            limits.max_rows = int(rows)
        size = optargs.get("max_batch_bytes")
        if isinstance(size, (int, float)) and size >= 1:
            limits.max_bytes = int(size)
        seconds = optargs.get("max_batch_seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            limits.max_seconds = float(seconds)
        factor = optargs.get("first_batch_scaledown_factor")
        if isinstance(factor, (int, float)) and factor >= 1:
            limits.first_scaledown = int(factor)
        return limits


class RowCursor:
    """A lazy result served batch by batch; rows are pulled on a worker thread."""

    encoded_notes = "[]"  # a plain stream carries no response notes

    def __init__(self, rows: Iterator[Any], limits: BatchLimits) -> None:
        self._rows = rows
        self._limits = limits
        self._pending: list[str] = []  # rows read ahead to learn whether the stream has ended
        self._done = False
        self._first = True
        self._lock = asyncio.Lock()

    async def next_batch(self, server: Server) -> tuple[list[str], bool]:
        """The next batch as encoded rows, and whether it is the last."""
        async with self._lock:
            return await server.in_worker(self._take)

    def _take(self) -> tuple[list[str], bool]:
        limits, scale = self._limits, (self._limits.first_scaledown if self._first else 1)
        self._first = False
        max_bytes, deadline = limits.max_bytes // scale, time.monotonic() + limits.max_seconds / scale
        batch, size = self._pending, sum(len(r) for r in self._pending)
        self._pending = []
        while not self._done:
            if batch and (len(batch) >= limits.max_rows or size >= max_bytes or time.monotonic() >= deadline):
                self._peek()
                break
            row = next(self._rows, _END)
            if row is _END:
                self._done = True
                break
            encoded = wire.dumps(row)
            batch.append(encoded)
            size += len(encoded)
        return batch, self._done and not self._pending

    def _peek(self) -> None:
        row = next(self._rows, _END)
        if row is _END:
            self._done = True
        else:
            self._pending.append(wire.dumps(row))

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


_END = object()


class Connection:
    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.user: str | None = None
        self.running: dict[int, asyncio.Task[None]] = {}
        self.cursors: dict[int, RowCursor | FeedCursor] = {}
        self.noreply: list[asyncio.Task[None]] = []
        self._outgoing: list[bytes] = []
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    async def serve(self) -> None:
        try:
            self.user = await self.server.admission.authenticate(
                self.reader, self.writer, self.server.storage.users().get
            )
            if self.user is None:
                return
            await self.writer.drain()
            log.debug("client %s authenticated as %s", self.peer, self.user)
            while True:
                token, payload = await wire.read_frame(self.reader)
                self._dispatch(token, payload)
                await self.writer.drain()
        except wire.FrameTooLarge as error:
            await wire.skip_frame(self.reader, error.size)
            self._send_error(error.token, ReqlClientError(str(error)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await self.close()

    async def close(self) -> None:
        for task in [*self.running.values(), *self.noreply]:
            task.cancel()
        for cursor in self.cursors.values():
            cursor.close()
        self.cursors.clear()
        self._flush()
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()

    # ---------------------------------------------------------------- dispatch

    def _dispatch(self, token: int, payload: bytes) -> None:
        if payload == _CONTINUE:  # every batch of every feed asks with one: the frame to answer fastest
            self._continue(token)
            return
        try:
            query = wire.parse_query(payload)
        except ReqlClientError as error:
            self._send_error(token, error)
            return
        kind = query[0]
        if kind == QUERY.START:
            self._start(token, query)
        elif kind == QUERY.CONTINUE:
            self._continue(token)
        elif kind == QUERY.STOP:
            self._stop(token)
        elif kind == QUERY.NOREPLY_WAIT:
            self._spawn(token, self._noreply_wait(token, list(self.noreply)))
        elif kind == QUERY.SERVER_INFO:
            info = {"id": self.server.storage.server_id, "name": self.server.storage.server_name, "proxy": False}
            self._send(token, {"t": RESPONSE.SERVER_INFO, "r": [info]})
        else:
            self._send_error(token, ReqlClientError(f"Unrecognized QueryType: {kind}."))

    def _start(self, token: int, query: list[Any]) -> None:
        if token in self.running or token in self.cursors:
            self._send_error(token, ReqlClientError(f"ERROR: duplicate token {token}"))
            return
        term = query[1] if len(query) > 1 else None
        optargs = query[2] if len(query) > 2 else {}
        if not isinstance(optargs, dict):
            self._send_error(token, ReqlClientError("Global optargs must be an object."))
            return
        if optargs.get("noreply") is True:
            task = asyncio.ensure_future(self._run(token, term, optargs, reply=False))
            self.noreply.append(task)
            task.add_done_callback(self.noreply.remove)
        else:
            self._spawn(token, self._run(token, term, optargs, reply=True))

    def _spawn(self, token: int, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.running[token] = task
        task.add_done_callback(lambda done: self.running.pop(token) if self.running.get(token) is done else None)

    def _continue(self, token: int) -> None:
        cursor = self.cursors.get(token)
        if cursor is None or token in self.running or (isinstance(cursor, FeedCursor) and cursor.is_parked):
            self._send_error(token, ReqlClientError(f"Token {token} not in stream cache."))
        elif isinstance(cursor, FeedCursor) and cursor.serves_inline():
            cursor.park(lambda: self._serve_parked(token, cursor))
        else:
            self._spawn(token, self._serve_batch(token, cursor, None))

    def _stop(self, token: int) -> None:
        cursor = self.cursors.pop(token, None)
        if cursor is None:
            self._send_error(token, ReqlClientError(f"Token {token} not in stream cache."))
            return
        cursor.close()
        task = self.running.get(token)
        held = isinstance(cursor, FeedCursor) and cursor.unpark()
        if held or (task is not None and not task.done()):
            # The CONTINUE still waiting for this cursor gets its own (empty, final) reply before STOP's.
            if task is not None:
                task.cancel()
            self._send(token, {"t": RESPONSE.SUCCESS_SEQUENCE, "r": [], "n": []})
        self._send(token, {"t": RESPONSE.SUCCESS_SEQUENCE, "r": [], "n": []})

    def abandon_feeds(self) -> None:
        """Stop waiting for changes without answering: the server is going away and the socket closes next."""
        for token, cursor in list(self.cursors.items()):
            if isinstance(cursor, FeedCursor):
                cursor.unpark()
                task = self.running.get(token)
                if task is not None:
                    task.cancel()

    async def _noreply_wait(self, token: int, earlier: list[asyncio.Task[None]]) -> None:
        if earlier:
            await asyncio.wait(earlier)
        self._send(token, {"t": RESPONSE.WAIT_COMPLETE, "r": []})

    # ---------------------------------------------------------------- running queries

    async def _run(self, token: int, term: Any, optargs: dict[str, Any], reply: bool) -> None:
        started = time.perf_counter()
        try:
            result = await self.server.in_worker(self.server.engine.start, term, optargs, self.user, self.peer)
        except ReqlError as error:
            if reply:
                self._send_error(token, error)
            return
        except Exception as error:
            log.exception("internal error running a query")
            if reply:
                self._send_error(token, ReqlInternalError(f"Internal error: {error}"))
            return
        if not reply:
            return
        profile = None
        if optargs.get("profile") is True:
            elapsed = (time.perf_counter() - started) * 1000
            profile = [{"description": "Evaluate the query.", "duration(ms)": elapsed, "sub_tasks": []}]
        if isinstance(result, Atom):
            response: dict[str, Any] = {"t": RESPONSE.SUCCESS_ATOM, "r": [result.value]}
            if profile is not None:
                response["p"] = profile
            try:
                self._send(token, response)
            except (TypeError, ValueError) as error:  # a value JSON cannot hold: answer, never go silent
                log.exception("cannot encode a result")
                self._send_error(token, ReqlInternalError(f"Cannot encode the result: {error}"))
        elif isinstance(result, Sequence):
            cursor = RowCursor(result.rows, BatchLimits.from_optargs(optargs))
            self.cursors[token] = cursor
            await self._serve_batch(token, cursor, profile)
        elif isinstance(result, Feed):
            await self._open_feed(token, FeedCursor(self.server, result, BatchLimits.from_optargs(optargs)), profile)

    async def _open_feed(self, token: int, cursor: FeedCursor, profile: list[Any] | None) -> None:
        try:
            await self.server.in_worker(cursor.open)
        except ReqlError as error:
            cursor.close()
            self._send_error(token, error)
            return
        except Exception as error:
            log.exception("internal error opening a changefeed")
            cursor.close()
            self._send_error(token, ReqlInternalError(f"Internal error: {error}"))
            return
        self.cursors[token] = cursor
        await self._serve_batch(token, cursor, profile)

    async def _serve_batch(self, token: int, cursor: RowCursor | FeedCursor, profile: list[Any] | None) -> None:
        try:
            rows, last = await cursor.next_batch(self.server)
        except Exception as error:
            self._cursor_failed(token, cursor, error)
            return
        self._answer(token, cursor, rows, last, profile)

    def _serve_parked(self, token: int, cursor: FeedCursor) -> None:
        try:
            rows, last = cursor.take_now()
        except Exception as error:
            self._cursor_failed(token, cursor, error)
            return
        self._answer(token, cursor, rows, last, None)

    def _cursor_failed(self, token: int, cursor: RowCursor | FeedCursor, error: Exception) -> None:
        if not isinstance(error, ReqlError):
            log.exception("internal error reading a cursor", exc_info=error)
            error = ReqlInternalError(f"Internal error: {error}")
        self._drop_cursor(token, cursor)
        self._send_error(token, error)

    def _answer(
        self, token: int, cursor: RowCursor | FeedCursor, rows: list[str], last: bool, profile: list[Any] | None
    ) -> None:
        if self.cursors.get(token) is not cursor:
            return  # stopped meanwhile; STOP already answered
        kind = RESPONSE.SUCCESS_SEQUENCE if last else RESPONSE.SUCCESS_PARTIAL
        if last:
            del self.cursors[token]
        extra = f',"p":{wire.dumps(profile)}' if profile is not None else ""
        self._write(token, f'{{"t":{kind},"r":[{",".join(rows)}],"n":{cursor.encoded_notes}{extra}}}')

    def _drop_cursor(self, token: int, cursor: RowCursor | FeedCursor) -> None:
        if self.cursors.get(token) is cursor:
            del self.cursors[token]
        cursor.close()

    # ---------------------------------------------------------------- responses

    def _send(self, token: int, response: dict[str, Any]) -> None:
        self._write(token, wire.dumps(response))

    def _send_error(self, token: int, error: ReqlError, error_type: int | None = None) -> None:
        response: dict[str, Any] = {"t": error.response_type, "r": [error.message], "b": error.backtrace}
        kind = error_type if error_type is not None else error.error_type
        if kind is not None:
            response["e"] = kind
        self._send(token, response)

    def _write(self, token: int, text: str) -> None:
        # Responses made in one turn of the loop (a write fanned out to many feeds) leave in one send.
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(wire.frame(token, text.encode("utf-8")))

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if outgoing and not self.writer.is_closing():
            self.writer.write(b"".join(outgoing))

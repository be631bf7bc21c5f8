"""One client connection: the five query types, tokens, and cursors served in batches.

Frames come from `receiving.Receiver` as they arrive. A small query, bounded in cost (a point get, a soft
single-row write, a single insert: see inline.py), is answered right there on the event loop (a hard insert once it
is on disk, which the loop does not wait for). Every other START runs as its own task
and evaluates in the server's worker pool, so queries on one connection run side by side and a slow one never holds
up the rest. Every query that wants a reply gets exactly one frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from rethinkdb.ql2_pb2 import Query

from rethink_widgets.server import inline, interrupts, replies, wire
from rethink_widgets.server.batches import Batch, BatchLimits, Pages
from rethink_widgets.server.errors import (
    RESPONSE,
    ReqlClientError,
    ReqlError,
    ReqlInternalError,
    ReqlOpIndeterminateError,
    ReqlResourceLimitError,
    ReqlTokenError,
)
from rethink_widgets.server.evaluation import direct
from rethink_widgets.server.evaluation.engine import Atom, Sequence, SubscriptionRequest
from rethink_widgets.server.fairness import PER_CONNECTION, Ticket
from rethink_widgets.server.feed_cursor import FeedCursor
from rethink_widgets.server.interrupts import Interruptor, QueryInterrupted
from rethink_widgets.server.receiving import Receiver
from rethink_widgets.server.storage.group_commit import Synced

if TYPE_CHECKING:
    from rethink_widgets.server.server import Server

log = logging.getLogger(__name__)
QUERY = Query.QueryType
_CONTINUE = b"[%d]" % QUERY.CONTINUE
CLOSE_SECONDS = 2.0
# Runs a function on a worker thread for one query: `await in_worker(fn, *args)`.
InWorker = Callable[..., Awaitable[Any]]


class RowCursor:
    """A lazy result served batch by batch; rows are pulled on a worker thread."""

    encoded_notes = "[]"  # a plain stream carries no response notes

    def __init__(self, pages: Iterator[list[str]], limits: BatchLimits) -> None:
        self._pages = Pages(pages)
        self._limits = limits
        self._done = False
        self._first = True
        self._lock = asyncio.Lock()

    async def next_batch(self, in_worker: InWorker) -> tuple[list[str], bool]:
        """The next batch as encoded rows, and whether it is the last."""
        async with self._lock:
            batch: tuple[list[str], bool] = await in_worker(self._take)
            return batch

    def _take(self) -> tuple[list[str], bool]:
        batch = Batch(self._limits, self._first)
        self._first = False
        if not self._done:
            # (A row is read ahead of a full batch, to learn whether the stream has ended: then it is the last.)
            self._done = batch.fill(self._pages) or self._pages.exhausted()
        if batch.rows and max(map(len, batch.rows)) > replies.MAX_REPLY_BYTES:
            raise replies.too_large()
        return batch.rows, self._done

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pages.close()


class Connection:
    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.user: str | None = None
        self.running: dict[int, asyncio.Task[None]] = {}
        self.cursors: dict[int, RowCursor | FeedCursor] = {}
        self.noreply: dict[asyncio.Task[None], Ticket] = {}
        # Every query the server still holds for this connection (evaluating, or a cursor open), by token.
        self.queries: dict[int, Ticket] = {}
        self.slots = asyncio.Semaphore(PER_CONNECTION)
        self._outgoing: list[bytes] = []
        self._batching = False  # while frames that arrived together are handled
        self._receiver: Receiver  # (made once the client is authenticated)
        self._closing = False
        # Queries ended by a delete from rethinkdb.jobs while nothing was asked of them: the next CONTINUE learns it.
        self._terminated: set[int] = set()
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
            self._receiver = Receiver(self.writer, self._dispatch_frame, self._answered, self._refuse)
            await self._receiver.receive(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await self.close()

    async def close(self) -> None:
        if self._closing:
            return  # (shutdown closes every connection; `serve` ends by closing its own)
        self._closing = True
        # Nobody is left to answer: every query of this connection stops at its next check point.
        self.interrupt_all(interrupts.CLOSED)
        for task in [*self.running.values(), *self.noreply]:
            task.cancel()
        for cursor in self.cursors.values():
            cursor.close()
        self.cursors.clear()
        self._flush()
        self.writer.close()
        try:
            # What is still buffered gets a moment to leave; a client that reads nothing cannot hold the close.
            await asyncio.wait_for(self.writer.wait_closed(), CLOSE_SECONDS)
        except (TimeoutError, OSError):
            self.writer.transport.abort()

    def interrupt_all(self, reason: str) -> None:
        for token in list(self.queries):
            self._end_query(token, reason)
        for ticket in self.noreply.values():
            ticket.interruptor.interrupt(reason)

    # ---------------------------------------------------------------- dispatch

    def _dispatch_frame(self, token: int, payload: bytes) -> None:
        """Handle a frame among others that arrived together: their replies leave together, in `_answered`."""
        self._batching = True
        self._dispatch(token, payload)

    def _answered(self) -> None:
        self._batching = False
        self._flush()

    def _refuse(self, error: wire.FrameTooLarge) -> None:
        self._send_error(error.token, ReqlClientError(str(error)))

    def _dispatch(self, token: int, payload: bytes) -> None:
        self.server.turns.loop_busy()
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
            self._start(token, query, small=len(payload) <= inline.MAX_BYTES)
        elif kind == QUERY.CONTINUE:
            self._continue(token)
        elif kind == QUERY.STOP:
            self._stop(token)
        elif kind == QUERY.NOREPLY_WAIT:
            if self._in_use(token):
                self._send_error(token, ReqlTokenError(f"ERROR: duplicate token {token}"))
            else:
                self._spawn(token, self._noreply_wait(token, list(self.noreply)))
        else:  # SERVER_INFO: parse_query lets no other type through
            info = {"id": self.server.storage.server_id, "name": self.server.storage.server_name, "proxy": False}
            self._send(token, {"t": RESPONSE.SERVER_INFO, "r": [info]})

    def _in_use(self, token: int) -> bool:
        return token in self.running or token in self.cursors or token in self.queries

    def _start(self, token: int, query: list[Any], *, small: bool) -> None:
        """Start a query (`small`: its frame is small enough to be answered on the loop, see inline.py)."""
        self._terminated.discard(token)
        if self._in_use(token):
            self._send_error(token, ReqlTokenError(f"ERROR: duplicate token {token}"))
            return
        term = query[1] if len(query) > 1 else None
        optargs = query[2] if len(query) > 2 else {}
        plan = direct.plan(term, optargs, self.server.storage) if small else None
        if small and self._start_inline(token, term, optargs, plan):
            return
        ticket = self._ticket(term)
        if optargs.get("noreply") is True:
            task = asyncio.ensure_future(self._run_noreply(ticket, term, optargs, plan))
            self.noreply[task] = ticket
            task.add_done_callback(self.noreply.pop)
        else:
            self.queries[token] = ticket
            self._watch_jobs_table(token, ticket)
            self._spawn(token, self._run(token, ticket, term, optargs, plan))

    def _start_inline(self, token: int, term: Any, optargs: dict[str, Any], plan: direct.Plan | None) -> bool:
        """Answer a small query on the loop (see inline.py); False if it must run on a worker thread instead. A hard
        write is answered once it is on disk, which the loop does not wait for (see group_commit.py); a soft one,
        before its commit (see `_answer_on_loop`)."""
        noreply = optargs.get("noreply") is True
        if plan is None:
            if not inline.bounded(term, optargs, self.server.storage):
                return False
        elif not plan.on_loop or (plan.durability == "hard" and noreply):
            return False  # (a hard write nobody waits for: noreply_wait waits for it to be on disk, on a worker)
        storage = self.server.storage
        result: str | Sequence | SubscriptionRequest | Exception
        commits: list[int] = []  # (hard commits made: only a direct plan's write may be hard here)
        answered: list[str] = []  # (a soft write answered before its commit: see `_answer_on_loop`)
        acknowledge = None if noreply else functools.partial(self._answer_on_loop, token, answered)
        try:
            with inline.on_loop():
                if plan is not None and plan.durability == "hard":
                    with storage.syncing_later() as commits:
                        result = self._evaluate(term, optargs, small=True, plan=plan)
                else:
                    result = self._evaluate(term, optargs, small=True, plan=plan, acknowledge=acknowledge)
        except inline.Hop:
            if not answered:
                return False
            result = answered[0]  # (a check point after the answered write committed: there is nothing left to do)
        except Exception as error:
            result = error
        if not isinstance(result, (str, Exception)):
            return False  # (no small shape streams: a get is one document)
        storage.activity.queries.add()
        if isinstance(result, Exception) and _internal(result):
            log.error("internal error running a query", exc_info=result)
        if noreply or answered:
            return True
        if commits:
            storage.when_synced(max(commits), self._on_synced(token, result))
        else:
            self._reply(token, result)
        return True

    def _answer_on_loop(self, token: int, answered: list[str], text: str) -> None:
        """Answer a soft write evaluated on the loop before its commit (see Storage.insert_new): unless more
        frames came with its own (their replies leave together), the answer leaves now, and the client's next query
        is on its way while the loop commits."""
        self._write(token, _atom(text))
        answered.append(text)
        if not self._receiver.more_waiting():
            self._flush()

    def _on_synced(self, token: int, result: str | Exception) -> Synced:
        """What answers a hard write once it is on disk (called from another thread)."""
        loop = asyncio.get_running_loop()

        def synced(error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # (the loop has closed: the server stopped)
                loop.call_soon_threadsafe(self._reply, token, result if error is None else error)

        return synced

    def _reply(self, token: int, result: str | BaseException) -> None:
        if isinstance(result, str):
            self._write(token, result)
        else:
            self._send_failure(token, result)

    def _ticket(self, term: Any) -> Ticket:
        user = self.user or ""
        interruptor = Interruptor()
        job_id = self.server.storage.activity.add_job(self.peer, user, term, interruptor)
        return Ticket(interruptor, user, self.peer, self.slots, job_id)

    def _watch_jobs_table(self, token: int, ticket: Ticket) -> None:
        """Answer the query at once when its job row is deleted, even while nothing runs for it (a feed waiting)."""
        loop = asyncio.get_running_loop()

        def interrupted() -> None:
            if ticket.interruptor.reason == interrupts.JOBS:
                loop.call_soon_threadsafe(self._job_deleted, token, ticket)

        ticket.interruptor.on_interrupt(interrupted)

    def _job_deleted(self, token: int, ticket: Ticket) -> None:
        if self.queries.get(token) is not ticket:
            return
        cursor = self.cursors.get(token)
        asked = token in self.running or (isinstance(cursor, FeedCursor) and cursor.unpark())
        self._end_query(token, interrupts.JOBS)
        if asked:
            self._send_error(token, ReqlOpIndeterminateError(interrupts.JOBS_MESSAGE))
        else:  # a cursor between batches: RethinkDB answers its next CONTINUE with the error
            self._terminated.add(token)

    def _spawn(self, token: int, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._tracked(token, work))
        self.running[token] = task
        # (a task cancelled before it began never runs its `finally`)
        task.add_done_callback(lambda done: self._forget_task(token, done))

    async def _tracked(self, token: int, work: Awaitable[None]) -> None:
        """Run a query's work; the token is free again as soon as it ends, in the same turn as its last reply: a
        client may reuse a token the moment it reads the reply, and uvloop reads the socket before it runs the
        task's done callbacks."""
        try:
            await work
        finally:
            self._forget_task(token, asyncio.current_task())

    def _forget_task(self, token: int, task: asyncio.Future[None] | None) -> None:
        if self.running.get(token) is task:
            del self.running[token]

    def _continue(self, token: int) -> None:
        if token in self._terminated:
            self._terminated.discard(token)
            self._send_error(token, ReqlOpIndeterminateError(interrupts.JOBS_MESSAGE))
            return
        cursor = self.cursors.get(token)
        if cursor is None or token in self.running or (isinstance(cursor, FeedCursor) and cursor.is_parked):
            self._send_error(token, ReqlTokenError(f"Token {token} not in stream cache."))
        elif isinstance(cursor, FeedCursor) and cursor.serves_inline():
            cursor.park(lambda: self._serve_parked(token, cursor))
        else:
            self._spawn(token, self._serve_batch(token, cursor, None))

    def _stop(self, token: int) -> None:
        if token not in self.queries:
            self._send_error(token, ReqlTokenError(f"Token {token} not in stream cache."))
            return
        cursor = self.cursors.get(token)
        held = isinstance(cursor, FeedCursor) and cursor.unpark()
        task = self.running.get(token)
        running = task is not None and not task.done()
        # What still waits for an answer on this token (a START evaluating, a CONTINUE reading or held for a change)
        # gets its own empty, final reply before STOP's, as RethinkDB answers a stopped query.
        replies = 2 if held or running else 1
        self._end_query(token, interrupts.STOP)
        if task is not None and running:
            # As in RethinkDB, STOP is answered once the query has stopped where it ran (a write it had begun then
            # either committed or rolled back).
            task.add_done_callback(lambda _: self._send_stopped(token, replies))
        else:
            self._send_stopped(token, replies)

    def _send_stopped(self, token: int, replies: int) -> None:
        for _ in range(replies):
            self._send(token, {"t": RESPONSE.SUCCESS_SEQUENCE, "r": [], "n": []})

    def _end_query(self, token: int, reason: str | None = None) -> None:
        """Forget a query: its cursor closes and its job row goes; with a reason, it stops wherever it runs."""
        ticket = self.queries.pop(token, None)
        if ticket is None:
            return
        cursor = self.cursors.pop(token, None)
        task = self.running.get(token)
        if cursor is not None:
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.add_done_callback(lambda _: cursor.close())  # not while a worker is still reading it
            else:
                cursor.close()
        self.server.end_ticket(ticket)
        if reason is not None:
            ticket.interruptor.interrupt(reason)
            task = self.running.get(token)
            if task is not None and task is not asyncio.current_task():
                task.cancel()  # a batch waiting for changes would wait forever; work on a thread stops by itself

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

    async def _run_noreply(self, ticket: Ticket, term: Any, optargs: dict[str, Any], plan: direct.Plan | None) -> None:
        try:
            await self.server.in_worker(ticket, self._evaluate_unanswered, term, optargs, plan)
        except (QueryInterrupted, ReqlError, MemoryError):
            pass
        except Exception:
            log.exception("internal error running a noreply query")
        finally:
            self.server.end_ticket(ticket)

    async def _run(
        self, token: int, ticket: Ticket, term: Any, optargs: dict[str, Any], plan: direct.Plan | None
    ) -> None:
        in_worker = functools.partial(self.server.in_worker, ticket)
        acknowledge = functools.partial(self._acknowledge, asyncio.get_running_loop(), token, ticket)
        try:
            result = await in_worker(
                functools.partial(self._evaluate, plan=plan, acknowledge=acknowledge), term, optargs
            )
            if isinstance(result, str):
                if self.queries.get(token) is ticket:
                    self._write(token, result)
                    self._flush()  # now: the reply needs no other turn of the loop
                    self._end_query(token)
            elif isinstance(result, Sequence):
                cursor = RowCursor(result.pages, BatchLimits.from_optargs(optargs))
                self.cursors[token] = cursor
                await self._serve_batch(token, cursor, _profile(optargs, result.started))
            else:
                feed = FeedCursor(self.server.changefeeds, result, BatchLimits.from_optargs(optargs))
                await self._open_feed(token, feed, in_worker, _profile(optargs, result.started))
        except BaseException as error:
            self._query_failed(token, ticket, error)
            if isinstance(error, asyncio.CancelledError):
                raise

    def _acknowledge(self, loop: asyncio.AbstractEventLoop, token: int, ticket: Ticket, text: str) -> None:
        """Answer a soft write before its commit (called on a worker thread: see Storage.insert_new); the query's
        task then finds it answered."""
        loop.call_soon_threadsafe(self._answer_early, token, ticket, _atom(text))

    def _answer_early(self, token: int, ticket: Ticket, reply: str) -> None:
        if self.queries.get(token) is ticket:
            self._write(token, reply)
            self._flush()
            self._end_query(token)
            # The token is free at once, as after any reply, and the query leaves `rethinkdb.jobs` (the commit left
            # to the worker stops for nothing).
            self._forget_task(token, self.running.get(token))
            self.server.storage.activity.remove_job(ticket.job_id)

    def _evaluate_unanswered(self, term: Any, optargs: dict[str, Any], plan: direct.Plan | None) -> None:
        """Evaluate a query nobody waits an answer for (noreply): its result is not even encoded."""
        plan = plan or direct.plan(term, optargs, self.server.storage)
        if plan is None or plan.run(self.server.storage, self.user or "") is None:
            self.server.engine.start(term, optargs, self.user or "")

    def _evaluate(
        self,
        term: Any,
        optargs: dict[str, Any],
        *,
        small: bool = False,
        plan: direct.Plan | None = None,
        acknowledge: direct.Acknowledge | None = None,
    ) -> str | Sequence | SubscriptionRequest:
        """Evaluate a query (`small`: one answered on the loop; `plan`: how to answer it directly, see direct.py,
        made here if the loop made none: a frame too big to be looked at there, or a small one planned again;
        `acknowledge`: what may answer a soft insert, or a soft write of one document that is the whole query, before
        its commit); a whole result (an atom) comes back as its reply's text."""
        if plan is None and not small:
            plan = direct.plan(term, optargs, self.server.storage)
        if plan is not None:
            text = plan.run(self.server.storage, self.user or "", acknowledge)
            if text is not None:
                return _atom(text)
        started = time.perf_counter()
        answer = acknowledge if optargs.get("profile") is not True else None  # (a profile is made after the write)
        result = self.server.engine.start(term, optargs, self.user or "", small=small, answer=answer)
        if not isinstance(result, Atom):
            result.started = started
            return result
        profile = _profile(optargs, started)
        extra = f',"p":{wire.dumps(profile)}' if profile is not None else ""
        return f'{{"t":{RESPONSE.SUCCESS_ATOM},"r":[{replies.encode(result.value)}]{extra}}}'

    def _query_failed(self, token: int, ticket: Ticket, error: BaseException) -> None:
        """Answer a query that failed or was stopped (unless it was answered already), and forget it."""
        if _internal(error):
            log.error("internal error running a query", exc_info=error)  # a bug, even when nobody waits for it
        if self.queries.get(token) is not ticket:
            return  # stopped, and STOP answered for it; or its connection is closing
        if isinstance(error, QueryInterrupted):
            if error.reason == interrupts.JOBS:
                self._job_deleted(token, ticket)
        elif not isinstance(error, asyncio.CancelledError):
            self._send_failure(token, error)
        self._end_query(token)

    def _send_failure(self, token: int, error: BaseException) -> None:
        """Answer a query that failed (an internal error was logged already)."""
        if isinstance(error, ReqlError):
            self._send_error(token, error)
        elif isinstance(error, MemoryError):
            log.warning("a query from %s ran out of memory", self.peer)
            self._send_error(token, ReqlResourceLimitError("The server ran out of memory evaluating this query."))
        else:
            self._send_error(token, ReqlInternalError(f"Internal error: {error}"))

    async def _open_feed(self, token: int, cursor: FeedCursor, in_worker: InWorker, profile: list[Any] | None) -> None:
        try:
            await in_worker(cursor.open)
        except BaseException:
            cursor.close()
            raise
        self.cursors[token] = cursor
        await self._serve_batch(token, cursor, profile)

    async def _serve_batch(self, token: int, cursor: RowCursor | FeedCursor, profile: list[Any] | None) -> None:
        ticket = self.queries.get(token)
        if ticket is None:
            return
        try:
            rows, last = await cursor.next_batch(functools.partial(self.server.in_worker, ticket))
        except BaseException as error:
            self._query_failed(token, ticket, error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        self._answer(token, cursor, rows, last, profile)

    def _serve_parked(self, token: int, cursor: FeedCursor) -> None:
        ticket = self.queries.get(token)
        if ticket is None:
            return
        try:
            rows, last = cursor.take_now()
        except Exception as error:
            self._query_failed(token, ticket, error)
            return
        if not rows and not last:  # what was queued came to nothing (squashed away): hold the CONTINUE again
            cursor.park(lambda: self._serve_parked(token, cursor))
            return
        self._answer(token, cursor, rows, last, None)

    def _answer(
        self, token: int, cursor: RowCursor | FeedCursor, rows: list[str], last: bool, profile: list[Any] | None
    ) -> None:
        if self.cursors.get(token) is not cursor:
            return  # stopped meanwhile; STOP already answered
        kind = RESPONSE.SUCCESS_SEQUENCE if last else RESPONSE.SUCCESS_PARTIAL
        extra = f',"p":{wire.dumps(profile)}' if profile is not None else ""
        self._write(token, f'{{"t":{kind},"r":[{",".join(rows)}],"n":{cursor.encoded_notes}{extra}}}')
        if last:
            self._end_query(token)

    # ---------------------------------------------------------------- responses

    def _send(self, token: int, response: dict[str, Any]) -> None:
        self._write(token, wire.dumps(response))

    def _send_error(self, token: int, error: ReqlError) -> None:
        response: dict[str, Any] = {"t": error.response_type, "r": [error.message], "b": error.backtrace}
        if error.error_type is not None:
            response["e"] = error.error_type
        self._send(token, response)

    def _write(self, token: int, text: str) -> None:
        # Responses made in one turn of the loop (a write fanned out to many feeds) leave in one send, as do the
        # replies to frames that arrived together (`_answered` sends them).
        if not self._outgoing and not self._batching:
            asyncio.get_running_loop().call_soon(self._flush)
        payload = text.encode("utf-8")
        self._outgoing += (wire.HEADER.pack(token, len(payload)), payload)  # (joined once, in `_flush`)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        self.server.turns.loop_busy()
        if outgoing and not self.writer.is_closing():
            self.writer.write(b"".join(outgoing))


def _atom(text: str) -> str:
    """The reply of a whole result, given its text."""
    return f'{{"t":{RESPONSE.SUCCESS_ATOM},"r":[{text}]}}'


def _internal(error: BaseException) -> bool:
    """Whether an error is a bug of the server's (the others are what RethinkDB answers too)."""
    return not isinstance(error, (QueryInterrupted, ReqlError, MemoryError, asyncio.CancelledError))


def _profile(optargs: dict[str, Any], started: float) -> list[Any] | None:
    if optargs.get("profile") is not True:
        return None
    elapsed = (time.perf_counter() - started) * 1000
    return [{"description": "Evaluate the query.", "duration(ms)": elapsed, "sub_tasks": []}]

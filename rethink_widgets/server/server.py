"""The server: one data directory (locked), its storage, the query engine, a worker pool and the live connections."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, TypeVar

from rethink_widgets.server import admission, interrupts, scram, wire
from rethink_widgets.server.changefeeds import Changefeeds
from rethink_widgets.server.evaluation.engine import Engine
from rethink_widgets.server.fairness import WORKERS, Ticket, Turns, WorkerSlots
from rethink_widgets.server.initial_password import apply_initial_password
from rethink_widgets.server.interrupts import Run
from rethink_widgets.server.protocol import Connection
from rethink_widgets.server.storage import Storage, private_directory, private_file
from rethink_widgets.server.workers import Workers

log = logging.getLogger(__name__)
T = TypeVar("T")
LOCK_FILE = "LOCK"
# On shutdown, running queries get this long to finish before they are stopped (an open write then rolls back).
SHUTDOWN_GRACE_SECONDS = 1.0
# How often a thread holding the interpreter lock is made to offer it: short, so that the event loop and short
# queries never wait long behind a long query's thread.
SWITCH_INTERVAL = 0.0002


def _settle(work: Future[T], outcome: asyncio.Future[T]) -> None:
    """On the loop: a worker thread's run has ended; its result or error goes to whoever still waits for it."""
    if outcome.done():
        return  # (cancelled: a stopped run's QueryInterrupted is expected)
    error = work.exception()
    if error is None:
        outcome.set_result(work.result())
    else:
        outcome.set_exception(error)


class DirectoryLocked(Exception):
    """Another server is using the data directory."""


def lock_directory(directory: Path) -> IO[str]:
    """Hold the directory's lock file for as long as the returned file stays open (the OS frees it on exit)."""
    private_directory(directory)
    private_file(directory / LOCK_FILE)
    handle = (directory / LOCK_FILE).open("r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DirectoryLocked(
            f"Another server is already using the data directory `{directory}` "
            f"(lock file `{directory / LOCK_FILE}`). Stop it first, or choose another --directory."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class Server:
    def __init__(
        self,
        directory: Path,
        bind: str | None = "127.0.0.1",
        port: int = 28015,
        initial_password: str = "",
        *,
        max_connections: int = admission.MAX_CONNECTIONS,
        handshake_seconds: float = admission.HANDSHAKE_SECONDS,
    ) -> None:
        self.directory = directory
        self.bind = bind
        self.port = port
        self.initial_password = initial_password
        self.admission = admission.Admission(max_connections, handshake_seconds)
        self.connections: set[Connection] = set()
        self._lock: IO[str] | None = None
        self._listener: asyncio.Server | None = None

    async def start(self) -> int:
        """Open the directory and listen; returns the port actually bound."""
        self._lock = lock_directory(self.directory)
        self.pool = Workers(WORKERS, "reql")
        self.turns = Turns()
        self.worker_slots = WorkerSlots()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.storage = Storage(self.directory, Engine.index_compiler, scram.make_credentials(""))
        apply_initial_password(self.storage, self.directory, self.initial_password)
        self.engine = Engine(self.storage)
        self.changefeeds = Changefeeds(self.storage, asyncio.get_running_loop())
        self.admission.max_connections = admission.fit_descriptor_limit(self.admission.max_connections)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self.admission.loop_exception)
        self._listener = await loop.create_server(
            lambda: wire.ClientProtocol(2**20, self._accept), self.bind, self.port
        )
        self.port = self._listener.sockets[0].getsockname()[1]
        self.storage.activity.reql_port = self.port
        self.storage.activity.connections = lambda: len(self.connections)
        return self.port

    async def in_worker(self, ticket: Ticket, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` for a query on a worker thread, once the query's connection and user have room."""
        async with self.worker_slots.taken(ticket):
            ticket.interruptor.raise_if_interrupted()
            loop = asyncio.get_running_loop()
            outcome: asyncio.Future[T] = loop.create_future()
            work = self.pool.submit(self._run, ticket, fn, args)
            # The outcome is handed to the loop in one step (a wrapped future and a shield would take three turns).
            # The callback takes the finished work as its argument: naming `work` would make a cycle (a future keeps
            # its callbacks) that holds the result, a batch of a scan, until the garbage collector's next full pass.
            work.add_done_callback(lambda done: loop.call_soon_threadsafe(_settle, done, outcome))
            try:
                return await outcome
            except asyncio.CancelledError:
                # Stopped: the thread goes on to its next check point. Until it has, it keeps its place (and what
                # it is using, a cursor or a feed being opened, stays open until the caller closes it after this).
                while not work.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait([asyncio.wrap_future(work)])
                raise

    def _run(self, ticket: Ticket, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        run = Run(ticket.interruptor, (ticket.user, ticket.peer), self.turns)
        forget = ticket.interruptor.on_interrupt(lambda: self.turns.wake(run))
        ticket.active += 1
        self.turns.begin(run)
        try:
            ticket.interruptor.raise_if_interrupted()  # stopped while it waited for this thread
            with interrupts.running(run):
                return fn(*args)
        finally:
            self.turns.end(run)
            forget()
            ticket.active -= 1
            if ticket.ended and not ticket.active:
                self.storage.activity.remove_job(ticket.job_id)

    def end_ticket(self, ticket: Ticket) -> None:
        """The query has ended: its job row goes once nothing runs for it any more (a stopped run ends soon)."""
        ticket.ended = True
        if not ticket.active:
            self.storage.activity.remove_job(ticket.job_id)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admission.admits(len(self.connections)):
            await self.admission.refuse(reader, writer)
            return
        connection = Connection(self, reader, writer)
        self.connections.add(connection)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)

    async def shutdown(self) -> None:
        """Stop accepting, let running queries finish (for a while), disconnect clients, close storage."""
        if self._listener is not None:
            self._listener.close()
        # An index build could outlast any grace period: it stops now and resumes at the next start.
        await asyncio.get_running_loop().run_in_executor(None, self.storage.stop_building)
        for connection in self.connections:
            connection.abandon_feeds()
        running = [t for c in self.connections for t in (*c.running.values(), *c.noreply)]
        if running:
            _, pending = await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
            if pending:
                log.info("stopping %d running queries", len(pending))
            for connection in self.connections:
                connection.interrupt_all(interrupts.SHUTDOWN)
        await asyncio.gather(*(connection.close() for connection in list(self.connections)))
        # Evaluations already on a worker thread (writes among them) run to the end before storage closes.
        await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown, True)
        self.storage.close()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()
        log.info("server stopped")

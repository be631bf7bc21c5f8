"""The server: one data directory (locked), its storage, the query engine, a worker pool and the live connections."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from rethink_widgets.server import admission, scram
from rethink_widgets.server.changefeeds import Changefeeds
from rethink_widgets.server.evaluation import Engine
from rethink_widgets.server.protocol import Connection
from rethink_widgets.server.storage import Storage

log = logging.getLogger(__name__)
T = TypeVar("T")
LOCK_FILE = "LOCK"
WORKERS = 32
SHUTDOWN_GRACE_SECONDS = 10.0


class DirectoryLocked(Exception):
    """Another server is using the data directory."""


def lock_directory(directory: Path) -> IO[str]:
    """Hold the directory's lock file for as long as the returned file stays open (the OS frees it on exit)."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = (directory / LOCK_FILE).open("a+")
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
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock: IO[str] | None = None
        self._listener: asyncio.Server | None = None

    async def start(self) -> int:
        """Open the directory and listen; returns the port actually bound."""
        self._lock = lock_directory(self.directory)
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="reql")
        credentials = scram.make_credentials(self.initial_password)
        self.storage = Storage(self.directory, Engine.index_compiler, credentials)
        self.engine = Engine(self.storage)
        self.changefeeds = Changefeeds(self.storage, asyncio.get_running_loop())
        self.admission.max_connections = admission.fit_descriptor_limit(self.admission.max_connections)
        asyncio.get_running_loop().set_exception_handler(self.admission.loop_exception)
        self._listener = await asyncio.start_server(self._accept, self.bind, self.port, limit=2**20)
        self.port = self._listener.sockets[0].getsockname()[1]
        self.storage.activity.reql_port = self.port
        self.storage.activity.connections = lambda: len(self.connections)
        return self.port

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admission.admits(len(self.connections)):
            await self.admission.refuse(reader, writer)
            return
        connection = Connection(self, reader, writer)
        self.connections.add(connection)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)
            if task is not None:
                self._tasks.discard(task)

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
            await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
        for connection in list(self.connections):
            await connection.close()
        # Evaluations already on a worker thread (writes among them) run to the end before storage closes.
        await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown, True)
        self.storage.close()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()
        log.info("server stopped")

"""Real embedded servers as child processes, and running the driver's async loop types against them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB

START_TIMEOUT = 30


class ServerLog:
    """A server's output lines, read as they come: a chatty server never blocks on a full pipe."""

    def __init__(self, process: subprocess.Popen[str], startup: list[str]) -> None:
        self.lines = list(startup)
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        """The first line matching `pattern`, waiting for it to be printed."""
        with self._changed:
            found = self._changed.wait_for(lambda: self._find(pattern), timeout)
        assert found, f"no line matching {pattern!r} in:\n{''.join(self.lines)}"
        return found

    def _find(self, pattern: str) -> str | None:
        return next((line for line in self.lines if re.search(pattern, line)), None)

    def text(self, timeout: float = 10) -> str:
        """Everything printed, once the server has stopped."""
        self._reader.join(timeout)
        return "".join(self.lines)


@dataclass
class ServerProcess:
    """A server running as a child process, as a user would start it."""

    process: subprocess.Popen[str]
    directory: Path
    port: int
    log: ServerLog
    host: str = "127.0.0.1"
    startup: str = ""  # what it printed up to its listening line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def output(self) -> str:
        """Everything the server printed (call after it stopped)."""
        return self.log.text()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Restartable:
    """A server that a test kills and starts again on the same data and port, as a person restarting it would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = free_port()
        self.running = self._start()

    def _start(self) -> ServerProcess:
        return start_server(self.directory, "--driver-port", str(self.port))

    def kill(self) -> None:
        self.running.kill()

    def restart(self) -> None:
        self.running = self._start()

    def stop(self) -> None:
        self.running.stop()


def start_server(directory: Path, *args: str, open_files: int | None = None) -> ServerProcess:
    """Start `python -m rethink_widgets.server` on a free port and wait for its listening line; `open_files` limits
    the files the server may open (soft and hard limit)."""
    command = [
        sys.executable,
        "-m",
        "rethink_widgets.server",
        "--driver-port",
        "0",
        "--directory",
        str(directory),
        *args,
    ]
    if open_files is not None:
        command = ["prlimit", f"--nofile={open_files}:{open_files}", "--", *command]  # util-linux; it execs the rest
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        match = re.search(r"Listening for client driver connections on port (\d+)", line)
        if match:
            port, startup = int(match.group(1)), "".join(lines)
            return ServerProcess(process, directory, port, ServerLog(process, lines), startup=startup)
    process.wait(START_TIMEOUT)
    raise RuntimeError("server did not start:\n" + "".join(lines))


def run_async(server: ServerProcess, loop_type: str, body: Callable[[RethinkDB, Any], Awaitable[Any]]) -> Any:
    """Run `await body(r, conn)` with a connection of the given loop type ('asyncio' or 'tornado')."""
    r = RethinkDB()
    r.set_loop_type(loop_type)

    async def main() -> Any:
        connection = await r.connect(server.host, server.port)
        try:
            return await body(r, connection)
        finally:
            await maybe_await(connection.close())

    return asyncio.run(main())


async def maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or asyncio.isfuture(value):
        return await value
    return value

"""Starting the embedded ReQL server for a notebook when no database is configured or answering, and its password.

The server runs as a process of its own, detached from the kernel, on the user's one data directory
(`$XDG_DATA_HOME/rethink_widgets/rethinkdb_data`, by default under `~/.local/share`) whatever directory a kernel runs
in: every kernel of the user shares it, and it outlives a kernel restart. Its directory lock keeps a second one from
starting; a kernel that loses that race uses the one that won. The directory and its files are the user's alone.

It runs until it is stopped: `%rethink server stop` (or a SIGTERM to the pid in its `LOCK` file) stops it, and it
stays stopped (a `STOPPED` file says so) until `%rethink server start` or the next `%load_ext`. Short of that, a
kernel that uses it starts it again when it dies (`keep_running`); kernels racing to do so meet at the directory
lock, as at the first start. It does not stop with JupyterLab: other notebooks and programs may still use it.

It is started with `--initial-password auto`: on its first start, and on the first start of a directory an older
version left with the empty password, it generates an admin password and keeps it in the directory's
`admin_password` file, which kernels read to connect. The password never appears on a command line or in a log.
Nothing here imports the server: it is started as a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rethink_widgets.jupyter.connection import Settings

log = logging.getLogger(__name__)

PASSWORD_FILE = "admin_password"
LOCK_FILE = "LOCK"
LOG_FILE = "server.log"
STOPPED_FILE = "STOPPED"  # there while the server is stopped on purpose: no kernel starts it again
KEEP_EVERY = 1.0  # s between a keeping kernel's looks at the server
STOP_TIMEOUT = 30.0

_keeping: Settings | None = None  # the embedded server's settings, while this kernel keeps it running
OLD_DIRECTORY = Path("rethinkdb_data")  # where older versions kept the data, in the kernel's working directory
START_TIMEOUT = 30.0


def data_directory() -> Path:
    """The embedded server's data directory, the same for every kernel of the user."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "rethink_widgets" / "rethinkdb_data"


def password() -> str:
    """The admin password the embedded server generated; empty when there is none yet (no embedded server started,
    or only one of an older version, which kept the empty password)."""
    try:
        return (data_directory() / PASSWORD_FILE).read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        return ""


def running() -> bool:
    """Whether a server holds the data directory's lock file (the lock `rethink_widgets.server` takes)."""
    try:
        handle = (data_directory() / LOCK_FILE).open("rb")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # let go when the file closes
        except BlockingIOError:
            return True
    return False


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_server(settings: Settings) -> str | None:
    """Start the embedded server if nothing is configured and nothing answers; returns what to tell the user."""
    if settings.configured or answers(settings.host, settings.port):
        return None
    directory = data_directory()
    _private_directories(directory)
    (directory / STOPPED_FILE).unlink(missing_ok=True)  # asked for: no longer stopped on purpose
    log_path = directory / LOG_FILE
    command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", str(settings.port)]
    command += ["--directory", str(directory), "--initial-password", "auto"]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(log_fd, 0o600)  # an older version's log was readable by all
    with open(log_fd, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(settings.host, settings.port, timeout=0.2):
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                f"the embedded server did not answer on {settings.address} within {START_TIMEOUT:.0f} s; see {log_path}"
            )
        # Ours stopped: if another kernel's server holds the directory, it is about to answer; else ours failed.
        if process.poll() is not None and not running() and not answers(settings.host, settings.port):
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError("the embedded server could not start: " + " / ".join(tail))
        time.sleep(0.05)
    if not _holds(process, directory / LOCK_FILE, deadline):
        return None  # another kernel's server won the directory: that kernel says so
    said = f"rethink_widgets: started the embedded ReQL server on {settings.address} (data and log in {directory})"
    if OLD_DIRECTORY.is_dir() and OLD_DIRECTORY.resolve() != directory.resolve():
        said += f"\nrethink_widgets: ./{OLD_DIRECTORY} (older versions' data) is not used; see the README to move it"
    return said


def holder() -> int | None:
    """The pid of the server holding the data directory, if one does."""
    if not running():
        return None
    with contextlib.suppress(FileNotFoundError, ValueError):
        return int((data_directory() / LOCK_FILE).read_text().strip())
    return None


def stopped_on_purpose() -> bool:
    return (data_directory() / STOPPED_FILE).exists()


def stop() -> str:
    """Stop the server holding the data directory, whoever started it, and keep it stopped; says what happened."""
    directory = data_directory()
    pid = holder()
    if pid is None:
        return f"rethink_widgets: the embedded ReQL server is not running (data in {directory})"
    (directory / STOPPED_FILE).touch(mode=0o600)  # first, so that no kernel keeping it starts it again
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while running():
        if time.monotonic() > deadline:
            return f"rethink_widgets: the embedded ReQL server (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s"
        time.sleep(0.05)
    return (
        f"rethink_widgets: stopped the embedded ReQL server (pid {pid}, data in {directory}); it stays stopped until"
        " `%rethink server start` or `%load_ext rethink_widgets`"
    )


def status() -> str:
    """Whether the embedded server runs, for `%rethink server`."""
    directory = data_directory()
    pid = holder()
    if pid is not None:
        return f"the embedded ReQL server runs (pid {pid}, data in {directory}); `%rethink server stop` stops it"
    why = " (stopped with `%rethink server stop`)" if stopped_on_purpose() else ""
    return f"the embedded ReQL server is not running{why}; `%rethink server start` starts it"


def advice(settings: Settings) -> str:
    """What to do, or what happens, while the database at `settings` does not answer."""
    if settings != _keeping:
        return "start it, or use another one with `%rethink connect HOST:PORT`"
    if stopped_on_purpose():
        return "it was stopped with `%rethink server stop`: `%rethink server start` starts it again"
    return "the embedded server is being started again"


async def keep_running(settings_now: Callable[[], Settings], kept: Settings) -> None:
    """Start the embedded server again whenever it died (not stopped on purpose), as long as the widgets use it: on
    the same port and data directory. Several kernels may race to: the directory lock lets one server win."""
    global _keeping
    _keeping = kept
    try:
        while True:
            await asyncio.sleep(KEEP_EVERY)
            try:
                if settings_now() == kept and not running() and not stopped_on_purpose():
                    await _start_again(kept)
            except Exception:  # (a full disk, a directory gone...): said in the kernel's log; the next look tries again
                log.exception("rethink_widgets: could not start the embedded ReQL server again")
    finally:
        if _keeping is kept:  # not yet another keeper's (`%reload_ext` starts the next before this one ends)
            _keeping = None


async def _start_again(settings: Settings) -> None:
    if answers(settings.host, settings.port):
        return  # something else took the port: not ours to replace
    log.warning("rethink_widgets: the embedded ReQL server on %s stopped; starting it again", settings.address)
    try:
        said = await asyncio.get_running_loop().run_in_executor(None, ensure_server, settings)
    except RuntimeError as error:  # it says why; the next look tries again
        log.error("rethink_widgets: %s", error)  # noqa: TRY400  # its message says it all: no traceback
    else:
        if said:
            log.warning("%s", said)


def _holds(process: subprocess.Popen[bytes], lock_file: Path, deadline: float) -> bool:
    """Whether our server holds the data directory (its lock file names the holder). One still starting while
    another kernel's answers is waited for until it stops at the lock, so that it never takes the directory over
    unannounced, once that other server stops."""
    while process.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            if lock_file.read_text().strip() == str(process.pid):
                return True
        if time.monotonic() > deadline:
            process.kill()
            break
        time.sleep(0.05)
    return False


def _private_directories(directory: Path) -> None:
    """Create the data directory and its `rethink_widgets` parent for the user alone (0700); ones that exist are
    left as they are."""
    directory.parent.parent.mkdir(parents=True, exist_ok=True)
    for path in (directory.parent, directory):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        path.chmod(0o700)  # whatever the umask took away

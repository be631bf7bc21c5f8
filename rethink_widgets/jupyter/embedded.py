"""Starting the embedded ReQL server for a notebook when no database is configured or answering, and its password.

The server runs as a process of its own, detached from the kernel, on the user's one data directory
(`$XDG_DATA_HOME/rethink_widgets/rethinkdb_data`, by default under `~/.local/share`) whatever directory a kernel runs
in: every kernel of the user shares it, and it outlives a kernel restart. Its directory lock keeps a second one from
starting; a kernel that loses that race uses the one that won. The directory and its files are the user's alone.

It is started with `--initial-password auto`: on its first start, and on the first start of a directory an older
version left with the empty password, it generates an admin password and keeps it in the directory's
`admin_password` file, which kernels read to connect. The password never appears on a command line or in a log.
Nothing here imports the server: it is started as a command.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rethink_widgets.jupyter.connection import Settings

PASSWORD_FILE = "admin_password"
LOCK_FILE = "LOCK"
LOG_FILE = "server.log"
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

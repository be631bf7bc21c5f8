"""Starting the embedded ReQL server for a notebook when no database is configured or answering.

The server runs as a process of its own, detached from the kernel: its data (./rethinkdb_data) is shared by every
kernel that connects, and it outlives a kernel restart. Its directory lock keeps a second one from starting; a
kernel that loses that race simply uses the one that won.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from rethink_widgets.database import Settings

DATA_DIRECTORY = Path("rethinkdb_data")
START_TIMEOUT = 30.0


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
    DATA_DIRECTORY.mkdir(exist_ok=True)
    log_path = DATA_DIRECTORY / "server.log"
    command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", str(settings.port)]
    command += ["--directory", str(DATA_DIRECTORY)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(settings.host, settings.port, timeout=0.2):
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the embedded server did not start within {START_TIMEOUT:.0f} s; see {log_path}")
        if process.poll() is not None and not answers(settings.host, settings.port):
            time.sleep(0.2)  # maybe another kernel's server holds the directory and is about to answer
            if not answers(settings.host, settings.port, timeout=1):
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError("the embedded server could not start: " + " / ".join(tail))
        time.sleep(0.05)
    return (
        f"rethink_widgets: started the embedded ReQL server on {settings.address} "
        f"(data in ./{DATA_DIRECTORY}, log in ./{log_path})"
    )

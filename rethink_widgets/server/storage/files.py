"""The data directory and files, private to the user that runs the server."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DATA_FILE = "data.sqlite"


def private_directory(directory: Path) -> None:
    """Create the data directory for its user alone (0700). One that exists is left as its user made it: sharing it
    may be deliberate, and the files the server keeps in it are private anyway."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        if not directory.is_dir():
            raise
        return
    directory.chmod(0o700)  # whatever the umask took away


def private_file(path: Path) -> None:
    """Make the file at `path` its user's alone (0600), creating it empty if missing. One another user owns is left
    alone (the server then fails on it, or works with it, as that user allowed)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with contextlib.suppress(PermissionError):
        path.chmod(0o600)


def private_files(database: Path) -> None:
    """The database file 0600 before SQLite opens it (SQLite gives its WAL and SHM files the database file's mode
    when it creates them), and WAL and SHM files an older version left readable by all made 0600 too."""
    private_file(database)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            database.with_name(database.name + suffix).chmod(0o600)

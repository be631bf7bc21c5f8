"""`--initial-password`: the admin password a server starts with, applied as RethinkDB applies it.

It is set whenever the admin user has an empty password (a new data directory, or one an older version made with the
empty default) and ignored once admin has one. `auto` generates a random one and, where RethinkDB prints it, keeps it
in the data directory's `admin_password` file, readable by its user alone: the notebook extension starts the
embedded server this way and reads the file to connect, so no password ever appears in a command line or a log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from rethink_widgets.server import scram
from rethink_widgets.server.storage import Storage

log = logging.getLogger(__name__)
AUTO = "auto"
PASSWORD_FILE = "admin_password"


def apply_initial_password(storage: Storage, directory: Path, initial_password: str) -> None:
    """Give admin `initial_password` (or a generated one, for `auto`) if its password is empty."""
    if not initial_password:
        return
    admin = storage.users().get("admin")
    if admin is not None and admin["password"]:
        log.info("Ignoring --initial-password option because the admin password is already configured.")
        return
    password = initial_password
    if initial_password == AUTO:
        password = secrets.token_urlsafe(24)
        # Kept before it is set: a crash in between leaves admin without a password, to be generated again at the
        # next start, never with one nobody knows.
        keep(directory / PASSWORD_FILE, password)
        log.info("Generated a random admin password, kept in %s", directory / PASSWORD_FILE)
    storage.user_put("admin", scram.make_credentials(password))


def keep(path: Path, password: str) -> None:
    """Write the password file (0600) whole or not at all, durably: a reader sees the old one or the new one."""
    new = path.with_name(path.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        new.unlink()  # a leftover of a crash, whatever its mode
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(password)
        file.flush()
        os.fsync(fd)
    os.replace(new, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

"""What `%load_ext rethink_widgets` set up in this kernel: the user's connection, the names it put in the user's
namespace, whether it started the embedded server. `%rethink` reads and changes it here, so magics need not import
the extension."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from rethink_widgets.jupyter import connection, feeds
from rethink_widgets.jupyter import embedded as embedded_server

added: dict[str, Any] = {}  # the names put in the user namespace, with the values put there
user_conn: connection.UserConnection | None = None  # the synchronous connection for the user's cells, once loaded
started_embedded = False  # whether this kernel's `%load_ext` started the embedded server
keeper: asyncio.Task[None] | None = None  # starts the embedded server again if it dies (`embedded.keep_running`)
# The widgets' feeds and the watches `%unload_ext` stopped, with the database each used, for `%load_ext` to reopen.
stopped: list[tuple[feeds.Background, connection.Connector]] = []
unloaded_database: connection.Connector | None = None  # the default database when `%unload_ext` ran


def embedded() -> bool:
    """Whether the widgets' server is the embedded one: started here, or by another kernel."""
    if connection.current().settings.configured:
        return False
    return started_embedded or embedded_server.running()


def connect(shell: Any, settings: connection.Settings) -> None:
    """Use the database at `settings` from now on: widgets, feeds and the user's `conn` (opened first, so a server
    that does not answer changes nothing)."""
    global user_conn
    database = connection.Connector(settings)
    new_conn = database.connect_sync()
    old, user_conn = user_conn, new_conn
    connection.use(database)
    new_conn.repl()
    if shell.user_ns.get("conn") is old and added.get("conn") is old:
        shell.user_ns["conn"] = added["conn"] = new_conn
    if old is not None:
        with contextlib.suppress(Exception):
            old.close(noreply_wait=False)

"""`%load_ext rethink_widgets`: connect (or start the embedded server) and put the widgets in the namespace.

    %load_ext rethink_widgets
    LiveTable(r.table("todo"))
    r.table("todo").insert({"text": "milk"}).run(conn)

Names put in the user namespace, unless the user already has them: `r` (the driver's usual synchronous instance),
`conn` (a synchronous connection, also the default for a bare `.run()`), `LiveTable`, `TodoList`, `watch` and
`feed`. `%unload_ext` closes every live feed; `%reload_ext` does both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from rethinkdb import r as user_r

from rethink_widgets import database as databases
from rethink_widgets import feeds
from rethink_widgets.embedded import ensure_server

_added: dict[str, Any] = {}
_user_conn: Any = None


def watch(query: Any, callback: Callable[[dict[str, Any]], Any]) -> feeds.Watch:
    """Call `callback(change)` for every change of `query`, in the background, until `.stop()`."""
    if not callable(callback):
        raise TypeError("watch(query, callback): callback must be callable")
    return feeds.Watch(query, callback, databases.current()).start()


def feed(query: Any, **options: Any) -> AsyncIterator[dict[str, Any]]:
    """`async for change in feed(query):` the changes of `query` (options go to `changes()`)."""
    return feeds.feed(query, databases.current(), **options)


def user_connection() -> Any:
    """The synchronous connection `%load_ext` made for the user's cells, if it is loaded."""
    return _user_conn


def load(shell: Any) -> None:
    global _user_conn
    from rethink_widgets.live_table import LiveTable
    from rethink_widgets.magics import RethinkMagics
    from rethink_widgets.todo_list import TodoList

    settings = databases.Settings.from_environment()
    said = ensure_server(settings)
    if said:
        print(said)
    database = databases.Database(settings)
    databases.use(database)
    _user_conn = database.connect_sync()
    _user_conn.repl()
    names = {"r": user_r, "conn": _user_conn, "LiveTable": LiveTable, "TodoList": TodoList, "watch": watch}
    names["feed"] = feed
    for name, value in names.items():
        if name not in shell.user_ns:
            shell.user_ns[name] = value
            _added[name] = value
    shell.register_magics(RethinkMagics)


def unload(shell: Any) -> None:
    global _user_conn
    for live in list(feeds.LIVE.values()):
        live.close()
    for name, value in list(_added.items()):
        if shell.user_ns.get(name) is value:
            del shell.user_ns[name]
    _added.clear()
    database = databases.current()
    databases.use(None)
    with contextlib.suppress(RuntimeError):
        asyncio.get_event_loop().create_task(database.close())
    if _user_conn is not None:
        with contextlib.suppress(Exception):
            _user_conn.close(noreply_wait=False)
        _user_conn = None

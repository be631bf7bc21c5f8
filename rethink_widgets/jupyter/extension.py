"""`%load_ext rethink_widgets`: connect (or start the embedded server) and put the widgets in the namespace.

    %load_ext rethink_widgets
    LiveTable(r.table("todo"))
    r.table("todo").insert({"text": "milk"}).run(conn)

Names put in the user namespace, unless the user already has them: `r` (the driver's usual synchronous instance),
`conn` (a synchronous connection, also the default for a bare `.run()`; it opens itself again after a server
restart), `LiveTable`, `TodoList`, `LiveChart` (it needs the `charts` extra, and says so), `watch` and `feed`.
Re-running a cell stops the watches and feeds it made before, as it closes its widgets. `%unload_ext` closes every
live feed (widgets say `closed`); `%load_ext` again, or `%reload_ext`, resumes the widgets and watches it closed, on
the database it connects to (`feed()` loops end for good).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from rethinkdb import RethinkDB
from rethinkdb import r as user_r
from rethinkdb.errors import ReqlAuthError

from rethink_widgets.jupyter import cell_runs, change_streams, connection, feeds, state
from rethink_widgets.jupyter import embedded as embedded_server
from rethink_widgets.jupyter.magics import RethinkMagics

_closing: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


def watch(query: Any, callback: Callable[[dict[str, Any]], Any]) -> change_streams.Watch:
    """Call `callback(change)` for every change of `query`, in the background, until `.stop()`, the callback
    raises, or the cell runs again. After a lost connection it reconnects and goes on: the changes made meanwhile are
    missed, not replayed, and a printed line says so."""
    cell_runs.end_earlier_run()  # the cell's earlier watch goes, even when this one is refused
    if not callable(callback):
        raise TypeError("watch(query, callback): callback must be callable")
    made = change_streams.Watch(query, callback, connection.current())
    cell_runs.replace_earlier_run(made)
    return made.start()


def feed(query: Any, **options: Any) -> AsyncIterator[dict[str, Any]]:
    """`async for change in feed(query):` the changes of `query` (options go to `changes()`). It reconnects like
    `watch` (changes made while it was away are missed); the loop ends when the feed is stopped (`%rethink stop`, or
    the cell that made it runs again) and raises the error when the query fails for good."""
    made = change_streams.Feed(query, connection.current(), options)
    cell_runs.replace_earlier_run(made)
    return made.iterate()


async def connect(loop_type: str = "asyncio") -> Any:
    """`connection = await connect()`: a connection of your own to the database the widgets use, with the same
    user and password (the embedded server's, when it is the one), for coroutines of your own on the kernel's loop
    (`await query.run(connection)`); `loop_type="tornado"` gives the driver's Tornado kind. Close it when done."""
    database = connection.current()
    if loop_type == "asyncio":
        return await database.connect()
    if loop_type != "tornado":  # the driver's other kinds need loops of their own, not the kernel's
        raise ValueError(f"connect(loop_type=...) is 'asyncio' or 'tornado' (the kernel's loop), not {loop_type!r}")
    driver = RethinkDB()
    driver.set_loop_type(loop_type)
    return await driver.connect(timeout=5, **database.settings.connect_options())


def load(shell: Any) -> None:
    from rethink_widgets.jupyter.live_chart import LiveChart
    from rethink_widgets.jupyter.live_table import LiveTable
    from rethink_widgets.jupyter.todo_list import TodoList

    settings = connection.Settings.from_environment()
    said = embedded_server.ensure_server(settings)
    if said:
        print(said)
    state.started_embedded = said is not None
    database = connection.Connector(settings)
    connection.use(database)
    try:
        user_conn = database.connect_sync()
    except ReqlAuthError as error:
        if settings.password is not None:
            raise
        file = embedded_server.data_directory() / embedded_server.PASSWORD_FILE
        raise RuntimeError(
            f"{settings.address} refused the embedded server's admin password (kept in {file}). If you changed it, "
            "write the new one there or set RETHINKDB_PASSWORD. (Another user's server on that port? Then run your "
            "own on another one and name it in RETHINKDB_PORT.)"
        ) from error
    state.user_conn = user_conn
    user_conn.repl()
    names = {"r": user_r, "conn": user_conn, "LiveTable": LiveTable, "TodoList": TodoList, "watch": watch}
    names |= {"LiveChart": LiveChart, "feed": feed}
    for name, value in names.items():
        if name not in shell.user_ns:
            shell.user_ns[name] = value
            state.added[name] = value
    shell.register_magics(RethinkMagics)
    _resume(database)
    if state.embedded():  # never one the user configured, nor another server found on the port
        state.keeper = asyncio.get_event_loop().create_task(
            embedded_server.keep_running(lambda: connection.current().settings, settings)
        )


def _resume(database: connection.Connector) -> None:
    """Reopen what `unload` stopped: what used the old default database now uses the new one."""
    stopped, state.stopped = state.stopped, []
    for live, used in stopped:
        live.reopen(database if used is state.unloaded_database else used)


def unload(shell: Any) -> None:
    if state.keeper is not None:
        state.keeper.cancel()
        state.keeper = None
    state.unloaded_database = connection.current()
    for live in list(feeds.LIVE.values()):
        if isinstance(live, feeds.LiveFeed | change_streams.Watch):  # a `feed()` loop has ended: nothing to resume
            state.stopped.append((live, live.database))
        live.close()
    for name, value in list(state.added.items()):
        if shell.user_ns.get(name) is value:
            del shell.user_ns[name]
    state.added.clear()
    database = connection.current()
    connection.use(None)
    with contextlib.suppress(RuntimeError):
        task = asyncio.get_event_loop().create_task(database.close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
    if state.user_conn is not None:
        with contextlib.suppress(Exception):
            state.user_conn.close(noreply_wait=False)
        state.user_conn = None

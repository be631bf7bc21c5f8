"""`%rethink`: what the widgets are connected to and every live feed, and commands to change them.

%rethink                     status: server, connection, every live feed (query, state, rows, changes/s)
%rethink connect HOST:PORT   use another database from now on (new widgets and feeds, and `conn`)
%rethink stop N | all        stop live feed N, or all of them
%rethink server              whether the embedded ReQL server runs
%rethink server stop         stop it (whoever started it); it stays stopped until `%rethink server start`
%rethink server start        start it (when no database is configured)
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class

from rethink_widgets.jupyter import connection, feeds, state
from rethink_widgets.jupyter import embedded as embedded_server

STOP_USAGE = "usage: %rethink stop N (a feed %rethink lists) or %rethink stop all"


@magics_class
class RethinkMagics(Magics):
    @line_magic
    def rethink(self, line: str) -> None:
        words = line.split()
        if not words:
            print(status())
        elif words[0] == "connect" and len(words) == 2:
            print(self._connect(words[1]))
        elif words[0] == "stop":
            # Never a bare "stop" for all: stopping every feed is asked for by name.
            print(stop(words[1]) if len(words) == 2 else STOP_USAGE)
        elif words == ["server"]:
            print("rethink_widgets: " + embedded_server.status())
        elif words == ["server", "stop"]:
            print(embedded_server.stop())
        elif words == ["server", "start"]:
            print(start_server())
        else:
            print(__doc__)

    def _connect(self, address: str) -> str:
        settings = connection.Settings.parse(address, connection.current().settings)
        try:
            state.connect(self.shell, settings)
        except Exception as error:
            return f"rethink_widgets: could not connect to {settings.address}, nothing changed: {_message(error)}"
        return f"rethink_widgets: new widgets and feeds, and conn, use {settings.address}"


def status() -> str:
    database = connection.current()
    lines = [f"database: {database.settings.address} (default db {database.default_db}), {_server()}"]
    if not feeds.LIVE:
        lines.append("no live feeds")
    for number, live in sorted(feeds.LIVE.items()):
        result = getattr(live, "result", None)
        held = _count(len(result), "row") if result is not None else _count(live.changes_seen, "change")
        lines.append(f"  [{number}] {live.kind} {live.name}: {live.status}, {held}, {live.rate():.0f} changes/s")
        if live.last_error and not live.status.startswith("ready"):
            lines.append(f"       last error: {live.last_error}")
    return "\n".join(lines)


def stop(which: str) -> str:
    if which == "all":
        count = len(feeds.LIVE)
        for live in list(feeds.LIVE.values()):
            live.close()
        return f"stopped {_count(count, 'feed')}"
    if not which.isdigit() or int(which) not in feeds.LIVE:
        return f"no live feed {which}; %rethink lists them"
    feeds.LIVE[int(which)].close()
    return f"stopped feed {which}"


def start_server() -> str:
    settings = connection.current().settings
    if settings.configured:
        return f"rethink_widgets: the widgets use {settings.address} (configured), not the embedded server"
    try:
        said = embedded_server.ensure_server(settings)
    except RuntimeError as error:
        return f"rethink_widgets: {error}"
    return said or "rethink_widgets: " + embedded_server.status()


def _server() -> str:
    """Which server: the embedded one or another, and its own name as it reports it, when it answers (`conn`
    opens itself again first if the server restarted)."""
    kind = "the embedded ReQL server" if state.embedded() else "an external server"
    conn = state.user_conn
    if conn is None:
        return kind
    try:
        return f"{kind} named {conn.server()['name']}"
    except Exception as error:
        return f"{kind}, not answering: {_message(error)}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _message(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error)

"""`%rethink`: what the widgets are connected to and every live feed, and commands to change them.

%rethink                     status: server, connection, every live feed (query, state, rows, changes/s)
%rethink connect HOST:PORT   use another database from now on (new widgets and feeds)
%rethink stop N | all        stop live feed N, or all of them
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class

from rethink_widgets import database as databases
from rethink_widgets import feeds


@magics_class
class RethinkMagics(Magics):
    @line_magic
    def rethink(self, line: str) -> None:
        words = line.split()
        if not words:
            print(status())
        elif words[0] == "connect" and len(words) == 2:
            settings = databases.Settings.parse(words[1], databases.current().settings)
            databases.use(databases.Database(settings))
            print(f"rethink_widgets: new widgets and feeds use {settings.address}")
        elif words[0] == "stop" and len(words) == 2:
            print(stop(words[1]))
        else:
            print(__doc__)


def status() -> str:
    database = databases.current()
    lines = [f"database: {database.settings.address} (default db {database.default_db}){_server_name()}"]
    if not feeds.LIVE:
        lines.append("no live feeds")
    for number, live in sorted(feeds.LIVE.items()):
        result = getattr(live, "result", None)
        rows = f"{len(result)} rows" if result is not None else f"{live.changes_seen} changes"
        lines.append(f"  [{number}] {live.kind} {live.name}: {live.status}, {rows}, {live.rate():.0f} changes/s")
        if live.last_error and not live.status.startswith("ready"):
            lines.append(f"       last error: {live.last_error}")
    return "\n".join(lines)


def stop(which: str) -> str:
    if which == "all":
        count = len(feeds.LIVE)
        for live in list(feeds.LIVE.values()):
            live.close()
        return f"stopped {count} feed{'' if count == 1 else 's'}"
    if not which.isdigit() or int(which) not in feeds.LIVE:
        return f"no live feed {which}; %rethink lists them"
    feeds.LIVE[int(which)].close()
    return f"stopped feed {which}"


def _server_name() -> str:
    """The server's own name, as RethinkDB reports it (the embedded server's too), when it answers."""
    from rethink_widgets.extension import user_connection

    conn = user_connection()
    try:
        return f", server {conn.server()['name']}" if conn is not None else ""
    except Exception as error:
        return f", server not answering: {getattr(error, 'message', None) or error}"

"""Asking the database, in the cell that makes a widget, whether it will follow the widget's query.

A widget's feed is a task on the kernel's loop, and the cell making the widget holds that loop: it cannot wait for
the feed to open. So the widget asks first, on a synchronous connection of its own: it opens the changefeed its feed
will open, without the initial rows (evaluating `changes()` reads nothing, so this is cheap on any table), and closes
it. Whatever the database refuses (`count()`, `order_by` without an index, a missing permission ...) is then refused
in the cell, in the database's own words, for a real RethinkDB as for the embedded server. A missing table or
database is not refused: the widget waits for it, and says so.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

from rethinkdb import errors

from rethink_widgets.jupyter.connection import Connector

# The longest a database that does not answer holds the cell; the feed then finds out, and its status says why.
TIMEOUT = 10.0
HINT = (
    "A changefeed follows a table, or its get, get_all, between, get_intersecting or order_by(index=...).limit(n),"
    " with row-wise steps such as filter, map or pluck."
)
_MISSING = re.compile(r"(Table|Database) `(.+)` does not exist\.")


def check(kind: str, query: Any, options: dict[str, Any], database: Connector) -> str | None:
    """Raise the database's refusal to open `query.changes(**options)`, said for the `kind` of widget; returns
    RethinkDB's words when the query's table or database does not exist (yet), else None."""
    error = _open_and_close(query, options, database)
    if error is None or isinstance(error, errors.ReqlDriverError):  # no answer now: the feed will say why
        return None
    if isinstance(error, errors.ReqlAvailabilityError):  # missing, or unavailable for now: the feed retries
        return str(error.message) if waiting_for(error.message) else None
    if isinstance(error, errors.ReqlError):
        refusal = type(error)(f"{kind} cannot follow {query}: {error.message} {HINT}")
        raise refusal from None
    raise error


def waiting_for(message: str) -> str | None:
    """`waiting for table db.t to be created` (or database) when RethinkDB's `message` says it does not exist."""
    found = _MISSING.fullmatch(message)
    return f"waiting for {found[1].lower()} {found[2]} to be created" if found else None


def _open_and_close(query: Any, options: dict[str, Any], database: Connector) -> BaseException | None:
    """The error opening the changefeed, or None; on a thread, so a database that does not answer within `TIMEOUT`
    (None then) cannot hold the cell forever: the synchronous driver waits for a reply without a deadline."""
    outcome: list[BaseException | None] = []
    opened: list[Any] = []

    def ask() -> None:
        try:
            opened.append(database.connect_sync())
            query.changes(**options).run(opened[0]).close()
            outcome.append(None)
        except Exception as error:
            outcome.append(error)
        finally:
            _close(opened)

    thread = threading.Thread(target=ask, name="rethink_widgets feed check", daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        _close(opened)  # the thread's read then fails, and it ends
        return None
    return outcome[0]


def _close(opened: list[Any]) -> None:
    for conn in opened:
        with contextlib.suppress(Exception):
            conn.close(noreply_wait=False)

"""Small queries answered on the event loop, without a hop to a worker thread.

A point get or a single-row write costs less than handing it to a worker thread and back (futures, waking another
thread, the interpreter lock passed twice). So a query of one of these shapes, with nothing but literal values in
its arguments, is evaluated where its frame was read:

- `table.get(key)`, and the same followed by steps that look at its document (`["field"]`, `pluck`, `without`,
  `has_fields`, `keys`, `values`, `default`);
- `table.insert(object)`, `table.get(key).update(object)`, `.replace(object)` and `.delete()`, with soft durability
  (a hard write waits for the disk) and on a table without a write hook (a hook is a user function).

A query evaluation/direct.py answers that touches one document (a point get, maybe of a field or some fields; an
insert of one literal object) is evaluated here too, and its insert may be hard: it commits here, and its answer
leaves once the commit is on disk (the loop does not wait for it: see group_commit.py), unless it wants no answer
(`noreply_wait` waits for such a write on a worker thread). A soft write here is answered before its commit (the
loop commits before it reads another frame).

Such a query touches one document by its primary key, so its cost is bounded by that document's size; its frame's
size is bounded too (`MAX_BYTES`). Its term is not compiled again when one of the same shape was before (see
evaluation/shapes.py). It is still watched while it runs: should it have to wait (for the write lock,
held by another write) or still be running at a check point after `BUDGET` (a table's index function doing real
work), it stops with `Hop` before anything is committed or answered, and runs again on a worker thread like any
other query.
"""

from __future__ import annotations

import time
from typing import Any

from rethinkdb.ql2_pb2 import Term

from rethink_widgets.server import interrupts
from rethink_widgets.server.interrupts import Interruptor, Run
from rethink_widgets.server.storage import SYSTEM_DB, Storage

TERM = Term.TermType
MAX_BYTES = 32 * 1024  # the largest query frame evaluated on the loop
BUDGET = 0.002  # s: a query still running at a check point after this long goes to a worker thread
SLICE = 0.002  # s: how long a connection answers frames that arrived together before it lets others have the loop
_WRITES = frozenset({TERM.UPDATE, TERM.REPLACE, TERM.DELETE})
_SCALARS = frozenset({str, int, float, bool, type(None)})
# Steps after a point get that look at its one document only.
_PROJECTIONS = frozenset({
    TERM.BRACKET, TERM.GET_FIELD, TERM.PLUCK, TERM.WITHOUT, TERM.HAS_FIELDS, TERM.KEYS, TERM.VALUES, TERM.DEFAULT,
})  # fmt: skip


class Hop(BaseException):
    """The query would wait, or has run past its budget: it goes to a worker thread instead (nothing was written).

    A BaseException, as QueryInterrupted is, so that evaluation's `except Exception` lets it through."""


class _OnLoop:
    """The scheduler of a query evaluated on the event loop: it never waits, and never runs long."""

    def checkpoint(self, run: Run) -> None:
        if time.monotonic() - run.started > BUDGET:
            raise Hop

    def block(self, run: Run) -> None:
        raise Hop

    def unblock(self, run: Run) -> None:
        pass  # (block never returns)


_ON_LOOP = _OnLoop()
_NEVER_INTERRUPTED = Interruptor()  # nothing can stop a query that runs to its end before the loop goes on
# The run of the query the loop evaluates: one at a time, so one run serves them all, each starting it anew.
_RUN = Run(_NEVER_INTERRUPTED, ("", ""), _ON_LOOP)


def on_loop() -> interrupts.running:
    """Check points inside belong to a query evaluated on the event loop: waiting or running long raises Hop."""
    _RUN.started = time.monotonic()
    _RUN.countdown = interrupts.CHECK_EVERY
    return interrupts.running(_RUN)


def bounded(term: Any, optargs: dict[str, Any], storage: Storage) -> bool:
    """Whether the query is one of the small shapes answered on the loop (see the module's doc)."""
    db = None
    for name, value in optargs.items():
        if name == "db":
            db = value
            if _db_name(db) is None:
                return False
        elif not _literal(value):
            return False
    kind, args, term_optargs = _parts(term)
    if kind == TERM.GET or kind in _PROJECTIONS:
        return _point_read(term, db)
    if kind == TERM.INSERT:
        target, values = args[0] if args else None, args[1:]
    elif kind in _WRITES:
        get, get_args, get_optargs = _parts(args[0] if args else None)
        if get != TERM.GET or len(get_args) != 2 or get_optargs or not _literal(get_args[1]):
            return False
        target, values = get_args[0], args[1:]
        if (kind == TERM.DELETE) == bool(values):  # update and replace take one object, delete nothing
            return False
    else:
        return False
    if values and (len(values) > 1 or type(values[0]) is not dict or not _literal(values[0])):
        return False
    for value in term_optargs.values():
        if not _literal(value):
            return False
    table = _table(target, db)
    if table is None:
        return False
    info = storage.table(*table)
    durability = term_optargs.get("durability", optargs.get("durability"))
    return info is not None and info.write_hook is None and (durability or info.durability) == "soft"


def _point_read(term: Any, db: Any) -> bool:
    """Whether a term is `table.get(key)`, maybe with projections of the document after it (`["field"]`, pluck...)."""
    kind, args, optargs = _parts(term)
    while kind in _PROJECTIONS and not optargs and args and all(map(_literal, args[1:])):
        kind, args, optargs = _parts(args[0])
    return kind == TERM.GET and len(args) == 2 and not optargs and _table(args[0], db) is not None and _literal(args[1])


def _parts(term: Any) -> tuple[int | None, list[Any], dict[str, Any]]:
    """A term's type, arguments and optional arguments (type None: not a term)."""
    if not isinstance(term, list) or not 2 <= len(term) <= 3 or not isinstance(term[1], list):
        return None, [], {}
    optargs = term[2] if len(term) == 3 else {}
    if not isinstance(optargs, dict):
        return None, [], {}
    return term[0], term[1], optargs


def _db_name(term: Any) -> str | None:
    """The name of an `r.db(name)` term of a user's database (the system database's tables are computed)."""
    kind, args, optargs = _parts(term)
    if kind != TERM.DB or len(args) != 1 or optargs or not isinstance(args[0], str) or args[0] == SYSTEM_DB:
        return None
    return args[0]


def _table(term: Any, default_db: Any) -> tuple[str, str] | None:
    """(database, table) of an `r.table(name)` or `r.db(db).table(name)` term with literal options."""
    kind, args, optargs = _parts(term)
    if kind != TERM.TABLE or not args or not isinstance(args[-1], str) or not all(map(_literal, optargs.values())):
        return None
    if len(args) == 2:
        db = _db_name(args[0])
    elif len(args) == 1:
        db = "test" if default_db is None else _db_name(default_db)
    else:
        return None
    return None if db is None else (db, args[-1])


def _literal(value: Any) -> bool:
    """Whether a query argument is a plain value: JSON whose arrays are MAKE_ARRAY terms of plain values."""
    if type(value) in _SCALARS:  # (most are)
        return True
    stack = [value]  # not recursive: the frame may nest as deeply as the parser allows
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            if len(item) != 2 or item[0] != TERM.MAKE_ARRAY or not isinstance(item[1], list):
                return False
            stack.extend(item[1])
    return True

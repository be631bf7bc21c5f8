"""The context a query evaluates in, and the coercions every term uses to read its arguments.

A context holds the storage, the query's global optargs, its variable scope, the query's fixed `r.now()` and the user
running it. Reading an argument "as a NUMBER" or "as a sequence" raises RethinkDB's own type errors, so term
implementations stay short.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.errors import (
    ReqlNonExistenceError,
    ReqlQueryLogicError,
    ReqlResourceLimitError,
)
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.terms import Node, Term
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    DatabaseRef,
    Func,
    SingleSelection,
    Stream,
    category,
)
from rethink_widgets.server.storage import Storage

DEFAULT_ARRAY_LIMIT = 100_000
_QUERIES = itertools.count()
_DATUM_TYPES = frozenset({str, int, float, bool, type(None), list, dict})


def type_error(expected: str, value: Any) -> ReqlQueryLogicError:
    """RethinkDB's "Expected type X but found Y." for a datum of the wrong type."""
    found = datums.type_name(value)
    cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
    return cls(f"Expected type {expected} but found {found}.")


def integral(value: int | float) -> int:
    """A NUMBER read as an integer: whole, and within the range a double holds exactly (RethinkDB's `as_int`)."""
    # RethinkDB prints the number here with printf's %.20g, not as a datum.
    if value < -datums.EXACT_INT or value > datums.EXACT_INT:
        bound = "<-2^53" if value < 0 else ">2^53"
        raise ReqlQueryLogicError(f"Number not an integer ({bound}): {float(value):.20g}")
    if isinstance(value, float) and not value.is_integer():
        raise ReqlQueryLogicError(f"Number not an integer: {value:.20g}")
    return int(value)


def check_finite(seq: Any) -> None:
    """Refuse to gather an infinite stream, with the message RethinkDB gives for changefeeds and for the rest."""
    if not isinstance(seq, Stream) or not seq.infinite:
        return
    if seq.built_on_changefeed():
        raise ReqlQueryLogicError(
            "Cannot call a terminal (`reduce`, `count`, etc.) on an infinite stream (such as a changefeed)."
        )
    raise ReqlQueryLogicError(
        "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) or coerce it to an array."
    )


class Context:
    __slots__ = ("answer", "array_limit", "now", "optargs", "query", "scope", "storage", "user")

    def __init__(
        self,
        storage: Storage,
        optargs: dict[str, Any],
        now: dict[str, Any],
        scope: dict[int, Any] | None = None,
        array_limit: int = DEFAULT_ARRAY_LIMIT,
        *,
        user: str = "admin",
        query: int | None = None,
    ) -> None:
        self.storage = storage
        self.optargs = optargs
        self.now = now
        self.scope = scope if scope is not None else {}
        self.array_limit = array_limit
        self.user = user
        # Which query this context evaluates for: its scripts' functions (r.js) live as long as it runs.
        self.query = query if query is not None else next(_QUERIES)
        # The query's term and what may answer the query with its result's text before it commits, should that term
        # be a soft write of one document (see writes.py); a function's scope never has one.
        self.answer: tuple[Node, Callable[[str], None]] | None = None

    def with_scope(self, scope: dict[int, Any]) -> Context:
        return Context(self.storage, self.optargs, self.now, scope, self.array_limit, user=self.user, query=self.query)

    # ---- evaluating arguments

    def eval(self, node: Node) -> Any:
        return node.eval(self)

    def datum(self, node: Node) -> Any:
        return self.as_datum(node.eval(self))

    def as_datum(self, value: Any) -> Any:
        if type(value) in _DATUM_TYPES:  # (most are)
            return value
        if isinstance(value, SingleSelection):
            return value.doc
        if isinstance(value, ArraySelection):
            return value.rows
        if isinstance(value, (Stream, Func, DatabaseRef)) or category(value) != "DATUM":
            raise ReqlQueryLogicError(f"Expected type DATUM but found {category(value)}:")
        return value

    def number(self, node: Node) -> int | float:
        value = self.datum(node)
        if not datums.is_number(value):
            raise type_error("NUMBER", value)
        return value

    def integer(self, node: Node) -> int:
        return integral(self.number(node))

    def string(self, node: Node) -> str:
        value = self.datum(node)
        if not isinstance(value, str):
            raise type_error("STRING", value)
        return value

    def boolean(self, node: Node) -> bool:
        value = self.datum(node)
        if value is not True and value is not False:
            raise type_error("BOOL", value)
        return value

    def array(self, node: Node) -> list[Any]:
        value = self.datum(node)
        if not isinstance(value, list):
            raise type_error("ARRAY", value)
        return value

    def object(self, node: Node) -> dict[str, Any]:
        value = self.datum(node)
        if not isinstance(value, dict):
            raise type_error("OBJECT", value)
        return value

    def func(self, node: Node) -> Func:
        value = node.eval(self)
        if not isinstance(value, Func):
            raise ReqlQueryLogicError(f"Expected type FUNCTION but found {category(value)}:")
        return value

    def sequence(self, node: Node) -> Stream | list[Any]:
        return self.as_sequence(node.eval(self))

    def as_sequence(self, value: Any) -> Stream | list[Any]:
        """A stream or an array; anything else is RethinkDB's "Cannot convert X to SEQUENCE"."""
        if isinstance(value, Stream):
            return value
        value = self.as_datum(value)
        if isinstance(value, list):
            return value
        cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError  # so `default` can stand in for it
        raise cls(f"Cannot convert {datums.type_name(value)} to SEQUENCE")

    # ---- optargs

    def optarg(self, term: Term, name: str, default: Any = None) -> Any:
        """A term's optarg as a datum, falling back to the global optarg of the same name."""
        node = term.optargs.get(name)
        if node is not None:
            return self.datum(node)
        return self.optargs.get(name, default)

    @property
    def db_name(self) -> str:
        db = self.optargs.get("db")
        return db.name if isinstance(db, DatabaseRef) else "test"

    # ---- arrays

    def to_array(self, rows: Iterable[Any]) -> list[Any]:
        """Gather rows into an array, enforcing `array_limit` as RethinkDB does."""
        check_finite(rows)
        out: list[Any] = []
        limit = self.array_limit
        for row in rows:
            interrupts.check()
            out.append(row)
            if len(out) > limit:
                raise self.array_limit_error()
        return out

    def check_array(self, array: list[Any]) -> list[Any]:
        if len(array) > self.array_limit:
            raise self.array_limit_error()
        return array

    def array_limit_error(self) -> ReqlResourceLimitError:
        return ReqlResourceLimitError(
            f"Array over size limit `{self.array_limit}`.  To raise the number of allowed elements, "
            "modify the `array_limit` option to `.run` (not available in the Data Explorer), or use an index."
        )

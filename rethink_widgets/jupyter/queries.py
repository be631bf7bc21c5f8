"""What a widget needs to know about the ReQL query it shows: its table, and whether rows map back to it.

Read from the driver's query tree, so it works the same for any server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rethinkdb import ast

# Terms that keep whole documents of their table: a row shown can be written back by its primary key.
_SELECTIONS = (ast.Table, ast.Get, ast.GetAll, ast.Between, ast.GetIntersecting, ast.Filter, ast.OrderBy, ast.Limit)
# Row-wise terms a changefeed carries between `order_by(index=...)` and `limit`; after the limit, only filters.
_ROW_STEPS = (ast.Map, ast.Filter, ast.Pluck, ast.Without, ast.Merge, ast.HasFields, ast.WithFields, ast.GetField,
              ast.Bracket)  # fmt: skip
_FILTERS = (ast.Filter, ast.HasFields)


@dataclass(frozen=True)
class QueryInfo:
    table: str | None
    db: str | None
    editable: bool  # rows are whole documents of `table`
    ordered_limit: bool  # `order_by(...).limit(n)` (maybe `.pluck(...)` before the limit): placed by the feed's offsets
    point: bool  # `get(key)`: at most one row
    countable: bool  # a whole table, whose `count()` is cheap

    def name(self, default_db: str) -> str:
        """`db.table` as a person would say it, or `query` when it reads no single table."""
        if self.table is None:
            return "query"
        return f"{self.db or default_db}.{self.table}"


def describe(query: Any) -> QueryInfo:
    if not isinstance(query, ast.RqlQuery):
        raise TypeError(f"expected a ReQL query such as r.table('todo'), got {type(query).__name__}")
    chain = list(_chain(query))
    table = next((term for term in chain if isinstance(term, ast.Table)), None)
    name = db = None
    if table is not None:
        name = _literal(table._args[-1])
        db = _literal(table._args[0]._args[0]) if len(table._args) > 1 and isinstance(table._args[0], ast.DB) else None
    return QueryInfo(
        table=name,
        db=db,
        editable=table is not None and all(isinstance(term, _SELECTIONS) for term in chain),
        ordered_limit=_ordered_limit(chain),
        point=isinstance(query, ast.Get),
        countable=isinstance(query, ast.Table),
    )


def _ordered_limit(chain: list[Any]) -> bool:
    """Whether the query is `order_by(...)`, row-wise steps, `limit(n)`, then filters: a limit feed, with offsets."""
    terms = iter(chain)
    term = next(terms)
    while isinstance(term, _FILTERS):
        term = next(terms, None)
    if not isinstance(term, ast.Limit):
        return False
    term = next(terms, None)
    while isinstance(term, _ROW_STEPS):
        term = next(terms, None)
    return isinstance(term, ast.OrderBy)


def filter_fields(query: Any) -> dict[str, Any]:
    """The fields every row of `query` has by its `filter({...})` steps with literal values, such as
    `{"list": "work"}` for `r.table("todo").filter({"list": "work"})`: a row added to what the query shows needs
    them."""
    fields: dict[str, Any] = {}
    for term in _chain(query):
        if isinstance(term, ast.Filter) and len(term._args) == 2:
            literal = _datum(term._args[1])
            if isinstance(literal, dict):
                fields = {**literal, **fields}  # a later filter (nearer the query's end) is read first
    return fields


_NOT_LITERAL = object()


def _datum(term: Any) -> Any:
    """The value of a term built from literals only (objects, arrays, strings, numbers ...), else `_NOT_LITERAL`."""
    if isinstance(term, ast.Datum):
        return term.data
    if isinstance(term, ast.MakeObj):
        fields = {name: _datum(value) for name, value in term.optargs.items()}
        return _NOT_LITERAL if _NOT_LITERAL in fields.values() else fields
    if isinstance(term, ast.MakeArray):
        items = [_datum(value) for value in term._args]
        return _NOT_LITERAL if _NOT_LITERAL in items else items
    return _NOT_LITERAL


def _chain(query: Any) -> Any:
    """The query and the terms it is built on, down to its table (first arguments only)."""
    term = query
    while isinstance(term, ast.RqlQuery) and not isinstance(term, ast.Datum):
        yield term
        if isinstance(term, ast.Table) or not term._args:
            return
        term = term._args[0]


def _literal(term: Any) -> str | None:
    value = getattr(term, "data", None)
    return value if isinstance(value, str) else None

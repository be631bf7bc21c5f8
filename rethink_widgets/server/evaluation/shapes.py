"""Compiled trees of queries kept by their shape, so that a query of a shape seen before is not compiled again.

A term's shape is the term with its literal values taken out: every string, number, boolean, null and plain object
(what compiling makes a `Datum` of). Two terms of the same shape compile to the same tree but for the values of those
Datums, so the tree compiled for the first query of a shape serves the next ones, each putting its own values in the
Datums first. A term whose tree would hold more than itself has no shape: one with a function (a FUNC node keeps its
raw JSON) or a DATUM term. A term that fails to compile is compiled again next time, and fails the same way.

A tree serves one query at a time: it leaves the cache while a query evaluates it (a query of the same shape on
another thread meanwhile compiles its own), and goes back only if the query's result was whole (an atom or an error):
the rows of a stream may still evaluate its nodes later.
"""

from __future__ import annotations

from typing import Any

from rethinkdb.ql2_pb2 import Term as _Term

from rethink_widgets.server.evaluation.terms import Datum, Node, Term, as_double, compile_query, plain_object

TERM = _Term.TermType
LIMIT = 1000  # shapes kept; a server that has seen more starts over
# Terms that compile to a node holding raw JSON (FUNC), or that only make sense inside a function.
_NO_SHAPE = frozenset({TERM.DATUM, TERM.FUNC, TERM.VAR, TERM.IMPLICIT_VAR})
_HOLE = None  # where a literal value was, in a shape
_OBJECT = ("object",)  # an object that is no plain value (a term inside, or a pseudo-type), in a shape
_NO_ARGS: list[Any] = []
_NO_OPTARGS: dict[str, Any] = {}


class Lease:
    """A compiled tree lent to one query; `give_back` returns it to the cache."""

    __slots__ = ("holes", "key", "node", "shapes")

    def __init__(self, shapes: Shapes, key: tuple[Any, ...], node: Node, holes: list[Datum]) -> None:
        self.shapes = shapes
        self.key = key
        self.node = node
        self.holes = holes

    def give_back(self) -> None:
        for hole in self.holes:
            hole.value = None  # (a big document must not stay in memory with its shape)
        self.shapes.keep(self)


class Shapes:
    """The compiled trees of the shapes seen so far (at most LIMIT)."""

    def __init__(self) -> None:
        self._trees: dict[tuple[Any, ...], Lease] = {}

    def compile(self, raw: Any) -> tuple[Node, Lease | None]:
        """The compiled tree of a term, and its lease if it came from (or may go to) the cache."""
        key: list[Any] = []
        values: list[Any] = []
        try:
            has_shape = _shape(raw, key, values)
        except RecursionError:  # (compiling it says how deep is too deep)
            has_shape = False
        if not has_shape:
            return compile_query(raw), None
        shape = tuple(key)
        lease = self._trees.pop(shape, None)
        if lease is None:
            node = compile_query(raw)
            holes = _datums(node)
            if len(holes) != len(values):  # (never: every literal is a Datum)
                return node, None
            return node, Lease(self, shape, node, holes)
        for hole, value in zip(lease.holes, values, strict=True):
            hole.value = as_double(value)
        return lease.node, lease

    def keep(self, lease: Lease) -> None:
        if len(self._trees) >= LIMIT:
            self._trees.clear()
        self._trees[lease.key] = lease


def _shape(raw: Any, key: list[Any], values: list[Any]) -> bool:
    """Add the shape of `raw` to `key` (each term as its type, its count of arguments, each argument, its count of
    optargs and each optarg's name and value) and its literal values to `values`; False if it has no shape."""
    kind = type(raw)
    if kind is list:
        size = len(raw)
        if size == 0 or size > 3 or type(raw[0]) is not int or raw[0] in _NO_SHAPE:
            return False
        args = raw[1] if size > 1 else _NO_ARGS
        optargs = raw[2] if size > 2 else _NO_OPTARGS
        if type(args) is not list or type(optargs) is not dict:
            return False
        key += (raw[0], len(args))
        for arg in args:
            if not _shape(arg, key, values):
                return False
        key.append(len(optargs))
        return _shape_of_members(optargs, key, values)
    if kind is dict and not plain_object(raw):
        key += (_OBJECT, len(raw))
        return _shape_of_members(raw, key, values)
    key.append(_HOLE)
    values.append(raw)
    return True


def _shape_of_members(members: dict[str, Any], key: list[Any], values: list[Any]) -> bool:
    for name, value in members.items():
        key.append(name)
        if not _shape(value, key, values):
            return False
    return True


def _datums(node: Node) -> list[Datum]:
    """The Datums of a compiled tree, in the order compiling made them (arguments, then optargs)."""
    found: list[Datum] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Datum):
            found.append(item)
        elif isinstance(item, Term):
            stack.extend(reversed([*item.args, *item.optargs.values()]))
    return found

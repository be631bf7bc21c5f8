"""Compiling a query's JSON into a tree of nodes, and the registry of term implementations.

The wire form of a term is `[type, [args...], {optargs}]`; a JSON object is MAKE_OBJ and any other JSON value is a
datum. Compiling checks what RethinkDB checks before running: known term types, arity, optarg names, and where
`r.row` may appear. Each term family module registers its implementations with `@operation`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rethinkdb.ql2_pb2 import Term as _Term

from rethink_widgets.server.errors import ReqlCompileError, ReqlError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.values import Func, Grouped

if TYPE_CHECKING:
    from rethink_widgets.server.evaluation.context import Context

T = TypeVar("T")
TERM = _Term.TermType
TERM_NAMES: dict[int, str] = {
    getattr(TERM, name): name for name in dir(TERM) if not name.startswith("_") and name.isupper()
}
VARIADIC = None


ArgsReader = Callable[["Context", "Node"], list[Any]]


def _array(ctx: Context, node: Node) -> list[Any]:
    return ctx.array(node)


@dataclass(frozen=True)
class Operation:
    name: str
    fn: Callable[[Context, Term], Any]
    min_args: int
    max_args: int | None
    optargs: frozenset[str]
    # How the array of an r.args standing among the term's arguments is read: RethinkDB evaluates r.args with the
    # flags of the term it stands in (merge and update let r.literal stand in its objects).
    args_reader: ArgsReader = _array


OPERATIONS: dict[int, Operation] = {}


def operation(
    name: str, arity: int | tuple[int, int | None] = 0, optargs: tuple[str, ...] = (), args_reader: ArgsReader = _array
) -> Callable[[Callable[[Context, Term], Any]], Callable[[Context, Term], Any]]:
    """Register the implementation of term `name` (a TermType name such as "ADD")."""
    low, high = (arity, arity) if isinstance(arity, int) else arity

    def register(fn: Callable[[Context, Term], Any]) -> Callable[[Context, Term], Any]:
        OPERATIONS[getattr(TERM, name)] = Operation(name, fn, low, high, frozenset(optargs), args_reader)
        return fn

    return register


@functools.cache
def all_optarg_names() -> frozenset[str]:
    """Every optarg name of every term (known once all term families have registered: asked per query)."""
    names: set[str] = set()
    for op in OPERATIONS.values():
        names |= op.optargs
    return frozenset(names)


class Node:
    __slots__ = ("deterministic", "frame")

    def __init__(self, frame: int | str | None, deterministic: bool = True) -> None:
        # Position in the parent (argument index or optarg name), for error backtraces.
        self.frame = frame
        # Whether evaluating the node twice must give the same value (see `is_deterministic`).
        self.deterministic = deterministic

    def eval(self, ctx: Context) -> Any:
        raise NotImplementedError


class Datum(Node):
    """A value: one the query holds, or one computed while it runs (then `deterministic` is that of the term it
    was computed from, as the value r.args splices in takes r.args' own)."""

    __slots__ = ("value",)

    def __init__(self, value: Any, frame: int | str | None = None, deterministic: bool = True) -> None:
        super().__init__(frame, deterministic)
        self.value = value

    def eval(self, ctx: Context) -> Any:
        return self.value


class Var(Node):
    __slots__ = ("var_id",)

    def __init__(self, var_id: int, frame: int | str | None) -> None:
        super().__init__(frame)
        self.var_id = var_id

    def eval(self, ctx: Context) -> Any:
        try:
            return ctx.scope[self.var_id]
        except KeyError:
            raise ReqlCompileError("Variable name not found.") from None


class FuncNode(Node):
    __slots__ = ("body", "params", "raw")

    def __init__(self, params: list[int], body: Node, frame: int | str | None, raw: Any) -> None:
        super().__init__(frame, body.deterministic)
        self.params = params
        self.body = body
        self.raw = raw  # the FUNC term as sent, kept for secondary index definitions

    def eval(self, ctx: Context) -> Func:
        return Func(self.params, self.body, ctx.scope)


# Terms that take grouped data as a whole; every other term runs once per group of grouped data in its first
# argument (FUNCALL: in its second, the value `r.do` passes to its function).
WHOLE_GROUPS = frozenset({"UNGROUP", "TYPE_OF", "INFO", "DEFAULT", "ERROR", "LITERAL"})


class Term(Node):
    __slots__ = ("args", "feeds", "groups", "op", "optargs", "per_group", "splices")

    def __init__(self, op: Operation, args: list[Node], optargs: dict[str, Node], frame: int | str | None) -> None:
        super().__init__(frame, _deterministic(op, args, optargs))
        self.op = op
        self.args = args
        self.optargs = optargs
        # True when an argument is r.args(...), whose elements become arguments only at run time.
        self.splices = any(isinstance(a, Term) and a.op.name == "ARGS" for a in args)
        # Grouped data only comes from a GROUP term below, so other terms skip the check for it.
        self.groups = op.name == "GROUP" or any(_groups(a) for a in args)
        at = 1 if op.name == "FUNCALL" else 0
        self.per_group = op.name not in WHOLE_GROUPS and len(args) > at and _groups(args[at])
        # A changefeed, or a step applied to one.
        self.feeds: bool = op.name == "CHANGES" or (bool(args) and isinstance(args[0], Term) and args[0].feeds)

    @property
    def name(self) -> str:
        return self.op.name

    def eval(self, ctx: Context) -> Any:
        # `run` with the operation, written out: every term of every query comes through here.
        try:
            return (_per_group if self.per_group else self.op.fn)(ctx, self._spliced(ctx) if self.splices else self)
        except ReqlError as error:
            if self.frame is not None:
                error.backtrace.insert(0, self.frame)
            raise

    def run(self, ctx: Context, fn: Callable[[Context, Term], T]) -> T:
        """Evaluate with `fn` standing in for the operation (e.g. one that accepts r.literal), keeping backtraces."""
        try:
            term = self._spliced(ctx) if self.splices else self
            return fn(ctx, term)
        except ReqlError as error:
            if self.frame is not None:
                error.backtrace.insert(0, self.frame)
            raise

    def run_on(self, ctx: Context, at: int, value: Any) -> Any:
        """The operation, with argument `at` already evaluated to `value`."""
        args = [*self.args[:at], Datum(value, at, self.args[at].deterministic), *self.args[at + 1 :]]
        return self.op.fn(ctx, Term(self.op, args, self.optargs, None))

    def _spliced(self, ctx: Context) -> Term:
        if self.op.name == "ORDER_BY" and any(_is_args(node) for node in self.args[1:]):
            raise ReqlQueryLogicError("r.args is not supported in an order_by or union command yet.")
        args: list[Node] = []
        for node in self.args:
            if isinstance(node, Term) and node.op.name == "ARGS":
                # Each value keeps the determinism of r.args' argument, so that a write refuses what it would
                # refuse written out (`t.replace(r.args([t.get(0)]))` reads t). An error in one points at this
                # term, as in RethinkDB.
                values = self.op.args_reader(ctx, node.args[0])
                args.extend(Datum(value, None, node.deterministic) for value in values)
            else:
                args.append(node)
        _check_arity(self.op, len(args), ReqlQueryLogicError)
        return Term(self.op, args, self.optargs, None)


def _per_group(ctx: Context, term: Term) -> Any:
    """Run `term` once per group when its first argument (FUNCALL: its second) is grouped, else as usual."""
    at = 1 if term.name == "FUNCALL" else 0
    value = ctx.eval(term.args[at])
    if isinstance(value, Grouped):
        return value.run_per_group(ctx, term, at)
    return term.run_on(ctx, at, value)


# Writes and meta operations, and the terms that refuse them in any argument but their first (a write inside
# `map` would run once per element, unlike the one write the query shows: RethinkDB points to FOR_EACH instead).
WRITES_AND_META = frozenset({
    "UPDATE", "DELETE", "INSERT", "REPLACE", "DB_CREATE", "DB_DROP", "TABLE_CREATE", "TABLE_DROP", "WAIT",
    "RECONFIGURE", "REBALANCE", "SYNC", "INDEX_CREATE", "INDEX_DROP", "INDEX_WAIT", "INDEX_RENAME",
})  # fmt: skip
FORBIDS_WRITES = frozenset({
    "REDUCE", "MAP", "FILTER", "CONCAT_MAP", "GROUP", "INNER_JOIN", "OUTER_JOIN", "EQ_JOIN", "UPDATE", "DELETE",
    "REPLACE", "INSERT", "COUNT", "SUM", "AVG", "MIN", "MAX",
})  # fmt: skip
NESTED_WRITE = "Cannot nest writes or meta ops in stream operations.  Use FOR_EACH instead."


def _is_args(node: Node) -> bool:
    return isinstance(node, Term) and node.op.name == "ARGS"


def _groups(node: Node) -> bool:
    if isinstance(node, FuncNode):
        return _groups(node.body)
    return isinstance(node, Term) and node.groups


class _Scope:
    """What compiling knows about the enclosing terms: the functions taking one argument (for r.row), and whether
    a write may stand here."""

    __slots__ = ("implicit", "writes_legal")

    def __init__(self, implicit: tuple[int, ...] = (), writes_legal: bool = True) -> None:
        self.implicit = implicit
        self.writes_legal = writes_legal

    def inside(self, name: str | None, first: bool) -> _Scope:
        """The scope of an argument of the term `name` (`first`: its first positional argument)."""
        if first or not self.writes_legal or name not in FORBIDS_WRITES:
            return self
        return _Scope(self.implicit, writes_legal=False)


def compile_query(raw: Any) -> Node:
    return _compile(raw, None, _Scope())


def compile_function(raw: Any) -> Node:
    """Compile a stored function term (a secondary index's definition)."""
    return _compile(raw, None, _Scope())


def _compile(raw: Any, frame: int | str | None, scope: _Scope) -> Node:
    try:
        if isinstance(raw, list):
            return _compile_term(raw, frame, scope)
        if isinstance(raw, dict):
            if plain_object(raw):  # most documents a write sends: no term inside, nothing to evaluate
                return Datum(as_double(raw), frame)
            optargs = {key: _compile(value, key, scope) for key, value in raw.items()}
            return Term(OPERATIONS[TERM.MAKE_OBJ], [], optargs, frame)
        return Datum(as_double(raw), frame)
    except ReqlError as error:
        if frame is not None:
            error.backtrace.insert(0, frame)
        raise


def _compile_term(raw: list[Any], frame: int | str | None, scope: _Scope) -> Node:
    if not raw or not isinstance(raw[0], int) or isinstance(raw[0], bool) or len(raw) > 3:
        raise ReqlQueryLogicError("Expected a term: `[type, [args...], {optargs...}]`.")
    term_type = raw[0]
    raw_args = raw[1] if len(raw) > 1 else []
    raw_optargs = raw[2] if len(raw) > 2 else {}
    if not isinstance(raw_args, list) or not isinstance(raw_optargs, dict):
        raise ReqlQueryLogicError("Expected a term: `[type, [args...], {optargs...}]`.")
    if term_type == TERM.DATUM:
        if len(raw_args) != 1:
            raise ReqlCompileError(f"Expected 1 argument but found {len(raw_args)}.")
        return Datum(as_double(raw_args[0]), frame)
    if term_type == TERM.FUNC:
        return _compile_func(raw_args, frame, scope)
    if term_type == TERM.VAR:
        if len(raw_args) != 1 or not isinstance(raw_args[0], int):
            raise ReqlCompileError("Expected a variable id.")
        return Var(raw_args[0], frame)
    if term_type == TERM.IMPLICIT_VAR:
        return _implicit_var(scope, frame)
    op = OPERATIONS.get(term_type)
    name = TERM_NAMES.get(term_type)
    if name is None:
        raise ReqlCompileError(f"Unrecognized TermType: {term_type}.")
    if name in WRITES_AND_META and not scope.writes_legal:
        raise ReqlCompileError(NESTED_WRITE)
    if op is None:
        raise ReqlCompileError(f"The term `{name}` is not supported by this server.")
    args = [_compile(a, i, scope.inside(name, i == 0)) for i, a in enumerate(raw_args)]
    # As RethinkDB: the count is checked once the arguments are compiled, unless an r.args among them makes it
    # known only at run time (then `_spliced` checks it); then each optarg's name, before the optarg is compiled.
    if not any(_is_args(a) for a in args):
        _check_arity(op, len(args), ReqlCompileError)
    optargs: dict[str, Node] = {}
    for key, value in raw_optargs.items():
        if key not in op.optargs:
            raise ReqlCompileError(f"Unrecognized optional argument `{key}`.", [key])
        optargs[key] = _compile(value, key, scope.inside(name, False))
    term = Term(op, args, optargs, frame)
    # r.now() is the query's start time: a step on a feed runs for changes long after it.
    if term.feeds and name != "CHANGES" and any(_mentions_now(n) for n in [*args[1:], *optargs.values()]):
        raise ReqlQueryLogicError("Expected to call now() before changes(), not after")
    return term


def _mentions_now(node: Node) -> bool:
    if isinstance(node, FuncNode):
        return _mentions_now(node.body)
    if not isinstance(node, Term):
        return False
    return node.op.name == "NOW" or any(_mentions_now(n) for n in [*node.args, *node.optargs.values()])


def plain_object(obj: dict[str, Any]) -> bool:
    """Whether a JSON object on the wire is already its own value: only scalars and such objects inside (arrays
    come as MAKE_ARRAY terms), and no pseudo-type, which MAKE_OBJ would check."""
    if datums.PTYPE in obj:
        return False
    for value in obj.values():
        if isinstance(value, dict):
            if not plain_object(value):
                return False
        elif isinstance(value, list):
            return False
    return True


def as_double(value: Any) -> Any:
    """RethinkDB reads every JSON number as a double: integers beyond 2^53 lose their low bits. A value holding none
    comes back as it is, not copied (a batch of documents most often holds none)."""
    if type(value) is int:
        return datums.number(value)
    if isinstance(value, dict):
        return read_values(value, as_double)
    if isinstance(value, list):
        items = [as_double(item) for item in value]
        return value if all(map(operator.is_, items, value)) else items
    return value


def read_values(obj: dict[str, Any], read: Callable[[Any], Any]) -> dict[str, Any]:
    """`obj` with `read` applied to each value but strings, doubles, booleans, nulls and integers a double holds
    exactly (which it must leave as they are); `obj` itself, not a copy, when `read` changed none."""
    changed: dict[str, Any] | None = None
    for key, item in obj.items():
        kind = type(item)
        if kind is str or kind is float or kind is bool or item is None:
            continue
        if kind is int and -datums.EXACT_INT <= item <= datums.EXACT_INT:
            continue
        value = read(item)
        if value is not item:
            if changed is None:
                changed = dict(obj)
            changed[key] = value
    return obj if changed is None else changed


def _compile_func(raw_args: list[Any], frame: int | str | None, scope: _Scope) -> FuncNode:
    if len(raw_args) != 2:
        raise ReqlCompileError(f"Expected 2 arguments but found {len(raw_args)}.")
    params = raw_args[0]
    if isinstance(params, list) and len(params) == 2 and params[0] == TERM.MAKE_ARRAY:
        params = params[1]
    if not isinstance(params, list) or not all(isinstance(p, int) for p in params):
        raise ReqlCompileError("Expected a list of variable ids as the first argument to FUNC.")
    # Every enclosing one-argument function deepens r.row's nesting; others leave it alone.
    inner = _Scope((*scope.implicit, params[0]), scope.writes_legal) if len(params) == 1 else scope
    return FuncNode(list(params), _compile(raw_args[1], 1, inner), frame, [TERM.FUNC, raw_args])


def _implicit_var(scope: _Scope, frame: int | str | None) -> Var:
    if not scope.implicit:
        raise ReqlCompileError("r.row is not defined in this context.")
    if len(scope.implicit) > 1:
        raise ReqlCompileError("Cannot use r.row in nested queries.  Use functions instead.")
    return Var(scope.implicit[0], frame)


# Terms whose value can differ between two evaluations of the same query.
NON_DETERMINISTIC = frozenset({"TABLE", "DB", "JAVASCRIPT", "HTTP", "RANDOM", "SAMPLE"})


# Terms whose floating point results may differ between machines: RethinkDB runs them anywhere except in an index
# function, which must give every server the same keys.
SINGLE_SERVER = frozenset(
    {"LINE", "POLYGON", "CIRCLE", "GEOJSON", "FILL", "POLYGON_SUB", "DISTANCE", "INTERSECTS", "INCLUDES"}
)


def is_deterministic(node: Node) -> bool:
    """Whether evaluating `node` twice must give the same value (no reads of tables, no randomness)."""
    return node.deterministic


def same_on_every_server(node: Node) -> bool:
    """Whether `node` gives the same value on any machine: deterministic, and free of SINGLE_SERVER terms."""
    if isinstance(node, FuncNode):
        return same_on_every_server(node.body)
    if isinstance(node, Term):
        if not node.deterministic or node.op.name in SINGLE_SERVER:
            return False
        return all(same_on_every_server(a) for a in node.args) and all(
            same_on_every_server(o) for o in node.optargs.values()
        )
    return node.deterministic


def _deterministic(op: Operation, args: list[Node], optargs: dict[str, Node]) -> bool:
    if op.name in NON_DETERMINISTIC or (op.name == "UUID" and not args):
        return False
    return all(a.deterministic for a in args) and all(o.deterministic for o in optargs.values())


def _check_arity(op: Operation, count: int, error: type[ReqlError]) -> None:
    """RethinkDB's argument count check: a compile error, or a run-time logic error once r.args has spliced."""
    low, high = op.min_args, op.max_args
    if low <= count and (high is None or count <= high):
        return
    if high is None:
        expected = f"{low} or more arguments"
    elif low == high:
        expected = f"{low} argument{'s' if low != 1 else ''}"
    else:
        expected = f"between {low} and {high} arguments"
    raise error(f"Expected {expected} but found {count}.")

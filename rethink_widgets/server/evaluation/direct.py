"""The commonest queries, answered without compiling their terms.

Most queries an application sends are of two shapes: read one document by its key, maybe only a field or a few
fields of it (`table.get(key)`, `table.get(key)["field"]`, `table.get(key).pluck("a", "b")`), and insert documents
(`table.insert({...})`, `table.insert([{...}, ...])`). `plan` recognises them in the query's JSON as it arrived:
literal values only, and only options whose meaning is known here. `Plan.run` answers them with the storage calls
the terms make, without compiling a tree of terms, making a context for it and evaluating it node by node: a get
reads the document's stored text and answers with it (see row_texts.py); an insert of documents whose keys are free
stores them in one statement, in a transaction of their own (feeds told on commit, durability as asked), and answers
with the result the general path gives. (An insert of more documents than the general path writes in one
transaction, CHUNK, is left to it.) A soft insert is answered before its commit, and before it is stored if every
key was generated for it (see Storage.insert_new): the client's next query overlaps with the server's writing, as
with RethinkDB's soft durability.

Whatever could end in an error, and every write that is not that simple (a key taken, where the conflict option
decides), is left to the general path, so that errors, backtraces and results are its own: `plan` gives None for a
shape or an option it does not know, and `run` gives None (before anything is written) where the general path must
answer: a field asked of a missing document, a user without the permission, a read that failed, a key taken."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from rethinkdb.ql2_pb2 import Term

from rethink_widgets.server import replies
from rethink_widgets.server.errors import ReqlError
from rethink_widgets.server.evaluation import datums, writes
from rethink_widgets.server.evaluation.context import DEFAULT_ARRAY_LIMIT
from rethink_widgets.server.evaluation.objects import pluck
from rethink_widgets.server.evaluation.row_texts import reply_text
from rethink_widgets.server.evaluation.system import permissions
from rethink_widgets.server.evaluation.tables import MAX_KEY_LENGTH
from rethink_widgets.server.evaluation.terms import as_double, read_values
from rethink_widgets.server.evaluation.write_results import DISK_ARRAY_LIMIT, WriteResult
from rethink_widgets.server.storage import SYSTEM_DB, CatalogConflict, Storage, TableInfo

TERM = Term.TermType
_FIELD_TERMS = frozenset({TERM.BRACKET, TERM.GET_FIELD})
_INSERT_OPTARGS = frozenset({"durability", "return_changes", "conflict"})
_DURABILITIES = ("hard", "soft")
_CONFLICTS = ("error", "replace", "update")


class PointGet:
    """`table.get(key)`, maybe followed by `["field"]` (`field`) or `.pluck(...)` of fields (`fields`)."""

    __slots__ = ("field", "fields", "key", "table")
    durability = None  # (a read)
    on_loop = True  # (one document: see inline.py)

    def __init__(self, table: TableInfo, key: Any, field: str | None, fields: list[str] | None) -> None:
        self.table = table
        self.key = key
        self.field = field
        self.fields = fields

    def run(self, storage: Storage, user: str, acknowledge: Acknowledge | None = None) -> str | None:
        """The result as reply text, or None: the general path answers. (`acknowledge`: see Insert.run.)"""
        if not _allowed(storage, user, "read", self.table):
            return None
        try:
            if self.field is None and self.fields is None:
                text = storage.get_text(self.table, self.key)
                return "null" if text is None else replies.checked(reply_text(text))
            doc = storage.get(self.table, self.key)
        except ReqlError:  # (a read changes nothing: the general path reads again, and says what went wrong)
            return None
        if doc is None or datums.PTYPE in doc:
            return None  # (an error: no field of null)
        if self.fields is not None:
            return replies.encode(datums.to_wire(pluck(doc, dict.fromkeys(self.fields, True))))
        if self.field not in doc:
            return None  # (an error: no such attribute)
        return replies.encode(datums.to_wire(doc[self.field]))


class Insert:
    """`table.insert(...)` of one literal object or an array of them (with any conflict option: it matters only for
    a key taken)."""

    __slots__ = ("_durability", "docs", "return_changes", "table")

    def __init__(
        self, table: TableInfo, docs: list[dict[str, Any]], durability: str | None, return_changes: bool | str
    ) -> None:
        self.table = table
        self.docs = docs
        self._durability = durability  # (None: the table's, when it runs)
        self.return_changes = return_changes

    @property
    def durability(self) -> str:
        return self._durability or self.table.durability

    @property
    def on_loop(self) -> bool:
        """Whether it is answered on the event loop when its frame is small (one document; see inline.py)."""
        return len(self.docs) == 1

    def run(self, storage: Storage, user: str, acknowledge: Acknowledge | None = None) -> str | None:
        """The write's result as reply text, or None (nothing written): the general path answers. A soft write
        given `acknowledge` calls it with that text before its commit (see Storage.insert_new)."""
        # (The table as it is now: a write hook may have come since the plan was made, on the loop.)
        if self.table.write_hook is not None or not _allowed(storage, user, "write", self.table):
            return None
        pk = self.table.primary_key
        keyless = sum(pk not in doc for doc in self.docs)
        generated = [writes.generated_key()] if keyless == 1 else writes.generated_keys(keyless)
        free = iter(generated)
        docs = []
        for doc in self.docs:
            if pk not in doc:
                docs.append({**doc, pk: next(free)})
            elif _plain_key(doc[pk]):
                docs.append(doc)
            else:
                return None  # (an error of the document's, in the result)
        text = self._result_text(docs, generated)
        try:
            acknowledged = None if acknowledge is None else functools.partial(acknowledge, text)
            if not storage.insert_new(self.table, docs, self.durability, acknowledged, keyless == len(docs)):
                return None  # (a key is taken: the conflict option decides)
        except CatalogConflict:  # (the table was dropped: nothing was written)
            return None
        return text

    def _result_text(self, docs: list[dict[str, Any]], generated: list[str]) -> str:
        """The reply text of the write's result, should every document be inserted."""
        if not self.return_changes:  # (most inserts: the text WriteResult would make, written out)
            keys = '"generated_keys":["' + '","'.join(generated) + '"],' if generated else ""
            return f'{{"deleted":0,"errors":0,{keys}"inserted":{len(docs)},"replaced":0,"skipped":0,"unchanged":0}}'
        result = WriteResult(self.return_changes, DEFAULT_ARRAY_LIMIT)
        result.generated_keys = generated
        for doc in docs:
            result.record("inserted", None, doc)
        return replies.encode(datums.to_wire(result.value()))


Plan = PointGet | Insert
Acknowledge = Callable[[str], None]  # answers a write, given its result's text, before its commit


def plan(term: Any, optargs: dict[str, Any], storage: Storage) -> Plan | None:
    """How to answer a query directly, if it is of a shape answered here (see the module's doc)."""
    try:
        return _plan(term, optargs, storage)
    except RecursionError:  # (a document nested too deeply: the general path says so)
        return None


def _plan(term: Any, optargs: dict[str, Any], storage: Storage) -> Plan | None:
    db = _default_db(optargs, storage)
    if db is None or type(term) is not list or not 2 <= len(term) <= 3 or type(term[1]) is not list:
        return None
    kind, args = term[0], term[1]
    if kind == TERM.INSERT:
        return _insert(term, db, optargs, storage)
    if len(term) != 2:
        return None
    if kind == TERM.GET:
        return _point_get(term, db, storage, None, None)
    if kind in _FIELD_TERMS:
        if len(args) == 2 and type(args[1]) is str:
            return _point_get(args[0], db, storage, args[1], None)
        return None
    if kind == TERM.PLUCK:
        if len(args) >= 2 and all(type(arg) is str for arg in args[1:]):
            return _point_get(args[0], db, storage, None, args[1:])
        return None
    return None


def _default_db(optargs: dict[str, Any], storage: Storage) -> str | None:
    """The database a table term without one reads; None for global options not known here (or wrong)."""
    db: str | None = "test"
    for name, value in optargs.items():
        if name == "db":
            db = _db_name(value, storage)
            if db is None:
                return None
        elif name == "durability":
            if value not in _DURABILITIES:
                return None
        elif name != "noreply" or type(value) is not bool:
            return None
    return db


def _db_name(term: Any, storage: Storage) -> str | None:
    """The name of an existing user database given as `r.db(name)`."""
    if type(term) is not list or len(term) != 2 or term[0] != TERM.DB or type(term[1]) is not list:
        return None
    args = term[1]
    if len(args) != 1 or type(args[0]) is not str or args[0] == SYSTEM_DB or storage.db_id(args[0]) is None:
        return None
    return args[0]


def _table(term: Any, db: str, storage: Storage) -> TableInfo | None:
    """The existing user table of an `r.table(name)` or `r.db(db).table(name)` term without options."""
    if type(term) is not list or len(term) != 2 or term[0] != TERM.TABLE or type(term[1]) is not list:
        return None
    args = term[1]
    if len(args) == 2:
        named = _db_name(args[0], storage)
        if named is None:
            return None
        db = named
    elif len(args) != 1:
        return None
    name = args[-1]
    return storage.table(db, name) if type(name) is str else None


def _point_get(term: Any, db: str, storage: Storage, field: str | None, fields: list[str] | None) -> PointGet | None:
    if type(term) is not list or len(term) != 2 or term[0] != TERM.GET or type(term[1]) is not list:
        return None
    args = term[1]
    if len(args) != 2 or not _plain_key(args[1]):
        return None
    table = _table(args[0], db, storage)
    return None if table is None else PointGet(table, as_double(args[1]), field, fields)


def _plain_key(key: Any) -> bool:
    """Whether a key is a number or a string that the general path would take as it is (no error to report)."""
    kind = type(key)
    if kind is int or kind is float:
        return True
    return kind is str and "\x00" not in key and len(key.encode("utf-8")) <= MAX_KEY_LENGTH


def _insert(term: list[Any], db: str, optargs: dict[str, Any], storage: Storage) -> Insert | None:
    if len(term) == 3:
        term_optargs = term[2]
        if type(term_optargs) is not dict or not term_optargs.keys() <= _INSERT_OPTARGS:
            return None
    else:
        term_optargs = {}
    args = term[1]
    docs = _literal_objects(args[1]) if len(args) == 2 else None
    if docs is None:
        return None
    table = _table(args[0], db, storage)
    if table is None or table.write_hook is not None:
        return None
    durability = term_optargs.get("durability", optargs.get("durability"))
    return_changes = term_optargs.get("return_changes", False)
    conflict = term_optargs.get("conflict", "error")
    if durability not in (None, *_DURABILITIES) or conflict not in _CONFLICTS:
        return None
    if type(return_changes) is not bool and return_changes != "always":
        return None
    return Insert(table, docs, durability, return_changes)


def _literal_objects(raw: Any) -> list[dict[str, Any]] | None:
    """The documents of an insert: one literal object, or an array of 1 to CHUNK of them (a longer one is written
    in chunks, by the general path); None for anything else."""
    if type(raw) is dict:
        items = [raw]
    elif _is_array(raw) and 1 <= len(raw[1]) <= writes.CHUNK:
        items = raw[1]
    else:
        return None
    if not all(type(item) is dict for item in items):
        return None
    try:
        return [_literal(item) for item in items]
    except _NotLiteral:
        return None


# Deeper documents are left to the general path, which knows how deep a query may nest (and says so).
_MAX_DEPTH = 64


class _NotLiteral(Exception):
    """A value in a query that is not a literal (a term to evaluate, or a value the general path has an error for)."""


def _literal(value: Any, depth: int = 0) -> Any:
    """The value of JSON in a query, if it is a literal one: objects without a pseudo-type (MAKE_OBJ would check it)
    and arrays as MAKE_ARRAY terms of no more items than a document may store, of literals, nested no deeper than
    _MAX_DEPTH; numbers as RethinkDB reads them (see `as_double`)."""
    if depth > _MAX_DEPTH:
        raise _NotLiteral
    kind = type(value)
    if kind is dict:
        if datums.PTYPE in value:
            raise _NotLiteral
        return read_values(value, _NESTED[depth])
    if kind is list:
        if not _is_array(value) or len(value[1]) > DISK_ARRAY_LIMIT:
            raise _NotLiteral
        return list(map(_NESTED[depth], value[1]))
    return as_double(value) if kind is int else value


# `_literal` one level down, for each depth (made once: a document's values are read with it).
_NESTED = tuple(functools.partial(_literal, depth=depth + 1) for depth in range(_MAX_DEPTH + 1))


def _is_array(raw: Any) -> bool:
    """Whether `raw` is a MAKE_ARRAY term (without optargs)."""
    if type(raw) is not list or len(raw) != 2:
        return False
    return type(raw[0]) is int and raw[0] == TERM.MAKE_ARRAY and type(raw[1]) is list


def _allowed(storage: Storage, user: str, permission: str, table: TableInfo) -> bool:
    if user == permissions.ADMIN:
        return True
    try:
        permissions.require(storage, user, permission, *permissions.permission_ids(storage, table))
    except ReqlError:
        return False
    return True

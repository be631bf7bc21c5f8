"""Writing documents: insert, update, replace, delete and sync, with RethinkDB's result shapes.

Each document is read, changed and written inside one storage transaction, so concurrent writers never lose an
update. Large writes commit in chunks so that one huge update never holds the writer for long; the selection they
apply to is read as it was before the first chunk, so that the write never meets its own changes in it. A new value
that is not a function is evaluated once (replace, and for_each's write, as RethinkDB does), and unless `non_atomic`
it must be deterministic, r.args or no r.args.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rethink_widgets.server import replies
from rethink_widgets.server.errors import ReqlError, ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, type_error
from rethink_widgets.server.evaluation.literals import (
    array_allowing_literals,
    call_allowing_literals,
    eval_allowing_literals,
    whole_patch,
)
from rethink_widgets.server.evaluation.system import hook_runner
from rethink_widgets.server.evaluation.system.catalog import op_failed
from rethink_widgets.server.evaluation.system.system_table import SystemTable
from rethink_widgets.server.evaluation.tables import as_table, primary_key_value
from rethink_widgets.server.evaluation.terms import Term, is_deterministic, operation
from rethink_widgets.server.evaluation.values import (
    ArraySelection,
    Func,
    Selection,
    SingleSelection,
    Stream,
    Table,
    TableWrites,
    category,
)
from rethink_widgets.server.evaluation.write_results import TOO_LARGE_FOR_DISK, WriteResult, fits_on_disk
from rethink_widgets.server.storage import CatalogConflict, Snapshot

CHUNK = 1000
CHUNK_SECONDS = 0.05
READ_AHEAD = 100  # documents an insert reads the stored rows of at once
WRITE_OPTARGS = ("durability", "return_changes", "return_vals", "ignore_write_hook")
UNSTORABLE = "`r.minval` and `r.maxval` cannot be written to disk."
FOR_EACH_WRITES = "FOR_EACH expects one or more basic write queries."
_DONE = object()


def _options(ctx: Context, term: Term, table: Table) -> tuple[str, bool | str]:
    if "return_vals" in term.optargs:
        raise ReqlQueryLogicError("Error: encountered obsolete optarg `return_vals`.  Use `return_changes` instead.")
    durability = ctx.optarg(term, "durability", table.info.durability)
    if not isinstance(durability, str):
        raise type_error("STRING", durability)
    if durability not in ("hard", "soft"):
        raise ReqlQueryLogicError(f'Durability option `{durability}` unrecognized (options are "hard" and "soft").')
    return_changes = ctx.optarg(term, "return_changes", False)
    if isinstance(return_changes, str) and return_changes != "always":
        raise ReqlQueryLogicError(
            f"Invalid return_changes value `{return_changes}` (options are `true`, `false`, and `'always'`.)"
        )
    if not isinstance(return_changes, (bool, str)):
        raise type_error("BOOL", return_changes)
    return durability, return_changes


class _Writing:
    """One transaction on `table`; if another query dropped the table meanwhile, the write fails with RethinkDB's
    error (the chunks written before stay written). A class, not a generator: every write enters one."""

    __slots__ = ("_writes",)

    def __init__(self, table: Table, durability: str) -> None:
        self._writes = table.writes(durability)

    def __enter__(self) -> TableWrites:
        try:
            writes: TableWrites = self._writes.__enter__()
        except CatalogConflict as conflict:
            raise op_failed(conflict) from None
        return writes

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool | None:
        try:
            suppressed = self._writes.__exit__(kind, error, traceback)
        except CatalogConflict as conflict:
            raise op_failed(conflict) from None
        if not suppressed and isinstance(error, CatalogConflict):
            raise op_failed(error) from None
        return suppressed


def _chunks(items: Iterable[Any]) -> Iterator[Iterator[Any]]:
    """The items in runs of at most CHUNK, each taking at most CHUNK_SECONDS to write (one transaction each: other
    writers wait for a transaction, never for a whole long write). An insert takes READ_AHEAD documents at a time,
    so its chunks may run over by the time those take."""
    iterator = iter(items)
    while (first := next(iterator, _DONE)) is not _DONE:
        yield _chunk(first, iterator)


def _chunk(first: Any, iterator: Iterator[Any]) -> Iterator[Any]:
    yield first
    ends = time.monotonic() + CHUNK_SECONDS
    for _ in range(CHUNK - 1):
        if time.monotonic() >= ends or (item := next(iterator, _DONE)) is _DONE:
            return
        yield item


# ---------------------------------------------------------------- insert


@operation("INSERT", 2, optargs=(*WRITE_OPTARGS, "conflict"))
def insert(ctx: Context, term: Term) -> dict[str, Any]:
    table = as_table(ctx, term.args[0])
    durability, return_changes = _options(ctx, term, table)
    conflict = _conflict(ctx, term)
    hook = hook_runner.runner(ctx, term, table)
    result = WriteResult(return_changes, ctx.array_limit)
    value = ctx.eval(term.args[1])
    single = None if isinstance(value, Stream) else ctx.as_datum(value)
    if isinstance(single, dict):  # (most are: one transaction, nothing to read ahead)
        with _Writing(table, durability) as writes:
            doc, generated = _with_key(table, single)
            _insert_one(ctx, table, writes, doc, generated, conflict, hook, result)
        return result.value()
    docs = ctx.as_sequence(value)
    for chunk in _chunks(docs):
        with _Writing(table, durability) as writes:
            for run in _runs(chunk, READ_AHEAD):
                keyed = [_with_key(table, doc) for doc in run]
                if isinstance(writes, TableWrites):  # (a key just generated is free: nothing to read)
                    writes.read_ahead(
                        [doc[table.primary_key] for doc, made in keyed if not made and _plain_key(table, doc)]
                    )
                for doc, generated in keyed:
                    _insert_one(ctx, table, writes, doc, generated, conflict, hook, result)
    return result.value()


def _runs(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while run := list(itertools.islice(items, size)):
        yield run


def _with_key(table: Table, doc: Any) -> tuple[Any, str | None]:
    """The document with the primary key it will be stored under, and that key if it was generated for it."""
    pk = table.primary_key
    if not isinstance(doc, dict) or pk in doc or (isinstance(table, SystemTable) and not table.generates_keys):
        return doc, None
    key = generated_key()
    return {**doc, pk: key}, key


def _plain_key(table: Table, doc: Any) -> bool:
    """Whether `doc` is an object whose primary key is a string or a number (the keys read ahead)."""
    return isinstance(doc, dict) and isinstance(doc.get(table.primary_key), (str, int, float))


def _conflict(ctx: Context, term: Term) -> str | Func:
    node = term.optargs.get("conflict")
    if node is None:
        return "error"
    value = ctx.eval(node)
    if isinstance(value, Func):
        if not is_deterministic(node):
            raise ReqlQueryLogicError("The conflict function passed to `insert` must be deterministic.")
        # A function of no arguments ignores them, as every ReQL function may.
        if value.arity not in (0, 3):
            raise ReqlQueryLogicError("The conflict function passed to `insert` should expect 3 arguments.")
        return value
    value = ctx.as_datum(value)
    if not isinstance(value, str):
        raise type_error("STRING", value)
    if value not in ("error", "replace", "update"):
        raise ReqlQueryLogicError(
            f'Conflict option `{value}` unrecognized (options are "error", "replace" and "update").'
        )
    return value


def _insert_one(  # noqa: PLR0917
    ctx: Context,
    table: Table,
    writes: TableWrites,
    doc: Any,
    generated: str | None,
    conflict: str | Func,
    hook: hook_runner.Hook,
    result: WriteResult,
) -> None:
    if not isinstance(doc, dict):
        # One document that is not an object is that document's error, not the whole insert's.
        result.error(type_error("OBJECT", doc).message, check=True)
        return
    pk = table.primary_key
    if pk not in doc:  # a system table that makes no keys
        result.error("You must specify a primary key.")
        return
    if generated is not None:
        result.generated_keys.append(generated)
    try:
        primary_key_value(doc[pk])
    except ReqlError as error:
        result.error(error.message, check=True)
        return
    # Most keys are free: the document is stored as it is, whatever the conflict option (`_put` for a key that
    # is free, in one statement).
    if hook is hook_runner.no_hook and isinstance(writes, TableWrites) and fits_on_disk(doc) and writes.add(doc):
        result.record("inserted", None, doc)
        return
    old = writes.get(doc[pk])
    if old is None:
        new = doc
    elif conflict == "error":
        message = f"Duplicate primary key `{pk}`:\n{datums.printed(old)}\n{datums.printed(doc)}"
        result.error(message, old, old)
        return
    elif isinstance(conflict, Func):
        new = ctx.as_datum(conflict(ctx, doc[pk], old, doc))
        if new is not None and not isinstance(new, dict):
            result.error(f"Inserted value must be an OBJECT (got {datums.type_name(new)}):\n{datums.printed(new)}")
            return
    else:
        new = doc if conflict == "replace" else datums.merge(old, doc)
    try:
        new = hook(old, new)
    except ReqlError as error:
        result.error(error.message, old, old)
        return
    _store(table, writes, doc[pk], old, new, result)


def generated_key() -> str:
    """A random (version 4) UUID, as str(uuid.uuid4()) gives it, in a third of the time."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_DIGITS[ord(h[16])]:c}{h[17:20]}-{h[20:]}"


def generated_keys(count: int) -> list[str]:
    """`count` random UUIDs, made together: a batch makes thousands, and one Python step per UUID was most of the
    time a batch waited for its answer. Each of a UUID's 32 hex digits goes to its place in all of them in one slice
    assignment (for a handful of UUIDs, that is slower than `generated_key` for each; insert makes one that way)."""
    digits = os.urandom(16 * count).hex().encode()
    text = bytearray(_UUID_BLANK * count)
    for digit, place in enumerate(_DIGIT_PLACES):
        text[place::_UUID_STEP] = digits[digit::32]
    text[_VERSION_PLACE::_UUID_STEP] = b"4" * count
    text[_VARIANT_PLACE::_UUID_STEP] = digits[_VARIANT_DIGIT::32].translate(_VARIANT_DIGITS)
    return text.decode().split()


# A UUID's text (8-4-4-4-12 hex digits) and a space to end it; the places of its 32 random digits; the place of the
# version's digit (4), and of the variant's (binary 10xx: 8, 9, a or b, from a random digit: two random bits kept).
_UUID_BLANK = b"-" * 36 + b" "
_UUID_STEP = len(_UUID_BLANK)
_DIGIT_PLACES = [place for place in range(36) if place not in {8, 13, 18, 23}]
_VERSION_PLACE, _VARIANT_PLACE = 14, 19
_VARIANT_DIGIT = _DIGIT_PLACES.index(_VARIANT_PLACE)
_VARIANT_DIGITS = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


def _store(  # noqa: PLR0917
    table: Table, writes: TableWrites, key: Any, old: dict[str, Any] | None, new: Any, result: WriteResult
) -> None:
    """Write `new` over `old` (the same key), or delete it when `new` is null."""
    pk = table.primary_key
    if old is None:
        _store_missing(table, writes, key, new, result)
        return
    if new is None:
        writes.delete(old[pk])
        result.record("deleted", old, None)
        return
    if not isinstance(new, dict):
        raise type_error("OBJECT", new)
    if pk not in new:
        result.error(f"Inserted object must have primary key `{pk}`:\n{datums.printed(new)}", old, old)
        return
    if not datums.equal(new[pk], old[pk]):
        result.error(
            f"Primary key `{pk}` cannot be changed (`{datums.printed(old)}` -> `{datums.printed(new)}`).", old, old
        )
        return
    if datums.equal(new, old):
        result.record("unchanged", old, new)
        return
    _put(writes, new, old, result)


def _put(writes: TableWrites, new: dict[str, Any], old: dict[str, Any] | None, result: WriteResult) -> None:
    if not fits_on_disk(new):
        result.error(TOO_LARGE_FOR_DISK)
        return
    try:
        writes.put(new)
    except TypeError:  # only r.minval / r.maxval are not JSON
        result.error(UNSTORABLE)
        return
    except ReqlError as error:  # a system table refusing the row
        result.error(error.message, old, old)
        return
    result.record("replaced" if old is not None else "inserted", old, new)


def _store_missing(table: Table, writes: TableWrites, key: Any, new: Any, result: WriteResult) -> None:
    """A replace of a document that does not exist inserts it."""
    if new is None:
        result.record("skipped")
        return
    if not isinstance(new, dict):
        raise type_error("OBJECT", new)
    pk = table.primary_key
    if pk not in new:
        result.error(f"Inserted object must have primary key `{pk}`:\n{datums.printed(new)}")
        return
    if not datums.equal(new[pk], key):
        result.error(f"Primary key `{pk}` cannot be changed (`null` -> `{datums.printed(new)}`).")
        return
    _put(writes, new, None, result)


# ---------------------------------------------------------------- update, replace, delete


class _Ahead:
    """A document's new value computed before its write takes the write lock, or the error computing it raised."""

    __slots__ = ("_error", "_new")

    def __init__(self, change: Callable[[dict[str, Any] | None], Any], old: dict[str, Any] | None) -> None:
        self._new: Any = None
        self._error: ReqlError | None = None
        try:
            self._new = change(old)
        except ReqlError as error:
            self._error = error

    def new(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._new


def _modify(
    ctx: Context, term: Term, change: Callable[[dict[str, Any] | None], Any], *, ahead: bool = False
) -> dict[str, Any]:
    """Write `change(old)` over each document of the selection. `ahead`: compute each chunk's new values before its
    transaction, as RethinkDB computes a non-deterministic function's apart from its write: such a function may run
    long (a script, reads of other tables), and every writer would wait for it under the write lock."""
    selection = ctx.eval(term.args[0])
    if not isinstance(selection, (SingleSelection, Selection)):
        raise ReqlQueryLogicError(f"Expected type SELECTION but found {category(selection)}:")
    table = selection.table
    durability, return_changes = _options(ctx, term, table)
    hook = hook_runner.runner(ctx, term, table)
    result = WriteResult(return_changes, ctx.array_limit)
    pk = table.primary_key
    with _as_before_the_write(ctx, selection) as docs:
        targets = [selection.key] if isinstance(selection, SingleSelection) else (doc[pk] for doc in docs)
        for chunk in _chunks(targets):
            chunk_keys = list(chunk)
            computed = [_Ahead(change, table.get(key)) for key in chunk_keys] if ahead else [None] * len(chunk_keys)
            with _Writing(table, durability) as writes:
                for key, known in zip(chunk_keys, computed, strict=True):
                    old = writes.get(key)
                    try:
                        new = change(old) if known is None else known.new()
                        _store(table, writes, key, old, hook(old, new), result)
                    except ReqlError as error:
                        result.error(error.message, old, old)
                if durability == "soft" and isinstance(selection, SingleSelection) and isinstance(writes, TableWrites):
                    _answer_before_commit(ctx, term, writes, result)  # (a system table's writes are its own)
    return result.value()


def _answer_before_commit(ctx: Context, term: Term, writes: TableWrites, result: WriteResult) -> None:
    """Answer a soft write of one document, when it is the whole query, before it commits (as RethinkDB answers a
    soft write it holds in memory): its result is whole once the document is written."""
    if ctx.answer is not None and ctx.answer[0] is term:
        answer = ctx.answer[1]
        writes.answer_before_commit(lambda: answer(replies.encode(datums.to_wire(result.value()))))


@contextlib.contextmanager
def _as_before_the_write(ctx: Context, items: Any) -> Iterator[Iterable[Any]]:
    """`items`; a selection's documents read (lazily, page by page) from the table as it was before the write.

    So the write's own commits cannot bring rows back into what is left to read: an update that moves rows forward
    along the index a selection follows would meet them again, and again. What the write itself reads (a function
    of each document, a hook) sees the data as it is.
    """
    if not isinstance(items, Selection) or isinstance(items, ArraySelection):  # nothing left to read
        yield items
        return
    snapshot = ctx.storage.snapshot(lambda _view: None)
    try:
        yield _read_in(snapshot, iter(items))
    finally:
        snapshot.close()


def _read_in(snapshot: Snapshot, items: Iterator[Any]) -> Iterator[Any]:
    while True:
        with snapshot.reading():
            item = next(items, _DONE)
        if item is _DONE:
            return
        yield item


def _require_atomic(ctx: Context, term: Term) -> bool:
    """Unless `non_atomic`, the new value must be one that reading it twice gives again (no reads, no randomness).
    Whether it is not: then it is computed ahead of its write (see `_modify`)."""
    atomic = "non_atomic" not in term.optargs or not ctx.boolean(term.optargs["non_atomic"])
    deterministic = is_deterministic(term.args[1])
    if atomic and not deterministic:
        raise ReqlQueryLogicError("Could not prove argument deterministic.  Maybe you want to use the non_atomic flag?")
    return not deterministic


@operation("UPDATE", 2, optargs=(*WRITE_OPTARGS, "non_atomic"), args_reader=array_allowing_literals)
def update(ctx: Context, term: Term) -> dict[str, Any]:
    ahead = _require_atomic(ctx, term)
    node = term.args[1]

    def patch(old: dict[str, Any]) -> Any:
        # Evaluated per document (RethinkDB rewrites update into a replace whose function holds the patch), so that
        # an error in it is that document's error; r.literal may stand inside it, as in merge.
        value = eval_allowing_literals(ctx, node)
        if isinstance(value, Func):
            value = call_allowing_literals(ctx, value, old)
        return ctx.as_datum(whole_patch(value))

    def change(old: dict[str, Any] | None) -> Any:
        if old is None:
            return None  # update skips missing documents
        value = patch(old)
        if value is None:
            return old
        if not isinstance(value, dict):
            raise type_error("OBJECT", value)
        return datums.merge(old, value)

    return _modify(ctx, term, change, ahead=ahead)


@operation("REPLACE", 2, optargs=(*WRITE_OPTARGS, "non_atomic"))
def replace(ctx: Context, term: Term) -> dict[str, Any]:
    ahead = _require_atomic(ctx, term)
    # Evaluated once, before any write, as in RethinkDB: a function gives each document's new value, anything else
    # is the new value of every document (so that reading it cannot give another value, null say, halfway).
    value = ctx.eval(term.args[1])
    if isinstance(value, Func):
        return _modify(ctx, term, lambda old: ctx.as_datum(value(ctx, old)), ahead=ahead)
    new = ctx.as_datum(value)
    return _modify(ctx, term, lambda _old: new)


@operation("DELETE", 1, optargs=WRITE_OPTARGS)
def delete(ctx: Context, term: Term) -> dict[str, Any]:
    return _modify(ctx, term, lambda _old: None)


@operation("SYNC", 1)
def sync(ctx: Context, term: Term) -> dict[str, int]:
    table = as_table(ctx, term.args[0])
    if isinstance(table, SystemTable):
        table.require("write")  # first, as in RethinkDB
        raise ReqlOpFailedError("Artificial tables don't support `sync()`.")
    table.storage.sync(table.info)  # the user's view of the storage: needs `write`, as RethinkDB's sync (a write) does
    return {"synced": 1}


@operation("FOR_EACH", 2)
def for_each(ctx: Context, term: Term) -> dict[str, Any]:
    seq = ctx.sequence(term.args[0])
    # Evaluated once, as in RethinkDB: a write that is not a function (the driver sends one that does not use
    # r.row as it is) runs once, before the first element, and its result counts once per element.
    write = ctx.eval(term.args[1])
    constant = None if isinstance(write, Func) else _constant_write(ctx, write)
    total: dict[str, Any] = {}
    with _as_before_the_write(ctx, seq) as rows:
        for row in rows:
            value = write(ctx, row) if isinstance(write, Func) else constant
            for result in _write_results(ctx, value):
                _add_results(total, result)
    return total


def _constant_write(ctx: Context, value: Any) -> Any:
    """The value that stands for a function of each element; a table or a stream cannot."""
    if not isinstance(value, SingleSelection) and category(value) != "DATUM":
        raise ReqlQueryLogicError(f"Expected type FUNCTION but found {category(value)}:")
    return ctx.as_datum(value)


def _write_results(ctx: Context, value: Any) -> list[dict[str, Any]]:
    try:
        results = ctx.as_datum(value)
    except ReqlError as error:
        raise type(error)(FOR_EACH_WRITES) from None
    results = results if isinstance(results, list) else [results]
    for result in results:
        if not isinstance(result, dict):
            expected = "OBJECT" if isinstance(value, list) else "ARRAY"
            raise ReqlQueryLogicError(
                f"{FOR_EACH_WRITES}  Expected type {expected} but found {datums.type_name(result)}."
            )
    return results


def _add_results(total: dict[str, Any], result: dict[str, Any]) -> None:
    for key, value in result.items():
        if key == "first_error":
            total.setdefault(key, value)
        elif isinstance(value, list):
            total[key] = total.get(key, []) + value
        elif datums.is_number(value):
            total[key] = total.get(key, 0) + value

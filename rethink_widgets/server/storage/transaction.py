"""What one atomic write reads and writes, row by row or a batch at a time, with the index entries of each row."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.storage.records import CommittedChange, IndexFunction, IndexInfo, TableInfo
from rethink_widgets.server.storage.texts import document, document_text, row_text

if TYPE_CHECKING:
    from rethink_widgets.server.storage.writes import Writes

log = logging.getLogger(__name__)
_READ_AHEAD = 50  # keys a statement of Transaction.read_ahead reads (one statement text: SQLite compiles it once)

_UNREAD = object()


class NotAdded(Exception):
    """Documents `add_all` could not all add: their transaction rolls back."""


def index_entries(compute: IndexFunction, doc: dict[str, Any], pkey: bytes) -> list[tuple[bytes, bytes, str]]:
    return [(ikey, pkey, document_text(value)) for ikey, value in compute(doc)]


class Transaction:
    """Reads and writes inside one atomic write; `changes` lists what it did, in order.

    A table dropped before the transaction began raises DoesNotExist (the transaction holds the write lock, so none
    is dropped while it runs)."""

    def __init__(self, storage: Writes, writer: sqlite3.Connection) -> None:
        self._storage = storage
        self._conn = writer
        self.changes: list[CommittedChange] = []
        # Answers a soft write before its commit (see insert_new; evaluation sets it for a write of one document).
        self.acknowledge: Callable[[], None] | None = None
        self.acknowledged = False
        # The stored text (None: no document) of each row this transaction has read or written, by (table, key):
        # a write usually reads its row just before it replaces it. Text, not documents, which callers may change.
        self._rows: dict[tuple[str, bytes], str | None] = {}

    def get(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        self._storage.require_table(table)
        text = self._row(table, keys.encode(key))
        return document(text) if text is not None else None

    def read_ahead(self, table: TableInfo, key_list: list[Any]) -> None:
        """Read the rows of `key_list` not read yet, _READ_AHEAD to a statement (a third of the time per row that a
        statement per row takes); what is left over is read as it is needed."""
        if len(key_list) < _READ_AHEAD:
            return
        self._storage.require_table(table)
        wanted = list({pkey for pkey in map(keys.encode, key_list) if (table.sql, pkey) not in self._rows})
        sql = f"SELECT key, doc FROM {table.sql} WHERE key IN ({', '.join('?' * _READ_AHEAD)})"
        for start in range(0, len(wanted) - _READ_AHEAD + 1, _READ_AHEAD):
            group = wanted[start : start + _READ_AHEAD]
            found = dict(self._conn.execute(sql, group).fetchall())
            for pkey in group:
                self._rows[table.sql, pkey] = found.get(pkey)

    def _row(self, table: TableInfo, pkey: bytes) -> str | None:
        where = (table.sql, pkey)
        if where not in self._rows:
            row = self._conn.execute(f"SELECT doc FROM {table.sql} WHERE key = ?", (pkey,)).fetchone()
            self._rows[where] = row[0] if row else None
        return self._rows[where]

    def put(self, table: TableInfo, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a document (replacing any with its key); returns the old one."""
        interrupts.check()  # a long write stops between documents (and rolls back)
        self._storage.require_table(table)
        key = doc[table.primary_key]
        pkey = keys.encode(key)
        text = self._row(table, pkey)
        old = document(text) if text is not None else None
        text = row_text(doc)
        self._conn.execute(f"INSERT OR REPLACE INTO {table.sql} VALUES (?, ?)", (pkey, text))
        self._stored(table, pkey, text, key, old, doc)
        return old

    def add(self, table: TableInfo, doc: dict[str, Any]) -> bool:
        """Store a document if no document has its key (one statement where `get` and `put` take two); False if
        one has, or if the document is no JSON (then nothing is stored: `get` and `put` say what is there, or why
        it cannot be stored)."""
        interrupts.check()
        self._storage.require_table(table)
        key = doc[table.primary_key]
        pkey = keys.encode(key)
        try:
            text = row_text(doc)
        except (TypeError, ValueError):
            return False
        known = self._rows.get((table.sql, pkey), _UNREAD)
        if known is _UNREAD:
            added = self._conn.execute(f"INSERT INTO {table.sql} VALUES (?, ?) ON CONFLICT DO NOTHING", (pkey, text))
            if added.rowcount == 0:
                return False
        elif known is None:
            self._conn.execute(f"INSERT INTO {table.sql} VALUES (?, ?)", (pkey, text))
        else:
            return False
        self._stored(table, pkey, text, key, None, doc)
        return True

    def add_all(self, table: TableInfo, docs: list[dict[str, Any]], fresh_keys: bool = False) -> None:
        """Store documents, in one statement, if no document has the key of one. Raises NotAdded if one has (or two
        of them share one), or if one is no JSON: then some may have been stored, and the transaction must roll
        back. `fresh_keys`: see Storage.insert_new."""
        interrupts.check()
        self._storage.require_table(table)
        pk = table.primary_key
        try:
            pkeys = [keys.encode(doc[pk]) for doc in docs]
        except (TypeError, ValueError):
            raise NotAdded from None
        # Index functions (the user's, which may run long or be stopped) run before the write can be answered; the
        # rows' texts, which only fail for what is no JSON (never in a query's literal documents), after it.
        entries = [(index.sql, self._new_entries(table, index, docs, pkeys)) for index in table.indexes.values()]
        if fresh_keys:
            self.acknowledge_now()
        if self.acknowledged:
            with interrupts.shielded():  # (answered: nothing may stop it now)
                self._add_rows(table, self._rows_of(docs, pkeys), entries)
        else:
            self._add_rows(table, self._rows_of(docs, pkeys), entries)
        table_id = table.id
        self.changes.extend(CommittedChange(table_id, doc[pk], None, doc) for doc in docs)

    @staticmethod
    def _rows_of(docs: list[dict[str, Any]], pkeys: list[bytes]) -> list[tuple[bytes, str]]:
        try:
            return [(pkey, row_text(doc)) for pkey, doc in zip(pkeys, docs, strict=True)]
        except (TypeError, ValueError):
            raise NotAdded from None

    def _new_entries(
        self, table: TableInfo, index: IndexInfo, docs: list[dict[str, Any]], pkeys: list[bytes]
    ) -> list[tuple[bytes, bytes, str]]:
        compute = self._storage.index_function(table, index)
        return [entry for doc, pkey in zip(docs, pkeys, strict=True) for entry in index_entries(compute, doc, pkey)]

    def _add_rows(
        self, table: TableInfo, rows: list[tuple[bytes, str]], entries: list[tuple[str, list[tuple[bytes, bytes, str]]]]
    ) -> None:
        """Store new rows and their index entries (see `add_all`)."""
        sql = f"INSERT INTO {table.sql} VALUES (?, ?) ON CONFLICT DO NOTHING"
        # (executemany costs a few microseconds more for one row, and most inserts are of one document)
        added = self._conn.execute(sql, rows[0]) if len(rows) == 1 else self._conn.executemany(sql, rows)
        if added.rowcount != len(rows):
            raise NotAdded
        if self._rows:  # (a row read before, missing then, must not be remembered missing; others are read anew)
            self._rows.update(((table.sql, pkey), text) for pkey, text in rows)
        for index_sql, index_entries in entries:
            if index_entries:
                self._conn.executemany(f"INSERT OR IGNORE INTO {index_sql} VALUES (?, ?, ?)", index_entries)

    def acknowledge_now(self) -> None:
        """Answer the write before its commit, if it is answered so and was not yet: from now on, reads on other
        threads wait for the commit (see Storage.settle)."""
        if self.acknowledge is None or self.acknowledged:
            return
        storage = self._storage
        storage._settling = threading.get_ident()
        storage._settled.clear()
        self.acknowledged = True
        try:
            self.acknowledge()
        except Exception:  # (the write goes on: its feeds must hear of it, as of any other)
            log.exception("answering a write before its commit")

    def _stored(  # noqa: PLR0917
        self, table: TableInfo, pkey: bytes, text: str, key: Any, old: dict[str, Any] | None, doc: dict[str, Any]
    ) -> None:
        """What follows a document's row written: its index entries, and the change to announce once committed."""
        self._rows[table.sql, pkey] = text
        self._reindex(table, pkey, old, doc)
        self.changes.append(CommittedChange(table.id, key, old, doc))

    def delete(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        interrupts.check()
        self._storage.require_table(table)
        pkey = keys.encode(key)
        row = self._conn.execute(f"DELETE FROM {table.sql} WHERE key = ? RETURNING doc", (pkey,)).fetchone()
        self._rows[table.sql, pkey] = None
        if row is None:
            return None
        old: dict[str, Any] = document(row[0])
        self._reindex(table, pkey, old, None)
        self.changes.append(CommittedChange(table.id, key, old, None))
        return old

    def _reindex(self, table: TableInfo, pkey: bytes, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for index in table.indexes.values():
            compute = self._storage.index_function(table, index)
            before = index_entries(compute, old, pkey) if old is not None else []
            after = index_entries(compute, new, pkey) if new is not None else []
            if before == after:
                continue
            if before:  # (none for a document inserted)
                self._conn.executemany(f"DELETE FROM {index.sql} WHERE ikey = ? AND pkey = ?", [e[:2] for e in before])
            if after:  # (none for a document deleted)
                self._conn.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", after)

"""Reads of documents: by key, and scans of the primary key or of an index.

Scans fetch pages by key, each page a fresh statement on the calling thread's own connection, so no cursor outlives a
page and `limit(10)` reads a few rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator
from typing import Any

from rethink_widgets.server import interrupts, keys
from rethink_widgets.server.storage.core import StorageCore
from rethink_widgets.server.storage.records import KeyRange, TableInfo, TextPage
from rethink_widgets.server.storage.texts import ROW_SEPARATOR, document

_FIRST_PAGE, _MAX_PAGE = 16, 1024

_MANY = 64  # keys a statement of Storage.get_many reads (and entries one of Storage.index_documents reads)
_PAIRS = ", ".join(["(?, ?)"] * _MANY)


def _page_where(column: str, span: keys.Span, after: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (and its parameters) of a page of a span of `column` ("key", or "ikey" for an index's rows,
    ordered by (ikey, pkey)), after the last row of the page before (`after`: its key, or ikey and pkey)."""
    lower, upper, lower_open, upper_open, reverse = span
    low = (f"{column} {'>' if lower_open else '>='} ?", keys.encode(lower))
    high = (f"{column} {'<' if upper_open else '<='} ?", keys.encode(upper))
    start, end = (high, low) if reverse else (low, high)
    if not after:
        return f"{start[0]} AND {end[0]}", (start[1], end[1])
    # A later page starts after the last row seen, in place of the starting bound: with both, SQLite may seek by
    # the bound and step over every row read so far, on every page.
    position = "(i.ikey, i.pkey)" if column == "ikey" else "key"
    resume = f"{position} {'<' if reverse else '>'} " + ("(?, ?)" if column == "ikey" else "?")
    return f"{resume} AND {end[0]}", (*after, end[1])


class Reads(StorageCore):
    """Point reads and scans, on the calling thread's connection (or a snapshot's, see `reading_through`)."""

    def get(self, table: TableInfo, key: Any) -> dict[str, Any] | None:
        text = self.get_text(table, key)
        return document(text) if text is not None else None

    def get_text(self, table: TableInfo, key: Any) -> str | None:
        """The stored JSON text of the document with this key (None: there is none)."""
        rows = self._query(table, f"SELECT doc FROM {table.sql} WHERE key = ?", (keys.encode(key),))
        self.activity.reads[table.id].add(len(rows))
        return rows[0][0] if rows else None

    def get_many(self, table: TableInfo, key_list: list[Any]) -> list[dict[str, Any] | None]:
        """The documents of these keys (None where there is none), in their order, `_MANY` keys to a statement (a
        tenth of the time per key that a statement per key takes); a key asked twice gives the same document."""
        wanted = [keys.encode(key) for key in key_list]
        distinct = list(dict.fromkeys(wanted))
        sql = f"SELECT key, doc FROM {table.sql} WHERE key IN ({', '.join('?' * _MANY)})"
        found: dict[bytes, Any] = {}
        for start in range(0, len(distinct), _MANY):
            group = distinct[start : start + _MANY]
            group += group[:1] * (_MANY - len(group))  # one statement text, which SQLite compiles once
            found.update(self._query(table, sql, tuple(group)))
        self.activity.reads[table.id].add(len(found))
        documents = {pkey: document(text) for pkey, text in found.items()}
        return [documents.get(pkey) for pkey in wanted]

    def count(self, table: TableInfo) -> int:
        count: int = self._query(table, f"SELECT count(*) FROM {table.sql}")[0][0]
        return count

    def scan(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Generator[dict[str, Any], None, None]:
        """Documents of a span of primary keys (all by default), in its order."""
        for page in self._pages(table, table.sql, "key", span):
            for _key, doc in page:
                interrupts.check()
                yield document(doc)

    def scan_text_pages(self, table: TableInfo, span: keys.Span = keys.EVERYTHING) -> Iterator[TextPage]:
        """`scan`, page by page, as the JSON texts stored for the documents (the server wrote them, keys in the order
        the document had), for readers that need no document: SQLite joins a page's texts into one (see TextPage),
        so that a page costs no Python object per row."""
        order = "DESC" if span.reverse else "ASC"
        last = "min(key)" if span.reverse else "max(key)"
        after: tuple[Any, ...]
        page, after = _FIRST_PAGE, ()
        while True:
            where, params = _page_where("key", span, after)
            rows = f"SELECT key, doc FROM {table.sql} WHERE {where} ORDER BY key {order} LIMIT ?"
            # The subquery has a LIMIT, so SQLite runs it apart, in its order, and group_concat takes its rows in that
            # order. (SQLite does not promise it; 3.44 can say ORDER BY inside the aggregate. Tests of descending
            # scans across pages would see it change.)
            sql = f"SELECT group_concat(doc, char({ord(ROW_SEPARATOR)})), count(*), {last} FROM ({rows})"
            try:
                text, count, last_key = self._query(table, sql, (*params, page))[0]
            except sqlite3.DataError:  # longer than SQLite makes a string (a billion bytes): joined here instead
                found = self._query(table, rows, (*params, page))
                text, count, last_key = ROW_SEPARATOR.join([doc for _key, doc in found]), len(found), found[-1][0]
            self.activity.reads[table.id].add(count)
            if count:
                interrupts.check_many(count)
                yield TextPage(text, count)
            if count < page:
                return
            after = (last_key,)
            page = min(page * 4, _MAX_PAGE)

    def index_scan(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(index value, document) pairs in index order, then primary key order."""
        source = f"{table.indexes[index].sql} AS i JOIN {table.sql} AS t ON t.key = i.pkey"
        for page in self._pages(table, source, "ikey", span, "i.value, t.doc"):
            for _ikey, _pkey, value, doc in page:
                interrupts.check()
                yield document(value), document(doc)

    def index_scan_text_pages(
        self, table: TableInfo, index: str, span: keys.Span = keys.EVERYTHING
    ) -> Iterator[TextPage]:
        """The stored texts of `index_scan`'s documents, page by page (see `scan_text_pages`)."""
        source = f"{table.indexes[index].sql} AS i JOIN {table.sql} AS t ON t.key = i.pkey"
        for page in self._pages(table, source, "ikey", span, "t.doc"):
            if page:
                interrupts.check_many(len(page))
                yield TextPage(ROW_SEPARATOR.join([doc for _ikey, _pkey, doc in page]), len(page))

    def index_get_all(self, table: TableInfo, index: str, value: Any) -> Iterator[dict[str, Any]]:
        for _value, doc in self.index_scan(table, index, keys.Span(value, value, upper_open=False)):
            yield doc

    def index_key_ranges(
        self, table: TableInfo, index: str, ranges: list[KeyRange]
    ) -> Iterator[tuple[bytes, bytes, Any]]:
        """(index key, encoded primary key, index value) of the entries in these ranges of raw index keys, range by
        range, each in key order: the reads of a geospatial index, whose keys evaluation makes (see IndexFunction).
        No document is read: `index_documents` reads those of the entries wanted."""
        sql = table.indexes[index].sql
        for low, high in ranges:
            params: tuple[bytes, ...]
            where, params, page = "ikey >= ? AND ikey < ?", (low, high), _FIRST_PAGE
            while True:
                rows = self._query(
                    table,
                    f"SELECT ikey, pkey, value FROM {sql} WHERE {where} ORDER BY ikey, pkey LIMIT ?",
                    (*params, page),
                )
                for ikey, pkey, value in rows:
                    interrupts.check()
                    yield ikey, pkey, document(value)
                if len(rows) < page:
                    break
                where, params = "(ikey, pkey) > (?, ?) AND ikey < ?", (rows[-1][0], rows[-1][1], high)
                page = min(page * 4, _MAX_PAGE)

    def index_documents(
        self, table: TableInfo, index: str, entries: list[tuple[bytes, bytes]]
    ) -> list[dict[str, Any] | None]:
        """The documents of these (index key, encoded primary key) entries, in their order; None for an entry no
        longer in the index (its document changed or went since the entry was read)."""
        # (CROSS JOIN: SQLite looks each entry up, where `(ikey, pkey) IN (VALUES ...)` has it scan the whole index)
        sql = (
            f"SELECT i.ikey, i.pkey, t.doc FROM (VALUES {_PAIRS}) AS w CROSS JOIN {table.indexes[index].sql} AS i "
            f"ON i.ikey = w.column1 AND i.pkey = w.column2 JOIN {table.sql} AS t ON t.key = i.pkey"
        )
        found: dict[tuple[bytes, bytes], str] = {}
        distinct = list(dict.fromkeys(entries))
        for start in range(0, len(distinct), _MANY):
            group = distinct[start : start + _MANY]
            group += group[:1] * (_MANY - len(group))  # one statement text, which SQLite compiles once
            rows = self._query(table, sql, tuple(part for entry in group for part in entry))
            found.update(((ikey, pkey), doc) for ikey, pkey, doc in rows)
        self.activity.reads[table.id].add(len(found))
        return [document(found[entry]) if entry in found else None for entry in entries]

    def _pages(
        self, table: TableInfo, source: str, column: str, span: keys.Span, columns: str = "doc"
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Pages of rows: (key, *columns) for the table's own rows, (ikey, pkey, *columns) for an index's."""
        # Index rows are paged by (ikey, pkey): one index key can hold many documents.
        order = "DESC" if span.reverse else "ASC"
        select = f"SELECT {'key' if column == 'key' else 'i.ikey, i.pkey'}, {columns} FROM {source}"
        order_by = "i.ikey " + order + ", i.pkey " + order if column == "ikey" else f"key {order}"
        after: tuple[Any, ...]
        page, after = _FIRST_PAGE, ()
        while True:
            where, params = _page_where(column, span, after)
            rows = self._query(table, f"{select} WHERE {where} ORDER BY {order_by} LIMIT ?", (*params, page))
            self.activity.reads[table.id].add(len(rows))
            yield rows
            if len(rows) < page:
                return
            last = rows[-1]
            after = (last[0],) if column == "key" else (last[0], last[1])
            page = min(page * 4, _MAX_PAGE)

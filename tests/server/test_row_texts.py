"""Stored rows as reply texts: the text a reply sends for a row is the one `wire.dumps` writes for its document,
whether the row was stored ready for replies or by an earlier version (keys in the document's order, no mark)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from rethink_widgets.server import keys, wire
from rethink_widgets.server.evaluation import datums, row_texts
from rethink_widgets.server.storage import DATA_FILE, Storage

# Numbers written otherwise by orjson than in a reply, strings that look like them, keys out of order.
DOCS: list[dict[str, Any]] = [
    {"id": 1, "z": 5.0, "a": -0.0, "small": 1e-05, "smaller": [1.5e-7], "edge": 0.0001, "third": 0.1 + 0.2},
    {"id": 2, "big": 1e16, "huge": 1.5e300, "past53": 2**53 + 1, "past63": 2**63, "past64": 2**70},
    {"id": 3, "uuid": "3f2b1c4e-5a6d-4e7f-8a9b-0c1d2e3f4a5b", "version": "1.0.2", "e": "4e-5", "é": {"b": 1, "a": 2}},
    {"id": 4, "nothing": None, "text": 'quote " backslash \\ nul \x00 \u2028 😀', "list": [3, 2, 1]},
    *({"id": 10 + i, "name": f"row {i}", "n": i % 7, "k": "0.5e-3"} for i in range(40)),
    {"id": 100, "whole": 12.0},  # (on a later page of a scan than the numbers above)
]


def reply(doc: dict[str, Any]) -> str:
    return wire.dumps(datums.to_wire(doc))


def no_index(function: Any, multi: bool, geo: bool) -> Any:
    raise AssertionError("no index here")


def test_rows_written_now_reply_as_wire_writes_them(tmp_path: Path) -> None:
    store = Storage(tmp_path, no_index, {"salt": "x"})
    table = store.table_create("test", "t")
    with store.transaction() as txn:
        for doc in DOCS:
            txn.add(table, doc)
    by_key = {doc["id"]: doc for doc in DOCS}
    ordered = [by_key[key] for key in sorted(by_key)]
    pages = row_texts.reply_pages(store.scan_text_pages(table))
    assert [text for page in pages for text in page] == [reply(doc) for doc in ordered]
    for doc in DOCS:
        text = store.get_text(table, doc["id"])
        assert text is not None
        assert row_texts.reply_text(text) == reply(doc)
    store.close()


def test_rows_an_earlier_version_wrote_reply_as_before(tmp_path: Path) -> None:
    """An earlier version stored each row as Python's json module wrote it, keys in the document's order: a scan
    across such rows, some of them replaced since, and a point read, reply as `wire.dumps` writes."""
    store = Storage(tmp_path, no_index, {"salt": "x"})
    table = store.table_create("test", "t")
    store.close()
    with sqlite3.connect(tmp_path / DATA_FILE) as conn:
        conn.executemany(
            f"INSERT INTO {table.sql} VALUES (?, ?)",
            [(keys.encode(doc["id"]), json.dumps(doc, separators=(",", ":"), ensure_ascii=False)) for doc in DOCS],
        )
    store = Storage(tmp_path, no_index, {"salt": "x"})
    reopened = store.table("test", "t")
    assert reopened is not None
    table = reopened
    changed = [{**doc, "n": 0.5} for doc in DOCS[::3]]
    with store.transaction() as txn:
        for doc in changed:
            txn.put(table, doc)
    by_key = {doc["id"]: doc for doc in [*DOCS, *changed]}
    ordered = [by_key[key] for key in sorted(by_key)]
    pages = row_texts.reply_pages(store.scan_text_pages(table))
    assert [text for page in pages for text in page] == [reply(doc) for doc in ordered]
    for key, doc in by_key.items():
        text = store.get_text(table, key)
        assert text is not None
        assert row_texts.reply_text(text) == reply(doc)
    store.close()

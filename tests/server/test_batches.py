"""Batches of rows that come a page at a time (a scan's pages): each batch ends at the very row it would end at if
the rows came one by one, whatever the pages' sizes; and through the wire, a scan's and a feed's batches hold the
rows `max_batch_rows` asks for."""

from __future__ import annotations

import itertools
import json
import re
import struct
from typing import Any

import pytest
from raw_client import exactly, raw_connect, send
from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from servers import ServerProcess

from rethink_widgets.server.batches import Batch, BatchLimits, Pages

ROWS = [f'{{"id":{i},"pad":"{"x" * (i % 37)}"}}' for i in range(3000)]


def paged(rows: list[str], sizes: list[int]) -> list[list[str]]:
    """`rows` cut into pages of these sizes in turn (an empty page among them, as a scan's last may be)."""
    pages: list[list[str]] = []
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(rows):
            return [*pages, []]
        pages.append(rows[start : start + size])
        start += size
    raise AssertionError  # (cycle never ends)


def row_by_row(limits: BatchLimits, rows: list[str]) -> list[list[str]]:
    """The batches the rows make when each row is looked at alone."""
    batches: list[list[str]] = []
    rest = iter(rows)
    while (row := next(rest, None)) is not None:
        most_bytes = limits.max_bytes // (limits.first_scaledown if not batches else 1)
        batch, size = [row], len(row)
        while len(batch) < limits.max_rows and size < most_bytes and (row := next(rest, None)) is not None:
            batch.append(row)
            size += len(row)
        batches.append(batch)
    return batches


def page_by_page(limits: BatchLimits, pages: list[list[str]]) -> list[list[str]]:
    """The batches `Batch.fill` makes of the same rows, given a page at a time."""
    source = Pages(iter(pages))
    batches: list[list[str]] = []
    while True:
        batch = Batch(limits, not batches)
        ran_out = batch.fill(source)
        batches.append(batch.rows)
        if ran_out or source.exhausted():
            return [rows for rows in batches if rows]


@pytest.mark.parametrize("max_rows", [1, 7, 16, 1000, 1024, 1025, None])
@pytest.mark.parametrize("max_bytes", [1, 50, 4000, 1024 * 1024])
@pytest.mark.parametrize("sizes", [[16, 64, 256, 1024], [1], [5, 1, 333]])
def test_a_batch_ends_at_the_row_it_would_end_at_one_row_at_a_time(
    max_rows: int | None, max_bytes: int, sizes: list[int]
) -> None:
    limits = BatchLimits(max_rows=max_rows or BatchLimits.max_rows, max_bytes=max_bytes, max_seconds=3600)
    batches = page_by_page(limits, paged(ROWS, sizes))
    assert batches == row_by_row(limits, ROWS)
    assert [row for batch in batches for row in batch] == ROWS


def test_a_batch_past_its_deadline_still_holds_a_row() -> None:
    limits = BatchLimits(max_seconds=1e-9)
    source = Pages(iter(paged(ROWS, [100])))
    batch = Batch(limits, False)
    assert not batch.fill(source)
    assert batch.rows == ROWS[:1]
    assert source.take() == ROWS[1:100]


def batch_sizes(server: ServerProcess, query: Any, optargs: dict[str, Any], until_ready: bool = False) -> list[int]:
    """The number of rows of each batch a query's cursor sends (of a feed: up to its `ready` state, states
    counted), with time enough for every batch (a loaded machine must not end one early)."""
    sock = raw_connect(server)
    try:
        optargs = {"max_batch_seconds": 600, **optargs}
        send(sock, 1, f"[1,{ReQLEncoder().encode(query)},{json.dumps(optargs)}]".encode())
        sizes = []
        while True:
            _, size = struct.unpack("<qL", exactly(sock, 12))
            reply = json.loads(exactly(sock, size))
            sizes.append(len(reply["r"]))
            if reply["t"] != 3 or (until_ready and {"state": "ready"} in reply["r"]):
                return sizes
            send(sock, 1, b"[2]")
    finally:
        sock.close()


def test_a_scan_and_a_feed_send_the_rows_a_batch_is_asked_to_hold(
    server: ServerProcess, conn: Any, r: RethinkDB, table: str
) -> None:
    t = r.table(table)
    t.insert([json.loads(row) for row in ROWS]).run(conn)
    assert batch_sizes(server, t, {"max_batch_rows": 1000}) == [1000, 1000, 1000]
    assert batch_sizes(server, t, {"max_batch_rows": 1100}) == [1100, 1100, 800]
    initial = batch_sizes(server, t.changes(include_initial=True, include_states=True), {"max_batch_rows": 700}, True)
    assert initial[:4] == [700] * 4 and sum(initial) == 3000 + 2  # (and its two states)
    # A byte limit ends a batch with the row that reaches it: the first batch's is a quarter of it.
    limit = 20_000
    first, *others = batch_sizes(server, t, {"max_batch_bytes": limit})
    texts = [re.sub(r"\s", "", row) for row in ROWS]
    assert sum(map(len, texts[: first - 1])) < limit // 4 <= sum(map(len, texts[:first]))
    assert sum(others) == 3000 - first

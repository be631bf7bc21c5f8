"""LiveTable's cost: latency to the front end, traffic per 1,000 changes, and kernel memory per row.

Each figure stands next to a baseline measured in the same run:
- latency from a database write to the widget's comm message reaching a front end (a jupyter_client reader),
  beside the write's own round trip;
- messages and bytes the widget sends for 1,000 changes on a 10,000-row table, beside the naive approach of
  re-sending the whole result as one trait on every change;
- memory per row held for a large table (result set and sorted view), beside the same rows as a plain list.
Medians where there are several runs; the machine is shared, so read the ratios.

    python -m benchmarks.livetable [--rows 1000000] [--writes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB

from benchmarks.server import start

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel import Kernel  # the tests' front-end stand-in

r = RethinkDB()


def open_table(kernel: Kernel, query: str) -> str:
    cell = kernel.run(f"t = LiveTable({query}); await t.ready(60); t", timeout=120)
    if cell.error:
        raise RuntimeError(cell.error)
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", timeout=60, what="ready")
    kernel.drain()
    return comm


def latency(kernel: Kernel, conn: Any, writes: int) -> tuple[list[float], list[float]]:
    """Per write: seconds from its reply to the widget's update arriving, and the write's round trip."""
    r.table_create("latency").run(conn)
    comm = open_table(kernel, "r.table('latency')")
    after_reply, round_trips = [], []
    for i in range(writes):
        time.sleep(0.05)  # a quiet spell, so each write is the first after one (the throttle sends it at once)
        sent = time.perf_counter()
        r.table("latency").insert({"id": i}).run(conn, durability="soft")
        replied = time.perf_counter()
        kernel.wait_for(lambda i=i: kernel.state(comm)["total"] == i + 1, what=f"write {i}")
        arrived = time.perf_counter()
        after_reply.append(arrived - replied)
        round_trips.append(replied - sent)
    kernel.run("t.close()")
    return after_reply, round_trips


def traffic(kernel: Kernel, conn: Any, rows: int, changes: int) -> tuple[int, int, int, int]:
    """(messages, bytes) the widget sent for `changes` changes, and the naive (messages, bytes)."""
    r.table_create("traffic").run(conn)
    for start_id in range(0, rows, 10_000):
        docs = [{"id": i, "name": f"row {i}", "n": 0} for i in range(start_id, min(rows, start_id + 10_000))]
        r.table("traffic").insert(docs).run(conn, durability="soft")
    comm = open_table(kernel, "r.table('traffic')")
    kernel.updates.clear()
    for i in range(changes):
        r.table("traffic").get(i % rows).update({"n": i + 1}).run(conn, durability="soft")
    kernel.wait_for(lambda: kernel.run("sum(1 for row in t.rows if row['n'])").text == str(min(rows, changes)))
    kernel.drain(0.5)
    sent = [state for _, c, state in kernel.updates if c == comm]
    whole = int(kernel.run("import json; len(json.dumps(t.rows))").text)
    kernel.run("t.close()")
    return len(sent), sum(len(json.dumps(s)) for s in sent), changes, changes * whole


async def memory(port: int, rows: int) -> tuple[float, float]:
    """Bytes per row held by a live feed and its view, and by a plain list of the same rows."""
    from rethink_widgets.database import Database, Settings
    from rethink_widgets.feeds import LiveFeed
    from rethink_widgets.table_view import TableView

    database = Database(Settings(host="127.0.0.1", port=port))
    ra = database.r
    conn = await database.connect()
    await ra.table_create("memory").run(conn)
    for start_id in range(0, rows, 20_000):
        docs = [{"id": i, "name": f"row {i}", "n": i % 97} for i in range(start_id, min(rows, start_id + 20_000))]
        await ra.table("memory").insert(docs).run(conn, durability="soft")
    tracemalloc.start()
    before = _held()
    cursor = await ra.table("memory").run(conn)
    plain = [row async for row in cursor]
    plain_bytes = (_held() - before) / rows
    del plain, cursor
    before = _held()
    feed = LiveFeed(r.table("memory"), database).start()
    await feed.ready(timeout=600)
    view = TableView(feed.result)
    live_bytes = (_held() - before) / rows
    tracemalloc.stop()
    assert len(view) == rows
    feed.close()
    await conn.close()
    return live_bytes, plain_bytes


def _held() -> int:
    """Bytes of Python objects alive now."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the memory figure")
    parser.add_argument("--writes", type=int, default=200, help="writes for the latency figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        process, port = start(command)
        kernel = Kernel(Path(directory), {"RETHINKDB_HOST": "127.0.0.1", "RETHINKDB_PORT": str(port)})
        try:
            kernel.run("%load_ext rethink_widgets")
            conn = r.connect(port=port)
            after, trips = latency(kernel, conn, args.writes)
            print("latency, write reply -> LiveTable update at the front end")
            print(f"  p50 {_ms(statistics.median(after))}   p99 {_ms(_percentile(after, 0.99))}")
            print(f"  baseline: the write's round trip p50 {_ms(statistics.median(trips))}")
            messages, sent, naive_messages, naive = traffic(kernel, conn, 10_000, 1_000)
            print("traffic for 1,000 changes on a 10,000-row table")
            print(f"  LiveTable: {messages} messages, {sent:,} bytes")
            print(f"  naive (whole result per change): {naive_messages} messages, {naive:,} bytes")
            fewer = naive_messages / max(1, messages)
            print(f"  ratio: {naive / max(1, sent):,.0f}x fewer bytes, {fewer:,.0f}x fewer messages")
        finally:
            kernel.close()
        live, plain = asyncio.run(memory(port, args.rows))
        print(f"kernel memory for {args.rows:,} rows")
        print(f"  LiveTable (result set + sorted view): {live:,.0f} bytes/row")
        print(f"  baseline (the rows as a plain list): {plain:,.0f} bytes/row   ratio {live / plain:.2f}")
        process.terminate()
        process.wait()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.2f} ms"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


if __name__ == "__main__":
    main()

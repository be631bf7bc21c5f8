"""Changefeed speed of the embedded server: latency, the writer's cost of attached feeds, initial snapshots.

Each figure stands next to a baseline measured in the same run:
- latency from a write's reply to its change reaching a feed client, beside the write's own round trip;
- sustained single inserts/s with 1, 10 and 100 feeds attached (read by another process), beside no feeds;
- `include_initial` rows/s on a 100,000-row table, beside a plain scan of the same table.
Medians of several runs; the machine is shared, so read the ratios.

    python -m benchmarks.changefeeds [--runs 3] [--rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from rethinkdb import RethinkDB

from benchmarks.server import start

r = RethinkDB()


def latency(port: int, count: int) -> tuple[list[float], list[float]]:
    """Per write: seconds from its reply to the change's arrival, and the write's round trip."""
    conn, feed_conn = r.connect(port=port), r.connect(port=port)
    r.table_create("latency").run(conn)
    feed = r.table("latency").changes().run(feed_conn)
    arrived: dict[int, float] = {}
    done = threading.Event()

    def read() -> None:
        for _ in range(count):
            change = feed.next()
            arrived[change["new_val"]["id"]] = time.perf_counter()
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    after_reply, round_trips = [], []
    for i in range(count):
        sent = time.perf_counter()
        r.table("latency").insert({"id": i}).run(conn, durability="soft")
        replied = time.perf_counter()
        while i not in arrived and not done.is_set():
            time.sleep(0.0001)
        after_reply.append(max(0.0, arrived[i] - replied))
        round_trips.append(replied - sent)
    reader.join()
    feed.close()
    r.table_drop("latency").run(conn)
    return after_reply, round_trips


CONSUMER = """
import asyncio, sys
from rethinkdb import RethinkDB
r = RethinkDB(); r.set_loop_type("asyncio")
async def main(port, table, feeds):
    conns = [await r.connect(port=port) for _ in range(min(feeds, 10))]
    cursors = [await r.table(table).changes().run(conns[i % len(conns)]) for i in range(feeds)]
    print("ready", flush=True)
    async def drain(cursor):
        while True:
            await cursor.next()
    await asyncio.gather(*(drain(c) for c in cursors))
asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
"""


def writes_per_second(port: int, feeds: int, runs: int, count: int) -> float:
    conn = r.connect(port=port)
    table = f"writes_{feeds}"
    r.table_create(table).run(conn)
    consumer = None
    if feeds:
        command = [sys.executable, "-c", CONSUMER, str(port), table, str(feeds)]
        consumer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert consumer.stdout is not None and consumer.stdout.readline().strip() == "ready"
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(count):
            r.table(table).insert({}).run(conn, durability="soft")
        rates.append(count / (time.perf_counter() - started))
    if consumer is not None:
        consumer.kill()
        consumer.wait()
    r.table_drop(table).run(conn)
    return statistics.median(rates)


def snapshot_rates(port: int, rows: int, runs: int) -> tuple[float, float]:
    """Rows/s of `changes(include_initial=True)` up to `ready`, and of a plain scan of the same table."""
    conn = r.connect(port=port)
    r.table_create("snapshot").run(conn)
    for start_id in range(0, rows, 10_000):
        docs = [{"id": i, "name": f"row {i}", "n": i % 97} for i in range(start_id, min(rows, start_id + 10_000))]
        r.table("snapshot").insert(docs).run(conn, durability="soft")
    initial, scans = [], []
    for _ in range(runs):
        started = time.perf_counter()
        feed = r.table("snapshot").changes(include_initial=True, include_states=True).run(conn)
        seen = sum(1 for change in _until_ready(feed) if "new_val" in change)
        initial.append(seen / (time.perf_counter() - started))
        feed.close()
        started = time.perf_counter()
        seen = sum(1 for _ in r.table("snapshot").run(conn))
        scans.append(seen / (time.perf_counter() - started))
    r.table_drop("snapshot").run(conn)
    return statistics.median(initial), statistics.median(scans)


def _until_ready(feed: Any) -> Any:
    for change in feed:
        if change == {"state": "ready"}:
            return
        yield change


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        process, port = start(command)
        try:
            after_reply, round_trips = latency(port, 500)
            print("latency, write reply -> change at a feed client")
            p50, p99 = percentile(after_reply, 0.5) * 1000, percentile(after_reply, 0.99) * 1000
            print(f"  p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
            print(f"  baseline: the write's round trip p50 {percentile(round_trips, 0.5) * 1000:.2f} ms")
            base = writes_per_second(port, 0, args.runs, 500)
            print(f"single inserts (soft) with no feeds: {base:8.0f} writes/s")
            for feeds in (1, 10, 100):
                rate = writes_per_second(port, feeds, args.runs, 500)
                print(f"  with {feeds:3d} feeds: {rate:8.0f} writes/s   cost {base / rate:.2f}x")
            initial, scan = snapshot_rates(port, args.rows, args.runs)
            print(f"include_initial on {args.rows} rows: {initial:8.0f} rows/s   plain scan {scan:8.0f} rows/s   "
                  f"ratio {initial / scan:.2f}   target >= 250,000 rows/s")  # fmt: skip
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()

"""Changefeed speed of the embedded server: latency, the writer's cost of attached feeds, initial snapshots.

Each figure stands next to a baseline measured in the same run:
- latency from a write's reply to its change reaching a feed client, beside the write's own round trip;
- sustained single inserts/s with 1, 10 and 100 feeds attached (read by another process), and with 10
  `order_by(index).limit(5)` feeds, beside no feeds; with the server's CPU time per write where /proc tells it, and
  its ratio to the writes' with no feeds (the reader, a process of the official driver, shares the machine's cores:
  the writes/s ratio counts its work too, the CPU ratio only the server's);
- `include_initial` rows/s on a 100,000-row table, beside a plain scan of the same table.
The writes take turns: each round times every case once, in the same order, and waits until the feeds' reader has
caught up before the next case begins (so a reader still busy with one case never slows the next); a case's cost is
the median over rounds of its round's ratio to the round's writes with no feeds. The machine is shared, so read the
ratios.

    python -m benchmarks.changefeeds [--runs 3] [--rounds 5] [--rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
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
async def main(port, table, feeds, limit):
    conns = [await r.connect(port=port) for _ in range(min(feeds, 10))]
    query = r.table(table).order_by(index="v").limit(5) if limit else r.table(table)
    cursors = [await query.changes().run(conns[i % len(conns)]) for i in range(feeds)]
    print("ready", flush=True)
    seen = {}
    async def drain(cursor):
        while True:
            change = await cursor.next()
            end = (change.get("new_val") or {}).get("end")
            if end is not None:
                seen[end] = seen.get(end, 0) + 1
                if seen[end] == feeds:
                    print(end, flush=True)
    await asyncio.gather(*(drain(c) for c in cursors))
asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "limit"))
"""


class WriteCase:
    """Single inserts into a table of their own, with `feeds` feeds on it read by another process."""

    def __init__(self, port: int, server_pid: int, feeds: int, limit: bool) -> None:
        self.feeds, self.limit = feeds, limit
        self.name = f"with {feeds} {'limit feeds' if limit else 'feeds'}" if feeds else "no feeds"
        self._conn = r.connect(port=port)
        self._table = f"writes_{feeds}_{'limit' if limit else 'all'}"
        self._server_pid = server_pid
        r.table_create(self._table).run(self._conn)
        r.table(self._table).index_create("v").run(self._conn)
        r.table(self._table).index_wait().run(self._conn)
        self._reader = None
        if feeds:
            command = [sys.executable, "-c", CONSUMER, str(port), self._table, str(feeds), "limit" if limit else "all"]
            self._reader = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert self._reader.stdout is not None and self._reader.stdout.readline().strip() == "ready"
        self._written = 0
        self._rounds = 0

    def round(self, count: int) -> tuple[float, float | None]:
        """Writes/s of `count` single inserts, and the server's CPU seconds per write (None without /proc)."""
        table = r.table(self._table)
        cpu = server_cpu(self._server_pid)
        started = time.perf_counter()
        for _ in range(count):
            self._written += 1
            table.insert({"v": self._written * 7919 % 1000}).run(self._conn, durability="soft")
        elapsed = time.perf_counter() - started
        if self._reader is not None:  # every feed sees the round's last write (it beats every row of a limit feed)
            self._rounds += 1
            table.insert({"v": -self._rounds, "end": self._rounds}).run(self._conn, durability="soft")
            assert self._reader.stdout is not None and self._reader.stdout.readline().strip() == str(self._rounds)
        used = server_cpu(self._server_pid)
        per_write = (used - cpu) / count if used is not None and cpu is not None else None
        return count / elapsed, per_write

    def close(self) -> None:
        if self._reader is not None:
            self._reader.kill()
            self._reader.wait()
        r.table_drop(self._table).run(self._conn)
        self._conn.close()


def server_cpu(pid: int) -> float | None:
    """CPU seconds the server's threads have used so far, from /proc (None elsewhere)."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks.iterdir()) / 1e9
    except (OSError, ValueError):
        return None


def write_costs(port: int, server_pid: int, rounds: int, count: int) -> None:
    cases = [WriteCase(port, server_pid, feeds, limit) for feeds, limit in ((0, False), (1, False), (10, False),
                                                                         (100, False), (10, True))]  # fmt: skip
    results: list[list[tuple[float, float | None]]] = [[] for _ in cases]
    try:
        for _ in range(rounds):
            for case, result in zip(cases, results, strict=True):
                result.append(case.round(count))
    finally:
        for case in cases:
            case.close()
    base = results[0]
    base_cpu = [cpu for _, cpu in base if cpu is not None]
    print("single inserts (soft), medians of the rounds:")
    for case, result in zip(cases, results, strict=True):
        rate = statistics.median(rate for rate, _ in result)
        used = [cpu for _, cpu in result if cpu is not None]
        line = f"  {case.name + ':':22} {rate:8.0f} writes/s"
        if case.feeds:
            cost = statistics.median(b / rate for (b, _), (rate, _) in zip(base, result, strict=True))
            line += f"   cost {cost:.2f}x"
        if used:
            line += f"   server CPU {statistics.median(used) * 1e6:4.0f} us/write"
            if case.feeds and base_cpu:
                line += f" ({statistics.median(used) / statistics.median(base_cpu):.2f}x)"
        if case.feeds == 100:
            line += "   (target: cost <= 1.5x)"
        print(line)


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
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the single inserts")
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
            write_costs(port, process.pid, args.rounds, 500)
            initial, scan = snapshot_rates(port, args.rows, args.runs)
            print(f"include_initial on {args.rows} rows: {initial:8.0f} rows/s   plain scan {scan:8.0f} rows/s   "
                  f"ratio {initial / scan:.2f}   target >= 250,000 rows/s")  # fmt: skip
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()

"""Changefeed speed of the embedded server: latency, the writer's cost of attached feeds, initial snapshots.

Each figure stands next to a baseline measured in the same run:
- latency from a write's reply to its change reaching a feed client, beside the write's own round trip;
- sustained single inserts/s with 1, 10 and 100 feeds attached (read by another process), and with 10
  `order_by(index).limit(5)` feeds, beside no feeds; with the CPU time per write of the server (and its ratio to the
  server's with no feeds), of the feeds' reader and of the writer, where /proc tells them, and how many cores the
  three kept busy (the reader, a process of the official driver, shares the machine's cores: the writes/s ratio
  counts its work too, the server's CPU ratio only the server's), and the floor of the cost of 100 feeds: what it
  would be if the server spent nothing on them, its cores busy with the reader's work and the writes' alone;
- `include_initial` rows/s on a 100,000-row table, beside a plain scan of the same table.
The writes take turns: each round times every case once, in the same order, and waits until the feeds' reader has
caught up before the next case begins (so a reader still busy with one case never slows the next); a case's cost is
the median over rounds of its round's ratio to the round's writes with no feeds. The machine is shared, so read the
ratios.

--profile, then samples the server with py-spy while single inserts run with 100 feeds attached, and prints where
its threads spent the time they held the interpreter lock.

    python -m benchmarks.changefeeds [--runs 3] [--rounds 5] [--rows 100000] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from rethinkdb import RethinkDB

from benchmarks.server import PROFILE_SECONDS, print_profile, py_spy, sampled, start

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
        self._term = r.table(self._table)  # (made once: the writes time the server, not the query's making)
        self._term.index_create("v").run(self._conn)
        self._term.index_wait().run(self._conn)
        self._reader = None
        if feeds:
            command = [sys.executable, "-c", CONSUMER, str(port), self._table, str(feeds), "limit" if limit else "all"]
            self._reader = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert self._reader.stdout is not None and self._reader.stdout.readline().strip() == "ready"
        self._written = 0
        self._rounds = 0

    def write(self, _: int = 0) -> None:
        self._written += 1
        self._term.insert({"v": self._written * 7919 % 1000}).run(self._conn, durability="soft")

    def round(self, count: int) -> Round:
        """`count` single inserts, timed; the processes' CPU until the feeds' reader has seen the last of them."""
        reader = self._reader.pid if self._reader is not None else None
        before = (process_cpu(self._server_pid), process_cpu(reader))
        mine = time.process_time()
        started = time.perf_counter()
        for _ in range(count):
            self.write()
        elapsed = time.perf_counter() - started
        if self._reader is not None:  # every feed sees the round's last write (it beats every row of a limit feed)
            self._rounds += 1
            self._term.insert({"v": -self._rounds, "end": self._rounds}).run(self._conn, durability="soft")
            assert self._reader.stdout is not None and self._reader.stdout.readline().strip() == str(self._rounds)
        after = (process_cpu(self._server_pid), process_cpu(reader))
        wrote = (time.process_time() - mine) / count
        done = time.perf_counter() - started
        server, read = (_per_write(b, a, count) for b, a in zip(before, after, strict=True))
        return Round(count / elapsed, server, read, wrote, done / count)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.kill()
            self._reader.wait()
        r.table_drop(self._table).run(self._conn)
        self._conn.close()


class Round(NamedTuple):
    """One round of a case's writes: writes/s, and CPU seconds per write (None: not known) of each process."""

    rate: float
    server: float | None
    reader: float | None  # (None too when no feed is read)
    writer: float
    seconds: float  # per write, from the first write's start until the reader has seen the last

    @property
    def cores(self) -> float | None:
        """How many cores the three kept busy, on average, from the round's first write until the reader was done."""
        if self.server is None:
            return None
        return (self.server + (self.reader or 0.0) + self.writer) / self.seconds


def process_cpu(pid: int | None) -> float | None:
    """CPU seconds the threads of process `pid` have used so far, from /proc (None elsewhere, or with no pid)."""
    if pid is None:
        return None
    tasks = Path(f"/proc/{pid}/task")
    try:
        return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks.iterdir()) / 1e9
    except (OSError, ValueError):
        return None


def _per_write(before: float | None, after: float | None, count: int) -> float | None:
    return (after - before) / count if before is not None and after is not None else None


def write_costs(port: int, server_pid: int, rounds: int, count: int) -> None:
    cases = [WriteCase(port, server_pid, feeds, limit) for feeds, limit in ((0, False), (1, False), (10, False),
                                                                         (100, False), (10, True))]  # fmt: skip
    results: list[list[Round]] = [[] for _ in cases]
    try:
        for _ in range(rounds):
            for case, result in zip(cases, results, strict=True):
                result.append(case.round(count))
    finally:
        for case in cases:
            case.close()
    base = results[0]
    base_cpu = _median([one.server for one in base])
    print("single inserts (soft), medians of the rounds; CPU in us per write; cores: how many the three kept busy")
    for case, result in zip(cases, results, strict=True):
        line = f"  {case.name + ':':22} {statistics.median(one.rate for one in result):6.0f} writes/s"
        cost = statistics.median(b.rate / one.rate for b, one in zip(base, result, strict=True))
        line += f"  cost {cost:.2f}x" if case.feeds else " " * 12
        server, reader = _median([one.server for one in result]), _median([one.reader for one in result])
        if server is not None:
            line += f"   CPU: server {server * 1e6:4.0f}"
            line += f" ({server / base_cpu:.2f}x)" if case.feeds and base_cpu else " " * 8
            line += f"  reader {reader * 1e6:4.0f}" if reader is not None else " " * 13
            line += f"  writer {statistics.median(one.writer for one in result) * 1e6:4.0f}"
            line += f"   cores {_median([one.cores for one in result]):.2f}"
        if case.feeds == 100:
            line += "   (target: cost <= 1.5x)"
        print(line)
        if case.feeds == 100 and reader is not None and base_cpu is not None:
            floor = _floor(base, reader, base_cpu)
            print(f"    floor {floor:.2f}x: about what 100 feeds would cost if the server spent nothing on them (the")
            print(f"    reader's CPU per write, the writer's and the server's with no feeds, on {_cores()} cores)")


def _floor(base: list[Round], reader: float, server: float) -> float:
    """The writes/s ratio if the reader kept pace with the writes and the cores it may use were busy with its work
    and no more than the writer's and the server's with no feeds (a lower bound but for a reader left behind)."""
    writer = statistics.median(one.writer for one in base)
    rate = statistics.median(one.rate for one in base)
    return max(1.0, rate * (reader + writer + server) / _cores())


def _cores() -> int:
    """The cores this process may run on (the server and the reader are its children)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def profile_feeds(port: int, server_pid: int, seconds: float) -> None:
    """Sample the server with py-spy while single inserts run with 100 feeds attached."""
    spy = py_spy()
    if spy is None:
        return
    case = WriteCase(port, server_pid, 100, False)
    try:
        print_profile("single inserts (soft) with 100 feeds", sampled(spy, server_pid, seconds, case.write))
    finally:
        case.close()


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
    parser.add_argument("--profile", action="store_true", help="then sample the server with 100 feeds attached")
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
            if args.profile:
                profile_feeds(port, process.pid, PROFILE_SECONDS)
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()

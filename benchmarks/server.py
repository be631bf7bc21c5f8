"""Throughput of the embedded server, next to a baseline measured in the same run.

The baseline is the same driver against a trivial server (speaking the same wire protocol, in its own process)
that answers every query with a constant (a table scan with rows like the benchmark's), so a ratio shows what
evaluation and storage cost on top of the driver and the network round trip. Aggregations (group-by-count,
eq_join) run on the server over large tables and are set against a server-side scan of the same table
(`filter(False).count()` reads every row and returns one number), so their ratio shows what grouping or joining
costs on top of reading the rows. Single inserts are timed one by one while an index is built in the background on
a big table (the inserts go to that table, so they also keep the index up to date), against the same inserts with
no build running, in the same run. Prints medians of several runs; figures vary with the machine's load. With
--profile, then samples a fresh server with py-spy while it serves point gets, single and batched inserts, and prints
the functions its threads spend their time in.

    python benchmarks/server.py [--runs 5] [--group-rows 1000000] [--join-rows 100000] [--join-right 1000]
        [--build-rows 200000] [--big-rows 10000000] [--only small,aggregations,builds,growth] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB

from rethink_widgets.server import scram, wire

r = RethinkDB()
CONSTANT = b'{"t":1,"r":[{"id":1,"value":"constant"}]}'
PROFILE_SECONDS = 5  # per workload profiled
PARTS = ("small", "aggregations", "builds", "growth")  # what --only may choose
BATCH = [{"v": i, "text": "some text to store"} for i in range(1000)]  # the documents of a batched insert


# A scan of a table (`r.table(name)`, nothing more) is answered with SCAN_ROWS rows like the benchmark's own, in
# batches of SCAN_BATCH: what the driver alone costs to read a table.
SCAN_ROWS, SCAN_BATCH = 100_000, 10_000
_SCAN_BATCH = ",".join(
    f'{{"id":"3f2b1c4e-5a6d-4e7f-8a9b-{i:012d}","text":"some text to store","v":{i}}}' for i in range(SCAN_BATCH)
)


def _constant_reply(payload: bytes, scans: dict[int, int], token: int) -> bytes:
    if payload.startswith(b"[1,[15,") or (payload == b"[2]" and token in scans):
        left = scans.pop(token, SCAN_ROWS) - SCAN_BATCH
        if left > 0:
            scans[token] = left
        return f'{{"t":{3 if left > 0 else 2},"r":[{_SCAN_BATCH}],"n":[]}}'.encode()
    return CONSTANT if payload[:2] != b"[4" else b'{"t":4,"r":[]}'


async def _constant_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    credentials = scram.make_credentials("")
    scans: dict[int, int] = {}  # rows still to send, by the token of a scan
    try:
        await wire.handshake(reader, writer, lambda user: credentials if user == "admin" else None)
        while True:
            token, payload = await wire.read_frame(reader)
            if b'"noreply":true' not in payload:
                writer.write(wire.frame(token, _constant_reply(payload, scans, token)))
    except (asyncio.IncompleteReadError, ConnectionError, wire.HandshakeError):
        writer.close()


async def _serve_constant() -> None:
    server = await asyncio.start_server(_constant_client, "127.0.0.1", 0)
    print(f"Listening for client driver connections on port {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


# The issue's targets for the figures below, by the start of a figure's name.
TARGETS = {
    "point get": "ratio <= 2x",
    "single insert (soft)": "ratio <= 2x",
    "hard inserts, 8 writers": "ratio <= 3x",
    "batched insert (soft)": ">= 40,000 docs/s",
    "table scan": ">= 250,000 docs/s",
    "group-by-count": "ratio <= 1.5x",
    "eq_join": "ratio <= 3x",
    "get latency": "big / small <= 1.5x",
    "server memory": "flat (peak - before about the same for both tables)",
}


def target(name: str) -> str:
    return next((goal for start, goal in TARGETS.items() if name.startswith(start)), "-")


def start(command: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"Listening for client driver connections on port (\d+)", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError(f"{command} did not start")


def median_rate(runs: int, count: int, body: Callable[[], object]) -> float:
    """Median items per second over `runs` timed calls of `body`, each handling `count` items."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        body()
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def measure(port: int, runs: int, table: str) -> dict[str, float]:
    conn = r.connect(port=port)
    t = r.table(table)
    gets, singles, batches = 2000, 300, 20
    figures: dict[str, float] = {}
    figures["point get, queries/s"] = median_rate(runs, gets, lambda: [t.get(i % 1000).run(conn) for i in range(gets)])
    counter = iter(range(10**9))
    figures["single insert (soft), docs/s"] = median_rate(
        runs, singles, lambda: [t.insert({"v": next(counter)}).run(conn, durability="soft") for _ in range(singles)]
    )

    def updates() -> None:
        for i in range(singles):  # (a new value each time: an update that changes nothing writes nothing)
            t.get(i).update({"v": next(counter)}).run(conn, durability="soft")

    figures["single update (soft), docs/s"] = median_rate(runs, singles, updates)
    figures["single insert (hard), docs/s"] = median_rate(
        runs, singles, lambda: [t.insert({"v": next(counter)}).run(conn) for _ in range(singles)]
    )
    figures["hard inserts, 8 writers, docs/s"] = concurrent_hard_inserts(port, runs, table)
    figures["batched insert (soft), docs/s"] = median_rate(
        runs, len(BATCH) * batches, lambda: [t.insert(BATCH).run(conn, durability="soft") for _ in range(batches)]
    )
    scanned = len(list(t.run(conn)))
    figures["table scan, docs/s"] = median_rate(runs, scanned, lambda: list(t.run(conn)))
    conn.close()
    return figures


def concurrent_hard_inserts(port: int, runs: int, table: str, writers: int = 8, each: int = 100) -> float:
    """Median docs/s of `writers` connections, each inserting `each` single documents (hard) one after another, all
    at once: the writes that commit together share an fsync (group commit)."""
    conns = [r.connect(port=port) for _ in range(writers)]

    def write(conn: Any) -> None:
        for i in range(each):
            r.table(table).insert({"v": i}).run(conn)

    def all_writers() -> None:
        threads = [threading.Thread(target=write, args=(conn,)) for conn in conns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    rate = median_rate(runs, writers * each, all_writers)
    for conn in conns:
        conn.close()
    return rate


def measure_side_by_side(constant_port: int, port: int, runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """`measure` of the constant server and of ours, run after run in turn (so that both see the same load on a
    shared machine), as the medians of each figure."""
    constant_runs, our_runs = [], []
    for _ in range(runs):
        constant_runs.append(measure(constant_port, 1, "bench"))
        our_runs.append(measure(port, 1, "bench"))
    return _medians(constant_runs), _medians(our_runs)


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(figures[name] for figures in runs) for name in runs[0]}


def fill(conn: Any, name: str, rows: int, doc: Callable[[Any], Any]) -> None:
    """A table of `rows` documents made on the server (`doc` maps r.range's numbers to documents), its log then
    copied into the database file (`sync`), so that no checkpoint runs beside what is measured next."""
    r.table_create(name).run(conn)
    chunk = 50_000
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        r.table(name).insert(r.range(start, stop).map(doc)).run(conn, durability="soft")
    r.table(name).sync().run(conn)


def measure_aggregations(
    port: int, runs: int, group_rows: int, join_rows: int, join_right: int
) -> dict[str, tuple[float, float]]:
    """rows/s of each aggregation, with the rows/s of a server-side scan of the same table."""
    conn = r.connect(port=port)
    fill(conn, "groups", group_rows, lambda i: {"id": i, "g": i % 100, "v": i})
    fill(conn, "left", join_rows, lambda i: {"id": i, "k": i % join_right})
    fill(conn, "right", join_right, lambda i: {"id": i, "name": "right"})
    groups, left, right = r.table("groups"), r.table("left"), r.table("right")
    assert len(groups.group("g").count().run(conn)) == min(100, group_rows)
    assert left.eq_join("k", right).count().run(conn) == join_rows
    figures = {
        f"group-by-count, {group_rows:,} rows": paired_rates(
            runs,
            group_rows,
            lambda: groups.group("g").count().run(conn),
            lambda: groups.filter(False).count().run(conn),
        ),
        f"eq_join, {join_rows:,} x {join_right:,} rows": paired_rates(
            runs,
            join_rows,
            lambda: left.eq_join("k", right).count().run(conn),
            lambda: left.filter(False).count().run(conn),
        ),
    }
    conn.close()
    return figures


def paired_rates(runs: int, count: int, body: Callable[[], object], scan: Callable[[], object]) -> tuple[float, float]:
    """Median items per second of `body` and of `scan`, timed in turn run after run (so that both see the same load
    of a shared machine) after one untimed run of each (the first reads of a fresh table are slower)."""
    body()
    scan()
    pairs = [(median_rate(1, count, body), median_rate(1, count, scan)) for _ in range(runs)]
    return statistics.median(rate for rate, _ in pairs), statistics.median(rate for _, rate in pairs)


PAD = "some text to store with each row of the tables grown big " * 2  # 118 characters


def measure_growth(port: int, pid: int, runs: int, big_rows: int, small_rows: int = 10_000) -> dict[str, Any]:
    """How the server grows with a table: point get latency (ms, median) on a table of `small_rows` rows and on one of
    `big_rows`, taken in turn, and the server's resident memory before and at its peak while one client reads each
    table whole through the driver (keeping no row), beside what the big table's rows take as Python objects."""
    conn = r.connect(port=port)
    tables = {"small": ("grown_small", small_rows), "big": ("grown_big", big_rows)}
    for name, rows in tables.values():
        fill(conn, name, rows, lambda i: {"id": i, "v": i, "pad": PAD})
    latencies: dict[str, list[float]] = {"small": [], "big": []}
    keys = random.Random(1)
    for _ in range(runs):
        for size, (name, rows) in tables.items():
            for _ in range(500):
                key = keys.randrange(rows)
                started = time.perf_counter()
                r.table(name).get(key).run(conn)
                latencies[size].append((time.perf_counter() - started) * 1000)
    figures: dict[str, Any] = {f"{size} get ms": statistics.median(latencies[size]) for size in tables}
    for size, (name, _rows) in tables.items():
        before, peak = scan_memory(conn, pid, name)
        figures[f"{size} rss before MB"], figures[f"{size} rss peak MB"] = before, peak
    figures["big as objects MB"] = big_rows * python_bytes(r.table("grown_big").get(1).run(conn)) / 2**20
    conn.close()
    return figures


def scan_memory(conn: Any, pid: int, table: str) -> tuple[float, float]:
    """Resident memory (MB) of process `pid` just before a client reads `table` whole, and its peak meanwhile."""
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(resident_mb(pid))
            time.sleep(0.005)

    before = resident_mb(pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in r.table(table).run(conn):
        pass
    done.set()
    sampler.join()
    return before, max(samples, default=before)


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match[1]) / 1024 if match else 0.0


def python_bytes(value: Any) -> int:
    """What a decoded document takes as Python objects (its dicts, lists, strings and numbers)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(python_bytes(key) + python_bytes(item) for key, item in value.items())
    elif isinstance(value, list):
        size += sum(python_bytes(item) for item in value)
    return size


def insert_latencies(conn: Any, table: str, count: int) -> list[float]:
    """Milliseconds each of `count` single (soft) inserts took."""
    out = []
    for _ in range(count):
        started = time.perf_counter()
        r.table(table).insert({"v": -1}).run(conn, durability="soft")
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure_index_build(port: int, runs: int, rows: int) -> dict[str, list[float]]:
    """Single insert latencies (ms) with no build running, and while another connection's index builds on `rows` rows;
    also the seconds each build took."""
    conn, writer = r.connect(port=port), r.connect(port=port)
    fill(conn, "indexed", rows, lambda i: {"id": i, "v": i})
    t = r.table("indexed")
    figures: dict[str, list[float]] = {"no build": [], "during build": [], "build seconds": []}
    for _ in range(runs):
        figures["no build"] += insert_latencies(writer, "indexed", 300)
        started = time.perf_counter()
        t.index_create("v").run(conn)
        while not t.index_status("v").nth(0)["ready"].run(conn):
            figures["during build"] += insert_latencies(writer, "indexed", 50)
        figures["build seconds"].append(time.perf_counter() - started)
        t.index_drop("v").run(conn)
    conn.close()
    writer.close()
    return figures


def print_growth(growth: dict[str, Any], big_rows: int) -> None:
    small, big = growth["small get ms"], growth["big get ms"]
    print(f"\n{'how it grows':34} {'10,000 rows':>12} {f'{big_rows:,} rows':>16} {'ratio':>7}  target")
    name = "get latency, ms (median)"
    print(f"{name:34} {small:12.3f} {big:16.3f} {big / small:6.2f}x  {target(name)}")
    for size, rows in (("small", 10_000), ("big", big_rows)):
        before, peak = growth[f"{size} rss before MB"], growth[f"{size} rss peak MB"]
        print(
            f"server memory scanning {rows:,} rows: {before:.0f} MB before, peak {peak:.0f} MB (+{peak - before:.0f})"
        )
    objects = growth["big as objects MB"]
    print(f"  ({big_rows:,} rows take {objects:,.0f} MB as Python objects)  target: {target('server memory')}")


def profile_queries(seconds: float) -> None:
    """Sample a fresh embedded server with py-spy while one client runs point gets, single soft inserts, then batches
    of soft inserts, and print where the server's threads spent the time they held the interpreter lock (waiting is
    left out)."""
    spy = py_spy()
    if spy is None:
        return
    with tempfile.TemporaryDirectory() as directory:
        server, port = start(
            [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        )
        try:
            conn = r.connect(port=port)
            r.table_create("profiled").run(conn)
            t = r.table("profiled")
            t.insert([{"id": i, "v": i} for i in range(1000)]).run(conn)
            workloads: dict[str, Callable[[int], object]] = {
                "point get": lambda i: t.get(i % 1000).run(conn),
                "single insert (soft)": lambda i: t.insert({"v": i}).run(conn, durability="soft"),
                "batched insert (soft)": lambda _: t.insert(BATCH).run(conn, durability="soft"),
            }
            for name, query in workloads.items():
                samples = sampled(spy, server.pid, seconds, query)
                print_profile(name, samples)
            conn.close()
        finally:
            server.terminate()
            server.wait()


def py_spy() -> str | None:
    """Where py-spy is (beside this Python first), or None, saying how to install it."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("--profile needs py-spy (pip install py-spy)")
    return spy


def sampled(spy: str, pid: int, seconds: float, query: Callable[[int], object]) -> str:
    """py-spy's raw samples of process `pid` (threads holding the GIL) while this thread runs query(0), query(1)..."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        command = [spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "500", "-f", "raw", "--threads"]
        recorder = subprocess.Popen(
            [*command, "--gil", "-o", out.name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        i = 0
        while recorder.poll() is None:
            query(i)
            i += 1
        if recorder.returncode != 0:
            raise RuntimeError(f"py-spy failed: {recorder.stderr.read().decode() if recorder.stderr else ''}")
        return Path(out.name).read_text()


def print_profile(name: str, samples: str, top: int = 18) -> None:
    """The threads' shares of the samples, then the functions with the most samples of their own (self) and with
    the most samples below them (total)."""
    threads: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    below: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        # "thread (123): reql_7" -> "reql": the worker threads together
        threads[re.sub(r"_\d+$", "", thread.partition(": ")[2])] += count
        names = [re.sub(r":\d+\)$", ")", frame) for frame in frames]  # one entry per function, not per line
        if names:
            own[names[-1]] += count
        for function in set(names):
            below[function] += count
        total += count
    print(f"\nprofile: {name} ({total} samples holding the GIL)")
    print("  threads: " + ", ".join(f"{thread} {count / total:.0%}" for thread, count in threads.most_common()))
    print(f"  {'self':>6} {'total':>6}  function (most self time first)")
    for function, count in own.most_common(top):
        print(f"  {count / total:6.1%} {below[function] / total:6.1%}  {function}")


def print_small(baseline: dict[str, float], figures: dict[str, float]) -> None:
    print(f"{'measure':34} {'embedded':>12} {'constant':>12} {'ratio':>7}  target")
    for name, value in figures.items():
        base = baseline.get(name)
        if base is None:
            print(f"{name:34} {value:12,.0f} {'-':>12} {'-':>7}  {target(name)}")
        else:
            print(f"{name:34} {value:12,.0f} {base:12,.0f} {base / value:6.2f}x  {target(name)}")
    print("ratio = constant server rate / embedded server rate (lower is better; 1.0 = no cost beyond the driver)")
    print()


def print_aggregations(aggregations: dict[str, tuple[float, float]]) -> None:
    print(f"{'aggregation (on the server)':34} {'rows/s':>12} {'scan rows/s':>12} {'ratio':>7}  target")
    for name, (value, scan) in aggregations.items():
        print(f"{name:34} {value:12,.0f} {scan:12,.0f} {scan / value:6.2f}x  {target(name)}")
    print("ratio = rate of scanning the same table / rate of the aggregation (1.0 = no cost beyond reading the rows)")
    print()


def print_builds(builds: dict[str, list[float]], build_rows: int) -> None:
    seconds = statistics.median(builds.pop("build seconds"))
    print(f"single insert (soft) latency, ms       {'p50':>8} {'p99':>8} {'inserts':>8}")
    for name, latencies in builds.items():
        p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
        print(f"{name:38} {p50:8.2f} {p99:8.2f} {len(latencies):8}")
    print(f"during build = while an index is built on {build_rows:,} rows (median build: {seconds:.1f} s)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--group-rows", type=int, default=1_000_000, help="rows grouped and counted")
    parser.add_argument("--join-rows", type=int, default=100_000, help="rows on the left of eq_join")
    parser.add_argument("--join-right", type=int, default=1_000, help="rows of the table eq_join looks up")
    parser.add_argument("--build-rows", type=int, default=200_000, help="rows of the table an index is built on")
    parser.add_argument(
        "--big-rows", type=int, default=10_000_000, help="rows of the big table (about 2.5 minutes to fill)"
    )
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(PARTS),
        help=f"run only these parts, comma-separated: {','.join(PARTS)} (default: all)",
    )
    parser.add_argument("--profile", action="store_true", help="also print where the server spends its time")
    parser.add_argument("--serve-constant", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only - set(PARTS):
        parser.error(f"--only takes {','.join(PARTS)}")
    if args.serve_constant:
        asyncio.run(_serve_constant())
        return
    with tempfile.TemporaryDirectory() as directory:
        ours, port = start(
            [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        )
        constant, constant_port = start([sys.executable, __file__, "--serve-constant"])
        try:
            conn = r.connect(port=port)
            r.table_create("bench").run(conn)
            r.table("bench").insert([{"id": i, "v": i} for i in range(1000)]).run(conn)
            conn.close()
            if "small" in args.only:
                print_small(*measure_side_by_side(constant_port, port, args.runs))
            if "aggregations" in args.only:
                aggregations = measure_aggregations(port, args.runs, args.group_rows, args.join_rows, args.join_right)
                print_aggregations(aggregations)
            if "builds" in args.only:
                print_builds(measure_index_build(port, args.runs, args.build_rows), args.build_rows)
            if "growth" in args.only:
                print_growth(measure_growth(port, ours.pid, args.runs, args.big_rows), args.big_rows)
        finally:
            ours.terminate()
            constant.terminate()
            ours.wait()
            constant.wait()
    if args.profile:
        profile_queries(PROFILE_SECONDS)


if __name__ == "__main__":
    main()

"""LiveTable's cost: latency to the front end, traffic per 1,000 changes, and kernel memory per row.

Each figure stands next to a baseline measured in the same run:
- latency from a database write to the widget's comm message reaching a front end (a jupyter_client reader),
  beside the write's own round trip;
- messages and bytes the widget sends for 1,000 changes on a 10,000-row table, beside the naive approach of
  re-sending the whole result as one trait on every change;
- memory per row held for a large table (result set and sorted view), beside the same rows as a plain list;
- time to apply a sort and then a filter to a large table, and the longest the kernel's loop is stalled meanwhile,
  building the new order in steps as LiveTable does, beside building it in one go (in-process, no kernel; rows
  change throughout, and the stepped order must end equal to the one built in one go).
Medians where there are several runs; the machine is shared, so read the ratios.

    python -m benchmarks.livetable [--rows 1000000] [--writes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB

from benchmarks.harness import ms, percentile
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

    def has_total(total: int) -> Callable[[], bool]:
        return lambda: kernel.state(comm)["total"] == total

    for i in range(writes):
        time.sleep(0.05)  # a quiet spell, so each write is the first after one (the throttle sends it at once)
        sent = time.perf_counter()
        r.table("latency").insert({"id": i}).run(conn, durability="soft")
        replied = time.perf_counter()
        kernel.wait_for(has_total(i + 1), what=f"write {i}")
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
    from rethink_widgets.jupyter.connection import Connector, Settings
    from rethink_widgets.jupyter.feeds import LiveFeed
    from rethink_widgets.jupyter.table_view import TableView

    database = Connector(Settings(host="127.0.0.1", port=port))
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


async def rebuilds(rows: int, runs: int) -> dict[str, list[tuple[float, float]]]:
    """Per way of building ("in steps", "in one go"), per run: (seconds to apply a sort then a filter, longest
    stall of the loop)."""
    from rethink_widgets.jupyter.live_widget import STEP_SECONDS
    from rethink_widgets.jupyter.results import ResultSet
    from rethink_widgets.jupyter.table_view import TableView

    result = ResultSet("id")
    for i in range(rows):
        result.apply({"new_val": {"id": i, "name": f"row {i}", "n": i % 97}})
    view = TableView(result)
    figures: dict[str, list[tuple[float, float]]] = {"in steps": [], "in one go": []}
    for _ in range(runs):
        for way, measured in figures.items():
            view.configure((), "")
            view.settle()
            measured.append(await _sort_then_filter(view, way == "in steps", STEP_SECONDS))
            stepped = view.page(0, rows)
            view.rebuild()
            if stepped != view.page(0, rows):
                raise AssertionError("the order built in steps differs from the one built in one go")
    return figures


async def _sort_then_filter(view: Any, in_steps: bool, step_seconds: float) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    rng = random.Random(1)
    stalls = [0.0]
    done = asyncio.Event()

    async def tick() -> None:  # a feed update or a cell, waiting for its turn on the loop
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - before - 0.001)
            i = rng.randrange(len(view.result))
            view.apply(view.result.apply({"old_val": view.result.get(str(i)), "new_val": {"id": i, "n": -1}}))

    def build(steps: list[tuple[tuple[tuple[str, bool], ...], str]]) -> None:
        if not steps:
            done.set()
        elif in_steps:
            view.configure(*steps[0])
            _steps(view, step_seconds, loop, lambda: build(steps[1:]))
        else:
            view.configure(*steps[0])
            view.settle()
            loop.call_soon(build, steps[1:])

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    build([((("n", False),), ""), ((("n", False),), "row 1")])
    await done.wait()
    elapsed = time.perf_counter() - start
    await ticker
    return elapsed, max(stalls)


def _steps(view: Any, seconds: float, loop: asyncio.AbstractEventLoop, then: Any) -> None:
    """Build as LiveTable does: a slice of `seconds`, then the loop's other work, until built."""
    if view.advance(seconds):
        then()
    else:
        loop.call_soon(_steps, view, seconds, loop, then)


def _held() -> int:
    """Bytes of Python objects alive now."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the memory figure")
    parser.add_argument("--writes", type=int, default=200, help="writes for the latency figure")
    parser.add_argument("--runs", type=int, default=3, help="runs of the sort-and-filter figure")
    parser.add_argument("--only-rebuild", action="store_true", help="print only the sort-and-filter figure")
    args = parser.parse_args()
    print_rebuilds(args.rows, args.runs)
    if args.only_rebuild:
        return
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        process, port = start(command)
        kernel = Kernel(Path(directory), {"RETHINKDB_HOST": "127.0.0.1", "RETHINKDB_PORT": str(port)})
        try:
            kernel.run("%load_ext rethink_widgets")
            conn = r.connect(port=port)
            after, trips = latency(kernel, conn, args.writes)
            print("latency, write reply -> LiveTable update at the front end")
            print(f"  p50 {ms(statistics.median(after))}   p99 {ms(percentile(after, 0.99))}")
            print(f"  baseline: the write's round trip p50 {ms(statistics.median(trips))}")
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


def print_rebuilds(rows: int, runs: int) -> None:
    figures = asyncio.run(rebuilds(rows, runs))
    print(f"a sort then a filter on {rows:,} rows (medians of {runs}), rows changing throughout")
    for way, measured in figures.items():
        took = statistics.median(elapsed for elapsed, _ in measured)
        stall = statistics.median(stall for _, stall in measured)
        print(f"  {way:9}: {took:5.2f} s to apply, longest loop stall {ms(stall)}")
    (steps, step_stall), (whole, whole_stall) = (
        (statistics.median(e for e, _ in m), statistics.median(s for _, s in m)) for m in figures.values()
    )
    print(f"  ratio: {whole_stall / step_stall:,.0f}x shorter stall, {steps / whole:.2f}x the time to apply")


if __name__ == "__main__":
    main()

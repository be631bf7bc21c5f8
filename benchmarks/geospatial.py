"""Geospatial index reads and r.js calls of the embedded server, each next to a baseline in the same run.

A table of random points (within 20 degrees of (0, 0)) gets a geospatial index. `get_intersecting` with a 100 km
circle and `get_nearest` within 50 km are timed against what answers the same question without the index: a scan
testing every row (`filter(intersects)`, and `filter(distance <= max).order_by(distance)`), so the ratio shows what
the index saves; both give the same rows (checked). Then a script's function mapped over rows (`map(r.js(...))`) is
timed against the same map written in ReQL: the ratio is what a call to a worker process costs. Prints medians of
several runs; figures vary with the machine's load.

    python -m benchmarks.geospatial [--rows 100000] [--runs 5] [--calls 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from rethinkdb import RethinkDB

from benchmarks.server import start

r = RethinkDB()
RADIUS_M = 100_000
NEAREST_M = 50_000


def median_seconds(runs: int, body: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        body()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fill(conn: Any, rows: int) -> None:
    r.table_create("places").run(conn)
    rng = random.Random(1)
    for start_id in range(0, rows, 10_000):
        batch = [
            {"id": i, "at": r.point(rng.uniform(-20, 20), rng.uniform(-20, 20))}
            for i in range(start_id, min(rows, start_id + 10_000))
        ]
        r.table("places").insert(batch, durability="soft").run(conn)
    r.table("places").index_create("at", geo=True).run(conn)
    r.table("places").index_wait().run(conn)


def indexed_reads(conn: Any, runs: int) -> None:
    places, rng = r.table("places"), random.Random(2)
    centers = [r.point(rng.uniform(-15, 15), rng.uniform(-15, 15)) for _ in range(runs)]
    circles = iter([r.circle(center, RADIUS_M) for center in centers] * 2)
    indexed = median_seconds(runs, lambda: places.get_intersecting(next(circles), index="at")["id"].run(conn))
    scanned = median_seconds(
        runs, lambda: places.filter(lambda row: row["at"].intersects(next(circles))).count().run(conn)
    )
    same = sorted(places.get_intersecting(r.circle(centers[0], RADIUS_M), index="at")["id"].run(conn)) == sorted(
        places.filter(lambda row: row["at"].intersects(r.circle(centers[0], RADIUS_M)))["id"].run(conn)
    )
    print(f"get_intersecting, {RADIUS_M // 1000} km circle: {indexed * 1000:9.1f} ms   scan: {scanned * 1000:9.1f} ms"
          f"   {scanned / indexed:8.1f}x faster   same rows: {same}")  # fmt: skip
    points = iter(centers * 2)
    indexed = median_seconds(runs, lambda: places.get_nearest(next(points), index="at", max_dist=NEAREST_M).run(conn))

    def by_scan(center: Any) -> Any:
        near = places.filter(lambda row: row["at"].distance(center) <= NEAREST_M)
        return near.order_by(lambda row: row["at"].distance(center)).limit(100).run(conn)

    scanned = median_seconds(runs, lambda: by_scan(next(points)))
    same = [hit["doc"]["id"] for hit in places.get_nearest(centers[0], index="at", max_dist=NEAREST_M).run(conn)] == [
        row["id"] for row in by_scan(centers[0])
    ]
    print(f"get_nearest, {NEAREST_M // 1000} km:           {indexed * 1000:9.1f} ms   scan: {scanned * 1000:9.1f} ms"
          f"   {scanned / indexed:8.1f}x faster   same rows: {same}")  # fmt: skip


def script_calls(conn: Any, runs: int, calls: int) -> None:
    script = r.js("(function (x) { return x * 2; })")
    in_js = median_seconds(runs, lambda: r.range(calls).map(script).sum().run(conn))
    in_reql = median_seconds(runs, lambda: r.range(calls).map(lambda x: x * 2).sum().run(conn))
    print(f"map over {calls:,} rows: r.js {calls / in_js:9,.0f} calls/s ({in_js / calls * 1e6:.0f} us each)"
          f"   ReQL {calls / in_reql:11,.0f} rows/s   r.js costs {in_js / in_reql:.0f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server, port = start(
            [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        )
        try:
            conn = r.connect(port=port)
            started = time.perf_counter()
            fill(conn, args.rows)
            print(f"{args.rows:,} random points, indexed in {time.perf_counter() - started:.1f} s")
            indexed_reads(conn, args.runs)
            script_calls(conn, args.runs, args.calls)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()

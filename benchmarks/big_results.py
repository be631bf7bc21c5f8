"""Big results in LiveTable: how soon rows show, how long a re-sort and a re-filter take, what the kernel holds.

Each figure stands next to a baseline measured in the same run:
- seconds from running the cell to the first rows reaching a front end (a jupyter_client reader) and to `ready`,
  beside the raw driver reading the same snapshot (`changes(include_initial=True)`) to its first row and to `ready`;
  and the longest the kernel's loop stalled meanwhile (a task in the kernel that sleeps 5 ms and notes its lateness);
- seconds to apply a sort, then a filter, on the largest table (until the new order is built) and the longest loop
  stall meanwhile, beside the same sort and filter done the plain way in one go (`sorted` by ReQL's order, then a
  list comprehension), which holds the loop all along;
- seconds to sort by a text column descending, beside the same sort ascending (descending keys must not be slower);
- the kernel's resident memory for the table, beside a kernel holding the same rows as a plain list.
The machine is shared: figures vary with its load, read the ratios.

    python -m benchmarks.big_results [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB

from benchmarks.harness import LOOP_PROBE
from benchmarks.server import start

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel import Kernel  # the tests' front-end stand-in

r = RethinkDB()

PROBE = (
    LOOP_PROBE
    + """
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024
"""
)

REORDER = """
lag["max"] = 0.0
started = time.perf_counter()
t.sort = {sort!r}
t.filter = {filter!r}
await asyncio.sleep(0)  # the new order starts building on the loop
while t.view.building:
    await asyncio.sleep(0.002)
print(time.perf_counter() - started, lag["max"], len(t.view))
"""

PLAIN_REORDER = """
from rethink_widgets.jupyter.filtering import cell_text
from rethink_widgets.jupyter.sorting import sort_key
lag["max"] = 0.0
started = time.perf_counter()
rows = t.feed.result.rows()
ordered = sorted(rows, key=lambda row: (sort_key(row.get({column!r})), sort_key(row["id"])))
kept = [row for row in ordered if any({needle!r} in cell_text(v).casefold() for v in row.values())]
elapsed = time.perf_counter() - started
await asyncio.sleep(0.02)  # the probe notes the stall
print(elapsed, lag["max"], len(kept))
del rows, ordered, kept
"""


def fill(port: int, name: str, rows: int) -> None:
    conn = r.connect(port=port)
    r.table_create(name).run(conn)
    for start_id in range(0, rows, 20_000):
        docs = [{"id": i, "name": f"row {i}", "n": i % 97} for i in range(start_id, min(rows, start_id + 20_000))]
        r.table(name).insert(docs).run(conn, durability="soft")
    conn.close()


async def raw_snapshot(port: int, name: str) -> tuple[float, float]:
    """Seconds to the first row and to `ready` of the raw driver reading the table's snapshot."""
    ra = RethinkDB()
    ra.set_loop_type("asyncio")
    conn = await ra.connect(port=port)
    started = time.perf_counter()
    cursor = await ra.table(name).changes(include_initial=True, include_states=True, squash=True).run(conn)
    first = 0.0
    async for message in cursor:
        if not first and "new_val" in message:
            first = time.perf_counter() - started
        if message.get("state") == "ready":
            break
    ready = time.perf_counter() - started
    await cursor.close()
    await conn.close()
    return first, ready


def run(kernel: Kernel, code: str, timeout: float = 600) -> str:
    cell = kernel.run(code, timeout=timeout)
    if cell.error:
        raise RuntimeError(cell.error)
    return cell.stdout or cell.text


def open_kernel(directory: Path, port: int) -> Kernel:
    kernel = Kernel(directory, {"RETHINKDB_HOST": "127.0.0.1", "RETHINKDB_PORT": str(port)})
    run(kernel, "%load_ext rethink_widgets")
    run(kernel, PROBE)
    return kernel


def live_table(kernel: Kernel, name: str) -> tuple[float, float, float, int]:
    """(seconds to the first rows at the front end, seconds to ready, longest loop stall, bytes the table added)."""
    before = int(run(kernel, "rss()"))
    run(kernel, 'lag["max"] = 0.0')
    kernel.updates.clear()
    started = time.time()  # the clock the kernel stamps its messages with
    run(kernel, f"t = LiveTable(r.table('{name}')); t")
    kernel.wait_for(lambda: any(s.get("status") == "ready" for s in kernel.states.values()), 600, "ready")
    first = min(sent for sent, _, state in kernel.updates if state.get("window_rows"))
    ready = min(sent for sent, _, state in kernel.updates if state.get("status") == "ready")
    stall = float(run(kernel, 'lag["max"]'))
    after = int(run(kernel, "import gc; gc.collect(); rss()"))
    return first - started, ready - started, stall, after - before


def plain_list_bytes(kernel: Kernel, name: str) -> int:
    before = int(run(kernel, "rss()"))
    run(kernel, f"rows = list(r.table('{name}').run(conn))")
    return int(run(kernel, "import gc; gc.collect(); rss()")) - before


def reorder(kernel: Kernel, plain: bool, **how: Any) -> tuple[float, float, int]:
    """(seconds, longest loop stall, rows matched) of a sort with a filter, LiveTable's way or the plain way."""
    code = PLAIN_REORDER.format(**how) if plain else REORDER.format(**how)
    elapsed, stall, matched = run(kernel, code).split()
    return float(elapsed), float(stall), int(matched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory", directory]
        process, port = start(command)
        try:
            for size in args.sizes:
                measure(Path(directory), port, size, last=size == max(args.sizes))
        finally:
            process.terminate()
            process.wait()


def measure(directory: Path, port: int, size: int, last: bool) -> None:
    name = f"big_{size}"
    fill(port, name, size)
    raw_first, raw_ready = asyncio.run(raw_snapshot(port, name))
    kernel = open_kernel(directory, port)
    try:
        first, ready, stall, held = live_table(kernel, name)
        print(f"{size:,} rows: LiveTable first rows at the front end {first:6.2f} s, ready {ready:6.2f} s")
        print(f"  baseline, the raw driver: first row {raw_first:6.2f} s, ready {raw_ready:6.2f} s")
        print(f"  ratio: ready {ready / raw_ready:.2f}x the raw driver's; longest loop stall {stall * 1e3:.0f} ms")
        if last:
            sort = reorder(kernel, False, sort=["n", "asc"], filter="")
            both = reorder(kernel, False, sort=["n", "asc"], filter="row 1")
            plain = reorder(kernel, True, column="n", needle="row 1")
            print(f"{size:,} rows: sort by n {sort[0]:.2f} s (longest loop stall {sort[1] * 1e3:.0f} ms)")
            print(f"  then filter 'row 1' {both[0]:.2f} s (longest stall {both[1] * 1e3:.0f} ms, {both[2]:,} rows)")
            print(
                f"  baseline, sorted() and a comprehension in one go: {plain[0]:.2f} s, stall {plain[1] * 1e3:.0f} ms"
            )
            ratio = plain[0] / (sort[0] + both[0])
            stall_ratio = plain[1] / max(sort[1], both[1], 1e-3)
            print(f"  ratio: {ratio:.2f}x as fast, longest stall {stall_ratio:.0f}x shorter")
            up = reorder(kernel, False, sort=["name", "asc"], filter="")
            down = reorder(kernel, False, sort=["name", "desc"], filter="")
            print(f"{size:,} rows: sort by name descending {down[0]:.2f} s (longest stall {down[1] * 1e3:.0f} ms)")
            print(f"  baseline, ascending: {up[0]:.2f} s (stall {up[1] * 1e3:.0f} ms)   ratio {down[0] / up[0]:.2f}x")
    finally:
        kernel.close()
    kernel = open_kernel(directory, port)
    try:
        plain_bytes = plain_list_bytes(kernel, name)
    finally:
        kernel.close()
    print(f"{size:,} rows: kernel memory {held / 1e6:.0f} MB ({held / size:.0f} bytes/row)")
    print(f"  baseline, the rows as a plain list: {plain_bytes / 1e6:.0f} MB   ratio {held / plain_bytes:.2f}x")


if __name__ == "__main__":
    main()

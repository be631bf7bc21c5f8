"""LiveChart against Perspective fed by hand with the same rows: what the bridge costs a person watching a chart.

One run, one JupyterLab, one Chromium, the embedded server. Each measurement gets a fresh notebook and kernel; both
widgets show Perspective's datagrid over the same table. LiveChart follows the table by its changefeed. Perspective
"by hand" is what its users do: read the rows with the driver, make a `PerspectiveWidget` of them indexed by id, and
after each write to the database push the same rows with `widget.update(rows)`. The writes are made by a coroutine in
the widget's own kernel, the same way for both.
- latency: from a write's start to the viewer showing the new row on screen (it is sorted by id, descending, so the
  new row is the first), p50 and p95, a quiet spell before each write;
- sustained changes/s: writes of 100 rows back to back for a few seconds, then the seconds until the viewer's view
  holds exactly the last values (read through its own API); changes made over the seconds from the first write until
  the viewer was exact. The bridge's overhead is the ratio of the two rates (target: at most 1.5x);
- first render: from running the cell to the first rows on screen and to the viewer's view holding every row, and
  the longest the kernel's loop was held meanwhile (a task in the kernel that sleeps 5 ms and notes its lateness), for
  a table of each size, beside Perspective loaded with the same rows as one batch (its cell's read of the rows
  counted, and printed apart; the cell holds the loop all along).
Medians of `--repeat` runs. The machine is shared: read the ratios.

    python -m benchmarks.livechart [--sizes 100000 1000000] [--repeat 3] [--writes 30] [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Browser, Page
from rethinkdb import RethinkDB

from benchmarks.harness import LOOP_PROBE, TIMEOUT, lab_and_browser, ms, percentile, run

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from jupyter_lab import Lab, open_notebook  # noqa: E402

r = RethinkDB()

ROWS = 100  # rows of the latency and flow tables
BATCH = 100  # rows per write in the flow
TARGET = 1.5  # the bridge's overhead allowed, as a ratio

# Notes, every frame, when each id first shows as the first row of the datagrid (epoch ms, the kernel's clock too);
# reads the viewer's view through Perspective's API; runs the notebook's only cell.
PAGE = """(() => {
  const now = () => performance.timeOrigin + performance.now();
  const rw = (window.rw = { now, seen: {} });
  const grid = () => document.querySelector("perspective-viewer-datagrid");
  rw.firstId = () => {
    const table = grid()?.shadowRoot?.querySelector("regular-table") ?? grid()?.querySelector("regular-table");
    const cell = table?.querySelector("tbody tr:first-child td");
    return cell ? cell.textContent.replaceAll(",", "").trim() : null;
  };
  const watch = () => {
    const id = rw.firstId();
    if (id !== null && !(id in rw.seen)) rw.seen[id] = now();
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
  rw.columns = async () => {
    const viewer = document.querySelector("perspective-viewer");
    try {
      return await (await viewer.getView()).to_columns();
    } catch {
      return null; // no view yet, or one being made anew
    }
  };
  // Now, once the viewer's view holds `rows` rows; else 0.
  rw.holding = async (rows) => {
    try {
      return (await (await document.querySelector("perspective-viewer").getView()).num_rows()) === rows ? now() : 0;
    } catch {
      return 0; // no viewer or view yet
    }
  };
  rw.runCell = () => {
    window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;
    const at = now();
    window.jupyterapp.commands.execute("notebook:run-cell");
    return at;
  };
  rw.kernel = async () => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({ code: "from ipykernel import get_connection_file\\n"
      + "print(get_connection_file())", store_history: false });
    let file = "";
    future.onIOPub = (msg) => { if (msg.header.msg_type === "stream") file += msg.content.text; };
    await future.done;
    return [kernel.id, file.trim()];
  };
})();"""

# Notes the longest the kernel's loop was held: a task that sleeps 5 ms and notes its lateness.
SETUP = (
    LOOP_PROBE
    + """
import os
from rethinkdb import RethinkDB, r
conn = r.connect(os.environ["RETHINKDB_HOST"], int(os.environ["RETHINKDB_PORT"]))
ra = RethinkDB()
ra.set_loop_type("asyncio")
aconn = await ra.connect(os.environ["RETHINKDB_HOST"], int(os.environ["RETHINKDB_PORT"]))
"""
)

# Writes `rows` to the database; by hand, then pushes them to the widget. Prints when it started (epoch s).
WRITE = """
async def write(table, rows):
    await ra.table(table).insert(rows, conflict="update").run(aconn, durability="soft")
    if by_hand:
        w.update(rows)

async def timed_write(table, rows):
    started = time.time()
    await write(table, rows)
    print(started)

async def flow(table, seconds, batch):
    started, step = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        step += 1
        await write(table, [{"id": i, "n": step} for i in range(batch)])
    print(time.time(), step)
"""


@dataclass(frozen=True)
class Widget:
    name: str
    setup: str
    cell: str  # the notebook's only cell, on {table}; it leaves the widget in `w`


WIDGETS = [
    Widget(
        "LiveChart",
        "%load_ext rethink_widgets\n" + SETUP + "by_hand = False",
        "w = LiveChart(r.table('{table}'), 'Datagrid', sort=[['id', 'desc']])\nw",
    ),
    Widget(
        "by hand",
        SETUP + "from perspective.widget import PerspectiveWidget\nby_hand = True",
        "started = time.perf_counter()\nrows = list(r.table('{table}').run(conn))\n"
        "read = time.perf_counter() - started\n"
        "w = PerspectiveWidget(rows, index='id', plugin='Datagrid', sort=[['id', 'desc']])\ndel rows\nw",
    ),
]


# ---------------------------------------------------------------- the database, the kernel, the page


def fill(address: tuple[str, int], table: str, size: int) -> None:
    conn = r.connect(*address)
    r.table_create(table).run(conn)
    for start in range(0, size, 20_000):
        docs = [{"id": i, "name": f"row {i}", "n": i % 97} for i in range(start, min(size, start + 20_000))]
        r.table(table).insert(docs).run(conn, durability="soft")
    conn.close()


@contextmanager
def session(browser: Browser, lab: Lab, widget: Widget, table: str) -> Iterator[tuple[Page, BlockingKernelClient]]:
    """A fresh notebook holding the widget's cell (not run yet), its page, and a client of its kernel set up."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(script=PAGE)
    page = context.new_page()
    path = lab.notebook(f"{widget.name.replace(' ', '-')}-{time.time_ns()}.ipynb", [widget.cell.format(table=table)])
    open_notebook(page, lab, path)
    kernel_id, connection_file = page.evaluate("rw.kernel()")
    client = BlockingKernelClient()
    client.load_connection_file(connection_file)
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        run(client, widget.setup + WRITE)
        yield page, client
    finally:
        client.stop_channels()
        context.close()
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel_id}?token={lab.token}", method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


def show(page: Page, client: BlockingKernelClient, rows: int) -> tuple[float, float, float]:
    """Runs the widget's cell; returns when it started, when its first rows were on screen and when its viewer's view
    held `rows` rows (epoch ms)."""
    started = float(page.evaluate("rw.runCell()"))
    deadline = time.monotonic() + TIMEOUT
    while not (whole := float(page.evaluate(f"rw.holding({rows})"))):  # polled: at most some 100 ms late
        if time.monotonic() > deadline:
            raise RuntimeError(f"the viewer did not hold {rows:,} rows within {TIMEOUT} s")
        time.sleep(0.1)
    page.wait_for_function("() => Object.keys(rw.seen).length > 0", timeout=TIMEOUT * 1e3)
    first = min(page.evaluate("Object.values(rw.seen)"))
    run(client, "pass")  # the cell is done
    return started, first, whole


# ---------------------------------------------------------------- the measurements


def latency(page: Page, client: BlockingKernelClient, table: str, writes: int) -> list[float]:
    show(page, client, ROWS)
    delays = []
    for i in range(writes):
        time.sleep(0.3)  # a quiet spell: the first change after one goes out at once
        key = ROWS + i
        started = float(run(client, f"await timed_write('{table}', [{{'id': {key}, 'n': {key}}}])"))
        seen = page.wait_for_function(f"() => rw.seen['{key}']", timeout=60_000).json_value()
        delays.append(seen / 1e3 - started)
    return delays


@dataclass
class Flow:
    rate: float  # changes/s from the first write until the viewer was exact
    written: float  # changes/s the writes made
    behind: float  # s from the last write to the viewer being exact


def flow(page: Page, client: BlockingKernelClient, table: str, seconds: float) -> Flow:
    show(page, client, ROWS)
    started = time.time()
    ended, steps = run(client, f"await flow('{table}', {seconds}, {BATCH})").split()
    want = [int(steps)] * ROWS
    deadline = time.monotonic() + 120
    while (page.evaluate("rw.columns()") or {}).get("n") != want:
        if time.monotonic() > deadline:
            raise RuntimeError("the viewer did not show the last values within 120 s")
        time.sleep(0.05)
    exact = time.time()
    changes = int(steps) * BATCH
    return Flow(changes / (exact - started), changes / (float(ended) - started), exact - float(ended))


@dataclass
class Render:
    first: float  # s from running the cell to the first rows on screen
    whole: float  # s to the viewer's view holding every row
    stall: float  # s, the longest the kernel's loop was held meanwhile
    read: float | None  # s the cell spent reading the rows (by hand)


def first_render(page: Page, client: BlockingKernelClient, widget: Widget, size: int) -> Render:
    run(client, 'lag["max"] = 0.0')
    started, first, whole = show(page, client, size)
    stall = float(run(client, 'print(lag["max"])'))
    read = float(run(client, "print(read)")) if widget.name == "by hand" else None
    return Render((first - started) / 1e3, (whole - started) / 1e3, stall, read)


# ---------------------------------------------------------------- the report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--writes", type=int, default=30, help="writes timed for latency, per run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the flow of writes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, lab_and_browser(Path(directory)) as (server, lab, browser):
        measure(browser, lab, (server.host, server.port), args)


def measure(browser: Browser, lab: Lab, address: tuple[str, int], args: argparse.Namespace) -> None:
    delays: dict[str, list[float]] = {widget.name: [] for widget in WIDGETS}
    flows: dict[str, list[Flow]] = {widget.name: [] for widget in WIDGETS}
    for number in range(args.repeat):  # the widgets take turns, so changes in the machine's load hit both alike
        for widget in WIDGETS:
            table = f"latency_{number}_{widget.name.replace(' ', '_')}"
            fill(address, table, ROWS)
            with session(browser, lab, widget, table) as (page, client):
                delays[widget.name] += latency(page, client, table, args.writes)
            table = f"flow_{number}_{widget.name.replace(' ', '_')}"
            fill(address, table, ROWS)
            with session(browser, lab, widget, table) as (page, client):
                flows[widget.name].append(flow(page, client, table, args.seconds))
            print(f"  (run {number + 1}: {widget.name}'s latency and flow measured)", file=sys.stderr, flush=True)
    report_latency(delays)
    report_flow(flows)
    for size in args.sizes:
        table = f"big_{size}"
        fill(address, table, size)
        renders: dict[str, list[Render]] = {widget.name: [] for widget in WIDGETS}
        for number in range(args.repeat):
            for widget in WIDGETS:
                with session(browser, lab, widget, table) as (page, client):
                    renders[widget.name].append(first_render(page, client, widget, size))
                print(f"  ({size:,} rows, run {number + 1}: {widget.name} measured)", file=sys.stderr, flush=True)
        report_render(size, renders)


def report_latency(delays: dict[str, list[float]]) -> None:
    live, hand = delays["LiveChart"], delays["by hand"]
    print(f"latency, from a write's start to the new row on screen ({len(live)} writes each)")
    print(f"  LiveChart p50 {ms(statistics.median(live))}   p95 {ms(percentile(live, 0.95))}")
    print(f"  by hand   p50 {ms(statistics.median(hand))}   p95 {ms(percentile(hand, 0.95))}")
    ratio = statistics.median(live) / statistics.median(hand)
    print(f"  ratio p50 {ratio:.2f}x, p95 {percentile(live, 0.95) / percentile(hand, 0.95):.2f}x: {_target(ratio)}")


def report_flow(flows: dict[str, list[Flow]]) -> None:
    print(f"sustained changes/s, writes of {BATCH} rows back to back, until the viewer is exact (medians)")
    rates = {}
    for name, done in flows.items():
        rates[name] = statistics.median(run.rate for run in done)
        written = statistics.median(run.written for run in done)
        behind = statistics.median(run.behind for run in done)
        print(f"  {name:9} {rates[name]:8,.0f}/s (writes made {written:,.0f}/s; exact {behind:.2f} s after the last)")
    ratio = rates["by hand"] / rates["LiveChart"]
    print(f"  ratio {ratio:.2f}x: {_target(ratio)}")


def report_render(size: int, renders: dict[str, list[Render]]) -> None:
    live, hand = renders["LiveChart"], renders["by hand"]
    first = statistics.median(run.first for run in live)
    whole = statistics.median(run.whole for run in live)
    hand_first = statistics.median(run.first for run in hand)
    hand_whole = statistics.median(run.whole for run in hand)
    stall = statistics.median(run.stall for run in live)
    hand_stall = statistics.median(run.stall for run in hand)
    read = statistics.median(run.read or 0.0 for run in hand)
    print(f"{size:,} rows: first render, from running the cell (medians of {len(live)})")
    print(
        f"  LiveChart first rows on screen {first:6.2f} s, every row in the view {whole:6.2f} s,"
        f" longest loop stall {ms(stall)}"
    )
    print(
        f"  by hand   first rows on screen {hand_first:6.2f} s, every row in the view {hand_whole:6.2f} s,"
        f" longest loop stall {ms(hand_stall)}"
    )
    print(f"    of it, the cell reading the rows {read:.2f} s")
    ratio = first / hand_first
    print(f"  ratio first rows {ratio:.2f}x ({_target(ratio)}), every row {whole / hand_whole:.2f}x")


def _target(ratio: float) -> str:
    return f"target {TARGET}x {'met' if ratio <= TARGET else 'NOT met'}"


if __name__ == "__main__":
    main()

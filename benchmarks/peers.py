"""LiveTable beside the notebook grids people choose instead: Perspective's widget and ipydatagrid, in one browser.

One run, one JupyterLab, one Chromium; the same rows ({id, name, value, count, flag}, made the same way every
time) in one table of the embedded server. Each widget gets a fresh notebook and kernel and is shown the way its
users show a database table: LiveTable reads it with a changefeed; the peers get the rows read once with the sync
driver (`list(r.table(...).run(conn))`), Perspective as a list of rows indexed by id, ipydatagrid as a DataFrame.
- first rows on screen: from running the cell to the first row's name on screen. LiveTable and Perspective draw DOM
  cells (read every frame); ipydatagrid paints a canvas, so the page notes every text it paints (`fillText`). The
  peers' cells read the rows from the database first, as their users' do; that share is printed too.
- sort by a column: from pressing the mouse on the header of `value` (ipydatagrid: on "Sort Ascending" in the
  header's menu, its way to sort) to the new first row on screen.
- the page's longest main-thread task (PerformanceObserver 'longtask', which reports tasks over 50 ms) while a
  kernel coroutine makes 1,000 changes/s to rows in sight, from the stream's start to 2 s after its end. LiveTable
  gets them through the database (writes of 50 rows or more: each carries the changes due); the peers only when
  pushed by hand, the way their docs say, with the same changes: Perspective `widget.update(rows)`, ipydatagrid
  `grid.data = frame` (its per-cell call froze the page for over a minute at 100,000 rows: see its push).
- kernel memory: the kernel's resident memory once the widget has loaded, minus before its cell ran; and again
  after `gc.collect()` and `malloc_trim(0)` (what the widget holds, without memory freed but kept by the allocator).
- staying current: a write made in the database, pushed by nobody, shows or not; after the stream, how soon the
  page shows each streamed row's last value (DOM grids), and whether LiveTable's rows equal the database's.
Medians of `--repeat` runs; the write nobody pushes and the stream are measured in the first run. The machine is
shared: read the ratios.

    python -m benchmarks.peers [--sizes 100000 1000000] [--repeat 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError
from rethinkdb import RethinkDB

from benchmarks.harness import TIMEOUT, lab_and_browser, run

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from jupyter_lab import Lab, open_notebook  # noqa: E402

r = RethinkDB()

SORT_TIMEOUT = 300
ANSWER_TIMEOUT = 60  # s a page gets to answer again after the stream before it counts as frozen
CURRENT_TIMEOUT = 30  # s a page gets to show the stream's last values
UNPUSHED_WAIT = 10  # s a widget gets to show a write nobody pushed to it
RATE = 1000  # changes/s in the stream
BATCH = 50  # changes per write (LiveTable) or push (peers), at least
STREAMED = 50  # rows changed by the stream at each end of the order by value: in sight whichever way it is sorted
COLUMNS = ["id", "name", "value", "count", "flag"]
GRID_COLUMN = 120  # px: ipydatagrid's columns (its default 64 px cuts "name 123456" short on the canvas)
ROW_HEADER = 64  # px: ipydatagrid's row header (the index column), its default

# Notes what the page draws and does, in epoch milliseconds (the kernel stamps its messages with the same clock):
# text painted on canvases (ipydatagrid), mouse presses, long tasks, and LiveTable's rows arriving from the kernel.
PAGE = """(() => {
  const now = () => performance.timeOrigin + performance.now();
  const rw = (window.rw = { now, drawn: new Map(), downs: [], tasks: [], wire: [] });
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    rw.drawn.set(String(text), now());
    return fillText.call(this, text, ...rest);
  };
  addEventListener("mousedown", () => rw.downs.push(now()), true);
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) rw.tasks.push([performance.timeOrigin + task.startTime, task.duration]);
  }).observe({ type: "longtask" });
  const kernel = () => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;

  // The rows a DOM grid shows, top first, as {column: text} (numbers without thousands separators).
  rw.rows = (grid) => {
    const table = grid === "livetable"
      ? document.querySelector(".rw-table regular-table")
      : document.querySelector("perspective-viewer-datagrid")?.shadowRoot?.querySelector("regular-table");
    if (!table) return [];
    const head = [...table.querySelectorAll("thead tr:first-child th")].map((th) => th.textContent.trim());
    return [...table.querySelectorAll("tbody tr")].map((tr) =>
      Object.fromEntries([...tr.querySelectorAll("td")].map((td, i) => [head[i], td.textContent.replaceAll(",", "")])));
  };
  // {at, value} once the first row's name is one of `names` (any row's name when null); on a canvas: once one of
  // them is painted after `since`.
  const wanted = (names, text) => (names ? names.includes(text) : /^name \\d+$/.test(text));
  rw.first = ([grid, names, since]) => {
    const value = grid === "canvas"
      ? [...rw.drawn].find(([text, at]) => at > since && wanted(names, text))?.[0]
      : rw.rows(grid)[0]?.name;
    return value && wanted(names, value) && { at: now(), value };
  };
  // {at} once row 0 shows `count`; on a canvas: once `count` is painted after `since`.
  rw.showsCount = ([grid, count, since]) => {
    const shown = grid === "canvas"
      ? (rw.drawn.get(count) ?? 0) > since
      : rw.rows(grid).some((row) => row.id === "0" && row.count === count);
    return shown && { at: now() };
  };
  // {at} once LiveTable holds all the rows.
  rw.ready = () => document.querySelector(".rw-table .rw-status")?.textContent.startsWith("ready") && { at: now() };
  rw.runCell = () => {
    window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;
    const at = now();
    window.jupyterapp.commands.execute("notebook:run-cell"); // not awaited: a lost `idle` would leave it pending
    return at;
  };
  // The notebook's kernel: its id, and its connection file (the benchmark talks to it directly from then on).
  rw.kernel = async () => {
    const future = kernel().requestExecute({ code: "from ipykernel import get_connection_file\\n"
      + "print(get_connection_file())", store_history: false });
    let file = "";
    future.onIOPub = (msg) => { if (msg.header.msg_type === "stream") file += msg.content.text; };
    await future.done;
    return [kernel().id, file.trim()];
  };
  // LiveTable's windows of rows as they arrive: when the kernel sent them, when the page got them, the first name.
  rw.listen = () => kernel().iopubMessage.connect((_, msg) => {
    const rows = msg.header.msg_type === "comm_msg" && msg.content.data?.state?.window_rows;
    if (rows && rows.length) rw.wire.push([Date.parse(msg.header.date), now(), rows[0].cells.name]);
  });
})();"""

# A kernel coroutine making RATE changes/s to `ids` in turn, through `push`, which gets the changes due so far (at
# least BATCH): a push that takes longer than a batch's share of a second gets more changes next time, not fewer.
# It prints the rate it made and the last count of each row, as JSON.
STREAM = f"""
import asyncio, json, time
async def stream(push, ids, seconds):
    started, sent, last = time.perf_counter(), 0, {{}}
    while (elapsed := time.perf_counter() - started) < seconds:
        due = max({BATCH}, int(elapsed * {RATE}) - sent)
        changes = [{{"id": ids[(sent + k) % len(ids)], "count": sent + k}} for k in range(due)]
        await push(changes)
        last.update((change["id"], change["count"]) for change in changes)
        sent += due
        await asyncio.sleep(max(0.0, started + sent / {RATE} - time.perf_counter()))
    print(json.dumps([sent / (time.perf_counter() - started), last]))
"""

# Hands memory freed in the kernel back to the system, so that what stays is what the widget holds.
TRIM = "import ctypes, gc\ngc.collect()\nctypes.CDLL('libc.so.6').malloc_trim(0)"

PEER_SETUP = """
import os, time
from rethinkdb import r
conn = r.connect(os.environ["RETHINKDB_HOST"], int(os.environ["RETHINKDB_PORT"]))
"""

# The peers' cells read the rows with the sync driver, as their users do, noting how long that took.
READ = (
    "started = time.perf_counter()\nrows = list(r.table('{table}').run(conn))\nread = time.perf_counter() - started\n"
)


def sort_livetable(page: Page) -> None:
    page.locator(".rw-table thead th", has_text="value").click()


def sort_perspective(page: Page) -> None:
    page.locator("perspective-viewer-datagrid regular-table thead tr#psp-column-titles th", has_text="value").click()


def sort_ipydatagrid(page: Page) -> None:
    # The header is painted on the canvas: its menu button sits at the right end of the column's header cell.
    box = page.locator(".lm-DataGrid-viewport canvas").first.bounding_box()
    assert box is not None
    right = ROW_HEADER + GRID_COLUMN * (COLUMNS[1:].index("value") + 1)
    page.mouse.click(box["x"] + right - 7, box["y"] + 10)
    page.locator(".lm-Menu .lm-Menu-item", has_text="Sort Ascending").click()


@dataclass(frozen=True)
class Widget:
    name: str
    setup: str  # run in the kernel before the widget's cell
    cell: str  # the cell a user runs on the table named where it says {table}; it leaves the widget in `w`
    grid: str  # how the page finds its rows: "livetable" or "perspective" (DOM cells), "canvas"
    push: str  # defines `async def push(rows)`: how a change reaches the widget ({table} as in `cell`)
    sort: Callable[[Page], None]


WIDGETS = [
    Widget(
        "LiveTable",
        "%load_ext rethink_widgets",
        "w = LiveTable(r.table('{table}'))\nw",
        "livetable",
        """
import os
from rethinkdb import RethinkDB
ra = RethinkDB()
ra.set_loop_type("asyncio")
aconn = await ra.connect(os.environ["RETHINKDB_HOST"], int(os.environ["RETHINKDB_PORT"]))
async def push(rows):
    await ra.table("{table}").insert(rows, conflict="update").run(aconn)
""",
        sort_livetable,
    ),
    Widget(
        "Perspective",
        PEER_SETUP + "from perspective.widget import PerspectiveWidget",
        READ + "w = PerspectiveWidget(rows, index='id')\ndel rows\nw",
        "perspective",
        """
async def push(rows):
    w.update(rows)
""",
        sort_perspective,
    ),
    Widget(
        "ipydatagrid",
        PEER_SETUP + "import pandas as pd\nfrom ipydatagrid import DataGrid",
        READ + f"w = DataGrid(pd.DataFrame(rows, columns={COLUMNS}).set_index('id'), base_column_size={GRID_COLUMN})\n"
        "del rows\nw",
        "canvas",
        # Its per-cell call (`set_cell_value_by_index`) froze the page for over a minute at 100,000 rows: each cell
        # makes its front end rebuild the whole view and send every row index back. Its other way holds up better.
        """
frame = w.data
async def push(rows):
    for row in rows:
        frame.at[row["id"], "count"] = row["count"]
    w.data = frame
""",
        sort_ipydatagrid,
    ),
]


@dataclass(frozen=True)
class Setting:
    browser: Browser
    lab: Lab
    address: tuple[str, int]  # the embedded server's
    seconds: float  # the stream's length


@dataclass(frozen=True)
class Rows:
    table: str
    ascending: str  # the name of the first row by value, ascending
    descending: str
    streamed: list[int]  # the ids the stream changes


@dataclass
class Stream:
    rate: float  # changes/s the kernel made
    longest_task: float | None  # ms, 0 when no task took over 50 ms; None when the page stopped answering
    long_tasks: int
    page_current: float | None  # s from the stream's end to the page showing the last values; None: it did not
    readable: bool  # whether the page's rows can be read back (not from a canvas)
    kernel_current: bool | None  # LiveTable: its rows equal the database's
    rate_limited: int  # times the Jupyter server said "IOPub message rate exceeded" and dropped messages


@dataclass
class Run:
    first_rows: float  # s
    all_rows: float  # s until all rows are loaded: LiveTable's `ready`; the peers load them all before showing any
    memory: int  # bytes
    live_memory: int = 0  # bytes, once the memory the kernel freed went back to the system
    sort: float = 0.0  # s
    direction: str = ""
    read: float | None = None  # s the peer's cell spent reading the rows
    split: dict[str, float] = field(default_factory=dict)  # LiveTable: where its time goes
    unpushed: float | None = None  # s until a write nobody pushed showed; None: it did not
    stream: Stream | None = None


def document(i: int, size: int) -> dict[str, Any]:
    # `value` runs through 0.5 .. size - 0.5 in an order unlike the ids' (7919 is prime), so a sort moves every row.
    value = (i * 7919 + 12345) % size + 0.5
    return {"id": i, "name": f"name {i}", "value": value, "count": i % 1000, "flag": i % 3 == 0}


def fill(address: tuple[str, int], size: int) -> Rows:
    table = f"bench_{size}"
    conn = r.connect(*address)
    r.table_create(table).run(conn)
    for start in range(0, size, 20_000):
        docs = [document(i, size) for i in range(start, min(size, start + 20_000))]
        r.table(table).insert(docs).run(conn, durability="soft")
    conn.close()
    by_value = sorted(range(size), key=lambda i: document(i, size)["value"])
    return Rows(table, f"name {by_value[0]}", f"name {by_value[-1]}", by_value[:STREAMED] + by_value[-STREAMED:])


# ---------------------------------------------------------------- the kernel, the page


def attach(page: Page) -> tuple[str, BlockingKernelClient]:
    """The notebook kernel's id and a client of it: code the benchmark runs there does not wait on the page."""
    kernel_id, connection_file = page.evaluate("rw.kernel()")
    client = BlockingKernelClient()
    client.load_connection_file(connection_file)
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return str(kernel_id), client


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


def wait(page: Page, test: str, arguments: list[Any], seconds: float, what: str) -> dict[str, Any]:
    """What `rw[test](arguments)` returns once it is truthy, checked at every frame. The timeout is the driver's: it
    holds even if the page stops answering."""
    try:
        handle = page.wait_for_function(
            f"(args) => rw.{test}(args)", arg=arguments, polling="raf", timeout=seconds * 1e3
        )
    except PlaywrightError as error:
        raise RuntimeError(f"{what} not within {seconds:.0f} s") from error
    found: dict[str, Any] = handle.json_value()
    return found


def answers(page: Page, seconds: float) -> bool:
    try:
        page.wait_for_function("() => true", timeout=seconds * 1e3)
    except PlaywrightError:
        return False
    return True


def rate_limited(lab: Lab) -> int:
    """How often the Jupyter server has dropped output for going over its IOPub rate (serve() logs beside root)."""
    return (lab.root.parent / "lab.log").read_text(errors="replace").count("IOPub message rate exceeded")


# ---------------------------------------------------------------- one widget, one kernel


def session(setting: Setting, widget: Widget, rows: Rows, number: int) -> Run:
    """One widget in a fresh notebook and kernel: first rows, memory, then (in the first run) a write nobody pushes,
    the sort, then (in the first run) the stream."""
    context = setting.browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(script=PAGE)
    page = context.new_page()
    lab = setting.lab
    path = lab.notebook(f"{widget.name}-{rows.table}-{number}.ipynb", [widget.cell.replace("{table}", rows.table)])
    open_notebook(page, lab, path)
    kernel_id, client = attach(page)
    try:
        run(client, widget.setup)
        pid = int(run(client, "import os; print(os.getpid())"))
        before = rss(pid)
        page.evaluate("rw.listen()")
        started = float(page.evaluate("rw.runCell()"))
        shown = wait(page, "first", [widget.grid, None, started], TIMEOUT, "rows on screen")
        ready = wait(page, "ready", [], TIMEOUT, "ready")["at"] if widget.grid == "livetable" else shown["at"]
        run(client, "pass")  # once the cell has finished
        result = Run(
            first_rows=(shown["at"] - started) / 1e3, all_rows=(ready - started) / 1e3, memory=rss(pid) - before
        )
        run(client, TRIM)
        result.live_memory = rss(pid) - before
        if widget.grid == "livetable":
            result.split = split(page, started, shown["at"], None)
        else:
            result.read = float(run(client, "print(read)"))
        if number == 0:
            result.unpushed = unpushed(page, setting.address, widget.grid, rows.table)
        widget.sort(page)
        pressed = float(page.evaluate("rw.downs.at(-1)"))
        names = [rows.ascending, rows.descending]
        ordered = wait(page, "first", [widget.grid, names, pressed], SORT_TIMEOUT, "the first row by value")
        result.sort = (ordered["at"] - pressed) / 1e3
        result.direction = "ascending" if ordered["value"] == rows.ascending else "descending"
        if widget.grid == "livetable":
            result.split |= split(page, pressed, ordered["at"], ordered["value"], "sort: ")
        if number == 0:
            result.stream = streaming(page, client, setting, widget, rows)
        return result
    finally:
        client.stop_channels()
        context.close()
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel_id}?token={lab.token}", method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


def split(page: Page, started: float, shown: float, name: str | None, prefix: str = "") -> dict[str, float]:
    """LiveTable's time from `started` to `shown`: until its kernel sent the rows, on the wire, drawing them."""
    wire = page.evaluate("rw.wire")
    arrived = [(sent, got) for sent, got, first in wire if got > started and name in (None, first)]
    if not arrived:
        return {}
    sent, got = arrived[0]
    return {
        f"{prefix}kernel": (sent - started) / 1e3,
        f"{prefix}wire": (got - sent) / 1e3,
        f"{prefix}draw": (shown - got) / 1e3,
    }


_marks = iter(range(-1, -1_000_000, -1))  # a new count for row 0 each time, so that each write changes it


def unpushed(page: Page, address: tuple[str, int], grid: str, table: str) -> float | None:
    """Seconds until a write made in the database, which nobody pushes to the widget, shows; None: it did not."""
    mark = str(next(_marks))
    written = float(page.evaluate("rw.now()"))
    conn = r.connect(*address)
    r.table(table).get(0).update({"count": int(mark)}).run(conn)
    conn.close()
    try:
        shown = wait(page, "showsCount", [grid, mark, written], UNPUSHED_WAIT, "")
    except RuntimeError:
        return None
    return float(shown["at"] - written) / 1e3


def streaming(page: Page, client: BlockingKernelClient, setting: Setting, widget: Widget, rows: Rows) -> Stream:
    run(client, STREAM + widget.push.replace("{table}", rows.table))
    limited = rate_limited(setting.lab)
    started = time.time() * 1e3  # the page may stop answering: the benchmark keeps the time
    rate, last = json.loads(run(client, f"await stream(push, {rows.streamed}, {setting.seconds})"))
    ended = time.time() * 1e3
    readable = widget.grid != "canvas"
    if not answers(page, ANSWER_TIMEOUT):
        return Stream(rate, None, 0, None, readable, None, rate_limited(setting.lab) - limited)
    page_current = current_on_page(page, widget.grid, last, ended) if readable else None
    kernel_current = None
    if widget.grid == "livetable":
        check = "print({row['id']: row for row in w.rows} == {row['id']: row for row in r.table('%s').run()})"
        kernel_current = run(client, check % rows.table).strip() == "True"
    time.sleep(max(0.0, 2 - (time.time() * 1e3 - ended) / 1e3))  # the page catching up counts too
    tasks = [duration for at, duration in page.evaluate("rw.tasks") if started <= at <= ended + 2e3]
    return Stream(
        rate,
        max(tasks, default=0.0),
        len(tasks),
        page_current,
        readable,
        kernel_current,
        rate_limited(setting.lab) - limited,
    )


def current_on_page(page: Page, grid: str, last: dict[str, int], ended: float) -> float | None:
    """Seconds from the stream's end until the streamed rows on the page show their last values; None if they do not
    within CURRENT_TIMEOUT."""
    truth = {key: str(count) for key, count in last.items()}
    deadline = time.monotonic() + CURRENT_TIMEOUT
    while time.monotonic() < deadline:
        shown = [row for row in page.evaluate("(grid) => rw.rows(grid)", grid) if row.get("id") in truth]
        if shown and all(row["count"] == truth[row["id"]] for row in shown):
            return (time.time() * 1e3 - ended) / 1e3
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- the report


def median(values: list[float]) -> float:
    return statistics.median(values)


def first_stream(done: list[Run]) -> Stream | None:
    return next((run.stream for run in done if run.stream), None)


def report(size: int, runs: dict[str, list[Run]], failures: dict[str, str]) -> None:
    print(f"\n{size:,} rows: medians of {max(map(len, runs.values()), default=0)} runs per widget")
    names = [widget.name for widget in WIDGETS]
    print(f"  {'':38}" + "".join(f"{name:>18}" for name in names))

    def line(label: str, cell: Callable[[list[Run]], str]) -> None:
        cells = [cell(runs[name]) if runs.get(name) else "failed" for name in names]
        print(f"  {label:38}" + "".join(f"{text:>18}" for text in cells))

    line("first rows on screen", lambda done: f"{median([run.first_rows for run in done]):.2f} s")
    line("  of it, the cell reading the rows", lambda done: _seconds([run.read for run in done]))
    line("all rows loaded (LiveTable: ready)", lambda done: f"{median([run.all_rows for run in done]):.2f} s")
    line("sort by value: click to new first row", lambda done: f"{median([run.sort for run in done]):.2f} s")
    line("  order of the first click", lambda done: done[0].direction)
    line("kernel memory after loading", lambda done: f"{median([run.memory for run in done]) / 1e6:.0f} MB")
    line("  once freed memory is returned", lambda done: f"{median([run.live_memory for run in done]) / 1e6:.0f} MB")
    line("a write nobody pushed shows", lambda done: _unpushed(done[0].unpushed))
    line("stream: changes/s made", lambda done: _of_stream(done, lambda stream: f"{stream.rate:,.0f}"))
    line("  longest task in the page", lambda done: _of_stream(done, _task))
    line("  tasks over 50 ms", lambda done: _of_stream(done, lambda stream: str(stream.long_tasks)))
    line("  page shows the last values after", lambda done: _of_stream(done, _current))
    line("  output dropped (IOPub rate limit)", lambda done: _of_stream(done, lambda s: f"{s.rate_limited} times"))
    for name, reason in failures.items():
        print(f"  {name} failed: {reason}")
    live = runs.get("LiveTable", [])
    if live:
        split = {key: median([run.split[key] for run in live if key in run.split]) for key in live[0].split}
        print("  LiveTable's time: " + ", ".join(f"{key} {value:.2f} s" for key, value in split.items()))
        targets(live, {name: done for name, done in runs.items() if name != "LiveTable" and done})


def targets(live: list[Run], peers: dict[str, list[Run]]) -> None:
    if not peers:
        print("  targets: no peer finished, nothing to compare with")
        return

    def best(figure: Callable[[Run], float]) -> tuple[float, str, float]:
        """(LiveTable's median, the best peer, its median)."""
        medians = {name: median([figure(run) for run in done]) for name, done in peers.items()}
        peer = min(medians, key=lambda name: medians[name])
        return median([figure(run) for run in live]), peer, medians[peer]

    first, first_peer, peer_first = best(lambda run: run.first_rows)
    sort, sort_peer, peer_sort = best(lambda run: run.sort)
    memory, memory_peer, peer_memory = best(lambda run: run.memory)
    print("  targets:")
    print(
        f"    first rows: {first:.2f} s, {first / peer_first:.2f}x the fastest peer's ({first_peer}, "
        f"{peer_first:.2f} s); no slower and within 1 s: {_met(first <= peer_first and first <= 1.0)}"
    )
    print(
        f"    sort: {sort:.2f} s, {sort / peer_sort:.2f}x the fastest peer's ({sort_peer}, {peer_sort:.2f} s): "
        f"{_met(sort <= peer_sort)}"
    )
    print(
        f"    kernel memory: {memory / 1e6:.0f} MB, {memory / peer_memory:.2f}x the leanest peer's ({memory_peer}, "
        f"{peer_memory / 1e6:.0f} MB): {_met(memory <= peer_memory)}"
    )
    live_memory, live_peer, peer_live = best(lambda run: run.live_memory)
    print(
        f"      once freed memory is returned: {live_memory / 1e6:.0f} MB, {live_memory / peer_live:.2f}x the leanest "
        f"peer's ({live_peer}, {peer_live / 1e6:.0f} MB)"
    )
    stream = first_stream(live)
    if stream is not None:
        quick = stream.longest_task is not None and stream.longest_task < 100
        print(f"    longest task during the stream: {_task(stream)}; under 100 ms: {_met(quick)}")
        alone = (
            live[0].unpushed is not None
            and bool(stream.kernel_current)
            and stream.page_current is not None
            and all(done[0].unpushed is None for done in peers.values())
        )
        print(f"    LiveTable alone exactly current with nothing pushed by hand: {_met(alone)}")


def _seconds(values: list[float | None]) -> str:
    known = [value for value in values if value is not None]
    return f"{median(known):.2f} s" if known else "-"


def _of_stream(done: list[Run], text: Callable[[Stream], str]) -> str:
    stream = first_stream(done)
    return "-" if stream is None else text(stream)


def _task(stream: Stream) -> str:
    if stream.longest_task is None:
        return f"froze >{ANSWER_TIMEOUT} s"
    return f"{stream.longest_task:.0f} ms" if stream.longest_task else "none >50 ms"


def _current(stream: Stream) -> str:
    if stream.longest_task is None:
        return "(froze)"
    if not stream.readable:
        return "not read (canvas)"
    return "never" if stream.page_current is None else f"{stream.page_current:.2f} s"


def _unpushed(seconds: float | None) -> str:
    return "never" if seconds is None else f"in {seconds:.2f} s"


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="the stream's length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, lab_and_browser(Path(directory)) as (server, lab, browser):
        setting = Setting(browser, lab, (server.host, server.port), args.seconds)
        for size in args.sizes:
            measure(setting, size, args.repeat)


def measure(setting: Setting, size: int, repeat: int) -> None:
    rows = fill(setting.address, size)
    runs: dict[str, list[Run]] = {}
    failures: dict[str, str] = {}
    for number in range(repeat):  # the widgets take turns, so changes in the machine's load hit them alike
        for widget in WIDGETS:
            if widget.name in failures:
                continue
            try:
                runs.setdefault(widget.name, []).append(session(setting, widget, rows, number))
            except (PlaywrightError, RuntimeError) as error:
                failures[widget.name] = f"run {number + 1}: {str(error).splitlines()[0]}"
            print(f"  ({size:,} rows, run {number + 1}: {widget.name} measured)", file=sys.stderr, flush=True)
    report(size, runs, failures)


if __name__ == "__main__":
    main()

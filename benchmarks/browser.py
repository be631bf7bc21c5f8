"""LiveTable as a person sees it: from a database write to the page showing it, and keeping up with floods.

Real JupyterLab and Debian's Chromium (as the browser tests use them), the default iopub rate limits left on.
- latency: from sending a write to the row appearing in the DOM (p50, p95), beside the write's own round trip,
  once with a quiet spell before each write and once with writes back to back (coalesced updates);
- keeping up: writes at 1,000 and 10,000 changes/s for a few seconds; the changes/s the database took, the page
  updates per second, and how long after the last write the page showed exactly the database's final state.
Medians and ratios: the machine is shared.

    python -m benchmarks.browser [--writes 50] [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page
from rethinkdb import RethinkDB

from benchmarks.harness import lab_and_browser, ms, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from jupyter_lab import Lab, open_notebook, run_all  # noqa: E402

r = RethinkDB()

# Records when each row key first appears, and counts page updates (one per redraw of the status line).
WATCHER = """() => {
  window.rwSeen = {}; window.rwUpdates = [];
  const table = document.querySelector('.rw-table');
  new MutationObserver(() => {
    const now = Date.now();
    for (const tr of table.querySelectorAll('tbody tr')) {
      if (!(tr.dataset.key in window.rwSeen)) window.rwSeen[tr.dataset.key] = now;
    }
  }).observe(table.querySelector('tbody'), {childList: true});
  new MutationObserver(() => window.rwUpdates.push(Date.now()))
    .observe(table.querySelector('.rw-status'), {childList: true, characterData: true, subtree: true});
}"""


def show(page: Page, lab: Lab, table: str, page_size: int) -> None:
    path = lab.notebook(f"bench-{uuid.uuid4().hex[:6]}.ipynb", [
        "%load_ext rethink_widgets", f"LiveTable(r.table('{table}'), page_size={page_size})",
    ])  # fmt: skip
    open_notebook(page, lab, path)
    run_all(page, path)
    page.locator(".rw-table .rw-status").filter(has_text="ready").wait_for(timeout=60_000)
    page.evaluate(WATCHER)


def latency(page: Page, lab: Lab, conn: Any, writes: int, quiet: float) -> tuple[list[float], list[float]]:
    table = f"latency_{int(quiet * 1000)}"
    r.table_create(table).run(conn)
    show(page, lab, table, 1000)
    delays, trips = [], []
    for i in range(writes):
        time.sleep(quiet)  # after a quiet spell the first change goes out at once; later ones are coalesced
        sent = time.time()
        r.table(table).insert({"id": i}).run(conn, durability="soft")
        trips.append(time.time() - sent)
        page.wait_for_function(f"() => '{i}' in window.rwSeen", timeout=30_000)
        delays.append(page.evaluate(f"() => window.rwSeen['{i}']") / 1000 - sent)
    return delays, trips


def keeping_up(page: Page, lab: Lab, conn: Any, rate: int, seconds: float) -> tuple[float, float, float]:
    """(changes/s the database took, page updates/s, seconds from the last write to the exact final state)."""
    table = f"flood_{rate}"
    r.table_create(table).run(conn)
    r.table(table).insert([{"id": i, "n": 0} for i in range(100)]).run(conn)
    show(page, lab, table, 100)
    page.evaluate("() => { window.rwUpdates = []; }")
    writes_per_second = rate / 100  # each write changes all 100 rows
    started = time.time()
    step = 0
    while time.time() - started < seconds:
        step += 1
        r.table(table).update({"n": step}).run(conn, durability="soft")
        pause = started + step / writes_per_second - time.time()
        if pause > 0:
            time.sleep(pause)
    last_write = time.time()
    took = step * 100 / (last_write - started)
    page.wait_for_function(
        # The grid draws only the rows in sight: every one of them shows the last write.
        f"""() => {{ const cells = document.querySelectorAll('.rw-table tbody tr[data-key] td:nth-child(2)');
            return cells.length > 0 && Array.from(cells).every(td => td.textContent === '{step}'); }}""",
        timeout=120_000,
    )
    caught_up = time.time() - last_write
    updates = page.evaluate(f"() => window.rwUpdates.filter(t => t <= {last_write * 1000}).length")
    return took, updates / (last_write - started), caught_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, lab_and_browser(Path(directory)) as (server, lab, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        conn = r.connect(server.host, server.port)
        for quiet in (0.1, 0.0):
            delays, trips = latency(page, lab, conn, args.writes, quiet)
            p50, p95 = statistics.median(delays), percentile(delays, 0.95)
            print(f"latency, database write -> row in the DOM, {quiet:.1f} s between writes")
            print(
                f"  p50 {ms(p50)}   p95 {ms(p95)}   (targets: p50 under 50 ms, p95 under 250 ms: "
                f"{'met' if p50 < 0.05 and p95 < 0.25 else 'NOT met'})"
            )
            print(
                f"  baseline: the write's round trip p50 {ms(statistics.median(trips))}, "
                f"ratio {p50 / statistics.median(trips):.1f}x"
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
        for rate in (1_000, 10_000):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            took, updates, caught_up = keeping_up(page, lab, conn, rate, args.seconds)
            print(f"flood at {rate:,} changes/s asked, {took:,.0f}/s taken by the database")
            print(f"  page updates {updates:.1f}/s (coalesced)")
            print(f"  exact final state on the page {caught_up:.2f} s after the last write")


if __name__ == "__main__":
    main()

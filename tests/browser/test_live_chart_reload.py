"""A LiveChart in a page that reloads: each view of its viewer holds a Perspective session in the kernel (and the
views it made, recomputed at every change of the chart), and a reloaded page leaves none behind."""

from __future__ import annotations

from typing import Any

from jupyter_lab import Lab, open_notebook, run_notebook, save
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB
from test_live_chart_view import RUN_IN_KERNEL, TIMEOUT

# Waits in the kernel until chart `c`'s viewer has exactly one session open: the page's one view.
ONE_SESSION = "await c.wait_until(lambda c: len(c.viewer._sessions) == 1, timeout=30)"


def test_reloading_the_page_leaves_no_session_behind(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    r.table(table).insert([{"id": i, "status": "open"} for i in range(3)]).run(conn)
    path = run_notebook(page, lab, [f"c = LiveChart(r.table('{table}'), 'Datagrid')\nc"])
    grid = page.locator(".rw-chart perspective-viewer-datagrid")
    expect(grid.locator("tbody tr").first).to_be_visible(timeout=TIMEOUT)
    save(page, path)
    assert page.evaluate(RUN_IN_KERNEL, [path, ONE_SESSION]) == "ok"
    for _ in range(3):
        page.reload()
        open_notebook(page, lab, path)
        expect(grid.locator("tbody tr").first).to_be_visible(timeout=TIMEOUT)  # drawn anew from the kernel's widget
        assert page.evaluate(RUN_IN_KERNEL, [path, ONE_SESSION]) == "ok"
    # The reloaded page's view is the live one: a write shows in it.
    r.table(table).insert({"id": 9, "status": "late"}).run(conn)
    expect(grid).to_contain_text("late", timeout=TIMEOUT)

"""A LiveChart in a page that reloads: each view of its viewer holds a Perspective session in the kernel (and the
views it made, recomputed at every change of the chart), and a reloaded page leaves none behind, even when what it
sent as it went away was lost."""

from __future__ import annotations

import re
from typing import Any

from jupyter_lab import Lab, open_notebook, run_notebook, save
from playwright.sync_api import Locator, Page, WebSocketRoute, expect
from rethinkdb import RethinkDB
from test_live_chart_view import RUN_IN_KERNEL, TIMEOUT

# Waits in the kernel until chart `c`'s viewer has exactly one session open: the page's one view.
ONE_SESSION = "await c.wait_until(lambda c: len(c.viewer._sessions) == 1, timeout=30)"


def saved_chart(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> tuple[str, Locator]:
    """A saved notebook showing chart `c` of three rows in a datagrid, its one view open in the kernel: its path and
    the datagrid."""
    r.table(table).insert([{"id": i, "status": "open"} for i in range(3)]).run(conn)
    path = run_notebook(page, lab, [f"c = LiveChart(r.table('{table}'), 'Datagrid')\nc"])
    grid = page.locator(".rw-chart perspective-viewer-datagrid")
    expect(grid.locator("tbody tr").first).to_be_visible(timeout=TIMEOUT)
    save(page, path)
    assert page.evaluate(RUN_IN_KERNEL, [path, ONE_SESSION]) == "ok"
    return path, grid


def test_reloading_the_page_leaves_no_session_behind(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    path, grid = saved_chart(lab, conn, r, table, page)
    for _ in range(3):
        page.reload()
        open_notebook(page, lab, path)
        expect(grid.locator("tbody tr").first).to_be_visible(timeout=TIMEOUT)  # drawn anew from the kernel's widget
        assert page.evaluate(RUN_IN_KERNEL, [path, ONE_SESSION]) == "ok"
    # The reloaded page's view is the live one: a write shows in it.
    r.table(table).insert({"id": 9, "status": "late"}).run(conn)
    expect(grid).to_contain_text("late", timeout=TIMEOUT)


# The hangups a page sent as it went away and the kernel has not yet said were done (js/chart_table.js).
OWES_NONE = "() => sessionStorage.getItem('rethink_widgets.hangups') === '{}'"


class KernelSockets:
    """The page's sockets to its kernels, passed through the test: `cut` drops what the page sends on those open
    now, as when a page goes away before its socket has sent its last messages."""

    def __init__(self, page: Page) -> None:
        self._cuts: list[list[bool]] = []
        page.route_web_socket(re.compile(r"/api/kernels/[^/?]+/channels"), self._pass)

    def _pass(self, socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        cut = [False]
        self._cuts.append(cut)
        socket.on_message(lambda message: None if cut[0] else server.send(message))

    def cut(self) -> None:
        for cut in self._cuts:
            cut[0] = True


def test_a_page_whose_hangups_were_lost_leaves_no_session_behind(
    lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page
) -> None:
    sockets = KernelSockets(page)
    path, grid = saved_chart(lab, conn, r, table, page)
    sockets.cut()  # the page's hangups as it goes away never reach the kernel
    open_notebook(page, lab, path)
    expect(grid.locator("tbody tr").first).to_be_visible(timeout=TIMEOUT)
    assert page.evaluate(RUN_IN_KERNEL, [path, ONE_SESSION]) == "ok"  # the new page sent them again
    # and the kernel said they were done: the tab owes none (so later pages send none)
    page.wait_for_function(OWES_NONE, timeout=TIMEOUT)
    r.table(table).insert({"id": 9, "status": "late"}).run(conn)
    expect(grid).to_contain_text("late", timeout=TIMEOUT)

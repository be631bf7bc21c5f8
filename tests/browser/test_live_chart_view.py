"""LiveChart in real JupyterLab and Chromium: Perspective's viewer draws a live bar chart and a live pivot, read
through the viewer's own API in the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chart_writes import HOLD_AFTER_A_CHUNK
from jupyter_lab import RESTARTED, Lab, restart_kernel, run_notebook
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 30_000

# Runs code in the notebook's kernel as another cell would; returns its reply's status ("ok" or "error").
RUN_IN_KERNEL = """async ([path, code]) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path);
    return (await panel.sessionContext.session.kernel.requestExecute({ code }).done).content.status;
}"""


@pytest.fixture
def orders(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "orders_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    rows = [("open", "north", 1), ("open", "south", 2), ("done", "north", 3), ("done", "north", 4)]
    r.table(name).insert([{"id": i, "status": s, "region": g, "n": n} for i, (s, g, n) in enumerate(rows)]).run(conn)
    yield name
    r.table_drop(name).run(conn)


def shown(page: Page, index: int, groups: int) -> dict[str, Any]:
    """What the `index`-th viewer's view holds, by column, once it shows that many groups (a pivot adds a total row,
    a chart none). Read through Perspective's own API in the page; the viewer makes its view anew as its configuration
    is restored, so it is read again until it holds that many."""
    columns: dict[str, Any] = page.evaluate(
        """async ([index, groups, timeout]) => {
            const deadline = Date.now() + timeout;
            for (;;) {
                const viewer = document.querySelectorAll('.rw-chart perspective-viewer')[index];
                try {
                    const columns = await (await viewer.getView()).to_columns();
                    const paths = columns.__ROW_PATH__ || [];
                    if (paths.filter((path) => path.length).length === groups) return columns;
                } catch {
                    // its view is being made
                }
                if (Date.now() > deadline) throw new Error(`viewer ${index} did not show ${groups} groups`);
                await new Promise((resolve) => setTimeout(resolve, 200));
            } }""",
        [index, groups, TIMEOUT],
    )
    return columns


def sums(columns: dict[str, Any]) -> dict[str, float]:
    """A chart's totals of `n` by status."""
    return {path[0]: value for path, value in zip(columns["__ROW_PATH__"], columns["n"], strict=True) if path}


def test_a_bar_chart_and_a_pivot_render_and_follow_writes(lab: Lab, r: RethinkDB, orders: str, page: Page) -> None:
    table = f"r.table('{orders}')"
    path = run_notebook(
        page,
        lab,
        [
            f"bars = LiveChart({table}, 'Y Bar', group_by=['status'], columns=['n'], aggregates={{'n': 'sum'}})\nbars",
            f"pivot = LiveChart({table}, 'Datagrid', group_by=['status'], split_by=['region'], columns=['n'])\npivot",
        ],
    )
    charts = page.locator(".rw-chart")
    expect(charts).to_have_count(2, timeout=TIMEOUT)
    expect(charts.nth(0).locator(".rw-status")).to_have_text("ready · 4 rows", timeout=TIMEOUT)
    expect(charts.nth(0).locator(".rw-title")).to_have_text(f"test.{orders}")
    # The bar chart: Perspective's Y Bar plugin, drawn, over the sums by status.
    page.wait_for_function("() => document.querySelectorAll('.rw-chart perspective-viewer').length === 2")
    assert sums(shown(page, 0, 2)) == {"done": 7, "open": 3}
    # Perspective's settings panel names the chart after its query too, not "untitled".
    title = "async () => (await document.querySelector('.rw-chart perspective-viewer').save()).title"
    assert page.evaluate(title) == f"test.{orders}"
    bars = page.locator(".rw-chart").nth(0).locator("perspective-viewer-charts-y-bar")
    expect(bars).to_have_count(1, timeout=TIMEOUT)
    # The pivot: status by region, in Perspective's datagrid.
    pivot = shown(page, 1, 2)
    assert pivot["__ROW_PATH__"] == [[], ["done"], ["open"]]
    assert pivot["north|n"] == [8, 7, 1] and pivot["south|n"] == [2, None, 2]
    expect(charts.nth(1).locator("perspective-viewer-datagrid")).to_contain_text("north", timeout=TIMEOUT)

    # A write from another cell: both viewers show it.
    page.evaluate(
        RUN_IN_KERNEL, [path, f"{table}.insert({{'id': 9, 'status': 'late', 'region': 'south', 'n': 5}}).run()"]
    )
    expect(charts.nth(0).locator(".rw-status")).to_have_text("ready · 5 rows", timeout=TIMEOUT)
    assert sums(shown(page, 0, 3)) == {"done": 7, "late": 5, "open": 3}
    expect(charts.nth(1).locator("perspective-viewer-datagrid")).to_contain_text("late", timeout=TIMEOUT)


def test_the_viewer_shows_the_first_rows_of_a_snapshot_as_it_comes(
    lab: Lab, conn: Any, r: RethinkDB, page: Page
) -> None:
    name = "big_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"id": i, "n": i % 7} for i in range(3000)]).run(conn)  # more than a first chunk
    try:
        path = run_notebook(page, lab, [HOLD_AFTER_A_CHUNK, f"c = LiveChart(r.table('{name}'), 'Datagrid')\nc"])
        chart = page.locator(".rw-chart")
        # Rows in the viewer while the status says how many of them are in.
        expect(chart.locator(".rw-status")).to_have_text(
            re.compile(r"^initializing · \d+ of 3000 rows$"), timeout=TIMEOUT
        )
        expect(chart.locator("perspective-viewer-datagrid tbody tr").first).to_be_visible(timeout=TIMEOUT)
        held = int(chart.locator(".rw-status").inner_text().split(" · ")[1].split()[0])
        assert 0 < held < 3000
        assert len(shown(page, 0, 0)["id"]) == held
        assert page.evaluate(RUN_IN_KERNEL, [path, "held[0] = False; c._throttle.poke()"]) == "ok"
        expect(chart.locator(".rw-status")).to_have_text("ready · 3000 rows", timeout=TIMEOUT)
        ids = page.evaluate(
            """async () => (await (await document.querySelector('.rw-chart perspective-viewer').getView())
                .to_columns()).id"""
        )
        assert sorted(ids) == list(range(3000))
    finally:
        r.table_drop(name).run(conn)


def test_a_chart_shown_in_the_page_closes_with_its_table(lab: Lab, orders: str, page: Page) -> None:
    """The viewer's view in the page holds a view of the chart's Perspective table; closing the chart closes it with
    the viewer, so the table goes at once (a table with a view left on it could not be deleted)."""
    path = run_notebook(page, lab, [f"c = LiveChart(r.table('{orders}'), 'Datagrid')\nc"])
    chart = page.locator(".rw-chart")
    expect(chart.locator("perspective-viewer-datagrid tbody tr").first).to_be_visible(timeout=TIMEOUT)
    closed = (
        "from rethink_widgets.jupyter.chart_engine import engine\n"
        "name = c.table.get_name()\n"
        "c.close()\n"
        "engine().flush()\n"
        "assert name not in engine().client.get_hosted_table_names()"
    )
    assert page.evaluate(RUN_IN_KERNEL, [path, closed]) == "ok"


def test_after_a_kernel_restart_the_chart_says_it_is_not_live(lab: Lab, orders: str, page: Page) -> None:
    path = run_notebook(page, lab, [f"LiveChart(r.table('{orders}'), 'Datagrid')"])
    chart = page.locator(".rw-chart")
    expect(chart.locator(".rw-status")).to_have_text("ready · 4 rows", timeout=TIMEOUT)
    restart_kernel(page, path)
    expect(chart.locator(".rw-offline")).to_have_text(RESTARTED, timeout=TIMEOUT)
    expect(chart.locator(".rw-status")).to_have_text("not live · 4 rows")


# The datagrid's edit mode once it is not EDIT (or EDIT still after `timeout` ms); first turned on through the
# viewer's API, as the datagrid's settings do, when `api` is true.
EDIT_MODE = """async ([api, timeout]) => {
    const viewer = document.querySelector('.rw-chart perspective-viewer');
    if (api) await viewer.restore({ plugin_config: { edit_mode: 'EDIT' } });
    const deadline = Date.now() + timeout;
    for (;;) {
        const mode = (await viewer.save()).plugin_config.edit_mode || 'READ_ONLY'; // its default
        if (mode !== 'EDIT' || Date.now() > deadline) return mode;
        await new Promise((resolve) => setTimeout(resolve, 100));
    } }"""


def test_the_viewer_is_read_only(lab: Lab, orders: str, page: Page) -> None:
    """Perspective's datagrid can edit cells, which would change the chart's table but not the database: its edit
    mode is set back as soon as it is turned on, so a typed value never reaches the chart."""
    path = run_notebook(page, lab, [f"c = LiveChart(r.table('{orders}'), 'Datagrid', sort=[['id', 'asc']])\nc"])
    chart = page.locator(".rw-chart")
    expect(chart.locator(".rw-status")).to_have_text("ready · 4 rows", timeout=TIMEOUT)
    before = shown(page, 0, 0)
    assert before["n"] == [1, 2, 3, 4]
    # The datagrid toolbar's toggle, as a person clicks it (it shows when the pointer is over the grid).
    chart.locator("perspective-viewer-datagrid").hover()
    chart.locator("perspective-viewer-datagrid-toolbar #edit_mode").click()
    assert page.evaluate(EDIT_MODE, [False, TIMEOUT]) == "READ_ONLY"
    assert page.evaluate(EDIT_MODE, [True, TIMEOUT]) == "READ_ONLY"
    # The kernel holds it read-only too, for every view of the chart.
    held = "assert c.bridge.viewer.plugin_config.get('edit_mode') != 'EDIT'"
    assert page.evaluate(RUN_IN_KERNEL, [path, held]) == "ok"
    # A person's try: a double click on a cell of n and typing a number changes nothing.
    cell = chart.locator("perspective-viewer-datagrid tbody td", has_text="3").first
    cell.dblclick()
    page.keyboard.type("99")
    page.keyboard.press("Enter")
    expect(chart.locator("perspective-viewer-datagrid tbody")).not_to_contain_text("99")
    assert shown(page, 0, 0) == before


OWN_WIDGET = """import perspective
from perspective.widget import PerspectiveWidget
PerspectiveWidget(perspective.table({'x': [10, 20, 30]}), plugin='Datagrid')"""


@pytest.mark.parametrize("first", ["own", "chart"])
def test_a_person_s_own_perspective_widget_draws_beside_a_chart(lab: Lab, orders: str, page: Page, first: str) -> None:
    """Perspective's own widget in the same notebook, shown before or after a LiveChart: both draw their rows."""
    chart = f"LiveChart(r.table('{orders}'), 'Datagrid', columns=['n'])"
    run_notebook(page, lab, [OWN_WIDGET, chart] if first == "own" else [chart, OWN_WIDGET])
    expect(page.locator(".rw-chart .rw-status")).to_have_text("ready · 4 rows", timeout=TIMEOUT)
    assert sorted(shown(page, 0, 0)["n"]) == [1, 2, 3, 4]
    own = page.locator("perspective-viewer:not(.rw-chart perspective-viewer) perspective-viewer-datagrid")
    expect(own).to_contain_text("20", timeout=TIMEOUT)
    columns = page.evaluate(
        """async () => {
            const viewer = document.querySelector('perspective-viewer:not(.rw-chart perspective-viewer)');
            return (await viewer.getView()).to_columns();
        }"""
    )
    assert columns["x"] == [10, 20, 30]


def test_options_set_in_the_making_cell_show_and_a_refused_one_is_told(lab: Lab, orders: str, page: Page) -> None:
    """The viewer is there in the cell that makes the chart: what is set on it there is what the page draws. An
    option Perspective refuses is told in the chart's status line until it is fixed."""
    cell = (
        f"c = LiveChart(r.table('{orders}'), group_by=['status'], aggregates={{'n': 'bogus'}})\n"
        "c.viewer.plugin = 'Datagrid'\n"
        "c"
    )
    path = run_notebook(page, lab, [cell])
    chart = page.locator(".rw-chart")
    expect(chart.locator(".rw-message")).to_have_text(
        "Perspective refused the option aggregates={'n': 'bogus'}: "
        "Invalid aggregate 'bogus' for column 'n' found in View aggregates.",
        timeout=TIMEOUT,
    )
    expect(chart.locator(".rw-status")).to_have_text("ready · 4 rows")
    assert page.evaluate(RUN_IN_KERNEL, [path, "c.viewer.aggregates = {'n': 'sum'}"]) == "ok"
    expect(chart.locator(".rw-message")).to_have_text("", timeout=TIMEOUT)
    assert sums(shown(page, 0, 2)) == {"done": 7, "open": 3}
    expect(chart.locator("perspective-viewer-datagrid")).to_contain_text("done", timeout=TIMEOUT)

"""A view says whether a kernel answers for its widget: after a kernel restart it says so, with the fix, and its
controls do nothing; a long cell does not make it claim the kernel is gone; a second tab of a running notebook tells
an earlier run's snapshot from a missing kernel. In JupyterLab, and the restart in Notebook 7 too.

`page` comes last in each test's arguments, so its final screenshot is taken before the table is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import RESTARTED, Lab, open_notebook, restart_kernel, run_all, run_notebook, save
from playwright.sync_api import Locator, Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 30_000  # ms; generous for a shared machine
BUSY = "The kernel is busy running a cell; this view catches up when the cell is done."

_PANEL = """(path) => Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === path)"""


@pytest.fixture
def chores(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "chores_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"text": f"chore {i}", "done": False, "created_at": r.now()} for i in range(3)]).run(conn)
    yield name
    r.table_drop(name).run(conn)


def both_ready(page: Page) -> None:
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready · 3 rows", timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)


def controls(view: Locator) -> Locator:
    return view.locator("input, button")


def says_restarted_and_does_nothing(page: Page) -> None:
    table, todo = page.locator(".rw-table"), page.locator(".rw-todo")
    for view in (table, todo):
        expect(view.locator(".rw-offline")).to_have_text(RESTARTED, timeout=TIMEOUT)
        expect(view.locator(".rw-status")).to_contain_text("not live")
        assert controls(view).count() > 0
        for control in controls(view).all():
            expect(control).to_be_disabled()
    # Neither an edit nor a sort starts: a double click opens no editor, a click on a header sorts nothing.
    table.locator("tbody td").nth(1).dblclick()
    todo.locator(".rw-text").first.dblclick()
    table.locator("th").first.click()
    expect(page.locator(".rw-table td input, .rw-todo li input[type=text]")).to_have_count(0)
    expect(table.locator("th[aria-sort]")).to_have_count(0)


def test_a_kernel_restart_is_said_with_the_fix_and_controls_are_disabled(
    lab: Lab, conn: Any, r: RethinkDB, chores: str, page: Page
) -> None:
    path = run_notebook(page, lab, [f"LiveTable(r.table('{chores}'))", f"TodoList(r.table('{chores}'))"])
    both_ready(page)
    restart_kernel(page, path)
    says_restarted_and_does_nothing(page)
    # What the old kernel's views show stays as it was: the new kernel never made these widgets.
    r.table(chores).insert({"text": "after the restart", "done": False, "created_at": r.now()}).run(conn)
    run_all(page, path)  # re-running the cells, as the message says, makes live views again
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready · 4 rows", timeout=TIMEOUT)
    expect(page.locator(".rw-todo li")).to_have_count(4, timeout=TIMEOUT)
    expect(page.locator(".rw-table .rw-offline")).to_have_text("")
    expect(page.locator(".rw-todo input[aria-label='New item']")).to_be_enabled()


def test_a_kernel_restart_in_notebook_7(notebook7: Lab, chores: str, page: Page) -> None:
    path = run_notebook(page, notebook7, [f"LiveTable(r.table('{chores}'))", f"TodoList(r.table('{chores}'))"])
    both_ready(page)
    restart_kernel(page, path)
    says_restarted_and_does_nothing(page)


def test_a_kernel_that_died_is_said_with_the_fix(lab: Lab, chores: str, page: Page) -> None:
    """The kernel's process killed: Jupyter starts a new kernel, which never made these widgets."""
    path = run_notebook(page, lab, [f"LiveTable(r.table('{chores}'))", f"TodoList(r.table('{chores}'))", "import os"])
    both_ready(page)
    kill = f"""(path) => {{ ({_PANEL})(path).sessionContext.session.kernel.requestExecute(
        {{ code: 'os.kill(os.getpid(), 9)' }}); }}"""
    page.evaluate(kill, path)
    died = "Not live: the kernel died and was started again, so this widget is gone. Re-run this cell."
    for view in (page.locator(".rw-table"), page.locator(".rw-todo")):
        expect(view.locator(".rw-offline")).to_have_text(died, timeout=TIMEOUT)
        expect(view.locator("input").first).to_be_disabled()


# Records every text the views' notices show and whether a view was ever disabled, from now on.
_RECORD = """() => { window.rwSeen = new Set(); window.rwDisabled = false;
    window.rwRecorder = setInterval(() => {
        for (const view of document.querySelectorAll('.rw-table, .rw-todo')) {
            window.rwSeen.add(view.querySelector('.rw-offline').textContent);
            if (view.disabled) window.rwDisabled = true;
        } }, 100); }"""


def test_a_long_cell_does_not_make_views_claim_the_kernel_is_gone(
    lab: Lab, conn: Any, r: RethinkDB, chores: str, page: Page
) -> None:
    """While a cell runs, widget messages wait behind it (ipykernel routes them to the main shell): the views hear
    nothing for a while, and must not take that for a kernel that is gone."""
    path = run_notebook(page, lab, [f"LiveTable(r.table('{chores}'))", f"TodoList(r.table('{chores}'))"])
    both_ready(page)
    page.evaluate(_RECORD)
    run_long_cell = f"""async (path) => {{ const kernel = ({_PANEL})(path).sessionContext.session.kernel;
        await kernel.requestExecute({{ code: 'import time; time.sleep(20)' }}).done; }}"""
    page.evaluate(run_long_cell, path)
    r.table(chores).insert({"text": "after the long cell", "done": False, "created_at": r.now()}).run(conn)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready · 4 rows", timeout=TIMEOUT)
    expect(page.locator(".rw-todo li")).to_have_count(4, timeout=TIMEOUT)
    seen, disabled = page.evaluate(
        "() => { clearInterval(window.rwRecorder); return [[...window.rwSeen], window.rwDisabled]; }"
    )
    assert BUSY in seen  # the views did go unanswered for a while
    assert not [text for text in seen if text.startswith("Not live")], seen
    assert not disabled


def test_a_second_tab_tells_an_earlier_runs_snapshot_from_a_missing_kernel(lab: Lab, chores: str, page: Page) -> None:
    """Saved, then the cell ran again: a second tab shows the file's views, which the running kernel no longer has."""
    path = run_notebook(page, lab, [f"TodoList(r.table('{chores}'))"])
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    save(page, path)
    run_all(page, path)  # a new widget; the file still shows the old one
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)
    second = page.context.new_page()
    open_notebook(second, lab, path)
    todo = second.locator(".rw-todo")
    expect(todo.locator(".rw-offline")).to_contain_text(
        "the running kernel does not have this widget (an earlier run made it). Re-run this cell.", timeout=TIMEOUT
    )
    expect(todo.locator(".rw-status")).to_have_text("not live")
    expect(todo.locator("input[aria-label='New item']")).to_be_disabled()
    expect(page.locator(".rw-todo .rw-offline")).to_have_text("")  # the first tab's view is the live one

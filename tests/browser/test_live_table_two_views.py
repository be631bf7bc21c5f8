"""One LiveTable shown twice in a notebook, in real JupyterLab and Chromium: each view scrolls on its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import Lab, run_notebook
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 15_000  # ms; generous for a shared machine
ROWS = 2000

# Every flash, as [which view, row key], from the page's first moment.
RECORD_FLASHES = """window.flashed = [];
new MutationObserver((records) => { for (const { target } of records)
    if (target.classList?.contains("rw-flash")) window.flashed.push(
        [[...document.querySelectorAll(".rw-table")].indexOf(target.closest(".rw-table")), target.dataset.key]); })
  .observe(document, { subtree: true, attributes: true, attributeFilter: ["class"] });"""

# The keys each view draws, read in one go (the grids redraw their rows in place as replies arrive), once every row
# in sight is drawn (none blank, none missing) and each view's first or last key is the one expected (null: any).
DRAWN = """(expected) => {
  const views = [...document.querySelectorAll(".rw-table regular-table")];
  const drawn = views.map((grid) => [...grid.querySelectorAll("tbody tr")].map((row) => Number(row.dataset.key)));
  const whole = (keys) => keys.length > 5 && keys.every((key, i) => key === keys[0] + i);
  const as = (key, want) => want === null || key === want;
  const ok = drawn.length === expected.length && drawn.every((keys, i) =>
    whole(keys) && as(keys[0], expected[i][0]) && as(keys[keys.length - 1], expected[i][1]));
  return ok ? drawn : null;
}"""


@pytest.fixture
def numbers(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "numbers_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"id": i, "v": i % 13} for i in range(ROWS)]).run(conn)
    yield name
    r.table_drop(name).run(conn)


def scroll_to_row(page: Page, view: int, row: int) -> None:
    """Scroll a view's grid so `row` (from 0) is the first in sight, as a person dragging its scrollbar would."""
    page.locator(".rw-table regular-table").nth(view).evaluate(
        "(grid, row) => { grid.scrollTop = row * 24; grid.dispatchEvent(new Event('scroll')); }", row
    )


def drawn(page: Page, *expected: tuple[int | None, int | None]) -> list[list[int]]:
    """The keys each view draws, once each view's first and last are as `expected`."""
    keys: list[list[int]] = page.wait_for_function(DRAWN, arg=list(expected), timeout=TIMEOUT).json_value()
    return keys


def cell(page: Page, view: int, key: int) -> Any:
    return page.locator(".rw-table").nth(view).locator(f"tbody tr[data-key='{key}'] td:nth-child(2)")


def test_two_views_scroll_on_their_own(lab: Lab, conn: Any, r: RethinkDB, numbers: str, page: Page) -> None:
    page.add_init_script(RECORD_FLASHES)
    run_notebook(page, lab, [f"t = LiveTable(r.table('{numbers}'))\nt", "display(t)"])
    for view in range(2):
        expect(page.locator(".rw-table .rw-status").nth(view)).to_contain_text("ready", timeout=TIMEOUT)
    drawn(page, (0, None), (0, None))
    # Each grid's scroll area holds the header and every row (24 px each) from its first draw: scrolled to the bottom,
    # it shows the last row (it was sized once without its header, and stopped a row short).
    heights = page.evaluate("() => [...document.querySelectorAll('.rw-table regular-table')].map(g => g.scrollHeight)")
    assert heights == [(ROWS + 1) * 24] * 2
    # The first view goes to the end; the second stays at the top, showing its first rows.
    scroll_to_row(page, 0, ROWS)
    end, top = drawn(page, (None, ROWS - 1), (0, None))
    assert end == list(range(end[0], ROWS)) and top == list(range(len(top)))
    # A row changes in sight of each: both show it, and flash it.
    r.table(numbers).get(ROWS - 2).update({"v": "changed"}).run(conn)
    r.table(numbers).get(2).update({"v": "changed too"}).run(conn)
    expect(cell(page, 0, ROWS - 2)).to_have_text("changed", timeout=TIMEOUT)
    expect(cell(page, 1, 2)).to_have_text("changed too", timeout=TIMEOUT)
    page.wait_for_function("window.flashed.length >= 2", timeout=TIMEOUT)
    assert sorted(set(map(tuple, page.evaluate("window.flashed")))) == [(0, str(ROWS - 2)), (1, "2")]
    # The second view scrolls to the middle; the first stays at the end.
    scroll_to_row(page, 1, ROWS // 2)
    end, middle = drawn(page, (None, ROWS - 1), (ROWS // 2, None))
    assert end == list(range(end[0], ROWS)) and middle[0] == ROWS // 2
    r.table(numbers).get(ROWS // 2 + 1).update({"v": "in the middle"}).run(conn)
    expect(cell(page, 1, ROWS // 2 + 1)).to_have_text("in the middle", timeout=TIMEOUT)
    expect(cell(page, 0, ROWS - 2)).to_have_text("changed")

"""LiveTable's cells in real JupyterLab and Chromium: times in the browser's time zone, nested values opened whole,
and the Add-row box keeping what the kernel refused.

`page` comes last in each test's arguments, so its final screenshot is taken before the table is dropped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_lab import Lab
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB
from test_live_table_view import TIMEOUT, show


def cell(page: Page, key: int, column: int) -> Any:
    return page.locator(f".rw-table tbody tr[data-key='{key}'] td:nth-child({column})")


@pytest.mark.parametrize("page", [pytest.param("Asia/Tokyo", id="tokyo")], indirect=True)
def test_a_time_reads_in_the_browsers_time_zone(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    r.table(table).insert(
        [
            {"id": 1, "due": r.time(2024, 5, 1, 12, 30, 0, "+02:00")},  # 10:30 UTC
            {"id": 2, "due": r.time(2024, 12, 31, 23, 59, 59.5, "Z")},
            {"id": 3, "due": "2024-05-01T12:30:00+02:00"},  # a string that looks like a time stays as it is
        ]
    ).run(conn)
    show(page, lab, f"LiveTable(r.table('{table}'))")
    due = cell(page, 1, 2)
    expect(due).to_have_text("2024-05-01 19:30:00")  # Tokyo is 9 hours ahead of UTC
    assert due.get_attribute("title") == "2024-05-01T12:30:00+02:00 (shown in Asia/Tokyo time)"
    expect(cell(page, 2, 2)).to_have_text("2025-01-01 08:59:59.500")
    expect(cell(page, 3, 2)).to_have_text("2024-05-01T12:30:00+02:00")
    # Edited as the ISO text, in its own offset: saved unchanged it stays exactly as it was.
    due.dblclick()
    editor = page.locator(".rw-table tbody td input")
    expect(editor).to_have_value("2024-05-01T12:30:00+02:00")
    page.keyboard.press("Enter")
    expect(editor).to_have_count(0)
    expect(due).to_have_text("2024-05-01 19:30:00")
    due.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("2024-05-02T00:00:00+00:00")
    page.keyboard.press("Enter")
    expect(due).to_have_text("2024-05-02 09:00:00", timeout=TIMEOUT)
    assert r.table(table).get(1)["due"].to_iso8601().run(conn) == "2024-05-02T00:00:00+00:00"
    assert r.table(table).get(2)["due"].to_iso8601().run(conn) == "2024-12-31T23:59:59.500+00:00"
    expect(page.locator(".rw-table .rw-message")).to_have_text("")


def test_a_nested_value_opens_whole_and_closes(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    doc = {"a": 1, "b": [1, 2], "html": "<b>bold?</b>"}
    r.table(table).insert([{"id": 2, "doc": doc}, {"id": 4, "doc": [1, 2]}]).run(conn)
    show(page, lab, f"LiveTable(r.table('{table}'))")
    nested = cell(page, 2, 2)
    expect(nested).to_have_text(json.dumps(doc, separators=(",", ":")))  # compact, on one line
    panel = page.locator(".rw-table .rw-value")
    expect(panel).to_be_hidden()
    nested.get_by_role("button", name="Show the whole value of doc").click()
    expect(panel).to_have_text(json.dumps(doc, indent=2))  # pretty-printed, as text
    assert page.locator(".rw-table .rw-value b").count() == 0
    expect(nested.get_by_role("button", name="Hide the whole value of doc")).to_have_attribute("aria-expanded", "true")
    cell_box, panel_box = nested.bounding_box(), panel.bounding_box()
    assert cell_box and panel_box and abs(panel_box["y"] - (cell_box["y"] + cell_box["height"])) < 4
    nested.locator(".rw-expand").click()  # the toggle closes it
    expect(panel).to_be_hidden()
    # From the keyboard: Space on the cell opens it (the focus goes to the panel), Escape closes it.
    nested.focus()
    page.keyboard.press(" ")
    expect(panel).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(nested).to_be_focused()
    # A click elsewhere closes it; a double-click still edits the value.
    nested.locator(".rw-expand").click()
    expect(panel).to_be_visible()
    page.locator(".rw-table .rw-status").click()
    expect(panel).to_be_hidden()
    nested.locator(".rw-expand").click()
    nested.dblclick(position={"x": 60, "y": 8})
    expect(panel).to_be_hidden()
    expect(page.locator(".rw-table tbody td input")).to_have_value(json.dumps(doc, separators=(",", ":")))
    page.keyboard.press("Escape")
    # It follows its row as rows move, shows the value as it changes, and closes when the row goes.
    other = cell(page, 4, 2)
    other.locator(".rw-expand").click()
    expect(panel).to_have_text(json.dumps([1, 2], indent=2))
    r.table(table).insert({"id": 1, "doc": {"first": True}}).run(conn)  # before both, in key order
    expect(page.locator(".rw-table tbody tr").first).to_have_attribute("data-key", "1", timeout=TIMEOUT)
    r.table(table).get(4).update({"doc": [1, 2, 3]}).run(conn)
    expect(panel).to_have_text(json.dumps([1, 2, 3], indent=2), timeout=TIMEOUT)
    cell_box, panel_box = other.bounding_box(), panel.bounding_box()
    assert cell_box and panel_box and abs(panel_box["y"] - (cell_box["y"] + cell_box["height"])) < 4
    r.table(table).get(4).delete().run(conn)
    expect(panel).to_be_hidden(timeout=TIMEOUT)


def test_add_row_keeps_the_text_the_kernel_refuses(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    r.table(table).insert({"id": 1, "name": "one"}).run(conn)
    show(page, lab, f"LiveTable(r.table('{table}'))")
    adder = page.locator(".rw-table input[aria-label='New row as JSON']")
    refusal = page.locator(".rw-table .rw-add-message")
    adder.fill('{"id": 2, "name": "two"')
    adder.press("Enter")
    expect(refusal).to_contain_text("A new row is a JSON object", timeout=TIMEOUT)
    expect(adder).to_have_value('{"id": 2, "name": "two"')  # kept, to be fixed
    adder_box, refusal_box = adder.bounding_box(), refusal.bounding_box()
    assert adder_box and refusal_box and abs(refusal_box["y"] - adder_box["y"]) < adder_box["height"]  # beside it
    adder.fill('{"id": 1, "name": "again"}')
    adder.press("Enter")
    expect(refusal).to_contain_text("Duplicate primary key", timeout=TIMEOUT)
    expect(adder).to_have_value('{"id": 1, "name": "again"}')
    adder.fill('{"id": 2, "name": "two"}')
    adder.press("Enter")
    expect(cell(page, 2, 2)).to_have_text("two", timeout=TIMEOUT)
    expect(adder).to_have_value("")
    expect(refusal).to_be_hidden()
    assert r.table(table).count().run(conn) == 2

"""LiveTable in real JupyterLab and Chromium: what a person sees and does.

`page` comes last in each test's arguments, so its final screenshot is taken before the table is dropped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from jupyter_lab import Lab, open_notebook, run_all, run_notebook, save
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 15_000  # ms; generous for a shared machine (speed is measured by benchmarks, not here)


@pytest.fixture
def people(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "people_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"id": i, "name": f"person {i}", "age": 30 + (i * 7) % 11} for i in range(1, 8)]).run(conn)
    yield name
    r.table_drop(name).run(conn)


def show(page: Page, lab: Lab, code: str) -> None:
    run_notebook(page, lab, [code])
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready", timeout=TIMEOUT)


def column(page: Page, index: int) -> list[str]:
    return page.locator(f".rw-table tbody tr td:nth-child({index})").all_inner_texts()


def test_rows_follow_outside_writes(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    show(page, lab, f"LiveTable(r.table('{people}'))")
    rows = page.locator(".rw-table tbody tr")
    expect(rows).to_have_count(7)
    expect(page.locator(".rw-table thead th").first).to_have_text("id")
    r.table(people).insert({"id": 8, "name": "<img src=x onerror=alert(1)>", "age": 1}).run(conn)
    expect(rows).to_have_count(8, timeout=TIMEOUT)
    expect(rows.last).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never as HTML
    assert page.locator(".rw-table img").count() == 0
    r.table(people).get(1).delete().run(conn)
    expect(rows).to_have_count(7, timeout=TIMEOUT)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("7 rows")


def test_sort_filter_edit_and_conflict(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    show(page, lab, f"LiveTable(r.table('{people}'))")
    header = page.locator(".rw-table thead th", has_text="age")
    header.click()
    ages = sorted(doc["age"] for doc in r.table(people).run(conn))
    expect(page.locator(".rw-table tbody tr td:nth-child(2)").first).to_have_text(str(ages[0]), timeout=TIMEOUT)
    header.click()
    expect(page.locator(".rw-table tbody tr td:nth-child(2)").first).to_have_text(str(ages[-1]), timeout=TIMEOUT)
    header.click()  # back to the query's order
    page.locator(".rw-table input[type=search]").fill("person 3")
    expect(page.locator(".rw-table tbody tr")).to_have_count(1, timeout=TIMEOUT)
    page.locator(".rw-table input[type=search]").fill("")
    expect(page.locator(".rw-table tbody tr")).to_have_count(7, timeout=TIMEOUT)
    # Edit a cell: double-click, type, Enter; the database has it and the view shows it.
    name_cell = page.locator(".rw-table tbody tr[data-key='2'] td:nth-child(3)")
    name_cell.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("renamed")
    page.keyboard.press("Enter")
    expect(name_cell).to_have_text("renamed", timeout=TIMEOUT)
    assert r.table(people).get(2).run(conn)["name"] == "renamed"
    # Start an edit, let someone else change the row, then save: refused, their value kept, and the view says so.
    name_cell.dblclick()
    r.table(people).get(2).update({"name": "someone else"}).run(conn)
    # Their value has reached the view (the cell's tooltip; the cell itself holds the edit box).
    expect(name_cell).to_have_attribute("title", "someone else", timeout=TIMEOUT)
    page.keyboard.press("Control+A")
    page.keyboard.type("mine")
    page.keyboard.press("Enter")
    expect(page.locator(".rw-table .rw-message")).to_contain_text("changed since you saw it", timeout=TIMEOUT)
    note = page.locator(".rw-table .rw-cell-message")  # next to the cell too, not only below the grid
    expect(note).to_contain_text("changed since you saw it")
    cell_box, note_box = name_cell.bounding_box(), note.bounding_box()
    assert cell_box and note_box
    assert abs(note_box["y"] - (cell_box["y"] + cell_box["height"])) < 4 and abs(note_box["x"] - cell_box["x"]) < 4
    expect(name_cell).to_have_text("someone else")
    assert r.table(people).get(2).run(conn)["name"] == "someone else"


def test_shift_click_sorts_by_a_further_column(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    r.table(people).update({"team": r.row["id"] % 2}).run(conn)
    show(page, lab, f"LiveTable(r.table('{people}'))")
    team = page.locator(".rw-table thead th", has_text="team")
    age = page.locator(".rw-table thead th", has_text="age")
    docs = list(r.table(people).run(conn))
    team.click()
    expect(team).to_have_attribute("aria-sort", "ascending", timeout=TIMEOUT)
    age.click(modifiers=["Shift"])
    age.click(modifiers=["Shift"])  # the further key turned round: team ascending, then age descending
    by_team_then_age = sorted(docs, key=lambda doc: (doc["team"], -doc["age"]))
    expect(page.locator(".rw-table tbody tr td:nth-child(1)")).to_have_text(
        [str(doc["id"]) for doc in by_team_then_age], timeout=TIMEOUT
    )
    expect(age).to_have_attribute("aria-sort", "descending")
    expect(team).to_have_attribute("data-sort-rank", "1")
    expect(age).to_have_attribute("data-sort-rank", "2")
    age.click()  # a plain click sorts by that column alone
    by_age = sorted(docs, key=lambda doc: doc["age"])
    expect(page.locator(".rw-table tbody tr td:nth-child(1)")).to_have_text(
        [str(doc["id"]) for doc in by_age], timeout=TIMEOUT
    )
    expect(team).not_to_have_attribute("aria-sort", "ascending")
    expect(age).not_to_have_attribute("data-sort-rank", "1")


def test_click_away_saves_and_the_edited_row_stays_in_place(
    lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page
) -> None:
    show(page, lab, f"LiveTable(r.table('{people}'))")
    page.locator(".rw-table thead th", has_text="age").click()
    youngest = min(r.table(people).run(conn), key=lambda doc: doc["age"])
    first = page.locator(".rw-table tbody tr").first
    expect(first).to_have_attribute("data-key", str(youngest["id"]), timeout=TIMEOUT)
    keys = [tr.get_attribute("data-key") for tr in page.locator(".rw-table tbody tr").all()]
    age = first.locator("td:nth-child(2)")
    age.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("99")
    page.locator(".rw-table .rw-status").click()  # away from the cell: saves
    expect(age).to_have_text("99", timeout=TIMEOUT)
    assert r.table(people).get(youngest["id"]).run(conn)["age"] == 99
    # Now the oldest, it stays where it was until the next sort action.
    assert [tr.get_attribute("data-key") for tr in page.locator(".rw-table tbody tr").all()] == keys
    page.locator(".rw-table thead th", has_text="name").click()
    page.locator(".rw-table thead th", has_text="age").click()
    expect(page.locator(".rw-table tbody tr").last).to_have_attribute("data-key", str(youngest["id"]), timeout=TIMEOUT)


def test_display_of_values_and_columns(lab: Lab, conn: Any, r: RethinkDB, table: str, page: Page) -> None:
    long = "x" * 500
    for doc in (
        {"id": 1, "zeta": True},
        {"id": 2, "zeta": False, "alpha": long, "nested": {"a": 1, "b": [1, 2]}},
        {"id": 3, "mid": [1, {"c": "d"}]},
    ):
        r.table(table).insert(doc).run(conn)
    show(page, lab, f"LiveTable(r.table('{table}'))")
    headers = page.locator(".rw-table thead th")
    expect(headers).to_have_count(6)  # and the delete buttons' column
    # The key first, then fields as they first came (a document's own fields come sorted from the database).
    assert headers.all_inner_texts()[:5] == ["id", "zeta", "alpha", "nested", "mid"]
    flag = page.locator(".rw-table tbody tr[data-key='1'] td:nth-child(2)")
    expect(flag).to_have_text("true")
    assert flag.evaluate("td => getComputedStyle(td).textAlign") == "center"
    nested = page.locator(".rw-table tbody tr[data-key='2'] td:nth-child(4)")
    expect(nested).to_have_text('{"a":1,"b":[1,2]}')  # one line
    assert json.loads(nested.get_attribute("title") or "") == {"a": 1, "b": [1, 2]}
    assert nested.evaluate("td => td.getClientRects().length === 1 && td.offsetHeight < 30")
    # A long value is cut short inside the grid, and the grid inside the output area.
    cell = page.locator(".rw-table tbody tr[data-key='2'] td:nth-child(3)")
    assert cell.get_attribute("title") == long
    output = page.locator(".jp-OutputArea-output", has=page.locator(".rw-table")).bounding_box()
    grid, cell_box = page.locator(".rw-table .rw-grid").bounding_box(), cell.bounding_box()
    assert output and grid and cell_box
    assert grid["x"] + grid["width"] <= output["x"] + output["width"] + 1
    assert cell_box["width"] < output["width"]


def test_resizing_a_column(lab: Lab, people: str, page: Page) -> None:
    show(page, lab, f"LiveTable(r.table('{people}'))")
    header = page.locator(".rw-table thead th", has_text="name")
    before = header.bounding_box()
    handle = header.locator(".rt-column-resize").bounding_box()
    assert before and handle
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] + 80, handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()
    expect(header).not_to_have_attribute("aria-sort", "ascending")  # a drag does not sort
    after = header.bounding_box()
    assert after and after["width"] > before["width"] + 40


def test_no_flash_on_first_load(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    """The rows of the first snapshot are new to the view, not changed: only a later change flashes its row."""
    page.add_init_script(
        """window.flashed = [];
        new MutationObserver((records) => { for (const { target } of records)
            if (target.classList?.contains("rw-flash")) window.flashed.push(target.dataset.key); })
          .observe(document, { subtree: true, attributes: true, attributeFilter: ["class"] });"""
    )
    show(page, lab, f"LiveTable(r.table('{people}'))")
    expect(page.locator(".rw-table tbody tr")).to_have_count(7)
    r.table(people).get(5).update({"age": 1}).run(conn)
    expect(page.locator(".rw-table tbody tr[data-key='5'] td:nth-child(2)")).to_have_text("1", timeout=TIMEOUT)
    page.wait_for_function("window.flashed.length > 0", timeout=TIMEOUT)  # the watch sees a flash
    assert set(page.evaluate("window.flashed")) == {"5"}


def test_undo_a_delete(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    before = r.table(people).get(3).run(conn)
    show(page, lab, f"LiveTable(r.table('{people}'))")
    rows = page.locator(".rw-table tbody tr")
    page.locator(".rw-table tbody tr[data-key='3'] button[aria-label='Delete row']").click()
    expect(rows).to_have_count(6, timeout=TIMEOUT)
    notice = page.locator(".rw-table .rw-undo")
    expect(notice).to_contain_text("Row deleted.")
    assert r.table(people).get(3).run(conn) is None
    notice.get_by_role("button", name="Undo").click()
    expect(rows).to_have_count(7, timeout=TIMEOUT)
    expect(page.locator(".rw-table tbody tr[data-key='3']")).to_contain_text("person 3")
    assert r.table(people).get(3).run(conn) == before
    expect(notice).to_be_hidden()
    expect(page.locator(".rw-table .rw-message")).to_have_text("")


def test_delete_add_and_bad_input(lab: Lab, conn: Any, r: RethinkDB, people: str, page: Page) -> None:
    show(page, lab, f"LiveTable(r.table('{people}'))")
    page.locator(".rw-table tbody tr[data-key='3'] button[aria-label='Delete row']").click()
    expect(page.locator(".rw-table tbody tr")).to_have_count(6, timeout=TIMEOUT)
    assert r.table(people).get(3).run(conn) is None
    age = page.locator(".rw-table tbody tr[data-key='4'] td:nth-child(2)")
    age.focus()
    page.keyboard.press("Enter")  # edit from the keyboard
    page.keyboard.press("Control+A")
    page.keyboard.type("77")
    page.keyboard.press("Enter")
    expect(age).to_have_text("77", timeout=TIMEOUT)
    assert r.table(people).get(4).run(conn)["age"] == 77
    adder = page.locator(".rw-table input[aria-label='New row as JSON']")
    adder.fill('{"id": 42, "name": "added", "age": 5}')
    adder.press("Enter")
    expect(page.locator(".rw-table tbody tr[data-key='42']")).to_contain_text("added", timeout=TIMEOUT)
    adder.fill("not json")
    adder.press("Enter")
    expect(page.locator(".rw-table .rw-add-message")).to_contain_text("JSON object", timeout=TIMEOUT)
    assert r.table(people).count().run(conn) == 7


def scroll_to_row(page: Page, row: int) -> None:
    """Scroll the grid so `row` (from 0) is the first in sight, as a person dragging the scrollbar would."""
    page.locator(".rw-table regular-table").evaluate(
        "(grid, row) => { grid.scrollTop = row * 24; grid.dispatchEvent(new Event('scroll')); }", row
    )


# The keys of the rows drawn, once the last row of the table is among them.
LAST_ROWS_SHOWN = """() => {
  const keys = [...document.querySelectorAll(".rw-table tbody tr[data-key]")].map((row) => Number(row.dataset.key));
  return keys.length && keys[keys.length - 1] === 99999 ? keys : null;
}"""


def test_scrolling_through_a_large_table(lab: Lab, conn: Any, r: RethinkDB, page: Page) -> None:
    name = "big_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    try:
        for start in range(0, 100_000, 20_000):
            r.table(name).insert([{"id": i, "v": i % 13} for i in range(start, start + 20_000)]).run(
                conn, durability="soft"
            )
        show(page, lab, f"LiveTable(r.table('{name}'))")
        grid = page.locator(".rw-table .rw-grid")
        rows = page.locator(".rw-table tbody tr[data-key]")
        expect(rows.first).to_have_attribute("data-key", "0", timeout=TIMEOUT)
        height = grid.bounding_box()
        assert height is not None and height["height"] <= 402  # a scroll area, not 100,000 rows tall
        assert 5 < rows.count() < 40  # only the rows in sight are drawn
        scroll_to_row(page, 50_000)
        expect(rows.first).to_have_attribute("data-key", "50000", timeout=TIMEOUT)
        expect(page.locator(".rw-table tbody tr[data-key='50001'] td:nth-child(2)")).to_have_text(str(50_001 % 13))
        r.table(name).get(50_002).update({"v": "changed"}).run(conn)
        expect(page.locator(".rw-table tbody tr[data-key='50002'] td:nth-child(2)")).to_have_text(
            "changed", timeout=TIMEOUT
        )
        scroll_to_row(page, 100_000)  # past the end: the last rows show, the last one whole
        expect(rows.last).to_have_attribute("data-key", "99999", timeout=TIMEOUT)
        expect(page.locator(".rw-table tbody tr[data-key='99999'] td:first-child")).to_be_in_viewport()
        # Read in one go in the page (the grid redraws its rows in place as window replies arrive).
        keys = page.wait_for_function(LAST_ROWS_SHOWN, timeout=TIMEOUT).json_value()
        assert keys == list(range(keys[0], 100_000))  # the rows on screen, in order, none missing
        scroll_to_row(page, 0)
        expect(rows.first).to_have_attribute("data-key", "0", timeout=TIMEOUT)
    finally:
        r.table_drop(name).run(conn)


def test_saved_notebook_shows_its_last_snapshot(
    lab: Lab, server: Any, people: str, monkeypatch: pytest.MonkeyPatch, page: Page
) -> None:
    """A notebook run and saved with its widget state (as nbclient saves it), then opened with no kernel behind it."""
    monkeypatch.setenv("RETHINKDB_HOST", server.host)
    monkeypatch.setenv("RETHINKDB_PORT", str(server.port))
    path = lab.notebook(
        "saved.ipynb", ["%load_ext rethink_widgets", f"t = LiveTable(r.table('{people}'))\nawait t.ready()\nt"]
    )
    book = nbformat.read(lab.root / path, as_version=4)
    NotebookClient(book, timeout=120).execute()
    nbformat.write(book, lab.root / path)
    lab.trust(path)
    open_notebook(page, lab, path)
    table = page.locator(".rw-table")
    expect(table.locator("tbody tr")).to_have_count(7, timeout=TIMEOUT)
    expect(table.locator("tbody tr").first).to_contain_text("person 1")
    expect(table.locator(".rw-offline")).to_contain_text("Not live", timeout=TIMEOUT)
    expect(table.locator(".rw-status")).to_contain_text("not live · 7 rows")


def test_saved_in_jupyterlab_then_reopened_with_no_kernel(lab: Lab, people: str, page: Page) -> None:
    """As a person does it: run, save (the package makes JupyterLab save widget state), stop the kernel, reopen."""
    path = lab.notebook(
        f"{uuid.uuid4().hex[:8]}.ipynb", ["%load_ext rethink_widgets", f"LiveTable(r.table('{people}'))"]
    )
    open_notebook(page, lab, path)
    run_all(page, path)
    expect(page.locator(".rw-table .rw-status")).to_contain_text("ready · 7 rows", timeout=TIMEOUT)
    save(page, path)
    page.evaluate(
        """async (path) => { const w = Array.from(window.jupyterapp.shell.widgets('main'))
            .find(w => w.context && w.context.path === path);
            await w.sessionContext.shutdown(); await w.context.save(); w.close(); }""",
        path,
    )
    saved = json.loads((lab.root / path).read_text())
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]  # the state went in
    page.goto(f"{lab.url}{lab.tree}{path}?token={lab.token}&reset")
    table = page.locator(".rw-table")
    expect(table.locator("tbody tr")).to_have_count(7, timeout=TIMEOUT)
    expect(table.locator(".rw-offline")).to_contain_text("Not live", timeout=TIMEOUT)
    # Nothing would act on them: no delete, add or filter controls on a snapshot.
    expect(table.get_by_role("button", name="Add row")).to_be_hidden()
    expect(table.locator("tbody button").first).to_be_hidden()
    expect(table.get_by_placeholder("Filter")).to_be_hidden()


def test_a_notebook_saved_without_widget_state_shows_a_snapshot(
    lab: Lab, conn: Any, r: RethinkDB, server: Any, people: str, monkeypatch: pytest.MonkeyPatch, page: Page
) -> None:
    """JupyterLab saves no widget state by default: exported to HTML (as GitHub or nbviewer show it), the notebook
    still shows the table's rows, as text, and says they are not live."""
    monkeypatch.setenv("RETHINKDB_HOST", server.host)
    monkeypatch.setenv("RETHINKDB_PORT", str(server.port))
    r.table(people).insert({"id": 8, "name": "<img src=x onerror=alert(1)>", "age": 1}).run(conn)
    code = f"t = LiveTable(r.table('{people}'))\nt.sort = ['age', 'desc']\nawait t.ready()\nt"
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in ["%load_ext rethink_widgets", code]])
    NotebookClient(book, timeout=120, store_widget_state=False).execute()
    assert "widgets" not in book.metadata
    exported, _ = HTMLExporter().from_notebook_node(book)
    page.set_content(exported, wait_until="domcontentloaded")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(8)
    ages = sorted((doc["age"] for doc in r.table(people).run(conn)), reverse=True)
    expect(page.locator("tbody tr td:nth-child(2)")).to_have_text([str(age) for age in ages])
    expect(rows.last).to_contain_text("<img src=x onerror=alert(1)>")  # text, never HTML
    assert page.locator("tbody img").count() == 0
    expect(page.get_by_text("not live, a snapshot of 8 of 8 rows")).to_be_visible()

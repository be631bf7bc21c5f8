"""A big table in real JupyterLab and Chromium: rows show while its snapshot comes in, with progress."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import Lab, open_notebook, run_all
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

ROWS = 60_000
TIMEOUT = 60_000  # ms; generous for a shared machine (speed is measured by benchmarks, not here)

# Every state of the table the page draws, noted as it is drawn (a MutationObserver sees each draw, however fast).
NOTE_DRAWS = """() => {
  window.drawn = [];
  new MutationObserver(() => {
    const status = document.querySelector(".rw-table .rw-status");
    if (!status) return;
    const bar = document.querySelector(".rw-table progress.rw-progress");
    const first = document.querySelector(".rw-table tbody tr td");
    window.drawn.push({
      status: status.textContent,
      rows: document.querySelectorAll(".rw-table tbody tr").length,
      first: first ? first.textContent : null,
      bar: bar && !bar.hidden ? [bar.value, bar.max] : null,
    });
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


@pytest.fixture
def big(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "big_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    for start in range(0, ROWS, 10_000):
        docs = [{"id": i, "name": f"row {i}", "n": i % 97} for i in range(start, start + 10_000)]
        r.table(name).insert(docs).run(conn, durability="soft")
    yield name
    r.table_drop(name).run(conn)


def test_a_big_table_shows_rows_before_ready(lab: Lab, big: str, page: Page) -> None:
    path = lab.notebook(f"{uuid.uuid4().hex[:8]}.ipynb", ["%load_ext rethink_widgets", f"LiveTable(r.table('{big}'))"])
    open_notebook(page, lab, path)
    page.evaluate(NOTE_DRAWS)
    run_all(page, path)
    status = page.locator(".rw-table .rw-status")
    expect(status).to_contain_text(f"ready · {ROWS} rows", timeout=TIMEOUT)
    expect(page.locator(".rw-table progress.rw-progress")).to_be_hidden()
    drawn: list[dict[str, Any]] = page.evaluate("window.drawn")
    loading = [
        d for d in drawn if (m := re.match(rf"initializing · (\d+) of {ROWS} rows$", d["status"])) and int(m[1]) > 0
    ]
    assert loading, f"no rows with progress before ready: {[d['status'] for d in drawn][:20]}"
    # The rows in sight show from the first rows on, in primary key order (the grid fills, it does not jump), and a
    # bar fills.
    assert any(d["rows"] >= 10 and d["first"] == "0" for d in loading)
    assert all(d["first"] in (None, "0") for d in loading)
    assert any(d["bar"] and 0 < d["bar"][0] < d["bar"][1] == ROWS for d in loading)

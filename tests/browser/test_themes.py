"""The widgets in JupyterLab's light and dark themes: text stays readable on its background, the way people see it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import Lab, open_notebook, run_all
from playwright.sync_api import Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 30_000

# The colour of an element's text and of what shows behind it: the backgrounds from it outwards, blended by their
# alpha, over the first opaque one (or white), as [r, g, b].
_COLOURS = """(selector) => {
  const el = document.querySelector(selector);
  const rgba = (text) => { const c = text.match(/[\\d.]+/g).map(Number); return c.length < 4 ? [...c, 1] : c; };
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  let back = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) back = [r, g, b].map((c, i) => c * a + back[i] * (1 - a));
  return { text: rgba(getComputedStyle(el).color).slice(0, 3), back };
}"""


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(page: Page, selector: str) -> tuple[float, float]:
    """(contrast ratio of text to background, the background's luminance) for the first match of `selector`."""
    colours = page.evaluate(_COLOURS, selector)
    text, back = luminance(colours["text"]), luminance(colours["back"])
    return (max(text, back) + 0.05) / (min(text, back) + 0.05), back


@pytest.fixture
def table(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "themes_" + uuid.uuid4().hex[:8]
    r.table_create(name).run(conn)
    r.table(name).insert([{"id": i, "text": f"item {i}", "done": i == 0, "created_at": r.now()} for i in range(3)]).run(
        conn
    )
    yield name
    r.table_drop(name).run(conn)


def set_theme(page: Page, theme: str) -> None:
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
    page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === light", arg="true" if "Light" in theme else "false"
    )


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_text_is_readable_in_each_theme(lab: Lab, table: str, page: Page, theme: str) -> None:
    in_error = f"LiveTable(r.table('{table}').filter(r.row['text'] * 2 > 0))"  # text is no number: the feed fails
    cells = ["%load_ext rethink_widgets", f"LiveTable(r.table('{table}'))", f"TodoList(r.table('{table}'))", in_error]
    path = lab.notebook(f"{uuid.uuid4().hex[:8]}.ipynb", cells)
    open_notebook(page, lab, path)
    set_theme(page, theme)
    run_all(page, path)
    expect(page.locator(".rw-table .rw-status").first).to_contain_text("ready", timeout=TIMEOUT)
    expect(page.locator(".rw-todo li")).to_have_count(3, timeout=TIMEOUT)
    expect(page.locator(".rw-trouble[data-kind='error']")).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function("() => document.getAnimations().length === 0")  # changed rows' highlights have faded
    dark = "Dark" in theme
    for selector in (
        ".rw-table tbody td",
        ".rw-table thead th",
        ".rw-table .rw-status",
        ".rw-todo .rw-text",
        ".rw-todo input[type=text]",
        ".rw-todo .rw-left",
        ".rw-trouble[data-kind='error']",
    ):
        ratio, background = contrast(page, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.1f} in {theme}"  # WCAG AA for normal text
        assert (background < 0.2) == dark, f"{selector}: background luminance {background:.2f} in {theme}"

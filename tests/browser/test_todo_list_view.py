"""TodoList in real JupyterLab and Chromium: one person's actions, and two people on two notebooks."""

from __future__ import annotations

from typing import Any

from jupyter_lab import Lab, run_notebook, screenshot
from playwright.sync_api import Browser, Page, expect
from rethinkdb import RethinkDB

TIMEOUT = 15_000


def show(page: Page, lab: Lab, table: str) -> None:
    run_notebook(page, lab, [f"TodoList(r.table('{table}'))"])
    expect(page.locator(".rw-todo .rw-status")).to_have_text("ready", timeout=TIMEOUT)


def add(page: Page, text: str) -> None:
    box = page.locator(".rw-todo input[aria-label='New item']")
    box.fill(text)
    box.press("Enter")


def test_add_toggle_edit_delete_clear(lab: Lab, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    show(page, lab, todo)
    items = page.locator(".rw-todo li")
    for text in ("buy milk", "walk the dog", "<script>window.pwned = 1</script>", "<img src=x onerror=alert(1)>"):
        add(page, text)
        expect(items.last).to_contain_text(text, timeout=TIMEOUT)
    expect(items).to_have_count(4)
    assert page.evaluate("() => window.pwned") is None and page.locator(".rw-todo img").count() == 0
    expect(page.locator(".rw-todo .rw-left")).to_have_text("4 items left")
    items.nth(0).locator("input[type=checkbox]").check()
    expect(items.nth(0)).to_have_class("rw-done", timeout=TIMEOUT)
    expect(page.locator(".rw-todo .rw-left")).to_have_text("3 items left", timeout=TIMEOUT)
    assert r.table(todo).filter({"text": "buy milk"}).nth(0).run(conn)["done"] is True
    items.nth(1).locator(".rw-text").dblclick()
    editor = items.nth(1).locator("input[aria-label='Edit item']")
    editor.fill("walk the cat")
    editor.press("Enter")
    expect(items.nth(1)).to_contain_text("walk the cat", timeout=TIMEOUT)
    items.nth(3).hover()
    items.nth(3).locator("button[aria-label='Delete item']").click()
    expect(items).to_have_count(3, timeout=TIMEOUT)
    page.get_by_role("button", name="Clear completed").click()
    expect(items).to_have_count(2, timeout=TIMEOUT)
    assert sorted(d["text"] for d in r.table(todo).run(conn)) == ["<script>window.pwned = 1</script>", "walk the cat"]


def test_invalid_input_shows_a_message(lab: Lab, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    show(page, lab, todo)
    add(page, "fine")
    expect(page.locator(".rw-todo li")).to_have_count(1, timeout=TIMEOUT)
    item = page.locator(".rw-todo li").first
    item.locator(".rw-text").dblclick()
    editor = item.locator("input[aria-label='Edit item']")
    editor.fill("   ")
    editor.press("Enter")
    # Next to the item it concerns.
    expect(item.locator(".rw-message")).to_have_text("A todo needs some text.", timeout=TIMEOUT)
    expect(item.locator(".rw-text")).to_have_text("fine")
    assert [d["text"] for d in r.table(todo).run(conn)] == ["fine"]


def test_the_new_item_box_refuses_with_a_message(lab: Lab, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    show(page, lab, todo)
    box = page.locator(".rw-todo input[aria-label='New item']")
    message = page.locator(".rw-todo .rw-bar:has(input[aria-label='New item']) + .rw-message")  # under the box
    add(page, "   ")
    expect(message).to_have_text("A todo needs some text.", timeout=TIMEOUT)
    long = "x" * 501
    add(page, long)
    expect(message).to_have_text("A todo's text can be at most 500 characters (this one has 501).", timeout=TIMEOUT)
    expect(box).to_have_value(long)  # kept, to be shortened
    box.press("Backspace")
    box.press("Enter")
    expect(page.locator(".rw-todo li .rw-text")).to_have_text(["x" * 500], timeout=TIMEOUT)
    expect(box).to_have_value("")
    expect(message).to_have_text("")
    assert [d["text"] for d in r.table(todo).run(conn)] == ["x" * 500]


def test_keyboard_only(lab: Lab, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    show(page, lab, todo)
    box = page.locator(".rw-todo input[aria-label='New item']")
    box.focus()
    page.keyboard.type("typed item")
    page.keyboard.press("Enter")
    item = page.locator(".rw-todo li").first
    expect(item).to_contain_text("typed item", timeout=TIMEOUT)
    item.locator(".rw-text").focus()
    page.keyboard.press("Enter")  # edit
    page.keyboard.press("Control+a")
    page.keyboard.type("edited item")
    page.keyboard.press("Enter")
    expect(item.locator(".rw-text")).to_have_text("edited item", timeout=TIMEOUT)
    item.locator("input[type=checkbox]").focus()
    page.keyboard.press("Space")
    expect(page.locator(".rw-todo .rw-left")).to_have_text("0 items left", timeout=TIMEOUT)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the text, to the delete button
    page.keyboard.press("Enter")
    expect(page.locator(".rw-todo li")).to_have_count(0, timeout=TIMEOUT)
    assert r.table(todo).count().run(conn) == 0


def test_two_users_see_each_other(lab: Lab, browser: Browser, conn: Any, r: RethinkDB, todo: str, page: Page) -> None:
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        show(page, lab, todo)
        show(other, lab, todo)  # another notebook: another kernel
        add(page, "from alice")
        expect(other.locator(".rw-todo li")).to_contain_text(["from alice"], timeout=TIMEOUT)
        add(other, "from bob")
        expect(page.locator(".rw-todo li")).to_contain_text(["from alice", "from bob"], timeout=TIMEOUT)
        # Rapid clicking on both sides, on the same items: both end showing what the database holds.
        for _ in range(7):
            page.locator(".rw-todo li input[type=checkbox]").nth(1).click()
            other.locator(".rw-todo li input[type=checkbox]").nth(1).click()
            other.locator(".rw-todo li input[type=checkbox]").nth(0).click()
        page.wait_for_timeout(500)  # let the last writes land before reading the database
        held = [d["done"] for d in r.table(todo).order_by("created_at", "id").run(conn)]
        for view in (page, other):
            boxes = view.locator(".rw-todo li input[type=checkbox]")
            for index, done in enumerate(held):
                expect(boxes.nth(index)).to_be_checked(checked=done, timeout=TIMEOUT)
            left = held.count(False)
            expect(view.locator(".rw-todo .rw-left")).to_have_text(f"{left} item{'' if left == 1 else 's'} left")
        other.locator(".rw-todo li").first.hover()
        other.locator(".rw-todo li button[aria-label='Delete item']").first.click()
        expect(page.locator(".rw-todo li")).to_have_count(1, timeout=TIMEOUT)
        expect(page.locator(".rw-todo li")).to_contain_text("from bob")
    finally:
        screenshot(other, "test_two_users_see_each_other-bob")
        other.context.close()

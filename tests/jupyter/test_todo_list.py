"""TodoList in real kernels against the embedded server: actions, validation, and two users at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel import Kernel
from rethinkdb import RethinkDB
from servers import ServerProcess


def start_kernel(server: ServerProcess, cwd: Path) -> Kernel:
    k = Kernel(cwd, {"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port)})
    assert not k.run("%load_ext rethink_widgets").error
    return k


def open_list(kernel: Kernel, table: str, name: str = "todo") -> tuple[str, Any]:
    return kernel.open_widget(f"TodoList(r.table('{table}'))", name)


def texts(kernel: Kernel, comm: str) -> list[str]:
    return [item["text"] for item in kernel.state(comm)["items_shown"]]


def test_creates_its_table_and_follows_python_actions(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, cell = open_list(kernel, todo)
    assert f"rethink_widgets: created table test.{todo}" in cell.stdout
    assert cell.text == f"TodoList(test.{todo}, 0 items, 0 left, ready)"
    kernel.run("a = await todo.add('  buy milk  '); b = await todo.add('walk dog')")
    kernel.wait_for(lambda: texts(kernel, comm) == ["buy milk", "walk dog"], what="two items")
    stored = r.table(todo).get(kernel.run("a").text.strip("'")).run(conn)
    assert stored["text"] == "buy milk" and stored["done"] is False and stored["created_at"].tzinfo is not None
    kernel.run("await todo.toggle(a); await todo.edit(b, 'walk the dog')")
    # The toggle and the edit are two changes, which may reach the views in two updates.
    kernel.wait_for(lambda: kernel.state(comm)["left"] == 1 and "walk the dog" in texts(kernel, comm), what="both")
    assert texts(kernel, comm) == ["buy milk", "walk the dog"]
    assert kernel.run("[(i['text'], i['done']) for i in todo.items]").text == (
        "[('buy milk', True), ('walk the dog', False)]"
    )
    assert kernel.run("await todo.clear_completed()").text == "1"
    kernel.wait_for(lambda: texts(kernel, comm) == ["walk the dog"], what="cleared")
    kernel.run("await todo.delete(b)")
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 0, what="empty")


def test_invalid_input_is_refused_and_nothing_written(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, _ = open_list(kernel, todo)
    assert kernel.run("await todo.add('   ')").error == "ValueError: A todo needs some text."
    assert "at most 500 characters" in kernel.run("await todo.add('x' * 501)").error
    assert kernel.run("await todo.add(5)").error == "TypeError: A todo's text must be a string, not int."
    assert kernel.run("await todo.toggle('no-such-id')").error == "ValueError: That item was deleted meanwhile."
    kernel.send_custom(comm, {"type": "add", "text": ""})
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "A todo needs some text.", what="the refusal")
    kernel.send_custom(comm, {"type": "add", "text": {"not": "text"}})
    kernel.wait_for(lambda: "must be a string" in kernel.state(comm)["message"], what="the type refusal")
    assert r.table(todo).count().run(conn) == 0
    kernel.send_custom(comm, {"type": "add", "text": "<script>alert(1)</script>"})
    kernel.wait_for(lambda: texts(kernel, comm) == ["<script>alert(1)</script>"], what="markup kept as text")
    # The refusal is cleared once the write is answered, which may come a moment after its change reached the feed.
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "", what="the refusal cleared by the write")


def test_view_requests_and_a_toggle_racing_a_delete(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, _ = open_list(kernel, todo)
    for text in ("one", "two", "three"):
        kernel.send_custom(comm, {"type": "add", "text": text})
    kernel.wait_for(lambda: texts(kernel, comm) == ["one", "two", "three"], what="three items in order")
    first, second, _ = kernel.state(comm)["items_shown"]
    kernel.send_custom(comm, {"type": "toggle", "id": first["id"], "done": True})
    kernel.send_custom(comm, {"type": "edit", "id": second["id"], "text": "TWO"})
    kernel.wait_for(lambda: kernel.state(comm)["left"] == 2 and "TWO" in texts(kernel, comm), what="toggle and edit")
    r.table(todo).get(second["id"]).delete().run(conn)  # someone else deletes it ...
    kernel.send_custom(comm, {"type": "toggle", "id": second["id"], "done": True})  # ... as this view checks it
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "That item was deleted meanwhile.", what="the message")
    kernel.wait_for(lambda: texts(kernel, comm) == ["one", "three"], what="the delete")
    kernel.send_custom(comm, {"type": "clear_completed"})
    kernel.wait_for(lambda: texts(kernel, comm) == ["three"], what="completed cleared")


BURST = """
import asyncio
async def burst(actions):
    outcomes = await asyncio.gather(*actions, return_exceptions=True)
    return sorted({str(o) for o in outcomes if isinstance(o, Exception)})
job = asyncio.ensure_future(burst({actions}))
"""


def start_burst(k: Kernel, actions: str) -> None:
    assert not k.run(BURST.replace("{actions}", actions)).error


def burst_errors(k: Kernel) -> str:
    k.wait_for(lambda: k.run("job.done()").text == "True", timeout=60, what="the burst to finish")
    return k.run("job.result()").text


def test_two_kernels_stay_identical(server: ServerProcess, tmp_path: Path, conn: Any, r: RethinkDB, todo: str) -> None:
    alice, bob = start_kernel(server, tmp_path), start_kernel(server, tmp_path)
    try:
        comm_a, _ = open_list(alice, todo)
        comm_b, _ = open_list(bob, todo)
        # Both add at the same time, then race: alice flips every item while bob deletes every other one.
        start_burst(alice, "[todo.add(f'alice {i}') for i in range(20)]")
        start_burst(bob, "[todo.add(f'bob {i}') for i in range(20)]")
        assert burst_errors(alice) == burst_errors(bob) == "[]"
        alice.wait_for(lambda: alice.state(comm_a)["total"] == 40, what="all 40 items")
        bob.wait_for(lambda: bob.state(comm_b)["total"] == 40, what="all 40 items")
        start_burst(alice, "[todo.toggle(i['id']) for i in todo.items]")
        start_burst(bob, "[todo.delete(i['id']) for i in todo.items[::2]]")
        assert burst_errors(alice) in ("[]", "['That item was deleted meanwhile.']")  # a flip that lost the race
        assert burst_errors(bob) == "[]"
        final = sorted((d["text"], d["done"]) for d in r.table(todo).run(conn))
        assert len(final) == 20

        def shown(k: Kernel, comm: str) -> list[tuple[str, bool]]:
            return sorted((item["text"], item["done"]) for item in k.state(comm)["items_shown"])

        alice.wait_for(lambda: shown(alice, comm_a) == final, what="alice converges")
        bob.wait_for(lambda: shown(bob, comm_b) == final, what="bob converges")
        assert alice.state(comm_a)["items_shown"] == bob.state(comm_b)["items_shown"]  # same order too
    finally:
        alice.close()
        bob.close()


def test_items_keep_the_order_they_were_added_in(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, _ = open_list(kernel, todo)
    kernel.run("import asyncio\nfor i in range(30): await todo.add(f'item {i}')")  # many in the same millisecond
    expected = [f"item {i}" for i in range(30)]
    kernel.wait_for(lambda: texts(kernel, comm) == expected, what="creation order")
    # Adds made at once are created in the order the database ran them: the list shows that order.
    kernel.run("await asyncio.gather(*(todo.add(f'more {i}') for i in range(30)))")
    kernel.wait_for(lambda: len(texts(kernel, comm)) == 60, what="all items")
    created = [d["text"] for d in r.table(todo).order_by("created_at", "id").run(conn)]
    assert texts(kernel, comm) == created


def test_text_is_kept_verbatim_and_checked_at_its_limits(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, _ = open_list(kernel, todo)
    payloads = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "x" * 500, "\u00e9t\u00e9 \U0001f600"]
    for text in payloads:
        kernel.send_custom(comm, {"type": "add", "text": text})
    kernel.wait_for(lambda: len(texts(kernel, comm)) == len(payloads), what="every payload")
    assert sorted(d["text"] for d in r.table(todo).run(conn)) == sorted(payloads)
    assert sorted(texts(kernel, comm)) == sorted(payloads)
    first = kernel.state(comm)["items_shown"][0]["id"]
    assert kernel.run(f"await todo.edit('{first}', '\u200b')").error == "ValueError: A todo needs some text."
    assert "at most 500" in kernel.run(f"await todo.edit('{first}', 'y' * 501)").error
    kernel.send_custom(comm, {"type": "edit", "id": first, "text": "   "})
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "A todo needs some text.", what="the refusal")
    assert r.table(todo).get(first)["text"].run(conn) == payloads[0]


def test_bad_ids_and_odd_rows_get_clear_answers(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    comm, _ = open_list(kernel, todo)
    for call in ("todo.toggle(None)", "todo.delete({'a': 1})", "todo.edit([1], 'x')"):
        assert kernel.run(f"await {call}").error.startswith("TypeError: An item id is a string or a number")
    kernel.send_custom(comm, {"type": "delete", "id": None})
    kernel.wait_for(lambda: "An item id is" in kernel.state(comm)["message"], what="the refusal")
    # A row written from outside with a done that is not a boolean: shown not done, counted left, flipped to done.
    r.table(todo).insert({"id": "odd", "text": "odd one", "done": "yes", "created_at": r.now()}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 1, what="the odd row")
    assert kernel.state(comm)["left"] == 1
    assert kernel.state(comm)["items_shown"][0]["done"] is False
    kernel.run("await todo.toggle('odd')")
    kernel.wait_for(lambda: kernel.state(comm)["left"] == 0, what="flipped to done")
    assert r.table(todo).get("odd")["done"].run(conn) is True


def test_documents_that_are_not_items_are_counted_not_shown(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    r.table_create(todo).run(conn)
    others = [{"id": "a", "name": "no text"}, {"id": "b", "text": None}, {"id": "c", "text": 5, "done": True}]
    items = [{"id": "d", "text": "to do", "done": False}, {"id": "e", "text": "done", "done": True}]
    r.table(todo).insert([{**doc, "created_at": r.now()} for doc in items] + others).run(conn)
    comm, cell = open_list(kernel, todo)
    assert cell.text == f"TodoList(test.{todo}, 2 items, 1 left, 3 other documents not shown, ready)"
    state = kernel.state(comm)
    assert (state["total"], state["left"], state["others"]) == (2, 1, 3)
    assert texts(kernel, comm) == ["to do", "done"]
    assert kernel.run("[item['id'] for item in todo.items]").text == "['d', 'e']"
    assert kernel.run("await todo.clear_completed()").text == "1"  # not "c": it is done, but no item
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 1, what="the item cleared")
    assert sorted(r.table(todo)["id"].run(conn)) == ["a", "b", "c", "d"]
    r.table(todo).get("a").update({"text": "now an item", "created_at": r.now()}).run(conn)
    kernel.wait_for(lambda: kernel.state(comm)["others"] == 2, what="a document become an item")
    assert texts(kernel, comm) == ["to do", "now an item"]


def test_refuses_what_is_not_a_table(kernel: Kernel, todo: str) -> None:
    cell = kernel.run(f"TodoList(r.table('{todo}').map(r.row['text']))")
    assert cell.error == "ValueError: TodoList needs a table (or a filter of one), such as r.table('todo')"


LOG_TO_A_LIST = """
import logging
class Keep(logging.Handler):
    def emit(self, record): logged.append((record.levelname, record.exc_info[0].__name__))
logged = []
logging.getLogger('rethink_widgets').addHandler(Keep())
"""


def test_bad_messages_bugs_and_refusals_each_say_what_they_are(
    kernel: Kernel, conn: Any, r: RethinkDB, todo: str
) -> None:
    comm, _ = open_list(kernel, todo)
    kernel.send_custom(comm, {"type": "frobnicate"})
    kernel.wait_for(lambda: kernel.state(comm)["message"] == "Unknown request: 'frobnicate'", what="unknown")
    kernel.send_custom(comm, {"type": "toggle", "id": "a", "done": "yes"})
    expected = "A view's 'toggle' request: done must be true or false, not str."
    kernel.wait_for(lambda: kernel.state(comm)["message"] == expected, what="the bad field")
    kernel.send_custom(comm, {"type": "edit", "id": "a"})
    expected = "A view's 'edit' request has no text (it must be a string)."
    kernel.wait_for(lambda: kernel.state(comm)["message"] == expected, what="the missing field")
    # A bug in the kernel is logged with its traceback and said as one, not blamed on the database.
    kernel.run(LOG_TO_A_LIST)
    kernel.run("async def broken(text): raise RuntimeError('a bug')\ntodo.add = broken")
    kernel.send_custom(comm, {"type": "add", "text": "one"})
    expected = "Internal error: RuntimeError: a bug (see the kernel's log)"
    kernel.wait_for(lambda: kernel.state(comm)["message"] == expected, what="the bug")
    assert kernel.run("logged").text == "[('ERROR', 'RuntimeError')]"
    # What the database refuses says so.
    r.table_drop(todo).run(conn)
    kernel.send_custom(comm, {"type": "clear_completed"})
    kernel.wait_for(lambda: kernel.state(comm)["message"].startswith("The database refused: Table"), what="refusal")
    assert kernel.run("logged").text == "[('ERROR', 'RuntimeError')]"


def test_counts_agree_with_the_items_read_beside_them(kernel: Kernel, todo: str) -> None:
    # Views get counts with throttled updates; Python must never see a count from before the items it reads.
    open_list(kernel, todo)
    cell = kernel.run(
        "seen = []\n"
        "for n in range(1, 31):\n"
        "    await todo.add(f'item {n}')\n"
        "    await todo.wait_until(lambda t: len(t.items) == n)\n"
        "    seen.append((len(todo.items), todo.total, todo.left))\n"
        "[s for s in seen if len({*s}) != 1]"
    )
    assert cell.text == "[]"


def test_clear_completed_keeps_to_the_lists_own_items(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    r.table_create(todo).run(conn)
    docs = [
        {"id": f"{group}{n}", "text": f"{group} {n}", "done": True, "list": group} for group in "ab" for n in (1, 2)
    ]
    r.table(todo).insert(docs).run(conn)
    cell = kernel.run(
        f"groceries = TodoList(r.table('{todo}').filter({{'list': 'a'}})); await groceries.ready()\n"
        "await groceries.clear_completed()"
    )
    assert cell.text == "2", cell.error
    assert sorted(r.table(todo)["id"].run(conn)) == ["b1", "b2"]


def test_an_item_added_to_a_filtered_list_is_in_it(kernel: Kernel, conn: Any, r: RethinkDB, todo: str) -> None:
    cell = kernel.run(
        f"work = TodoList(r.table('{todo}').filter({{'list': 'work'}})); await work.ready()\n"
        "await work.add('send the report'); await work.wait_until(lambda w: w.total == 1)"
    )
    assert not cell.error, cell.error
    assert f"rethink_widgets: created table test.{todo}" in cell.stdout
    (item,) = r.table(todo).run(conn)
    assert (item["list"], item["text"]) == ("work", "send the report")


def test_a_todo_list_makes_its_table_in_its_cell(kernel: Kernel, todo: str) -> None:
    # The next line of the cell (or the next cell of a Run All) finds the table: nothing waits for it.
    cell = kernel.run(f"todo = TodoList(r.table('{todo}')); LiveTable(r.table('{todo}'))")
    assert not cell.error and "waiting" not in cell.stderr, cell.stderr

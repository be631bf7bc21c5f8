"""TodoList in real kernels against the embedded server: actions, validation, and two users at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from servers import ServerProcess


def start_kernel(server: ServerProcess, cwd: Path) -> Kernel:
    k = Kernel(cwd, {"RETHINKDB_HOST": server.host, "RETHINKDB_PORT": str(server.port)})
    assert not k.run("%load_ext rethink_widgets").error
    return k


@pytest.fixture
def kernel(server: ServerProcess, tmp_path: Path) -> Iterator[Kernel]:
    k = start_kernel(server, tmp_path)
    yield k
    k.close()


@pytest.fixture
def todo(conn: Any, r: RethinkDB) -> Iterator[str]:
    name = "todo_" + uuid.uuid4().hex[:8]
    yield name
    if name in r.table_list().run(conn):
        r.table_drop(name).run(conn)


def open_list(kernel: Kernel, table: str, name: str = "todo") -> tuple[str, Any]:
    cell = kernel.run(f"{name} = TodoList(r.table('{table}')); await {name}.ready(); {name}")
    assert not cell.error, cell.error
    comm = kernel.widget(cell)
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready", what="ready")
    return comm, cell


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
    kernel.wait_for(lambda: kernel.state(comm)["left"] == 1, what="one left")
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
    assert kernel.state(comm)["message"] == ""


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


def test_two_kernels_stay_identical(server: ServerProcess, tmp_path: Path, conn: Any, r: RethinkDB, todo: str) -> None:
    alice, bob = start_kernel(server, tmp_path), start_kernel(server, tmp_path)
    try:
        comm_a, _ = open_list(alice, todo)
        comm_b, _ = open_list(bob, todo)
        code = "import asyncio\nids = await asyncio.gather(*(todo.add(f'{who} {i}') for i in range(20)))"
        alice.run(code.replace("{who}", "alice"))
        bob.run(code.replace("{who}", "bob"))
        bob.run("await asyncio.gather(*(todo.toggle(i) for i in ids[::2]))")
        alice.run("await asyncio.gather(*(todo.delete(i) for i in ids[:5]))")
        final = sorted((d["text"], d["done"]) for d in r.table(todo).run(conn))
        assert len(final) == 35

        def shown(k: Kernel, comm: str) -> list[tuple[str, bool]]:
            return sorted((item["text"], item["done"]) for item in k.state(comm)["items_shown"])

        alice.wait_for(lambda: shown(alice, comm_a) == final, what="alice converges")
        bob.wait_for(lambda: shown(bob, comm_b) == final, what="bob converges")
        assert alice.state(comm_a)["items_shown"] == bob.state(comm_b)["items_shown"]  # same order too
    finally:
        alice.close()
        bob.close()


def test_refuses_what_is_not_a_table(kernel: Kernel, todo: str) -> None:
    cell = kernel.run(f"TodoList(r.table('{todo}').map(r.row['text']))")
    assert cell.error == "ValueError: TodoList needs a table (or a filter of one), such as r.table('todo')"

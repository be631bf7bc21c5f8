"""`%load_ext`, `%unload_ext` and `%reload_ext` in a real kernel: what they do to the widgets and watches made."""

from __future__ import annotations

from typing import Any

from kernel import Kernel
from rethinkdb import RethinkDB

BOTH_READY = "await t.wait_until(lambda t: t.status == w.status == 'ready')"


def test_reload_ext_keeps_widgets_and_watches_working(kernel: Kernel, r: RethinkDB, conn: Any, table: str) -> None:
    r.table(table).insert({"id": 1}).run(conn)
    cell = kernel.run(f"t = LiveTable(r.table('{table}')); seen = []; w = watch(r.table('{table}'), seen.append)\nt")
    comm = kernel.widget(cell)
    assert not kernel.run(BOTH_READY).error
    reloaded = kernel.run("%reload_ext rethink_widgets")
    assert not reloaded.error, reloaded.error
    assert not kernel.run(BOTH_READY).error
    r.table(table).insert({"id": 2}).run(conn)
    cell = kernel.run("await t.wait_until(lambda t: len(t.rows) == 2 and seen)\nt.status, w.status, seen")
    assert (cell.error, cell.text) == ("", "('ready', 'ready', [{'new_val': {'id': 2}, 'old_val': None}])")
    kernel.wait_for(lambda: kernel.state(comm)["status"] == "ready" and kernel.state(comm)["total"] == 2)
    # Writes from the view go through too, on the new connection.
    kernel.send_custom(comm, {"type": "insert", "text": '{"id": 3}'})
    kernel.wait_for(lambda: kernel.state(comm)["total"] == 3, what="the row added from the view")


def test_unload_ext_stops_and_load_ext_resumes(kernel: Kernel, r: RethinkDB, conn: Any, table: str) -> None:
    kernel.run(f"t = LiveTable(r.table('{table}')); w = watch(r.table('{table}'), print)")
    assert not kernel.run(BOTH_READY).error
    kernel.run("%unload_ext rethink_widgets")
    assert kernel.run("t.status, w.status").text == "('closed', 'closed')"
    r.table(table).insert({"id": 1}).run(conn)
    assert not kernel.run("%load_ext rethink_widgets").error
    cell = kernel.run("await t.wait_until(lambda t: len(t.rows) == 1)\nt.status")
    assert (cell.error, cell.text) == ("", "'ready'")

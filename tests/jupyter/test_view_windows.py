"""Views of one LiveTable scroll independently: each asks for its own window of rows, in a real kernel."""

from __future__ import annotations

from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB

from rethink_widgets.jupyter.view_windows import MAX_VIEWS


@pytest.fixture
def numbers(conn: Any, r: RethinkDB, table: str) -> str:
    r.table(table).insert([{"id": i, "n": 0} for i in range(300)]).run(conn)
    return table


def open_table(kernel: Kernel, table: str) -> str:
    return kernel.open_widget(f"LiveTable(r.table('{table}'), page_size=20)", "t")[0]


def ask(kernel: Kernel, comm: str, view: str, start: int, stop: int) -> None:
    kernel.send_custom(comm, {"type": "window", "view": view, "start": start, "stop": stop})


def rows_messages(kernel: Kernel, comm: str) -> list[dict[str, Any]]:
    """Every `rows` message the widget sent its views, oldest first."""
    return [content for c, content in kernel.custom if c == comm and content.get("type") == "rows"]


def window(kernel: Kernel, comm: str, view: str) -> dict[str, Any]:
    """The rows the kernel last sent `view`: {start, rows, changed}; {} when none."""
    sent = [message["windows"][view] for message in rows_messages(kernel, comm) if view in message["windows"]]
    return sent[-1] if sent else {}


def ids(kernel: Kernel, comm: str, view: str) -> list[int]:
    return [row["cells"]["id"] for row in window(kernel, comm, view).get("rows", [])]


def kept(kernel: Kernel, comm: str) -> list[str]:
    """The views whose windows the kernel said it keeps, last."""
    messages = rows_messages(kernel, comm)
    return messages[-1]["kept"] if messages else []


def test_each_view_gets_its_own_rows(kernel: Kernel, conn: Any, r: RethinkDB, numbers: str) -> None:
    comm = open_table(kernel, numbers)
    ask(kernel, comm, "a", 250, 400)  # past the end: the rows there are
    ask(kernel, comm, "b", 100, 110)
    kernel.wait_for(lambda: ids(kernel, comm, "a") == list(range(250, 300)), what="view a's rows")
    kernel.wait_for(lambda: ids(kernel, comm, "b") == list(range(100, 110)), what="view b's rows")
    assert window(kernel, comm, "a")["start"] == 250 and window(kernel, comm, "b")["start"] == 100
    assert sorted(kept(kernel, comm)) == ["a", "b"]
    # Views that have not asked draw the first rows, as before.
    assert [row["cells"]["id"] for row in kernel.state(comm)["window_rows"]] == list(range(20))
    # A row changes in a's window: a gets its rows again, that row marked changed; b's have not changed.
    kernel.custom.clear()
    r.table(numbers).get(260).update({"n": 1}).run(conn)
    kernel.wait_for(lambda: window(kernel, comm, "a"), what="a's changed rows")
    assert window(kernel, comm, "a")["changed"] == ["260"]
    assert window(kernel, comm, "a")["rows"][10]["cells"] == {"id": 260, "n": 1}
    assert window(kernel, comm, "b") == {}
    # b scrolls on; a's rows stay where they are.
    kernel.custom.clear()
    ask(kernel, comm, "b", 0, 5)
    kernel.wait_for(lambda: ids(kernel, comm, "b") == list(range(5)), what="b's new rows")
    assert window(kernel, comm, "a") == {}
    # A sort shows both views their windows in the new order.
    kernel.send_update(comm, {"sort": ["id", "desc"]})
    kernel.wait_for(lambda: ids(kernel, comm, "b") == [299, 298, 297, 296, 295], what="b's rows, sorted")
    kernel.wait_for(lambda: ids(kernel, comm, "a") == list(range(49, -1, -1)), what="a's rows, sorted")


def test_a_view_that_goes_away_is_forgotten(kernel: Kernel, conn: Any, r: RethinkDB, numbers: str) -> None:
    comm = open_table(kernel, numbers)
    ask(kernel, comm, "a", 100, 110)
    ask(kernel, comm, "b", 100, 110)
    kernel.wait_for(lambda: sorted(kept(kernel, comm)) == ["a", "b"], what="both views kept")
    kernel.send_custom(comm, {"type": "goodbye", "view": "a"})
    r.table(numbers).get(105).update({"n": 1}).run(conn)
    kernel.wait_for(lambda: kept(kernel, comm) == ["b"], what="a forgotten")
    assert window(kernel, comm, "b")["changed"] == ["105"]
    assert kernel.run("t.message").text == "''"
    # At most MAX_VIEWS are kept: one more pushes out the view that asked least recently.
    views = [f"v{i}" for i in range(MAX_VIEWS)]
    for view in views:
        ask(kernel, comm, view, 0, 10)
    kernel.wait_for(lambda: kept(kernel, comm) == views, what="the last views to ask kept, b pushed out")


def test_a_view_that_stops_asking_is_forgotten(kernel: Kernel, conn: Any, r: RethinkDB, numbers: str) -> None:
    """One that has not asked for a while is sent changed rows once more, then forgotten unless it asks again."""
    comm = open_table(kernel, numbers)
    kernel.run("from rethink_widgets.jupyter import view_windows; view_windows.RENEW_SECONDS = 0.5")
    kernel.run("view_windows.GRACE_SECONDS = 0.5")
    ask(kernel, comm, "gone", 0, 10)
    ask(kernel, comm, "live", 0, 10)
    kernel.wait_for(lambda: sorted(kept(kernel, comm)) == ["gone", "live"], what="both views kept")
    kernel.run("import asyncio; await asyncio.sleep(1)")  # longer than RENEW_SECONDS
    kernel.custom.clear()
    r.table(numbers).get(1).update({"n": 1}).run(conn)
    kernel.wait_for(lambda: window(kernel, comm, "gone") and window(kernel, comm, "live"), what="one update more")
    ask(kernel, comm, "live", 0, 10)  # what a view does when rows come long after it asked
    kernel.run("await asyncio.sleep(1)")  # longer than GRACE_SECONDS
    r.table(numbers).get(2).update({"n": 1}).run(conn)
    kernel.wait_for(lambda: kept(kernel, comm) == ["live"], what="the silent view forgotten")
    assert window(kernel, comm, "live")["changed"] == ["2"]
    # A view forgotten while still there asks again, and is shown its rows.
    ask(kernel, comm, "gone", 0, 10)
    kernel.wait_for(lambda: sorted(kept(kernel, comm)) == ["gone", "live"], what="the view back")
    assert window(kernel, comm, "gone")["rows"][2]["cells"] == {"id": 2, "n": 1}


def refused(kernel: Kernel, comm: str, request: dict[str, Any], refusal: str) -> None:
    """Send a view's request, and wait for the widget's message to be `refusal`."""
    kernel.send_update(comm, {"message": ""})
    kernel.send_custom(comm, request)
    kernel.wait_for(lambda: kernel.state(comm)["message"] == refusal, what=f"the refusal of {request}")


def test_bad_window_requests_are_refused(kernel: Kernel, numbers: str) -> None:
    comm = open_table(kernel, numbers)
    rule = "A view's window must be from start to stop with 0 <= start <= stop <= start + 1000"
    for start, stop in [(-3, 5), (5, 2), (0, 1001)]:
        request = {"type": "window", "view": "a", "start": start, "stop": stop}
        refused(kernel, comm, request, f"{rule}, not from {start} to {stop}.")
    refused(
        kernel,
        comm,
        {"type": "window", "view": "a", "start": 0},
        "A view's 'window' request has no stop (it must be a whole number).",
    )
    refused(
        kernel,
        comm,
        {"type": "window", "view": "a", "start": True, "stop": 5},
        "A view's 'window' request: start must be a whole number, not bool.",
    )
    refused(
        kernel,
        comm,
        {"type": "window", "view": 3, "start": 0, "stop": 5},
        "A view's 'window' request: view must be a string, not int.",
    )
    refused(kernel, comm, {"type": "goodbye"}, "A view's 'goodbye' request has no view (it must be a string).")
    assert kept(kernel, comm) == []  # nothing refused was kept

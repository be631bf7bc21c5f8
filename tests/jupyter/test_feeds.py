"""`watch` and `feed` in a real kernel: what re-running a cell stops, and how they come back after a server restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kernel import Kernel
from rethinkdb import RethinkDB
from rethinkdb.asyncio_net import net_asyncio
from servers import Restartable, ServerProcess

from rethink_widgets.jupyter import change_streams
from rethink_widgets.jupyter.connection import Connector, Settings

COLLECT = (
    "import asyncio\n"
    "from rethink_widgets.jupyter import feeds\n"
    "async def collect(changes, into):\n"
    "    async for change in changes:\n"
    "        into.append(change['new_val']['id'])\n"
    "    return 'ended'\n"
    "async def until(condition):\n"
    "    for _ in range(300):\n"
    "        if condition(): return True\n"
    "        await asyncio.sleep(0.1)\n"
    "    return False\n"
)


@pytest.fixture
def kernel(kernel: Kernel) -> Kernel:
    """The shared kernel, with the helpers these tests run in it."""
    assert not kernel.run(COLLECT).error
    return kernel


def test_rerunning_a_cell_stops_its_watch_and_feed(kernel: Kernel, table: str) -> None:
    code = f"w = watch(r.table('{table}'), print); task = asyncio.ensure_future(collect(feed(r.table('{table}')), []))"
    kernel.run(code)
    kernel.run("first_watch, first_task = w, task; await until(lambda: len(feeds.LIVE) == 2)")
    kernel.run(code)
    cell = kernel.run("first_watch.status, await asyncio.wait_for(first_task, 10)")
    assert cell.text == "('closed', 'ended')", cell.error
    kernel.run("await until(lambda: len(feeds.LIVE) == 2 and w.status == 'ready')")  # the second run's own
    assert (
        kernel.run("sorted(live.kind for live in feeds.LIVE.values()), w.status").text == "(['Feed', 'Watch'], 'ready')"
    )


def test_a_watch_closed_as_its_connection_opens_stays_closed(
    server: ServerProcess, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closed just as the driver reads the handshake's last reply (where Python 3.11's `asyncio.wait_for` loses a
    cancel), a watch still ends: it never says 'ready' again nor calls back, as when its cell runs again."""
    seen: list[Any] = []

    async def main() -> tuple[bool, str]:
        database = Connector(Settings(server.host, server.port, configured=True))
        watch = change_streams.Watch(database.r.table(table), seen.append, database)
        read = net_asyncio._read_until

        async def read_then_close(reader: asyncio.StreamReader, delimiter: bytes) -> bytes:
            reply: bytes = await read(reader, delimiter)
            if b'"v=' in reply:  # the server's signature: the handshake's last reply
                watch.close()
            return reply

        monkeypatch.setattr(net_asyncio, "_read_until", read_then_close)
        watch.start()
        assert watch._task is not None
        await asyncio.wait({watch._task}, timeout=30)
        return watch._task.done(), watch.status

    assert asyncio.run(main()) == (True, "closed")
    assert seen == []


def test_the_cell_id_says_which_cell_runs_again(kernel: Kernel, table: str) -> None:
    kernel.run(f"made = []; q = r.table('{table}')")
    kernel.run("made.append(watch(q, len))", cell_id="cell-1")
    kernel.run("made.append(watch(q, len))", cell_id="cell-2")  # the same code in another cell: both stay
    kernel.run("made.append(watch(q, print))", cell_id="cell-2")  # other code in the same cell: replaces it
    assert kernel.run("[w.status == 'closed' for w in made]").text == "[False, True, False]"
    # A run that is refused ends the earlier one all the same.
    assert kernel.run("made.append(watch(q, 'print'))", cell_id="cell-1").error.startswith("TypeError")
    assert kernel.run("[w.status == 'closed' for w in made]").text == "[True, True, False]"


def test_watch_feed_and_conn_come_back_after_a_server_restart(
    restartable: Restartable, restartable_kernel: Kernel, r: RethinkDB
) -> None:
    k, port = restartable_kernel, restartable.port
    r.table_create("live").run(r.connect("127.0.0.1", port))
    k.run(COLLECT)
    k.run("seen, got = [], []; w = watch(r.table('live'), lambda c: seen.append(c['new_val']['id']))")
    k.run("task = asyncio.ensure_future(collect(feed(r.table('live')), got))")
    assert k.run("await until(lambda: [l.status for l in feeds.LIVE.values()] == ['ready'] * 2)").text == "True"
    r.table("live").insert({"id": 1}).run(r.connect("127.0.0.1", port))
    # (The writer's reply may leave before the feeds are served: they have the change once they show it.)
    assert k.run("await until(lambda: got == seen == [1])").text == "True"
    restartable.kill()
    assert k.run("await until(lambda: w.status.startswith('reconnecting: '))").text == "True"
    restartable.restart()
    both_ready = "await until(lambda: [l.status for l in feeds.LIVE.values()] == ['ready'] * 2)"
    assert k.run(both_ready).text == "True"  # changes made before a feed is back are not replayed
    r.table("live").insert({"id": 2}).run(r.connect("127.0.0.1", port))
    assert k.run("await until(lambda: got == seen == [1, 2])").text == "True", k.run("seen, got").text
    assert k.run("r.table('live').count().run(conn)").text == "2"
    status = k.run("%rethink").stdout
    assert "not answering" not in status
    assert "Watch test.live: ready, 2 changes" in status and "Feed test.live: ready, 2 changes" in status


UNREADABLE = (
    'error: the driver could not read a value of the result: year -1199 is out of range, in {"$reql_type$": "TIME", '
    '"epoch_time": -100000000000, "timezone": "+00:00"}. Change that value in the database, or filter it out of the '
    "query, then run the cell again."
)


def test_a_value_the_driver_cannot_read_ends_the_feed_saying_so(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """A stored time Python's datetime cannot hold (year -1199) makes the driver close the connection at every try:
    the widgets say which value and what to do, and stop trying, rather than blaming the server for ever."""
    r.table(table).insert([{"id": 1, "at": r.epoch_time(-1e11)}, {"id": 2, "n": 2}]).run(conn)
    kernel.run(f"t = LiveTable(r.table('{table}')); c = LiveChart(r.table('{table}')); told = {UNREADABLE!r}")
    assert kernel.run("await until(lambda: t.status == c.status == told)").text == "True"
    cell = kernel.run("await t.ready()")
    assert cell.error == "UnreadableValue: " + UNREADABLE.removeprefix("error: ")
    assert kernel.run("t.feed._task.done(), c.feed._task.done(), t.status == c.status").text == "(True, True, True)"
    # In a feed that was ready: a value written later.
    r.table(table).get(1).delete().run(conn)
    kernel.run(f"d = LiveTable(r.table('{table}')); await d.ready()")
    r.table(table).insert({"id": 3, "at": r.epoch_time(-1e11)}).run(conn)
    assert kernel.run("await until(lambda: d.status == told)").text == "True"


def test_a_live_table_holds_the_values_the_driver_reads(kernel: Kernel, conn: Any, r: RethinkDB, table: str) -> None:
    """Rows without pseudo-types are read by a faster decoder than the driver's: they must read the same, as must
    rows with times and binary data, numbers past 64 bits, texts that mention a pseudo-type, or not in ASCII."""
    rows = [
        {"id": 1, "n": 0.1, "big": 2**70, "small": -(2**63) - 1, "text": "é 😀 \u0000", "nested": {"a": [1, 2.5]}},
        {"id": 2, "at": r.epoch_time(1.5e9), "data": r.binary(b"\x00\xff")},
        {"id": 3, "text": 'a "$reql_type$" in a text', "whole": 2**53},
    ]
    r.table(table).insert(rows).run(conn)
    kernel.run(f"t = LiveTable(r.table('{table}')); await t.ready()")
    read = f"sorted(r.table('{table}').run(), key=lambda row: row['id'])"
    # (a time's repr names its time zone object: rows 0 and 2 are compared by repr too, which tells 1 from 1.0)
    kernel.run(f"held, read = sorted(t.rows, key=lambda row: row['id']), {read}")
    cell = kernel.run("held == read, repr(held[::2]) == repr(read[::2])")
    assert cell.text == "(True, True)"
    assert kernel.run("bytes(held[1]['data']), type(held[1]['at']).__name__").text == "(b'\\x00\\xff', 'datetime')"


# Feeds opened from now on keep at most 10 changes waiting on the server; `statuses[w]`: every status widget w's feed
# has had.
SMALL_QUEUE = """
_options = feeds.feed_options
feeds.feed_options = lambda info: {**_options(info), 'changefeed_queue_size': 10}
statuses = {}
def note_statuses(widget):
    said, statuses[widget] = widget.feed._on_status, []
    widget.feed._on_status = lambda status: (statuses[widget].append(status), said(status))
"""


def test_an_overflowed_feed_says_so_until_its_fresh_snapshot_is_whole(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """LiveTable and LiveChart alike: after an overflow the status says why the widget is not current, and that a
    fresh snapshot is being taken, until it is whole."""
    r.table(table).insert([{"id": i, "n": 0} for i in range(3)]).run(conn)
    assert not kernel.run(SMALL_QUEUE).error
    made = kernel.run(
        f"t = LiveTable(r.table('{table}')); c = LiveChart(r.table('{table}')); await t.ready(); await c.ready()\n"
        "note_statuses(t); note_statuses(c)"
    )
    assert not made.error, made.error
    # A cell writes with the kernel's own (synchronous) connection, holding the kernel's loop: the feeds read none of
    # the changes meanwhile, and the server's queue for each overflows.
    writes = f"q = r.table('{table}')\nfor i in range(3, 53): q.insert({{'id': i, 'n': i}}).run()"
    assert not kernel.run(writes).error
    whole = "await until(lambda: len(t.rows) == len(c.rows) == 53 and t.status == c.status == 'ready')"
    assert kernel.run(whole).text == "True"
    overflowed = (
        "reconnecting: the feed overflowed (changes came faster than the kernel read them, so the server dropped "
        "some); taking a fresh snapshot"
    )
    assert kernel.run("feeds.OVERFLOWED").text == repr(overflowed)
    for widget in ("t", "c"):
        assert kernel.run(f"print(statuses[{widget}])").stdout.strip() == repr([overflowed, "ready"])


SAMPLE_COLLECTOR = """
import gc
from rethink_widgets.jupyter import collector
usual_hold, collector.HOLD_SECONDS = collector.HOLD_SECONDS, 3600  # one round for the whole test
async def collector_while_initializing(widget):
    seen = set()
    while widget.status != 'ready':
        if widget.feed.result.initializing:
            seen.add(gc.isenabled())
        await asyncio.sleep(0)
    return seen
"""


def test_the_collector_is_held_off_while_a_snapshot_comes_in_and_on_after(
    kernel: Kernel, conn: Any, r: RethinkDB, table: str
) -> None:
    """Held off for the whole snapshot (see collector.py), then on again: once ready, and once a widget is closed
    while its snapshot comes in."""
    r.table(table).insert([{"id": i, "name": f"row {i}"} for i in range(50_000)]).run(conn)
    assert not kernel.run(SAMPLE_COLLECTOR).error
    try:
        cell = kernel.run(
            f"t = LiveTable(r.table('{table}')); seen = await collector_while_initializing(t); seen, gc.isenabled()"
        )
        assert cell.text == "({False}, True)", cell.error
        closing = (
            f"t2 = LiveTable(r.table('{table}'))\n"
            "while not (t2.feed.result.initializing and t2.feed.result.arrived): await asyncio.sleep(0)\n"
            "off = not gc.isenabled(); t2.close(); await asyncio.sleep(0.2)\n"
            "off, gc.isenabled(), len(t2.rows) < 50_000"
        )
        cell = kernel.run(closing)
        assert cell.text == "(True, True, True)", cell.error
    finally:
        kernel.run("collector.HOLD_SECONDS = usual_hold")

"""Serving a changefeed to one client, in RethinkDB's order and shapes.

A feed's first batch is answered at once (maybe empty); every later CONTINUE is held until something is queued.
What a batch holds, in order: `{state: initializing}`, the initial values `{new_val}` (read from the snapshot the
subscription began at), `{state: ready}`, then the changes `{old_val, new_val}`, with types and offsets when asked
for and the in-band overflow error when the queue overflowed. The steps before `changes()` shape each document; the
steps after it (map, filter, limit ...) run on each change document, and a `limit` after it ends the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rethink_widgets.server import wire
from rethink_widgets.server.batches import Batch, BatchLimits, Pages
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.changefeed_sources import (
    ChangefeedSource,
    ChangefeedUnion,
    LimitWatch,
    PointWatch,
)
from rethink_widgets.server.evaluation.engine import SubscriptionRequest
from rethink_widgets.server.evaluation.values import LimitStep, RowStep, Step
from rethink_widgets.server.feed_entries import Entry
from rethink_widgets.server.storage import ROW_SEPARATOR

if TYPE_CHECKING:
    from rethink_widgets.server.changefeeds import Changefeeds, Subscription
    from rethink_widgets.server.protocol import InWorker
    from rethink_widgets.server.storage import Snapshot

OVERFLOW = "Changefeed cache over array size limit, skipped {} elements."
SEQUENCE_FEED, UNIONED_FEED, INCLUDES_STATES = 1, 4, 5
_TAKE_CHUNK = 256


class Member:
    """One `changes()` of a feed (a union has several), with the steps applied to its change documents."""

    def __init__(self, changes: ChangefeedSource, steps: list[Step]) -> None:
        self.changes = changes
        self.steps = steps
        self.subscription: Subscription | None = None
        self.snapshot: Snapshot | None = None
        # The initial values still to send: the values themselves, or (no steps to run) their change documents'
        # reply texts, made from stored documents a page at a time.
        self.initial: Iterator[Any] | Pages | None = None
        self.ended = _ends_at_once(steps)
        options = changes.options
        # Plain: change documents depend only on the entry and `include_types`, so they can be encoded once.
        self.plain = not steps and not changes.steps and not options.include_offsets

    @property
    def is_limit(self) -> bool:
        return isinstance(self.changes.watch, LimitWatch)

    @property
    def own_steps(self) -> list[RowStep]:
        """The steps before `changes()` that the cursor runs on each change (a limit feed's run as writes come)."""
        return [] if self.is_limit else self.changes.steps


class FeedCursor:
    def __init__(self, changefeeds: Changefeeds, feed: SubscriptionRequest, limits: BatchLimits) -> None:
        members = feed.changes.members if isinstance(feed.changes, ChangefeedUnion) else [(feed.changes, [])]
        self._changefeeds = changefeeds
        self._members = [Member(changes, steps) for changes, steps in members]
        self._steps = feed.steps
        self._limits = limits
        options = [m.changes.options for m in self._members]
        self._include_states = any(o.include_states for o in options)
        self._include_initial = any(o.include_initial for o in options)
        self._remaining: dict[int, int] = {}
        self._live: list[Subscription] = []  # the subscriptions of members not ended
        self._initial_left = 0  # members still reading their initial values
        self._lock = asyncio.Lock()
        self._event = asyncio.Event()
        self._parked: Callable[[], None] | None = None
        self._first = True
        # The last batch was full, so what is queued may be the rest of it (RethinkDB's "middle of a logical
        # batch"): the next CONTINUE is answered with it at once, with no squash delay.
        self._mid_batch = False
        self._initializing_sent = False
        self._ready_sent = False
        self._ended = _ends_at_once(self._steps)
        # Steps never change, so whether a batch must run ReQL functions (on a worker thread) is known now.
        # A limit feed's own steps run as writes come (limit_feeds.py), not here.
        every_step = [*self._steps, *(s for m in self._members for s in (*m.own_steps, *m.steps))]
        self._runs_functions = any(isinstance(s, RowStep) for s in every_step)
        squashes = [m.changes.options.squash for m in self._members]
        self._squash_delay = max((s for s in squashes if not isinstance(s, bool)), default=0.0)
        self._may_serve_inline = not (self._runs_functions or self._squash_delay)
        kinds = {m.changes.kind_note for m in self._members}
        notes = [kinds.pop() if len(kinds) == 1 else UNIONED_FEED]
        if self._include_states:
            notes.append(INCLUDES_STATES)
        self.encoded_notes = wire.dumps(notes)

    def open(self) -> None:
        """Subscribe every member (on a worker thread: a snapshot waits for the write lock)."""
        # (Each member with initial values holds an iterator of them until it has read them all.)
        self._initial_left = sum(m.changes.options.include_initial for m in self._members)
        for member in self._members:
            member.subscription, member.snapshot = self._changefeeds.subscribe(member.changes, self._wake)
            if not member.ended:
                self._live.append(member.subscription)
            if not member.changes.options.include_initial:
                self._finish_initial(member)
            elif member.is_limit:
                member.initial = iter(member.subscription.initial)
            else:
                member.initial = self._initial_pages(member) or iter(member.changes.initial or ())

    def _initial_pages(self, member: Member) -> Pages | None:
        """The initial docs' change documents as reply texts made from the table's stored documents, when no step
        shapes them (see row_texts.py); None otherwise."""
        initial = member.changes.initial
        if initial is None or member.steps or self._steps or isinstance(member.changes.watch, PointWatch):
            return None
        pages = initial.reply_pages()
        if pages is None:
            return None
        after = ',"type":"initial"}' if member.changes.options.include_types else "}"
        return Pages(_between('{"new_val":', page, after) for page in pages)

    def close(self) -> None:
        for member in self._members:
            if member.subscription is not None:
                self._changefeeds.unsubscribe(member.subscription)
            if member.snapshot is not None:
                member.snapshot.close()
                member.snapshot = None

    def _wake(self) -> None:
        self._event.set()
        if self._parked is not None:
            self._serve_parked()

    # ---------------------------------------------------------------- held CONTINUEs without a task

    def serves_inline(self) -> bool:
        """Whether a CONTINUE can be held as a plain callback: no worker, no squash delay, nothing in progress.

        With many feeds on one table each change answers one CONTINUE per feed; serving those straight from the
        wake-up call, instead of through a task, a lock and an event each, is what keeps the writer's cost low.
        """
        return self._may_serve_inline and not (self._first or self._initial_left or self._lock.locked())

    def park(self, serve: Callable[[], None]) -> None:
        """Hold a CONTINUE: `serve()` is called (on the loop) as soon as there is something to answer it with."""
        self._parked = serve
        self._serve_parked()

    @property
    def is_parked(self) -> bool:
        return self._parked is not None

    def unpark(self) -> bool:
        """Forget a held CONTINUE; whether there was one."""
        parked, self._parked = self._parked, None
        return parked is not None

    def take_now(self) -> tuple[list[str], bool]:
        rows, last = self._take(False)
        if last:
            self.close()
        return rows, last

    def _serve_parked(self) -> None:
        if self._has_news() or not all(s.wait() for s in self._live):
            serve, self._parked = self._parked, None
            if serve is not None:
                serve()

    # ---------------------------------------------------------------- batches

    async def next_batch(self, in_worker: InWorker) -> tuple[list[str], bool]:
        """The next batch as encoded rows, and whether the feed has ended; waits unless it is the first."""
        asked = time.monotonic()
        async with self._lock:
            first, self._first = self._first, False
            while True:
                if not first:
                    await self._wait(asked)
                if self._needs_worker():
                    rows, last = await in_worker(self._take, first)
                else:
                    rows, last = self._take(first)
                if rows or last or first:
                    if last:
                        self.close()
                    return rows, last

    def _needs_worker(self) -> bool:
        return self._runs_functions or self._initial_left > 0

    def _find_live(self) -> None:
        self._live = [m.subscription for m in self._members if m.subscription is not None and not m.ended]

    def _has_news(self) -> bool:
        if self._initial_left or self._ended or (self._include_states and not self._ready_sent):
            return True
        return any(subscription.has_news() for subscription in self._live)

    async def _wait(self, asked: float) -> None:
        if self._mid_batch and self._has_news():
            return  # left over from a batch cut short by the batch limits: no squash delay for these
        while not self._has_news():
            self._event.clear()
            if all(s.wait() for s in self._live):
                await self._event.wait()
        squash = self._squash_delay
        if not squash:
            return
        # A timed squash gathers changes until `squash` seconds after the CONTINUE, or until a queue is half full.
        deadline = asked + squash
        while (left := deadline - time.monotonic()) > 0:
            self._event.clear()
            if not all(s.wait(s.nearly_full) for s in self._live):
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), left)

    def _take(self, first: bool) -> tuple[list[str], bool]:
        batch = Batch(self._limits, first)
        last = self._fill(batch)
        self._mid_batch = not batch.has_room()
        return batch.rows, last

    def _fill(self, batch: Batch) -> bool:
        """Fill a batch with what there is to send; whether the feed has ended."""
        if self._include_states and self._include_initial and not self._initializing_sent:
            self._initializing_sent = True
            self._emit(batch, self._state("initializing"), [])
        if self._initial_left:
            for member in self._members:
                if member.initial is not None:
                    self._take_initial(member, batch)
                    if member.initial is not None:
                        return False
        if self._include_states and not self._ready_sent:
            self._ready_sent = True
            self._emit(batch, self._state("ready"), [])
        for member in self._members:
            self._take_changes(member, batch)
        return self._ended

    def _take_initial(self, member: Member, batch: Batch) -> None:
        reading = member.snapshot.reading() if member.snapshot is not None else contextlib.nullcontext()
        with reading:
            if isinstance(member.initial, Pages):
                if batch.fill(member.initial):
                    self._finish_initial(member)
                return
            while batch.has_room() and not self._ended and member.initial is not None:
                item = next(member.initial, _END)
                if item is _END:
                    self._finish_initial(member)
                else:
                    self._emit(batch, self._initial_doc(member, item), member.steps)

    def _finish_initial(self, member: Member) -> None:
        if member.initial is not None:
            self._initial_left -= 1
        member.initial = None
        if member.snapshot is not None:
            member.snapshot.close()
            member.snapshot = None
        if member.subscription is not None:
            member.subscription.squash_from_now()

    def _take_changes(self, member: Member, batch: Batch) -> None:
        subscription = member.subscription
        if subscription is None:
            return
        plain = member.plain and not self._steps
        while batch.has_room() and not member.ended and not self._ended:
            room = batch.room(_TAKE_CHUNK)
            entries, skipped = subscription.take(room)
            if skipped:
                batch.add(wire.dumps({"error": OVERFLOW.format(skipped)}))
            if plain:
                self._emit_plain(batch, member, entries)
            else:
                for entry in entries:
                    doc = self._change_doc(member, entry)
                    if doc is not None:
                        self._emit(batch, doc, member.steps)
            if len(entries) < room:
                break  # that was all
        if subscription.error is not None and not len(subscription) and not member.ended:
            if not batch.rows:
                raise subscription.error
            batch.close()  # send what is here; the error follows on the next CONTINUE

    # ---------------------------------------------------------------- documents

    def _state(self, state: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"state": state}
        if any(m.changes.options.include_types for m in self._members):
            doc["type"] = "state"
        return doc

    def _initial_doc(self, member: Member, item: Any) -> dict[str, Any]:
        options = member.changes.options
        if isinstance(item, Entry):  # a limit feed's row (as its steps show it), with its offset
            doc: dict[str, Any] = {"new_val": item.new}
            if options.include_offsets:
                doc["new_offset"] = item.new_offset
        elif isinstance(member.changes.watch, PointWatch):
            doc = {"new_val": member.changes.shape(item)}
        else:
            doc = {"new_val": item}
        if options.include_types:
            doc["type"] = "initial"
        return doc

    def _change_doc(self, member: Member, entry: Entry) -> dict[str, Any] | None:
        options = member.changes.options
        if member.is_limit:  # shaped, and dropped when it changed nothing, as its rows came (limit_feeds.py)
            old, new = entry.old, entry.new
        else:
            old, new = member.changes.shape(entry.old), member.changes.shape(entry.new)
            if old is None and new is None:
                return None
            if old is not None and new is not None and datums.equal(old, new):
                return None
        doc: dict[str, Any] = {"old_val": old, "new_val": new}
        if options.include_offsets:
            doc["old_offset"], doc["new_offset"] = entry.old_offset, entry.new_offset
        if options.include_types:
            doc["type"] = "add" if old is None else "remove" if new is None else "change"
        return doc

    def _emit_plain(self, batch: Batch, member: Member, entries: list[Entry]) -> None:
        """Changes with no steps to run: their JSON is shared by every feed of the same shape."""
        types = member.changes.options.include_types
        # (Each of a hundred feeds takes the same changes, mostly encoded by another: no Python loop over them.)
        texts = list(map(_TYPED_TEXT if types else _TEXT, entries))
        if not all(texts):  # one not encoded yet (None), or a change of nothing the feed shows ("")
            for i, entry in enumerate(entries):
                if texts[i] is None:
                    doc = self._change_doc(member, entry)
                    texts[i] = text = _change_text(doc) if doc is not None else ""
                    if types:
                        entry.typed_text = text
                    else:
                        entry.text = text
            texts = list(filter(None, texts))
        batch.extend(texts)

    def _emit(self, batch: Batch, doc: dict[str, Any], member_steps: list[Step]) -> None:
        rows = self._run(self._run([doc], member_steps), self._steps)
        for row in rows:
            batch.add(wire.dumps(datums.to_wire(row)))

    def _run(self, rows: list[Any], steps: list[Step]) -> list[Any]:
        for step in steps:
            if isinstance(step, RowStep):
                rows = [out for row in rows for out in step.apply(row)]
                continue
            remaining = self._remaining.get(id(step), step.count)
            rows = rows[:remaining]
            self._remaining[id(step)] = remaining - len(rows)
            if remaining - len(rows) == 0:
                self._limit_reached(step)
        return rows

    def _limit_reached(self, step: LimitStep) -> None:
        if any(s is step for s in self._steps):
            self._ended = True
            return
        for member in self._members:
            if any(s is step for s in member.steps):
                member.ended = True
        self._ended = all(m.ended for m in self._members)
        self._find_live()


def _ends_at_once(steps: list[Step]) -> bool:
    return any(isinstance(s, LimitStep) and s.count == 0 for s in steps)


_END = object()


def _between(before: str, rows: list[str], after: str) -> list[str]:
    """Each row between `before` and `after`: a few calls for a page of rows, not a step per row."""
    if not rows:
        return rows
    return (before + (after + ROW_SEPARATOR + before).join(rows) + after).split(ROW_SEPARATOR)


_TEXT, _TYPED_TEXT = operator.attrgetter("text"), operator.attrgetter("typed_text")


def _change_text(doc: dict[str, Any]) -> str:
    """A change document as `wire.dumps` writes it, its values encoded one by one: a null old or new value then
    makes no one search the whole document for the NaN that `dumps` must look for behind each null it writes."""
    members = (
        f'"{key}":{"null" if value is None else wire.dumps(datums.to_wire(value))}'
        for key, value in sorted(doc.items())
    )
    return "{" + ",".join(members) + "}"

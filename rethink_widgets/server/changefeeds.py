"""Changefeeds: subscriptions fed by committed writes.

The storage calls `Changefeeds` after every commit, on the writing thread and still under the write lock, so every
subscription sees the changes in commit order. A subscription only files a change in its queue (or counts it as
skipped when the queue is full, as RethinkDB does): the writer never waits for a reader. A commit reaches only the
subscriptions it concerns (feed_routes.py): the feeds on a whole table read its changes from one shared log
(feed_log.py), a point feed hears only of writes to its document, and only range, limit and squashing feeds test each
change. Waking the cursors that wait for changes costs one call into the event loop per commit (none from the loop's
own thread: a small write answered there wakes them once it is done), however many feeds there are.

A feed with initial values subscribes at the instant a storage snapshot is fixed, so the initial values and the
changes that follow them join without a gap or an overlap. An `order_by(index).limit(n)` feed keeps its top `n`
rows here (limit_feeds.py) and turns each write of the table into the changes of that set, with offsets. As in
RethinkDB its queue has no bound, and with `squash` its changes are held back and merged when the cursor reads them.

A feed ends with an error when its table is dropped, or when its user no longer holds `read` on the table (a grant
revoked at any scope, the user deleted). Permissions are checked again after each change of the catalog, which is
where they and the users live, never per change delivered: the writer's path stays as cheap as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlError, ReqlOpFailedError
from rethink_widgets.server.evaluation.changefeed_sources import ChangefeedSource, LimitWatch, PointWatch, RangeWatch
from rethink_widgets.server.evaluation.system import permissions
from rethink_widgets.server.feed_entries import Entry
from rethink_widgets.server.feed_log import SharedLog
from rethink_widgets.server.feed_routes import Routes, range_test, takes_every_change
from rethink_widgets.server.limit_feeds import Memo, TopRows, merged
from rethink_widgets.server.storage import CommittedChange, Snapshot, Storage, TableInfo

ABORTED = "Changefeed aborted (unavailable)."
log = logging.getLogger(__name__)


class Changefeeds:
    """Every subscription of one server, by table."""

    def __init__(self, storage: Storage, loop: asyncio.AbstractEventLoop) -> None:
        self.storage = storage
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._lock = threading.Lock()
        self._by_table: dict[str, Routes] = {}
        self._logs: dict[str, SharedLog] = {}
        self._wakes: list[Callable[[], None]] | None = None  # gathered on the loop's thread, woken together
        storage.add_commit_listener(self._committed)
        storage.add_drop_listener(self._dropped)
        storage.add_catalog_listener(self._catalog_changed)

    def subscribe(self, changes: ChangefeedSource, wake: Callable[[], None]) -> tuple[Subscription, Snapshot | None]:
        """A subscription for `changes`, and a snapshot of the data at the instant it began (initial values)."""
        self.storage.settle()  # (a write acknowledged before this feed was asked for is no change to it)
        log = None
        if takes_every_change(changes):
            with self._lock:
                log = self._logs.setdefault(changes.table.info.id, SharedLog())
        subscription = Subscription(self.storage, changes, wake, log)
        if not changes.options.include_initial and not isinstance(changes.watch, LimitWatch):
            self._add(subscription)
            return subscription, None

        def begin(snapshot: Snapshot) -> None:
            subscription.begin(snapshot)
            self._add(subscription)

        return subscription, self.storage.snapshot(begin)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            routes = self._by_table.get(subscription.table.id)
            if routes is None or subscription not in routes.all:
                return
            self._route(subscription.table.id, tuple(s for s in routes.all if s is not subscription))
        subscription.leave()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("changefeed on %s closed (%d open)", subscription.table.qualified_name, self.open_count())

    def open_count(self) -> int:
        return sum(len(routes.all) for routes in self._by_table.values())

    def _add(self, subscription: Subscription) -> None:
        subscription.join()
        with self._lock:
            table_id = subscription.table.id
            routes = self._by_table.get(table_id)
            self._route(table_id, (*(routes.all if routes is not None else ()), subscription))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("changefeed on %s opened (%d open)", subscription.table.qualified_name, self.open_count())
        if not subscription.may_read():  # revoked after `changes()` checked it, before the catalog listener saw this
            self._end_unreadable([subscription])

    def _route(self, table_id: str, subs: tuple[Subscription, ...]) -> None:
        """Under the lock: the table's subscriptions are now `subs` (a commit reads the routes without the lock)."""
        if subs:
            self._by_table[table_id] = Routes(self.storage, subs, self._logs.get(table_id))
        else:
            self._by_table.pop(table_id, None)

    def _committed(self, changes: list[CommittedChange]) -> None:
        by_table = self._by_table
        grouped: dict[str, list[tuple[CommittedChange, Entry]]] = {}
        for change in changes:
            if change.table_id in by_table:
                entry = Entry(keys.encode(change.key), change.old, change.new)
                grouped.setdefault(change.table_id, []).append((change, entry))
        wakes: list[Callable[[], None]] = []
        for table_id, table_changes in grouped.items():
            routes = by_table.get(table_id)
            if routes is not None:
                routes.offer(table_changes, wakes)
        if wakes:
            self._call_soon(wakes)

    def _dropped(self, table: TableInfo) -> None:
        with self._lock:
            routes = self._by_table.pop(table.id, None)
            self._logs.pop(table.id, None)
        subs = routes.all if routes is not None else ()
        for sub in subs:
            sub.leave()
        self._fail((s, ReqlOpFailedError(ABORTED)) for s in subs)

    def _catalog_changed(self) -> None:
        with self._lock:
            unreadable = [s for routes in self._by_table.values() for s in routes.all if not s.may_read()]
        if unreadable:
            self._end_unreadable(unreadable)

    def _end_unreadable(self, subs: list[Subscription]) -> None:
        """End feeds whose user lost `read` on their table; no change reaches them from now on."""
        with self._lock:
            for sub in subs:
                routes = self._by_table.get(sub.table.id)
                if routes is not None:
                    self._route(sub.table.id, tuple(s for s in routes.all if s is not sub))
        for sub in subs:
            sub.leave()
        self._fail((s, permissions.denied(s.user, "read")) for s in subs)

    def _fail(self, failures: Iterable[tuple[Subscription, ReqlError]]) -> None:
        wakes = [w for w in (s.fail(error) for s, error in failures) if w is not None]
        if wakes:
            self._call_soon(wakes)

    def _call_soon(self, wakes: list[Callable[[], None]]) -> None:
        if threading.get_ident() == self._loop_thread:
            # A write answered on the loop: its reply is sent before this callback ends, and the feeds are served
            # right after it, with those of the other writes answered in the same turn.
            if self._wakes is None:
                self._wakes = wakes
                self._loop.call_soon(self._wake_gathered)
            else:
                self._wakes.extend(wakes)
            return

        def after_replies() -> None:
            # One more turn of the loop first, so the writer's own reply goes out before the feeds are served.
            self._loop.call_soon(_wake_all, wakes)

        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone and so are its feeds
            self._loop.call_soon_threadsafe(after_replies)

    def _wake_gathered(self) -> None:
        wakes, self._wakes = self._wakes or [], None
        _wake_all(wakes)


def _wake_all(wakes: list[Callable[[], None]]) -> None:
    for wake in wakes:
        wake()


class Subscription:
    """The queue of one `changes()`: changes filed by the writer, taken by the feed's cursor.

    A feed on a whole table reads its changes from the table's shared log (`log`) instead: its queue is then the
    changes it settled out of the log (when over its room), followed by the log's from its position on."""

    def __init__(
        self, storage: Storage, changes: ChangefeedSource, wake: Callable[[], None], log: SharedLog | None = None
    ) -> None:
        self.table = changes.table.info
        self.user = changes.ctx.user
        self.options = changes.options
        self._permission_ids = permissions.permission_ids(storage, self.table)
        self._watch = changes.watch
        self._storage = storage
        self._wake_cursor = wake
        self._log = log
        self._lock = log.lock if log is not None else threading.Lock()
        self.position = 0  # in the log: the next change to take from it
        self._queue: deque[Entry] = deque()
        self._squashed: dict[bytes, Entry] | None = None
        self._held: list[Entry] = []  # a squashing limit feed's changes, merged when the cursor reads
        self._shaped = changes.shaped
        self._waiting = False
        self._threshold = 1
        self._skipped = 0
        self.error: ReqlError | None = None
        self.top: TopRows | None = None
        self.initial: list[Entry] = []
        self.key: bytes | None = None  # a point feed's document: only writes to it reach the feed
        self._accepts: Callable[[Any], bool] | None = None
        if isinstance(self._watch, PointWatch):
            self.key = keys.encode(self._watch.key)
        elif isinstance(self._watch, RangeWatch):
            self._accepts = range_test(storage, self.table, self._watch)

    @property
    def reads_log(self) -> bool:
        return self._log is not None

    # ---- the writer's side

    def begin(self, snapshot: Snapshot) -> None:
        """Read what a limit feed starts from, in the snapshot, before any later commit is filed."""
        if isinstance(self._watch, LimitWatch):
            with snapshot.reading():
                offsets = self.options.include_offsets
                self.top = TopRows(self._storage, self.table, self._watch, self._shaped, offsets)
            self.initial = self.top.initial()

    def join(self) -> None:
        """Take changes from now on (a feed on the log reads on from its end)."""
        if self._log is not None:
            with self._lock:
                self._log.join(self)

    def leave(self) -> None:
        """Take no more changes: a feed on the log takes what it holds of it into its own queue, and leaves it."""
        log = self._log
        if log is None:
            return
        with self._lock:
            self.settle(everything=True)
            log.leave(self)
            self._log = None

    def offer(self, changes: list[tuple[CommittedChange, Entry]], memo: Memo) -> Callable[[], None] | None:
        """File a commit's changes of this table; returns the cursor's wake-up call if it was waiting. `memo` is
        shared by the limit feeds of the table for this commit."""
        return self.file(self._entries(changes, memo))

    def file(self, entries: list[Entry]) -> Callable[[], None] | None:
        """File changes that concern this feed; returns the cursor's wake-up call if it was waiting."""
        if not entries:
            return None
        with self._lock:
            for entry in entries:
                self._file(entry)
            return self.take_waiter()

    def may_read(self) -> bool:
        """Whether the feed's user still holds `read` on its table."""
        return permissions.allowed(self._storage, self.user, "read", *self._permission_ids)

    def fail(self, error: ReqlError) -> Callable[[], None] | None:
        with self._lock:
            self.error = error
            return self.take_waiter()

    def _entries(self, changes: list[tuple[CommittedChange, Entry]], memo: Memo) -> list[Entry]:
        if self.top is not None:
            return self.top.apply(changes, memo)
        accepts = self._accepts
        if accepts is None:
            return [entry for _, entry in changes]
        entries = []
        for _, entry in changes:
            old = entry.old if entry.old is not None and accepts(entry.old) else None
            new = entry.new if entry.new is not None and accepts(entry.new) else None
            if old is entry.old and new is entry.new:
                entries.append(entry)
            elif old is not None or new is not None:
                entries.append(Entry(entry.key, old, new))
        return entries

    def _file(self, entry: Entry) -> None:
        if self.top is not None:
            (self._queue if self.options.squash is False else self._held).append(entry)
            return
        squashed = self._squashed
        if squashed is not None:
            earlier = squashed.get(entry.key)
            if earlier is not None:
                squashed[entry.key] = Entry(entry.key, earlier.old, entry.new)
                return
            if len(squashed) >= self.options.queue_size:
                self._skipped += 1
                return
            squashed[entry.key] = entry
            return
        if len(self._queue) >= self.options.queue_size:
            self._skipped += 1
            return
        self._queue.append(entry)

    def take_waiter(self) -> Callable[[], None] | None:
        """Under the lock: the cursor's wake-up call, if it waits and now has what it waits for."""
        if not self._waiting or (len(self) < self._threshold and self.error is None and not self.skipped):
            return None
        self._waiting = False
        if self._log is not None:
            self._log.stop_waiting(self)
        return self._wake_cursor

    # ---- a feed on the log (under the log's lock)

    def _in_log(self, log: SharedLog) -> tuple[int, int]:
        """How many of the log's changes past the position this feed holds, and how many of them it skipped."""
        waiting = log.end - self.position
        room = self.options.queue_size - len(self._queue)
        return (waiting, 0) if waiting <= room else (room, waiting - room)

    def settle(self, everything: bool = False) -> None:
        """Over its room (or `everything`): take what the feed holds of the log into its own queue, and count the
        rest as skipped."""
        log = self._log
        if log is None:
            return
        held, over = self._in_log(log)
        if over or everything:
            start = self.position - log.first
            self._queue.extend(log.entries[start : start + held])
            self._skipped += over
            self.position = log.end

    def _take_from_log(self, log: SharedLog, count: int) -> list[Entry]:
        """Its own queue first (what it settled out of the log), then the log from its position on."""
        if log.end - self.position > self.options.queue_size - len(self._queue):
            self.settle()
        queue = self._queue
        taken = [queue.popleft() for _ in range(min(count, len(queue)))] if queue else []
        if len(taken) < count:
            start = self.position - log.first
            more = log.entries[start : start + count - len(taken)]
            self.position += len(more)
            taken = taken + more if taken else more
        return taken

    # ---- the cursor's side

    @property
    def skipped(self) -> int:
        """How many changes were skipped (the queue being full) since the cursor last took changes."""
        log = self._log
        return self._skipped + self._in_log(log)[1] if log is not None else self._skipped

    def has_news(self) -> bool:
        """Whether the cursor has something to take: a change, skipped changes to report, or the error."""
        log = self._log
        if log is not None and log.end > self.position:
            return True
        return bool(self._queue or self._squashed or self._held or self._skipped or self.error is not None)

    def squash_from_now(self) -> None:
        """Merge changes per document from here on (initial values are never merged), if the feed squashes."""
        if self.options.squash is False or self.top is not None:
            return
        with self._lock:
            if self._squashed is None:
                self._squashed = {}
                for entry in self._queue:
                    self._file(entry)
                self._queue.clear()

    def __len__(self) -> int:
        if self._squashed is not None:
            return len(self._squashed)
        log = self._log
        if log is not None:
            return len(self._queue) + self._in_log(log)[0]
        return len(self._queue) + len(self._held)

    @property
    def nearly_full(self) -> int:
        """How many queued changes end a timed squash early (never, for a limit feed, as in RethinkDB)."""
        return sys.maxsize if self.top is not None else self.options.queue_size // 2 + 1

    def wait(self, threshold: int = 1) -> bool:
        """Ask to be woken once `threshold` changes are queued (or on an error); False if that is so already."""
        with self._lock:
            if len(self) >= threshold or self.skipped or self.error is not None:
                return False
            self._threshold, self._waiting = threshold, True
            if self._log is not None:
                self._log.wait(self)
            return True

    def take(self, count: int) -> tuple[list[Entry], int]:
        """Up to `count` queued changes, oldest first, and how many were skipped since the last take."""
        with self._lock:
            log = self._log
            if log is not None:
                taken = self._take_from_log(log, count)
            elif self._squashed is not None:
                taken = [self._squashed.pop(key) for key in list(self._squashed)[:count]]
            else:
                if self._held and not self._queue:
                    self._queue.extend(merged(self._held))
                    self._held.clear()
                queue = self._queue
                taken = [queue.popleft() for _ in range(min(count, len(queue)))] if queue else []
            skipped, self._skipped = self._skipped, 0
            return taken, skipped

"""Changefeeds: subscriptions fed by committed writes.

The storage calls `Changefeeds` after every commit, on the writing thread and still under the write lock, so every
subscription sees the changes in commit order. A subscription only files a change in its queue (or counts it as
skipped when the queue is full, as RethinkDB does): the writer never waits for a reader. Waking the cursors that wait
for changes costs one call into the event loop per commit, however many feeds there are.

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
from rethink_widgets.server.feed_entries import Bounds, Entry
from rethink_widgets.server.limit_feeds import TopRows, merged
from rethink_widgets.server.storage import CommittedChange, Snapshot, Storage, TableInfo

ABORTED = "Changefeed aborted (unavailable)."
log = logging.getLogger(__name__)


class Changefeeds:
    """Every subscription of one server, by table."""

    def __init__(self, storage: Storage, loop: asyncio.AbstractEventLoop) -> None:
        self.storage = storage
        self._loop = loop
        self._lock = threading.Lock()
        self._by_table: dict[str, tuple[Subscription, ...]] = {}
        storage.add_commit_listener(self._committed)
        storage.add_drop_listener(self._dropped)
        storage.add_catalog_listener(self._catalog_changed)

    def subscribe(self, changes: ChangefeedSource, wake: Callable[[], None]) -> tuple[Subscription, Snapshot | None]:
        """A subscription for `changes`, and a snapshot of the data at the instant it began (initial values)."""
        subscription = Subscription(self.storage, changes, wake)
        if not changes.options.include_initial and not isinstance(changes.watch, LimitWatch):
            self._add(subscription)
            return subscription, None

        def begin(snapshot: Snapshot) -> None:
            subscription.begin(snapshot)
            self._add(subscription)

        return subscription, self.storage.snapshot(begin)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subs = self._by_table.get(subscription.table.id, ())
            if subscription not in subs:
                return
            self._by_table[subscription.table.id] = tuple(s for s in subs if s is not subscription)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("changefeed on %s closed (%d open)", subscription.table.qualified_name, self.open_count())

    def open_count(self) -> int:
        return sum(len(subs) for subs in self._by_table.values())

    def _add(self, subscription: Subscription) -> None:
        with self._lock:
            table_id = subscription.table.id
            self._by_table[table_id] = (*self._by_table.get(table_id, ()), subscription)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("changefeed on %s opened (%d open)", subscription.table.qualified_name, self.open_count())
        if not subscription.may_read():  # revoked after `changes()` checked it, before the catalog listener saw this
            self._end_unreadable([subscription])

    def _committed(self, changes: list[CommittedChange]) -> None:
        by_table: dict[str, list[tuple[CommittedChange, Entry]]] = {}
        for change in changes:
            if change.table_id in self._by_table:
                entry = Entry(keys.encode(change.key), change.old, change.new)
                by_table.setdefault(change.table_id, []).append((change, entry))
        wakes = []
        for table_id, table_changes in by_table.items():
            for subscription in self._by_table.get(table_id, ()):
                wake = subscription.offer(table_changes)
                if wake is not None:
                    wakes.append(wake)
        if wakes:
            self._call_soon(wakes)

    def _dropped(self, table: TableInfo) -> None:
        with self._lock:
            subs = self._by_table.pop(table.id, ())
        self._fail((s, ReqlOpFailedError(ABORTED)) for s in subs)

    def _catalog_changed(self) -> None:
        with self._lock:
            unreadable = [s for subs in self._by_table.values() for s in subs if not s.may_read()]
        if unreadable:
            self._end_unreadable(unreadable)

    def _end_unreadable(self, subs: list[Subscription]) -> None:
        """End feeds whose user lost `read` on their table; no change reaches them from now on."""
        with self._lock:
            for sub in subs:
                self._by_table[sub.table.id] = tuple(s for s in self._by_table.get(sub.table.id, ()) if s is not sub)
        self._fail((s, permissions.denied(s.user, "read")) for s in subs)

    def _fail(self, failures: Iterable[tuple[Subscription, ReqlError]]) -> None:
        wakes = [w for w in (s.fail(error) for s, error in failures) if w is not None]
        if wakes:
            self._call_soon(wakes)

    def _call_soon(self, wakes: list[Callable[[], None]]) -> None:
        def wake_all() -> None:
            for wake in wakes:
                wake()

        def after_replies() -> None:
            # One more turn of the loop first, so the writer's own reply goes out before the feeds are served.
            self._loop.call_soon(wake_all)

        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone and so are its feeds
            self._loop.call_soon_threadsafe(after_replies)


class Subscription:
    """The queue of one `changes()`: changes filed by the writer, taken by the feed's cursor."""

    def __init__(self, storage: Storage, changes: ChangefeedSource, wake: Callable[[], None]) -> None:
        self.table = changes.table.info
        self.user = changes.ctx.user
        self.options = changes.options
        self._permission_ids = permissions.permission_ids(storage, self.table)
        self._watch = changes.watch
        self._storage = storage
        self._wake_cursor = wake
        self._lock = threading.Lock()
        self._queue: deque[Entry] = deque()
        self._squashed: dict[bytes, Entry] | None = None
        self._held: list[Entry] = []  # a squashing limit feed's changes, merged when the cursor reads
        self._shaped = changes.shaped
        self._waiting = False
        self._threshold = 1
        self.skipped = 0
        self.error: ReqlError | None = None
        self.top: TopRows | None = None
        self.initial: list[Entry] = []
        self._accepts: Callable[[Any], bool] | None = None
        if isinstance(self._watch, PointWatch):
            self._accepts = self._point_test(self._watch)
        elif isinstance(self._watch, RangeWatch):
            self._accepts = range_test(storage, self.table, self._watch)

    # ---- the writer's side

    def begin(self, snapshot: Snapshot) -> None:
        """Read what a limit feed starts from, in the snapshot, before any later commit is filed."""
        if isinstance(self._watch, LimitWatch):
            with snapshot.reading():
                offsets = self.options.include_offsets
                self.top = TopRows(self._storage, self.table, self._watch, self._shaped, offsets)
            self.initial = self.top.initial()

    def offer(self, changes: list[tuple[CommittedChange, Entry]]) -> Callable[[], None] | None:
        """File a commit's changes of this table; returns the cursor's wake-up call if it was waiting."""
        entries = self._entries(changes)
        if not entries:
            return None
        with self._lock:
            for entry in entries:
                self._file(entry)
            return self._take_waiter()

    def may_read(self) -> bool:
        """Whether the feed's user still holds `read` on its table."""
        return permissions.allowed(self._storage, self.user, "read", *self._permission_ids)

    def fail(self, error: ReqlError) -> Callable[[], None] | None:
        with self._lock:
            self.error = error
            return self._take_waiter()

    def _entries(self, changes: list[tuple[CommittedChange, Entry]]) -> list[Entry]:
        if self.top is not None:
            return self.top.apply([change for change, _ in changes])
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
                self.skipped += 1
                return
            squashed[entry.key] = entry
            return
        if len(self._queue) >= self.options.queue_size:
            self.skipped += 1
            return
        self._queue.append(entry)

    def _take_waiter(self) -> Callable[[], None] | None:
        if not self._waiting or (len(self) < self._threshold and self.error is None and not self.skipped):
            return None
        self._waiting = False
        return self._wake_cursor

    def _point_test(self, watch: PointWatch) -> Callable[[Any], bool]:
        wanted = keys.encode(watch.key)
        pk = self.table.primary_key
        return lambda doc: keys.encode(doc.get(pk)) == wanted

    # ---- the cursor's side

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
        return len(self._squashed) if self._squashed is not None else len(self._queue) + len(self._held)

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
            return True

    def take(self, count: int) -> tuple[list[Entry], int]:
        """Up to `count` queued changes, oldest first, and how many were skipped since the last take."""
        with self._lock:
            if self._squashed is not None:
                taken = [self._squashed.pop(key) for key in list(self._squashed)[:count]]
            else:
                if self._held and not self._queue:
                    self._queue.extend(merged(self._held))
                    self._held.clear()
                taken = [self._queue.popleft() for _ in range(min(count, len(self._queue)))]
            skipped, self.skipped = self.skipped, 0
            return taken, skipped


def range_test(storage: Storage, table: TableInfo, watch: RangeWatch) -> Callable[[Any], bool] | None:
    """Whether a document belongs to a range feed (None: every document does)."""
    if watch.index == table.primary_key:
        pk = table.primary_key

        def values(doc: Any) -> list[Any]:
            return [doc[pk]] if pk in doc else []
    else:

        def values(doc: Any) -> list[Any]:
            return storage.index_values(table, watch.index, doc)

    if watch.values is not None:
        wanted = {keys.encode(v) for v in watch.values}
        return lambda doc: any(keys.encode(v) in wanted for v in values(doc))
    bounds = Bounds(watch)
    if watch.index == table.primary_key and bounds.unbounded:
        return None
    return lambda doc: any(bounds.contains(keys.encode(v)) for v in values(doc))

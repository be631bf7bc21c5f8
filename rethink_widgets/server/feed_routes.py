"""Which subscriptions of a table a commit reaches: the feeds on the whole table through its shared log, a point feed
only through writes to its document, and the other feeds (ranges, limits, squashing ones) by testing each change."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rethink_widgets.server import keys
from rethink_widgets.server.evaluation.changefeed_sources import ChangefeedSource, RangeWatch
from rethink_widgets.server.feed_entries import Bounds, Entry
from rethink_widgets.server.feed_log import SharedLog
from rethink_widgets.server.limit_feeds import Memo
from rethink_widgets.server.storage import CommittedChange, Storage, TableInfo

if TYPE_CHECKING:
    from rethink_widgets.server.changefeeds import Subscription


class Routes:
    """The subscriptions of one table, arranged so that a commit reaches only those it concerns."""

    __slots__ = ("_storage", "all", "by_key", "log", "tested")

    def __init__(self, storage: Storage, subs: tuple[Subscription, ...], log: SharedLog | None) -> None:
        self._storage = storage
        self.all = subs
        self.log = log if any(s.reads_log for s in subs) else None
        self.by_key: dict[bytes, list[Subscription]] = {}
        tested = []
        for sub in subs:
            if sub.key is not None:
                self.by_key.setdefault(sub.key, []).append(sub)
            elif not sub.reads_log:
                tested.append(sub)
        self.tested = tuple(tested)

    def offer(self, changes: list[tuple[CommittedChange, Entry]], wakes: list[Callable[[], None]]) -> None:
        """File a commit's changes of the table where they belong; adds the wake-up calls of cursors to `wakes`."""
        if self.log is not None:
            wakes.extend(self.log.append([entry for _, entry in changes]))
        if self.by_key:
            for _, entry in changes:
                for sub in self.by_key.get(entry.key, ()):
                    wake = sub.file([entry])
                    if wake is not None:
                        wakes.append(wake)
        if self.tested:
            memo = Memo(self._storage)
            for sub in self.tested:
                wake = sub.offer(changes, memo)
                if wake is not None:
                    wakes.append(wake)


def takes_every_change(changes: ChangefeedSource) -> bool:
    """Whether a feed takes every change of its table, as it comes (no filter, no squash, no limit)."""
    watch, table = changes.watch, changes.table.info
    if not isinstance(watch, RangeWatch) or changes.options.squash is not False:
        return False
    return watch.index == table.primary_key and watch.values is None and Bounds(watch).unbounded


def range_test(storage: Storage, table: TableInfo, watch: RangeWatch) -> Callable[[Any], bool] | None:
    """Whether a document belongs to a range feed (None: every document does)."""
    if watch.index == table.primary_key:
        pk = table.primary_key

        def values(doc: Any) -> list[Any]:
            return [doc[pk]] if pk in doc else []
    else:

        def values(doc: Any) -> list[Any]:
            return storage.index_values(table, watch.index, doc)

    meets = watch.meets
    if meets is not None:
        return lambda doc: any(meets(v) for v in values(doc))
    if watch.values is not None:
        wanted = {keys.encode(v) for v in watch.values}
        return lambda doc: any(keys.encode(v) in wanted for v in values(doc))
    bounds = Bounds(watch)
    if watch.index == table.primary_key and bounds.unbounded:
        return None
    return lambda doc: any(bounds.contains(keys.encode(v)) for v in values(doc))

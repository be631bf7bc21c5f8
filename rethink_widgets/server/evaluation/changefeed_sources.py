"""What a changefeed follows: the value `changes()` evaluates to, and a `union` of such values.

A `ChangefeedSource` holds a `WatchedRows` saying which documents of which table to follow, the row-wise steps to apply
to each document, the initial result and the options. Steps called after `changes()` are recorded on the streams built
over it (see `feed_of`); the server's changefeeds (changefeeds.py, feed_cursor.py) run them on each change document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rethink_widgets.server import keys
from rethink_widgets.server.errors import ReqlError, ReqlQueryLogicError
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.values import RowStep, Step, Stream, Table

INFINITE_TERMINAL = "Cannot call a terminal (`reduce`, `count`, etc.) on an infinite stream (such as a changefeed)."
DEFAULT_QUEUE_SIZE = 100_000


@dataclass(frozen=True)
class FeedOptions:
    squash: bool | float = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    include_initial: bool = False
    include_states: bool = False
    include_offsets: bool = False
    include_types: bool = False


@dataclass(frozen=True)
class PointWatch:
    """One document by primary key (`get(key).changes()`)."""

    key: Any


@dataclass(frozen=True)
class RangeWatch:
    """Documents whose `index` value lies in bounds (`between`), is one of `values` (`get_all`), is a geometry that
    `meets` accepts (`get_intersecting`), or any document."""

    index: str
    values: list[Any] | None = None
    lower: Any = keys.MINVAL
    upper: Any = keys.MAXVAL
    lower_open: bool = False
    upper_open: bool = True
    meets: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class LimitWatch:
    """The first `count` documents of a range in index order (`order_by(index=...).limit(n).changes()`)."""

    range: RangeWatch
    count: int
    descending: bool


WatchedRows = PointWatch | RangeWatch | LimitWatch


@dataclass(eq=False)
class ChangefeedSource(Stream):
    """A changefeed: `watch` on `table`, each document shaped by `steps`, the initial result read by `initial`."""

    ctx: Context
    table: Table
    watch: WatchedRows
    steps: list[RowStep]
    initial: Stream | None
    options: FeedOptions
    is_changefeed = True

    def __post_init__(self) -> None:
        super().__init__(_refuse_iteration, infinite=True)

    @property
    def kind_note(self) -> int:
        """The response note that names this kind of feed."""
        return 2 if isinstance(self.watch, PointWatch) else 3 if isinstance(self.watch, LimitWatch) else 1

    def shape(self, doc: Any) -> Any:
        """A document as this feed shows it after its steps; None when the steps drop it or fail on it."""
        if doc is None:
            return None
        rows = self.shaped(doc)
        return rows[0] if rows else None

    def shaped(self, doc: Any) -> list[Any]:
        """A document after the feed's steps: [what the feed shows], or [] when they drop it or fail on it."""
        rows = [doc]
        try:
            for step in self.steps:
                rows = [out for row in rows for out in step.apply(row)]
        except ReqlError:  # as in RethinkDB, a document the steps fail on is one the feed does not see
            return []
        return rows[:1]


@dataclass(eq=False)
class ChangefeedUnion(Stream):
    """`union` of changefeeds: one stream with the changes of every member, each after its own steps."""

    members: list[tuple[ChangefeedSource, list[Step]]]
    is_changefeed = True

    def __post_init__(self) -> None:
        super().__init__(_refuse_iteration, infinite=True)


def _refuse_iteration() -> Iterator[Any]:
    raise ReqlQueryLogicError(INFINITE_TERMINAL)


def feed_of(value: Any) -> tuple[ChangefeedSource | ChangefeedUnion, list[Step]] | None:
    """The changefeed a stream was built on, with the steps applied after it (in order); None for other values."""
    steps: list[Step] = []
    while isinstance(value, Stream):
        if isinstance(value, (ChangefeedSource, ChangefeedUnion)):
            steps.reverse()
            return value, steps
        if value.origin is None:
            return None
        value, step = value.origin
        steps.append(step)
    return None


def union_of_changefeeds(seqs: list[Any]) -> ChangefeedUnion:
    members: list[tuple[ChangefeedSource, list[Step]]] = []
    for seq in seqs:
        found = feed_of(seq)
        if found is None:
            raise ReqlQueryLogicError("Cannot `union` a changefeed with a sequence that is not a changefeed.")
        feed, steps = found
        if isinstance(feed, ChangefeedUnion):
            if steps:
                raise ReqlQueryLogicError("Cannot `union` a transformed union of changefeeds; transform the members.")
            members.extend(feed.members)
        else:
            members.append((feed, steps))
    return ChangefeedUnion(members)

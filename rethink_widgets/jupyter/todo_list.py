"""TodoList: the realtime todo, where every open view, in every kernel, sees every change.

    todo = TodoList(r.table("todo"))
    await todo.add("buy milk")

Items are documents `{id, text, done, created_at}`, shown in creation order; `created_at` is set by the database
(`r.now()`). A document of the table with no `text` string is not an item: it is not shown, and the views say how
many there are. Every action, from a view or from Python, is a request the kernel validates and writes; the list
follows the changefeed, so two users (two views, two kernels, two browsers) always converge on what the database
holds.
"""

from __future__ import annotations

import contextlib
import os
import time
import unicodedata
import uuid
from typing import Any

import traitlets
from rethinkdb import errors

from rethink_widgets.jupyter import connection, messages
from rethink_widgets.jupyter.live_widget import CurrentCount, Handlers, LiveWidget, asset
from rethink_widgets.jupyter.messages import check_id
from rethink_widgets.jupyter.queries import QueryInfo, describe, filter_fields

MAX_TEXT = 500
MAX_SHOWN = 1000  # items sent to the views; a todo list longer than this is a table (use LiveTable)
GONE = "That item was deleted meanwhile."


def clean_text(text: Any) -> str:
    """A todo's text as stored: a string, stripped, not empty, at most `MAX_TEXT` characters."""
    if not isinstance(text, str):
        raise TypeError(f"A todo's text must be a string, not {type(text).__name__}.")
    stripped = text.strip()
    # Zero-width and other format characters alone would show an empty item.
    if all(unicodedata.category(ch) == "Cf" for ch in stripped):
        raise ValueError("A todo needs some text.")
    if len(stripped) > MAX_TEXT:
        raise ValueError(f"A todo's text can be at most {MAX_TEXT} characters (this one has {len(stripped)}).")
    return stripped


def is_item(doc: Any) -> bool:
    """Whether a document is a todo item: its `text` is a string (as `add` and `edit` write it)."""
    return isinstance(doc, dict) and isinstance(doc.get("text"), str)


def _done_item(doc: Any) -> Any:
    """`is_item(doc)` and done, as a ReQL predicate."""
    return doc["done"].default(False).eq(True) & doc["text"].default(None).type_of().eq("STRING")


class _OrderedIds:
    """Ids that sort in the order they were made (a UUID laid out as in version 7: milliseconds, then a counter).

    `created_at` comes from the database with millisecond precision, so items added in the same millisecond tie;
    the list breaks ties by id, and these ids keep a kernel's items in the order it added them.
    """

    def __init__(self) -> None:
        self._last = (0, 0)

    def __call__(self) -> str:
        millis, counter = time.time_ns() // 1_000_000, 0
        last_millis, last_counter = self._last
        if millis <= last_millis:
            millis, counter = last_millis, last_counter + 1
            if counter > 0xFFF:  # the counter's 12 bits are used up: go on in the next millisecond
                millis, counter = last_millis + 1, 0
        self._last = (millis, counter)
        value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62)
        value |= int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        return str(uuid.UUID(int=value))


new_id = _OrderedIds()


def _table_creation(info: QueryInfo, database: connection.Connector) -> Any:
    """ReQL that creates the table of `info` when it is missing; its value says whether it did."""
    r = database.r
    db = r.db(info.db or database.default_db)
    return r.branch(db.table_list().contains(info.table), False, db.table_create(info.table)["tables_created"].eq(1))


class TodoList(LiveWidget):
    _esm = asset("todo_list.js")

    items_shown = traitlets.List(traitlets.Dict(), help="The items in creation order: {key, id, text, done}.").tag(
        sync=True
    )
    left = CurrentCount(
        lambda todo: sum(1 for item in todo.items if item.get("done") is not True), help="How many items are not done."
    ).tag(sync=True)
    total = CurrentCount(lambda todo: len(todo.items), help="How many items there are.").tag(sync=True)
    others = CurrentCount(
        lambda todo: len(todo.feed.result) - len(todo.items),
        help="Documents that are not items (no `text` string), not shown.",
    ).tag(sync=True)

    def __init__(self, query: Any, conn: Any = None) -> None:
        __tracebackhide__ = True  # see LiveWidget.__init__
        info = describe(query)
        if not info.editable or info.point:
            raise ValueError("TodoList needs a table (or a filter of one), such as r.table('todo')")
        super().__init__(query, conn=conn)
        self.view.configure((("created_at", False),), "")

    # ---------------------------------------------------------------- Python API

    @property
    def items(self) -> list[dict[str, Any]]:
        """Every item, in creation order (documents that are not items left out)."""
        return [doc for key in self.view.ordered_keys() if is_item(doc := self.feed.result.get(key))]

    def __repr__(self) -> str:
        items = f"{self.total} item{'' if self.total == 1 else 's'}"
        others = f", {self.others} other document{'' if self.others == 1 else 's'} not shown" if self.others else ""
        return f"TodoList({self.title}, {items}, {self.left} left{others}, {self.status})"

    async def add(self, text: str) -> str:
        """Add an item; returns its id. On a list of `filter({...})`, the item gets the filter's fields, so that it
        is in the list."""
        r = self.database.r
        item_id = new_id()
        fields = filter_fields(self.feed.query)
        item = {**fields, "id": item_id, "text": clean_text(text), "done": False, "created_at": r.now()}
        await self._write(self._table().insert(item))
        return item_id

    async def toggle(self, item_id: Any, done: bool | None = None) -> None:
        """Check an item off (or on again); without `done`, flip it, atomically in the database."""
        if done is not None and not isinstance(done, bool):
            raise TypeError("done must be True or False")
        r = self.database.r
        # Only `true` is done (as the views show it): flipping anything else makes it done.
        flip = lambda item: {"done": r.branch(item["done"].default(False).eq(True), False, True)}  # noqa: E731
        await self._update(item_id, {"done": done} if done is not None else flip)

    async def edit(self, item_id: Any, text: str) -> None:
        await self._update(item_id, {"text": clean_text(text)})

    async def delete(self, item_id: Any) -> None:
        result = await self._write(self._table().get(check_id(item_id)).delete())
        if not result.get("deleted"):
            raise ValueError(GONE)

    async def clear_completed(self) -> int:
        """Delete every item of this list that is done; returns how many. Documents that are not items, and items
        outside the list's own query (a filter of the table), are left alone."""
        result = await self._write(self.feed.query.filter(_done_item).delete())
        return int(result.get("deleted", 0))

    # ---------------------------------------------------------------- the feed and the views

    def _check_query(self, query: Any, database: connection.Connector) -> None:
        """Create the table here, in the cell, when it is missing, so that a later cell on it (a LiveTable of the
        same table) finds it."""
        __tracebackhide__ = True
        created = False
        # Whatever goes wrong here (no answer, no such database, a race) the check below or the feed tells.
        with contextlib.suppress(errors.ReqlError):
            conn = database.connect_sync()
            try:
                created = _table_creation(describe(query), database).run(conn)
            finally:
                conn.close(noreply_wait=False)
        if created:
            print(f"rethink_widgets: created table {describe(query).name(database.default_db)}")
        super()._check_query(query, database)

    def _say_waiting(self, missing: str) -> None:
        if not missing.startswith("Table "):  # the feed creates a missing table (`_prepare`)
            super()._say_waiting(missing)

    async def _prepare(self, conn: Any) -> None:
        """Create the table if the cell could not (the database did not answer then)."""
        try:
            created = await _table_creation(self.feed.info, self.database).run(conn)
        except errors.ReqlOpFailedError as error:
            if "already exists" not in str(error):  # another kernel made it at the same moment: that is fine
                raise
            created = False
        if created:
            print(f"rethink_widgets: created table {self.title}")

    def _draw(self) -> None:
        result = self.feed.result
        keys = [key for key in self.view.ordered_keys() if is_item(result.get(key))]
        self.items_shown = [self._item(key) for key in keys[:MAX_SHOWN]]
        self.total = len(keys)
        self.others = len(result) - len(keys)
        self.left = sum(1 for key in keys if result.get(key).get("done") is not True)

    def _item(self, key: str) -> dict[str, Any]:
        item = self.feed.result.get(key)
        return {
            "key": key,
            "id": item.get(self.feed.primary_key),
            "text": item["text"],
            "done": item.get("done") is True,
        }

    def _handlers(self) -> Handlers:
        return {
            messages.AddItem: self._add_from_view,
            messages.ToggleItem: lambda request: self.toggle(request.id, request.done),
            messages.EditItem: lambda request: self.edit(request.id, request.text),
            messages.DeleteItem: lambda request: self.delete(request.id),
            messages.ClearCompleted: lambda request: self.clear_completed(),
        }

    async def _add_from_view(self, request: messages.AddItem) -> None:
        await self.add(request.text)
        self.send(messages.Added(request.ref).to_json())

    async def _update(self, item_id: Any, change: Any) -> None:
        result = await self._write(self._table().get(check_id(item_id)).update(change))
        if result.get("skipped"):
            raise ValueError(GONE)

"""The messages a live widget's views (js/live_table.js, js/todo_list.js) and the kernel send each other.

They travel as anywidget custom messages on the widget's comm, JSON objects named by their `type`. The state views
draw (rows, status, sort, message ...) travels as synced traits instead; these are the handshake, the requests and
the rows each LiveTable view asked for. Each request that writes is carried out in the order the views sent it; one
the kernel refuses leaves the reason in the widget's `message` trait, and views redraw from the kernel's state.

Every widget (a view asks when it is drawn and every few seconds while it hears nothing else; no answer while the
kernel could give one means the kernel no longer has the widget, see js/shared.js):
    view -> kernel   hello              {type}                          is this widget still here?
    kernel -> view   live               {type}                          yes: the answer, sent at once from the
                                                                        thread that got the hello

LiveTable (a row is named by its `key` and the revision `rev` the person saw; a row changed since is refused):
    view -> kernel   edit               {type, key, rev, column, text,  set one cell to the text the person typed;
                                         ref?}                          `ref` names this request
    kernel -> view   edited             {type, ref}                     the cell of request `ref` was written
    view -> kernel   delete             {type, key, rev}                delete the row
    view -> kernel   insert             {type, text, ref?}              add a row given as a JSON object's text;
                                                                        `ref` names this request
    kernel -> view   added              {type, ref}                     the row of request `ref` was written
    view -> kernel   undo_delete        {type, key}                     put back the row last deleted from a view

LiveTable's views each ask for the rows they show, so two views of one table scroll independently (see
view_windows.py). A view names itself by an id it makes up; until it asks, it draws the synced first rows. Every view
gets every message, and takes only what is addressed to it:
    view -> kernel   window             {type, view, start, stop}       send me the rows from start to stop (from 0,
                                                                        in display order), now and as they change
    view -> kernel   goodbye            {type, view}                    I went away: forget my window
    kernel -> view   rows               {type, windows, kept}           windows: {view: {start, rows, changed}} for
                                                                        each view whose rows are new (rows as in
                                                                        `window_rows`, changed: keys of rows changed
                                                                        since the last update); kept: the views whose
                                                                        windows the kernel keeps (one not among them
                                                                        was forgotten and asks again)

TodoList (an item is named by its `id`, a string or a number):
    view -> kernel   add                {type, text, ref?}              add an item; `ref` names this request
    kernel -> view   added              {type, ref}                     the item of request `ref` was written
    view -> kernel   toggle             {type, id, done?}               check an item off or on (no `done`: flip)
    view -> kernel   edit               {type, id, text}                change an item's text
    view -> kernel   delete             {type, id}                      delete an item
    view -> kernel   clear_completed    {type}                          delete every item that is done
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self, TypeVar

T = TypeVar("T")


class BadMessage(ValueError):
    """A view's message the widget does not take, or one whose fields are not what its type needs."""


def parse(content: Any, accepted: Iterable[type[Request]]) -> Request:
    """The request a view sent, checked against the request types its widget takes; BadMessage says what is wrong."""
    if not isinstance(content, dict):
        raise BadMessage(f"A view's message is a JSON object with a type, not {type(content).__name__}.")
    kind = content.get("type")
    for request in accepted:
        if request.kind == kind:
            return request.from_json(content)
    raise BadMessage(f"Unknown request: {kind!r}")


def is_hello(content: Any) -> bool:
    return isinstance(content, dict) and content.get("type") == Hello.kind


def check_id(item_id: Any) -> str | float:
    """An item's id as given from Python or a view: a string or a number (what a primary key can be here)."""
    if isinstance(item_id, bool) or not isinstance(item_id, str | int | float):
        raise TypeError(f"An item id is a string or a number, not {type(item_id).__name__}.")
    return item_id


# ---------------------------------------------------------------- view -> kernel


class Request:
    """A message from a view; `from_json` checks the fields its type needs."""

    kind: ClassVar[str]
    # Carried out after the requests sent before it (writes); one that only changes what its view is sent does not
    # wait for them: a view keeps scrolling while an edit is written.
    in_turn: ClassVar[bool] = True

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls()


@dataclass(frozen=True)
class Hello(Request):
    kind: ClassVar[str] = "hello"


@dataclass(frozen=True)
class EditCell(Request):
    kind: ClassVar[str] = "edit"
    key: str
    rev: int
    column: str
    text: str
    ref: str | None  # the view's name for this request, sent back in `edited`

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        key, rev = _row(content, cls.kind)
        column, text = _field(content, cls.kind, "column", str), _field(content, cls.kind, "text", str)
        return cls(key, rev, column, text, _ref(content, cls.kind))


@dataclass(frozen=True)
class DeleteRow(Request):
    kind: ClassVar[str] = "delete"
    key: str
    rev: int

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(*_row(content, cls.kind))


@dataclass(frozen=True)
class _Adding(Request):
    """A request to add what `text` says, named by the view (`ref`) so that `added` can answer it."""

    text: str
    ref: str | None

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(_field(content, cls.kind, "text", str), _ref(content, cls.kind))


@dataclass(frozen=True)
class InsertRow(_Adding):
    kind: ClassVar[str] = "insert"


@dataclass(frozen=True)
class UndoDelete(Request):
    kind: ClassVar[str] = "undo_delete"
    key: str

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(_field(content, cls.kind, "key", str))


@dataclass(frozen=True)
class ShowWindow(Request):
    kind: ClassVar[str] = "window"
    in_turn: ClassVar[bool] = False
    view: str
    start: int
    stop: int

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        view = _field(content, cls.kind, "view", str)
        return cls(view, _field(content, cls.kind, "start", int), _field(content, cls.kind, "stop", int))


@dataclass(frozen=True)
class Goodbye(Request):
    kind: ClassVar[str] = "goodbye"
    in_turn: ClassVar[bool] = False
    view: str

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(_field(content, cls.kind, "view", str))


@dataclass(frozen=True)
class AddItem(_Adding):
    kind: ClassVar[str] = "add"


@dataclass(frozen=True)
class ToggleItem(Request):
    kind: ClassVar[str] = "toggle"
    id: str | float
    done: bool | None  # None flips it

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        done = _field(content, cls.kind, "done", bool) if content.get("done") is not None else None
        return cls(_item_id(content), done)


@dataclass(frozen=True)
class EditItem(Request):
    kind: ClassVar[str] = "edit"
    id: str | float
    text: str

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(_item_id(content), _field(content, cls.kind, "text", str))


@dataclass(frozen=True)
class DeleteItem(Request):
    kind: ClassVar[str] = "delete"
    id: str | float

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> Self:
        return cls(_item_id(content))


@dataclass(frozen=True)
class ClearCompleted(Request):
    kind: ClassVar[str] = "clear_completed"


# ---------------------------------------------------------------- kernel -> view


@dataclass(frozen=True)
class Reply:
    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Live(Reply):
    kind: ClassVar[str] = "live"


@dataclass(frozen=True)
class Added(Reply):
    kind: ClassVar[str] = "added"
    ref: str | None


@dataclass(frozen=True)
class Edited(Reply):
    kind: ClassVar[str] = "edited"
    ref: str | None


@dataclass(frozen=True)
class Rows(Reply):
    kind: ClassVar[str] = "rows"
    windows: dict[str, dict[str, Any]]  # by view id: {start, rows, changed}
    kept: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "windows": self.windows, "kept": self.kept}  # not copied, as asdict would


# ---------------------------------------------------------------- fields


def _field(content: Mapping[str, Any], kind: str, name: str, expected: type[T]) -> T:
    value = content.get(name)
    # JSON true and false are not numbers here, though Python's bool is an int.
    if isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool):
        return value
    if name not in content:
        raise BadMessage(f"A view's {kind!r} request has no {name} (it must be {_NAMES[expected]}).")
    raise BadMessage(f"A view's {kind!r} request: {name} must be {_NAMES[expected]}, not {type(value).__name__}.")


_NAMES: dict[type, str] = {str: "a string", int: "a whole number", bool: "true or false"}


def _row(content: Mapping[str, Any], kind: str) -> tuple[str, int]:
    return _field(content, kind, "key", str), _field(content, kind, "rev", int)


def _ref(content: Mapping[str, Any], kind: str) -> str | None:
    return _field(content, kind, "ref", str) if "ref" in content else None


def _item_id(content: Mapping[str, Any]) -> str | float:
    try:
        return check_id(content.get("id"))
    except TypeError as error:
        raise BadMessage(str(error)) from None

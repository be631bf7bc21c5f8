"""Encoding a reply's datums as JSON on a worker thread, bounded in size.

A small query can ask for a huge reply (`r.range(100000).map(lambda _: <a 5 KB string>)`). Encoding it in one call
would hold the interpreter lock for seconds, and the text, its bytes and its frame would each take that much memory.
So a reply is encoded an element at a time, with a check point between elements (it can be stopped, and waits its
turn like any long query), and refused with a clear error once it passes `MAX_REPLY_BYTES`, as RethinkDB refuses
arrays over `array_limit`.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server import interrupts, wire
from rethink_widgets.server.errors import ReqlResourceLimitError

MAX_REPLY_BYTES = 128 * 1024 * 1024  # as large as the largest query RethinkDB accepts


def too_large() -> ReqlResourceLimitError:
    return ReqlResourceLimitError(
        f"Reply over size limit `{MAX_REPLY_BYTES}` bytes.  Read a large result through a cursor "
        "(without `coerce_to('array')`), or narrow it with `pluck`, `limit` or a filter."
    )


def encode(value: Any) -> str:
    """`value` as wire JSON text, or ReqlResourceLimitError when the text would be over the limit."""
    if not isinstance(value, list):
        return checked(wire.dumps(value))
    parts, size = [], 2
    for item in value:
        interrupts.check()
        text = wire.dumps(item)
        size += len(text) + 1
        if size > MAX_REPLY_BYTES:
            raise too_large()
        parts.append(text)
    return "[" + ",".join(parts) + "]"


def checked(text: str) -> str:
    if len(text) > MAX_REPLY_BYTES:
        raise too_large()
    return text

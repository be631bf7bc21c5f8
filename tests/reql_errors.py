"""What the tests expect of a ReQL error: its exact type and message, as the driver raises it."""

from __future__ import annotations

from typing import Any

import pytest
from rethinkdb.errors import ReqlError

INFINITE = (
    "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) or coerce it to an array."
)


def fails(conn: Any, query: Any, error: type[ReqlError], message: str, **run: Any) -> None:
    """Running `query` raises exactly `error` with exactly `message` (`run`: run options such as array_limit)."""
    with pytest.raises(error) as info:
        query.run(conn, **run)
    assert type(info.value) is error
    assert info.value.message == message

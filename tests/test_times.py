"""Times, UUIDs and binary values through the real driver."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlQueryLogicError


def test_python_datetimes_round_trip(conn: Any, r: RethinkDB) -> None:
    when = datetime.datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert r.expr(when).run(conn) == when
    assert r.expr(when).to_iso8601().run(conn) == "2020-01-02T03:04:05.123+02:00"
    assert r.expr(when).timezone().run(conn) == "+02:00"


def test_constructors(conn: Any, r: RethinkDB) -> None:
    assert r.epoch_time(0).to_iso8601().run(conn) == "1970-01-01T00:00:00+00:00"
    assert r.time(2021, 3, 4, "Z").to_epoch_time().run(conn) == 1614816000
    assert r.time(2021, 3, 4, 5, 6, 7, "-05:00").hours().run(conn) == 5
    assert r.iso8601("2021-03-04T05:06:07Z").to_epoch_time().run(conn) == 1614834367
    assert r.iso8601("2021-03-04T05:06:07", default_timezone="+01:00").timezone().run(conn) == "+01:00"
    with pytest.raises(ReqlQueryLogicError, match="ISO 8601 string has no time zone"):
        r.iso8601("2021-03-04T05:06:07").run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"Got 5 arguments to TIME \(expected 4 or 7\)."):
        r.time(2021, 3, 4, 5, "Z").run(conn)


def test_accessors(conn: Any, r: RethinkDB) -> None:
    t = r.time(2024, 2, 29, 13, 14, 15.5, "+03:00")
    assert t.year().run(conn) == 2024
    assert t.month().run(conn) == 2
    assert t.day().run(conn) == 29
    assert t.minutes().run(conn) == 14
    assert t.seconds().run(conn) == 15.5
    assert t.day_of_week().run(conn) == 4 == r.thursday.run(conn)
    assert t.day_of_year().run(conn) == 60
    assert t.time_of_day().run(conn) == 13 * 3600 + 14 * 60 + 15.5
    assert t.date().to_iso8601().run(conn) == "2024-02-29T00:00:00+03:00"
    assert t.in_timezone("Z").hours().run(conn) == 10
    assert t.during(r.time(2024, 1, 1, "Z"), r.time(2025, 1, 1, "Z")).run(conn) is True


def test_now_is_fixed_within_a_query(conn: Any, r: RethinkDB) -> None:
    first, second = r.expr([r.now(), r.now()]).run(conn)
    assert first == second


def test_uuid_and_binary(conn: Any, r: RethinkDB) -> None:
    assert r.uuid("magic").run(conn) == "97dd10a5-4fc4-554f-86c5-0d2c2e3d5330"
    assert len(r.uuid().run(conn)) == 36
    assert r.binary(b"hi").run(conn) == b"hi"
    assert r.expr(b"\x00\x01").run(conn) == b"\x00\x01"

"""Times, UUIDs and binary values through the real driver."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlQueryLogicError, ReqlServerCompileError

PACIFIC = datetime.timezone(datetime.timedelta(hours=-7))
OUT_OF_RANGE = "Error in time logic: Year is out of valid range: 1400..10000."


def test_python_datetimes_round_trip(conn: Any, r: RethinkDB) -> None:
    when = datetime.datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert r.expr(when).run(conn) == when
    assert r.expr(when).to_iso8601().run(conn) == "2020-01-02T03:04:05.123+02:00"
    assert r.expr(when).timezone().run(conn) == "+02:00"
    shown = datetime.datetime.fromtimestamp(1375147296.68, PACIFIC)
    assert r.expr(shown).to_iso8601().run(conn) == "2013-07-29T18:21:36.680-07:00"
    assert r.expr(shown).to_epoch_time().run(conn) == 1375147296.68
    assert r.expr({"nested": [r.epoch_time(896571240)]}).run(conn) == {
        "nested": [datetime.datetime.fromtimestamp(896571240, datetime.UTC)]
    }


def test_time_format_raw(conn: Any, r: RethinkDB) -> None:
    raw = r.epoch_time(1.5).in_timezone("-07:00").run(conn, time_format="raw")
    assert raw == {"$reql_type$": "TIME", "epoch_time": 1.5, "timezone": "-07:00"}
    native = r.epoch_time(1.5).run(conn, time_format="native")
    assert native == datetime.datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=datetime.UTC)


def test_time_objects_are_checked_when_built(conn: Any, r: RethinkDB) -> None:
    time = {"$reql_type$": "TIME", "epoch_time": 1.23456, "timezone": "Z"}
    assert r.expr(time).run(conn, time_format="raw") == {**time, "epoch_time": 1.235, "timezone": "+00:00"}
    fails(
        conn,
        r.expr({"$reql_type$": "TIME", "epoch_time": 1}),
        ReqlQueryLogicError,
        'Invalid time object constructed (no field `timezone`):\n{\n\t"$reql_type$":\t"TIME",\n\t"epoch_time":\t1\n}',
    )
    fails(
        conn,
        r.expr({**time, "epoch_time": "a"}),
        ReqlQueryLogicError,
        'Invalid time object constructed (field `epoch_time` must be a number (got `"a"` of type STRING)):\n'
        '{\n\t"$reql_type$":\t"TIME",\n\t"epoch_time":\t"a",\n\t"timezone":\t"Z"\n}',
    )
    with pytest.raises(ReqlQueryLogicError, match=r"^Invalid time object constructed \(invalid timezone string "):
        r.expr({**time, "timezone": "+25:00"}).run(conn)
    with pytest.raises(ReqlQueryLogicError, match=r"^Invalid time object constructed \(unrecognized field `x`\)"):
        r.expr({**time, "x": 1}).run(conn)


def test_epoch_time(conn: Any, r: RethinkDB) -> None:
    assert r.epoch_time(0).to_iso8601().run(conn) == "1970-01-01T00:00:00+00:00"
    assert r.epoch_time(1.4444445).to_epoch_time().run(conn) == 1.444
    assert r.epoch_time(1.001).to_iso8601().run(conn) == "1970-01-01T00:00:01.001+00:00"
    assert r.epoch_time(-1.5).to_iso8601().run(conn) == "1969-12-31T23:59:58.500+00:00"
    fails(conn, r.epoch_time("1"), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(conn, r.epoch_time(1e306), ReqlQueryLogicError, "Non-finite number: inf")


def test_the_calendar_spans_1400_to_10000(conn: Any, r: RethinkDB) -> None:
    assert r.epoch_time(253430000000).year().run(conn) == 10000
    fails(
        conn,
        r.epoch_time(253430000000).to_iso8601(),
        ReqlQueryLogicError,
        "Year `10000` out of valid ISO 8601 range [0, 9999].",
    )
    fails(conn, r.epoch_time(253440000000).year(), ReqlQueryLogicError, OUT_OF_RANGE)
    assert r.epoch_time(-17987443200).to_iso8601().run(conn) == "1400-01-01T00:00:00+00:00"
    fails(conn, r.epoch_time(-17990000000).year(), ReqlQueryLogicError, OUT_OF_RANGE)


def test_time(conn: Any, r: RethinkDB) -> None:
    assert r.time(2021, 3, 4, "Z").to_epoch_time().run(conn) == 1614816000
    assert r.time(2013, r.july, 29, 23, 30, 0.1, "-07:00").to_epoch_time().run(conn) == 1375165800.1
    assert r.time(2013, 7, 29, 23, 30, 0, "+0530").timezone().run(conn) == "+05:30"
    fails(conn, r.time(2013, 7, 29), ReqlServerCompileError, "Expected between 4 and 7 arguments but found 3.")
    fails(conn, r.time(2021, 3, 4, 5, "Z"), ReqlQueryLogicError, "Got 5 arguments to TIME (expected 4 or 7).")
    fails(conn, r.time(2013, 7, 29, 23), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.time(2013.5, 1, 1, "Z"), ReqlQueryLogicError, "Number not an integer: 2013.5")
    fails(conn, r.time(1399, 1, 1, "Z"), ReqlQueryLogicError, OUT_OF_RANGE)
    fails(
        conn, r.time(2013, 13, 1, "Z"), ReqlQueryLogicError, "Error in time logic: Month number is out of range 1..12."
    )
    fails(
        conn,
        r.time(2013, 1, 32, "Z"),
        ReqlQueryLogicError,
        "Error in time logic: Day of month value is out of range 1..31.",
    )
    fails(
        conn, r.time(2013, 2, 29, "Z"), ReqlQueryLogicError, "Error in time logic: Day of month is not valid for year."
    )
    assert r.time(2024, 2, 29, "Z").day_of_year().run(conn) == 60


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2013-07-30T20:56:05-07:00", "2013-07-30T20:56:05-07:00"),
        ("2013-07-30T20:56:05Z", "2013-07-30T20:56:05+00:00"),
        ("20130730T205605+0100", "2013-07-30T20:56:05+01:00"),
        ("2013-07-30T20:56+01", "2013-07-30T20:56:00+01:00"),
        ("2013-07-30T20Z", "2013-07-30T20:00:00+00:00"),
        ("2013-07-30T20:56:05.1Z", "2013-07-30T20:56:05.100+00:00"),
        ("2013-07-30T20:56:05.123999Z", "2013-07-30T20:56:05.123+00:00"),
        ("2013-211T12:00:00Z", "2013-07-30T12:00:00+00:00"),
        ("2013211T12Z", "2013-07-30T12:00:00+00:00"),
        ("2013-07T00Z", "2013-07-01T00:00:00+00:00"),
        ("2013T00Z", "2013-01-01T00:00:00+00:00"),
    ],
)
def test_iso8601_forms(conn: Any, r: RethinkDB, text: str, iso: str) -> None:
    assert r.iso8601(text).to_iso8601().run(conn) == iso


def test_iso8601_default_timezone(conn: Any, r: RethinkDB) -> None:
    assert r.iso8601("2013-07-30T20:56:05", default_timezone="-07").to_iso8601().run(conn) == (
        "2013-07-30T20:56:05-07:00"
    )
    assert r.iso8601("2013-07-30", default_timezone="+01:00").to_iso8601().run(conn) == "2013-07-30T00:00:00+01:00"
    assert r.iso8601("2013-07-30T20:56:05Z", default_timezone="-07").timezone().run(conn) == "+00:00"
    fails(
        conn,
        r.iso8601("2013-07-30T20:56:05"),
        ReqlQueryLogicError,
        "ISO 8601 string has no time zone, and no default time zone was provided.",
    )
    fails(
        conn,
        r.iso8601("2013-07-30", default_timezone="bogus"),
        ReqlQueryLogicError,
        "Invalid ISO 8601 timezone: `bogus`.",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("201307", "Truncated date string `201307`."),
        ("2013-0730", "Date string `2013-0730` must have 0 or 2 hyphens."),
        ("2013-07-30abc", "Garbage characters `abc` at end of date string `2013-07-30abc`."),
        ("2013-07-3xT00Z", "Invalid date string `2013-07-3x` (got `x` but expected a digit)."),
        ("2013-07-30T20:5605Z", "Time string `20:5605` must have 0 or 2 colons."),
        ("2013-07-30T20:56:05xZ", "Garbage characters `x` at end of time string `20:56:05x`."),
        ("2013-07-30T20:56:05+25:00", "Hours out of range in `+25:00`."),
        ("2013-07-30T20:56:05-00:00", "`-00:00` is not a valid time offset."),
        ("2013-02-29T00Z", "Error in time logic: Day of month is not valid for year."),
        (
            "2013-W05-1T12Z",
            "Due to limitations in the boost time library we use for parsing, we cannot support ISO week dates right "
            "now.  Sorry about that!  Please use years, calendar dates, or ordinal dates instead.",
        ),
    ],
)
def test_iso8601_errors(conn: Any, r: RethinkDB, text: str, message: str) -> None:
    fails(conn, r.iso8601(text), ReqlQueryLogicError, message)


def test_to_iso8601_and_to_epoch_time(conn: Any, r: RethinkDB) -> None:
    t = r.epoch_time(1375242965)
    assert t.in_timezone("-07:00").to_iso8601().run(conn) == "2013-07-30T20:56:05-07:00"
    assert t.in_timezone("+05:45").to_iso8601().run(conn) == "2013-07-31T09:41:05+05:45"
    assert (t + 0.02).to_iso8601().run(conn) == "2013-07-31T03:56:05.020+00:00"
    assert t.in_timezone("-07:00").to_epoch_time().run(conn) == 1375242965
    fails(conn, r.expr(1).to_iso8601(), ReqlQueryLogicError, "Not a TIME pseudotype: `1`.")


def test_timezones(conn: Any, r: RethinkDB) -> None:
    t = r.time(2013, r.july, 29, 23, 30, 0, "+00:00")
    assert t.in_timezone("Z").timezone().run(conn) == "+00:00"
    assert t.in_timezone("+01").timezone().run(conn) == "+01:00"
    assert t.in_timezone("-0101").timezone().run(conn) == "-01:01"
    assert t.in_timezone("+01:00").day().run(conn) == 30
    assert t.in_timezone("-00:59").day().run(conn) == 29
    assert (t.in_timezone("+01:01") - t.in_timezone("-01:01")).run(conn) == 0
    cases = {
        "": "Timezone `` does not start with `-` or `+`.",
        "UTC+00": "Timezone `UTC+00` does not start with `-` or `+`.",
        "-00": "`-00` is not a valid time offset.",
        "+00:60": "Minutes out of range in `+00:60`.",
        "+25:00": "Hours out of range in `+25:00`.",
        "+05:3x": "Invalid date string `+05:3x` (got `x` but expected a digit).",
        "+05:300": "Garbage characters `0` at end of timezone string `+05:300`.",
        "+5": "Truncated date string `+5`.",
    }
    for tz, message in cases.items():
        fails(conn, r.now().in_timezone(tz), ReqlQueryLogicError, message)
        fails(conn, r.time(2013, 1, 1, tz), ReqlQueryLogicError, message)
    fails(conn, r.now().in_timezone(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    # The short form escapes the range check, and the time built with it is refused.
    with pytest.raises(
        ReqlQueryLogicError, match=r'^Invalid time object constructed \(invalid timezone string `"\+25:00"`\)'
    ):
        r.now().in_timezone("+25").run(conn)


def test_portions(conn: Any, r: RethinkDB) -> None:
    t = r.time(2024, 2, 29, 13, 14, 15.5, "+03:00")
    assert t.year().run(conn) == 2024
    assert t.month().run(conn) == 2
    assert t.day().run(conn) == 29
    assert t.hours().run(conn) == 13
    assert t.minutes().run(conn) == 14
    assert t.seconds().run(conn) == 15.5
    assert t.day_of_week().run(conn) == 4 == r.thursday.run(conn)
    assert t.day_of_year().run(conn) == 60
    assert t.time_of_day().run(conn) == 13 * 3600 + 14 * 60 + 15.5
    assert t.in_timezone("Z").hours().run(conn) == 10
    assert r.epoch_time(1375147296.681).seconds().run(conn) == 36.681
    assert r.epoch_time(1375147296.681).time_of_day().run(conn) == 4896.681
    # RethinkDB adds the epoch's fraction, negative before 1970, to the whole seconds.
    assert r.epoch_time(-1.5).seconds().run(conn) == 57.5
    fails(conn, r.expr("2013").year(), ReqlQueryLogicError, 'Not a TIME pseudotype: `"2013"`.')


def test_date(conn: Any, r: RethinkDB) -> None:
    assert t_iso(conn, r.time(2024, 2, 29, 13, 14, 15.5, "+03:00").date()) == "2024-02-29T00:00:00+03:00"
    assert t_iso(conn, r.epoch_time(1436428422.339).in_timezone("-08:00").date()) == "2015-07-08T00:00:00-08:00"
    assert t_iso(conn, r.epoch_time(1436428422.339).in_timezone("-07:00").date()) == "2015-07-09T00:00:00-07:00"
    assert r.epoch_time(1375147296.681).date().time_of_day().run(conn) == 0


def t_iso(conn: Any, time: Any) -> str:
    text: str = time.to_iso8601().run(conn)
    return text


def test_during(conn: Any, r: RethinkDB) -> None:
    t = r.epoch_time(1375147296.681)
    assert t.during(t, t + 1000).run(conn) is True
    assert t.during(t, t + 1000, left_bound="open").run(conn) is False
    assert t.during(t, t).run(conn) is False
    assert t.during(t, t, right_bound="closed").run(conn) is True
    assert t.during(t.in_timezone("+05:00"), (t + 1).in_timezone("-05:00")).run(conn) is True
    fails(
        conn,
        t.during(t, t, left_bound="foo"),
        ReqlQueryLogicError,
        'Expected `open` or `closed` for optarg `left_bound` (got `"foo"`).',
    )
    fails(conn, t.during(t, 1), ReqlQueryLogicError, "Not a TIME pseudotype: `1`.")


def test_arithmetic_and_comparisons(conn: Any, r: RethinkDB) -> None:
    t = r.epoch_time(1375147296.6812)
    assert (t + 1000).to_epoch_time().run(conn) == 1375148296.681
    assert (t - 1000).to_epoch_time().run(conn) == 1375146296.681
    assert (t - (t - 1000)).run(conn) == 1000
    assert (t.in_timezone("+08:00") == t.in_timezone("-08:00")).run(conn) is True
    assert (t.in_timezone("+08:00") < (t + 0.001).in_timezone("-08:00")).run(conn) is True
    assert (r.now() - r.now()).run(conn) == 0
    fails(conn, (t + t), ReqlQueryLogicError, "Expected type NUMBER but found PTYPE<TIME>.")


def test_now_is_fixed_within_a_query(conn: Any, r: RethinkDB) -> None:
    first, second = r.expr([r.now(), r.now()]).run(conn)
    assert first == second
    assert r.now().type_of().run(conn) == "PTYPE<TIME>"
    # RethinkDB's arity check as for any term: at compile time, or at run time once r.args has spliced.
    fails(conn, r.now("foo"), ReqlServerCompileError, "Expected 0 arguments but found 1.")
    fails(conn, r.now(r.args([1, 2, 3])), ReqlQueryLogicError, "Expected 0 arguments but found 3.")
    assert r.now(r.args([])).type_of().run(conn) == "PTYPE<TIME>"


def test_constants(conn: Any, r: RethinkDB) -> None:
    days = [r.monday, r.tuesday, r.wednesday, r.thursday, r.friday, r.saturday, r.sunday]
    months = [r.january, r.february, r.march, r.april, r.may, r.june, r.july, r.august, r.september]
    months += [r.october, r.november, r.december]
    assert r.expr(days).run(conn) == list(range(1, 8))
    assert r.expr(months).run(conn) == list(range(1, 13))


def test_times_as_keys(conn: Any, r: RethinkDB, table: str) -> None:
    tbl = r.table(table)
    base = 1375445163.0872
    rows = [{"id": r.epoch_time(base + i * 0.0011).in_timezone("-07:00")} for i in range(5)]
    assert tbl.insert(rows).run(conn)["inserted"] == 5
    duplicate = tbl.insert({"id": r.epoch_time(base).in_timezone("Z")}).run(conn)
    assert duplicate["first_error"].startswith("Duplicate primary key `id`:")
    start, end = r.epoch_time(base - 1).in_timezone("+06:00"), r.epoch_time(base + 1)
    assert tbl.between(start, end).count().run(conn) == 5
    assert tbl.between(r.epoch_time(base).in_timezone("+08:00"), r.epoch_time(base + 0.0033)).count().run(conn) == 3
    tbl.update(lambda row: {"a": row["id"].in_timezone("+01:00")}).run(conn)
    tbl.index_create("a").run(conn)
    tbl.index_wait("a").run(conn)
    assert tbl.between(start, end, index="a").count().run(conn) == 5
    ordered = list(tbl.order_by(index=r.desc("a")).map(lambda row: row["id"].to_epoch_time()).run(conn))
    assert ordered == sorted(ordered, reverse=True) and len(ordered) == 5
    oldtime = datetime.datetime.fromtimestamp(1375147296.681, PACIFIC)
    assert tbl.insert({"id": oldtime}).run(conn)["inserted"] == 1
    assert tbl.get(oldtime)["id"].type_of().run(conn) == "PTYPE<TIME>"
    assert tbl.get_all(r.expr(oldtime).in_timezone("Z")).count().run(conn) == 1


def test_uuid_and_binary(conn: Any, r: RethinkDB) -> None:
    assert r.uuid("magic").run(conn) == "97dd10a5-4fc4-554f-86c5-0d2c2e3d5330"
    assert len(r.uuid().run(conn)) == 36
    assert r.binary(b"hi").run(conn) == b"hi"
    assert r.expr(b"\x00\x01").run(conn) == b"\x00\x01"

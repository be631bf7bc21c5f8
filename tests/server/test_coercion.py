"""coerce_to: the conversions RethinkDB allows between types, and the errors for the others."""

from __future__ import annotations

from typing import Any

from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlQueryLogicError


def test_to_string_is_compact_json(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).coerce_to("string").run(conn) == "1"
    assert r.expr(-1.5).coerce_to("string").run(conn) == "-1.5"
    assert r.expr(True).coerce_to("string").run(conn) == "true"
    assert r.expr(None).coerce_to("string").run(conn) == "null"
    assert r.expr([1, 2]).coerce_to("STRING").run(conn) == "[1,2]"
    assert r.expr({"a": 1, "b": [True, None]}).coerce_to("string").run(conn) == '{"a":1,"b":[true,null]}'
    assert r.expr({"b": {"d": 1, "c": 2}, "a": 0}).coerce_to("string").run(conn) == '{"a":0,"b":{"c":2,"d":1}}'
    assert r.expr(["é"]).coerce_to("string").run(conn) == '["é"]'
    assert r.expr("foo").coerce_to("string").run(conn) == "foo"


def test_to_string_writes_numbers_and_escapes_as_to_json_string(conn: Any, r: RethinkDB) -> None:
    # RethinkDB's rapidjson writer: its own shortest number forms, upper-case \u escapes, UTF-8 left as it is.
    assert r.expr([1.5, {"a": "é"}]).coerce_to("string").run(conn) == '[1.5,{"a":"é"}]'
    assert r.expr(1e21).coerce_to("string").run(conn) == "1e21"
    assert r.expr(1.5e-7).coerce_to("string").run(conn) == "1.5e-7"
    assert r.expr(2.0**60).coerce_to("string").run(conn) == "1152921504606847000.0"
    assert r.expr(["a\x1fb"]).coerce_to("string").run(conn) == '["a\\u001Fb"]'
    for value in ([1e21, -0.0, 0.1, "\x01"], {"t": r.epoch_time(1.5)}):
        query = r.expr(value)
        assert query.coerce_to("string").run(conn) == query.to_json_string().run(conn)


def test_string_to_number(conn: Any, r: RethinkDB) -> None:
    assert r.expr("-1.2").coerce_to("NUMBER").run(conn) == -1.2
    assert r.expr("1e3").coerce_to("number").run(conn) == 1000
    assert r.expr(" 12").coerce_to("number").run(conn) == 12
    integral = r.expr("42").coerce_to("number").run(conn)
    assert integral == 42
    assert type(integral) is int
    for text in ("--1.2", "-1.2-", "", "abc", "1,5", "12 ", "0x", "1e"):
        fails(conn, r.expr(text).coerce_to("NUMBER"), ReqlQueryLogicError, f"Could not coerce `{text}` to NUMBER.")
    # Parsed as C's strtod does: hexadecimal too, and inf or nan, which are not numbers ReQL allows.
    assert r.expr("0xa").coerce_to("number").run(conn) == 10
    assert r.expr("-0x1.8p1").coerce_to("number").run(conn) == -3
    assert r.expr("123456789012345678901").coerce_to("number").run(conn) == 123456789012345678901.0
    fails(conn, r.expr("inf").coerce_to("number"), ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr("-Infinity").coerce_to("number"), ReqlQueryLogicError, "Non-finite number: -inf")
    fails(conn, r.expr("1e999").coerce_to("number"), ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.expr("NaN").coerce_to("number"), ReqlQueryLogicError, "Non-finite number: nan")


def test_objects_and_arrays_of_pairs(conn: Any, r: RethinkDB) -> None:
    assert r.expr({"b": 2, "a": 1}).coerce_to("array").run(conn) == [["a", 1], ["b", 2]]
    assert r.expr({}).coerce_to("array").run(conn) == []
    assert r.expr([["a", 1], ["b", [2]]]).coerce_to("object").run(conn) == {"a": 1, "b": [2]}
    assert r.expr([]).coerce_to("object").run(conn) == {}
    fails(conn, r.expr([[]]).coerce_to("object"), ReqlQueryLogicError, "Expected array of size 2, but got size 0.")
    fails(
        conn,
        r.expr([["1", 2, 3]]).coerce_to("object"),
        ReqlQueryLogicError,
        "Expected array of size 2, but got size 3.",
    )
    fails(conn, r.expr([[1, 2]]).coerce_to("object"), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr([1]).coerce_to("object"), ReqlQueryLogicError, "Expected type ARRAY but found NUMBER.")
    fails(
        conn,
        r.expr([["a", 1], ["a", 2]]).coerce_to("object"),
        ReqlQueryLogicError,
        'Duplicate key "a" in coerced object.  (got 1 and 2 as values)',
    )


def test_identity_coercions(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).coerce_to("number").run(conn) == 1
    assert r.expr([1, 2]).coerce_to("array").run(conn) == [1, 2]
    assert r.expr({"a": 1}).coerce_to("object").run(conn) == {"a": 1}
    assert r.expr(None).coerce_to("null").run(conn) is None
    assert r.expr(False).coerce_to("bool").run(conn) is False
    assert r.expr([1]).coerce_to("Array").run(conn) == [1]  # type names are case-insensitive
    # DATUM is any datum, and a time is an object.
    assert r.expr({"a": 1}).coerce_to("datum").run(conn) == {"a": 1}
    assert r.expr("s").coerce_to("DATUM").run(conn) == "s"
    assert r.epoch_time(0).coerce_to("object").type_of().run(conn) == "PTYPE<TIME>"
    assert r.range(2).coerce_to("datum").run(conn) == [0, 1]
    assert r.range(2).coerce_to("stream").type_of().run(conn) == "STREAM"


def test_anything_to_bool(conn: Any, r: RethinkDB) -> None:
    values: list[Any] = [None, False, True, 0, "false", "", [], {}]
    assert r.expr(values).map(lambda v: v.coerce_to("bool")).run(conn) == [
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        True,
    ]
    assert r.range(3).coerce_to("bool").run(conn) is True


def test_sequences_to_arrays_and_objects(conn: Any, r: RethinkDB, table: str) -> None:
    assert r.range(3).coerce_to("array").run(conn) == [0, 1, 2]
    assert r.range(2).map(lambda i: [i.coerce_to("string"), i]).coerce_to("object").run(conn) == {"0": 0, "1": 1}
    r.table(table).insert([{"id": 2}, {"id": 1}]).run(conn)
    assert r.table(table).order_by("id").coerce_to("array").run(conn) == [{"id": 1}, {"id": 2}]
    fails(
        conn,
        r.range().coerce_to("ARRAY"),
        ReqlQueryLogicError,
        "Cannot use an infinite stream with an aggregation function (`reduce`, `count`, etc.) "
        "or coerce it to an array.",
    )


def test_binary_and_string(conn: Any, r: RethinkDB) -> None:
    assert r.binary(b"hello").coerce_to("string").run(conn) == "hello"
    assert r.expr("hi").coerce_to("binary").run(conn) == b"hi"
    assert r.expr("é").coerce_to("binary").run(conn) == "é".encode()
    assert r.binary(b"x").coerce_to("binary").run(conn) == b"x"
    fails(conn, r.binary(b"hello").coerce_to("number"), ReqlQueryLogicError, "Cannot coerce BINARY to NUMBER.")
    fails(conn, r.binary(b"hello").coerce_to("array"), ReqlQueryLogicError, "Cannot coerce BINARY to ARRAY.")
    fails(conn, r.expr(1).coerce_to("binary"), ReqlQueryLogicError, "Cannot coerce NUMBER to BINARY.")


def test_impossible_coercions(conn: Any, r: RethinkDB) -> None:
    cases = [
        (r.expr([1, 2]).coerce_to("number"), "Cannot coerce ARRAY to NUMBER."),
        (r.expr("abc").coerce_to("array"), "Cannot coerce STRING to ARRAY."),
        (r.expr("abc").coerce_to("object"), "Cannot coerce STRING to OBJECT."),
        (r.expr(1).coerce_to("array"), "Cannot coerce NUMBER to ARRAY."),
        (r.expr(1).coerce_to("object"), "Cannot coerce NUMBER to OBJECT."),
        (r.expr(True).coerce_to("number"), "Cannot coerce BOOL to NUMBER."),
        (r.expr(1).coerce_to("null"), "Cannot coerce NUMBER to NULL."),
        (r.expr({"a": 1}).coerce_to("number"), "Cannot coerce OBJECT to NUMBER."),
        (r.range(3).coerce_to("string"), "Cannot coerce STREAM to STRING."),
        (r.range(3).coerce_to("number"), "Cannot coerce STREAM to NUMBER."),
        (r.epoch_time(0).coerce_to("number"), "Cannot coerce OBJECT to NUMBER."),
    ]
    for query, message in cases:
        fails(conn, query, ReqlQueryLogicError, message)
    fails(conn, r.expr(1).coerce_to(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr(1).coerce_to("foo"), ReqlQueryLogicError, "Unknown Type: FOO")
    fails(conn, r.expr(1).coerce_to("sequence"), ReqlQueryLogicError, "Unknown Type: SEQUENCE")
    # Coercing null is about a missing value.
    fails(conn, r.expr(None).coerce_to("number"), ReqlNonExistenceError, "Cannot coerce NULL to NUMBER.")

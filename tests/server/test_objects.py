"""Object terms: bracket, get_field, pluck, without, merge, literal, has_fields, with_fields, keys, values, r.object."""

from __future__ import annotations

from typing import Any

from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlQueryLogicError


def test_fields_of_an_object(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": {"c": [1, 2]}})
    assert obj["a"].run(conn) == 1
    assert obj["b"]["c"].run(conn) == [1, 2]
    assert obj.get_field("b").run(conn) == {"c": [1, 2]}
    fails(conn, r.expr({"a": 1})["b"], ReqlNonExistenceError, 'No attribute `b` in object:\n{\n\t"a":\t1\n}')
    fails(
        conn,
        r.expr({"x": "y", "n": None}).get_field("z"),
        ReqlNonExistenceError,
        'No attribute `z` in object:\n{\n\t"n":\tnull,\n\t"x":\t"y"\n}',
    )
    fails(conn, r.expr(1)["a"], ReqlQueryLogicError, "Cannot perform bracket on a non-object non-sequence `1`.")
    fails(
        conn,
        r.expr(1).get_field("a"),
        ReqlQueryLogicError,
        "Cannot perform get_field on a non-object non-sequence `1`.",
    )


def test_bracket_on_sequences(conn: Any, r: RethinkDB) -> None:
    # A field of a sequence is that field of every row, skipping rows that lack it.
    assert r.expr([{"a": 1}, {"b": 2}, {"a": 3}])["a"].run(conn) == [1, 3]
    assert r.expr([{"a": 1}, {"b": 2}]).get_field("a").run(conn) == [1]
    assert list(r.range(3).map(lambda i: {"i": i})["i"].run(conn)) == [0, 1, 2]
    # Null rows are skipped like rows without the field; rows that are not objects are errors.
    assert r.expr([None, {"a": None}, {"a": 2}])["a"].run(conn) == [None, 2]
    fails(
        conn,
        r.expr([1, {"a": 2}]).get_field("a"),
        ReqlQueryLogicError,
        "Cannot perform get_field on a non-object non-sequence `1`.",
    )
    fails(
        conn,
        r.expr(["x", {"a": 2}])["a"],
        ReqlQueryLogicError,
        'Cannot perform bracket on a non-object non-sequence `"x"`.',
    )
    fails(conn, r.expr([[{"a": 2}]])["a"], ReqlQueryLogicError, "Cannot perform bracket on a sequence of sequences.")
    assert r.expr([10, 20, 30])[1].run(conn) == 20
    assert r.expr([10, 20, 30])[-1].run(conn) == 30
    # A number in brackets is nth: its errors, on every kind of sequence, and on values that are none.
    fails(conn, r.expr([10, 20, 30])[3], ReqlNonExistenceError, "Index out of bounds: 3")
    fails(conn, r.expr([])[1], ReqlNonExistenceError, "Index out of bounds: 1")
    fails(conn, r.expr([10, 20, 30])[-4], ReqlNonExistenceError, "Index out of bounds: -4")
    fails(conn, r.range(3)[3], ReqlNonExistenceError, "Index out of bounds: 3")
    fails(conn, r.expr([10, 20, 30])[1.5], ReqlQueryLogicError, "Number not an integer: 1.5")
    fails(conn, r.expr([10, 20, 30])[-(2**31) - 1], ReqlQueryLogicError, "Integer too large: -2147483649")
    fails(conn, r.expr(0)[0], ReqlQueryLogicError, "Cannot convert NUMBER to SEQUENCE")
    fails(conn, r.expr("abc")[0], ReqlQueryLogicError, "Cannot convert STRING to SEQUENCE")
    fails(conn, r.expr({"a": 1})[0], ReqlQueryLogicError, "Cannot convert OBJECT to SEQUENCE")
    fails(conn, r.expr(None)[0], ReqlNonExistenceError, "Cannot convert NULL to SEQUENCE")
    assert r.expr(None)[0].default("none").run(conn) == "none"
    fails(
        conn,
        r.expr({"a": 1})[[1, 2]],
        ReqlQueryLogicError,
        "Expected NUMBER or STRING as second argument to `bracket` but found ARRAY.",
    )


def test_pluck(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": 2, "c": {"d": 3, "e": 4}})
    assert obj.pluck("a", "c", "z").run(conn) == {"a": 1, "c": {"d": 3, "e": 4}}
    assert obj.pluck(["a", "b"]).run(conn) == {"a": 1, "b": 2}
    assert obj.pluck({"c": {"d": True}}).run(conn) == {"c": {"d": 3}}
    assert obj.pluck({"c": ["e"]}, "b").run(conn) == {"b": 2, "c": {"e": 4}}
    assert obj.pluck().run(conn) == {}
    assert r.expr([{"a": 1, "b": 2}, {"b": 3}]).pluck("a").run(conn) == [{"a": 1}, {}]
    fails(conn, r.expr(1).pluck("a"), ReqlQueryLogicError, "Cannot perform pluck on a non-object non-sequence `1`.")
    fails(
        conn,
        r.expr([1, {"a": 2}]).pluck("a"),
        ReqlQueryLogicError,
        "Cannot perform pluck on a non-object non-sequence `1`.",
    )
    fails(
        conn, r.expr([[{"a": 2}]]).pluck("a"), ReqlQueryLogicError, "Cannot perform pluck on a sequence of sequences."
    )
    fails(
        conn,
        r.expr([None]).pluck("a"),
        ReqlNonExistenceError,
        "Cannot perform pluck on a non-object non-sequence `null`.",
    )


def test_pseudo_types_are_not_plain_objects(conn: Any, r: RethinkDB) -> None:
    when = r.epoch_time(0)
    fails(conn, when.pluck("a"), ReqlQueryLogicError, "Cannot call `pluck` on objects of type `PTYPE<TIME>`.")
    fails(conn, when["epoch_time"], ReqlQueryLogicError, "Cannot call `bracket` on objects of type `PTYPE<TIME>`.")
    fails(
        conn,
        r.expr([when]).has_fields("a"),
        ReqlQueryLogicError,
        "Cannot call `has_fields` on objects of type `PTYPE<TIME>`.",
    )
    fails(conn, when.merge({"a": 1}), ReqlQueryLogicError, "Cannot call `merge` on objects of type `PTYPE<TIME>`.")
    fails(conn, r.expr({"a": 1}).merge(when), ReqlQueryLogicError, "Cannot merge objects of type `PTYPE<TIME>`.")
    fails(
        conn,
        r.expr({"a": 1}).merge(lambda row: r.binary(b"x")),
        ReqlQueryLogicError,
        "Cannot merge objects of type `PTYPE<BINARY>`.",
    )


def test_without(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": 2, "c": {"d": 3, "e": 4}})
    assert obj.without("a", "z").run(conn) == {"b": 2, "c": {"d": 3, "e": 4}}
    assert obj.without(["a", "b"]).run(conn) == {"c": {"d": 3, "e": 4}}
    assert obj.without({"c": {"d": True}}).run(conn) == {"a": 1, "b": 2, "c": {"e": 4}}
    assert r.expr([{"a": 1, "b": 2}, {"b": 3}]).without("b").run(conn) == [{"a": 1}, {}]
    fails(
        conn,
        r.expr([{"a": 1}, 2]).without("a"),
        ReqlQueryLogicError,
        "Cannot perform without on a non-object non-sequence `2`.",
    )
    fails(
        conn,
        r.expr("s").without("a"),
        ReqlQueryLogicError,
        'Cannot perform without on a non-object non-sequence `"s"`.',
    )


def test_merge(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": {"c": 2}})
    assert obj.merge({"b": {"d": 3}, "e": 4}).run(conn) == {"a": 1, "b": {"c": 2, "d": 3}, "e": 4}
    assert obj.merge({"b": 5}).run(conn) == {"a": 1, "b": 5}
    assert obj.merge({"a": 0}, {"f": 6}).run(conn) == {"a": 0, "b": {"c": 2}, "f": 6}
    assert r.expr({"a": [1, 2]}).merge({"a": [3]}).run(conn) == {"a": [3]}
    assert obj.merge(lambda row: {"a": row["a"].add(10)}).run(conn) == {"a": 11, "b": {"c": 2}}
    assert r.expr([{"a": 1}, {"a": 2}]).merge({"b": 0}).run(conn) == [{"a": 1, "b": 0}, {"a": 2, "b": 0}]
    fails(
        conn, r.expr(1).merge({"a": 1}), ReqlQueryLogicError, "Cannot perform merge on a non-object non-sequence `1`."
    )


def test_merge_with_literal(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": {"c": 2}})
    # A literal replaces the field instead of merging into it; an empty literal removes the field.
    assert obj.merge({"b": r.literal({"d": 3})}).run(conn) == {"a": 1, "b": {"d": 3}}
    assert obj.merge({"b": r.literal()}).run(conn) == {"a": 1}
    assert obj.merge({"b": {"c": r.literal()}}).run(conn) == {"a": 1, "b": {}}
    assert obj.merge({"z": r.literal(5)}).run(conn) == {"a": 1, "b": {"c": 2}, "z": 5}
    assert r.expr([{"a": {"b": 1}}]).merge(lambda row: {"a": r.literal({"c": 1})}).run(conn) == [{"a": {"c": 1}}]
    assert r.expr({"a": {"b": 1}}).merge(r.args([{"a": {"c": 1}}])).run(conn) == {"a": {"b": 1, "c": 1}}
    # What r.args splices into merge may hold literals too (RethinkDB's own arity tests ask this).
    assert r.expr({"a": {"b": 1}}).merge(r.args([{"a": r.literal({"c": 1})}])).run(conn) == {"a": {"c": 1}}
    assert r.expr({"a": 1, "b": 2}).merge(r.args([{"a": r.literal()}, {"c": 3}])).run(conn) == {"b": 2, "c": 3}


def test_stray_literals(conn: Any, r: RethinkDB) -> None:
    stray = (
        "Stray literal keyword found: literal is only legal inside of the object passed to merge or update and "
        "cannot nest inside other literals."
    )
    obj = r.expr({"a": 1})
    for query in (
        r.literal(1),
        r.literal(),
        r.expr({"a": r.literal(1)}),
        r.expr([r.literal(1)]),
        obj.merge(r.literal({"b": 2})),  # a literal may stand inside the object given to merge, not for all of it
        obj.merge({"b": r.literal(r.literal(2))}),
        obj.merge({"b": [r.literal(2)]}),
        obj.merge(r.args([{"b": [r.literal(2)]}])),
        r.expr([obj]).filter(r.args([{"a": r.literal(1)}])),  # filter takes literals, but not through r.args
    ):
        fails(conn, query, ReqlQueryLogicError, stray)


def test_has_fields_and_with_fields(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"a": 1, "b": None, "c": {"d": 1}})
    assert obj.has_fields("a").run(conn) is True
    assert obj.has_fields("b").run(conn) is False  # a null field counts as missing
    assert obj.has_fields("a", "z").run(conn) is False
    assert obj.has_fields({"c": {"d": True}}).run(conn) is True
    assert obj.has_fields({"c": "e"}).run(conn) is False
    rows = r.expr([{"a": 1, "b": 2}, {"b": 3}, {"a": None, "b": 4}, {"a": 5, "c": 6}])
    assert rows.has_fields("a").run(conn) == [{"a": 1, "b": 2}, {"a": 5, "c": 6}]
    assert rows.with_fields("a", "b").run(conn) == [{"a": 1, "b": 2}]
    assert rows.with_fields("b").run(conn) == [{"b": 2}, {"b": 3}, {"b": 4}]
    fails(
        conn,
        r.expr(1).has_fields("a"),
        ReqlQueryLogicError,
        "Cannot perform has_fields on a non-object non-sequence `1`.",
    )
    # A path is a string, an array of paths or an object of them; RethinkDB reads a pseudo-type as an object too,
    # so its first member that is no path (in key order) is the one it names.
    fails(
        conn,
        r.object().has_fields(r.time(2014, 7, 7, "Z")),
        ReqlQueryLogicError,
        "Invalid path argument `1404691200`.",
    )
    fails(conn, obj.has_fields({"a": False}), ReqlQueryLogicError, "Invalid path argument `false`.")
    fails(conn, obj.pluck(["a", 1.5]), ReqlQueryLogicError, "Invalid path argument `1.5`.")
    fails(conn, obj.without(None), ReqlQueryLogicError, "Invalid path argument `null`.")
    fails(conn, obj.with_fields(r.minval), ReqlQueryLogicError, "Cannot convert `r.minval` to JSON.")
    # Binary data prints compactly even in RethinkDB's pretty printer (its binary writer takes the plain one).
    fails(
        conn,
        obj.pluck(r.binary(b"a")),
        ReqlQueryLogicError,
        'Invalid path argument `{"$reql_type$":"BINARY","data":"YQ=="}`.',
    )
    # In a sequence, null rows are left out and other rows that are not objects are errors.
    assert r.expr([None, {"a": 1}]).has_fields("a").run(conn) == [{"a": 1}]
    fails(
        conn,
        r.expr([1, {"a": 2}]).has_fields("a"),
        ReqlQueryLogicError,
        "Cannot perform has_fields on a non-object non-sequence `1`.",
    )
    fails(
        conn,
        r.expr(1).with_fields(),
        ReqlQueryLogicError,
        "Cannot perform has_fields on a non-object non-sequence `1`.",
    )


def test_keys_and_values(conn: Any, r: RethinkDB) -> None:
    obj = r.expr({"b": 1, "a": 2, "c": [3]})
    assert obj.keys().run(conn) == ["a", "b", "c"]
    assert obj.values().run(conn) == [2, 1, [3]]
    assert r.expr({}).keys().run(conn) == []
    fails(conn, r.expr([1]).keys(), ReqlQueryLogicError, "Cannot call `keys` on objects of type `ARRAY`.")
    fails(conn, r.expr("s").values(), ReqlQueryLogicError, "Cannot call `values` on objects of type `STRING`.")
    fails(conn, r.expr(None).keys(), ReqlQueryLogicError, "Cannot call `keys` on objects of type `NULL`.")
    fails(conn, r.now().keys(), ReqlQueryLogicError, "Cannot call `keys` on objects of type `PTYPE<TIME>`.")


def test_object(conn: Any, r: RethinkDB) -> None:
    assert r.object().run(conn) == {}
    assert r.object("a", 1, "b", 2).run(conn) == {"a": 1, "b": 2}
    assert r.object(r.expr("c") + "d", 3).run(conn) == {"cd": 3}
    assert r.object("a", [1, {"b": None}]).run(conn) == {"a": [1, {"b": None}]}
    fails(
        conn, r.object("o", "d", "d"), ReqlQueryLogicError, "OBJECT expects an even number of arguments (but found 3)."
    )
    fails(conn, r.object(1, 1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.object("e", 4, "e", 5), ReqlQueryLogicError, 'Duplicate key "e" in object.  (got 4 and 5 as values)')

"""Control terms: r.do, r.branch, default, r.error, type_of, r.args, and literal arrays and objects."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import (
    ReqlNonExistenceError,
    ReqlQueryLogicError,
    ReqlResourceLimitError,
    ReqlServerCompileError,
    ReqlUserError,
)


def test_do(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).do(lambda v: v * 2).run(conn) == 2
    assert r.do(1, 2, lambda x, y: x + y).run(conn) == 3
    assert r.do(lambda: 1).run(conn) == 1
    assert r.do(1).run(conn) == 1  # a constant stands for a function returning it
    assert r.expr(5).do(r.row).run(conn) == 5
    assert r.expr({"a": 2}).do(lambda o: o["a"].add(1)).run(conn) == 3


def test_do_arity_and_errors(conn: Any, r: RethinkDB) -> None:
    fails(
        conn,
        r.do(1, 2, lambda x: x),
        ReqlQueryLogicError,
        "Expected function with 2 arguments but found function with 1 argument.",
    )
    fails(
        conn,
        r.do(1, 2, 3, lambda x, y: x + y),
        ReqlQueryLogicError,
        "Expected function with 3 arguments but found function with 2 arguments.",
    )
    fails(
        conn,
        r.expr(0).do(lambda a, b: a + b),
        ReqlQueryLogicError,
        "Expected function with 1 argument but found function with 2 arguments.",
    )
    fails(conn, r.expr("abc").do(lambda v: v + 3), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(
        conn, r.expr("abc").do(lambda v: v + "def") + 3, ReqlQueryLogicError, "Expected type STRING but found NUMBER."
    )


def test_functions_of_no_arguments_ignore_what_they_are_given(conn: Any, r: RethinkDB) -> None:
    # As in RethinkDB, where any caller may pass arguments to a function that names none.
    assert r.expr(1).do(lambda: 5).run(conn) == 5
    assert r.expr([1, 2]).reduce(lambda: 7).run(conn) == 7
    assert r.expr([1, 2]).fold(0, lambda: 3).run(conn) == 3
    assert r.expr([1, 2]).filter(lambda: False).run(conn) == []
    assert r.expr([1, 2]).inner_join([3], lambda: True).run(conn) == [{"left": 1, "right": 3}, {"left": 2, "right": 3}]
    # Any other function takes exactly its own count, wherever it is called.
    fails(
        conn,
        r.expr([1, 2]).filter(lambda a, b: True),
        ReqlQueryLogicError,
        "Expected function with 1 argument but found function with 2 arguments.",
    )
    fails(
        conn,
        r.expr([1, 2]).fold(0, lambda acc: acc),
        ReqlQueryLogicError,
        "The accumulator function passed to `fold` should expect 2 arguments",
    )


def test_argument_counts_are_checked_when_compiled_or_once_r_args_has_spliced(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1).eq(), ReqlServerCompileError, "Expected 2 or more arguments but found 1.")
    fails(conn, r.expr(1).lt(), ReqlServerCompileError, "Expected 2 or more arguments but found 1.")
    fails(conn, r.expr([]).append(), ReqlServerCompileError, "Expected 2 arguments but found 1.")
    # r.args makes the count known only at run time: the same check is then a logic error.
    fails(conn, r.add(r.args([])), ReqlQueryLogicError, "Expected 1 or more arguments but found 0.")
    fails(conn, r.expr(1).eq(r.args([])), ReqlQueryLogicError, "Expected 2 or more arguments but found 1.")
    fails(conn, r.expr([]).append(r.args([1, 2])), ReqlQueryLogicError, "Expected 2 arguments but found 3.")
    assert r.expr(1).eq(r.args([1, 1])).run(conn) is True


def test_branch(conn: Any, r: RethinkDB) -> None:
    assert r.branch(True, 1, 2).run(conn) == 1
    assert r.branch(False, 1, 2).run(conn) == 2
    # Every value but false and null is true.
    assert r.branch(1, "c", False).run(conn) == "c"
    assert r.branch(None, {}, []).run(conn) == []
    truthy: list[Any] = [[], {}, "a", 1.2, 0]
    assert [r.branch(v, 1, 2).run(conn) for v in truthy] == [1, 1, 1, 1, 1]
    assert r.branch(True, 1, True, 2, 3).run(conn) == 1
    assert r.branch(False, 1, True, 2, 3).run(conn) == 2
    assert r.branch(False, 1, False, 2, 3).run(conn) == 3
    assert r.expr(True).branch(1, 2).run(conn) == 1
    fails(
        conn,
        r.branch(True, 1, True, 2),
        ReqlQueryLogicError,
        "Cannot call `branch` term with an even number of arguments.",
    )


def test_branch_evaluates_only_the_chosen_arm(conn: Any, r: RethinkDB) -> None:
    assert r.branch(True, 1, r.error("a")).run(conn) == 1
    assert r.branch(False, r.error("a"), 2).run(conn) == 2
    assert r.branch(r.args([True, 1]), r.error("a")).run(conn) == 1
    fails(conn, r.branch(r.error("a"), 1, 2), ReqlUserError, "a")
    fails(conn, r.branch(r.args([True, 1, r.error("a")])), ReqlUserError, "a")


def test_error(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.error("Hello World"), ReqlUserError, "Hello World")
    fails(conn, r.error(5), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.error(), ReqlQueryLogicError, "Empty ERROR term outside a default block.")
    fails(conn, r.expr({"a": r.error("in an object")}), ReqlUserError, "in an object")
    fails(conn, r.expr([1, r.error("in an array")]), ReqlUserError, "in an array")


def test_default_values(conn: Any, r: RethinkDB) -> None:
    assert r.expr(1).default(2).run(conn) == 1
    assert r.expr(False).default(2).run(conn) is False
    assert r.expr(None).default(2).run(conn) == 2
    assert r.expr({"a": 1})["b"].default(2).run(conn) == 2
    assert r.expr({"a": {}})["a"]["b"].default("x").run(conn) == "x"
    assert (r.expr(None) + 5).default(2).run(conn) == 2
    assert (5 - r.expr(None)).default(2).run(conn) == 2
    # Only missing values are defaulted: wrong types are still errors.
    fails(conn, (r.expr("a") + 5).default(2), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, (5 - r.expr("a")).default(2), ReqlQueryLogicError, "Expected type NUMBER but found STRING.")
    fails(
        conn,
        r.expr(r.expr("a")["b"]).default(2),
        ReqlQueryLogicError,
        'Cannot perform bracket on a non-object non-sequence `"a"`.',
    )


def test_default_with_error_and_functions(conn: Any, r: RethinkDB) -> None:
    missing = 'No attribute `b` in object:\n{\n\t"a":\t1\n}'
    assert r.expr(1).default(r.error()).run(conn) == 1
    assert r.expr(None).default(r.error()).run(conn) is None
    fails(conn, r.expr({"a": 1})["b"].default(r.error()), ReqlNonExistenceError, missing)
    fails(conn, (r.expr(None) + 5).default(r.error()), ReqlNonExistenceError, "Expected type NUMBER but found NULL.")
    fails(conn, r.expr({"a": 1})["b"].default(r.error("custom")), ReqlUserError, "custom")
    # r.error() re-raises wherever it is evaluated for the default, not only as the default itself.
    fails(conn, r.expr({"a": 1})["b"].default(r.branch(True, r.error(), 1)), ReqlNonExistenceError, missing)
    fails(conn, r.expr({"a": 1})["b"].default(lambda e: r.error()), ReqlNonExistenceError, missing)
    # A function that raises the message it was given raises a user error, as any r.error(message) does.
    # (The lambda is needed: the driver would make `r.error` itself a function of no arguments.)
    fails(conn, r.expr({"a": 1})["b"].default(lambda e: r.error(e)), ReqlUserError, missing)  # noqa: PLW0108
    # A function receives the error message, or null when the value was null.
    assert r.expr(1).default(lambda e: e).run(conn) == 1
    assert r.expr(None).default(lambda e: e).run(conn) is None
    assert r.expr({"a": 1})["b"].default(lambda e: e).run(conn) == missing
    assert (r.expr(None) + 5).default(lambda e: e).run(conn) == "Expected type NUMBER but found NULL."


def test_type_of(conn: Any, r: RethinkDB, table: str) -> None:
    datums = [None, True, 1.5, "s", [1], {"a": 1}]
    assert r.expr(datums).map(lambda v: v.type_of()).run(conn) == [
        "NULL",
        "BOOL",
        "NUMBER",
        "STRING",
        "ARRAY",
        "OBJECT",
    ]
    assert r.type_of(None).run(conn) == "NULL"
    assert r.binary(b"x").type_of().run(conn) == "PTYPE<BINARY>"
    assert r.epoch_time(0).type_of().run(conn) == "PTYPE<TIME>"
    assert r.type_of(lambda x: x).run(conn) == "FUNCTION"
    assert r.db("test").type_of().run(conn) == "DB"
    assert r.range(3).type_of().run(conn) == "STREAM"
    assert r.table(table).type_of().run(conn) == "TABLE"
    assert r.table(table).get(1).type_of().run(conn) == "SELECTION<OBJECT>"
    assert r.table(table).filter({}).type_of().run(conn) == "SELECTION<STREAM>"
    assert r.minval.type_of().run(conn) == "MINVAL"
    assert r.maxval.type_of().run(conn) == "MAXVAL"
    fails(conn, r.maxval.add(1), ReqlQueryLogicError, "Expected type NUMBER but found MAXVAL.")


def test_args_splices_arguments(conn: Any, r: RethinkDB) -> None:
    assert r.add(r.args([1, 2, 3])).run(conn) == 6
    assert r.expr([1]).add(r.args([[2], [3]]), [4]).run(conn) == [1, 2, 3, 4]
    assert r.branch(r.args([False, 1, 2])).run(conn) == 2
    assert r.do(r.args([1, 2]), lambda a, b: a - b).run(conn) == -1


def test_literal_arrays_and_objects(conn: Any, r: RethinkDB) -> None:
    assert r.expr([1, r.expr(2).add(1), [r.expr("x")]]).run(conn) == [1, 3, ["x"]]
    assert r.expr({"a": r.expr(1).add(1), "b": {"c": [r.expr(True)]}}).run(conn) == {"a": 2, "b": {"c": [True]}}
    assert r.expr([1, 2]).run(conn, array_limit=2) == [1, 2]
    fails_limit = r.expr([1, 2, 3])
    with pytest.raises(ReqlResourceLimitError) as info:
        fails_limit.run(conn, array_limit=2)
    assert info.value.message == (
        "Array over size limit `2`.  To raise the number of allowed elements, modify the `array_limit` option to "
        "`.run` (not available in the Data Explorer), or use an index."
    )


def test_binary_pseudotypes_are_checked_and_padded(conn: Any, r: RethinkDB) -> None:
    def binary(data: Any) -> Any:
        return r.expr({"$reql_type$": "BINARY", "data": data})

    assert binary("aGk").run(conn) == b"hi"  # unpadded base64 is read, and sent back padded
    assert binary("aGk").count().run(conn) == 2
    fails(
        conn, r.expr({"$reql_type$": "BINARY"}), ReqlQueryLogicError, "Invalid binary pseudotype: lacking `data` key."
    )
    after = "Invalid base64 format, data found after padding character '='."
    fails(conn, binary("ABCDEFGH==AA"), ReqlQueryLogicError, after)
    fails(conn, binary("A^CDEFGH"), ReqlQueryLogicError, "Invalid base64 character found: '^'.")
    short = "Invalid base64 length: 1 character remaining, cannot decode a full byte."
    fails(conn, binary("ABCDE"), ReqlQueryLogicError, short)

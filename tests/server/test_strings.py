"""String terms: match (RE2 patterns), split, upcase, downcase, to_json_string and r.json."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError, ReqlResourceLimitError
from servers import ServerProcess


def found(conn: Any, r: RethinkDB, text: str, pattern: str) -> str | None:
    result = r.expr(text).match(pattern).run(conn)
    return None if result is None else result["str"]


def test_match_result_shape(conn: Any, r: RethinkDB) -> None:
    assert r.expr("abcdefg").match("a(b.e)|b(c.e)").run(conn) == {
        "str": "bcde",
        "start": 1,
        "end": 5,
        "groups": [None, {"str": "cde", "start": 2, "end": 5}],
    }
    assert r.expr("abcdefg").match("a(b.e)|B(c.e)").run(conn) is None
    assert r.expr("ab").match("(?P<first>a)(?P<second>x)?").run(conn)["groups"] == [
        {"str": "a", "start": 0, "end": 1},
        None,
    ]
    # Positions count UTF-8 bytes, as RE2 does.
    assert r.expr("こんにちは").match("に(ち)").run(conn) == {
        "str": "にち",
        "start": 6,
        "end": 12,
        "groups": [{"str": "ち", "start": 9, "end": 12}],
    }


def test_match_in_filters(conn: Any, r: RethinkDB, table: str) -> None:
    words = r.expr(["aba", "aca", "ada", "aea"])
    assert words.filter(lambda w: w.match("a(.)a")["groups"][0]["str"].match("[cd]")).run(conn) == ["aca", "ada"]
    r.table(table).insert([{"id": 0, "a": "abc"}, {"id": 1, "a": "ab"}, {"id": 2, "a": "bc"}]).run(conn)
    rows = r.table(table).filter(lambda row: row["a"].match("ab$")).run(conn)
    assert [row["id"] for row in rows] == [1]


def test_match_flags(conn: Any, r: RethinkDB) -> None:
    assert found(conn, r, "abcdefg", "(?i)a(b.e)|B(c.e)") == "bcde"
    assert found(conn, r, "aBc", "a(?i:b)c") == "aBc"
    assert found(conn, r, "aBC", "a(?i:b)c") is None
    # A flag in mid-pattern holds to the end of its group, across `|`.
    assert found(conn, r, "C", "a(?i)b|c") == "C"
    assert found(conn, r, "a\nb", "^b") is None
    assert found(conn, r, "a\nb", "(?m)^b") == "b"
    assert found(conn, r, "a\nc", "a.c") is None
    assert found(conn, r, "a\nc", "(?s)a.c") == "a\nc"
    assert found(conn, r, "aaa", "(?U)a+") == "a"
    assert found(conn, r, "aaa", "(?U)a+?") == "aaa"
    assert found(conn, r, "A", "(?i)[^a]") is None


def test_match_re2_syntax(conn: Any, r: RethinkDB) -> None:
    # $ is the end of the text only, not before a final newline.
    assert found(conn, r, "ab\n", "ab$") is None
    assert found(conn, r, "ab\n", "(?m)ab$") == "ab"
    assert found(conn, r, "ab", "ab\\z") == "ab"
    # Perl classes and \b are ASCII.
    assert found(conn, r, "\u0661\u066234", "\\d+") == "34"
    assert found(conn, r, "éab_1", "\\w+") == "ab_1"
    assert found(conn, r, "é ab", "\\bab") == "ab"
    assert found(conn, r, "a1b2", "[[:alpha:]]+") == "a"
    assert found(conn, r, "ab12", "[[:^alpha:]]+") == "12"
    # Unicode general categories.
    assert found(conn, r, "ab\u0661\u06623", "\\pN+") == "\u0661\u06623"
    assert found(conn, r, "abCD", "\\p{Lu}+") == "CD"
    assert found(conn, r, "ab12", "\\PL+") == "12"
    assert found(conn, r, "ab12", "\\p{^L}+") == "12"
    assert found(conn, r, "aé1-", "[\\pL\\d]+") == "aé1"
    # Octal, \x{...} and \Q...\E escapes; {,n} is literal text.
    assert found(conn, r, "AB", "\\101\\x{42}") == "AB"
    assert found(conn, r, "a.bb", "\\Qa.b\\E+") == "a.bb"
    assert found(conn, r, "a{,2}", "a{,2}") == "a{,2}"
    assert found(conn, r, "x", "(?P<1a>x)") == "x"
    assert found(conn, r, "xxx", "x{2}?") == "xx"
    # Unicode scripts.
    assert found(conn, r, "ab\u03b1\u03b2\u03b3", "\\p{Greek}+") == "\u03b1\u03b2\u03b3"
    # Where a group cannot open, `(?<` and `(?P<` are plain text.
    assert found(conn, r, "(?<n>", "[(?<]+") == "(?<"
    assert found(conn, r, "(?<n>)", "\\Q(?<n>\\E") == "(?<n>"
    assert found(conn, r, "(?P<é>", "\\Q(?P<é>") == "(?P<é>"
    assert found(conn, r, "(<", "\\(?<") == "(<"


def test_match_runs_in_linear_time(server: ServerProcess, conn: Any, r: RethinkDB) -> None:
    # A backtracking matcher would take 2**100 steps here; RE2 takes one pass.
    assert r.expr("a" * 100 + "!").match("(a+)+$").run(conn) is None
    assert r.expr("a" * 30 + "!").match("(a+)+$").run(conn) is None
    assert r.expr("a" * 1_000_000 + "!").match("(a|aa)+$").run(conn) is None
    other = r.connect(server.host, server.port)
    try:
        assert r.expr("abc").match("b").run(other) == {"str": "b", "start": 1, "end": 2, "groups": []}
    finally:
        other.close()


def test_match_positions_count_bytes(conn: Any, r: RethinkDB) -> None:
    assert r.expr("éa").match("a").run(conn) == {"str": "a", "start": 2, "end": 3, "groups": []}
    assert r.expr("x😀y").match("(.)(y)").run(conn)["groups"] == [
        {"str": "😀", "start": 1, "end": 5},
        {"str": "y", "start": 5, "end": 6},
    ]
    # \C matches one byte, which may be half a character: that half reads as U+FFFD.
    assert r.expr("é").match("\\C").run(conn) == {"str": "\ufffd", "start": 0, "end": 1, "groups": []}


@pytest.mark.parametrize(
    ("pattern", "portion", "error"),
    [
        ("ab\\9", "\\9", "invalid escape sequence: \\9"),
        ("\\1", "\\1", "invalid escape sequence: \\1"),
        ("\\Z", "\\Z", "invalid escape sequence: \\Z"),
        ("\\xZ1", "\\xZ1", "invalid escape sequence: \\xZ1"),
        ("\\", "", "trailing \\"),
        ("a**", "**", "bad repetition operator: **"),
        ("a++", "++", "bad repetition operator: ++"),
        ("a{2}{3}", "{2}{3}", "bad repetition operator: {2}{3}"),
        ("*a", "*", "no argument for repetition operator: *"),
        ("a|?", "?", "no argument for repetition operator: ?"),
        ("a{1001}", "{1001}", "invalid repetition size: {1001}"),
        ("a{2,1}", "{2,1}", "invalid repetition size: {2,1}"),
        ("(?=a)", "(?=", "invalid perl operator: (?="),
        ("(?<n>a)", "(?<", "invalid perl operator: (?<"),
        ("(?-)", "(?-)", "invalid perl operator: (?-)"),
        ("(?P<n!>a)", "(?P<n!>", "invalid named capture group: (?P<n!>"),
        ("(?P<n", "(?P<n", "invalid named capture group: (?P<n"),
        ("(a", "(a", "missing ): (a"),
        ("a)", "a)", "missing ): a)"),
        ("x[a", "[a", "missing ]: [a"),
        ("[z-a]", "z-a", "invalid character class range: z-a"),
        ("[[:foo:]]", "[:foo:]", "invalid character class range: [:foo:]"),
        ("\\p{Foo}", "\\p{Foo}", "invalid character class range: \\p{Foo}"),
        ("(a{100}){100}", "{100}", "invalid repetition size: {100}"),
        ("\\pL{1000}", "", "pattern too large - compile failed"),
        # RethinkDB's RE2 (of 2015) has no look-behind, no `(?<name>...)` and only ASCII capture names.
        ("(?<=a)b", "(?<", "invalid perl operator: (?<"),
        ("(?<!a)b", "(?<", "invalid perl operator: (?<"),
        ("(?!a)", "(?!", "invalid perl operator: (?!"),
        ("(a)\\1", "\\1", "invalid escape sequence: \\1"),
        ("(?P<n>a)(?P=n)", "(?P", "invalid perl operator: (?P"),
        ("[(?<]*(?<n>a)", "(?<", "invalid perl operator: (?<"),
        ("(?P<é>a)", "(?P<é>", "invalid named capture group: (?P<é>"),
        ("(?P<é>a)(?<n>b)", "(?P<é>", "invalid named capture group: (?P<é>"),
        ("(?P<a>a)(?P<é", "(?P<é", "invalid named capture group: (?P<é"),
        ("a**(?<n>b)", "**", "bad repetition operator: **"),
    ],
)
def test_match_refuses_what_re2_refuses(conn: Any, r: RethinkDB, pattern: str, portion: str, error: str) -> None:
    message = f"Error in regexp `{pattern}` (portion `{portion}`): {error}"
    fails(conn, r.expr("").match(pattern), ReqlQueryLogicError, message)


def test_match_type_errors(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.expr(1).match("a"), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr("a").match(None), ReqlNonExistenceError, "Expected type STRING but found NULL.")


def test_split(conn: Any, r: RethinkDB) -> None:
    text = r.expr("aaaa bbbb  cccc ")
    assert text.split().run(conn) == ["aaaa", "bbbb", "cccc"]
    assert text.split(None).run(conn) == ["aaaa", "bbbb", "cccc"]
    assert text.split(" ").run(conn) == ["aaaa", "bbbb", "", "cccc", ""]
    assert text.split("bb").run(conn) == ["aaaa ", "", "  cccc "]
    assert text.split("", 5).run(conn) == ["a", "a", "a", "a", " ", "bbbb  cccc "]
    assert text.split(None, 1).run(conn) == ["aaaa", "bbbb  cccc "]
    assert text.split(" ", 2).run(conn) == ["aaaa", "bbbb", " cccc "]
    assert text.split("b", -1).run(conn) == ["aaaa ", "", "", "", "  cccc "]
    assert r.expr("a  b  ").split(None, 2).run(conn) == ["a", "b"]
    assert r.expr("").split().run(conn) == []
    assert r.expr("").split(" ").run(conn) == [""]
    assert r.expr("").split("").run(conn) == []
    assert r.expr("  ").split(" ").run(conn) == ["", "", ""]


def test_split_unicode(conn: Any, r: RethinkDB) -> None:
    # Characters keep their combining marks; white space is Unicode's.
    assert r.expr("fe\u0301oo").split("").run(conn) == ["f", "e\u0301", "o", "o"]
    text = "foo\u00a0bar\u2001baz\u2060quux\u2028fred\u2029wilma\u0085betty\u200b"
    assert r.expr(text).split().run(conn) == ["foo", "bar", "baz\u2060quux", "fred", "wilma", "betty\u200b"]


def test_split_errors(conn: Any, r: RethinkDB) -> None:
    fails(
        conn,
        r.expr("a b").split(" ", -2),
        ReqlQueryLogicError,
        "Error: `split` size argument must be in range [-1, 99999].",
    )
    fails(conn, r.expr("a b").split(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr(1).split(), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.expr("a b").split(" ", 1.5), ReqlQueryLogicError, "Number not an integer: 1.5")
    with pytest.raises(ReqlError, match="Array over size limit `2`"):
        r.expr("a b c").split(" ").run(conn, array_limit=2)


def test_upcase_downcase(conn: Any, r: RethinkDB) -> None:
    assert r.expr("abc-dEf-GHJ").upcase().run(conn) == "ABC-DEF-GHJ"
    assert r.expr("abc-dEf-GHJ").downcase().run(conn) == "abc-def-ghj"
    # Only ASCII letters change case.
    assert r.expr("éa").upcase().run(conn) == "éA"
    assert r.expr("ÉA").downcase().run(conn) == "Éa"
    fails(conn, r.expr(1).upcase(), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")


def test_to_json_string(conn: Any, r: RethinkDB) -> None:
    assert r.expr({"foo": 4, "bar": [1, None, True]}).to_json_string().run(conn) == '{"bar":[1,null,true],"foo":4}'
    assert r.expr([1.5, 1e21, 1e20, 1e-7, 0.001, -0.0]).to_json().run(conn) == (
        "[1.5,1e21,100000000000000000000.0,1e-7,0.001,-0.0]"
    )
    assert r.expr('a"\\/\x01\né').to_json_string().run(conn) == '"a\\"\\\\/\\u0001\\né"'
    assert r.time(2014, 9, 11, "Z").to_json_string().run(conn) == (
        '{"$reql_type$":"TIME","epoch_time":1410393600,"timezone":"+00:00"}'
    )
    assert r.expr("foo").coerce_to("binary").to_json_string().run(conn) == '{"$reql_type$":"BINARY","data":"Zm9v"}'
    fails(conn, r.minval.to_json_string(), ReqlQueryLogicError, "Cannot convert `r.minval` to JSON.")
    fails(conn, r.expr([r.maxval]).to_json_string(), ReqlQueryLogicError, "Cannot convert `r.maxval` to JSON.")
    fails(conn, r.minval.coerce_to("string"), ReqlQueryLogicError, "Cannot convert `r.minval` to JSON.")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e100, "1e100"),
        (-1.5e-7, "-1.5e-7"),
        (1e-6, "0.000001"),
        (123456789012345680000.0, "123456789012345680000.0"),
        (2**60, "1152921504606847000.0"),  # every number is a double: past 2^53 it is written as one
        (2.0**53, "9007199254740992"),
        (1 / 3, "0.3333333333333333"),
        # RethinkDB 2.4's rapidjson skips its last rounding step for these: not the shortest digits.
        (0.30000000000000004, "0.30000000000000007"),
        (-36.973846435546875, "-36.973846435546878"),
        (1.00000000000165e21, "1.0000000000016501e21"),
        (1.21e22, "1.2099999999999999e22"),  # Grisu2 is not always shortest
    ],
)
def test_to_json_string_writes_numbers_as_rethinkdb(conn: Any, r: RethinkDB, value: float, text: str) -> None:
    assert r.expr(value).to_json_string().run(conn) == text
    assert r.expr({"n": [value]}).coerce_to("string").run(conn) == f'{{"n":[{text}]}}'


def test_to_json_string_leaves_numbers_inside_strings_alone(conn: Any, r: RethinkDB) -> None:
    value = {"1e+100": '2.50 "1e+100" \\', "k": ["-0.0", 1e100, '\\"', 12345678901234567890]}
    assert r.expr(value).to_json_string().run(conn) == (
        '{"1e+100":"2.50 \\"1e+100\\" \\\\","k":["-0.0",1e100,"\\\\\\"",12345678901234567000.0]}'
    )


def test_json(conn: Any, r: RethinkDB) -> None:
    assert r.json("[1,2,3]").run(conn) == [1, 2, 3]
    assert r.json(' {"a": {"b": [true, false, null]}} ').run(conn) == {"a": {"b": [True, False, None]}}
    assert r.json('"foo\\u00e9\\ud83d\\ude00\\u0000"').run(conn) == "fooé😀\x00"
    assert r.json("[1e2, -0.5, 1.5E+2, -0, -0.0, 1e-400]").to_json_string().run(conn) == "[100,-0.5,150,0,-0.0,0]"
    assert r.json('{"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}').type_of().run(conn) == "PTYPE<TIME>"
    # Numbers are read as the nearest double; past 2^53 integers lose their low digits.
    assert r.json("[0.30000000000000004, 1.5e300, 12345678901234567890]").run(conn) == [
        0.30000000000000004,
        1.5e300,
        12345678901234567168,
    ]
    assert r.json("[" + "1" + "0" * 308 + ", 0.001e-330]").run(conn) == [1e308, 0]


def test_json_nests_deeply(conn: Any, r: RethinkDB) -> None:
    assert r.json("[" * 500 + "]" * 500).count().run(conn) == 1
    assert r.json('{"a":' * 500 + "1" + "}" * 500).keys().run(conn) == ["a"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1,2", "Missing a comma or ']' after an array element."),
        ("", "The document is empty."),
        ("[1,]", "Invalid value."),
        ("nul", "Invalid value."),
        ("NaN", "Invalid value."),
        ("-Infinity", "Invalid value."),
        ('{"a" 1}', "Missing a colon after a name of object member."),
        ('{"a":1', "Missing a comma or '}' after an object member."),
        ("{1:2}", "Missing a name for object member."),
        ('{"a":1,}', "Missing a name for object member."),
        ("1.", "Miss fraction part in number."),
        ("1e", "Miss exponent in number."),
        ("1e309", "Number too big to be stored in double."),
        # RethinkDB's rapidjson refuses an exponent past 308 whatever comes before it...
        ("0.001e309", "Number too big to be stored in double."),
        ("[1, 0.001e309, x]", "Number too big to be stored in double."),
        ("[1, x, 0.001e309]", "Invalid value."),
        ('"x 1e400', "Missing a closing quotation mark in string."),
        # ...and an integral part that reaches DBL_MAX / 10 with digits still to come.
        ("2" + "0" * 308, "Number too big to be stored in double."),
        ("-" + "9" * 309 + ".5", "Number too big to be stored in double."),
        ('"\\x"', "Invalid escape character in string."),
        ('"a\x01"', "Invalid escape character in string."),
        ('"\\u12"', "Incorrect hex digit after \\u escape in string."),
        ('"\\ud800"', "The surrogate pair in string is invalid."),
        ('"\\udc00"', "The surrogate pair in string is invalid."),
        ('"abc', "Missing a closing quotation mark in string."),
        ("1 2", "The document root must not follow by other values."),
        ("01", "The document root must not follow by other values."),
    ],
)
def test_json_errors(conn: Any, r: RethinkDB, text: str, error: str) -> None:
    shown = text if len(text.encode()) <= 40 else text[:37] + "..."
    fails(conn, r.json(text), ReqlQueryLogicError, f'Failed to parse "{shown}" as JSON: {error}')


def test_json_error_shows_the_start_of_long_text(conn: Any, r: RethinkDB) -> None:
    text = "[" + "1," * 30
    fails(
        conn,
        r.json(text),
        ReqlQueryLogicError,
        f'Failed to parse "{text[:37]}..." as JSON: Invalid value.',
    )
    fails(conn, r.json(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")
    fails(conn, r.json("[1]\x00"), ReqlQueryLogicError, "Encountered unescaped null byte in JSON string.")


def test_json_builds_objects_as_rethinkdb(conn: Any, r: RethinkDB) -> None:
    fails(conn, r.json('{"a":1,"a":2}'), ReqlQueryLogicError, 'Duplicate key "a" in JSON.')
    fails(conn, r.json('[{"b\\n":1,"b\\n":2}]'), ReqlQueryLogicError, 'Duplicate key "b\\n" in JSON.')
    fails(conn, r.json('{"$reql_type$":"FOO"}'), ReqlQueryLogicError, "Unknown $reql_type$ `PTYPE<FOO>`.")
    fails(conn, r.expr({"$reql_type$": "FOO"}), ReqlQueryLogicError, "Unknown $reql_type$ `PTYPE<FOO>`.")
    fails(
        conn,
        r.json('{"$reql_type$":1}'),
        ReqlQueryLogicError,
        'Error: Field `$reql_type$` must be a string (got `1` of type NUMBER):\n{\n\t"$reql_type$":\t1\n}',
    )
    fails(conn, r.json("[2e308]"), ReqlQueryLogicError, "Non-finite number: inf")
    fails(conn, r.json("-1.8e308"), ReqlQueryLogicError, "Non-finite number: -inf")
    # The whole text is parsed before the datum is built; then the first error in the document wins.
    fails(
        conn,
        r.json('{"a":1,"a":2} x'),
        ReqlQueryLogicError,
        'Failed to parse "{"a":1,"a":2} x" as JSON: The document root must not follow by other values.',
    )
    fails(conn, r.json('[{"a":1,"a":2},{"$reql_type$":"FOO"}]'), ReqlQueryLogicError, 'Duplicate key "a" in JSON.')
    fails(conn, r.json('{"a":1,"a":{"$reql_type$":"FOO"}}'), ReqlQueryLogicError, "Unknown $reql_type$ `PTYPE<FOO>`.")
    fails(conn, r.json('{"a":1,"a":2,"b":{"$reql_type$":"FOO"}}'), ReqlQueryLogicError, 'Duplicate key "a" in JSON.')
    fails(
        conn, r.json('[{"$reql_type$":"FOO"},{"a":1,"a":2}]'), ReqlQueryLogicError, "Unknown $reql_type$ `PTYPE<FOO>`."
    )
    fails(
        conn,
        r.json('[{"a":1,"a":2},1e999]'),
        ReqlQueryLogicError,
        'Failed to parse "[{"a":1,"a":2},1e999]" as JSON: Number too big to be stored in double.',
    )
    fails(conn, r.json('[{"a":1,"a":2},2e308]'), ReqlQueryLogicError, 'Duplicate key "a" in JSON.')
    fails(conn, r.json('[2e308,{"a":1,"a":2}]'), ReqlQueryLogicError, "Non-finite number: inf")


def test_json_arrays_keep_to_the_array_limit(conn: Any, r: RethinkDB) -> None:
    assert r.json("[1,[2,3]]").run(conn, array_limit=2) == [1, [2, 3]]
    limit = (
        "Array over size limit `2`.  To raise the number of allowed elements, modify the `array_limit` option to "
        "`.run` (not available in the Data Explorer), or use an index."
    )
    fails(conn, r.json("[1,[2,3,4]]"), ReqlResourceLimitError, limit, array_limit=2)
    fails(conn, r.json('[[1,2,3],{"a":1,"a":2}]'), ReqlResourceLimitError, limit, array_limit=2)
    fails(conn, r.json('[{"a":1,"a":2},[1,2,3]]'), ReqlQueryLogicError, 'Duplicate key "a" in JSON.', array_limit=2)


def test_json_literal_merges_as_r_literal(conn: Any, r: RethinkDB, table: str) -> None:
    # RethinkDB 2.4 lets r.json read a literal, for merge and update to replace (or, without value, drop) a field.
    nested = {"a": {"b": 1, "c": 2}, "d": 3}
    replace = r.json('{"a":{"$reql_type$":"LITERAL","value":{"b":2}}}')
    drop = r.json('{"d":{"$reql_type$":"LITERAL"}}')
    assert r.expr(nested).merge(replace).run(conn) == {"a": {"b": 2}, "d": 3}
    assert r.expr(nested).merge(drop).run(conn) == {"a": {"b": 1, "c": 2}}
    assert r.expr(nested).merge({"a": {"c": 5}}).merge(replace).run(conn) == {"a": {"b": 2}, "d": 3}
    r.table(table).insert({"id": 1, **nested}).run(conn)
    assert r.table(table).get(1).update(replace).run(conn)["replaced"] == 1
    assert r.table(table).get(1).run(conn) == {"id": 1, "a": {"b": 2}, "d": 3}
    assert r.json('{"$reql_type$":"LITERAL","value":1}').type_of().run(conn) == "PTYPE<LITERAL>"
    fails(
        conn,
        r.json('{"a":{"$reql_type$":"LITERAL","value":1,"b":2}}'),
        ReqlQueryLogicError,
        "Invalid literal term with illegal key `b`.",
    )
    fails(conn, r.expr({"a": 1}).merge(r.json('{"$reql_type$":"LITERAL","value":1}')), ReqlQueryLogicError, STRAY)
    fails(conn, r.expr({"$reql_type$": "LITERAL", "value": 1}), ReqlQueryLogicError, STRAY)


STRAY = (
    "Stray literal keyword found: literal is only legal inside of the object passed to merge or update and cannot "
    "nest inside other literals."
)

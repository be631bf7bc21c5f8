"""String terms: match (RE2 patterns), split, upcase, downcase, to_json_string and r.json."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlError, ReqlNonExistenceError, ReqlQueryLogicError
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


def test_json(conn: Any, r: RethinkDB) -> None:
    assert r.json("[1,2,3]").run(conn) == [1, 2, 3]
    assert r.json(' {"a": {"b": [true, false, null]}} ').run(conn) == {"a": {"b": [True, False, None]}}
    assert r.json('"foo\\u00e9\\ud83d\\ude00"').run(conn) == "fooé😀"
    assert r.json("[1e2, -0.5, 1.5E+2]").run(conn) == [100, -0.5, 150]
    assert r.json('{"$reql_type$": "TIME", "epoch_time": 0, "timezone": "+00:00"}').type_of().run(conn) == "PTYPE<TIME>"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1,2", "Missing a comma or ']' after an array element."),
        ("", "The document is empty."),
        ("[1,]", "Invalid value."),
        ("nul", "Invalid value."),
        ('{"a" 1}', "Missing a colon after a name of object member."),
        ('{"a":1', "Missing a comma or '}' after an object member."),
        ("{1:2}", "Missing a name for object member."),
        ("1.", "Miss fraction part in number."),
        ("1e", "Miss exponent in number."),
        ("1e309", "Number too big to be stored in double."),
        ('"\\x"', "Invalid escape character in string."),
        ('"\\u12"', "Incorrect hex digit after \\u escape in string."),
        ('"\\ud800"', "The surrogate pair in string is invalid."),
        ('"abc', "Missing a closing quotation mark in string."),
        ("1 2", "The document root must not be followed by other values."),
    ],
)
def test_json_errors(conn: Any, r: RethinkDB, text: str, error: str) -> None:
    fails(conn, r.json(text), ReqlQueryLogicError, f'Failed to parse "{text}" as JSON: {error}')


def test_json_error_shows_the_start_of_long_text(conn: Any, r: RethinkDB) -> None:
    text = "[" + "1," * 30
    fails(
        conn,
        r.json(text),
        ReqlQueryLogicError,
        f'Failed to parse "{text[:37]}..." as JSON: Invalid value.',
    )
    fails(conn, r.json('{"a":1,"a":2}'), ReqlQueryLogicError, "Duplicate key `a` in JSON.")
    fails(conn, r.json(1), ReqlQueryLogicError, "Expected type STRING but found NUMBER.")

"""Strings: match, split, upcase, downcase, to_json_string and r.json.

RethinkDB matches with RE2, as `regexp` compiles it; JSON text is read by `json_reader` and written by `json_writer`,
as RethinkDB's rapidjson does.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from typing import Any

import re2

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import json_reader, json_writer
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.regexp import compile_regexp
from rethink_widgets.server.evaluation.terms import Term, operation

# ---------------------------------------------------------------- match


@operation("MATCH", 2)
def match(ctx: Context, term: Term) -> dict[str, Any] | None:
    # RE2 matches UTF-8 bytes, and RethinkDB reports positions in bytes rather than in characters.
    text = ctx.string(term.args[0]).encode("utf-8", "surrogatepass")
    found = compile_regexp(ctx.string(term.args[1])).search(text)
    if found is None:
        return None
    groups = [None if found.start(i) < 0 else _span(found, i) for i in range(1, found.re.groups + 1)]
    return {**_span(found, 0), "groups": groups}


def _span(found: re2._Match, group: int) -> dict[str, Any]:
    return {"str": _decoded(found.group(group)), "start": found.start(group), "end": found.end(group)}


def _decoded(matched: bytes) -> str:
    try:
        return matched.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        # `\C` matches any one byte, so a match may cut a character in two.
        return matched.decode("utf-8", "replace")


# ---------------------------------------------------------------- split, upcase, downcase

# Unicode's White_Space property, which RethinkDB splits on.
_WHITESPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


@operation("SPLIT", (1, 3))
def split(ctx: Context, term: Term) -> list[str]:
    text = ctx.string(term.args[0])
    separator = ctx.datum(term.args[1]) if len(term.args) > 1 else None
    if separator is not None and not isinstance(separator, str):
        separator = ctx.string(term.args[1])  # raises RethinkDB's type error
    limit = -1
    if len(term.args) > 2:
        limit = ctx.integer(term.args[2])
        if not -1 <= limit <= ctx.array_limit - 1:
            raise ReqlQueryLogicError(f"Error: `split` size argument must be in range [-1, {ctx.array_limit - 1}].")
    return ctx.check_array(_split(text, separator, limit if limit >= 0 else sys.maxsize))


def _split(text: str, separator: str | None, limit: int) -> list[str]:
    out: list[str] = []
    pos, end = 0, len(text)
    while True:
        if len(out) == limit:
            rest = text[pos:] if separator is not None else text[_skip(text, pos, _is_space) :]
            if rest or separator:
                out.append(rest)
            return out
        if separator == "":
            # Each character with the combining marks that follow it.
            nxt = _skip(text, pos + 1, _is_combining) if pos < end else end
            if nxt != pos:
                out.append(text[pos:nxt])
            pos = nxt
            if pos == end:
                return out
        elif separator is not None:
            found = text.find(separator, pos)
            if found < 0:
                out.append(text[pos:])
                return out
            out.append(text[pos:found])
            pos = found + len(separator)
        else:
            space = _skip(text, pos, lambda c: not _is_space(c))
            if space == end:
                if pos < end:
                    out.append(text[pos:])
                return out
            if space != pos:
                out.append(text[pos:space])
            pos = space + 1


def _is_space(c: str) -> bool:
    return c in _WHITESPACE


def _is_combining(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


def _skip(text: str, pos: int, while_true: Callable[[str], bool]) -> int:
    """The first position at or after `pos` whose character fails `while_true` (or the end)."""
    while pos < len(text) and while_true(text[pos]):
        pos += 1
    return pos


# RethinkDB changes case with C's toupper and tolower: ASCII letters only.
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@operation("UPCASE", 1)
def upcase(ctx: Context, term: Term) -> str:
    return ctx.string(term.args[0]).translate(_UPPER)


@operation("DOWNCASE", 1)
def downcase(ctx: Context, term: Term) -> str:
    return ctx.string(term.args[0]).translate(_LOWER)


# ---------------------------------------------------------------- JSON text


@operation("TO_JSON_STRING", 1)
def to_json_string(ctx: Context, term: Term) -> str:
    return json_writer.write(ctx.datum(term.args[0]))


@operation("JSON", 1)
def json_(ctx: Context, term: Term) -> Any:
    text = ctx.string(term.args[0])
    if "\0" in text:
        raise ReqlQueryLogicError("Encountered unescaped null byte in JSON string.")
    try:
        return json_reader.read(ctx, text)
    except json_reader.JsonSyntaxError as error:
        shown = text if len(text.encode("utf-8")) <= 40 else _first_bytes(text, 37) + "..."
        raise ReqlQueryLogicError(f'Failed to parse "{shown}" as JSON: {error}') from None


def _first_bytes(text: str, count: int) -> str:
    return text.encode("utf-8")[:count].decode("utf-8", errors="ignore")

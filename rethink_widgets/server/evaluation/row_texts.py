"""Stored documents as reply text, without building the documents first: a table stores each as JSON already.

A reply writes a document as `wire.dumps(datums.to_wire(doc))`. A row's stored text holds the same values. Most rows
(storage/texts.py's `row_text`) were written by orjson, keys sorted, and marked so (`REPLY_READY`): that text is
the reply's. Others (written by Python's json module, or by an earlier version, keys in the document's own order)
orjson reads and writes back with the keys sorted, several times faster than building the document and encoding it.
The result is the same text, except where the ways part, which the checks below see and leave to the usual one:
- an integral double within 2^53 (stored as "5.0"), which `to_wire` makes an integer; only such a number (or a
  string holding ".0") puts ".0" before a character other than a digit;
- an integer beyond 64 bits, which orjson reads as a double (written with an exponent, "1.2e+29");
- a double below 1e-4, which orjson writes otherwise than `wire.dumps` does (see there).
A page of rows (a scan reads them so) is looked at as one text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Protocol

import orjson
import re2

from rethink_widgets.server import wire
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.storage import REPLY_READY, ROW_SEPARATOR, TextPage

# Numbers only: a number begins after one of `:,[` (the texts are compact), so text within strings, such as a UUID's
# "4e-" or a version's "1.0.2", seldom sends a document the slow way (and then only costs time).
_INTEGRAL_DOUBLE = re.compile(r"[:,\[]-?[0-9]+\.0(?![0-9])")
# After orjson: a number with an exponent (a big one read as a double, or a small one) or below 1e-4.
_NUMBER_TO_REDO = re.compile(r"[:,\[]-?[0-9][0-9.]*e[-+]|[:,\[]-?0\.0000")
# The same for a page's rows at once, in RE2: its time is linear in the text, where Python's tries the pattern at
# every character (fine for a row, slow for a page).
_PAGE_INTEGRAL_DOUBLE = re2.compile(r"[:,\[]-?[0-9]+\.0(?:[^0-9]|$)")
_PAGE_NUMBER_TO_REDO = re2.compile(r"[:,\[]-?(?:[0-9][0-9.]*e[-+]|0\.0000)")
_READY_APART = ROW_SEPARATOR + REPLY_READY


class _Pattern(Protocol):
    def search(self, text: str, /) -> object: ...


def reply_text(stored: str) -> str:
    """The reply text of a document from the JSON text storage keeps for it."""
    if stored[:1] == REPLY_READY and not _integral(stored, _INTEGRAL_DOUBLE) and not _exponent(stored, _NUMBER_TO_REDO):
        return stored[1:]
    if _integral(stored, _INTEGRAL_DOUBLE):
        return _rebuilt(stored)
    try:
        text = orjson.dumps(orjson.loads(stored), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return _rebuilt(stored)
    return _rebuilt(stored) if _exponent(text, _NUMBER_TO_REDO) else text


def reply_pages(pages: Iterator[TextPage]) -> Iterator[list[str]]:
    """The reply texts of pages of stored texts, page by page."""
    return map(_page_texts, pages)


def _page_texts(page: TextPage) -> list[str]:
    """`reply_text` of each of a page's rows: the texts themselves when all were stored ready (and hold no number
    to write otherwise), else with one parse and one search per check for the page (half the time of a row at a
    time), unless one of its rows must be written the usual way."""
    # (A handful of calls on the page's one text, not a step per row, tell whether every row is ready and check
    # them all.)
    joined = page.text
    ready = joined[:1] == REPLY_READY and joined.count(_READY_APART) == page.row_count - 1
    if ready and not _integral(joined, _PAGE_INTEGRAL_DOUBLE) and not _exponent(joined, _PAGE_NUMBER_TO_REDO):
        return joined[1:].split(_READY_APART)
    stored = joined.split(ROW_SEPARATOR)
    joined = ",".join(stored)
    if _integral(joined, _PAGE_INTEGRAL_DOUBLE):
        return list(map(reply_text, stored))
    try:
        docs = orjson.loads("[" + joined + "]")
    except orjson.JSONDecodeError:  # a row nested as deeply as orjson follows: the page nests one level deeper
        return list(map(reply_text, stored))
    # (Each text decoded at once: orjson's bytes are large buffers, slow to keep a page of.)
    try:
        texts = [orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode() for doc in docs]
    except orjson.JSONEncodeError:  # a row nested deeper than orjson writes
        return list(map(reply_text, stored))
    return list(map(reply_text, stored)) if _exponent(",".join(texts), _PAGE_NUMBER_TO_REDO) else texts


def _integral(text: str, pattern: _Pattern) -> bool:
    return ".0" in text and pattern.search(text) is not None


def _exponent(text: str, pattern: _Pattern) -> bool:
    return ("e-" in text or "e+" in text or "0.0000" in text) and pattern.search(text) is not None


def _rebuilt(stored: str) -> str:
    return wire.dumps(datums.to_wire(json.loads(stored)))

"""Stored documents as reply text, without building the documents first: a table stores each as JSON already.

A reply writes a document as `wire.dumps(datums.to_wire(doc))`. The text storage keeps (Python's json module wrote
it) holds the same values, with the keys in the document's own order and the numbers as Python writes them, so orjson
reads it and writes it back with the keys sorted, several times faster than building the document and encoding it.
The result is the same text, except where the two ways part, which `reply_text` sees and leaves to the usual one:
- an integral double within 2^53 (stored as "5.0"), which `to_wire` makes an integer; only such a number (or a
  string holding ".0") puts ".0" before a character other than a digit;
- an integer beyond 64 bits, which orjson reads as a double (written with an exponent, "1.2e+29");
- a double below 1e-4, which orjson writes otherwise than `wire.dumps` does (see there).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

import orjson
import re2

from rethink_widgets.server import wire
from rethink_widgets.server.evaluation import datums

# Numbers only: a number begins after one of `:,[` (the texts are compact), so text within strings, such as a UUID's
# "4e-" or a version's "1.0.2", seldom sends a document the slow way (and then only costs time).
_INTEGRAL_DOUBLE = re.compile(r"[:,\[]-?[0-9]+\.0(?![0-9])")
# After orjson: a number with an exponent (a big one read as a double, or a small one) or below 1e-4.
_NUMBER_TO_REDO = re.compile(r"[:,\[]-?[0-9][0-9.]*e[-+]|[:,\[]-?0\.0000")
# The same for a page's rows at once, in RE2: its time is linear in the text, where Python's tries the pattern at
# every character (fine for a row, slow for a page).
_PAGE_INTEGRAL_DOUBLE = re2.compile(r"[:,\[]-?[0-9]+\.0(?:[^0-9]|$)")
_PAGE_NUMBER_TO_REDO = re2.compile(r"[:,\[]-?(?:[0-9][0-9.]*e[-+]|0\.0000)")


def reply_text(stored: str) -> str:
    """The reply text of a document from the JSON text storage keeps for it."""
    if ".0" in stored and _INTEGRAL_DOUBLE.search(stored):
        return _rebuilt(stored)
    text = orjson.dumps(orjson.loads(stored), option=orjson.OPT_SORT_KEYS).decode()
    if ("e-" in text or "e+" in text or "0.0000" in text) and _NUMBER_TO_REDO.search(text):
        return _rebuilt(stored)
    return text


def reply_texts(pages: Iterator[list[str]]) -> Iterator[str]:
    """The reply texts of pages of stored texts, row by row."""
    return itertools.chain.from_iterable(map(_page_texts, pages))


def _page_texts(stored: list[str]) -> list[str]:
    """`reply_text` of each of a page's rows, with one parse and one search per check for the page (half the time),
    unless one of its rows must be written the usual way."""
    joined = ",".join(stored)
    if ".0" in joined and _PAGE_INTEGRAL_DOUBLE.search(joined):
        return list(map(reply_text, stored))
    try:
        docs = orjson.loads("[" + joined + "]")
    except orjson.JSONDecodeError:  # a row nested as deeply as orjson follows: the page nests one level deeper
        return list(map(reply_text, stored))
    # (Each text decoded at once: orjson's bytes are large buffers, slow to keep a page of.)
    texts = [orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode() for doc in docs]
    written = ",".join(texts)
    if ("e-" in written or "e+" in written or "0.0000" in written) and _PAGE_NUMBER_TO_REDO.search(written):
        return list(map(reply_text, stored))
    return texts


def _rebuilt(stored: str) -> str:
    return wire.dumps(datums.to_wire(json.loads(stored)))

"""A JavaScript worker process: runs `r.js` code with QuickJS, the engine RethinkDB itself runs it with.

The server (javascript_pool.py) keeps such processes beside it, so that a script looping forever or eating memory
stops only its own process, never the server. Requests and replies are JSON objects, one per line, on the standard
input and output. Each query has a QuickJS context of its own (globals it sets are gone for the next query), and in it
each function source is evaluated once and kept for the calls that follow.

A request: {"query": id, "source": text, "args": [datums] or null, "timeout": seconds}. Without args the source is
evaluated; with them the function it evaluates to is called. A reply: {"value": datum}, {"function": true} (the
source is a function), {"error": message}, or {"timeout": true}. Its one argument is the server's process id.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import sys
import threading
import time
from typing import Any

import quickjs

# Contexts of the latest queries: a query's functions stay while it runs. Each may use up to MEMORY_LIMIT, so a
# worker holds at most QUERIES_KEPT times that.
QUERIES_KEPT = 4
MEMORY_LIMIT = 256 * 1024 * 1024
# How often a worker looks whether its server is still there (a killed server cannot tell it to go).
PARENT_CHECK_SECONDS = 0.5
# In JavaScript: datums in, as RethinkDB gives them to scripts (a TIME as a Date); values out, refused with
# RethinkDB's messages where RethinkDB refuses them. A reply is built here as JSON text.
_PRELUDE = r"""
var __rethink_widgets = (function () {
    var global = this, functions = {};
    function put(object, key, value) {
        // (an assignment to "__proto__" would set the prototype rather than make the field)
        Object.defineProperty(object, key, {value: value, enumerable: true, writable: true, configurable: true});
    }
    function revive(value) {
        if (Array.isArray(value)) return value.map(revive);
        if (value === null || typeof value !== "object") return value;
        if (value["$reql_type$"] === "TIME") return new Date(value.epoch_time * 1000);
        var out = {};
        Object.keys(value).forEach(function (key) { put(out, key, revive(value[key])); });
        return out;
    }
    function datum(value, depth) {
        if (depth > 1000) throw "Recursion limit exceeded in js_to_json (circular reference?).";
        if (value === undefined) throw "Cannot convert javascript `undefined` to ql::datum_t.";
        if (value === null || typeof value === "boolean" || typeof value === "string") return value;
        if (typeof value === "number") {
            if (!isFinite(value)) throw "Number return value is not finite.";
            return value;
        }
        if (typeof value === "function") throw "Cannot convert function to ql::datum_t.";
        if (value instanceof RegExp) throw "Cannot convert RegExp to ql::datum_t.";
        if (value instanceof Date) {
            var ms = value.getTime();
            if (isNaN(ms)) throw "Invalid Date in JS environment";
            return {"$reql_type$": "TIME", "epoch_time": ms / 1000, "timezone": "+00:00"};
        }
        if (Array.isArray(value)) return value.map(function (item) { return datum(item, depth + 1); });
        var out = {};
        Object.keys(value).forEach(function (key) { put(out, key, datum(value[key], depth + 1)); });
        return out;
    }
    function reply(run) {
        try {
            return JSON.stringify(run());
        } catch (error) {
            return JSON.stringify({"error": String(error)});
        }
    }
    function evaluated(source) {
        if (!(source in functions)) {
            var value = (0, eval)(source);
            if (typeof value !== "function") return {"value": datum(value, 0)};
            functions[source] = value;
        }
        return {"function": true};
    }
    return {
        evaluate: function (source) { return reply(function () { return evaluated(source); }); },
        call: function (source, args) {
            return reply(function () {
                if (!evaluated(source)["function"]) {
                    return {"error": "Javascript query `" + source +
                        "` returned a value when it should have returned a function."};
                }
                var result = functions[source].apply(global, revive(JSON.parse(args)));
                if (typeof result === "function") {
                    return {"error": "Returning functions from within `r.js` is unsupported."};
                }
                return {"value": datum(result, 0)};
            });
        }
    };
})();
"""


class _Query:
    """A query's QuickJS context, and the prelude's two entry points in it."""

    def __init__(self) -> None:
        self.context = quickjs.Context()
        self.context.set_memory_limit(MEMORY_LIMIT)
        self.context.eval(_PRELUDE)
        self.evaluate = self.context.eval("__rethink_widgets.evaluate")
        self.call = self.context.eval("__rethink_widgets.call")
        self.has_functions = False  # whether calls may follow, which need this context as they left it


class Worker:
    def __init__(self) -> None:
        self._queries: collections.OrderedDict[int, _Query] = collections.OrderedDict()

    def answer(self, request: dict[str, Any]) -> str:
        """The reply's JSON text."""
        query = self._query(request["query"])
        query.context.set_time_limit(request["timeout"])
        try:
            if request["args"] is None:
                text = query.evaluate(request["source"])
                query.has_functions |= text.startswith('{"function"')
            else:
                text = query.call(request["source"], json.dumps(request["args"]))
        except quickjs.JSException as error:
            # Only what no script can catch gets here: the time limit.
            if str(error).startswith("InternalError: interrupted"):
                return '{"timeout": true}'
            self._queries.pop(request["query"], None)
            return json.dumps({"error": str(error).split("\n", 1)[0]})
        reply: str = text  # JSON text, made by the prelude
        return reply

    def _query(self, query: int) -> _Query:
        found = self._queries.get(query)
        if found is None:
            while len(self._queries) >= QUERIES_KEPT:
                self._forget_one()
            found = self._queries[query] = _Query()
        self._queries.move_to_end(query)
        return found

    def _forget_one(self) -> None:
        """Drop the context least recently used, one that no function needs first: a query that only evaluated
        scripts is likely over, while one mapping a function over rows calls it again with each batch."""
        plain = [query for query, found in self._queries.items() if not found.has_functions]
        del self._queries[plain[0] if plain else next(iter(self._queries))]


def _die_with_parent(parent: int) -> None:
    """Exit when the server (`parent`) is gone, even in the middle of a script: QuickJS lets go of the GIL while it
    runs one. The server says who it is, since it may be gone before this process has started."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the server is the server's to handle
    worker = Worker()
    # Bytes, not the locale's text: requests and replies are UTF-8 whatever the locale (a script's lone surrogate
    # goes as its three bytes, which the server reads back, see javascript_pool).
    for line in sys.stdin.buffer:
        sys.stdout.buffer.write(worker.answer(json.loads(line)).encode("utf-8", "surrogatepass") + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()

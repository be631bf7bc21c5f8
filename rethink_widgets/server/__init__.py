"""The embedded ReQL server: a RethinkDB-compatible database that the official driver talks to unchanged.

Layers, each in its own module, each using only the ones before it:

- `wire`: bytes on the socket: the V1_0 handshake (with `scram` for SCRAM-SHA-256) and query/response frames.
- `protocol`: one client connection: the five query types, tokens, cursors served in batches, noreply.
- `evaluation`: ReQL terms to values, lazily where RethinkDB streams.
- `storage`: tables, secondary indexes and durability in one SQLite file; `keys` orders values as ReQL does.

Network I/O runs on one asyncio loop (uvloop's); evaluation and storage run on worker threads, so a slow query
never holds up another one, on the same connection or elsewhere. Only queries bounded in cost (a point get, a soft
single-row write) are answered on the loop itself, and even those go to a worker thread should they wait or run long
(`inline`).

    python -m rethink_widgets.server --driver-port 28015 --directory ./rethinkdb_data
"""

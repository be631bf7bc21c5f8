"""Secondary indexes built in the background, as RethinkDB builds them.

An index on a table of more than one chunk of rows is built by one builder thread, which indexes a chunk of rows per
transaction, in primary key order, and records how far it got (so a restart resumes the build), while every write
keeps the index right for every row, the rows the builder has reached and the rest alike; the index is `ready` once
the builder has read the whole table. A geospatial index whose keys were made the way of an older version
(records.GEO_KEY_FORMAT) is emptied when storage opens and built again so."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.storage.core import StorageCore
from rethink_widgets.server.storage.records import GEO_KEY_FORMAT, IndexCompiler, IndexFunction, IndexInfo, TableInfo
from rethink_widgets.server.storage.transaction import index_entries
from rethink_widgets.server.storage.write_lock import LOCK_POLL_SECONDS

log = logging.getLogger(__name__)

# Rows an index build reads per transaction: a write waits a millisecond or two for the lock, not the whole build
# (benchmarks/server.py measures insert latencies during a build; bigger chunks build no faster but stall longer).
_BUILD_CHUNK = 250

# The builder's rest between chunks, so that waiting writes take the lock before its next chunk.
_BUILD_PAUSE = 0.001


@dataclass
class _Build:
    """An index being built, with its own compiled function (the writers' one may be running on another thread)."""

    table: TableInfo
    index: IndexInfo
    compute: IndexFunction
    done: int = -1  # rows indexed, counted when the builder first reaches it
    total: int = 0


class IndexBuilds(StorageCore):
    """The builder thread and the builds it works through, oldest first."""

    def __init__(
        self, directory: Path, index_compiler: IndexCompiler, initial_credentials: dict[str, Any] | None = None
    ) -> None:
        super().__init__(directory, index_compiler, initial_credentials)
        # `_builds` and `_closing` change under `_build_state`, which index waiters wait on (never the write lock);
        # it is taken under the write lock, never the other way round.
        self._build_state = threading.Condition()
        self._closing = False
        self._rebuild_outdated()
        self._builds = [
            _Build(table, index, index_compiler(index.function, index.multi, index.geo))
            for table in self._tables.values()
            for index in table.indexes.values()
            if not index.ready
        ]
        self._builder = threading.Thread(target=self._build_indexes, name="index-builder", daemon=True)
        self._builder.start()

    def _rebuild_outdated(self) -> None:
        """Empty each geospatial index whose keys are of an older format (see GEO_KEY_FORMAT), to be built again as a
        new index is: until it is ready, queries that read it are told so, where they would miss its entries."""
        outdated = {
            sql
            for (sql,) in self._writer.execute(
                "SELECT sql FROM indexes WHERE geo = 1 AND key_format < ?", (GEO_KEY_FORMAT,)
            ).fetchall()
        }
        if not outdated:
            return
        with self._atomic("hard"):
            for sql in outdated:
                self._writer.execute(f"DELETE FROM {sql}")
                self._writer.execute(
                    "UPDATE indexes SET ready = 0, built = NULL, key_format = ? WHERE sql = ?", (GEO_KEY_FORMAT, sql)
                )
        for index in (index for table in self._tables.values() for index in table.indexes.values()):
            if index.sql in outdated:
                index.ready, index.built, index.progress = False, None, 0.0
        log.info("rebuilding %d geospatial index(es) made by an older version", len(outdated))

    def stop_building(self) -> None:
        """Stop index builds where they are (they resume when storage opens again) and wake their waiters."""
        with self._build_state:
            self._closing = True
            self._build_state.notify_all()
        if threading.current_thread() is not self._builder:
            self._builder.join()

    @property
    def closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self.stop_building()
        super().close()

    def index_await(self, table: TableInfo, names: list[str]) -> None:
        """Wait (holding no lock) until each named index is ready or gone, the table is dropped or storage closes."""

        def settled() -> bool:
            if self._closing or table.id not in self._tables:
                return True
            return all(name not in table.indexes or table.indexes[name].ready for name in names)

        with self._build_state, interrupts.blocked():
            while not self._build_state.wait_for(settled, LOCK_POLL_SECONDS):
                interrupts.raise_if_interrupted()

    def _index_at_once(self, table: TableInfo, index: IndexInfo, compute: IndexFunction) -> bool:
        """Under the write lock, as the index is created: index a table of one chunk of rows at once (True); a
        bigger one is left to the builder (`_start_build`, once the index is in the catalog)."""
        rows = self._writer.execute(
            f"SELECT key, doc FROM {table.sql} ORDER BY key LIMIT ?", (_BUILD_CHUNK + 1,)
        ).fetchall()
        if len(rows) > _BUILD_CHUNK:
            return False
        entries = [entry for key, doc in rows for entry in index_entries(compute, json.loads(doc), key)]
        self._writer.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", entries)
        return True

    def _start_build(self, table: TableInfo, index: IndexInfo, compute: IndexFunction) -> None:
        with self._build_state:
            self._builds.append(_Build(table, index, compute))
            self._build_state.notify_all()

    def _build_indexes(self) -> None:
        """The builder thread: a chunk at a time of the oldest build, until storage closes."""
        while True:
            with self._build_state:
                self._build_state.wait_for(lambda: self._closing or bool(self._builds))
                if self._closing:
                    return
                build = self._builds[0]
            try:
                over = self._build_chunk(build)
            except Exception:  # the thread must outlive a failing chunk: the build retries it
                log.exception("building index %s of table %s", build.index.name, build.table.qualified_name)
                time.sleep(1)
                continue
            if over:
                with self._build_state:
                    self._builds.remove(build)
                    self._build_state.notify_all()
            time.sleep(_BUILD_PAUSE)

    def _build_chunk(self, build: _Build) -> bool:
        """Index the next chunk of a build's rows; True once the build is over (done, or its index dropped)."""
        table, index = build.table, build.index
        after = index.built or b""  # every encoded key sorts after the empty BLOB
        try:
            if build.done < 0:
                build.done = (
                    self._reader().execute(f"SELECT count(*) FROM {table.sql} WHERE key <= ?", (after,)).fetchone()[0]
                )
                build.total = self._reader().execute(f"SELECT count(*) FROM {table.sql}").fetchone()[0]
            read = (
                self._reader()
                .execute(f"SELECT key, doc FROM {table.sql} WHERE key > ? ORDER BY key LIMIT ?", (after, _BUILD_CHUNK))
                .fetchall()
            )
        except sqlite3.OperationalError:
            if self._building(build):
                raise
            return True
        # The index values are computed here, outside the write lock; under it only rows written since are computed.
        computed = {key: (doc, index_entries(build.compute, json.loads(doc), key)) for key, doc in read}
        last = read[-1][0] if len(read) == _BUILD_CHUNK else None
        with self._lock:
            if not self._building(build):
                return True
            bound, params = ("key > ? AND key <= ?", (after, last)) if last is not None else ("key > ?", (after,))
            entries = []
            rows = self._writer.execute(f"SELECT key, doc FROM {table.sql} WHERE {bound}", params).fetchall()
            for key, doc in rows:
                known = computed.get(key)
                entries.extend(
                    known[1] if known and known[0] == doc else index_entries(build.compute, json.loads(doc), key)
                )
            with self._atomic("soft" if last is not None else "hard", len(entries)):
                self._writer.executemany(f"INSERT OR IGNORE INTO {index.sql} VALUES (?, ?, ?)", entries)
                self._writer.execute(
                    "UPDATE indexes SET built = ?, ready = ? WHERE sql = ?", (last, int(last is None), index.sql)
                )
            build.done += len(rows)
            # The table may grow while it is built: the fraction stays below 1 until the last chunk.
            index.progress = build.done / max(build.total, build.done + 1)
            index.built, index.ready = last, last is None
        return index.ready

    def _building(self, build: _Build) -> bool:
        """Whether a build's index is still there: neither it nor its table was dropped (or renamed over)."""
        table = build.table
        return self._tables.get(table.id) is table and table.indexes.get(build.index.name) is build.index

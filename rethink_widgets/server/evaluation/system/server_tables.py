"""The system tables of this server and its activity: `server_config`, `server_status`, `cluster_config`,
`current_issues`, `logs`, `jobs` and `stats`.

This server is a cluster of one: `server_config` and `server_status` have its one row, `cluster_config` the `auth`
and `heartbeat` rows, `current_issues` and `logs` are empty (nothing goes wrong that a cluster would report), `jobs`
lists the queries evaluating now and `stats` the counts of queries and of documents read and written.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from rethink_widgets.server import interrupts, wire
from rethink_widgets.server.activity import Rate
from rethink_widgets.server.errors import ReqlOpFailedError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.system.catalog import user_tables
from rethink_widgets.server.evaluation.system.system_table import SystemTable, check_keys, checked_name, required_field
from rethink_widgets.server.evaluation.time_values import make_time
from rethink_widgets.server.storage import SYSTEM_DB


class ServerConfigTable(SystemTable):
    """This server's name, tags and cache size: the name and tags can change, rows can't come or go."""

    name = "server_config"

    def rows(self) -> list[dict[str, Any]]:
        settings = self.storage.settings()
        return [{
            "cache_size_mb": settings["cache_size_mb"], "id": self.storage.server_id, "name": self.storage.server_name,
            "tags": settings["tags"],
        }]  # fmt: skip

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc["id"] != self.storage.server_id:
            raise ReqlOpFailedError(f"It's illegal to insert new rows into the `{SYSTEM_DB}.{self.name}` table.")
        old = self.rows()[0]
        name = checked_name(required_field(doc, "name"), "name", "server name")
        tags = required_field(doc, "tags")
        if not isinstance(tags, list):
            raise ReqlOpFailedError(f"In `tags`: Expected an array, got {datums.printed(tags)}")
        tags = sorted({checked_name(tag, "tags", "server tag") for tag in tags})
        cache = doc.get("cache_size_mb", "auto")
        if cache != "auto" and (not datums.is_number(cache) or cache < 0):
            raise ReqlOpFailedError(f'In `cache_size_mb`: Expected a number or "auto", got {datums.printed(cache)}')
        check_keys(doc, {"id", "name", "tags", "cache_size_mb"})
        self.storage.configure(name if name != old["name"] else None, tags=tags, cache_size_mb=cache)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to delete rows from the `{SYSTEM_DB}.{self.name}` table.")


class ServerStatusTable(SystemTable):
    """This server's process and network: read only."""

    name = "server_status"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        activity = self.storage.activity
        started = make_time(round(activity.time_started, 3))
        cache = self.storage.settings()["cache_size_mb"]
        network: dict[str, Any] = {
            "canonical_addresses": [], "cluster_port": None, "connected_to": {}, "hostname": socket.gethostname(),
            "http_admin_port": "<no http admin>", "reql_port": activity.reql_port, "time_connected": started,
        }  # fmt: skip
        process = {
            "argv": activity.argv, "cache_size_mb": 100 if cache == "auto" else cache, "pid": activity.pid,
            "time_started": started, "version": f"rethinkdb {wire.SERVER_VERSION}",
        }  # fmt: skip
        return [
            {"id": self.storage.server_id, "name": self.storage.server_name, "network": network, "process": process}
        ]


class ClusterConfigTable(SystemTable):
    """The `auth` row (the auth key, never shown) and the `heartbeat` row: both can change, rows can't come or go."""

    name = "cluster_config"

    def rows(self) -> list[dict[str, Any]]:
        settings = self.storage.settings()
        auth_key = None if settings["auth_key"] is None else {"hidden": True}
        return [
            {"auth_key": auth_key, "id": "auth"},
            {"heartbeat_timeout_secs": settings["heartbeat_timeout_secs"], "id": "heartbeat"},
        ]

    def put(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        old = self.get(doc["id"])
        if old is None:
            raise ReqlOpFailedError(f"It's illegal to insert new rows into the `{SYSTEM_DB}.{self.name}` table.")
        if doc["id"] == "auth":
            key = required_field(doc, "auth_key")
            check_keys(doc, {"id", "auth_key"})
            self.storage.configure(auth_key=_auth_key(key))
        else:
            timeout = required_field(doc, "heartbeat_timeout_secs")
            check_keys(doc, {"id", "heartbeat_timeout_secs"})
            if not datums.is_number(timeout):
                raise ReqlOpFailedError(f"Expected a number; got {datums.printed(timeout)}")
            if timeout < 2:
                raise ReqlOpFailedError("The heartbeat timeout must be at least 2 seconds.")
            self.storage.configure(heartbeat_timeout_secs=timeout)
        return old

    def delete(self, key: Any) -> dict[str, Any] | None:
        raise ReqlOpFailedError(f"It's illegal to delete rows from the `{SYSTEM_DB}.{self.name}` table.")


def _auth_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value == {"hidden": True}:
        raise ReqlOpFailedError(
            "You're trying to set the `auth_key` field in the `auth` document of `rethinkdb.cluster_config` to "
            "{hidden: true}. The `auth_key` field can be set to a string, or `null` for no auth key. {hidden: true} "
            "is a special place-holder value that RethinkDB returns if you try to read the auth key; RethinkDB won't "
            "show you the real auth key for security reasons. Setting the auth key to {hidden: true} is not allowed."
        )
    if not isinstance(value, str):
        raise ReqlOpFailedError(f"Expected a string or null; got {datums.printed(value)}")
    if len(value.encode()) > _MAX_AUTH_KEY:
        raise ReqlOpFailedError(
            f"The auth key should be at most {_MAX_AUTH_KEY} bytes long, but your given key is "
            f"{len(value.encode())} bytes."
        )
    return value


_MAX_AUTH_KEY = 2048


class CurrentIssuesTable(SystemTable):
    name = "current_issues"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        return []


class LogsTable(SystemTable):
    name = "logs"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        return []


class JobsTable(SystemTable):
    """The queries evaluating now; a user other than `admin` sees only their own."""

    name = "jobs"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        now, server = time.monotonic(), self._server()
        return [
            {
                "duration_sec": round(now - job.started, 6), "id": ["query", job.id],
                "info": {"client_address": job.client_address, "client_port": job.client_port,
                         "query": datums.dumps(job.query), "user": job.user},
                "servers": [server], "type": "query",
            }
            for job in list(self.storage.activity.jobs.values())
            if self.user in ("admin", job.user)
        ]  # fmt: skip

    def delete(self, key: Any) -> dict[str, Any] | None:
        """Stop the job's query, as RethinkDB does; it answers "Query terminated by the `rethinkdb.jobs` table."."""
        row = self.get(key)
        if row is not None:
            job = self.storage.activity.jobs.get(row["id"][1])
            if job is not None:
                job.interruptor.interrupt(interrupts.JOBS)
        return row

    def _server(self) -> str:
        return self.storage.server_id if self.by_id else self.storage.server_name


class StatsTable(SystemTable):
    """Queries and documents read and written: per second (the last whole second) and in total since the start."""

    name = "stats"
    follows_catalog = False

    def rows(self) -> list[dict[str, Any]]:
        self.storage.settle()  # (a write answered before its commit is counted once committed)
        activity, server_id = self.storage.activity, self.storage.server_id
        server = server_id if self.by_id else self.storage.server_name
        connections = activity.connections()
        active = len({(job.client_address, job.client_port) for job in list(activity.jobs.values())})
        tables = user_tables(self.storage)
        # (Looked up without adding entries: a table never read has no counter yet.)
        reads = {info.id: activity.reads.get(info.id) or Rate() for info in tables}
        writes = {info.id: activity.writes.get(info.id) or Rate() for info in tables}
        read_rate, write_rate = sum(r.per_sec() for r in reads.values()), sum(w.per_sec() for w in writes.values())
        engine = {
            "client_connections": connections, "clients_active": active,
            "queries_per_sec": activity.queries.per_sec(), "read_docs_per_sec": read_rate,
            "written_docs_per_sec": write_rate,
        }  # fmt: skip
        totals = {
            "queries_total": activity.queries.total, "read_docs_total": sum(r.total for r in reads.values()),
            "written_docs_total": sum(w.total for w in writes.values()),
        }  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"id": ["cluster"], "query_engine": engine},
            {"id": ["server", server_id], "query_engine": {**engine, **totals}, "server": server},
        ]
        for info in tables:
            names = {"db": self.storage.db_id(info.db) if self.by_id else info.db, "table": info.name}
            if self.by_id:
                names["table"] = info.id
            read, written = reads[info.id], writes[info.id]
            rates = {"read_docs_per_sec": read.per_sec(), "written_docs_per_sec": written.per_sec()}
            rows.append({"id": ["table", info.id], "query_engine": rates, **names})
            rows.append({
                "id": ["table_server", info.id, server_id], "server": server, **names,
                "query_engine": {**rates, "read_docs_total": read.total, "written_docs_total": written.total},
                "storage_engine": _STORAGE_ENGINE,
            })  # fmt: skip
        return rows


# The cache and disk figures of RethinkDB's own storage engine, which SQLite does not keep.
_STORAGE_ENGINE = {
    "cache": {"in_use_bytes": 0},
    "disk": {
        "read_bytes_per_sec": 0, "read_bytes_total": 0, "written_bytes_per_sec": 0, "written_bytes_total": 0,
        "space_usage": {"data_bytes": 0, "garbage_bytes": 0, "metadata_bytes": 0, "preallocated_bytes": 0},
    },
}  # fmt: skip

"""The command line: `rethink-widgets-server` / `python -m rethink_widgets.server`, flags named like rethinkdb's."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import uvloop

from rethink_widgets.server.admission import HANDSHAKE_SECONDS, MAX_CONNECTIONS
from rethink_widgets.server.server import DirectoryLocked, Server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rethink-widgets-server",
        description="An embedded RethinkDB-compatible server storing its data in SQLite.",
    )
    parser.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to listen on; 'all' for every interface (default 127.0.0.1)",
    )
    parser.add_argument(
        "--driver-port",
        type=int,
        default=28015,
        metavar="N",
        help="port for client drivers; 0 picks a free one (default 28015)",
    )
    parser.add_argument(
        "--directory",
        type=Path,
        default=Path("rethinkdb_data"),
        metavar="DIR",
        help="data directory, created if missing, for you alone (default ./rethinkdb_data)",
    )
    parser.add_argument(
        "--initial-password",
        default="",
        metavar="PW",
        help="admin password, set when admin has none (a new directory, or an empty password); 'auto' generates "
        "one and keeps it in DIR/admin_password, readable by you alone (default empty)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive_int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"client connections open at a time; more are refused (default {MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--handshake-timeout",
        type=_positive_float,
        default=HANDSHAKE_SECONDS,
        metavar="SECONDS",
        help=f"time a client has to connect and log in before it is disconnected (default {HANDSHAKE_SECONDS:g})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log on stderr (default info)",
    )
    return parser.parse_args(argv)  # fmt: skip


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


async def run(args: argparse.Namespace) -> int:
    bind = None if args.bind == "all" else args.bind
    server = Server(
        args.directory,
        bind,
        args.driver_port,
        args.initial_password,
        max_connections=args.max_connections,
        handshake_seconds=args.handshake_timeout,
    )
    try:
        port = await server.start()
    except DirectoryLocked as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot listen on {args.bind}:{args.driver_port}: {error}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"Running rethink_widgets server on data directory {args.directory.resolve()}", flush=True)
    print(f"Listening for client driver connections on port {port}", flush=True)
    print(f'Server ready, "{server.storage.server_name}" {server.storage.server_id}', flush=True)
    await stop.wait()
    print("Shutting down...", flush=True)
    await server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Everything the server writes is its user's alone, the files SQLite makes on its own included.
    os.umask(0o077)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # uvloop's event loop (libuv's) runs the same asyncio code with less cost per turn and per socket operation.
    return uvloop.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

"""How one embedded server holds up against hostile clients, and how soon a stopped query frees its worker.

One server (this checkout's, in its own process) serves everything. A well-behaved client sends one point get every
5 ms and opens a fresh connection every 0.5 s, first with the server to itself ("alone"), then during each hostile
workload, run by a child process for a few seconds and then stopped:

- regex bomb: 4 clients looping `r.expr('a' * 30 + '!').match('(a+)+$')`
- long scans: 3 clients running `r.range(10**9).count()`, 2 looping a filter-count and a map-reduce over a big table
- pool flood: 64 long queries from one user, on 64 connections, then 64 on one connection
- huge reply: a client looping a query whose reply would be 500 MB
- login flood: 8 clients connecting in a loop as an unknown user or with admin's wrong password
- idle sockets: 1,000 TCP connections opened and left idle without a handshake (reopened when the server closes them)

The clients that log in are admin, as every notebook kernel of a machine is (the login flood's aside). Ratios are
against "alone" in the same run (the lower p99 of two alone runs, before and after the workloads: other load on the
machine only ever adds); targets: p99 during a workload <= 5x alone, no stall (max) over 1 s.

Then a long query (`r.range(10**9).count()`) is stopped by STOP, by closing its connection and by deleting its row in
`rethinkdb.jobs` (target: its worker free within 100 ms), seen two ways: by a client, polling until the job's row is
gone and a fresh point get answers; and by the server's process, until the worker thread's CPU time (from
/proc/<pid>/task/*/schedstat, Linux only) stops growing. The row goes the moment the server hears of the stop, before
the worker reaches its next check point, so only the second view shows the worker free. Prints only, never asserts;
the machine's load makes figures vary.

    python -m benchmarks.hostile [--quick] [--seconds 4] [--rows 200000] [--trials 5]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import queue
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rethinkdb import RethinkDB
from rethinkdb.ast import ReQLEncoder
from rethinkdb.errors import ReqlError

r = RethinkDB()
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEADER = struct.Struct("<qL")  # a frame: 8-byte little-endian token, 4-byte length, JSON
START, STOP = 1, 3
KINDS = {1: "atom", 2: "sequence", 3: "partial", 16: "client error", 17: "compile error", 18: "runtime error"}

TABLE = "big"
REGEX_BOMB = r.expr("a" * 30 + "!").match("(a+)+$")
FOREVER = r.range(10**9).count()
FILTER_COUNT = r.table(TABLE).filter(lambda doc: doc["v"] % 7 == 3).count()
MAP_REDUCE = r.table(TABLE).map(lambda doc: doc["v"]).reduce(lambda a, b: a + b)
HUGE_REPLY = r.range(100_000).map(lambda _: r.expr("x" * 5000)).coerce_to("array")

INTERVAL = 0.005  # the well-behaved client's pace: one point get every 5 ms
CONNECT_EVERY = 0.5  # and one fresh connection every 0.5 s
REPLY_TIMEOUT = 10.0  # the longest the well-behaved client waits for a reply: then it counts a failure, reconnects
RAMP = 0.5  # seconds a workload runs before the measuring starts
QUIET_WINDOW = 0.1  # the server is quiet once it used under QUIET_SHARE of a CPU over this long
QUIET_SHARE = 0.1
MAX_QUERIES = 1_000_000  # bounds on every hostile loop (each also stops on time)
MAX_OPENS = 20  # an idle-socket client reopens at most this many times its sockets

P99_TARGET = 5.0  # p99 during a workload / p99 alone
STALL_TARGET = 1.0  # seconds: the longest point get during a workload
FREE_TARGET = 0.1  # seconds from STOP, close or job row deleted to the worker being free


# ---------------------------------------------------------------------------------------------------- raw frames


def authenticated(port: int, timeout: float | None) -> socket.socket:
    """A socket past the handshake (done by the driver, as admin), for frames sent raw; `timeout` bounds each read."""
    conn = r.connect(host=HOST, port=port, timeout=20)
    sock: socket.socket = conn._instance._socket._socket
    sock.settimeout(timeout)
    return sock


def start_payload(query: Any) -> bytes:
    text: str = ReQLEncoder().encode([START, query, {}])
    return text.encode()


def frame(token: int, payload: bytes) -> bytes:
    return HEADER.pack(token, len(payload)) + payload


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return bytes(data)


def read_reply(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    token, size = HEADER.unpack(read_exactly(sock, HEADER.size))
    return token, json.loads(read_exactly(sock, size))


def describe(reply: dict[str, Any]) -> str:
    kind = KINDS.get(reply.get("t", 0), f"type {reply.get('t')}")
    if reply.get("t") in (1, 2, 3):
        return kind
    return f"{kind}: {reply.get('r', [''])[0]}"[:200]


# ---------------------------------------------------------------------------------------------------- hostile clients


class Crowd:
    """One workload's hostile clients (threads of a child process): what they got, and their sockets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.connected = threading.Semaphore(0)  # released once by each client, when it has set up (or failed to)
        self.sent = 0  # queries sent, logins tried or sockets opened
        self.counts: collections.Counter[str] = collections.Counter()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, outcome: str) -> None:
        """Count what a client got; once stopped, what stopping them did is not counted."""
        with self._lock:
            if not self.stop.is_set():
                self.counts[outcome] += 1

    def add_sent(self, count: int = 1) -> None:
        with self._lock:
            if not self.stop.is_set():
                self.sent += count

    def keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if self.stop.is_set():  # too late: close_all has run
                sock.close()
                raise ConnectionAbortedError("stopped")
            self._sockets.append(sock)
        return sock

    def close_all(self) -> None:
        """Close every socket: a read blocked on one returns, and the server stops the queries it runs."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def connect(self) -> socket.socket | None:
        try:
            return self.keep(authenticated(self.port, None))
        except (ReqlError, OSError) as error:
            self.add(f"could not connect: {error}"[:120])
            return None
        finally:
            self.connected.release()


def looping(crowd: Crowd, query: Any) -> None:
    """A client sending `query` again each time it is answered."""
    sock, payload = crowd.connect(), start_payload(query)
    for token in range(1, MAX_QUERIES):
        if sock is None or crowd.stop.is_set():
            return
        try:
            sock.sendall(frame(token, payload))
            crowd.add_sent()
            crowd.add(describe(read_reply(sock)[1]))
        except OSError as error:
            if not crowd.stop.is_set():
                crowd.add(f"connection lost: {error}")
            return


def many_on_one(crowd: Crowd, count: int) -> None:
    """A client keeping `count` long queries running on its one connection: each answered one is sent again."""
    sock, payload = crowd.connect(), start_payload(FOREVER)
    if sock is None:
        return
    try:
        sock.sendall(b"".join(frame(token, payload) for token in range(1, count + 1)))
        crowd.add_sent(count)
        for token in range(count + 1, MAX_QUERIES):
            crowd.add(describe(read_reply(sock)[1]))
            sock.sendall(frame(token, payload))
            crowd.add_sent()
    except OSError as error:
        if not crowd.stop.is_set():
            crowd.add(f"connection lost: {error}")


def logging_in(crowd: Crowd, password: str) -> None:
    """A client logging in again and again with wrong credentials ("unknown" for a user the server does not know)."""
    crowd.connected.release()
    user = "intruder" if password == "unknown" else "admin"
    for _ in range(MAX_QUERIES):
        if crowd.stop.is_set():
            return
        crowd.add_sent()
        try:
            r.connect(host=HOST, port=crowd.port, user=user, password=password, timeout=5).close()
            crowd.add("logged in (!)")
        except (ReqlError, OSError) as error:
            text = re.sub(r"Could not connect to \S+?[,.] (Error: )?", "", str(error))  # (names the port)
            crowd.add(f"{type(error).__name__}: {text}"[:120])


def idle_sockets(crowd: Crowd, count: int) -> None:
    """A client holding `count` TCP connections that never start the handshake, reopening those the server closes."""
    held = [_open_idle(crowd) for _ in range(count)]
    crowd.connected.release()
    opens = count
    while not crowd.stop.wait(0.25) and opens < MAX_OPENS * count:
        for i, sock in enumerate(held):
            if crowd.stop.is_set():
                return
            if sock is None or _closed_by_server(crowd, sock):
                held[i] = _open_idle(crowd)
                opens += 1


def _open_idle(crowd: Crowd) -> socket.socket | None:
    crowd.add_sent()
    try:
        sock = crowd.keep(socket.create_connection((HOST, crowd.port), timeout=5))
    except OSError as error:
        crowd.add(f"could not connect: {error}")
        return None
    crowd.add("connected")
    return sock


def _closed_by_server(crowd: Crowd, sock: socket.socket) -> bool:
    try:
        data = sock.recv(4096, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError as error:
        crowd.add(f"closed by the server: {error}")
        return True
    if data:
        crowd.add(f"the server said: {data[:80]!r}")
        return False
    crowd.add("closed by the server")
    return True


@dataclass
class Workload:
    label: str
    sent: str  # what its clients do, counted
    clients: list[tuple[int, Callable[[Crowd, Any], None], Any]]  # (how many, client, its argument)


WORKLOADS = {
    "regex": Workload("regex bomb", "queries sent", [(4, looping, REGEX_BOMB)]),
    "scans": Workload(
        "long scans", "queries sent", [(3, looping, FOREVER), (1, looping, FILTER_COUNT), (1, looping, MAP_REDUCE)]
    ),
    "pool": Workload("pool flood, 64 connections", "queries sent", [(64, looping, FOREVER)]),
    "pool-one": Workload("pool flood, 64 on one connection", "queries sent", [(1, many_on_one, 64)]),
    "huge": Workload("huge reply", "queries sent", [(1, looping, HUGE_REPLY)]),
    "logins": Workload("login flood", "logins tried", [(4, logging_in, "unknown"), (4, logging_in, "wrong")]),
    "idle": Workload("idle sockets, 1,000", "sockets opened", [(1, idle_sockets, 1000)]),
}


def run_crowd(key: str, port: int, limit: float) -> None:
    """In the child process: start the workload, say `ready`, stop at a line on stdin (or after `limit` seconds) and
    print what the clients got, as JSON."""
    crowd = Crowd(port)
    threads = [
        threading.Thread(target=client, args=(crowd, argument), daemon=True)
        for count, client, argument in WORKLOADS[key].clients
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    for _ in threads:
        crowd.connected.acquire(timeout=max(0.0, deadline - time.monotonic()))
    print("ready", flush=True)

    def stop_when_told() -> None:  # a line on stdin
        sys.stdin.readline()
        crowd.stop.set()

    threading.Thread(target=stop_when_told, daemon=True).start()
    crowd.stop.wait(limit)
    crowd.stop.set()
    crowd.close_all()
    for thread in threads:
        thread.join(10)
    print(json.dumps({"sent": crowd.sent, "got": crowd.counts}), flush=True)


# ---------------------------------------------------------------------------------------------------- the server


class Server:
    """This checkout's server in its own process: its log goes to a file and its output is drained, so neither can
    block it. Its threads' CPU time is read from /proc where there is one."""

    def __init__(self, directory: Path) -> None:
        self.log = directory / "server.log"
        command = [sys.executable, "-m", "rethink_widgets.server", "--driver-port", "0", "--directory"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*command, str(directory / "data")], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True
            )
        ports: queue.Queue[int] = queue.Queue()
        threading.Thread(target=self._drain, args=(ports,), daemon=True).start()
        self.port = ports.get(timeout=60)
        if not self.port:
            self.stop()
            raise RuntimeError(f"the server did not start:\n{self.log.read_text()[-2000:]}")
        self.tasks = Path(f"/proc/{self.process.pid}/task")
        self.observable = self.tasks.is_dir()

    def _drain(self, ports: queue.Queue[int]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = re.search(r"Listening for client driver connections on port (\d+)", line)
            if match:
                ports.put(int(match.group(1)))
        ports.put(0)

    def thread_cpu(self) -> dict[str, int]:
        """Nanoseconds of CPU each thread has used, by thread id."""
        used = {}
        for task in self.tasks.iterdir():
            with contextlib.suppress(OSError):
                used[task.name] = int((task / "schedstat").read_text().split()[0])
        return used

    def peak_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status")
        match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text()) if status.exists() else None
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def quiet_after(server: Server, since: float, limit: float = 30.0) -> float | None:
    """Seconds from `since` until the server goes quiet: the start of the first QUIET_WINDOW in which all its threads
    used under QUIET_SHARE of a CPU. None without /proc, or when it stays busy for `limit` seconds."""
    if not server.observable:
        return None
    window: collections.deque[tuple[float, int]] = collections.deque()
    while (now := time.perf_counter()) - since < limit:
        used = sum(server.thread_cpu().values())
        window.append((now, used))
        while len(window) > 1 and now - window[1][0] >= QUIET_WINDOW:
            window.popleft()
        at, before = window[0]
        if now - at >= QUIET_WINDOW and used - before < QUIET_SHARE * (now - at) * 1e9:
            return max(0.0, at - since)
        time.sleep(0.01)
    return None


def fill(conn: Any, rows: int) -> None:
    r.table_create(TABLE).run(conn)
    for start in range(0, rows, 50_000):
        stop = min(start + 50_000, rows)
        r.table(TABLE).insert(r.range(start, stop).map(lambda i: {"id": i, "v": i})).run(conn, durability="soft")


def running_jobs(conn: Any) -> int:
    """Queries the server runs, besides the one asking."""
    jobs: int = r.db("rethinkdb").table("jobs").count().run(conn)
    return jobs - 1


# ---------------------------------------------------------------------------------------------------- the good client


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds per point get
    connects: list[float] = field(default_factory=list)  # seconds per fresh connection, handshake included
    failures: collections.Counter[str] = field(default_factory=collections.Counter)


class GoodClient:
    """The well-behaved client: connected once, before any hostile client (it reconnects only after a failure)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = authenticated(port, REPLY_TIMEOUT)
        self.gets = [start_payload(r.table(TABLE).get(i)) for i in range(100)]

    def measure(self, seconds: float) -> Sample:
        """`seconds` of a point get every INTERVAL, and of a fresh connection every CONNECT_EVERY."""
        sample, done = Sample(), threading.Event()
        prober = threading.Thread(target=_probe_connections, args=(self.port, done, sample))
        prober.start()
        next_at = time.perf_counter()
        end = next_at + seconds
        for token in range(1, MAX_QUERIES):
            if (now := time.perf_counter()) >= end:
                break
            time.sleep(max(0.0, next_at - now))
            next_at = max(next_at + INTERVAL, time.perf_counter())  # after a stall, no burst to catch up
            started = time.perf_counter()
            self._get(token, sample)
            sample.latencies.append(time.perf_counter() - started)
        done.set()
        prober.join()
        return sample

    def _get(self, token: int, sample: Sample) -> None:
        try:
            self.sock = self.sock or authenticated(self.port, REPLY_TIMEOUT)
            self.sock.sendall(frame(token, self.gets[token % 100]))
            reply = read_reply(self.sock)[1]
            if reply.get("t") != 1:
                sample.failures[f"point get: {describe(reply)}"] += 1
        except (ReqlError, OSError) as error:
            sample.failures[f"point get: {type(error).__name__}: {error}"[:100]] += 1
            if self.sock is not None:
                self.sock.close()
            self.sock = None


def _probe_connections(port: int, done: threading.Event, sample: Sample) -> None:
    while not done.wait(CONNECT_EVERY):
        started = time.perf_counter()
        try:
            r.connect(host=HOST, port=port, timeout=REPLY_TIMEOUT).close()
            sample.connects.append(time.perf_counter() - started)
        except (ReqlError, OSError) as error:
            sample.failures[f"connect: {type(error).__name__}: {error}"[:100]] += 1


@dataclass
class During:
    """One workload's figures."""

    workload: Workload
    sample: Sample
    sent: int  # by the hostile clients
    got: dict[str, int]  # by the hostile clients, by outcome
    connections: int  # connections the server held meanwhile, the well-behaved client's included
    quiet: float | None  # seconds from the stop to the server going quiet
    left: int  # queries still running once it went quiet
    peak_mb: float


def during(server: Server, conn: Any, good: GoodClient, key: str, seconds: float) -> During:
    command = [sys.executable, "-m", "benchmarks.hostile", "--crowd", key, "--port", str(server.port)]
    child = subprocess.Popen(
        [*command, "--limit", str(seconds + 60)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in child.stdout or ():
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    with contextlib.suppress(queue.Empty):
        lines.get(timeout=90)  # "ready"
    time.sleep(RAMP)
    sample = good.measure(seconds)
    stats = r.db("rethinkdb").table("stats").get(["cluster"])["query_engine"]["client_connections"]
    connections = stats.run(conn)
    stopped = time.perf_counter()
    with contextlib.suppress(OSError):
        child.stdin.write("stop\n")
        child.stdin.flush()
    try:
        report = json.loads(lines.get(timeout=60))
    except (queue.Empty, ValueError):
        report = {"sent": 0, "got": {"(no report from the hostile clients)": 1}}
    try:
        child.wait(30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    quiet = quiet_after(server, stopped)
    return During(
        WORKLOADS[key], sample, report["sent"], report["got"], connections, quiet, running_jobs(conn), server.peak_mb()
    )


# ---------------------------------------------------------------------------------------------------- stopping a query

WAYS = ("STOP", "connection closed", "job row deleted")
TOKEN = 7


def stop_query(conn: Any, sock: socket.socket, way: str) -> tuple[float, float]:
    """Stop the long query running on `sock` in `way`; when the stopping began and when it was done."""
    job = None
    if way == "job row deleted":
        port = sock.getsockname()[1]
        job = r.db("rethinkdb").table("jobs").filter(r.row["info"]["client_port"] == port).nth(0)["id"].run(conn)
    started = time.perf_counter()
    if way == "STOP":
        sock.sendall(frame(TOKEN, b"[%d]" % STOP))
    elif way == "connection closed":
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    else:
        r.db("rethinkdb").table("jobs").get(job).delete().run(conn)
    return started, time.perf_counter()


def long_query(port: int) -> socket.socket:
    sock = authenticated(port, 5.0)
    sock.sendall(frame(TOKEN, start_payload(FOREVER)))
    return sock


def cpu_used(schedstat: Path) -> str | None:
    """A thread's CPU time so far, as the kernel counts it; None once the thread has ended."""
    try:
        return schedstat.read_text()
    except FileNotFoundError:
        return None


def worker_free_after(server: Server, conn: Any, way: str) -> tuple[float, str]:
    """Seconds from stopping a long query in `way` until its worker thread stopped using CPU; what its client got."""
    sock = long_query(server.port)
    time.sleep(0.1)
    before = server.thread_cpu()
    time.sleep(0.3)
    after = server.thread_cpu()
    worker = server.tasks / max(after, key=lambda tid: after[tid] - before.get(tid, 0)) / "schedstat"
    started, done = stop_query(conn, sock, way)
    # A thread already idle freed while the stopping was under way; one that has ended (the server retires the
    # threads of long queries) is free from the moment it is gone.
    used, last_change = cpu_used(worker), done
    while used is not None and (now := time.perf_counter()) - last_change < 0.3 and now - started < 10:
        if (current := cpu_used(worker)) != used:
            used, last_change = current, now
        time.sleep(0.001)
    got = "-"
    if way != "connection closed":
        with contextlib.suppress(OSError, ValueError):
            got = ", ".join(describe(read_reply(sock)[1]) for _ in range(2 if way == "STOP" else 1))
        sock.close()
    return last_change - started, got


def job_gone_after(server: Server, conn: Any, way: str) -> float:
    """Seconds from stopping a long query in `way` until its job row is gone and a fresh point get answers."""
    sock = long_query(server.port)
    time.sleep(0.2)
    started, _ = stop_query(conn, sock, way)
    while running_jobs(conn) > 0 and time.perf_counter() - started < 10:
        pass
    r.table(TABLE).get(0).run(conn)
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed


def stop_timings(server: Server, conn: Any, trials: int) -> tuple[dict[str, dict[str, list[float]]], dict[str, str]]:
    """Per way: seconds until the worker was free (from /proc) and until the job's row was gone and a point get
    answered; and what the stopped query's client got."""
    figures: dict[str, dict[str, list[float]]] = {way: {"worker": [], "client": []} for way in WAYS}
    got: dict[str, str] = {}
    for _ in range(trials):
        for way in WAYS:
            if server.observable:
                seconds, got[way] = worker_free_after(server, conn, way)
                figures[way]["worker"].append(seconds)
            figures[way]["client"].append(job_gone_after(server, conn, way))
    return figures, got


# ---------------------------------------------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def print_latencies(alone: Sample, rows: list[tuple[str, Sample, During | None]]) -> None:
    print(f"well-behaved client: a point get every {INTERVAL * 1000:.0f} ms, a new connection every {CONNECT_EVERY} s")
    print(f"{'':34} {'gets':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} {'p99/alone':>9} "
          f"{'connect p50/max ms':>19} {'failed':>6} {'conns':>5} {'quiet ms':>8} {'peak MB':>7}")  # fmt: skip
    alone_p99 = percentile(alone.latencies, 0.99)
    for label, sample, figures in rows:
        lat, connects = sample.latencies, sample.connects
        p99 = percentile(lat, 0.99)
        connect = f"{ms(percentile(connects, 0.5))}/{ms(max(connects, default=None))}"
        extra = (
            f"{figures.connections:5} {ms(figures.quiet):>8} {figures.peak_mb:7.0f}"
            if figures
            else f"{'':5} {'':>8} {'':>7}"
        )
        print(f"{label:34} {len(lat):5} {percentile(lat, 0.5) * 1000:7.2f} {p99 * 1000:7.2f} "
              f"{max(lat, default=0) * 1000:8.1f} {p99 / alone_p99:8.1f}x {connect:>19} "
              f"{sum(sample.failures.values()):6} {extra}")  # fmt: skip
    print("p99/alone: against the lower p99 of the two alone runs (before and after the workloads)")
    print("conns = connections the server held during the workload; quiet = from stopping the hostile clients until")
    print(f"the server used under {QUIET_SHARE:.0%} of a CPU for {QUIET_WINDOW * 1000:.0f} ms; peak MB = its largest")
    print("resident size so far")
    for label, sample, figures in rows:
        for failure, count in sample.failures.most_common(3):
            print(f"  failed during {label}: {count} x {failure}")
        if figures is not None and figures.left:
            print(f"  after {label}: {figures.left} queries still running once the server was quiet")


def print_hostile(rows: list[tuple[str, Sample, During | None]]) -> None:
    print("\nwhat the hostile clients got (during the workload)")
    for label, _, figures in rows:
        if figures is None:
            continue
        outcomes = sorted(figures.got.items(), key=lambda item: -item[1])
        got = "; ".join(f"{count:,} x {outcome}" for outcome, count in outcomes[:4]) or "no reply yet"
        print(f"  {label}: {figures.sent:,} {figures.workload.sent}; got {got}")


def print_stops(figures: dict[str, dict[str, list[float]]], got: dict[str, str], trials: int) -> None:
    print(f"\nstopping `r.range(10**9).count()`, ms over {trials} trials (median / max)")
    print(f"{'':20} {'worker thread free':>20} {'job row gone + point get':>26}   the stopped client got")
    for way in WAYS:
        cells = [
            f"{ms(percentile(values, 0.5))} / {ms(max(values))}" if values else "n/a (no /proc)"
            for values in (figures[way]["worker"], figures[way]["client"])
        ]
        print(f"{way:20} {cells[0]:>20} {cells[1]:>26}   {got.get(way, '-')}")


def summary_rows(
    alone: Sample, rows: list[tuple[str, Sample, During | None]], stops: dict[str, dict[str, list[float]]]
) -> list[tuple[str, str, str, str, bool]]:
    """(figure, value, ratio, target, met) for each figure that has a target."""
    out = []
    alone_p99 = percentile(alone.latencies, 0.99)
    for label, sample, figures in rows:
        if figures is None:
            continue
        p99, worst = percentile(sample.latencies, 0.99), max(sample.latencies, default=float("inf"))
        out.append((f"p99 point get, {label}", f"{ms(p99)} ms", f"{p99 / alone_p99:.1f}x", f"<= {P99_TARGET:g}x",
                    p99 <= P99_TARGET * alone_p99))  # fmt: skip
        out.append((f"max point get, {label}", f"{ms(worst)} ms", "-", f"<= {STALL_TARGET:g} s",
                    worst <= STALL_TARGET))  # fmt: skip
    for way in WAYS:
        for view, name in (("worker", "worker thread free"), ("client", "job row gone + point get")):
            values = stops[way][view]
            if values:
                out.append((f"{way}: {name} (max)", f"{ms(max(values))} ms", "-",
                            f"<= {FREE_TARGET * 1000:.0f} ms", max(values) <= FREE_TARGET))  # fmt: skip
    return out


def print_summary(summary: list[tuple[str, str, str, str, bool]]) -> None:
    print(f"\n{'summary':56} {'value':>11} {'ratio':>7} {'target':>10}  met")
    for figure, value, ratio, target, met in summary:
        print(f"{figure:56} {value:>11} {ratio:>7} {target:>10}  {'yes' if met else 'NO'}")
    print(f"{sum(met for *_, met in summary)} of {len(summary)} targets met")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter: 2 s per workload, 50,000 rows, 3 trials")
    parser.add_argument("--seconds", type=float, help="how long the good client measures each workload (4)")
    parser.add_argument("--rows", type=int, help="rows of the table the long scans read (200,000)")
    parser.add_argument("--trials", type=int, help="long queries stopped in each way (5)")
    parser.add_argument("--crowd", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crowd:
        run_crowd(args.crowd, args.port, args.limit)
        return
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    rows = args.rows or (50_000 if args.quick else 200_000)
    trials = args.trials or (3 if args.quick else 5)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        server = Server(Path(directory))
        try:
            conn = r.connect(host=HOST, port=server.port)
            fill(conn, rows)
            print(f"server: this checkout's, pid {server.process.pid}; table `{TABLE}` of {rows:,} rows; "
                  f"{seconds:g} s per workload after {RAMP} s of ramp-up\n")  # fmt: skip
            good = GoodClient(server.port)
            alone = good.measure(seconds)
            results: list[tuple[str, Sample, During | None]] = [("alone", alone, None)]
            for key, workload in WORKLOADS.items():
                figures = during(server, conn, good, key, seconds)
                results.append((workload.label, figures.sample, figures))
            after = good.measure(seconds)
            results.append(("alone, after all", after, None))
            stops, got = stop_timings(server, conn, trials)
            conn.close()
        finally:
            server.stop()
    # The quieter of the two: the machine's other load only ever adds to a figure.
    baseline = min(alone, after, key=lambda sample: percentile(sample.latencies, 0.99))
    print_latencies(baseline, results)
    print_hostile(results)
    print_stops(stops, got, trials)
    print_summary(summary_rows(baseline, results, stops))
    print(f"(run took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

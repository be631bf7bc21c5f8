"""Who gets in, and how fast: a cap on connections, a deadline for the handshake, growing delays after failed logins,
and logs that a flood of bad clients cannot blow up.

Sockets that never finish their handshake cannot lock anyone out: at the cap, a newcomer takes the place of the
connection that has been in its handshake longest, and each of those is closed at its deadline anyway. A newcomer is
refused only when every connection has logged in; the refusal is a handshake error that the driver shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from rethink_widgets.server import wire

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 4096
HANDSHAKE_SECONDS = 10.0
# Failed logins from one address are answered at once FREE_FAILURES times; then each waits FIRST_DELAY, doubling up
# to MAX_DELAY, until a login from that address succeeds or it stays quiet for FAILURE_MEMORY_SECONDS.
FREE_FAILURES = 3
FIRST_DELAY = 0.5
MAX_DELAY = 4.0
FAILURE_MEMORY_SECONDS = 15 * 60.0
REMEMBERED_ADDRESSES = 10_000
# A refused socket stays open this long for its client to read the refusal and hang up (closing it with the client's
# bytes unread would reset the connection and lose the refusal); at most MAX_LINGERING at once.
REFUSAL_LINGER_SECONDS = 1.0
MAX_LINGERING = 64
# Descriptors kept free of connections: SQLite files and the listener (~100 with every worker reading), lingering
# refusals, and the sockets of a flood between their accept() and their admission or eviction (asyncio accepts up to
# 100 at a time, a few batches ahead). When accept() runs out of them, asyncio logs and retries in a tight loop.
RESERVED_DESCRIPTORS = 400
LOG_INTERVAL_SECONDS = 1.0


class ThrottledLog:
    """One kind of event, logged at most once per LOG_INTERVAL_SECONDS. The events left out meanwhile are summed up
    at the end of the interval: the latest of them, with how many more there were."""

    def __init__(self, level: int) -> None:
        self._level = level
        self._quiet_until = 0.0
        self._left_out = 0
        self._latest: tuple[str, tuple[Any, ...]] = ("", ())

    def __call__(self, message: str, *args: Any) -> None:
        if not log.isEnabledFor(self._level):
            return
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + LOG_INTERVAL_SECONDS
            log.log(self._level, message, *args)
            return
        if not self._left_out:
            asyncio.get_running_loop().call_later(self._quiet_until - now, self._sum_up)
        self._left_out += 1
        self._latest = (message, args)

    def _sum_up(self) -> None:
        message, args = self._latest
        if self._left_out > 1:
            message += " (and %d more like this since the last such line)"
            args = (*args, self._left_out - 1)
        self._left_out = 0
        self._quiet_until = time.monotonic() + LOG_INTERVAL_SECONDS
        log.log(self._level, message, *args)


class LoginFailures:
    """Failed logins in a row per client address, for the REMEMBERED_ADDRESSES most recent addresses."""

    def __init__(self) -> None:
        # address: (count, time of the last, until when answers to its failures are booked)
        self._failures: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def failed(self, address: str) -> tuple[int, float]:
        """Count a failure; returns the count and the seconds to wait before answering it.

        Delayed answers to one address are booked one after another, so guesses made in parallel, on many
        connections, are answered no faster than guesses made one at a time."""
        now = time.monotonic()
        count, last, booked = self._failures.pop(address, (0, now, now))
        if now - last > FAILURE_MEMORY_SECONDS:
            count, booked = 0, now
        count += 1
        delay = delay_after(count)
        answer_at = max(now, booked) + delay if delay else now
        self._failures[address] = (count, now, max(booked, answer_at))
        if len(self._failures) > REMEMBERED_ADDRESSES:
            self._failures.popitem(last=False)
        return count, answer_at - now

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


def delay_after(failures: int) -> float:
    """Seconds to hold back the answer to the given number of failed logins in a row."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY, FIRST_DELAY * 2.0 ** min(failures - FREE_FAILURES - 1, 16))  # counts grow without bound


def fit_descriptor_limit(wanted: int) -> int:
    """The connection cap that the open-file limit allows, after raising the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    allowed = max(soft // 4, soft - RESERVED_DESCRIPTORS)  # a very low limit still serves a few clients
    log.warning("the open-file limit (%d) allows %d connections at a time, not %d", soft, allowed, wanted)
    return allowed


def _peer(writer: asyncio.StreamWriter) -> tuple[str, str]:
    """The client's address, and address:port."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple):
        return str(peer[0]), f"{peer[0]}:{peer[1]}"
    return str(peer), str(peer)


class Admission:
    """The server's door: admits, refuses and authenticates connections."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS, handshake_seconds: float = HANDSHAKE_SECONDS) -> None:
        self.max_connections = max_connections
        self.handshake_seconds = handshake_seconds
        self.failures = LoginFailures()
        self._handshaking: dict[asyncio.StreamWriter, None] = {}  # in the order they connected
        self._lingering = 0
        self._log_probe = ThrottledLog(logging.DEBUG)
        self._log_failure = ThrottledLog(logging.INFO)
        self._log_delay = ThrottledLog(logging.WARNING)
        self._log_eviction = ThrottledLog(logging.WARNING)
        self._log_refusal = ThrottledLog(logging.WARNING)
        self._log_accept = ThrottledLog(logging.ERROR)

    def admits(self, open_connections: int) -> bool:
        """Whether a new connection may start its handshake; at the cap, the one longest in its handshake makes room."""
        if open_connections < self.max_connections:
            return True
        if not self._handshaking:
            return False
        oldest = next(iter(self._handshaking))
        del self._handshaking[oldest]
        self._log_eviction(
            "%d connections open (--max-connections): closed %s, the longest in its handshake, to admit a new one",
            open_connections,
            _peer(oldest)[1],
        )
        oldest.transport.abort()
        return True

    async def refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Tell a client over the cap why it cannot connect, and hang up."""
        self._log_refusal(
            "refused a connection from %s: all %d connections are in use (--max-connections)",
            _peer(writer)[1],
            self.max_connections,
        )
        writer.write(wire.refusal(
            f"Too many connections: the server accepts {self.max_connections} at a time (--max-connections). "
            "Try again later."
        ))  # fmt: skip
        if self._lingering < MAX_LINGERING:
            self._lingering += 1
            try:
                writer.write_eof()
                async with asyncio.timeout(REFUSAL_LINGER_SECONDS):
                    while await reader.read(64 * 1024):
                        pass
            except (TimeoutError, ConnectionError):
                pass
            finally:
                self._lingering -= 1
        writer.close()

    async def authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        credentials_of: Callable[[str], dict[str, Any] | None],
    ) -> str | None:
        """The user name once the handshake succeeds within the deadline; None once a failure is answered."""
        address, peer = _peer(writer)
        self._handshaking[writer] = None
        try:
            async with asyncio.timeout(self.handshake_seconds):
                user = await wire.handshake(reader, writer, credentials_of)
        except TimeoutError:
            self._log_failure("handshake with %s failed: not done within %g s", peer, self.handshake_seconds)
            writer.write(wire.refusal(f"No login within {self.handshake_seconds:g} s (--handshake-timeout)."))
            return None
        except wire.ClientClosed as error:
            self._log_probe("handshake with %s failed: %s", peer, error)
            return None
        except wire.LoginFailed as failure:
            await self._answer_failed_login(writer, address, peer, failure)
            return None
        except wire.HandshakeError as error:
            self._log_failure("handshake with %s failed: %s", peer, error)
            return None
        except ConnectionError:
            return None
        finally:
            self._handshaking.pop(writer, None)
        self.failures.succeeded(address)
        return user

    async def _answer_failed_login(
        self, writer: asyncio.StreamWriter, address: str, peer: str, failure: wire.LoginFailed
    ) -> None:
        count, delay = self.failures.failed(address)
        if delay:
            self._log_delay(
                "login from %s failed (%s), %d failures in a row from %s: answering in %g s",
                peer,
                failure,
                count,
                address,
                delay,
            )
            await asyncio.sleep(delay)  # still evictable meanwhile: it counts as a handshake in progress
        else:
            self._log_failure("handshake with %s failed: %s", peer, failure)
        if not writer.is_closing():
            writer.write(failure.reply)

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """asyncio's handler, except that running out of descriptors in accept() is one line a second, not a
        traceback per attempt."""
        if context.get("message") == "socket.accept() out of system resource":
            self._log_accept("cannot accept connections: %s", context.get("exception"))
        else:
            loop.default_exception_handler(context)

"""Taking a client's query frames as they arrive, once the handshake is done.

The bytes go from the socket's protocol straight to `Receiver`, which cuts them into frames and hands each to the
connection at once, in the same turn of the event loop: no task wakes up for a frame, so a small query answered on
the loop (see inline.py) costs a single turn. Frames that arrive together are handled together, and their replies
leave in one send. Two limits keep a client from taking more than its share:

- after `inline.SLICE` of handling, the receiver stops reading and lets the loop go, and goes on in a later turn;
- while the client does not read its replies (more than the socket's buffer holds wait to be sent), it reads
  nothing more from it.

A frame announcing more than RethinkDB accepts is refused, as RethinkDB refuses it: its bytes are read and dropped
for a while (so that a client still sending it reads the refusal, not a broken pipe), then the refusal is sent and
the connection ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

from rethink_widgets.server import inline, wire


class Receiver:
    def __init__(
        self,
        writer: asyncio.StreamWriter,
        dispatch: Callable[[int, bytes], None],
        answered: Callable[[], None],
        refused: Callable[[wire.FrameTooLarge], None],
    ) -> None:
        self._writer = writer
        self._transport = cast(asyncio.Transport, writer.transport)  # (a socket's: it reads too)
        self._dispatch = dispatch  # handles one frame
        self._answered = answered  # called after frames were handled: their replies go out
        self._refused = refused  # sends the refusal of a frame too large
        self._frames = wire.Frames()
        self._held = False  # reading paused: the loop was let go, or the client reads nothing
        self._drainer: asyncio.Task[None] | None = None
        self._too_large: wire.FrameTooLarge | None = None
        self._to_drop = 0  # bytes of a frame too large still to read and drop
        self._refusal_due: asyncio.TimerHandle | None = None
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def receive(self, reader: asyncio.StreamReader) -> None:
        """Handle frames until the client's side ends (or a frame too large was refused)."""
        protocol = self._transport.get_protocol()
        if not isinstance(protocol, wire.ClientProtocol):
            raise TypeError(f"a client's socket has a {type(protocol).__name__}")
        protocol.hand_over(self._received, self._end)
        reader.feed_eof()  # the stream is done with: what it still holds is read now, and nothing more comes to it
        self._received(await reader.read())
        try:
            await self._ended
        finally:
            for pending in (self._drainer, self._refusal_due):
                if pending is not None:
                    pending.cancel()

    def more_waiting(self) -> bool:
        """Whether bytes of another frame were received: the client sent more than the frame now handled."""
        return self._frames.waiting()

    def _received(self, data: bytes) -> None:
        if self._too_large is not None:
            self._drop(len(data))
            return
        self._frames.add(data)
        if not self._held:
            self._handle()

    def _handle(self) -> None:
        self._held = False
        since = time.monotonic()
        try:
            while time.monotonic() - since <= inline.SLICE:
                frame = self._frames.next()
                if frame is None:
                    break
                self._dispatch(*frame)
            else:  # the slice is used up: others get the loop first
                self._hold()
                asyncio.get_running_loop().call_soon(self._resume)
        except wire.FrameTooLarge as error:
            self._refuse(error)
        finally:
            self._answered()
        if not self._held and self._too_large is None:
            high = self._transport.get_write_buffer_limits()[1]
            if self._transport.get_write_buffer_size() > high:
                self._hold()
                self._drainer = asyncio.ensure_future(self._drain())

    def _hold(self) -> None:
        self._held = True
        self._transport.pause_reading()

    def _resume(self) -> None:
        if self._ended.done():
            return
        self._transport.resume_reading()
        self._handle()

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except ConnectionError:
            return  # (the protocol ends the receiver)
        self._resume()

    def _refuse(self, error: wire.FrameTooLarge) -> None:
        self._too_large = error
        if error.size >= wire.MAX_SKIPPED_BYTES:  # absurdly large: not worth reading
            self._send_refusal()
            return
        self._to_drop = error.size
        self._refusal_due = asyncio.get_running_loop().call_later(wire.SKIP_SECONDS, self._send_refusal)
        self._drop(self._frames.drop(error.size))

    def _drop(self, count: int) -> None:
        self._to_drop -= count
        if self._to_drop <= 0:
            self._send_refusal()

    def _send_refusal(self) -> None:
        if self._too_large is not None and not self._ended.done():
            self._refused(self._too_large)
            self._end()

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

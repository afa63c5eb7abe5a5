"""The stdio transport, and the per-connection machinery every transport shares.

stdio: one JSON message per line on stdin, replies and notifications one per line on stdout.

Every transport runs a connection the same way (as Codex's app server does):

* :class:`Dispatcher`: messages are handled in arrival order until ``initialize`` succeeds;
  after that, requests run concurrently, except that requests naming the same thread
  (``params.threadId``) run one after the other in arrival order, across all connections of
  the server (:class:`ThreadLanes`), so a thread's replies and notifications keep the order of
  its requests. At most :data:`MAX_IN_FLIGHT` requests of a connection are pending; beyond
  that the transport stops reading. A message whose handling raises is dropped (logged), the
  connection goes on.
* :class:`Outbox`: outgoing messages go through one queue and one writer task, so each
  message is written whole and in the order it was sent.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import BinaryIO

from threadloom.errors import ThreadloomError
from threadloom.ids import parse_thread_id
from threadloom.server import rpc
from threadloom.server.app import AppServer
from threadloom.server.connection import Connection

log = logging.getLogger(__name__)

MAX_LINE = 256 << 20
"""Longer lines are dropped (read through and ignored), the connection stays usable."""
MAX_IN_FLIGHT = 128
"""Requests of one connection received and not yet answered, before reading pauses."""
STDIO_OUTBOX = 1024
"""Messages queued for stdout before senders wait (stdio never drops its only client)."""


# --- shared by the transports ---------------------------------------------------------------------
class ThreadLanes:
    """Runs work keyed by thread one item at a time per key, in submission order.

    One instance per server: requests about the same thread from any connection queue up
    behind each other; work without a key runs at once.
    """

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Task[None]] = {}

    def start(
        self, key: Hashable | None, work: Callable[[], Awaitable[None]]
    ) -> asyncio.Task[None]:
        """A task running ``work()`` once every earlier task of ``key`` has finished."""
        if key is None:
            return asyncio.create_task(_call(work))
        previous = self._tails.get(key)
        task = asyncio.create_task(_after(previous, work))
        self._tails[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(key) is done:
                del self._tails[key]

        task.add_done_callback(forget)
        return task

    def __len__(self) -> int:
        return len(self._tails)


async def _call(work: Callable[[], Awaitable[None]]) -> None:
    await work()


async def _after(previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]) -> None:
    if previous is not None:
        await asyncio.wait([previous])  # its outcome is its own business
    await work()


def thread_key(params: object) -> Hashable | None:
    """The lane of a request: the thread it names (``threadId``, else ``path``), or None."""
    if not isinstance(params, dict):
        return None
    thread_id = params.get("threadId")
    if isinstance(thread_id, str) and thread_id:
        try:
            return ("thread", parse_thread_id(thread_id))
        except ThreadloomError:
            return ("thread", thread_id)  # refused anyway; any lane will do
    path = params.get("path")
    if isinstance(path, str) and path:
        return ("path", path)
    return None


class Dispatcher:
    """Feeds one connection's incoming messages to the server (see the module docstring)."""

    def __init__(
        self,
        server: AppServer,
        conn: Connection,
        lanes: ThreadLanes | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.server = server
        self.conn = conn
        self.lanes = lanes if lanes is not None else ThreadLanes()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, data: bytes | str) -> None:
        """Handle ``data`` (one message); returns once it runs or is queued."""
        if not self.conn.initialized:
            await self._handle(data)  # the handshake is strictly in order
            return
        try:
            message = rpc.parse(data)
        except Exception:  # a decoder failure the parser does not turn into None
            log.warning("dropping an undecodable message", exc_info=True)
            return
        if not isinstance(message, rpc.Request):
            if message is not None:
                await self._handle_parsed(message)
            return
        await self._slots.acquire()
        request = message
        task = self.lanes.start(thread_key(request.params), lambda: self._handle_parsed(request))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(self, data: bytes | str) -> None:
        try:
            await self.server.receive(self.conn, data)
        except Exception:
            log.exception("dropping a message whose handling failed")

    async def _handle_parsed(self, message: rpc.Incoming) -> None:
        try:
            await self.server.receive_parsed(self.conn, message)
        except Exception:
            log.exception("dropping a message whose handling failed")

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every request submitted so far is answered."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))


Write = Callable[[Sequence[bytes]], Awaitable[None]]


class Outbox:
    """A connection's outgoing messages, written in order by one writer task.

    ``write`` receives the messages queued so far (at least one). When the queue holds
    ``limit`` messages, ``send`` waits for room; with ``on_overflow`` set it calls that
    instead and drops the message (a client that stops reading must not stall the server:
    ``on_overflow`` closes its connection). After :meth:`close`, an overflow or a failed
    write, messages are dropped.
    """

    def __init__(
        self,
        write: Write,
        limit: int,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(limit)
        self._on_overflow = on_overflow
        self.closed = False
        self.overflowed = False
        self._failed = False
        self._writer = asyncio.create_task(self._run())

    async def send(self, data: bytes) -> None:
        if self.closed:
            return
        if self._on_overflow is not None and self._queue.full():
            self.overflowed = self.closed = True
            self._on_overflow()
            return
        await self._queue.put(data)

    async def _run(self) -> None:
        end = False
        while not end:
            item = await self._queue.get()
            batch: list[bytes] = []
            while item is not None:
                batch.append(item)
                if self._queue.empty():
                    break
                item = self._queue.get_nowait()
            end = item is None
            if batch and not self._failed:
                try:
                    await self._write(batch)
                except Exception as exc:  # the peer went away: drop the rest
                    log.info("stopped writing to a connection: %r", exc)
                    self._failed = self.closed = True

    async def close(self) -> None:
        """No more messages: write what is queued, then stop."""
        self.closed = True
        if self._writer.done():
            return
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            await self._queue.put(None)
        await self._writer

    def abort(self) -> None:
        """Stop at once, dropping what is queued."""
        self.closed = True
        self._writer.cancel()


# --- stdio ----------------------------------------------------------------------------------------
async def serve_stdio(
    server: AppServer,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    lanes: ThreadLanes | None = None,
) -> None:
    """Serve one connection on stdin/stdout until stdin closes (and every reply is written)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE, loop=loop)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), stdin or sys.stdin
    )
    out = stdout or sys.stdout.buffer

    def write_lines(batch: Sequence[bytes]) -> None:
        out.write(b"".join(data + b"\n" for data in batch))
        out.flush()

    async def write(batch: Sequence[bytes]) -> None:
        await asyncio.to_thread(write_lines, batch)  # a full pipe must not block the loop

    outbox = Outbox(write, STDIO_OUTBOX)
    conn = server.connect(outbox.send)
    dispatcher = Dispatcher(server, conn, lanes)
    try:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    await dispatcher.submit(exc.partial)
                break
            except asyncio.LimitOverrunError as exc:
                await _skip_line(reader, exc.consumed)
                continue
            if line.strip():
                await dispatcher.submit(line)
        await dispatcher.drain()
        await outbox.close()
    finally:
        outbox.abort()
        await server.disconnect(conn)


async def _skip_line(reader: asyncio.StreamReader, consumed: int) -> None:
    """Drop an over-long line without holding it in memory."""
    await reader.readexactly(consumed)
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError:
            return

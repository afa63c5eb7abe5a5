"""The ordered, batched, bounded background writer of one live thread.

``put`` accepts lines without waiting for the store; one drain task at a time writes what
is queued, oldest first, in batches. The queue is bounded: when it is full, ``put`` waits
(in arrival order) until the writer catches up. A failed write keeps its batch at the head
of the queue and pauses writing; the failure is raised to the next caller (or to the
``wait`` calls in progress), and the call after that retries. Stores write a batch all or
nothing, so a retry never duplicates lines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from threadloom.errors import Conflict, WriteFailed
from threadloom.protocol.rollout import RolloutLine

WriteFn = Callable[[list[RolloutLine], list[bytes], bool], Awaitable[None]]
"""``write(batch, encoded, sync)``: append ``batch`` (possibly empty; ``encoded`` holds each
line's bytes) and, if ``sync``, make it durable."""

DEFAULT_MAX_PENDING = 65_536
"""Lines accepted but not yet written, at most (whatever their size)."""
DEFAULT_MAX_PENDING_BYTES = 64 << 20
"""Bytes of lines accepted but not yet written, at most (a single larger put is let in alone)."""
DEFAULT_MAX_BATCH = 4096


class WriteQueue:
    """Lines accepted but not yet written, and the task writing them."""

    __slots__ = (
        "_admission",
        "_encoded",
        "_failure",
        "_paused",
        "_pending",
        "_pending_bytes",
        "_room",
        "_stopped",
        "_task",
        "_waiters",
        "_waiting",
        "_write",
        "accepted",
        "durable",
        "max_batch",
        "max_pending",
        "max_pending_bytes",
        "thread_id",
        "written",
    )

    def __init__(
        self,
        thread_id: str,
        write: WriteFn,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.thread_id = thread_id
        self._write = write
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.max_batch = max_batch
        self.accepted = 0
        """Lines accepted so far."""
        self.written = 0
        """Lines handed to the store (readable through it)."""
        self.durable = 0
        """Lines known to be durable."""
        self._pending: list[RolloutLine] = []
        self._encoded: list[bytes] = []
        self._pending_bytes = 0
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._paused = False
        self._stopped: str | None = None
        self._waiters: list[tuple[int, bool, asyncio.Future[None]]] = []
        self._admission: asyncio.Lock | None = None
        self._waiting = 0
        """Puts waiting for room: a new put goes behind them."""
        self._room: asyncio.Event | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def check(self) -> None:
        """Raise a failure nobody has been told about yet (once), or refuse if stopped."""
        if self._stopped is not None:
            raise Conflict(f"thread {self.thread_id} was {self._stopped}", self.thread_id)
        failure, self._failure = self._failure, None
        if failure is not None:
            raise self._wrap(failure)

    async def put(self, lines: list[RolloutLine], encoded: list[bytes]) -> None:
        """Queue lines (and their encodings) behind every line accepted before them; wait
        while the queue is full."""
        self.check()
        if not lines:
            return
        size = sum(map(len, encoded))
        if not self._waiting and self._has_room(len(lines), size):
            self._enqueue(lines, encoded, size)
            return
        if self._admission is None:
            self._admission = asyncio.Lock()
        if self._room is None:
            self._room = asyncio.Event()
        self._waiting += 1
        try:
            async with self._admission:
                while not self._has_room(len(lines), size):
                    self.check()
                    self._room.clear()
                    self._kick()
                    await self._room.wait()
                self.check()
                self._enqueue(lines, encoded, size)
        finally:
            self._waiting -= 1

    async def wait(self, *, durable: bool) -> None:
        """Return once every line accepted so far is written (``durable``: and durable)."""
        self.check()
        target = self.accepted
        if (self.durable if durable else self.written) >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, durable, future))
        self._kick()
        await future

    async def stop(self, reason: str) -> None:
        """Drop what is not yet written, let a write in progress end, and refuse further use."""
        if self._stopped is not None:
            return
        self._stopped = reason
        self._pending.clear()
        self._encoded.clear()
        self._pending_bytes = 0
        error = Conflict(f"thread {self.thread_id} was {reason}", self.thread_id)
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(error)
        self._waiters.clear()
        if self._room is not None:
            self._room.set()
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    # --- internals ----------------------------------------------------------------------
    def _has_room(self, count: int, size: int) -> bool:
        return not self._pending or (
            len(self._pending) + count <= self.max_pending
            and self._pending_bytes + size <= self.max_pending_bytes
        )

    def _enqueue(self, lines: list[RolloutLine], encoded: list[bytes], size: int) -> None:
        self._pending.extend(lines)
        self._encoded.extend(encoded)
        self._pending_bytes += size
        self.accepted += len(lines)
        self._kick()

    def _kick(self) -> None:
        self._paused = False
        if self._task is None and self._stopped is None and (self._pending or self._waiters):
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while not self._paused and self._stopped is None:
                need_sync = any(d and t > self.durable for t, d, _ in self._waiters)
                count = min(len(self._pending), self.max_batch)
                if count == 0 and not need_sync:
                    break
                end = self.written + count
                sync = need_sync and (
                    count == len(self._pending) or any(d and t <= end for t, d, _ in self._waiters)
                )
                batch, encoded = self._pending[:count], self._encoded[:count]
                try:
                    await self._write(batch, encoded, sync)
                except Exception as exc:
                    self._fail(exc)
                    return
                if self._stopped is not None:
                    return
                del self._pending[:count]
                del self._encoded[:count]
                self._pending_bytes -= sum(map(len, encoded))
                self.written = end
                if sync:
                    self.durable = end
                if self._room is not None:
                    self._room.set()
                self._notify()
        finally:
            self._task = None

    def _notify(self) -> None:
        still: list[tuple[int, bool, asyncio.Future[None]]] = []
        for target, durable, future in self._waiters:
            if future.done():
                continue
            if target <= (self.durable if durable else self.written):
                future.set_result(None)
            else:
                still.append((target, durable, future))
        self._waiters = still

    def _fail(self, exc: BaseException) -> None:
        self._paused = True
        waiters = [f for _, _, f in self._waiters if not f.done()]
        self._waiters = []
        if waiters:
            for future in waiters:
                future.set_exception(self._wrap(exc))
        else:
            self._failure = exc
        if self._room is not None:
            self._room.set()

    def _wrap(self, exc: BaseException) -> WriteFailed:
        error = WriteFailed(self.thread_id, exc, len(self._pending))
        error.__cause__ = exc
        return error

"""Writer claims: one live writer per thread across every process, held as a lease.

A thread's writer holds a lease in ``writers`` (owner, thread id, a random holder id, an
expiry on the server's clock). Claiming inserts the row, or takes over one whose lease has
expired; otherwise the claim fails with Conflict. The store renews its leases from a
background task (every third of the lease), so a live writer keeps its thread however long
it idles, and a crashed one loses it one lease after its last renewal. Leases survive server
restarts and need no held connection, so any number of threads can be open through a small
pool. Every write checks, in the statement that commits its new summary, that its writer
still holds the lease (``Claims.guard``): a writer whose lease was taken over cannot write.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from threadloom.errors import Conflict, ThreadloomError
from threadloom.ids import ThreadId
from threadloom.store.postgres.db import Conn, Database
from threadloom.store.postgres.rows import ThreadRow


def active_writer(thread_id: str) -> Conflict:
    return Conflict(f"thread {thread_id} already has an active writer", thread_id)


@dataclass(slots=True)
class Writer:
    """This process's writer of one thread.

    ``pending``: a created thread not yet stored (its row, key 0, holding its session_meta,
    and that line's bytes). ``row``: the row as last written by this writer (None: read it).
    """

    thread_id: ThreadId
    holder: str
    paginated: bool = False
    pending: ThreadRow | None = None
    pending_raw: bytes = b""
    row: ThreadRow | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lost: bool = False
    sent: tuple[int, list[bytes]] | None = None
    """Lines sent since the last acknowledged write (first sequence number, bytes): their
    commit may have happened (see ``StoreCore._write``)."""


class Claims:
    """The writer leases of one store (one owner), renewed in the background."""

    def __init__(self, db: Database, owner: str, lease_s: float) -> None:
        self.db = db
        self.owner = owner
        self.lease_s = lease_s
        self.session = str(uuid.uuid4())
        self.writers: dict[ThreadId, Writer] = {}
        self._claiming: set[ThreadId] = set()
        self._task: asyncio.Task[None] | None = None

    async def claim(self, thread_id: ThreadId) -> Writer:
        """Take the writer lease of a thread (Conflict if another live writer has it)."""
        if thread_id in self.writers or thread_id in self._claiming:
            raise active_writer(thread_id)
        holder = str(uuid.uuid4())
        writer = Writer(thread_id, holder)
        self._claiming.add(thread_id)

        async def take(conn: Conn) -> bool:  # safe to run twice (the session may retake)
            cur = await conn.execute(
                "INSERT INTO writers (owner, thread_id, holder, session, expires_at)"
                " VALUES (%s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s))"
                " ON CONFLICT (owner, thread_id) DO UPDATE SET holder = EXCLUDED.holder,"
                " session = EXCLUDED.session, expires_at = EXCLUDED.expires_at"
                " WHERE writers.expires_at < clock_timestamp()"
                # this store's own lease, left by a claim or a release whose answer was
                # lost with its connection: nobody else can hold it
                " OR writers.session = EXCLUDED.session"
                " RETURNING holder",
                (self.owner, thread_id, holder, self.session, self.lease_s),
            )
            return await cur.fetchone() is not None

        try:
            won = await self.db.read(take)
        finally:
            self._claiming.discard(thread_id)
        if not won:
            raise active_writer(thread_id)
        self.writers[thread_id] = writer
        self._start_heartbeat()
        return writer

    async def release(self, writer: Writer) -> None:
        """Give the lease up (the writer is forgotten even if the database is out of reach;
        its lease then expires, or this store takes it again)."""
        if self.writers.get(writer.thread_id) is writer:
            del self.writers[writer.thread_id]

        async def drop(conn: Conn) -> None:  # safe to run twice
            await conn.execute(
                "DELETE FROM writers WHERE owner = %s AND thread_id = %s AND holder = %s",
                (self.owner, writer.thread_id, writer.holder),
            )

        await self.db.read(drop)

    def guard(self, writer: Writer) -> tuple[str, list[Any]]:
        """A WHERE term (and its arguments) true while ``writer`` holds its lease, for the
        statement that commits a write; it keeps the lease from being taken over until the
        transaction ends."""
        return (
            "EXISTS (SELECT 1 FROM writers w WHERE w.owner = %s AND w.thread_id = %s"
            " AND w.holder = %s FOR SHARE)",
            [self.owner, writer.thread_id, writer.holder],
        )

    def lost(self, writer: Writer) -> Conflict:
        """The error of a write whose writer's lease was taken over (it cannot write again)."""
        writer.lost = True
        return Conflict(
            f"thread {writer.thread_id} is no longer held by this writer (its lease"
            " expired and another writer took it over)",
            writer.thread_id,
        )

    async def renew(self, conn: Conn, writer: Writer) -> None:
        """Check (and extend) the writer's lease inside the caller's transaction; Conflict
        when another writer took the thread over."""
        cur = await conn.execute(
            "UPDATE writers SET expires_at = clock_timestamp() + make_interval(secs => %s)"
            " WHERE owner = %s AND thread_id = %s AND holder = %s RETURNING 1",
            (self.lease_s, self.owner, writer.thread_id, writer.holder),
        )
        if await cur.fetchone() is None:
            raise self.lost(writer)

    @staticmethod
    async def held(conn: Conn, owner: str, thread_id: str) -> bool:
        """Does any live writer (of any process) hold the thread?"""
        cur = await conn.execute(
            "SELECT 1 FROM writers WHERE owner = %s AND thread_id = %s"
            " AND expires_at >= clock_timestamp()",
            (owner, thread_id),
        )
        return await cur.fetchone() is not None

    def _start_heartbeat(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        """Renew every lease of this store, a third of a lease apart, while it has writers.

        A lease that was taken over meanwhile is not renewed (its holder changed); its
        writer finds out on its next write.
        """
        while self.writers:
            await asyncio.sleep(self.lease_s / 3)
            if not self.writers:
                return
            with contextlib.suppress(ThreadloomError):
                async with self.db.connection() as conn:
                    await conn.execute(
                        "UPDATE writers SET expires_at = clock_timestamp()"
                        " + make_interval(secs => %s) WHERE session = %s"
                        " AND holder = ANY(%s::uuid[])",
                        (self.lease_s, self.session, [w.holder for w in self.writers.values()]),
                    )

    async def close(self) -> None:
        """Stop renewing and give every lease up."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        writers = list(self.writers.values())
        self.writers.clear()
        if writers:
            with contextlib.suppress(ThreadloomError):
                async with self.db.connection() as conn:
                    await conn.execute(
                        "DELETE FROM writers WHERE owner = %s AND session = %s",
                        (self.owner, self.session),
                    )

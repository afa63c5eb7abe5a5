"""What every part of the PostgreSQL store shares: its settings, rows, snapshots and writes.

``StoreCore`` holds the pool, the owner and the writer claims, and the two paths every
operation takes: reading a thread (its row and, when asked, its lines, in one snapshot) and
writing lines through the thread's writer (atomically: an append to a known row is one
statement, one round trip; a large one a transaction whose lines are copied).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from threadloom.errors import Conflict, ThreadloomError
from threadloom.ids import ThreadId
from threadloom.protocol.rollout import HistoryMode
from threadloom.store.postgres.claims import Claims, Writer
from threadloom.store.postgres.db import Conn, Database
from threadloom.store.postgres.rows import THREAD_COLUMNS, ThreadRow
from threadloom.store.postgres.schema import DEFAULT_SCHEMA
from threadloom.store.postgres.writer import (
    COPY_FROM,
    Prepared,
    append_batch,
    apply,
    close_torn,
    insert_row,
    not_found,
    record_key,
    select_row,
    store_batch,
    update_guarded,
)
from threadloom.store.records import StoredThread, StoredThreadHistory

LinesFn = Callable[[ThreadRow], list[Prepared]]

READABLE = "NOT i.bad"
"""Which stored lines a snapshot reads: those readers read (the default)..."""
EVERY = "true"
"""...all of them (a copied file's blank, malformed and torn lines too)..."""
FOR_FORK = "(NOT i.bad OR t.history_mode = 'paginated')"
"""...all of a paginated thread's (its fork measures the file), a legacy one's readable."""

TAIL_IN_ONE_STATEMENT = 100
"""A tail of at most this many lines is read with its row in one statement (an array)."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class StoreCore:
    """The state and the shared paths of a PostgresThreadStore."""

    def __init__(
        self,
        url: str,
        *,
        owner: str = "default",
        schema: str = DEFAULT_SCHEMA,
        default_provider: str = "openai",
        min_pool_size: int = 1,
        max_pool_size: int = 10,
        pool_timeout: float = 30.0,
        writer_lease_s: float = 30.0,
        upgrade: bool = True,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not owner:
            raise ValueError("owner must not be empty")
        self.owner = owner
        self.default_provider = default_provider
        self.db = Database(
            url,
            schema=schema,
            min_size=min_pool_size,
            max_size=max_pool_size,
            timeout=pool_timeout,
            upgrade=upgrade,
        )
        self.claims = Claims(self.db, owner, writer_lease_s)
        self._clock = clock or _now_ms

    # --- rows -----------------------------------------------------------------------------
    def _record(
        self, row: ThreadRow, *, history: StoredThreadHistory | None = None
    ) -> StoredThread:
        return row.record(default_provider=self.default_provider, history=history)

    async def _row(
        self, conn: Conn, thread_id: str, *, include_archived: bool = True, lock: str = ""
    ) -> ThreadRow:
        row = await select_row(conn, self.owner, thread_id, lock=lock)
        if row is None or (row.archived and not include_archived):
            raise not_found(thread_id)
        return row

    async def _exists(self, thread_id: str) -> bool:
        async def run(conn: Conn) -> bool:
            cur = await conn.execute(
                "SELECT 1 FROM threads WHERE owner = %s AND thread_id = %s",
                (self.owner, thread_id),
            )
            return await cur.fetchone() is not None

        return await self.db.read(run)

    # --- reading ------------------------------------------------------------------------
    async def _stored(self, thread_id: str) -> StoredThread:
        """The thread as read now (``thread/read`` without its history)."""
        row, _ = await self._snapshot(thread_id, include_archived=True, history=False)
        return self._record(row)

    async def _snapshot(
        self,
        thread_id: str,
        *,
        include_archived: bool,
        last: int | None = None,
        history: bool,
        lines: str = READABLE,
    ) -> tuple[ThreadRow, list[bytes] | None]:
        """A thread's row and (``history``) the bytes of its lines (the ``last`` of them), in
        order, read in one snapshot; ``lines`` says which lines count (``READABLE``,
        ``EVERY``, ``FOR_FORK``)."""
        if not history or last == 0:
            row = await self.db.read(
                lambda conn: self._row(conn, thread_id, include_archived=include_archived)
            )
            return row, [] if history else None
        if last is not None and last <= TAIL_IN_ONE_STATEMENT:
            return await self.db.read(
                lambda conn: self._tail(conn, thread_id, include_archived, last, lines)
            )

        async def run(conn: Conn) -> tuple[ThreadRow, list[bytes] | None]:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                row = await self._row(conn, thread_id, include_archived=include_archived)
                every = lines == EVERY or (
                    lines == FOR_FORK and row.history_mode == HistoryMode.PAGINATED
                )
                return row, await _lines(conn, row, last, every=every)

        return await self.db.read(run)

    async def _tail(
        self, conn: Conn, thread_id: str, include_archived: bool, last: int, lines: str
    ) -> tuple[ThreadRow, list[bytes]]:
        """A thread's row and its last lines, in one statement (one round trip)."""
        cur = conn.cursor(binary=True)
        await cur.execute(
            f"SELECT {THREAD_COLUMNS}, (SELECT array_agg(z.line ORDER BY z.seq) FROM"
            f" (SELECT i.seq, i.line FROM items i WHERE i.thread_key = t.key AND {lines}"
            " ORDER BY i.seq DESC LIMIT %s) z)"
            " FROM threads t WHERE t.owner = %s AND t.thread_id = %s".encode(),
            (last, self.owner, thread_id),
        )
        found = await cur.fetchone()
        if found is None:
            raise not_found(thread_id)
        row = ThreadRow.from_db(found)
        if row.archived and not include_archived:
            raise not_found(thread_id)
        return row, list(found[-1] or ())

    # --- writing ------------------------------------------------------------------------
    def _writer(self, thread_id: str) -> Writer | None:
        return self.claims.writers.get(ThreadId(thread_id))

    async def _release(self, writer: Writer, *, quiet: bool = False) -> None:
        if quiet:
            with contextlib.suppress(ThreadloomError):
                await self.claims.release(writer)
        else:
            await self.claims.release(writer)

    async def _write(
        self,
        writer: Writer,
        lines: list[Prepared] | LinesFn,
        *,
        key: str | None = None,
        activity: bool = True,
    ) -> ThreadRow:
        """Write lines through the thread's writer (materialising it first if needed),
        atomically; ``lines`` may be computed from the row as it is when the write starts.
        ``activity``: the lines may be activity (they move ``recency_at`` when they change
        the summary's ``activity_mark``)."""
        async with writer.lock:
            if writer.lost:
                raise Conflict(
                    f"thread {writer.thread_id} is no longer held by this writer",
                    writer.thread_id,
                )
            cached = writer.row
            try:
                if cached is None or writer.pending is not None or key or cached.torn_tail:
                    async with self.db.transaction() as conn:
                        row = await self._write_locked(conn, writer, lines, key, activity)
                else:
                    row = await self._append(writer, cached.copy(), lines, activity)
            except BaseException:
                writer.row = None  # the commit may or may not have happened: read it again
                raise
            writer.row = row
            writer.pending = None
            writer.sent = None
            return row

    async def _append(
        self, writer: Writer, row: ThreadRow, lines: list[Prepared] | LinesFn, activity: bool
    ) -> ThreadRow:
        """Append to a stored thread whose row the writer knows: one statement, which checks
        the writer's lease and writes everything or nothing (the common case of ``_write``);
        a large batch, one transaction (its lines copied, its lease checked first)."""
        todo = _unsent(writer, row, lines(row) if callable(lines) else lines)
        if not todo:
            return row
        before = row.state.activity_mark()
        batch = apply(row, todo, writer.paginated)
        row.updated_ms = self._clock()
        if activity and row.state.activity_mark() != before:
            row.recency_ms = row.updated_ms
        guard = self.claims.guard(writer)
        if len(batch.raws) >= COPY_FROM:  # a large batch: a transaction, its lines copied
            async with self.db.transaction() as conn:
                if not await update_guarded(conn, row, guard):
                    raise self.claims.lost(writer)
                await store_batch(conn, row, batch, update=False)
            return row
        async with self.db.one_statement() as conn:
            cur = await append_batch(conn, row, batch, guard)
            if await cur.fetchone() is None:
                raise self.claims.lost(writer)
        return row

    async def _write_locked(
        self,
        conn: Conn,
        writer: Writer,
        lines: list[Prepared] | LinesFn,
        key: str | None,
        activity: bool,
    ) -> ThreadRow:
        """``_write`` in a transaction: a thread to store first, a row to read again, an
        idempotency key to record, a torn last line to close."""
        await self.claims.renew(conn, writer)
        now = self._clock()
        if writer.pending is not None:
            row = writer.pending.copy()
            row.updated_ms = row.recency_ms = now
            todo = lines(row) if callable(lines) else lines
            batch = apply(row, todo, writer.paginated)
            stored_key = await insert_row(conn, self.owner, row)
            if stored_key is not None:
                row.key = stored_key
                if key is not None:
                    await record_key(conn, row, key, len(todo))
                writer.sent = (1, [p.raw for p in todo])
                batch.raws.insert(0, writer.pending_raw)
                batch.first_seq = 0
                await store_batch(conn, row, batch, update=False)
                return row
            # stored by an earlier attempt whose commit was not acknowledged
            writer.pending = None
        cached = writer.row.copy() if writer.row is not None else None
        row = cached or await self._row(conn, writer.thread_id, lock="FOR UPDATE")
        todo = lines(row) if callable(lines) else lines
        if key is not None and not await record_key(conn, row, key, len(todo)):
            return row  # applied before, under the same key
        todo = _unsent(writer, row, todo)
        if not todo:
            return row
        if row.torn_tail:
            await close_torn(conn, row)
        before = row.state.activity_mark()
        batch = apply(row, todo, writer.paginated)
        row.updated_ms = now
        if activity and row.state.activity_mark() != before:
            row.recency_ms = now
        await store_batch(conn, row, batch)
        return row


async def _lines(conn: Conn, row: ThreadRow, last: int | None, *, every: bool) -> list[bytes]:
    """The stored bytes of a thread's lines (the last ``last`` of them), in order;
    ``every``: the lines readers skip too."""
    readable = "" if every else " AND NOT bad"
    cur = conn.cursor(binary=True)  # bytea as text (hex) costs more than the rest of a read
    if last is None:
        await cur.execute(
            f"SELECT line FROM items WHERE thread_key = %s{readable} ORDER BY seq".encode(),
            (row.key,),
        )
        return [r[0] for r in await cur.fetchall()]
    await cur.execute(
        f"SELECT line FROM items WHERE thread_key = %s{readable}"
        " ORDER BY seq DESC LIMIT %s".encode(),
        (row.key, last),
    )
    raws = [r[0] for r in await cur.fetchall()]
    raws.reverse()
    return raws


def _unsent(writer: Writer, row: ThreadRow, todo: list[Prepared]) -> list[Prepared]:
    """The lines of ``todo`` still to write, when it retries writes whose outcome is unknown.

    A write that failed may have committed all the same (the acknowledgement was lost with
    the connection). The writer remembers what it sent since its last acknowledged write
    (``sent``: the sequence number it started at, the lines' bytes); nobody else writes the
    thread meanwhile, so the lines stored since then are a prefix of those. When ``todo``
    starts with that prefix (a retry of the same lines, as LiveThread's queue makes), the
    prefix is dropped: it is stored already.
    """
    base, sent = writer.sent if writer.sent is not None else (row.next_seq, [])
    landed = row.next_seq - base
    raws = [p.raw for p in todo]
    if 0 <= landed <= len(sent) and raws[:landed] == sent[:landed]:
        writer.sent = (base, [*sent[:landed], *raws[landed:]])
        return todo[landed:]
    writer.sent = (row.next_seq, raws)
    return todo

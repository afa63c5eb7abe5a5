"""PostgresThreadStore: threads in PostgreSQL, shared by any number of processes and owners.

This module is the delegation table; each concern lives in the module named after it:
``schema`` (numbered migrations), ``db`` (pool, first-use upgrade, errors), ``rows`` (a
thread's row and record), ``writer`` (writer leases, ordered and idempotent appends),
``listing``, ``search``, ``spawn``, ``fork`` (what forks copy), ``metadata`` (patches),
``transfer`` (whole threads in and out, for ``threadloom migrate``). Semantics are those of
the memory store (the reference without files) and the local store: lazy materialisation,
one writer per thread, Codex's listing, cursors and name rules, metadata patches, search
ranking.

**Owners.** Every operation runs for the store's owner (an account): each row carries the
owner and every query filters on it, so another owner's thread is, in every answer and every
error, exactly an unknown thread (the same id may even exist for two owners, independently).

**Storage.** Each rollout line is kept as the exact bytes it was written with (``items``), so
a thread exported to a CODEX_HOME is byte-identical to what the local store writes. A commit
is durable: an acknowledged append survives a server crash or restart.

Install with the ``postgres`` extra (``psycopg`` 3 and ``psycopg-pool``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import msgspec

from threadloom.errors import Conflict, InvalidRequest, NotFound, ThreadloomError, Unsupported
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.codec import decode_line, format_rfc3339_nanos, format_timestamp
from threadloom.protocol.codec_json import dumps
from threadloom.protocol.rollout import HistoryMode, InvalidSessionMeta, SessionMeta
from threadloom.protocol.source import InvalidSource
from threadloom.store.base import Capability
from threadloom.store.create import parent_meta_copy, session_meta_line
from threadloom.store.params import (
    UNSET,
    AppendItemsParams,
    CreateThreadParams,
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ForkThreadParams,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.postgres import listing, search, spawn
from threadloom.store.postgres.db import Conn, Database
from threadloom.store.postgres.fork import after_first_meta, inherited_prefix, restamped
from threadloom.store.postgres.metadata import meta_copy, override, validate_patch
from threadloom.store.postgres.rows import THREAD_COLUMNS, ThreadRow, encode_meta, pg_text
from threadloom.store.postgres.schema import DEFAULT_SCHEMA
from threadloom.store.postgres.writer import (
    Claims,
    Prepared,
    Writer,
    active_writer,
    apply,
    close_torn,
    insert_row,
    new_row,
    not_found,
    prepare,
    prepare_line,
    record_key,
    select_row,
    store_batch,
)
from threadloom.store.records import (
    SearchPage,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
)

__all__ = ["PostgresThreadStore"]

FILE_ONLY = (
    "{} only makes sense for a store of rollout files; the PostgreSQL store keeps threads by id"
)

LinesFn = Callable[[ThreadRow], list[Prepared]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class PostgresThreadStore:
    """A ThreadStore in a PostgreSQL database, for one owner.

    ``url``: a libpq connection string or URI. ``schema``: the PostgreSQL schema holding the
    tables (created and upgraded on first use unless ``upgrade`` is False). ``writer_lease_s``:
    how long a crashed process keeps its threads' writer leases.
    """

    capabilities = frozenset({Capability.FULL_TEXT_SEARCH})

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

    # --- plumbing -----------------------------------------------------------------------
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

    async def _snapshot(
        self,
        thread_id: str,
        *,
        include_archived: bool,
        last: int | None = None,
        history: bool,
        every: Callable[[ThreadRow], bool] | bool = False,
    ) -> tuple[ThreadRow, list[bytes] | None]:
        """A thread's row and (``history``) its lines' bytes, read in one snapshot; ``every``
        (or ``every(row)``) keeps the lines readers skip (a copied file's blank, malformed
        and torn lines)."""

        async def run(conn: Conn) -> tuple[ThreadRow, list[bytes] | None]:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                row = await self._row(conn, thread_id, include_archived=include_archived)
                everything = every(row) if callable(every) else every
                lines = await self._lines(conn, row, last, every=everything) if history else None
                return row, lines

        return await self.db.read(run)

    @staticmethod
    async def _lines(
        conn: Conn, row: ThreadRow, last: int | None, *, every: bool = False
    ) -> list[bytes]:
        """The stored bytes of a thread's lines (the last ``last`` of them), in order."""
        if last == 0:
            return []
        readable = "" if every else " AND NOT bad"
        if last is None:
            cur = await conn.execute(
                f"SELECT line FROM items WHERE thread_key = %s{readable} ORDER BY seq".encode(),
                (row.key,),
            )
            return [bytes(r[0]) for r in await cur.fetchall()]
        cur = await conn.execute(
            f"SELECT line FROM items WHERE thread_key = %s{readable}"
            " ORDER BY seq DESC LIMIT %s".encode(),
            (row.key, last),
        )
        raws = [bytes(r[0]) for r in await cur.fetchall()]
        raws.reverse()
        return raws

    @staticmethod
    def _history(row: ThreadRow, raws: list[bytes]) -> StoredThreadHistory:
        return StoredThreadHistory(
            thread_id=row.thread_id, items=[decode_line(raw) for raw in raws]
        )

    async def _write(
        self,
        writer: Writer,
        lines: list[Prepared] | LinesFn,
        *,
        key: str | None = None,
        activity: bool = True,
    ) -> ThreadRow:
        """Write lines through the thread's writer (materialising it first if needed), in one
        transaction; ``lines`` may be computed from the row as it is when the write starts.
        ``activity``: the lines are activity (they move ``recency_at``)."""
        async with writer.lock:
            if writer.lost:
                raise Conflict(
                    f"thread {writer.thread_id} is no longer held by this writer",
                    writer.thread_id,
                )
            try:
                async with self.db.transaction() as conn:
                    row = await self._write_locked(conn, writer, lines, key, activity)
            except BaseException:
                writer.row = None  # the commit may or may not have happened: read it again
                raise
            writer.row = row
            writer.pending = None
            writer.sent = None
            return row

    async def _write_locked(
        self,
        conn: Conn,
        writer: Writer,
        lines: list[Prepared] | LinesFn,
        key: str | None,
        activity: bool,
    ) -> ThreadRow:
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
        batch = apply(row, todo, writer.paginated)
        row.updated_ms = now
        if activity:
            row.recency_ms = now
        await store_batch(conn, row, batch)
        return row

    def _writer(self, thread_id: str) -> Writer | None:
        return self.claims.writers.get(ThreadId(thread_id))

    async def _release(self, writer: Writer, *, quiet: bool = False) -> None:
        if quiet:
            with contextlib.suppress(ThreadloomError):
                await self.claims.release(writer)
        else:
            await self.claims.release(writer)

    # --- live writing -------------------------------------------------------------------
    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        return await self._create(params)

    async def _create(
        self, params: CreateThreadParams, first_ordinal: int | None = None
    ) -> StoredThread:
        """Claim and start a thread (``first_ordinal``: its session_meta's, when paginated)."""
        tid = parse_thread_id(params.thread_id)
        now = self._clock()
        created = params.created_at_ms if params.created_at_ms is not None else now
        fixed = msgspec.structs.replace(params, thread_id=tid, created_at_ms=created)
        try:
            line = session_meta_line(fixed)
            meta = SessionMeta.from_payload(line.payload)
        except (InvalidSource, InvalidSessionMeta) as exc:
            raise InvalidRequest(f"invalid session metadata: {exc}") from None
        writer = await self.claims.claim(tid)
        try:
            if await self._exists(tid):
                raise Conflict(f"thread {tid} already exists", tid)
            writer.paginated = meta.history_mode == HistoryMode.PAGINATED
            row = new_row(tid, created)
            row.next_ordinal = first_ordinal
            batch = apply(row, [prepare_line(line)], writer.paginated)
            writer.pending, writer.pending_raw = row, batch.raws[0]
            if params.materialize:
                await self._write(writer, [])
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return self._record(row)

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        tid = params.thread_id
        async with self.db.connection() as conn:
            row = await self._row(conn, tid)
        if row.archived and not params.include_archived:
            raise InvalidRequest(
                f"session {tid} is archived. Run `codex unarchive {tid}` to unarchive it first."
            )
        writer = await self.claims.claim(tid)
        try:
            async with self.db.connection() as conn:  # again, now that nobody else can write
                row = await self._row(conn, tid, include_archived=params.include_archived)
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        writer.paginated = row.history_mode == HistoryMode.PAGINATED
        writer.row = row
        return self._record(row)

    async def append_items(self, params: AppendItemsParams) -> None:
        tid = params.thread_id
        writer = self._writer(tid)
        if writer is None:
            if await self._exists(tid):
                raise Conflict(f"thread {tid} is not open for writing", tid)
            raise not_found(tid)
        await self._write(writer, prepare(params), key=params.idempotency_key)

    async def persist_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is not None:
            if writer.pending is not None:
                await self._write(writer, [])
        elif not await self._exists(params.thread_id):
            raise not_found(params.thread_id)

    async def flush_thread(self, params: ThreadIdParams) -> None:
        """Every write is durable once committed: nothing to wait for."""
        if self._writer(params.thread_id) is None and not await self._exists(params.thread_id):
            raise not_found(params.thread_id)

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is None:
            if not await self._exists(params.thread_id):
                raise not_found(params.thread_id)
            return
        async with writer.lock:  # let a write in progress end
            await self._release(writer)

    async def discard_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is not None:
            async with writer.lock:
                await self._release(writer, quiet=True)

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        if params.keep_items is not None and params.keep_items < 0:
            raise InvalidRequest("keep_items must not be negative")
        keep = params.keep_items
        source, lines = await self._snapshot(
            params.source_thread_id,
            include_archived=params.include_archived,
            history=True,
            every=lambda row: row.history_mode == HistoryMode.PAGINATED,
        )
        meta = source.meta
        assert lines is not None
        if meta.history_mode == HistoryMode.PAGINATED:
            return await self._fork_paginated(params, source, lines)
        assert source.state.meta_payload is not None
        history = after_first_meta(lines)
        copied = history if keep is None else history[:keep]
        child = msgspec.structs.replace(
            params.thread,
            forked_from_id=meta.id,
            history_mode=meta.history_mode,
            materialize=False,
        )
        stored = await self.create_thread(child)
        writer = self._writer(stored.thread_id)
        assert writer is not None
        stamp = format_timestamp(stored.created_at_ms)
        parent = parent_meta_copy(source.state.meta_payload, meta.history_mode, stamp)
        todo = [prepare_line(parent), *(restamped(raw, stamp) for raw in copied)]
        try:
            await self._write(writer, todo)
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return await self.read_thread(ReadThreadParams(thread_id=stored.thread_id))

    async def _fork_paginated(
        self, params: ForkThreadParams, source: ThreadRow, lines: list[bytes]
    ) -> StoredThread:
        """A paginated child pointing into its parent (rollout-format 16.2): nothing copied,
        its ordinals continuing the parent's; stored at once."""
        complete = lines[:-1] if source.torn_tail else lines
        end_ordinal, end_offset = inherited_prefix(source, complete, params.end_ordinal)
        child = params.thread
        extra = {
            **child.extra,
            "forked_from_ordinal_exclusive": end_ordinal,
            "history_base": {
                "thread_id": source.thread_id,
                "end_ordinal_exclusive": end_ordinal,
                "end_byte_offset": end_offset,
            },
        }
        child = msgspec.structs.replace(
            child,
            forked_from_id=source.thread_id,
            history_mode=HistoryMode.PAGINATED,
            materialize=False,
            extra=extra,
        )
        stored = await self._create(child, first_ordinal=end_ordinal)
        writer = self._writer(stored.thread_id)
        assert writer is not None
        try:
            await self._write(writer, [])
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return await self.read_thread(ReadThreadParams(thread_id=stored.thread_id))

    # --- reading ------------------------------------------------------------------------
    async def load_history(self, params: LoadHistoryParams) -> StoredThreadHistory:
        if params.last is not None and params.last < 0:
            raise InvalidRequest("last must not be negative")
        row, raws = await self._snapshot(
            params.thread_id,
            include_archived=params.include_archived,
            last=params.last,
            history=True,
        )
        assert raws is not None
        return self._history(row, raws)

    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        row, raws = await self._snapshot(
            params.thread_id,
            include_archived=params.include_archived,
            history=params.include_history,
        )
        history = None if raws is None else self._history(row, raws)
        return self._record(row, history=history)

    async def read_thread_by_rollout_path(self, params: ReadThreadByPathParams) -> StoredThread:
        raise Unsupported("read_thread_by_rollout_path", FILE_ONLY.format("reading by path"))

    async def resolve_legacy_path(self, params: ThreadIdParams) -> str:
        raise Unsupported("resolve_legacy_path", FILE_ONLY.format("a rollout path"))

    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        return await self.db.read(
            lambda conn: listing.list_threads(conn, self.owner, params, self.default_provider)
        )

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage:
        return await self.db.read(
            lambda conn: search.search(conn, self.owner, params, self.default_provider)
        )

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        name = params.name.strip()
        archived = "" if params.include_archived else " AND NOT t.archived"

        async def run(conn: Conn) -> list[ThreadRow]:
            cur = await conn.execute(
                f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.owner = %s"
                f" AND t.find_name = %s{archived} ORDER BY t.name_seq DESC".encode(),
                (self.owner, pg_text(name)),
            )
            return [ThreadRow.from_db(found) for found in await cur.fetchall()]

        for row in await self.db.read(run):
            if row.read_name == name:  # the exact name (the column cannot hold NULs)
                return self._record(row)
        return None

    # --- changing metadata ----------------------------------------------------------------
    async def set_thread_name(self, params: SetThreadNameParams) -> None:
        name = params.name.strip()
        if not name:
            raise InvalidRequest("thread name must not be empty")
        await self._materialize_for_metadata(params.thread_id)
        async with self.db.connection() as conn:
            if not await self._set_name(conn, params.thread_id, name, include_archived=False):
                raise not_found(params.thread_id)

    async def _materialize_for_metadata(self, thread_id: str) -> None:
        """A started thread is stored before its metadata changes (as on the memory store)."""
        writer = self._writer(thread_id)
        if writer is not None and writer.pending is not None:
            await self._write(writer, [])

    async def _set_name(
        self, conn: Conn, thread_id: str, name: str, *, include_archived: bool
    ) -> bool:
        """Record a name (empty: cleared) and its ``session_index.jsonl`` entry; False when
        the thread is not there."""
        raw = name.encode() if name else None
        archived = "" if include_archived else " AND NOT archived"
        entry = dumps(
            {
                "id": thread_id,
                "thread_name": name,
                "updated_at": format_rfc3339_nanos(self._clock() * 1_000_000),
            }
        )
        query = (
            "WITH renamed AS (UPDATE threads SET named = true, read_name = %s,"
            " list_name = coalesce(%s, list_name),"
            " list_name_text = coalesce(%s, list_name_text), find_name = %s,"
            " name_seq = nextval('name_seq')"
            f" WHERE owner = %s AND thread_id = %s{archived} RETURNING key, name_seq)"
            " INSERT INTO name_entries (thread_key, seq, line)"
            " SELECT key, name_seq, %s FROM renamed"
        )
        cur = await conn.execute(
            query.encode(),
            (raw, raw, pg_text(name) or None, pg_text(name) or None, self.owner, thread_id, entry),
        )
        return cur.rowcount == 1

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        patch = params.patch
        name = validate_patch(patch)
        tid = params.thread_id
        touches = patch.git is not None or patch.memory_mode is not UNSET
        writer = self._writer(tid)
        if writer is not None and writer.pending is not None:
            if writer.paginated and name is UNSET:
                # a started paginated thread: its metadata is kept aside, not stored (12.1)
                async with writer.lock:
                    pending = writer.pending
                    if pending is not None:
                        override(pending, patch, self._clock())
                        return self._record(pending)
            await self._write(writer, [])
        async with self.db.connection() as conn:
            await self._row(conn, tid, include_archived=params.include_archived)
        if touches:
            if writer is not None and not writer.paginated:
                await self._write(
                    writer, lambda row: [meta_copy(row, patch, self._clock())], activity=False
                )
            else:
                await self._patch_stored(tid, patch, writer)
        if name is not UNSET:
            async with self.db.connection() as conn:
                await self._set_name(conn, tid, name or "", include_archived=True)
        async with self.db.connection() as conn:
            return self._record(await self._row(conn, tid))

    async def _patch_stored(
        self, thread_id: str, patch: ThreadMetadataPatch, writer: Writer | None
    ) -> None:
        """Apply a git / memory-mode patch to a stored thread in one transaction: a legacy
        thread gets a session_meta copy, a paginated one keeps it beside its lines."""
        async with self.db.transaction() as conn:
            row = await self._row(conn, thread_id, lock="FOR UPDATE")
            if writer is None and await Claims.held(conn, self.owner, thread_id):
                raise active_writer(thread_id)
            now = self._clock()
            if row.history_mode == HistoryMode.LEGACY:
                if row.torn_tail:
                    await close_torn(conn, row)
                batch = apply(row, [meta_copy(row, patch, now)], paginated=False)
                row.updated_ms = now
                await store_batch(conn, row, batch)
                return
            override(row, patch, now)
            await conn.execute(
                "UPDATE threads SET overridden = true, override_git = %s, override_memory = %s,"
                " updated_ms = %s WHERE key = %s",
                (
                    None if row.override_git is None else encode_meta(row.override_git),
                    row.override_memory,
                    row.updated_ms,
                    row.key,
                ),
            )

    async def archive_thread(self, params: ThreadIdParams) -> None:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await self._row(conn, tid, include_archived=False, lock="FOR UPDATE")
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            await conn.execute(
                "UPDATE threads SET archived = true, archived_at_ms = %s WHERE key = %s",
                (self._clock(), row.key),
            )

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await select_row(conn, self.owner, tid, lock="FOR UPDATE")
            if row is None or not row.archived:
                raise NotFound(f"no archived rollout found for thread id {tid}", tid)
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            row.archived, row.archived_at_ms, row.updated_ms = False, None, self._clock()
            await conn.execute(
                "UPDATE threads SET archived = false, archived_at_ms = NULL, updated_ms = %s"
                " WHERE key = %s",
                (row.updated_ms, row.key),
            )
        return self._record(row)

    async def delete_thread(self, params: ThreadIdParams) -> None:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await self._row(conn, tid, lock="FOR UPDATE")
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            await conn.execute("DELETE FROM threads WHERE key = %s", (row.key,))
            await spawn.forget(conn, self.owner, tid)

    # --- sub-agent spawn edges ----------------------------------------------------------
    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None:
        async with self.db.connection() as conn:
            await spawn.upsert(conn, self.owner, params)

    async def list_spawn_edges(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        return await self.db.read(lambda conn: spawn.descendants(conn, self.owner, params))

    async def find_spawn_descendant(self, params: FindSpawnDescendantParams) -> StoredThread | None:
        async def run(conn: Conn) -> tuple[list[SpawnEdge], dict[str, ThreadRow]]:
            edges = await spawn.descendants(
                conn,
                self.owner,
                ListSpawnEdgesParams(parent_thread_id=params.root_thread_id, recursive=True),
            )
            if not edges:
                return edges, {}
            cur = await conn.execute(
                f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.owner = %s"
                " AND t.thread_id = ANY(%s::text[]) AND t.agent_path = %s".encode(),
                (self.owner, [e.child_thread_id for e in edges], pg_text(params.agent_path)),
            )
            return edges, {r[1]: ThreadRow.from_db(r) for r in await cur.fetchall()}

        edges, rows = await self.db.read(run)
        for edge in edges:
            row = rows.get(edge.child_thread_id)
            if row is not None:
                return self._record(row)
        return None

    # --- beyond the protocol ------------------------------------------------------------
    async def rollout_bytes(self, thread_id: ThreadId) -> bytes:
        """The thread's rollout file exactly as the local store would hold it (JSONL)."""
        row, raws = await self._snapshot(thread_id, include_archived=True, history=True, every=True)
        assert raws is not None
        data = b"".join(raw + b"\n" for raw in raws)
        return data[:-1] if row.torn_tail and data else data

    async def close(self) -> None:
        """Give every writer lease up and close the pool."""
        await self.claims.close()
        await self.db.close()


# --- helpers ------------------------------------------------------------------------------------
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

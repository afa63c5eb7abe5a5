"""Reading on PostgreSQL: a thread's record and history, listings, searches, look-ups.

A thread's row and lines are read in one snapshot (``StoreCore._snapshot``): a short tail in
one statement, a whole history in one repeatable-read transaction, bytes in binary format.
"""

from __future__ import annotations

from threadloom.errors import InvalidRequest, Unsupported
from threadloom.ids import ThreadId
from threadloom.protocol.codec import decode_line
from threadloom.store.params import (
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadIdParams,
)
from threadloom.store.postgres import listing, search, spawn
from threadloom.store.postgres.core import EVERY, StoreCore
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.rows import THREAD_COLUMNS, ThreadRow, pg_text
from threadloom.store.records import (
    SearchPage,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
)

FILE_ONLY = (
    "{} only makes sense for a store of rollout files; the PostgreSQL store keeps threads by id"
)


class Reading(StoreCore):
    """The reading operations of the ThreadStore Protocol, and ``rollout_bytes``."""

    @staticmethod
    def _history(row: ThreadRow, raws: list[bytes]) -> StoredThreadHistory:
        return StoredThreadHistory(
            thread_id=row.thread_id, items=[decode_line(raw) for raw in raws]
        )

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
            lambda conn: listing.list_threads(
                conn, self.owner, params, self.default_provider, trigram=self.db.trigram
            )
        )

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage:
        return await self.db.read(
            lambda conn: search.search(conn, self.owner, params, self.default_provider)
        )

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        name = params.name.strip()
        archived = "" if params.include_archived else " AND NOT t.archived"

        async def run(conn: Conn) -> list[ThreadRow]:
            cur = conn.cursor(binary=True)
            await cur.execute(
                f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.owner = %s"
                f" AND t.find_name = %s{archived} ORDER BY t.name_seq DESC".encode(),
                (self.owner, pg_text(name)),
            )
            return [ThreadRow.from_db(found) for found in await cur.fetchall()]

        for row in await self.db.read(run):
            if row.read_name == name:  # the exact name (the column cannot hold NULs)
                return self._record(row)
        return None

    # --- sub-agent spawn edges ----------------------------------------------------------
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
            cur = conn.cursor(binary=True)
            await cur.execute(
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
        row, raws = await self._snapshot(
            thread_id, include_archived=True, history=True, lines=EVERY
        )
        assert raws is not None
        data = b"".join(raw + b"\n" for raw in raws)
        return data[:-1] if row.torn_tail and data else data

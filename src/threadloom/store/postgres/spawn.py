"""Sub-agent spawn edges of one owner (child → parent, with a status)."""

from __future__ import annotations

from threadloom.ids import ThreadId
from threadloom.store.params import (
    ListSpawnEdgesParams,
    SpawnEdgeStatus,
    UpsertSpawnEdgeParams,
)
from threadloom.store.postgres.db import Conn
from threadloom.store.records import SpawnEdge


async def upsert(conn: Conn, owner: str, params: UpsertSpawnEdgeParams) -> None:
    """Record (or replace) the edge into ``child``: a child has one parent."""
    await conn.execute(
        "INSERT INTO spawn_edges (owner, child_thread_id, parent_thread_id, status)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (owner, child_thread_id) DO UPDATE"
        " SET parent_thread_id = EXCLUDED.parent_thread_id, status = EXCLUDED.status",
        (owner, params.child_thread_id, params.parent_thread_id, params.status.value),
    )


async def forget(conn: Conn, owner: str, thread_id: str) -> None:
    """Drop every edge into or out of a deleted thread."""
    await conn.execute(
        "DELETE FROM spawn_edges WHERE owner = %s"
        " AND (child_thread_id = %s OR parent_thread_id = %s)",
        (owner, thread_id, thread_id),
    )


async def descendants(conn: Conn, owner: str, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
    """Edges below the parent (only through edges of ``status``), by (depth, child id);
    breadth first, one query per level, each thread visited once."""
    root = params.parent_thread_id
    status = params.status
    seen = {root}
    level = [root]
    depth = 0
    out: list[SpawnEdge] = []
    while level:
        depth += 1
        query = (
            "SELECT child_thread_id, parent_thread_id, status FROM spawn_edges"
            " WHERE owner = %s AND parent_thread_id = ANY(%s::text[])"
        )
        args: list[object] = [owner, level]
        if status is not None:
            query += " AND status = %s"
            args.append(status.value)
        cur = await conn.execute(query.encode(), args)
        following: list[ThreadId] = []
        for child, parent, edge_status in sorted(await cur.fetchall()):
            if child in seen:
                continue
            seen.add(child)
            out.append(
                SpawnEdge(
                    parent_thread_id=ThreadId(parent),
                    child_thread_id=ThreadId(child),
                    status=SpawnEdgeStatus(edge_status),
                    depth=depth,
                )
            )
            following.append(ThreadId(child))
        if not params.recursive:
            break
        level = following
    out.sort(key=lambda edge: (edge.depth, edge.child_thread_id))
    return out

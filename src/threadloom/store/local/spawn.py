"""Sub-agent spawn edges (parent → child, with a status), kept in threadloom's index."""

from __future__ import annotations

from threadloom.ids import ThreadId
from threadloom.store.local.index import Index
from threadloom.store.params import ListSpawnEdgesParams, SpawnEdgeStatus, UpsertSpawnEdgeParams
from threadloom.store.records import SpawnEdge


class SpawnEdges:
    """Edges stored in the ``spawn_edges`` table of the index."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def upsert(self, params: UpsertSpawnEdgeParams) -> None:
        with self.index.lock:
            self.index.conn.execute(
                "INSERT INTO spawn_edges(parent_thread_id, child_thread_id, status)"
                " VALUES (?, ?, ?) ON CONFLICT(child_thread_id) DO UPDATE SET"
                " parent_thread_id = excluded.parent_thread_id, status = excluded.status",
                (params.parent_thread_id, params.child_thread_id, params.status.value),
            )

    def list(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        """Children (or every descendant, breadth first, with its depth) of a thread."""
        out: list[SpawnEdge] = []
        frontier = [params.parent_thread_id]
        seen = {params.parent_thread_id}
        depth = 1
        with self.index.lock:
            while frontier:
                marks = ",".join("?" * len(frontier))
                rows = self.index.conn.execute(
                    "SELECT parent_thread_id, child_thread_id, status FROM spawn_edges"
                    f" WHERE parent_thread_id IN ({marks}) ORDER BY child_thread_id",
                    frontier,
                ).fetchall()
                frontier = []
                for parent, child, status in rows:
                    if child in seen:
                        continue
                    seen.add(child)
                    edge = SpawnEdge(
                        parent_thread_id=ThreadId(parent),
                        child_thread_id=ThreadId(child),
                        status=SpawnEdgeStatus(status),
                        depth=depth,
                    )
                    if params.status is not None and edge.status != params.status:
                        continue  # a status filter also limits the traversal
                    out.append(edge)
                    frontier.append(child)
                if not params.recursive:
                    break
                depth += 1
        return out

    def forget(self, thread_id: str) -> None:
        with self.index.lock:
            self.index.conn.execute(
                "DELETE FROM spawn_edges WHERE child_thread_id = ? OR parent_thread_id = ?",
                (thread_id, thread_id),
            )

"""Sub-agent spawn edges (parent → child, with a status).

The durable record is ``threadloom/spawn_edges.jsonl`` (append-only, under its own flock);
the index's ``spawn_edges`` table caches it and is reloaded whenever the file changed, so
deleting the index loses nothing.
"""

from __future__ import annotations

import json
import os

from threadloom.ids import ThreadId
from threadloom.store.local.index import Index
from threadloom.store.local.locks import flocked
from threadloom.store.params import ListSpawnEdgesParams, SpawnEdgeStatus, UpsertSpawnEdgeParams
from threadloom.store.records import SpawnEdge

EDGES_FILE = "spawn_edges.jsonl"


class SpawnEdges:
    """Edges of one home."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.path = index.home.index_dir / EDGES_FILE

    def _append(self, entry: dict[str, str]) -> None:
        with flocked(self.path.with_suffix(".lock")), open(self.path, "ab") as f:
            f.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def _load(self) -> None:
        """Rebuild the cached table from the journal when the journal changed."""
        conn = self.index.conn
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        row = conn.execute(
            "SELECT size, mtime_ns, inode FROM sources WHERE key = 'spawn_edges'"
        ).fetchone()
        if row is not None and tuple(row) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return
        edges: dict[str, tuple[str, str]] = {}
        for raw in self.path.read_bytes().splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            gone = entry.get("forget")
            if isinstance(gone, str):
                edges = {c: (p, s) for c, (p, s) in edges.items() if gone not in (c, p)}
            elif all(isinstance(entry.get(k), str) for k in ("parent", "child", "status")):
                edges[entry["child"]] = (entry["parent"], entry["status"])
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM spawn_edges")
            conn.executemany(
                "INSERT INTO spawn_edges(parent_thread_id, child_thread_id, status)"
                " VALUES (?, ?, ?)",
                [(parent, child, status) for child, (parent, status) in edges.items()],
            )
            conn.execute(
                "INSERT OR REPLACE INTO sources(key, size, mtime_ns, inode, offset)"
                " VALUES ('spawn_edges', ?, ?, ?, ?)",
                (st.st_size, st.st_mtime_ns, st.st_ino, st.st_size),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def upsert(self, params: UpsertSpawnEdgeParams) -> None:
        self._append(
            {
                "parent": params.parent_thread_id,
                "child": params.child_thread_id,
                "status": params.status.value,
            }
        )

    def list(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        """Children (or every descendant, breadth first, with its depth) of a thread."""
        out: list[SpawnEdge] = []
        frontier = [params.parent_thread_id]
        seen = {params.parent_thread_id}
        depth = 1
        with self.index.lock:
            self._load()
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
        """Drop every edge that names the thread (it was deleted)."""
        if self.path.exists():
            self._append({"forget": thread_id})

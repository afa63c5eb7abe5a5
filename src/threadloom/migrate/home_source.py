"""The threads of a CODEX_HOME as ``threadloom migrate`` copies them.

Every thread the local store can read is found through its index (refreshed first, with
progress): its current rollout file, archived or not, its ``session_index.jsonl`` lines, the
metadata kept outside its rollout (``threadloom/thread_metadata.jsonl`` or Codex's database)
and the spawn edges. A thread's digest sums up what a copy depends on (the file's path, size
and mtime, its names, archived flag and metadata), so a re-run skips threads whose digest
did not change without opening their files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from threadloom.ids import ThreadId
from threadloom.store.local import LocalThreadStore
from threadloom.store.local.index import FILE_COLUMNS, FileRow, ProgressFn
from threadloom.store.local.reader import open_rollout
from threadloom.store.params import ListSpawnEdgesParams
from threadloom.store.postgres.transfer import ThreadCopy

_decoder = msgspec.json.Decoder()
_READ_TRIES = 5


@dataclass(slots=True)
class SourceThread:
    """One thread found in a home, before its file is read."""

    thread_id: ThreadId
    path: Path
    file_path: str
    archived: bool
    size: int
    mtime_ns: int
    recency_ms: int | None
    name_entries: list[tuple[int, bytes]] = field(default_factory=list)
    """Its ``session_index.jsonl`` lines with their positions in the file."""
    override: tuple[dict[str, Any] | None, str] | None = None

    def digest(self, size: int | None = None, mtime_ns: int | None = None) -> bytes:
        """What a copy of the thread depends on (``size``/``mtime_ns``: as read)."""
        parts = (
            self.file_path,
            self.size if size is None else size,
            self.mtime_ns if mtime_ns is None else mtime_ns,
            self.archived,
            self.recency_ms,
            [raw.hex() for _, raw in self.name_entries],
            self.override,
        )
        return hashlib.blake2b(json.dumps(parts).encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Edge:
    parent: str
    child: str
    status: str


class HomeSource:
    """A CODEX_HOME opened for copying (read-only, but for threadloom's own index)."""

    def __init__(self, home: Path) -> None:
        self.store = LocalThreadStore(home, watch=False)
        self.root = self.store.home.root
        self.not_threads: list[str] = []
        """Rollout files without usable session metadata (not threads: not copied)."""

    def threads(self, progress: ProgressFn | None = None) -> list[SourceThread]:
        """Every readable thread, oldest first (refreshes the index, with ``progress``)."""
        self.store.refresh(progress)
        index = self.store.index
        rows = index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.valid = 1 AND f.thread_id IS NOT NULL"
            " ORDER BY f.current DESC, f.archived ASC, f.created_ms, f.path",
            (),
        )
        with index.lock:
            invalid = index.conn.execute("SELECT path FROM files WHERE valid = 0 ORDER BY path")
            self.not_threads = [str(r[0]) for r in invalid]
        chosen: dict[str, FileRow] = {}
        for row in rows:  # the file the local store reads: current first, then live
            assert row.thread_id is not None
            chosen.setdefault(row.thread_id, row)
        entries = self._name_entries()
        overrides = self._overrides()
        found = [
            SourceThread(
                thread_id=ThreadId(thread_id),
                path=Path(row.path),
                file_path=Path(row.path).relative_to(self.root).as_posix(),
                archived=row.archived,
                size=row.size,
                mtime_ns=row.mtime_ns,
                recency_ms=row.recency_ms,
                name_entries=entries.get(thread_id, []),
                override=overrides.get(thread_id),
            )
            for thread_id, row in chosen.items()
        ]
        found.sort(key=lambda t: (t.mtime_ns, t.thread_id))
        return found

    def _name_entries(self) -> dict[str, list[tuple[int, bytes]]]:
        """Each thread's ``session_index.jsonl`` lines (those the local store reads)."""
        out: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        try:
            data = self.store.home.session_index.read_bytes()
        except FileNotFoundError:
            return out
        for position, raw in enumerate(data.split(b"\n")[:-1]):  # complete lines only
            try:
                obj = _decoder.decode(raw.rstrip(b"\r"))
            except msgspec.DecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            thread_id, name = obj.get("id"), obj.get("thread_name")
            if isinstance(thread_id, str) and isinstance(name, str):
                out[thread_id.lower()].append((position, raw))
        return out

    def _overrides(self) -> dict[str, tuple[dict[str, Any] | None, str]]:
        index = self.store.index
        with index.lock:
            rows = index.conn.execute("SELECT thread_id, git, memory_mode FROM overrides")
            return {
                str(tid): (None if git is None else json.loads(git), str(mode or "enabled"))
                for tid, git, mode in rows
            }

    def edges(self) -> list[Edge]:
        """Every spawn edge (child → parent), by child."""
        spawn = self.store.spawn
        spawn.list(ListSpawnEdgesParams(parent_thread_id=ThreadId("")))  # loads the journal
        with spawn.index.lock:
            rows = spawn.index.conn.execute(
                "SELECT parent_thread_id, child_thread_id, status FROM spawn_edges"
                " ORDER BY child_thread_id"
            ).fetchall()
        return [Edge(str(p), str(c), str(s)) for p, c, s in rows]

    def read(self, thread: SourceThread) -> ThreadCopy:
        """The thread's file, read while it does not change (a live writer may be at it)."""
        for _ in range(_READ_TRIES):
            before = os.stat(thread.path)
            with open_rollout(thread.path) as stream:
                data = stream.read()
            after = os.stat(thread.path)
            if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns):
                break
        lines = data.split(b"\n")
        torn = lines[-1] != b""
        if not torn:
            lines.pop()
        return ThreadCopy(
            thread_id=thread.thread_id,
            file_path=thread.file_path,
            lines=lines,
            torn_tail=torn,
            mtime_ns=after.st_mtime_ns,
            archived=thread.archived,
            recency_ms=thread.recency_ms,
            name_entries=[raw for _, raw in thread.name_entries],
            override=thread.override,
            digest=thread.digest(after.st_size, after.st_mtime_ns),
        )

    async def close(self) -> None:
        await self.store.close()

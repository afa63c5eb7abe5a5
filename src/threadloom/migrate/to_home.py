"""Copying a PostgreSQL store's threads into a CODEX_HOME (``threadloom migrate --to DIR``).

Every thread of the owner becomes its rollout file, byte for byte as stored (a thread copied
from a home returns to its own path, with its own mtime; one created in PostgreSQL gets the
name Codex would give it), under ``sessions/`` or ``archived_sessions/``. Files are written
whole (a temporary file renamed into place, then given the thread's mtime), so an interrupted
run leaves no partial file, and a re-run skips every file already there with the thread's
mtime. The journals (``session_index.jsonl``, ``threadloom/thread_metadata.jsonl``,
``threadloom/spawn_edges.jsonl``) keep their lines about other threads and get the store's
lines about these threads, in order. At the end the home is read with the local store and
its counts checked against the store's.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec
import zstandard

from threadloom.ids import ThreadId
from threadloom.migrate.report import MigrationReport, Progress, display_url, no_progress
from threadloom.protocol.paths import parse_rollout_name
from threadloom.store.local import LocalThreadStore
from threadloom.store.local.index import FILE_COLUMNS, METADATA_FILE
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.locks import flocked
from threadloom.store.local.spawn import EDGES_FILE
from threadloom.store.params import ListSpawnEdgesParams
from threadloom.store.postgres.db import Database
from threadloom.store.postgres.schema import DEFAULT_SCHEMA
from threadloom.store.postgres.transfer import (
    StoredFile,
    counts,
    file_bytes,
    name_entries,
    stored_files,
)

_decoder = msgspec.json.Decoder()
ZSTD_LEVEL = 3


async def migrate_postgres_to_home(
    url: str,
    home: Path | str,
    *,
    owner: str = "default",
    schema: str = DEFAULT_SCHEMA,
    progress: Progress = no_progress,
) -> MigrationReport:
    """Copy every thread ``owner`` has in the store at ``url`` into ``home``; see the module."""
    layout = CodexHome(Path(home))
    db = Database(url, schema=schema, min_size=1, max_size=2)
    report = MigrationReport(source=display_url(url), target=str(layout.root))
    try:
        async with db.connection() as conn:
            report.expected = await counts(conn, owner)
        total = report.expected["threads"]
        report.threads = total
        existing = _existing_files(layout)
        files: list[StoredFile] = []
        progress("copying", 0, total)
        after = 0
        while True:
            async with db.connection() as conn:
                page = await stored_files(conn, owner, after=after)
            if not page:
                break
            after = page[-1].key
            for stored in page:
                if _in_place(layout, stored):
                    report.unchanged += 1
                else:
                    async with db.transaction() as conn:
                        data = await file_bytes(conn, stored.key)
                    _write_file(layout, stored, data, existing)
                    report.copied += 1
                files.append(stored)
                progress("copying", len(files), total)
        ids = {str(f.thread_id) for f in files}
        async with db.connection() as conn:
            names = await name_entries(conn, owner)
            edges = await conn.execute(
                "SELECT parent_thread_id, child_thread_id, status FROM spawn_edges"
                " WHERE owner = %s ORDER BY child_thread_id",
                (owner,),
            )
            edge_rows = [(str(p), str(c), str(s)) for p, c, s in await edges.fetchall()]
        progress("journals", 0, None)
        _write_journals(layout, ids, files, [line for _, line in names], edge_rows)
        report.spawn_edges = len(edge_rows)
        progress("verifying", 0, None)
        report.found = await _found(layout, ids, edge_rows)
    finally:
        await db.close()
    return report


def _existing_files(layout: CodexHome) -> dict[str, list[Path]]:
    """Rollout files already in the home, by the uuid their name ends with."""
    out: dict[str, list[Path]] = {}
    for found in layout.iter_all():
        out.setdefault(found.name.file_uuid, []).append(Path(found.path))
    return out


def _in_place(layout: CodexHome, stored: StoredFile) -> bool:
    """Is the thread's file there already, with the thread's mtime?"""
    try:
        return (layout.root / stored.path).stat().st_mtime_ns == stored.mtime_ns
    except FileNotFoundError:
        return False


def _write_file(
    layout: CodexHome, stored: StoredFile, data: bytes, existing: dict[str, list[Path]]
) -> None:
    """Write a thread's file, then remove its files elsewhere (moved: archived, unarchived,
    or written since it was compressed)."""
    target = layout.root / stored.path
    if _zst(target):
        data = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    _atomic_write(target, data, mtime_ns=stored.mtime_ns)
    name = parse_rollout_name(target.name)
    for other in existing.get(name.file_uuid if name else "", []):
        if other != target:
            other.unlink(missing_ok=True)


def _zst(path: Path) -> bool:
    return path.name.endswith(".zst")


def _atomic_write(path: Path, data: bytes, *, mtime_ns: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _entry(raw: bytes) -> dict[str, object] | None:
    try:
        obj = _decoder.decode(raw.rstrip(b"\r"))
    except msgspec.DecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _merge(path: Path, ours: Callable[[dict[str, object]], bool], lines: list[bytes]) -> None:
    """Rewrite a journal: its lines that are not ``ours`` (kept in order), then ``lines``;
    untouched when that changes nothing (and not created for nothing)."""
    try:
        before = path.read_bytes()
    except FileNotFoundError:
        before = b""
    kept = []
    for raw in before.splitlines(keepends=True):
        entry = _entry(raw.rstrip(b"\n"))
        if entry is None or not ours(entry):
            kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
    after = b"".join(kept) + b"".join(line + b"\n" for line in lines)
    if after != before and (after or path.exists()):
        _atomic_write(path, after)


def _write_journals(
    layout: CodexHome,
    ids: set[str],
    files: list[StoredFile],
    names: list[bytes],
    edges: list[tuple[str, str, str]],
) -> None:
    def names_ours(entry: dict[str, object]) -> bool:
        value = entry.get("id")
        return isinstance(value, str) and value.lower() in ids

    def edge_ours(entry: dict[str, object]) -> bool:
        return any(entry.get(k) in ids for k in ("parent", "child", "forget"))

    with flocked(layout.session_index_lock):
        _merge(layout.session_index, names_ours, names)
    metadata = [
        _json({"id": f.thread_id, "git": f.override[0], "memory_mode": f.override[1]})
        for f in files
        if f.override is not None
    ]
    path = layout.index_dir / METADATA_FILE
    if metadata or path.exists():
        with flocked(path.with_suffix(".lock")):
            _merge(path, lambda e: e.get("id") in ids, metadata)
    path = layout.index_dir / EDGES_FILE
    if edges or path.exists():
        lines = [_json({"parent": p, "child": c, "status": s}) for p, c, s in edges]
        with flocked(path.with_suffix(".lock")):
            _merge(path, edge_ours, lines)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def _found(
    layout: CodexHome, ids: set[str], edges: list[tuple[str, str, str]]
) -> dict[str, int]:
    """The store's counts as the local store reads the home (only the copied threads)."""
    store = LocalThreadStore(layout.root, watch=False)
    try:
        store.refresh()
        rows = store.index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.valid = 1 AND f.current = 1",
            (),
        )
        mine = {r.thread_id: r for r in rows if r.thread_id in ids}
        wanted = set(edges)
        found_edges = 0
        for parent in sorted({p for p, _, _ in edges}):
            listed = store.spawn.list(ListSpawnEdgesParams(parent_thread_id=ThreadId(parent)))
            found_edges += sum(
                (parent, e.child_thread_id, e.status.value) in wanted for e in listed
            )
    finally:
        await store.close()
    return {
        "threads": len(mine),
        "archived": sum(r.archived for r in mine.values()),
        "named": sum(r.named for r in mine.values()),
        "spawn_edges": found_edges,
    }

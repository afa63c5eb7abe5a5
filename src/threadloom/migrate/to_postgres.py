"""Copying a CODEX_HOME into a PostgreSQL store (``threadloom migrate --to postgresql://…``).

Each thread is stored whole, together with the digest of its source (a few threads per
transaction, each under its own savepoint), so an interrupted run leaves whole threads, and
a re-run copies only the threads that are new or whose file, names, archived flag or
metadata changed. Spawn edges are upserted every run.
Nothing is deleted from the store. At the end the counts (threads, archived, named, spawn
edges) of the source are checked against the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from threadloom.errors import ThreadloomError
from threadloom.migrate.home_source import Edge, HomeSource, SourceThread
from threadloom.migrate.report import MigrationReport, Progress, display_url, no_progress
from threadloom.store.postgres.db import Conn, Database
from threadloom.store.postgres.schema import DEFAULT_SCHEMA
from threadloom.store.postgres.transfer import allocate_name_seqs, digests, store_copy

BATCH_THREADS = 32
BATCH_BYTES = 8 << 20
"""Threads are stored a group at a time (one commit per group, a savepoint per thread)."""


async def migrate_home_to_postgres(
    home: Path | str,
    url: str,
    *,
    owner: str = "default",
    schema: str = DEFAULT_SCHEMA,
    progress: Progress = no_progress,
    batch: int = BATCH_THREADS,
) -> MigrationReport:
    """Copy every thread of ``home`` to the store at ``url`` for ``owner``; see the module.

    ``batch``: at most this many threads (and about ``BATCH_BYTES``) per transaction.
    """
    source = HomeSource(Path(home))
    db = Database(url, schema=schema, min_size=1, max_size=2)
    report = MigrationReport(source=str(source.root), target=display_url(url))
    try:
        threads = await asyncio.to_thread(
            source.threads, lambda done, total: progress("indexing", done, total)
        )
        report.not_threads = source.not_threads
        edges = await asyncio.to_thread(source.edges)
        report.threads = len(threads)
        async with db.connection() as conn:
            known = await digests(conn, owner)
        todo = [t for t in threads if known.get(t.thread_id) != t.digest()]
        report.unchanged = len(threads) - len(todo)
        async with db.connection() as conn:
            seqs = await _name_positions(conn, todo)
        progress("copying", 0, len(todo))
        done = 0
        for group in _groups(todo, batch):
            copies = []
            for thread in group:
                try:
                    copies.append(await asyncio.to_thread(source.read, thread))
                except OSError as exc:
                    report.failed.append((thread.thread_id, str(exc)))
            stored = 0
            async with db.transaction() as conn:
                for copy in copies:
                    try:
                        async with conn.transaction():  # a savepoint: a failure undoes one
                            await store_copy(conn, owner, copy, seqs[copy.thread_id])
                        stored += 1
                    except ThreadloomError as exc:
                        report.failed.append((copy.thread_id, str(exc)))
            report.copied += stored
            done += len(group)
            progress("copying", done, len(todo))
        async with db.transaction() as conn:
            await _store_edges(conn, owner, edges)
        report.spawn_edges = len(edges)
        async with db.connection() as conn:
            report.expected = _expected(threads, edges)
            report.found = await _found(conn, owner, threads, edges)
    finally:
        await db.close()
        await source.close()
    return report


def _groups(threads: list[SourceThread], batch: int) -> Iterator[list[SourceThread]]:
    """The threads in groups of at most ``batch`` threads and about ``BATCH_BYTES``."""
    group: list[SourceThread] = []
    size = 0
    for thread in threads:
        if group and (len(group) >= batch or size + thread.size > BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(thread)
        size += thread.size
    if group:
        yield group


async def _name_positions(conn: Conn, todo: list[SourceThread]) -> dict[str, list[int]]:
    """Positions for the name entries of the threads to copy, in the source file's order."""
    entries = sorted(
        (position, thread.thread_id) for thread in todo for position, _ in thread.name_entries
    )
    seqs = await allocate_name_seqs(conn, len(entries))
    out: dict[str, list[int]] = {thread.thread_id: [] for thread in todo}
    for (_, thread_id), seq in zip(entries, seqs, strict=True):
        out[thread_id].append(seq)
    return out


async def _store_edges(conn: Conn, owner: str, edges: list[Edge]) -> None:
    if not edges:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO spawn_edges (owner, child_thread_id, parent_thread_id, status)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (owner, child_thread_id) DO UPDATE"
            " SET parent_thread_id = EXCLUDED.parent_thread_id, status = EXCLUDED.status",
            [(owner, e.child, e.parent, e.status) for e in edges],
        )


def _expected(threads: list[SourceThread], edges: list[Edge]) -> dict[str, int]:
    return {
        "threads": len(threads),
        "archived": sum(t.archived for t in threads),
        "named": sum(bool(t.name_entries) for t in threads),
        "spawn_edges": len(edges),
    }


async def _found(
    conn: Conn, owner: str, threads: list[SourceThread], edges: list[Edge]
) -> dict[str, int]:
    """The source's counts as the store has them (only the source's threads and edges)."""
    cur = await conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE archived), count(*) FILTER (WHERE named)"
        " FROM threads WHERE owner = %s AND thread_id = ANY(%s::text[])",
        (owner, [t.thread_id for t in threads]),
    )
    row = await cur.fetchone()
    assert row is not None
    cur = await conn.execute(
        "SELECT count(*) FROM spawn_edges e JOIN unnest(%s::text[], %s::text[], %s::text[])"
        " AS s(child, parent, status) ON e.child_thread_id = s.child"
        " AND e.parent_thread_id = s.parent AND e.status = s.status WHERE e.owner = %s",
        (
            [e.child for e in edges],
            [e.parent for e in edges],
            [e.status for e in edges],
            owner,
        ),
    )
    found_edges = await cur.fetchone()
    assert found_edges is not None
    return {
        "threads": int(row[0]),
        "archived": int(row[1]),
        "named": int(row[2]),
        "spawn_edges": int(found_edges[0]),
    }

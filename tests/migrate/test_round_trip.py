"""A home migrated to PostgreSQL and back is identical; the store answers as the home did."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from threadloom import (
    ListSpawnEdgesParams,
    ListThreadsParams,
    LocalThreadStore,
    SortDirection,
    SortKey,
    ThreadIdParams,
    ThreadStore,
)
from threadloom.ids import ThreadId
from threadloom.migrate import migrate_home_to_postgres, migrate_postgres_to_home
from threadloom.protocol.paths import SESSION_INDEX
from threadloom.store.postgres import PostgresThreadStore
from threadloom.store.records import SpawnEdge

from .homes import decompressed, make_home, reads, rollout_files, thread_ids, without_path

FILTERS: list[dict[str, Any]] = [
    {},
    {"model_providers": [], "source_kinds": []},
    {"archived": True, "model_providers": []},
]
LISTINGS = [
    ListThreadsParams(limit=30, sort_key=key, sort_direction=direction, **filters)
    for key, direction, filters in itertools.product(SortKey, SortDirection, FILTERS)
]


async def pages(store: ThreadStore, params: ListThreadsParams) -> list[object]:
    """Every page of a listing (records without their rollout path, then the cursors)."""
    out: list[object] = []
    cursor = None
    for _ in range(20):
        page = await store.list_threads(
            ListThreadsParams(
                **{**{f: getattr(params, f) for f in params.__struct_fields__}, "cursor": cursor}
            )
        )
        out += [without_path(t) for t in page.items] + [page.next_cursor, page.backwards_cursor]
        cursor = page.next_cursor
        if cursor is None:
            break
    return out


async def edges(store: ThreadStore, ids: list[ThreadId]) -> list[SpawnEdge]:
    """Every spawn edge below any of the threads."""
    found: list[SpawnEdge] = []
    for tid in ids:
        found += await store.list_spawn_edges(ListSpawnEdgesParams(parent_thread_id=tid))
    return found


async def test_a_home_copied_to_postgres_and_back_is_identical(
    tmp_path: Path, pg_url: str, owner: str
) -> None:
    source = await make_home(tmp_path / "source")
    back = tmp_path / "back"
    ids = await thread_ids(source)

    there = await migrate_home_to_postgres(source, pg_url, owner=owner)

    assert there.verified, there.mismatches()
    assert (there.threads, there.copied, there.spawn_edges) == (len(ids), len(ids), 1)
    assert there.not_threads  # the generator's files without usable session metadata
    home = LocalThreadStore(source, watch=False)
    store = PostgresThreadStore(pg_url, owner=owner)
    try:
        expected = await reads(home, ids)
        listed = [await pages(home, params) for params in LISTINGS]
        spawned = await edges(home, ids)
        assert await reads(store, ids) == expected  # the store answers as the home did
        assert [await pages(store, params) for params in LISTINGS] == listed
        assert await edges(store, ids) == spawned
        for tid in ids:
            path = Path(await home.resolve_legacy_path(ThreadIdParams(thread_id=tid)))
            assert await store.rollout_bytes(tid) == decompressed(path), tid
    finally:
        await home.close()
        await store.close()

    again = await migrate_postgres_to_home(pg_url, back, owner=owner)

    assert again.verified, again.mismatches()
    assert (again.threads, again.copied) == (len(ids), len(ids))
    original = rollout_files(source)
    copied = rollout_files(back)
    not_threads = {Path(p).relative_to(source).as_posix() for p in there.not_threads}
    assert set(copied) == set(original) - not_threads
    for relative, (data, mtime_ns) in copied.items():
        assert (data, mtime_ns) == original[relative], relative
    assert (back / SESSION_INDEX).read_bytes() == (source / SESSION_INDEX).read_bytes()
    returned = LocalThreadStore(back, watch=False)
    try:
        assert await reads(returned, ids) == expected
        assert [await pages(returned, params) for params in LISTINGS] == listed
        assert await edges(returned, ids) == spawned
    finally:
        await returned.close()

"""Homes to migrate, and what is compared between a home and a store."""

from __future__ import annotations

from pathlib import Path

import msgspec

from threadloom import (
    LiveThread,
    LocalThreadStore,
    ReadThreadParams,
    SetThreadNameParams,
    ThreadMetadataPatch,
    ThreadStore,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.errors import ThreadloomError
from threadloom.ids import ThreadId
from threadloom.protocol.paths import parse_rollout_name
from threadloom.protocol.rollout import HistoryMode
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.reader import open_rollout
from threadloom.store.params import GitInfoPatch
from threadloom.store.records import StoredThread
from threadloom.testing import MIN_VARIED_THREADS, generate_home

from ..conformance.builders import create_params, make_thread, turn, user_message


async def make_home(root: Path) -> Path:
    """A varied generated home (every unusual file the generator knows, compressed and torn
    ones included), plus what only a store writes: a paginated thread whose git info is kept
    outside its rollout, spawn edges, and a rename."""
    generate_home(root, threads=MIN_VARIED_THREADS, seed=7, varied=True)
    store = LocalThreadStore(root, watch=False)
    try:
        live = await LiveThread.create(store, create_params(history_mode=HistoryMode.PAGINATED))
        await live.append(turn("paginated work", "done", turn_id="p1"))
        await live.shutdown()
        await store.update_thread_metadata(
            UpdateThreadMetadataParams(
                thread_id=live.thread_id,
                patch=ThreadMetadataPatch(git=GitInfoPatch(branch="feature", sha="abc123")),
            )
        )
        parent = await make_thread(store, user_message("the parent"))
        child = await make_thread(store, user_message("the child"))
        await store.upsert_spawn_edge(
            UpsertSpawnEdgeParams(parent_thread_id=parent, child_thread_id=child)
        )
        await store.set_thread_name(SetThreadNameParams(thread_id=parent, name="parent job"))
    finally:
        await store.close()
    return root


async def thread_ids(home: Path) -> list[ThreadId]:
    """Every thread the local store can read, found from the files (not from an index)."""
    store = LocalThreadStore(home, watch=False)
    found: set[ThreadId] = set()
    try:
        for rollout in CodexHome(home).iter_all():
            try:
                read = await store.read_thread(
                    ReadThreadParams(thread_id=ThreadId(rollout.name.file_uuid))
                )
            except ThreadloomError:
                continue
            found.add(read.thread_id)
    finally:
        await store.close()
    return sorted(found)


def rollout_files(home: Path) -> dict[str, tuple[bytes, int]]:
    """Every rollout file: its path inside the home → (bytes, mtime in ns)."""
    return {
        Path(f.path).relative_to(home).as_posix(): (
            Path(f.path).read_bytes(),
            Path(f.path).stat().st_mtime_ns,
        )
        for f in CodexHome(home).iter_all()
    }


def decompressed(path: Path) -> bytes:
    with open_rollout(path) as stream:
        return stream.read()


def file_uuid(path: str) -> str:
    name = parse_rollout_name(Path(path).name)
    assert name is not None
    return name.file_uuid


def without_path(thread: StoredThread) -> StoredThread:
    """A record as stores agree on it: the rollout path names a file of one of them, and
    files do not record when a thread was archived (Codex keeps that in its database)."""
    return msgspec.structs.replace(thread, rollout_path=None, archived_at_ms=None)


async def reads(store: ThreadStore, ids: list[ThreadId]) -> dict[str, StoredThread]:
    """Every thread of ``ids`` read with its history, without its rollout path."""
    return {
        tid: without_path(
            await store.read_thread(ReadThreadParams(thread_id=tid, include_history=True))
        )
        for tid in ids
    }

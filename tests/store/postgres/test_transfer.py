"""Threads copied in whole from files: every byte kept, read as the local store reads the file,
and written on as the local store writes the file."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from threadloom import (
    AppendItemsParams,
    LoadHistoryParams,
    LocalThreadStore,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadIdParams,
    ThreadStore,
    Unsupported,
    new_thread_id,
)
from threadloom.ids import ThreadId
from threadloom.protocol.codec import encode_line
from threadloom.protocol.paths import rollout_relative_path
from threadloom.store.create import session_meta_line
from threadloom.store.params import ReadThreadByPathParams
from threadloom.store.postgres.transfer import ThreadCopy, store_copy
from threadloom.store.records import StoredThread

from ...conformance.builders import BASE_MS, agent_message, create_params, user_message
from .conftest import StoreFactory

TORN_JSON = b'{"timestamp":"2025-03-01T10:00:09.000Z","type":"event_msg","payload":{"type":"agent_message","message":"complete but torn"}}'  # noqa: E501
TORN_CUT = b'{"timestamp":"2025-03-01T10:00:09.000Z","type":"event_msg","payl'


def file_lines(tid: ThreadId, torn: bytes) -> list[bytes]:
    """A rollout as a crash leaves it: blank and malformed lines, a torn last line."""
    meta = encode_line(session_meta_line(create_params(tid, created_ms=BASE_MS)))
    return [
        meta,
        encode_line(user_message("hello there")),
        b"",
        b"not json at all",
        encode_line(agent_message("hi")),
        torn,
    ]


async def copy_in(store: ThreadStore, tid: ThreadId, lines: list[bytes], path: str) -> None:
    from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415

    assert isinstance(store, PostgresThreadStore)
    copy = ThreadCopy(
        thread_id=tid, file_path=path, lines=lines, torn_tail=True, mtime_ns=BASE_MS * 10**6
    )
    async with store.db.transaction() as conn:
        await store_copy(conn, store.owner, copy, [])


def write_file(home: Path, tid: ThreadId, lines: list[bytes]) -> Path:
    path = home / rollout_relative_path(tid, BASE_MS)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\n".join(lines))  # no newline after the torn line
    return path


async def history(store: ThreadStore, tid: ThreadId) -> list[object]:
    loaded = await store.load_history(LoadHistoryParams(thread_id=tid))
    return [line.payload.get("message") for line in loaded.items]


@pytest.mark.parametrize("torn", [TORN_CUT, TORN_JSON], ids=["cut", "whole-json"])
async def test_a_copied_file_reads_and_grows_as_the_local_store_reads_and_grows_it(
    stores: StoreFactory, tmp_path: Path, torn: bytes
) -> None:
    tid = new_thread_id()
    lines = file_lines(tid, torn)
    path = write_file(tmp_path, tid, lines)
    local = LocalThreadStore(tmp_path, default_provider="openai", watch=False)
    postgres = stores()
    await copy_in(postgres, tid, lines, path.relative_to(tmp_path).as_posix())

    try:
        assert await postgres.rollout_bytes(tid) == path.read_bytes()
        assert await history(postgres, tid) == await history(local, tid)
        last = await postgres.load_history(LoadHistoryParams(thread_id=tid, last=2))
        assert last == await local.load_history(LoadHistoryParams(thread_id=tid, last=2))

        for store in (local, postgres):  # the torn line is closed by the next write
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
            await store.append_items(
                AppendItemsParams(thread_id=tid, items=[agent_message("after")])
            )
            await store.shutdown_thread(ThreadIdParams(thread_id=tid))

        assert await postgres.rollout_bytes(tid) == path.read_bytes()
        assert await history(postgres, tid) == await history(local, tid)
        read = ReadThreadParams(thread_id=tid)
        assert timeless(await postgres.read_thread(read)) == timeless(await local.read_thread(read))
    finally:
        await local.close()


def timeless(thread: StoredThread) -> StoredThread:
    """The record without what names a file or tells when each store wrote."""
    return msgspec.structs.replace(thread, rollout_path=None, updated_at_ms=0, recency_at_ms=0)


async def test_operations_on_rollout_files_say_the_store_keeps_none(
    stores: StoreFactory,
) -> None:
    store = stores()

    with pytest.raises(Unsupported, match="store of rollout files"):
        await store.read_thread_by_rollout_path(ReadThreadByPathParams(rollout_path="/x.jsonl"))
    with pytest.raises(Unsupported, match="store of rollout files"):
        await store.resolve_legacy_path(ThreadIdParams(thread_id=new_thread_id()))

"""Stored lines keep their bytes: a thread reads back as the exact file the local store writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadloom import (
    AppendItemsParams,
    ForkThreadParams,
    HistoryMode,
    LiveThread,
    LocalThreadStore,
    ResumeThreadParams,
    ThreadIdParams,
    ThreadStore,
    new_thread_id,
)
from threadloom.ids import ThreadId
from threadloom.protocol.codec import decode_line
from threadloom.protocol.rollout import RESPONSE_ITEM, RolloutLine

from ...conformance.builders import BASE_MS, LINE_TIME, create_params, token_count, turn
from .conftest import StoreFactory

# Bytes a re-encoding would change: escaped non-ASCII, a float written long-hand, spacing.
ODD_LINES = [
    b'{"timestamp":"2025-03-01T10:00:01.000Z","type":"event_msg","payload":'
    b'{"type":"agent_message","message":"caf\\u00e9 \\ud83d\\ude00","phase":null}}',
    b'{"timestamp":"2025-03-01T10:00:02.000Z","type":"response_item","payload":'
    b'{"type":"function_call_output","call_id":"c1","output":"1.50","extra":1.50e0}}',
    b'{"timestamp": "2025-03-01T10:00:03.000Z", "type": "future_kind", "payload": {"x": 1}}',
]


def output(text: str) -> RolloutLine:
    return RolloutLine(
        timestamp=LINE_TIME,
        type=RESPONSE_ITEM,
        payload={"type": "function_call_output", "call_id": text, "output": text},
    )


async def write_same(store: ThreadStore, tid: ThreadId, mode: HistoryMode) -> None:
    """One thread, written through LiveThread and directly with given encodings."""
    params = create_params(tid, history_mode=mode, created_ms=BASE_MS)
    live = await LiveThread.create(store, params)
    await live.append([*turn("héllo ✓", "done 1.0", turn_id="t1", tokens=1234), output("o1")])
    await live.flush()
    await live.shutdown()
    await store.resume_thread(ResumeThreadParams(thread_id=tid))
    odd = list(ODD_LINES)
    await store.append_items(
        AppendItemsParams(
            thread_id=tid,
            items=[decode_line(raw) for raw in odd],
            encoded=odd,
        )
    )
    await store.append_items(AppendItemsParams(thread_id=tid, items=[token_count(99)]))
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))


@pytest.mark.parametrize("mode", [HistoryMode.LEGACY, HistoryMode.PAGINATED])
async def test_a_thread_reads_back_as_the_local_stores_file_byte_for_byte(
    stores: StoreFactory, tmp_path: Path, mode: HistoryMode
) -> None:
    tid = new_thread_id()
    local = LocalThreadStore(tmp_path, default_provider="openai", watch=False)
    postgres = stores()
    try:
        await write_same(local, tid, mode)
        await write_same(postgres, tid, mode)
        file_bytes = Path(await local.resolve_legacy_path(ThreadIdParams(thread_id=tid)))
        expected = file_bytes.read_bytes()
    finally:
        await local.close()

    exported = await postgres.rollout_bytes(tid)

    assert exported == expected
    if mode == HistoryMode.LEGACY:
        assert all(raw in exported for raw in ODD_LINES)


async def test_a_fork_copies_the_parents_bytes_with_only_the_timestamp_changed(
    stores: StoreFactory, tmp_path: Path
) -> None:
    tid, child = new_thread_id(), new_thread_id()
    local = LocalThreadStore(tmp_path, default_provider="openai", watch=False)
    postgres = stores()
    fork = ForkThreadParams(
        source_thread_id=tid,
        thread=create_params(child, created_ms=BASE_MS + 60_000),
        keep_items=12,
    )
    try:
        await write_same(local, tid, HistoryMode.LEGACY)
        await local.fork_thread(fork)
        await local.shutdown_thread(ThreadIdParams(thread_id=child))
        path = Path(await local.resolve_legacy_path(ThreadIdParams(thread_id=child)))
        expected = path.read_bytes()
    finally:
        await local.close()
    await write_same(postgres, tid, HistoryMode.LEGACY)
    await postgres.fork_thread(fork)
    await postgres.shutdown_thread(ThreadIdParams(thread_id=child))

    assert await postgres.rollout_bytes(child) == expected


@pytest.mark.parametrize("end_ordinal", [None, 3])
async def test_a_paginated_fork_is_written_as_the_local_store_writes_it(
    stores: StoreFactory, tmp_path: Path, end_ordinal: int | None
) -> None:
    tid, child = new_thread_id(), new_thread_id()
    fork = ForkThreadParams(
        source_thread_id=tid,
        thread=create_params(child, created_ms=BASE_MS + 60_000),
        end_ordinal=end_ordinal,
    )

    async def write(store: ThreadStore) -> None:
        params = create_params(tid, history_mode=HistoryMode.PAGINATED, created_ms=BASE_MS)
        live = await LiveThread.create(store, params)
        await live.append([output(f"o{n}") for n in range(5)])
        await live.shutdown()
        await store.fork_thread(fork)
        await store.shutdown_thread(ThreadIdParams(thread_id=child))

    local = LocalThreadStore(tmp_path, default_provider="openai", watch=False)
    postgres = stores()
    try:
        await write(local)
        path = Path(await local.resolve_legacy_path(ThreadIdParams(thread_id=child)))
        expected = path.read_bytes()
    finally:
        await local.close()
    await write(postgres)

    assert await postgres.rollout_bytes(child) == expected
    assert b'"history_base"' in expected

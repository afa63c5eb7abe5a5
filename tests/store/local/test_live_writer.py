"""The local store under a live writer: index kept from the writer's own state, tails, forks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threadloom import (
    CorruptData,
    CreateThreadParams,
    ListThreadsParams,
    LiveThread,
    LoadHistoryParams,
    RolloutLine,
    new_thread_id,
)
from threadloom.protocol.codec import format_timestamp
from threadloom.store.local import LocalThreadStore
from threadloom.store.local import jobs as jobs_module

from .rollouts import T0, line, meta, user


def event(payload: dict[str, Any], ms: int = T0) -> RolloutLine:
    return RolloutLine(timestamp=format_timestamp(ms), type="event_msg", payload=payload)


def params(cwd: str = "/w") -> CreateThreadParams:
    return CreateThreadParams(
        thread_id=new_thread_id(), cwd=cwd, originator="codex_cli_rs", cli_version="0.169.0"
    )


async def test_listing_follows_a_live_thread_without_reading_its_file(
    store: LocalThreadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run_jobs = jobs_module.run_jobs

    def no_reading(fn: Any, jobs: list[Any], progress: Any) -> Any:
        if jobs:
            raise AssertionError(f"the index read a rollout file: {jobs}")
        return real_run_jobs(fn, jobs, progress)

    live = await LiveThread.create(store, params())
    await store.list_threads(ListThreadsParams())  # the index exists before the thread
    monkeypatch.setattr("threadloom.store.local.index.run_jobs", no_reading)
    await live.append([event({"type": "user_message", "message": "first words", "images": []})])
    await live.flush()
    page = await store.list_threads(ListThreadsParams())
    assert [t.preview for t in page.items] == ["first words"]
    await live.append(
        [
            RolloutLine(
                timestamp=format_timestamp(T0),
                type="turn_context",
                payload={"cwd": "/w", "model": "gpt-9", "effort": "high"},
            ),
            event({"type": "token_count", "info": {"total_token_usage": {"total_tokens": 77}}}),
        ]
    )
    await live.flush()
    page = await store.list_threads(ListThreadsParams())
    assert page.items[0].model == "gpt-9"
    assert store.refresh().files_read == 0
    path = Path(live.rollout_path or "")
    size = path.stat().st_size
    row = store.index.conn.execute(
        "SELECT size, scan_offset FROM files WHERE path = ?", (str(path),)
    ).fetchone()
    assert tuple(row) == (size, size)
    await live.shutdown()


async def test_tail_of_a_file_with_a_torn_line_and_garbage(tmp_path: Path) -> None:
    thread_id = new_thread_id()
    rows = [meta(thread_id), user("one"), "{not json", user("two"), user("three")]
    path = tmp_path / f"sessions/2025/10/09/rollout-2025-10-09T08-53-20-{thread_id}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(rows) + '\n{"timestamp":"torn')
    store = LocalThreadStore(tmp_path, watch=False)
    try:
        for last in (0, 1, 2, 3, 4, 10):
            tail = await store.load_history(LoadHistoryParams(thread_id=thread_id, last=last))
            full = await store.load_history(LoadHistoryParams(thread_id=thread_id))
            assert tail.items == (full.items[-last:] if last else [])
        assert len(full.items) == 4
    finally:
        await store.close()


async def test_tail_reads_lines_longer_than_its_block(tmp_path: Path) -> None:
    thread_id = new_thread_id()
    big = "x" * 700_000
    rows = [meta(thread_id), user(big), user("small"), user(big + "y")]
    path = tmp_path / f"sessions/2025/10/09/rollout-2025-10-09T08-53-20-{thread_id}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(rows) + "\n" + line("event_msg", {"type": "x"})[:50_000])
    store = LocalThreadStore(tmp_path, watch=False)
    try:
        tail = await store.load_history(LoadHistoryParams(thread_id=thread_id, last=2))
        assert [item.payload["message"][-1:] for item in tail.items] == ["l", "y"]
    finally:
        await store.close()


async def test_fork_copies_bytes_restamped_and_drops_bad_lines(tmp_path: Path) -> None:
    thread_id = new_thread_id()
    rows = [meta(thread_id), user("one"), "{garbage", user("two"), user("three")]
    path = tmp_path / f"sessions/2025/10/09/rollout-2025-10-09T08-53-20-{thread_id}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(rows) + "\n")
    store = LocalThreadStore(tmp_path, watch=False)
    try:
        child = await LiveThread.fork(store, thread_id, params(), keep_items=2)
        raw = Path(child.rollout_path or "").read_text().splitlines()
        decoded = [json.loads(r) for r in raw]
        assert [d["type"] for d in decoded] == ["session_meta"] * 2 + ["event_msg"] * 2
        assert decoded[0]["payload"]["forked_from_id"] == thread_id
        assert decoded[1]["payload"]["id"] == thread_id
        assert decoded[1]["payload"]["session_id"] == thread_id
        assert [d["payload"]["message"] for d in decoded[2:]] == ["one", "two"]
        assert len({d["timestamp"] for d in decoded}) == 1  # all re-stamped with the fork time
        assert child.metadata.preview == "one"
        listed = await store.list_threads(ListThreadsParams())
        assert {t.thread_id for t in listed.items} == {thread_id, child.thread_id}
        await child.shutdown()
    finally:
        await store.close()


async def test_resume_refuses_a_foreign_history_mode(tmp_path: Path) -> None:
    thread_id = new_thread_id()
    path = tmp_path / f"sessions/2025/10/09/rollout-2025-10-09T08-53-20-{thread_id}.jsonl"
    path.parent.mkdir(parents=True)
    before = "\n".join([meta(thread_id, history_mode="segmented"), user("hi")]) + "\n"
    path.write_text(before)
    store = LocalThreadStore(tmp_path, watch=False)
    try:
        with pytest.raises(CorruptData, match="history_mode"):
            await LiveThread.resume(store, thread_id)
        assert path.read_text() == before
    finally:
        await store.close()


async def test_an_empty_rollout_left_by_a_killed_creator_does_not_block_the_id(
    tmp_path: Path,
) -> None:
    thread_id = new_thread_id()
    stale = tmp_path / f"sessions/2025/10/09/rollout-2025-10-09T08-53-20-{thread_id}.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    store = LocalThreadStore(tmp_path, watch=False)
    try:
        live = await LiveThread.create(
            store,
            CreateThreadParams(
                thread_id=thread_id, cwd="/w", originator="codex_cli_rs", cli_version="0.169.0"
            ),
        )
        await live.append([event({"type": "user_message", "message": "again", "images": []})])
        await live.shutdown()
        assert not stale.exists()
        page = await store.list_threads(ListThreadsParams())
        assert [t.preview for t in page.items] == ["again"]
    finally:
        await store.close()

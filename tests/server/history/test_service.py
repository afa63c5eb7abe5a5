"""``HistoryService``: one index per thread, extended when the rollout grows, rebuilt when it is
replaced; paginated forks read through their ``history_base``; any store through its history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from threadloom.errors import InvalidRequest
from threadloom.ids import ThreadId
from threadloom.live import LiveThread
from threadloom.protocol.codec import decode_line
from threadloom.protocol.rollout import HistoryMode
from threadloom.protocol.turns import build_turns
from threadloom.server.history.index import TurnIndex
from threadloom.server.history.pages import TurnsQuery, turns_page
from threadloom.server.history.service import HistoryService
from threadloom.server.history.source import Source
from threadloom.store.local import LocalThreadStore
from threadloom.store.local.reader import iter_lines
from threadloom.store.memory import InMemoryThreadStore
from threadloom.store.params import CreateThreadParams, LoadHistoryParams, ReadThreadParams
from threadloom.store.records import StoredThread
from threadloom.testing import RolloutBuilder

THREAD = "019a0000-0000-7000-9000-00000000c001"
PARENT = "019a0000-0000-7000-9000-00000000c002"
CHILD = "019a0000-0000-7000-9000-00000000c003"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalThreadStore]:
    local = LocalThreadStore(tmp_path)
    yield local
    await local.close()


async def stored(store: Any, thread_id: str) -> StoredThread:
    result: StoredThread = await store.read_thread(ReadThreadParams(thread_id=ThreadId(thread_id)))
    return result


def snapshot(index: TurnIndex, source: Source) -> tuple[TurnIndex, int]:
    return index, index.count


def builder(turns: int) -> RolloutBuilder:
    b = RolloutBuilder(THREAD, created="2025-02-01T10:00:00Z")
    for n in range(turns):
        b.tick(1000).turn(f"question {n}", f"answer {n}")
    return b


async def test_a_growing_rollout_extends_its_index(tmp_path: Path, store: LocalThreadStore) -> None:
    path = builder(40).write(tmp_path)
    service = HistoryService(store)
    first, count = await service.run(await stored(store, THREAD), snapshot)
    assert count == 40
    bad = TurnsQuery(cursor="junk")
    with pytest.raises(InvalidRequest, match="invalid cursor: junk"):
        await service.run(await stored(store, THREAD), lambda i, s: turns_page(i, s, bad))
    again, _ = await service.run(await stored(store, THREAD), snapshot)
    assert again is first  # kept, also after a request that failed on its own
    more = builder(45)
    path.write_bytes(more.to_bytes())  # the same 40 turns, then 5 more
    grown, count = await service.run(await stored(store, THREAD), snapshot)
    assert grown is first
    assert count == 45
    page = await service.run(
        await stored(store, THREAD), lambda i, s: turns_page(i, s, TurnsQuery(limit=3))
    )
    assert [t["items"][0]["content"][0]["text"] for t in page["data"]] == [
        "question 44",
        "question 43",
        "question 42",
    ]


async def test_a_replaced_rollout_is_indexed_again(tmp_path: Path, store: LocalThreadStore) -> None:
    path = builder(30).write(tmp_path)
    service = HistoryService(store)
    first, _ = await service.run(await stored(store, THREAD), snapshot)
    other = RolloutBuilder(THREAD, created="2025-02-01T10:00:00Z")
    for n in range(31):
        other.tick(1000).turn(f"another question {n}", "no")
    path.write_bytes(other.to_bytes())
    replaced, count = await service.run(await stored(store, THREAD), snapshot)
    assert replaced is not first
    assert count == 31
    turns = await service.full_turns(await stored(store, THREAD), active=False)
    assert turns == build_turns(iter_lines(path))


def paginated_pair(home: Path) -> tuple[Path, Path]:
    """A paginated parent, and a fork whose history is the parent's first two turns."""
    parent = RolloutBuilder(PARENT, created="2025-02-02T10:00:00Z", history_mode="paginated")
    for n in range(2):
        turn = f"019a0000-0000-7000-8000-00000000c00{n}"
        _paginated_turn(parent, turn, f"parent {n}")
    cut_bytes, cut_ordinal = parent.size, len(parent.lines)
    _paginated_turn(parent, "019a0000-0000-7000-8000-00000000c009", "after the fork")
    base = {"thread_id": PARENT, "end_ordinal_exclusive": cut_ordinal, "end_byte_offset": cut_bytes}
    child = RolloutBuilder(
        CHILD,
        created="2025-02-02T11:00:00Z",
        history_mode="paginated",
        forked_from_id=PARENT,
        meta_extra={"history_base": base},
        write_meta=False,
    )
    child._ordinal = cut_ordinal  # the fork's ordinals continue the parent's
    child.session_meta()
    _paginated_turn(child, "019a0000-0000-7000-8000-00000000c010", "on the fork")
    return parent.write(home), child.write(home)


def _paginated_turn(b: RolloutBuilder, turn: str, text: str) -> None:
    b.event({"type": "task_started", "turn_id": turn, "started_at": 1})
    item = {
        "type": "AgentMessage",
        "id": f"msg-{text}",
        "content": [{"type": "Text", "text": text}],
    }
    b.event({"type": "item_completed", "thread_id": b.thread_id, "turn_id": turn, "item": item})
    b.event({"type": "task_complete", "turn_id": turn, "completed_at": 2})


async def test_a_paginated_fork_reads_its_parent_below_the_fork_point(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    parent, child = paginated_pair(tmp_path)
    service = HistoryService(store)
    turns = await service.full_turns(await stored(store, CHILD), active=False)
    texts = [t["items"][0]["text"] for t in turns]
    assert texts == ["parent 0", "parent 1", "on the fork"]
    inherited = [line for line in iter_lines(parent) if line.ordinal is not None]
    cut = json.loads(child.read_text().splitlines()[0])["payload"]["history_base"]
    own = list(iter_lines(child))
    lines = [line for line in inherited if line.ordinal < cut["end_ordinal_exclusive"]] + own
    assert turns == build_turns(lines)
    # the fork's own session_meta ordinal lies outside its lineage (only lines inside count)
    cursor = {
        "requestedThreadId": CHILD,
        "rolloutOrdinal": cut["end_ordinal_exclusive"],
        "includeAnchor": False,
        "scope": {"kind": "turns"},
    }
    query = TurnsQuery(cursor=json.dumps(cursor))
    fork = await stored(store, CHILD)
    with pytest.raises(InvalidRequest, match="outside thread lineage"):
        await service.run(fork, lambda i, s: turns_page(i, s, query))


async def test_any_store_is_read_through_its_history() -> None:
    memory = InMemoryThreadStore()
    params = CreateThreadParams(
        thread_id=ThreadId(THREAD), cwd="/p", originator="o", cli_version="0.169.0"
    )
    live = await LiveThread.create(memory, params)
    source = builder(20)
    await live.append(iter_lines_of(source)[1:])
    await live.flush()
    thread = await stored(memory, THREAD)
    assert thread.history_mode == HistoryMode.LEGACY
    service = HistoryService(memory)
    turns = await service.full_turns(thread, active=False)
    history = await memory.load_history(LoadHistoryParams(thread_id=ThreadId(THREAD)))
    assert len(turns) == 20
    assert turns == build_turns(history.items)
    page = await service.run(thread, lambda i, s: turns_page(i, s, TurnsQuery(limit=5)))
    assert page["data"][0]["id"] == turns[-1]["id"]
    await live.shutdown()


def iter_lines_of(b: RolloutBuilder) -> list[Any]:
    return [decode_line(raw) for raw in b.lines]

"""ThreadManager forks and resumes on a local store: the cut points of rollout-format 16.1
(before the n-th user message, rollbacks applied), and a paginated fork's inherited history."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from threadloom.errors import InvalidRequest
from threadloom.ids import ThreadId
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import HistoryMode
from threadloom.runtime import ThreadManager
from threadloom.runtime.config import RecordedSettings
from threadloom.runtime.settings import ThreadSettings
from threadloom.store.create import session_meta_line
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import CreateThreadParams
from threadloom.store.records import StoredThread
from threadloom.testing import RolloutBuilder, rollout_path, uuid7
from threadloom.testing.turns import Turn, TurnWriter, Usage

BASE_MS = 1_735_905_600_000


def settings_for(stored: StoredThread, recorded: RecordedSettings) -> ThreadSettings:
    return ThreadSettings(model="m", model_provider="openai", cwd=recorded.cwd or stored.cwd)


@pytest.fixture
async def home(tmp_path: Path) -> Path:
    out = tmp_path / "home"
    out.mkdir()
    return out


def legacy_thread(home: Path, *, rollback: bool = False) -> ThreadId:
    thread_id = uuid7(BASE_MS, random.Random(7))
    b = RolloutBuilder(thread_id, created=BASE_MS, cwd="/proj")
    b.turn("one", "1", turn_id="t1").turn("two", "2", turn_id="t2")
    if rollback:
        b.event({"type": "thread_rolled_back", "num_turns": 1})
    b.turn("three", "3", turn_id="t3")
    b.write(home)
    return ThreadId(thread_id)


async def fork_turns(home: Path, thread_id: ThreadId, **cut: Any) -> list[tuple[str, str]]:
    store = LocalThreadStore(home)
    manager = ThreadManager(store)
    try:
        result = await manager.fork(thread_id, settings_for, **cut)
        return [(t["id"], t["status"]) for t in result.turns]
    finally:
        await manager.close()
        await store.close()


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        # the cut falls inside turn n+1 (after its task_started): that turn is left open,
        # so the fork marks it interrupted
        (0, [("t1", "interrupted")]),
        (1, [("t1", "completed"), ("t2", "interrupted")]),
        (3, [("t1", "completed"), ("t2", "completed"), ("t3", "completed")]),
        (9, [("t1", "completed"), ("t2", "completed"), ("t3", "completed")]),
    ],
)
async def test_a_fork_before_the_nth_user_message(
    home: Path, n: int, expected: list[tuple[str, str]]
) -> None:
    thread_id = legacy_thread(home)
    assert await fork_turns(home, thread_id, before_user_message=n) == expected


async def test_rolled_back_user_messages_are_no_boundaries(home: Path) -> None:
    thread_id = legacy_thread(home, rollback=True)
    whole = await fork_turns(home, thread_id)
    assert [t for t, _ in whole] == ["t1", "t3"]
    assert await fork_turns(home, thread_id, before_user_message=1) == [
        ("t1", "completed"),
        ("t3", "interrupted"),
    ]


async def test_a_fork_is_cut_at_one_point_at_most(home: Path) -> None:
    thread_id = legacy_thread(home)
    with pytest.raises(InvalidRequest):
        await fork_turns(home, thread_id, last_turn_id="t1", before_user_message=1)
    with pytest.raises(InvalidRequest):
        await fork_turns(home, thread_id, before_user_message=-1)


def paginated_thread(home: Path) -> ThreadId:
    thread_id = uuid7(BASE_MS, random.Random(7))
    params = CreateThreadParams(
        thread_id=ThreadId(thread_id),
        cwd="/proj",
        originator="codex_cli_rs",
        cli_version="0.169.0",
        created_at_ms=BASE_MS,
        model_provider="openai",
        history_mode=HistoryMode.PAGINATED,
    )
    writer = TurnWriter(
        thread_id, cwd="/proj", start_ms=BASE_MS, history_mode=HistoryMode.PAGINATED
    )
    turns = [
        Turn(user="p1", agent="a1", usage=(Usage(100, 10),), turn_id="p1"),
        Turn(user="p2", agent="a2", usage=(Usage(100, 10),), turn_id="p2"),
    ]
    lines = [session_meta_line(params), *writer.turns(turns)]
    path = rollout_path(home, thread_id, BASE_MS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"".join(
            encode_line(msgspec.structs.replace(line, ordinal=n)) + b"\n"
            for n, line in enumerate(lines)
        )
    )
    return ThreadId(thread_id)


async def test_a_paginated_fork_resumes_with_its_inherited_history(home: Path) -> None:
    parent = paginated_thread(home)
    store = LocalThreadStore(home)
    manager = ThreadManager(store)
    forked = await manager.fork(parent, settings_for, last_turn_id="p1")
    child = forked.thread.thread_id
    assert [t["id"] for t in forked.turns] == ["p1"]
    assert forked.thread.preview == "p1"
    await manager.close()

    again = ThreadManager(store)  # another process: the child is read back from its file
    try:
        resumed = await again.resume(child, settings_for)
        assert [t["id"] for t in resumed.turns] == ["p1"]
        assert [i["type"] for i in resumed.turns[0]["items"]] == ["userMessage", "agentMessage"]
        assert resumed.last_turn_ordinal == 1
        assert resumed.last_item_ordinal is not None
    finally:
        await again.close()
        await store.close()

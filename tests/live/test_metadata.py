"""A live thread's metadata: every write moves ``updated_at``; only a started turn moves
``recency_at`` (recorded settings and metadata updates do not), as Codex's loaded threads."""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.live.metadata import LiveMetadata, now_ms
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.store.records import StoredThread, stored_from_summary

from ..protocol.test_applied_settings import THREAD_ID, event

STORED_MS = 1_735_905_600_000


def stored() -> StoredThread:
    state = SummaryState()
    meta = {
        "id": THREAD_ID,
        "timestamp": "2025-01-03T12:00:00.000Z",
        "cwd": "/meta",
        "originator": "codex_cli_rs",
        "cli_version": "0.169.0",
    }
    state.feed("session_meta", meta)
    state.feed("turn_context", {"turn_id": "t1", "cwd": "/meta", "model": "tc"})
    state.feed("event_msg", {"type": "user_message", "message": "hello"})
    session = state.meta()
    assert session is not None
    return stored_from_summary(
        session,
        state,
        default_provider="openai",
        updated_at_ms=STORED_MS,
        recency_at_ms=STORED_MS,
    )


def line(kind: str, payload: dict[str, Any]) -> RolloutLine:
    return RolloutLine(timestamp="2025-01-03T12:00:01.000Z", type=kind, payload=payload)


def test_recorded_settings_move_the_update_time_and_settings_but_not_the_recency() -> None:
    live = LiveMetadata(stored())
    start = now_ms()

    live.observe([line("event_msg", event(model="ts", reasoning_effort="high", cwd="/other"))])
    current = live.current()

    assert current.updated_at_ms >= start
    assert current.recency_at_ms == STORED_MS
    assert (current.model, current.reasoning_effort, current.settings_cwd) == (
        "ts",
        "high",
        "/other",
    )


def test_a_started_turn_moves_the_recency() -> None:
    live = LiveMetadata(stored())
    start = now_ms()

    live.observe(
        [
            line("event_msg", {"type": "task_started", "turn_id": "t2"}),
            line("turn_context", {"turn_id": "t2", "cwd": "/meta", "model": "tc"}),
        ]
    )

    assert live.current().recency_at_ms >= start
    assert live.current().recency_at_ms == live.current().updated_at_ms


def test_a_metadata_update_keeps_both_times() -> None:
    live = LiveMetadata(stored())
    renamed = msgspec.structs.replace(stored(), name="new", updated_at_ms=now_ms())

    live.replace_base(renamed)

    current = live.current()
    assert (current.name, current.updated_at_ms, current.recency_at_ms) == (
        "new",
        STORED_MS,
        STORED_MS,
    )

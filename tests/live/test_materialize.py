"""worth_keeping: which lines make a started thread materialise (rollout-format 12.1)."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.live.materialize import worth_keeping
from threadloom.protocol.rollout import (
    COMPACTED,
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
    RolloutLine,
)

STAMP = "2025-03-01T10:00:00.000Z"


def line(kind: str, payload: Any) -> RolloutLine:
    return RolloutLine(timestamp=STAMP, type=kind, payload=payload)


def ev(event_type: str, **fields: Any) -> RolloutLine:
    return line(EVENT_MSG, {"type": event_type, **fields})


def label(given: RolloutLine) -> str:
    payload = given.payload
    event_type = payload.get("type") if isinstance(payload, dict) else None
    return f"{given.type}:{event_type}"


WORTH_KEEPING = [
    ev("task_started", turn_id="turn-1", model_context_window=258400),
    ev("turn_started", turn_id="turn-1"),
    ev("user_message", message="hi", images=[], local_images=[], text_elements=[]),
    ev("agent_message", message="hello", phase=None, memory_citation=None),
    ev("item_completed", thread_id="t", turn_id="turn-1", item={"type": "UserMessage"}),
    ev("turn_aborted", turn_id="turn-1", reason="interrupted"),
    ev("task_complete", turn_id="turn-1", last_agent_message=None),
    ev("turn_complete", turn_id="turn-1"),
    ev("thread_rolled_back", num_turns=1),
    ev("thread_goal_updated", threadId="t", goal={"objective": "ship", "status": "active"}),
    line(RESPONSE_ITEM, {"type": "message", "role": "developer", "content": []}),
    line(RESPONSE_ITEM, {"type": "additional_tools", "tools": []}),
    line(RESPONSE_ITEM, {"type": "function_call_output", "call_id": "c", "output": "ok"}),
    line(COMPACTED, {"message": "summary", "replacement_history": []}),
    line("inter_agent_communication", {"from": "a", "to": "b", "content": "hi"}),
    line("inter_agent_communication_metadata", {"id": "m"}),
]
SETUP_ONLY = [
    ev("thread_settings_applied", thread_id="t", thread_settings={"model": "gpt-5"}),
    ev("token_count", info=None, rate_limits=None),
    ev("exec_command_end", call_id="c", aggregated_output="ok"),
    ev("error", message="boom"),
    line(TURN_CONTEXT, {"turn_id": "turn-1", "cwd": "/w", "model": "gpt-5"}),
    line("world_state", {"cwd": "/w"}),
    line(SESSION_META, {"id": "x"}),
    line("token_usage_record", {"total": 1}),
    line("future_kind", {"type": "user_message"}),
    line(EVENT_MSG, "user_message"),
    line(EVENT_MSG, {"message": "no type"}),
]


@pytest.mark.parametrize("given", WORTH_KEEPING, ids=label)
def test_lines_that_materialise_a_thread(given: RolloutLine) -> None:
    assert worth_keeping(given)


@pytest.mark.parametrize("given", SETUP_ONLY, ids=label)
def test_lines_that_are_only_buffered(given: RolloutLine) -> None:
    assert not worth_keeping(given)

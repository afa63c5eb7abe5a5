"""PersistFilter: what a live thread writes under each policy, and in what form."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.errors import InvalidRequest
from threadloom.live.filter import PersistFilter
from threadloom.protocol.codec import encode_line
from threadloom.protocol.policy import EventMode
from threadloom.protocol.rollout import (
    COMPACTED,
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
    HistoryMode,
    RolloutLine,
)

STAMP = "2025-03-01T10:00:00.000Z"
LIMITED, EXTENDED = EventMode.LIMITED, EventMode.EXTENDED
LEGACY, PAGINATED = HistoryMode.LEGACY, HistoryMode.PAGINATED


def line(kind: str, payload: Any) -> RolloutLine:
    return RolloutLine(timestamp=STAMP, type=kind, payload=payload)


def ev(event_type: str, **fields: Any) -> RolloutLine:
    return line(EVENT_MSG, {"type": event_type, **fields})


def item(item_type: str, **fields: Any) -> RolloutLine:
    return line(RESPONSE_ITEM, {"type": item_type, **fields})


def completed(item_type: str | None) -> RolloutLine:
    body: dict[str, Any] = {"id": "item-1"}
    if item_type is not None:
        body["type"] = item_type
    return ev("item_completed", thread_id="t", turn_id="turn-1", item=body)


def kept(mode: EventMode, history: HistoryMode, given: RolloutLine) -> bool:
    lines, encoded = PersistFilter(mode, history).apply([given])
    assert len(lines) == len(encoded)
    return bool(lines)


ALWAYS = [
    line(SESSION_META, {"id": "x", "timestamp": STAMP, "cwd": "/w", "originator": "o"}),
    line(TURN_CONTEXT, {"turn_id": "turn-1", "cwd": "/w", "model": "gpt-5"}),
    line(COMPACTED, {"message": "summary", "replacement_history": []}),
    line("world_state", {"cwd": "/w"}),
    line("inter_agent_communication", {"from": "a", "to": "b"}),
    line("token_usage_record", {"total": 1}),
    ev("token_count", info=None, rate_limits=None),
    ev("task_started", turn_id="turn-1", model_context_window=200000),
    ev("turn_started", turn_id="turn-1"),
    ev("task_complete", turn_id="turn-1", last_agent_message=None),
    ev("turn_complete", turn_id="turn-1"),
    ev("turn_aborted", turn_id="turn-1", reason="interrupted"),
    ev("thread_rolled_back", num_turns=1),
    ev("thread_settings_applied", thread_id="t", thread_settings={}),
    item("message", role="user", content=[{"type": "input_text", "text": "hi"}]),
    item("reasoning", summary=[], content=None, encrypted_content="gAAAA"),
    item("function_call", name="shell", arguments="{}", call_id="c1"),
    item("function_call_output", call_id="c1", output="ok"),
    item("additional_tools", tools=[]),
]
NEVER = [
    ev("exec_command_begin", call_id="c1"),
    ev("agent_message_content_delta", delta="x"),
    ev("exec_command_output_delta", call_id="c1", chunk="eA=="),
    ev("warning", message="careful"),
    ev("session_configured", session_id="x"),
    ev("item_started", item={"type": "AgentMessage"}),
    item("compaction_trigger"),
    item("other"),
    item("ghost_snapshot", ghost_commit={}),
    line("future_kind", {"tag": "x"}),
    line(EVENT_MSG, "not an object"),
    line(EVENT_MSG, {"message": "no type"}),
    line(RESPONSE_ITEM, {"type": 3}),
]
LEGACY_ONLY = [
    ev("user_message", message="hi", images=[], local_images=[], text_elements=[]),
    ev("agent_message", message="hello", phase=None, memory_citation=None),
    ev("agent_reasoning", text="thinking"),
    ev("patch_apply_end", call_id="c1", stdout="", stderr="", success=True, changes={}),
    ev("context_compacted"),
    ev("mcp_tool_call_end", call_id="c1", invocation={}, duration={}, result={}),
    ev("web_search_end", call_id="c1", query="q", action={}),
]
EXTENDED_ONLY = [
    ev("error", message="boom"),
    ev("exec_command_end", call_id="c1", aggregated_output="ok", stdout="ok", exit_code=0),
    ev("guardian_assessment", id="g"),
    ev("view_image_tool_call", call_id="c1", path="/w/x.png"),
    ev("dynamic_tool_call_request", call_id="c1"),
]


def label(given: RolloutLine) -> str:
    payload = given.payload
    event_type = payload.get("type") if isinstance(payload, dict) else None
    return f"{given.type}:{event_type}"


@pytest.mark.parametrize("given", ALWAYS, ids=label)
@pytest.mark.parametrize("mode", list(EventMode))
@pytest.mark.parametrize("history", list(HistoryMode))
def test_always_persisted(given: RolloutLine, mode: EventMode, history: HistoryMode) -> None:
    assert kept(mode, history, given)


@pytest.mark.parametrize("given", NEVER, ids=label)
@pytest.mark.parametrize("mode", list(EventMode))
@pytest.mark.parametrize("history", list(HistoryMode))
def test_never_persisted(given: RolloutLine, mode: EventMode, history: HistoryMode) -> None:
    assert not kept(mode, history, given)


@pytest.mark.parametrize("given", LEGACY_ONLY, ids=label)
@pytest.mark.parametrize("mode", list(EventMode))
def test_legacy_only_events(given: RolloutLine, mode: EventMode) -> None:
    assert kept(mode, LEGACY, given)
    assert not kept(mode, PAGINATED, given)


@pytest.mark.parametrize("given", EXTENDED_ONLY, ids=label)
@pytest.mark.parametrize("history", list(HistoryMode))
def test_extended_only_events(given: RolloutLine, history: HistoryMode) -> None:
    assert kept(EXTENDED, history, given)
    assert not kept(LIMITED, history, given)


@pytest.mark.parametrize(
    ("item_type", "in_legacy"),
    [
        ("Plan", True),
        ("Sleep", True),
        ("CommandExecution", False),
        ("UserMessage", False),
        ("AgentMessage", False),
        ("plan", False),
        (None, False),
    ],
)
@pytest.mark.parametrize("mode", list(EventMode))
def test_item_completed(item_type: str | None, in_legacy: bool, mode: EventMode) -> None:
    assert kept(mode, LEGACY, completed(item_type)) is in_legacy
    assert kept(mode, PAGINATED, completed(item_type))


def test_item_completed_without_an_item_object() -> None:
    bare = ev("item_completed", item="Plan")
    assert not kept(LIMITED, LEGACY, bare)
    assert kept(LIMITED, PAGINATED, bare)


def test_kept_lines_keep_their_order_and_are_encoded() -> None:
    given = [*ALWAYS[:4], NEVER[0], LEGACY_ONLY[0], EXTENDED_ONLY[0], ALWAYS[-1]]

    lines, encoded = PersistFilter(LIMITED, LEGACY).apply(iter(given))

    assert lines == [*ALWAYS[:4], LEGACY_ONLY[0], ALWAYS[-1]]
    assert encoded == [encode_line(kept_line) for kept_line in lines]


def test_extended_mode_sanitises_exec_command_end() -> None:
    output = "x" * 6000 + "日本語" * 2000
    end = ev(
        "exec_command_end",
        call_id="c1",
        turn_id="turn-1",
        stdout=output,
        stderr="oops",
        aggregated_output=output,
        formatted_output=output,
        exit_code=1,
        duration={"secs": 0, "nanos": 5},
        status="failed",
    )

    (written,), (data,) = PersistFilter(EXTENDED, LEGACY).apply([end])

    payload = written.payload
    assert (payload["stdout"], payload["stderr"], payload["formatted_output"]) == ("", "", "")
    cut = payload["aggregated_output"]
    assert cut.startswith("x" * 5000 + "…")
    # the suffix starts at the first character boundary at or after 24,000 - 5,000 bytes
    assert cut.endswith("…" + "語" + "日本語" * 555)
    removed = len(output) - 5000 - (1 + 3 * 555)
    assert f"…{removed} chars truncated…" in cut
    assert {k: payload[k] for k in ("call_id", "turn_id", "exit_code", "duration", "status")} == {
        k: end.payload[k] for k in ("call_id", "turn_id", "exit_code", "duration", "status")
    }
    assert data == encode_line(written)
    assert end.payload["stdout"] == output, "the caller's payload is not changed"


def test_extended_mode_keeps_short_output_and_missing_streams() -> None:
    end = ev("exec_command_end", call_id="c1", aggregated_output="fine\n", exit_code=0)

    (written,), _ = PersistFilter(EXTENDED, PAGINATED).apply([end])

    assert written.payload == end.payload
    assert "stdout" not in written.payload


def test_a_non_json_payload_is_refused() -> None:
    bad = ev("agent_message", message="x", phase=object())

    with pytest.raises(InvalidRequest, match="cannot be stored as JSON"):
        PersistFilter(LIMITED, LEGACY).apply([ALWAYS[6], bad])


@pytest.mark.parametrize(
    "given",
    [{"timestamp": STAMP, "type": EVENT_MSG, "payload": {}}, "line", None],
    ids=["dict", "str", "none"],
)
def test_only_rollout_lines_are_accepted(given: Any) -> None:
    with pytest.raises(InvalidRequest, match="expected a RolloutLine"):
        PersistFilter(LIMITED, LEGACY).apply([given])


def test_given_encodings_are_kept_for_the_kept_lines() -> None:
    given = [ALWAYS[0], NEVER[0], LEGACY_ONLY[0], ALWAYS[-1]]
    marked = [b"meta bytes", b"dropped", b"user message bytes", b"tools bytes"]

    lines, encoded = PersistFilter(LIMITED, LEGACY).apply(given, marked)

    assert lines == [ALWAYS[0], LEGACY_ONLY[0], ALWAYS[-1]]
    assert encoded == [b"meta bytes", b"user message bytes", b"tools bytes"]


def test_a_line_the_policy_rewrites_is_encoded_again() -> None:
    end = ev("exec_command_end", call_id="c1", stdout="out", aggregated_output="out", exit_code=0)

    (written,), (data,) = PersistFilter(EXTENDED, LEGACY).apply([end], [encode_line(end)])

    assert written.payload["stdout"] == ""
    assert data == encode_line(written) != encode_line(end)

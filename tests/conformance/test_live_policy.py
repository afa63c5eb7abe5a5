"""LiveThread's persistence policy on every backend: what is dropped never reaches the store,
extended mode sanitises command output (rollout-format 10)."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom import (
    EventMode,
    HistoryMode,
    InvalidRequest,
    LiveThread,
    LoadHistoryParams,
    NotFound,
    ReadThreadParams,
    RolloutLine,
    ThreadStore,
)
from threadloom.protocol.rollout import RESPONSE_ITEM, SESSION_META

from .builders import (
    LINE_TIME,
    agent_message,
    create_params,
    event,
    response_message,
    task_complete,
    task_started,
    token_count,
    user_message,
)

MARKER_END = " chars truncated…"


# --- realistic lines --------------------------------------------------------------------------
def exec_begin(call_id: str) -> RolloutLine:
    return event(
        {
            "type": "exec_command_begin",
            "call_id": call_id,
            "turn_id": "turn-1",
            "command": ["/bin/bash", "-lc", "make test"],
            "cwd": "/w/a",
            "parsed_cmd": [{"type": "unknown", "cmd": "make test"}],
            "source": "agent",
        }
    )


def exec_end(call_id: str, output: str) -> RolloutLine:
    """An ``exec_command_end`` event (rollout-format 10.4) whose streams all hold ``output``."""
    return event(
        {
            "type": "exec_command_end",
            "call_id": call_id,
            "process_id": None,
            "turn_id": "turn-1",
            "completed_at_ms": 1740823201000,
            "command": ["/bin/bash", "-lc", "make test"],
            "cwd": "/w/a",
            "parsed_cmd": [{"type": "unknown", "cmd": "make test"}],
            "source": "agent",
            "stdout": output,
            "stderr": "warning: deprecated\n",
            "aggregated_output": output,
            "exit_code": 0,
            "duration": {"secs": 1, "nanos": 541872816},
            "formatted_output": output,
            "status": "completed",
        }
    )


def error_event(message: str) -> RolloutLine:
    return event({"type": "error", "message": message, "codex_error_info": "other"})


def content_delta(delta: str) -> RolloutLine:
    return event(
        {
            "type": "agent_message_content_delta",
            "thread_id": "t",
            "turn_id": "turn-1",
            "item_id": "msg-1",
            "delta": delta,
        }
    )


def response_item(payload: dict[str, Any]) -> RolloutLine:
    return RolloutLine(timestamp=LINE_TIME, type=RESPONSE_ITEM, payload=payload)


def function_call(call_id: str) -> RolloutLine:
    return response_item(
        {
            "type": "function_call",
            "name": "shell",
            "arguments": '{"command":["make","test"]}',
            "call_id": call_id,
        }
    )


def item_completed(item: dict[str, Any]) -> RolloutLine:
    return event(
        {
            "type": "item_completed",
            "thread_id": "t",
            "turn_id": "turn-1",
            "item": item,
            "started_at_ms": 1740823200000,
            "completed_at_ms": 1740823201000,
        }
    )


PLAN = item_completed(
    {"type": "Plan", "id": "plan-1", "text": "1. read\n2. fix", "explanation": None}
)
SLEEP = item_completed({"type": "Sleep", "id": "sleep-1", "duration_ms": 500})
COMMAND = item_completed(
    {
        "type": "CommandExecution",
        "id": "cmd-1",
        "command": ["/bin/bash", "-lc", "echo one"],
        "cwd": "file:///w/a",
        "parsed_cmd": [{"type": "unknown", "cmd": "echo one"}],
        "source": "user_shell",
        "status": "completed",
        "aggregated_output": "one\n",
        "exit_code": 0,
        "duration": {"secs": 0, "nanos": 541872816},
    }
)
USER_ITEM = item_completed(
    {
        "type": "UserMessage",
        "id": "item-1",
        "content": [{"type": "text", "text": "run it", "text_elements": []}],
    }
)
AGENT_ITEM = item_completed(
    {"type": "AgentMessage", "id": "item-2", "content": [{"type": "Text", "text": "done"}]}
)
COMPACTION_TRIGGER = response_item({"type": "compaction_trigger"})
OTHER_ITEM = response_item({"type": "other"})


def content(lines: list[RolloutLine]) -> list[tuple[str, str, Any]]:
    return [(line.timestamp, line.type, line.payload) for line in lines]


async def written(
    store: ThreadStore,
    lines: list[RolloutLine],
    *,
    mode: EventMode = EventMode.LIMITED,
    history: HistoryMode = HistoryMode.LEGACY,
) -> list[RolloutLine]:
    """Append ``lines`` (after a task_started) to a new live thread; what the store holds
    after the session_meta and that first line."""
    live = await LiveThread.create(store, create_params(history_mode=history), event_mode=mode)
    await live.append([task_started("turn-1")])
    await live.append(lines)
    await live.flush()
    stored = (await store.load_history(LoadHistoryParams(thread_id=live.thread_id))).items
    assert (await live.load_history()).items == stored
    await live.shutdown()
    assert stored[0].type == SESSION_META
    assert content(stored[1:2]) == content([task_started("turn-1")])
    return stored[2:]


# --- limited / extended ---------------------------------------------------------------------
async def test_limited_mode_drops_extended_only_and_never_persisted_items(
    store: ThreadStore,
) -> None:
    lines = [
        user_message("run the tests"),
        exec_begin("call-1"),
        function_call("call-1"),
        exec_end("call-1", "ok\n"),
        error_event("stream disconnected"),
        content_delta("Do"),
        COMPACTION_TRIGGER,
        OTHER_ITEM,
        response_message("assistant", "All green."),
        agent_message("All green.", phase="final_answer"),
        token_count(500),
        task_complete("turn-1", "All green."),
    ]

    stored = await written(store, lines)

    kept = [lines[0], lines[2], *lines[8:]]
    assert content(stored) == content(kept)


async def test_extended_mode_keeps_command_output_sanitised(store: ThreadStore) -> None:
    # 1 + 3 * 5000 bytes: byte 5000 falls inside a 3-byte character, as does len - 5000
    output = "a" + "日" * 2000 + "é" * 1500 + "🙂" * 1000 + "ü" * 500 + "日" * 1000 + "z"
    data = output.encode()
    assert len(data) > 10_000
    small = "short output\n"
    end_big, end_small = exec_end("call-1", output), exec_end("call-2", small)
    lines = [
        exec_begin("call-1"),
        end_big,
        error_event("stream disconnected"),
        content_delta("x"),
        end_small,
        COMPACTION_TRIGGER,
    ]

    stored = await written(store, lines, mode=EventMode.EXTENDED)

    assert [line.payload["type"] for line in stored] == [
        "exec_command_end",
        "error",
        "exec_command_end",
    ]
    big, error, little = (line.payload for line in stored)
    cut = big["aggregated_output"]
    assert isinstance(cut, str)
    assert "\ufffd" not in cut
    head, _, rest = cut.partition("…")
    count, _, tail = rest.partition(MARKER_END)
    # what is kept of the output fits in 10,000 bytes; the marker comes on top, as in Codex
    # (codex-rs/utils/string truncate_middle_chars: prefix + marker + suffix)
    assert len(head.encode()) + len(tail.encode()) <= 10_000
    assert len(cut.encode()) == len(head.encode()) + len(f"…{count}{MARKER_END}".encode()) + len(
        tail.encode()
    )
    # the longest whole-character prefix within 5000 bytes, the suffix from the first
    # character boundary at or after len - 5000, and the number of characters in between
    expected_head = data[:5000].decode(errors="ignore")
    expected_tail = data[len(data) - 5000 :].decode(errors="ignore")
    assert head == expected_head
    assert tail == expected_tail
    assert int(count) == len(output) - len(head) - len(tail)
    assert (big["stdout"], big["stderr"], big["formatted_output"]) == ("", "", "")
    unchanged = {"aggregated_output", "stdout", "stderr", "formatted_output"}
    assert {k: v for k, v in big.items() if k not in unchanged} == {
        k: v for k, v in end_big.payload.items() if k not in unchanged
    }
    assert end_big.payload["stdout"] == output  # the caller's line is left alone
    assert error == lines[2].payload
    assert little["aggregated_output"] == small
    assert (little["stdout"], little["stderr"], little["formatted_output"]) == ("", "", "")


# --- legacy / paginated -----------------------------------------------------------------------
async def test_legacy_threads_keep_item_completed_only_for_plan_and_sleep(
    store: ThreadStore,
) -> None:
    lines = [user_message("plan it"), PLAN, COMMAND, USER_ITEM, SLEEP, AGENT_ITEM]

    stored = await written(store, lines)

    assert content(stored) == content([user_message("plan it"), PLAN, SLEEP])


@pytest.mark.parametrize("mode", list(EventMode))
async def test_paginated_threads_drop_legacy_only_events_and_keep_every_item_completed(
    store: ThreadStore, mode: EventMode
) -> None:
    lines = [
        user_message("run it"),
        USER_ITEM,
        exec_begin("call-1"),
        exec_end("call-1", "one\n"),
        COMMAND,
        PLAN,
        agent_message("done"),
        AGENT_ITEM,
        OTHER_ITEM,
        task_complete("turn-1", "done"),
    ]

    stored = await written(store, lines, mode=mode, history=HistoryMode.PAGINATED)

    kept = [USER_ITEM, COMMAND, PLAN, AGENT_ITEM, task_complete("turn-1", "done")]
    if mode is EventMode.EXTENDED:
        kept.insert(1, exec_end("call-1", "one\n"))
    assert [line.payload.get("type") for line in stored] == [line.payload["type"] for line in kept]
    assert [line.ordinal for line in stored] == list(range(2, 2 + len(kept)))
    without_streams = [p for p in content(stored) if p[2]["type"] != "exec_command_end"]
    assert without_streams == [p for p in content(kept) if p[2]["type"] != "exec_command_end"]


async def test_lines_the_policy_drops_do_not_materialise_a_thread(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())

    await live.append([exec_begin("call-1"), content_delta("x"), COMPACTION_TRIGGER])
    await live.flush()

    assert [line.type for line in (await live.load_history()).items] == [SESSION_META]
    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=live.thread_id))
    await live.shutdown()


async def test_an_unserialisable_line_fails_its_own_append(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())
    await live.append([task_started("turn-1")])
    bad = event({"type": "agent_message", "message": "x", "phase": object()})

    with pytest.raises(InvalidRequest):
        await live.append([user_message("same batch"), bad])
    with pytest.raises(InvalidRequest):
        await live.append([{"type": "event_msg"}])  # type: ignore[list-item]

    await live.append([user_message("after")])
    await live.flush()
    stored = (await store.load_history(LoadHistoryParams(thread_id=live.thread_id))).items
    assert content(stored[1:]) == content([task_started("turn-1"), user_message("after")])
    await live.shutdown()

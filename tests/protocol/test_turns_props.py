"""Property tests of the streaming turn reducer.

* Streaming with any ``hold`` (events applied to a list), and resuming from a serialised
  snapshot at any line, give exactly ``build_turns``'s result.
* Rollback: ``thread_rolled_back N`` leaves the turns the prefix had minus its last N, and
  the next item is numbered 1 + the items left.
* Generated ``item-N`` ids increase through the thread and never repeat.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.turns import (
    TurnReducer,
    apply_event,
    build_turns,
    decode_snapshot,
    encode_snapshot,
    history_base,
)
from threadloom.protocol.turns.state import generated_number

TS = "2025-01-01T00:00:00.000Z"
THREAD = "019a0000-0000-7000-9000-000000000020"
TURN_IDS = ("T1", "T2", "T3", "rollout-3")
CALL_IDS = ("c1", "c2", "item-2")


def meta(mode: str) -> RolloutLine:
    payload = {"id": THREAD, "timestamp": TS, "cwd": "/p", "originator": "o", "cli_version": "0"}
    return RolloutLine(TS, "session_meta", {**payload, "history_mode": mode})


def ev(payload: dict[str, Any]) -> RolloutLine:
    return RolloutLine(TS, "event_msg", payload)


texts = st.sampled_from(["", " ", "hi", "more"])
turn_ids = st.sampled_from(TURN_IDS)
maybe_int = st.none() | st.integers(0, 10**6)
errors = st.none() | st.fixed_dictionaries(
    {"message": st.just("boom"), "codex_error_info": st.sampled_from([None, "bad_request"])}
)


def _completion(turn: str, error: Any, at: int | None) -> RolloutLine:
    payload: dict[str, Any] = {"type": "task_complete", "turn_id": turn, "error": error}
    if at is not None:
        payload["completed_at"] = at
    return ev(payload)


def _patch(call: str, turn: str) -> RolloutLine:
    return ev(
        {
            "type": "patch_apply_end",
            "call_id": call,
            "turn_id": turn,
            "stdout": "",
            "stderr": "",
            "success": True,
            "changes": {"/a": {"type": "add", "content": call}},
            "status": "completed",
        }
    )


def _plan(turn: str, text: str) -> RolloutLine:
    item = {"type": "Plan", "id": "plan", "text": text}
    return ev({"type": "item_completed", "thread_id": THREAD, "turn_id": turn, "item": item})


def _web(call: str, query: str) -> RolloutLine:
    action = {"type": "search", "query": query}
    return ev({"type": "web_search_end", "call_id": call, "query": query, "action": action})


legacy_line = st.one_of(
    texts.map(lambda t: ev({"type": "user_message", "message": t})),
    texts.map(lambda t: ev({"type": "agent_message", "message": t})),
    texts.map(lambda t: ev({"type": "agent_reasoning", "text": t})),
    texts.map(lambda t: ev({"type": "agent_reasoning_raw_content", "text": t})),
    st.builds(
        lambda t, s: ev({"type": "task_started", "turn_id": t, "started_at": s}),
        turn_ids,
        maybe_int,
    ),
    st.builds(_completion, turn_ids, errors, maybe_int),
    st.builds(
        lambda t: ev({"type": "turn_aborted", "turn_id": t, "reason": "interrupted"}),
        st.none() | turn_ids,
    ),
    st.integers(0, 4).map(lambda n: ev({"type": "thread_rolled_back", "num_turns": n})),
    st.just(RolloutLine(TS, "compacted", {"message": "summary"})),
    st.just(ev({"type": "context_compacted"})),
    st.builds(_patch, st.sampled_from(CALL_IDS), st.just("") | turn_ids),
    st.builds(_plan, turn_ids, texts),
    st.builds(_web, st.sampled_from(CALL_IDS), texts),
    st.just(ev({"type": "token_count", "info": None, "rate_limits": None})),
    st.just(ev({"type": "task_started"})),
)


def _item(turn: str, item_id: str, text: str, times: tuple[int | None, int | None]) -> RolloutLine:
    payload: dict[str, Any] = {
        "type": "item_completed",
        "thread_id": THREAD,
        "turn_id": turn,
        "item": {
            "type": "AgentMessage",
            "id": item_id,
            "content": [{"type": "Text", "text": text}],
        },
    }
    if times[0] is not None:
        payload["started_at_ms"] = times[0]
    if times[1] is not None:
        payload["completed_at_ms"] = times[1]
    return ev(payload)


paginated_line = st.one_of(
    st.builds(
        lambda t, s: ev({"type": "task_started", "turn_id": t, "started_at": s}),
        turn_ids,
        maybe_int,
    ),
    st.builds(_completion, turn_ids, errors, maybe_int),
    st.builds(
        lambda t, c: ev(
            {"type": "turn_aborted", "turn_id": t, "reason": "replaced", "completed_at": c}
        ),
        st.none() | turn_ids,
        maybe_int,
    ),
    st.builds(
        _item, turn_ids, st.sampled_from(("a", "b", "c")), texts, st.tuples(maybe_int, maybe_int)
    ),
    texts.map(lambda t: ev({"type": "user_message", "message": t})),
)

threads = st.one_of(
    st.lists(legacy_line, max_size=30).map(lambda ls: [meta("legacy"), *ls]),
    st.lists(paginated_line, max_size=30).map(lambda ls: [meta("paginated"), *ls]),
)


def stream(lines: list[RolloutLine], hold: int | None, loaded: bool) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    reducer = TurnReducer(hold=hold)
    for line in lines:
        for event in reducer.feed(line):
            apply_event(turns, event)
    for event in reducer.finish(loaded=loaded):
        apply_event(turns, event)
    return turns


@settings(max_examples=300, deadline=None)
@given(threads, st.sampled_from([0, 1, 2, 5]), st.booleans())
def test_streaming_with_any_hold_equals_one_pass(
    lines: list[RolloutLine], hold: int, loaded: bool
) -> None:
    assert stream(lines, hold, loaded) == build_turns(lines, loaded=loaded)


@settings(max_examples=200, deadline=None)
@given(threads, st.data())
def test_resuming_from_a_snapshot_anywhere_equals_one_pass(
    lines: list[RolloutLine], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(lines)))
    hold = data.draw(st.sampled_from([0, 1, None]))
    turns: list[dict[str, Any]] = []
    reducer = TurnReducer(hold=hold)
    for line in lines[:cut]:
        for event in reducer.feed(line):
            apply_event(turns, event)
    resumed = TurnReducer.resume(decode_snapshot(encode_snapshot(reducer.snapshot())))
    for line in lines[cut:]:
        for event in resumed.feed(line):
            apply_event(turns, event)
    for event in resumed.finish():
        apply_event(turns, event)
    assert turns == build_turns(lines)


legacy_threads = st.lists(legacy_line, max_size=30).map(lambda ls: [meta("legacy"), *ls])


@settings(max_examples=300, deadline=None)
@given(legacy_threads, st.integers(0, 6))
def test_a_rollback_removes_the_last_turns_before_it_and_renumbers(
    lines: list[RolloutLine], count: int
) -> None:
    before = build_turns(lines)
    rollback = ev({"type": "thread_rolled_back", "num_turns": count})
    kept = before[: max(0, len(before) - count)]
    assert build_turns([*lines, rollback]) == kept
    after = build_turns([*lines, rollback, ev({"type": "user_message", "message": "next"})])
    assert after[:-1] == kept
    remaining = sum(len(turn["items"]) for turn in kept)
    assert [item["id"] for item in after[-1]["items"]] == [f"item-{remaining + 1}"]


@settings(max_examples=300, deadline=None)
@given(legacy_threads)
def test_generated_item_ids_increase_through_the_thread(lines: list[RolloutLine]) -> None:
    numbers = [
        number
        for turn in build_turns(lines)
        for item in turn["items"]
        if item["type"] != "fileChange" and item["type"] != "webSearch"
        for number in [generated_number(item["id"])]
        if number is not None
    ]
    assert numbers == sorted(set(numbers))


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_history_base_round_trips(ordinal: int, offset: int) -> None:
    base = {"thread_id": THREAD, "end_ordinal_exclusive": ordinal, "end_byte_offset": offset}
    line = RolloutLine(TS, "session_meta", {"id": THREAD, "history_base": base})
    found = history_base(line)
    assert found is not None
    assert (found.end_ordinal_exclusive, found.end_byte_offset) == (ordinal, offset)

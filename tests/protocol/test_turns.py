"""Turn reconstruction against worked examples checked on Codex 0.169.0.

Two fixture files (spec data, produced by the binary):

* ``data/turn_examples.json``: app-server-threads section 7, E1-E7 (rollout lines and the
  exact ``turns`` of ``thread/read {includeTurns: true}``);
* ``data/turn_cases.json``: one hand-made rollout per reconstruction rule (the E8 table and
  every rule of 6.1-6.9), legacy and paginated, with what the binary returned
  (``tests/compat/test_turns_compat.py`` re-checks them against the binary).

Every case is checked whole, key order included, through ``build_turns``, through the
streaming reducer (events applied to a list) for several ``hold`` values, and resumed from a
serialised snapshot after every line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threadloom.protocol.codec import LineError, decode_line, encode_json
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.turns import (
    TurnReducer,
    apply_event,
    build_turns,
    decode_snapshot,
    encode_snapshot,
)

DATA = Path(__file__).parent / "data"


def rollout_lines(entries: list[Any]) -> list[RolloutLine]:
    """The lines a reader yields for these entries (objects, or raw strings written as is)."""
    out: list[RolloutLine] = []
    for entry in entries:
        raw = entry.encode() if isinstance(entry, str) else encode_json(entry)
        if not raw.strip():
            continue
        try:
            out.append(decode_line(raw))
        except LineError:
            continue
    return out


def load(name: str, key: str) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = json.loads((DATA / name).read_text("utf-8"))[key]
    return cases


EXAMPLES = load("turn_examples.json", "examples")
CASES = load("turn_cases.json", "cases")
ALL = {**{f"spec-{k}": v for k, v in EXAMPLES.items()}, **CASES}


def same(got: Any, want: Any) -> None:
    """Equal, with every object's keys in the same order."""
    assert got == want
    assert json.dumps(got) == json.dumps(want)


def streamed(lines: list[RolloutLine], hold: int | None) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    reducer = TurnReducer(hold=hold)
    for line in lines:
        for event in reducer.feed(line):
            apply_event(turns, event)
    for event in reducer.finish():
        apply_event(turns, event)
    return turns


E8_ROWS = (
    "response_item_counts",
    "context_lines_count",
    "dropped_lines_take_no_index",
    "agent_before_user",
    "superseded_turn",
    "unmatched_complete",
    "complete_then_abort",
    "empty_explicit_turn",
    "blank_message_with_image",
    "empty_user_message",
    "empty_agent_message",
    "reasoning_split_by_message",
    "reasoning_raw_merge",
    "root_turn_id",
    "only_response_items",
    "abort_then_complete",
    "abort_then_failed_complete",
    "late_error_on_finished_turn",
    "patch_unknown_turn",
    "mcp_is_error",
    "mcp_before_user",
)
"""The cases holding the rows of section 7's E8 table, in table order."""


def test_the_fixtures_cover_the_spec_examples_and_both_history_modes() -> None:
    assert set(EXAMPLES) == {
        "E1_implicit",
        "E2_explicit",
        "E3_abort_fail",
        "E4_rollback",
        "E5_compaction",
        "E6_tools",
        "E7_inprogress",
    }
    assert set(E8_ROWS) <= set(CASES)
    modes = {case["mode"] for case in CASES.values()}
    assert modes == {"legacy", "paginated"}
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", sorted(ALL))
def test_build_turns_returns_what_codex_returns(name: str) -> None:
    case = ALL[name]
    same(build_turns(rollout_lines(case["rollout"])), case["turns"])


@pytest.mark.parametrize("hold", [0, 1, 3])
@pytest.mark.parametrize("name", sorted(ALL))
def test_streaming_events_rebuild_the_same_turns(name: str, hold: int) -> None:
    case = ALL[name]
    same(streamed(rollout_lines(case["rollout"]), hold), case["turns"])


@pytest.mark.parametrize("name", sorted(ALL))
def test_resuming_from_a_snapshot_after_any_line_gives_the_same_turns(name: str) -> None:
    case = ALL[name]
    lines = rollout_lines(case["rollout"])
    for cut in range(len(lines) + 1):
        turns: list[dict[str, Any]] = []
        first = TurnReducer()
        for line in lines[:cut]:
            for event in first.feed(line):
                apply_event(turns, event)
        second = TurnReducer.resume(decode_snapshot(encode_snapshot(first.snapshot())))
        for line in lines[cut:]:
            for event in second.feed(line):
                apply_event(turns, event)
        for event in second.finish():
            apply_event(turns, event)
        same(turns, case["turns"])


def test_paginated_cases_are_read_in_paginated_mode() -> None:
    for case in CASES.values():
        reducer = TurnReducer()
        reducer.feed(rollout_lines(case["rollout"])[0])
        assert reducer.mode is not None
        assert reducer.mode.value == case["mode"]

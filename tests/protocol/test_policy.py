"""What a live thread persists (limited / extended, legacy / paginated) and output truncation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadloom.protocol.policy import (
    EventMode,
    persisted,
    sanitize_extended,
    truncate_middle,
)

LIMITED, EXTENDED = EventMode.LIMITED, EventMode.EXTENDED


@pytest.mark.parametrize(
    ("kind", "payload_type", "paginated", "mode", "item_type", "expected"),
    [
        ("session_meta", None, False, LIMITED, None, True),
        ("response_item", "message", False, LIMITED, None, True),
        ("response_item", "compaction_trigger", False, LIMITED, None, False),
        ("response_item", "made_up", True, EXTENDED, None, False),
        ("event_msg", "user_message", False, LIMITED, None, True),
        ("event_msg", "user_message", True, LIMITED, None, False),
        ("event_msg", "task_started", True, LIMITED, None, True),
        ("event_msg", "turn_complete", False, LIMITED, None, True),
        ("event_msg", "item_completed", False, LIMITED, "CommandExecution", False),
        ("event_msg", "item_completed", False, LIMITED, "Plan", True),
        ("event_msg", "item_completed", True, LIMITED, "CommandExecution", True),
        ("event_msg", "exec_command_end", False, LIMITED, None, False),
        ("event_msg", "exec_command_end", False, EXTENDED, None, True),
        ("event_msg", "error", True, EXTENDED, None, True),
        ("event_msg", "agent_message_delta", False, EXTENDED, None, False),
        ("event_msg", "warning", False, EXTENDED, None, False),
    ],
)
def test_the_persistence_policy_follows_codex(
    kind: str,
    payload_type: str | None,
    paginated: bool,
    mode: EventMode,
    item_type: str | None,
    expected: bool,
) -> None:
    got = persisted(kind, payload_type, paginated=paginated, mode=mode, item_type=item_type)
    assert got is expected


def test_short_output_is_kept_whole() -> None:
    assert truncate_middle("x" * 10_000) == "x" * 10_000


def test_long_output_keeps_both_ends_and_counts_what_it_cut() -> None:
    text = "a" * 6000 + "b" * 6000
    cut = truncate_middle(text)
    assert cut == "a" * 5000 + "…2000 chars truncated…" + "b" * 5000


@given(
    st.text(st.characters(codec="utf-8", blacklist_characters="…"), max_size=4000),
    st.integers(min_value=4, max_value=200),
)
def test_truncation_never_splits_a_character_and_fits_the_budget(text: str, limit: int) -> None:
    cut = truncate_middle(text, limit)
    cut.encode("utf-8")  # a split character would not round-trip
    if len(text.encode("utf-8")) <= limit:
        assert cut == text
    else:
        head, _, rest = cut.partition("…")
        tail = rest.split("…", 1)[1]
        assert len(head.encode()) <= limit // 2
        assert len(tail.encode()) <= limit // 2
        assert text.startswith(head)
        assert text.endswith(tail)


def test_a_lone_surrogate_is_kept_not_an_error() -> None:
    text = "\ud800" + "x" * 20
    assert truncate_middle(text, 8) == "\ud800x…15 chars truncated…xxxx"


def test_extended_exec_output_is_cut_and_other_streams_cleared() -> None:
    payload = {
        "type": "exec_command_end",
        "call_id": "c1",
        "stdout": "out",
        "stderr": "err",
        "aggregated_output": "é" * 6000,
        "formatted_output": "fmt",
        "exit_code": 0,
    }
    got = sanitize_extended(payload)
    assert (got["stdout"], got["stderr"], got["formatted_output"]) == ("", "", "")
    assert got["call_id"] == "c1"
    assert got["exit_code"] == 0
    output = got["aggregated_output"]
    assert isinstance(output, str)
    assert output.startswith("é" * 2500)
    assert output.endswith("é" * 2500)
    assert "…1000 chars truncated…" in output

"""``SummaryState``: model, reasoning effort and cwd follow turn contexts and recorded thread
settings, whichever came last (as Codex 0.169.0 shows them); recorded settings are no
activity."""

from __future__ import annotations

from typing import Any

from threadloom.protocol.summary import SummaryState

from .test_applied_settings import THREAD_ID, event

META = {
    "id": THREAD_ID,
    "timestamp": "2025-01-03T12:00:00.000Z",
    "cwd": "/meta",
    "originator": "codex_cli_rs",
    "cli_version": "0.169.0",
}


def context(model: str, effort: str | None = None, turn_id: str = "t1") -> dict[str, Any]:
    payload: dict[str, Any] = {"turn_id": turn_id, "cwd": "/turn", "model": model}
    if effort is not None:
        payload["effort"] = effort
    return payload


def summary(*lines: tuple[str, dict[str, Any]]) -> SummaryState:
    state = SummaryState()
    state.feed("session_meta", META)
    for kind, payload in lines:
        state.feed(kind, payload)
    return state


def settings(**changes: Any) -> tuple[str, dict[str, Any]]:
    return "event_msg", event(**changes)


def test_settings_recorded_after_a_turn_context_give_the_model_effort_and_cwd() -> None:
    state = summary(
        ("turn_context", context("gpt-a", "low")),
        settings(model="gpt-b", reasoning_effort="high", cwd="/elsewhere"),
    )
    assert (state.model, state.reasoning_effort, state.settings_cwd) == (
        "gpt-b",
        "high",
        "/elsewhere",
    )
    assert state.first_turn_cwd == "/turn"


def test_a_later_turn_context_wins_over_earlier_settings_but_keeps_their_cwd() -> None:
    state = summary(
        settings(model="gpt-b", reasoning_effort="high", cwd="/elsewhere"),
        ("turn_context", context("gpt-c", "medium")),
    )
    assert (state.model, state.reasoning_effort, state.settings_cwd) == (
        "gpt-c",
        "medium",
        "/elsewhere",
    )


def test_settings_without_an_effort_clear_it() -> None:
    state = summary(("turn_context", context("gpt-a", "low")), settings(model="gpt-b"))
    assert (state.model, state.reasoning_effort) == ("gpt-b", None)


def test_settings_codex_would_not_decode_change_nothing() -> None:
    state = summary(
        ("turn_context", context("gpt-a", "low")),
        settings(model="gpt-b", cwd="relative"),
        settings(model="gpt-b", approvals_reviewer="nobody"),
    )
    assert (state.model, state.reasoning_effort, state.settings_cwd) == ("gpt-a", "low", None)


def test_recorded_settings_are_no_activity_but_a_turn_start_is() -> None:
    state = summary(("turn_context", context("gpt-a")))
    before = state.activity_mark()

    state.feed("event_msg", event(model="gpt-b"))
    assert state.activity_mark() == before
    state.feed("event_msg", {"type": "turn_started", "turn_id": "t2"})
    assert state.activity_mark() != before
    assert state.last_task_id == "t2"

"""Which ``thread_settings_applied`` events count: the rules observed on Codex 0.169.0."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.protocol.applied_settings import accepted_settings

THREAD_ID = "019a0000-0000-7000-8000-000000000001"


def event(**changes: Any) -> dict[str, Any]:
    """A settings event as Codex writes it; ``changes`` replace members of its settings
    (``...`` drops one)."""
    settings: dict[str, Any] = {
        "model": "gpt-x",
        "model_provider_id": "openai",
        "approval_policy": "never",
        "approvals_reviewer": "user",
        "permission_profile": {"type": "disabled"},
        "cwd": "/work",
        "collaboration_mode": {
            "mode": "default",
            "settings": {"model": "gpt-x", "reasoning_effort": None},
        },
    }
    for key, value in changes.items():
        if value is ...:
            del settings[key]
        else:
            settings[key] = value
    return {"type": "thread_settings_applied", "thread_id": THREAD_ID, "thread_settings": settings}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"reasoning_effort": "high"},
        {"reasoning_effort": None},
        {"model": "", "model_provider_id": ""},
        {"approval_policy": {"granular": {"rules": True}}},
        {"approval_policy": "on-failure"},
        {"approvals_reviewer": "auto_review"},
        {"approvals_reviewer": "guardian_subagent"},
        {"collaboration_mode": {"mode": "plan", "settings": {"model": "m"}}},
        {"extra_member": 1},
    ],
)
def test_codex_accepts_these_settings(changes: dict[str, Any]) -> None:
    payload = event(**changes)
    assert accepted_settings(payload) is payload["thread_settings"]


@pytest.mark.parametrize(
    "changes",
    [
        {"model": ...},
        {"model": 5},
        {"model_provider_id": ...},
        {"cwd": "relative/dir"},
        {"cwd": ""},
        {"approval_policy": ...},
        {"approval_policy": "sometimes"},
        {"approvals_reviewer": "nobody"},
        {"permission_profile": "x"},
        {"collaboration_mode": {}},
        {"collaboration_mode": {"mode": "default"}},
        {"collaboration_mode": {"mode": "weird", "settings": {"model": "m"}}},
        {"collaboration_mode": {"mode": "default", "settings": {}}},
        {"reasoning_effort": ""},
        {"reasoning_effort": 5},
    ],
)
def test_codex_skips_events_with_these_settings(changes: dict[str, Any]) -> None:
    assert accepted_settings(event(**changes)) is None


def test_the_thread_id_may_be_absent_but_not_malformed() -> None:
    payload = event()
    del payload["thread_id"]
    assert accepted_settings(payload) is not None
    assert accepted_settings({**payload, "thread_id": "nope"}) is None
    assert accepted_settings({**payload, "thread_id": 7}) is None
    assert accepted_settings({**payload, "thread_settings": 5}) is None

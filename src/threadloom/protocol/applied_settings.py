"""Which ``thread_settings_applied`` events Codex 0.169.0 accepts (rollout-format 8).

Codex decodes the event into typed settings; a line it cannot decode is skipped, so such an
event changes no metadata. ``accepted_settings`` reproduces the rules observed on the binary
for the members metadata depends on and the ones that most often make a line undecodable.
"""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidThreadId
from threadloom.ids import parse_thread_id

APPROVAL_POLICIES = frozenset({"untrusted", "on-failure", "on-request", "never"})
"""The named approval policies (else a ``{"granular": {…}}`` object)."""
APPROVALS_REVIEWERS = frozenset({"user", "auto_review", "guardian_subagent"})
COLLABORATION_MODES = frozenset({"default", "plan", "execute", "pair_programming"})


def accepted_settings(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The ``thread_settings`` of a ``thread_settings_applied`` payload, or None when Codex
    would not decode the event.

    Required: ``model`` and ``model_provider_id`` (strings, maybe empty), an absolute
    ``cwd``, an ``approval_policy``, a known ``approvals_reviewer``, a ``permission_profile``
    object and a ``collaboration_mode`` of a known ``mode`` whose ``settings`` name a model;
    ``reasoning_effort`` is absent, null or a non-empty string; ``thread_id`` absent or a
    UUID. Inner shapes (a granular policy, a profile's members) are not checked further.
    """
    thread_id = payload.get("thread_id")
    if thread_id is not None:
        try:
            parse_thread_id(thread_id)
        except InvalidThreadId:
            return None
    settings = payload.get("thread_settings")
    if not isinstance(settings, dict):
        return None
    cwd = settings.get("cwd")
    effort = settings.get("reasoning_effort")
    accepted = (
        isinstance(settings.get("model"), str)
        and isinstance(settings.get("model_provider_id"), str)
        and isinstance(cwd, str)
        and cwd.startswith("/")
        and _named_or_object(settings.get("approval_policy"), APPROVAL_POLICIES)
        and _named(settings.get("approvals_reviewer"), APPROVALS_REVIEWERS)
        and isinstance(settings.get("permission_profile"), dict)
        and _collaboration_mode(settings.get("collaboration_mode"))
        and (effort is None or (isinstance(effort, str) and bool(effort)))
    )
    return settings if accepted else None


def _named(value: Any, names: frozenset[str]) -> bool:
    return isinstance(value, str) and value in names


def _named_or_object(value: Any, names: frozenset[str]) -> bool:
    return isinstance(value, dict) or _named(value, names)


def _collaboration_mode(value: Any) -> bool:
    if not isinstance(value, dict) or not _named(value.get("mode"), COLLABORATION_MODES):
        return False
    settings = value.get("settings")
    return isinstance(settings, dict) and isinstance(settings.get("model"), str)

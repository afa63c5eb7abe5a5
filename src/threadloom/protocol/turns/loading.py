"""Which rollout lines Codex keeps when it replays a legacy thread (app-server-threads 6.1).

A line is *kept* when its kind is known, its payload deserialises into Codex's type for it
and the persistence policy would write it (``policy.kept_on_read``). Kept lines are numbered
0, 1, 2, … (the rollout index used by implicit turn ids); dropped lines take no number.

Beyond threadloom's typed models (``items.parse_item``), these checks were observed on the
binary: ``thread_rolled_back.num_turns`` is a ``u32``; ``task_complete.error`` needs a
``message`` and a readable ``codex_error_info`` (``errors.py``); ``world_state`` needs
``full`` and ``state``; ``token_usage_record`` needs all of its members;
``inter_agent_communication`` needs ``author``/``recipient`` agent paths, ``content`` and
``trigger_turn``; ``inter_agent_communication_metadata`` needs ``trigger_turn``;
``thread_settings_applied`` needs a ``collaboration_mode`` with ``mode`` and ``settings``;
``exited_review_mode`` findings need every member Codex renders (``items.review_text``);
``agent_message.memory_citation`` must be null (no non-null shape we tried was read). Kinds and
event types threadloom has no model for (``sub_agent_activity``, ``dynamic_tools_updated``, …)
are dropped: their shapes are unknown, and payloads not in Codex's shape are dropped by
Codex too.
"""

from __future__ import annotations

from typing import Any

from threadloom.protocol.events import (
    AgentMessageEvent,
    ExitedReviewMode,
    ItemCompleted,
    RawTurnItem,
    TaskComplete,
    ThreadRolledBack,
    ThreadSettingsApplied,
    TurnPlan,
)
from threadloom.protocol.items import Malformed, OpaqueItem, ParsedItem, UnknownItem, parse_item
from threadloom.protocol.policy import kept_on_read
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, RolloutLine
from threadloom.protocol.turns.errors import InvalidTurnError, turn_error_json
from threadloom.protocol.turns.items import InvalidItem, review_text

U32_MAX = 0xFFFF_FFFF
USAGE_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)


class Unparsed:
    """The type of ``UNPARSED``."""


UNPARSED = Unparsed()
"""Stands for "not parsed yet" where ``load_line``'s None (dropped) is a value."""


def load_line(line: RolloutLine) -> ParsedItem | None:
    """The typed payload of a line Codex keeps on legacy replay, or None when it drops it."""
    parsed = parse_item(line)
    if isinstance(parsed, Malformed | UnknownItem):
        return None
    item_type = None
    if isinstance(parsed, ItemCompleted):
        item_type = parsed.item_type
    payload_type = line.event_type if line.type in (EVENT_MSG, RESPONSE_ITEM) else None
    if not kept_on_read(line.type, payload_type, item_type):
        return None
    return parsed if readable(parsed) else None


def readable(parsed: ParsedItem) -> bool:
    """Codex's acceptance rules beyond threadloom's typed models (module doc)."""
    if isinstance(parsed, ThreadRolledBack):
        return 0 <= parsed.num_turns <= U32_MAX
    if isinstance(parsed, TaskComplete):
        try:
            task_error(parsed)
        except InvalidTurnError:
            return False
        return True
    if isinstance(parsed, AgentMessageEvent):
        return parsed.memory_citation is None
    if isinstance(parsed, ItemCompleted):
        return legacy_item_ok(parsed)
    if isinstance(parsed, ExitedReviewMode):
        try:
            review_text(parsed.raw.get("review_output"))
        except InvalidItem:
            return False
        return True
    if isinstance(parsed, ThreadSettingsApplied):
        mode = parsed.thread_settings.collaboration_mode
        return (
            isinstance(mode, dict)
            and isinstance(mode.get("mode"), str)
            and isinstance(mode.get("settings"), dict)
        )
    if isinstance(parsed, OpaqueItem):
        return opaque_ok(parsed.kind, parsed.raw)
    return True


def task_error(event: TaskComplete) -> dict[str, Any] | None:
    """The turn error of a ``task_complete`` (None: none); raises ``InvalidTurnError``."""
    raw = event.raw.get("error") if isinstance(event.raw, dict) else None
    return turn_error_json(raw)


def legacy_item_ok(event: ItemCompleted) -> bool:
    item = event.item
    if isinstance(item, TurnPlan):
        return True
    if isinstance(item, RawTurnItem) and item.type == "Sleep":
        duration = item.raw.get("duration_ms")
        return (
            isinstance(item.raw.get("id"), str)
            and isinstance(duration, int)
            and not isinstance(duration, bool)
            and duration >= 0
        )
    return False


def _agent_path(value: Any) -> bool:
    return isinstance(value, str) and (value == "/root" or value.startswith("/root/"))


def opaque_ok(kind: str, raw: Any) -> bool:
    if not isinstance(raw, dict):
        return False
    if kind == "world_state":
        return isinstance(raw.get("full"), bool) and isinstance(raw.get("state"), dict)
    if kind == "inter_agent_communication_metadata":
        return isinstance(raw.get("trigger_turn"), bool)
    if kind == "inter_agent_communication":
        others = raw.get("other_recipients", [])
        return (
            _agent_path(raw.get("author"))
            and _agent_path(raw.get("recipient"))
            and isinstance(raw.get("content"), str)
            and isinstance(raw.get("trigger_turn"), bool)
            and isinstance(others, list)
        )
    if kind == "token_usage_record":
        ids = ("thread_id", "turn_id", "session_id", "root_turn_id", "response_id")
        if not all(isinstance(raw.get(key), str) for key in ids):
            return False
        return all(
            _usage_ok(raw.get(key)) for key in ("usage", "turn_token_usage", "thread_token_usage")
        )
    return True


def _usage_ok(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return all(
        isinstance(value.get(key), int) and not isinstance(value.get(key), bool)
        for key in USAGE_KEYS
    )

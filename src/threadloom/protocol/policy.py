"""What Codex persists and what it keeps when reading (rollout-format 10, app-server 6.1)."""

from __future__ import annotations

import enum
from typing import Any

from threadloom.protocol.rollout import (
    COMPACTED,
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
    RolloutLine,
)


class EventMode(enum.StrEnum):
    """Event persistence mode of a live thread."""

    LIMITED = "limited"
    EXTENDED = "extended"


PERSISTED_RESPONSE_ITEMS = frozenset(
    {
        "message",
        "agent_message",
        "reasoning",
        "local_shell_call",
        "function_call",
        "tool_search_call",
        "function_call_output",
        "tool_search_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
        "image_generation_call",
        "compaction",
        "context_compaction",
        "additional_tools",
        "configuration_update",
    }
)

ALWAYS_EVENTS = frozenset(
    {
        "token_count",
        "thread_goal_updated",
        "thread_rolled_back",
        "turn_aborted",
        "task_started",
        "task_complete",
        "thread_settings_applied",
    }
)
LEGACY_ONLY_EVENTS = frozenset(
    {
        "user_message",
        "agent_message",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "entered_review_mode",
        "exited_review_mode",
        "patch_apply_end",
        "context_compacted",
        "mcp_tool_call_end",
        "web_search_end",
        "image_generation_end",
        "sub_agent_activity",
    }
)
EXTENDED_ONLY_EVENTS = frozenset(
    {
        "error",
        "guardian_assessment",
        "exec_command_end",
        "view_image_tool_call",
        "collab_agent_spawn_end",
        "collab_agent_interaction_end",
        "collab_waiting_end",
        "collab_close_end",
        "collab_resume_end",
        "dynamic_tool_call_request",
        "dynamic_tool_call_response",
    }
)
EVENT_ALIASES = {"turn_started": "task_started", "turn_complete": "task_complete"}
LEGACY_ITEM_COMPLETED_TYPES = frozenset({"Plan", "Sleep"})
ALWAYS_KINDS = frozenset(
    {
        SESSION_META,
        TURN_CONTEXT,
        COMPACTED,
        "world_state",
        "inter_agent_communication",
        "inter_agent_communication_metadata",
    }
)
READ_KEPT_OPAQUE = frozenset({"token_usage_record"})


def kept_on_read(kind: str, payload_type: str | None, item_type: str | None = None) -> bool:
    """Would Codex 0.169.0 keep this line when loading a legacy rollout (app-server 6.1)?"""
    if kind in ALWAYS_KINDS or kind in READ_KEPT_OPAQUE:
        return True
    if kind == RESPONSE_ITEM:
        return payload_type in PERSISTED_RESPONSE_ITEMS
    if kind == EVENT_MSG and payload_type is not None:
        name = EVENT_ALIASES.get(payload_type, payload_type)
        if name in ALWAYS_EVENTS or name in LEGACY_ONLY_EVENTS:
            return True
        if name == "item_completed":
            return item_type in LEGACY_ITEM_COMPLETED_TYPES
    return False


def payload_types(line: RolloutLine) -> tuple[str | None, str | None]:
    """``payload.type`` of an event or response item and, for ``item_completed``,
    ``payload.item.type`` (what ``kept_on_read`` and ``persisted`` decide by)."""
    payload: Any = line.payload
    if line.type not in (EVENT_MSG, RESPONSE_ITEM) or not isinstance(payload, dict):
        return None, None
    kind = payload.get("type")
    if not isinstance(kind, str):
        return None, None
    if kind != "item_completed":
        return kind, None
    item = payload.get("item")
    item_type = item.get("type") if isinstance(item, dict) else None
    return kind, item_type if isinstance(item_type, str) else None


def line_kept_on_read(line: RolloutLine) -> bool:
    """``kept_on_read`` of a whole line."""
    return kept_on_read(line.type, *payload_types(line))


EXEC_OUTPUT_LIMIT = 10_000
"""Bytes of ``aggregated_output`` an extended-mode ``exec_command_end`` keeps (10.4)."""


def persisted(
    kind: str,
    payload_type: str | None,
    *,
    paginated: bool,
    mode: EventMode,
    item_type: str | None = None,
) -> bool:
    """Would a live Codex thread write this item (rollout-format 10.1-10.3)?"""
    if kind in ALWAYS_KINDS:
        return True
    if kind == RESPONSE_ITEM:
        return payload_type in PERSISTED_RESPONSE_ITEMS
    if kind != EVENT_MSG or payload_type is None:
        return kind in READ_KEPT_OPAQUE
    name = EVENT_ALIASES.get(payload_type, payload_type)
    if name in ALWAYS_EVENTS:
        return True
    if name == "item_completed":
        return paginated or item_type in LEGACY_ITEM_COMPLETED_TYPES
    if name in LEGACY_ONLY_EVENTS:
        return not paginated
    return mode == EventMode.EXTENDED and name in EXTENDED_ONLY_EVENTS


def truncate_middle(text: str, limit: int = EXEC_OUTPUT_LIMIT) -> str:
    """Keep at most ``limit`` UTF-8 bytes: whole characters from both ends, a marker between.

    The prefix is the longest run of whole characters within ``limit // 2`` bytes, the suffix
    starts at the first character boundary at or after ``len - limit // 2``; the characters in
    between are replaced by ``…N chars truncated…`` (rollout-format 10.4). A lone surrogate
    (never in Codex's text, but a Python string may hold one) is kept, not an error.
    """
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    half = limit // 2
    head_end = half
    while head_end > 0 and (data[head_end] & 0xC0) == 0x80:
        head_end -= 1
    tail_start = len(data) - half
    while tail_start < len(data) and (data[tail_start] & 0xC0) == 0x80:
        tail_start += 1
    head = data[:head_end].decode("utf-8", "surrogatepass")
    tail = data[tail_start:].decode("utf-8", "surrogatepass")
    removed = len(text) - len(head) - len(tail)
    return f"{head}…{removed} chars truncated…{tail}"


def sanitize_extended(payload: dict[str, object]) -> dict[str, object]:
    """An ``exec_command_end`` as extended mode writes it: output cut, other streams cleared."""
    out = dict(payload)
    output = out.get("aggregated_output")
    if isinstance(output, str):
        out["aggregated_output"] = truncate_middle(output)
    for key in ("stdout", "stderr", "formatted_output"):
        if key in out:
            out[key] = ""
    return out

"""What Codex persists and what it keeps when reading (rollout-format 10, app-server 6.1)."""

from __future__ import annotations

import enum

from threadloom.protocol.rollout import (
    COMPACTED,
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
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

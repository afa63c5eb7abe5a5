"""What a thread says, for full-text search: user and assistant messages with their turn ids.

Turn ids follow thread reconstruction: an explicit ``task_started`` id, else the implicit
``rollout-<index>`` of the user message that opened the turn (app-server-threads 6.2).
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.protocol.policy import EVENT_ALIASES
from threadloom.protocol.summary import agent_item_text, strip_request_prefix, user_item_text

TEXT_EVENTS = frozenset({"user_message", "agent_message", "task_started", "turn_started"})
"""event_msg types the extractor reads (plus ``item_completed`` of paginated threads)."""


class SearchText(msgspec.Struct, frozen=True, array_like=True):
    """One searchable message: who said it, in which turn, and the text."""

    role: str
    turn_id: str | None
    text: str


class TextState(msgspec.Struct, kw_only=True):
    """Resumable extraction state: the turn the next message belongs to."""

    turn_id: str | None = None
    explicit: bool = False
    index: int | None = 0
    """Rollout index of the next line, when every line so far was counted."""


def extract(state: TextState, kind: str, payload: Any, index: int | None) -> SearchText | None:
    """Apply one event line; return the message it carries, if any.

    ``index`` is the line's rollout index when known; without it an implicit turn has no id.
    """
    if kind != "event_msg" or not isinstance(payload, dict):
        return None
    event = payload.get("type")
    if not isinstance(event, str):
        return None
    event = EVENT_ALIASES.get(event, event)
    if event == "task_started":
        turn = payload.get("turn_id")
        state.turn_id = turn if isinstance(turn, str) else None
        state.explicit = True
        return None
    if event == "user_message":
        message = payload.get("message")
        if not isinstance(message, str):
            return None
        if not state.explicit:
            state.turn_id = None if index is None else f"rollout-{index}"
        text = strip_request_prefix(message)
        return SearchText("user", state.turn_id, text) if text else None
    if event == "agent_message":
        message = payload.get("message")
        if isinstance(message, str) and message:
            return SearchText("assistant", state.turn_id, message)
        return None
    if event == "item_completed":
        item = payload.get("item")
        if not isinstance(item, dict):
            return None
        turn = payload.get("turn_id")
        turn_id = turn if isinstance(turn, str) else state.turn_id
        if item.get("type") == "UserMessage":
            text = user_item_text(item)
            return SearchText("user", turn_id, text) if text else None
        if item.get("type") == "AgentMessage":
            text = agent_item_text(item)
            return SearchText("assistant", turn_id, text) if text else None
    return None

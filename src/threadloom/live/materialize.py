"""When a started thread becomes worth keeping on disk (rollout-format 12.1).

A thread that was only started leaves nothing behind. It materialises with its first turn
(a turn starting, a user message), with injected conversation items, or when it is named or,
in legacy mode, its metadata changes. Setup lines written when a thread is loaded or
configured (``thread_settings_applied``, turn contexts, world state, token counts) are
buffered until then.
"""

from __future__ import annotations

from threadloom.protocol.rollout import COMPACTED, EVENT_MSG, RESPONSE_ITEM, RolloutLine

MATERIALIZING_EVENTS = frozenset(
    {
        "task_started",
        "turn_started",
        "user_message",
        "agent_message",
        "item_completed",
        "turn_aborted",
        "task_complete",
        "turn_complete",
        "thread_rolled_back",
        "thread_goal_updated",
    }
)
MATERIALIZING_KINDS = frozenset(
    {
        RESPONSE_ITEM,
        COMPACTED,
        "inter_agent_communication",
        "inter_agent_communication_metadata",
    }
)


def worth_keeping(line: RolloutLine) -> bool:
    """Does this line make a started thread worth materialising?"""
    if line.type in MATERIALIZING_KINDS:
        return True
    if line.type == EVENT_MSG and isinstance(line.payload, dict):
        return line.payload.get("type") in MATERIALIZING_EVENTS
    return False

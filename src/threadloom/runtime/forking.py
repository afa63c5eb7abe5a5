"""Forks as Codex 0.169.0's ``thread/fork`` writes them (rollout-format 16.1, 16.2).

Legacy fork: the child's ``session_meta``, then every line of the source that Codex keeps
(``turns.load_line``), *re-serialised* (``canonical_line``: Codex's canonical payload, an id
for an id-less response item, the fork time as timestamp, the envelope ``metadata`` kept),
cut at a turn boundary (``fork_cut``) or a user message (``user_message_cut``) when asked,
then an interruption marker when the copied history ends inside an unfinished turn
(``interruption_lines``), then the child's ``thread_settings_applied``. Paginated fork: no
copy (the child's ``history_base`` points into the parent), the settings, then the marker.

Re-serialisation is the identity for lines already in Codex's canonical form, but deciding
that needs the line decoded and validated, which the turn reducer needs anyway; so every line
is decoded once, and its canonical payload encoded once (``fork_copy``, in a worker thread).
Rebuilding the payload costs about what checking it against the decoded one would, and
copying a line's bytes would need them proven canonical (escapes, spacing, numbers), which
costs an encoding too; so every copy is rebuilt and encoded.
"""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.ids import new_uuid7
from threadloom.protocol.items import PASSTHROUGH, Malformed, ParsedItem, UnknownItem
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, RolloutLine
from threadloom.protocol.turns import load_line
from threadloom.runtime.history import HistoryScan, OpenTurn

ITEM_ID_PREFIXES = {
    "message": "msg",
    "reasoning": "rs",
    "function_call": "fc",
    "function_call_output": "fco",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "local_shell_call": "lsh",
    "web_search_call": "ws",
    "image_generation_call": "ig",
    "tool_search_call": "tsc",
    "tool_search_output": "tso",
    "compaction": "cmp",
    "context_compaction": "cmp",
    "additional_tools": "at",
    "agent_message": "amsg",
}
"""The id prefix Codex gives an id-less response item of each type (``configuration_update``
gets none)."""

INTERRUPTED_USER_TEXT = (
    "<turn_aborted>\nThe user interrupted the previous turn on purpose. Any running unified "
    "exec processes may still be running in the background. If any tools/commands were "
    "aborted, they may have partially executed.\n</turn_aborted>"
)
"""The marker of a legacy fork (a contextual user message: multi-agent v1)."""
INTERRUPTED_DEVELOPER_TEXT = (
    "<turn_aborted>\nThe previous turn was interrupted on purpose. Any running unified exec "
    "processes may still be running in the background. If any tools/commands were aborted, "
    "they may have partially executed.\n</turn_aborted>"
)
"""The marker of a paginated fork (a developer message: multi-agent v2)."""


def with_item_id(payload: dict[str, Any]) -> dict[str, Any]:
    """A response item payload with an id (``<prefix>_<uuid7>`` right after ``type``) when it
    has none, as Codex gives one when it re-serialises or injects the item."""
    if "id" in payload:
        return payload
    prefix = ITEM_ID_PREFIXES.get(str(payload.get("type")))
    if prefix is None:
        return payload
    out: dict[str, Any] = {"type": payload["type"], "id": f"{prefix}_{new_uuid7()}"}
    out.update((k, v) for k, v in payload.items() if k != "type")
    return out


def canonical_line(line: RolloutLine, stamp: str) -> tuple[RolloutLine, ParsedItem] | None:
    """The line as Codex's fork writes it (None: Codex drops it), with the copy's typed
    payload (the source's, unless the copy was given an item id)."""
    parsed = load_line(line)
    if parsed is None or isinstance(parsed, UnknownItem | Malformed):
        return None
    payload = parsed.to_payload()
    named = payload
    if line.type == RESPONSE_ITEM and isinstance(payload, dict):
        named = with_item_id(payload)
    copy = RolloutLine(timestamp=stamp, type=line.type, payload=named, metadata=line.metadata)
    if named is not payload:
        reparsed = load_line(copy)
        if reparsed is not None and not isinstance(reparsed, UnknownItem | Malformed):
            parsed = reparsed
    return copy, parsed


def fork_cut(
    scan: HistoryScan, *, last_turn_id: str | None, before_turn_id: str | None
) -> int | None:
    """How many kept lines of a source (scanned whole into ``scan``, turns finished as
    ``loaded``) a fork copies; None: all. Raises Codex's errors for a bad turn id."""
    if last_turn_id is not None:
        turn = next((t for t in scan.turns if t["id"] == last_turn_id), None)
        if turn is None:
            raise InvalidRequest(f"lastTurnId '{last_turn_id}' was not found in the source thread")
        start = scan.turn_starts.get(last_turn_id)
        if start is None:
            raise InvalidRequest(
                f"lastTurnId '{last_turn_id}' is not a persisted canonical turn in the source"
                " thread"
            )
        if turn["status"] == "inProgress":
            raise InvalidRequest(f"lastTurnId '{last_turn_id}' identifies an in-progress turn")
        later = [p for p in scan.start_positions if p > start]
        return later[0] if later else None
    if before_turn_id is not None:
        known = any(t["id"] == before_turn_id for t in scan.turns)
        cut = scan.turn_starts.get(before_turn_id)
        missing = InvalidRequest(
            f"beforeTurnId '{before_turn_id}' was not found in the source thread"
        )
        if cut is None:
            if known:
                raise InvalidRequest(
                    f"beforeTurnId '{before_turn_id}' is not a persisted canonical turn in the"
                    " source thread"
                )
            raise missing
        if any(p > cut for p in scan.rollback_positions) and not known:
            raise missing
        return cut
    return None


def user_message_cut(scan: HistoryScan, n: int) -> int | None:
    """How many kept lines of a source (scanned whole into ``scan``) a fork *before the n-th
    (0-based) user message* copies (rollout-format 16.1): up to that user-message boundary,
    rollbacks having removed the boundaries of the turns they undid; None (all) when there
    are no more than ``n`` boundaries."""
    if n < 0:
        raise InvalidRequest("the user message index must not be negative")
    boundaries = scan.user_positions
    return boundaries[n] if n < len(boundaries) else None


def interruption_lines(open_turn: OpenTurn, stamp: str, *, developer: bool) -> list[RolloutLine]:
    """The marker message and ``turn_aborted`` event Codex appends for an unfinished turn."""
    marker = {
        "type": "message",
        "id": f"msg_{new_uuid7()}",
        "role": "developer" if developer else "user",
        "content": [
            {
                "type": "input_text",
                "text": INTERRUPTED_DEVELOPER_TEXT if developer else INTERRUPTED_USER_TEXT,
            }
        ],
        PASSTHROUGH: {
            "content_item_kinds": ["generic.turn_aborted"],
            "content_item_metadata": [{"provenance": {"type": "harness", "hook": False}}],
        },
    }
    aborted: dict[str, Any] = {"type": "turn_aborted"}
    if open_turn.turn_id is not None:
        aborted["root_turn_id"] = open_turn.root_turn_id or open_turn.turn_id
    aborted["turn_id"] = open_turn.turn_id
    aborted["reason"] = "interrupted"
    if open_turn.turn_id is not None and open_turn.started_at is not None:
        aborted["started_at"] = open_turn.started_at
    return [
        RolloutLine(timestamp=stamp, type=RESPONSE_ITEM, payload=marker),
        RolloutLine(timestamp=stamp, type=EVENT_MSG, payload=aborted),
    ]

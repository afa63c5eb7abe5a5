"""The cursors of ``thread/turns/list`` and ``thread/items/list`` in Codex 0.169.0's formats.

Legacy threads page turns by turn id (app-server-threads 4.8)::

    {"turnId":"<id>","includeAnchor":false}

Paginated threads (and threadloom's item lists of legacy threads) use a keyset position::

    {"requestedThreadId":"<thread>","rolloutOrdinal":N,"includeAnchor":true,"scope":{"kind":"turns"}}

Both are parsed as serde does: unknown members ignored, the known ones required and strictly
typed, a repeated member refused, the thread id accepted in any UUID spelling. Any failure is
``invalid cursor: <the cursor text>``.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import msgspec

from threadloom.errors import InvalidRequest, InvalidThreadId
from threadloom.ids import parse_thread_id

U64_MAX = (1 << 64) - 1

_encode = msgspec.json.Encoder().encode


class Scope(enum.StrEnum):
    """``scope.kind`` of a keyset cursor."""

    TURNS = "turns"
    ITEMS = "itemsByCreatedAtOrdinal"
    ITEMS_BY_UPDATE = "itemsByUpdatedAtOrdinal"


def invalid_cursor(text: str) -> InvalidRequest:
    return InvalidRequest(f"invalid cursor: {text}")


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except ValueError:
        raise invalid_cursor(text) from None
    if not isinstance(value, dict):
        raise invalid_cursor(text)
    return value


def _bool(value: Any, text: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_cursor(text)
    return value


# -- legacy turn cursors -------------------------------------------------------------------------


def parse_turn_cursor(text: str) -> tuple[str, bool]:
    """``(turn id, include anchor)`` of a legacy turns cursor."""
    value = _object(text)
    turn_id = value.get("turnId")
    if not isinstance(turn_id, str) or "includeAnchor" not in value:
        raise invalid_cursor(text)
    return turn_id, _bool(value["includeAnchor"], text)


def turn_cursor(turn_id: str, include_anchor: bool) -> str:
    return _encode({"turnId": turn_id, "includeAnchor": include_anchor}).decode()


# -- keyset cursors --------------------------------------------------------------------------------


def parse_position_cursor(text: str, thread_id: str, scope: Scope) -> tuple[int, bool]:
    """``(rollout ordinal, include anchor)`` of a keyset cursor for this thread and scope."""
    value = _object(text)
    raw_thread = value.get("requestedThreadId")
    ordinal = value.get("rolloutOrdinal")
    raw_scope = value.get("scope")
    if not isinstance(raw_thread, str) or "includeAnchor" not in value:
        raise invalid_cursor(text)
    try:
        requested = parse_thread_id(raw_thread)
    except InvalidThreadId:
        raise invalid_cursor(text) from None
    if isinstance(ordinal, bool) or not isinstance(ordinal, int) or not 0 <= ordinal <= U64_MAX:
        raise invalid_cursor(text)
    include = _bool(value["includeAnchor"], text)
    if not isinstance(raw_scope, dict) or raw_scope.get("kind") not in {s.value for s in Scope}:
        raise invalid_cursor(text)
    if requested != thread_id or raw_scope["kind"] != scope.value:
        raise invalid_cursor(text)
    return ordinal, include


def position_cursor(thread_id: str, scope: Scope, ordinal: int, include_anchor: bool) -> str:
    return _encode(
        {
            "requestedThreadId": thread_id,
            "rolloutOrdinal": ordinal,
            "includeAnchor": include_anchor,
            "scope": {"kind": scope.value},
        }
    ).decode()


OUTSIDE_LINEAGE = "invalid cursor: position outside thread lineage"
ANCHOR_GONE = "invalid cursor: anchor turn is no longer present"

"""Pages of turns, as Codex 0.169.0's ``thread/turns/list`` (app-server-threads 4.8).

Newest first by default, 25 per page (at most 100, ``0`` acts as 1). Legacy threads use
Codex's turn-id cursors and its rules: the anchor is the first turn with that id, an unknown
one is "anchor turn is no longer present", an empty thread answers an empty page without
reading the cursor. Paginated threads use keyset cursors on the turn's rollout ordinal: one
beyond SQLite's integers is refused, one outside the thread's lineage too. Items pages
(``items.py``) share the keyset rules.

``itemsView``: ``notLoaded`` empties ``items``; ``summary`` keeps, for legacy threads, the
first user message and the last agent message, and for paginated ones the two items Codex's
projection chose (``projection.py``); ``full`` keeps everything. A thread not running a turn
shows turns still in progress as ``interrupted``.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.protocol.cursor import DEFAULT_LIMIT, MAX_LIMIT
from threadloom.protocol.turns.state import IN_PROGRESS, INTERRUPTED
from threadloom.server.history.cursors import (
    ANCHOR_GONE,
    OUTSIDE_LINEAGE,
    Scope,
    parse_position_cursor,
    parse_turn_cursor,
    position_cursor,
    turn_cursor,
)
from threadloom.server.history.index import TurnIndex, rebuild
from threadloom.server.history.projection import PaginatedProjection
from threadloom.server.history.source import Source


class ItemsView(enum.StrEnum):
    NOT_LOADED = "notLoaded"
    SUMMARY = "summary"
    FULL = "full"


class InvalidParams(InvalidRequest):
    """Codex's ``-32602`` errors (invalid params beyond decoding)."""

    rpc_code = -32602


SQLITE_MAX = (1 << 63) - 1
ORDINAL_TOO_LARGE = "rollout ordinal exceeds SQLite integer range"
"""Codex keeps ordinals in SQLite: a cursor beyond its integers is refused (observed)."""


def page_size(limit: int | None) -> int:
    return min(max(DEFAULT_LIMIT if limit is None else limit, 1), MAX_LIMIT)


def empty_page() -> dict[str, Any]:
    return {"data": [], "nextCursor": None, "backwardsCursor": None}


# -- turns ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnsQuery:
    cursor: str | None = None
    limit: int | None = None
    descending: bool = True
    view: ItemsView = ItemsView.SUMMARY
    active: bool = False
    """The thread runs a turn in this process (turns in progress stay ``inProgress``)."""


def turns(index: TurnIndex, source: Source, start: int, stop: int) -> list[dict[str, Any]]:
    """Turns ``[start, stop)`` as ``finish(loaded=True)`` leaves them (fresh dicts)."""
    stop = min(stop, index.count)
    released = index.released
    out = rebuild(index, source, start, min(stop, released))
    for turn in index.tail[max(start, released) - released : stop - released]:
        copy = dict(turn)
        copy["items"] = list(turn["items"])
        out.append(copy)
    return out


def normalize(turns_: list[dict[str, Any]], active: bool) -> list[dict[str, Any]]:
    """A thread not running a turn reports turns in progress as interrupted."""
    if not active:
        for turn in turns_:
            if turn["status"] == IN_PROGRESS:
                turn["status"] = INTERRUPTED
    return turns_


def full_turns(index: TurnIndex, source: Source, active: bool) -> list[dict[str, Any]]:
    return normalize(turns(index, source, 0, index.count), active)


def check_lineage(index: TurnIndex, ordinal: int) -> None:
    if not any(segment.holds(ordinal) for segment in index.lineage):
        raise InvalidRequest(OUTSIDE_LINEAGE)


def turns_page(index: TurnIndex, source: Source, query: TurnsQuery) -> dict[str, Any]:
    size = page_size(query.limit)
    total = index.count
    projection = index.projection
    if projection is None:
        if total == 0:
            return empty_page()
        lo, hi, more = _legacy_range(index, query, size, total)
    else:
        lo, hi, more = keyset_range(index, projection.ordinals, query, size, Scope.TURNS)
    page = normalize(turns(index, source, lo, hi), query.active)
    for position, turn in enumerate(page, start=lo):
        _apply_view(turn, query.view, projection, position)
    if query.descending:
        page.reverse()
    if not page:
        return empty_page()
    if projection is None:
        back = turn_cursor(page[0]["id"], True)
        nxt = turn_cursor(page[-1]["id"], False) if more else None
    else:
        first, last = (hi - 1, lo) if query.descending else (lo, hi - 1)
        back = position_cursor(index.thread_id, Scope.TURNS, projection.ordinals[first], True)
        nxt = None
        if more:
            ordinal = projection.ordinals[last]
            nxt = position_cursor(index.thread_id, Scope.TURNS, ordinal, False)
    return {"data": page, "nextCursor": nxt, "backwardsCursor": back}


def _legacy_range(
    index: TurnIndex, query: TurnsQuery, size: int, total: int
) -> tuple[int, int, bool]:
    if query.cursor is None:
        anchor, include = None, False
    else:
        turn_id, include = parse_turn_cursor(query.cursor)
        anchor = index.first_index(turn_id)
        if anchor is None:
            raise InvalidRequest(ANCHOR_GONE)
    if query.descending:
        hi = total if anchor is None else anchor + (1 if include else 0)
        lo = max(0, hi - size)
        return lo, hi, lo > 0
    lo = 0 if anchor is None else anchor + (0 if include else 1)
    hi = min(total, lo + size)
    return lo, max(lo, hi), total > hi


def keyset_range(
    index: TurnIndex, ordinals: Sequence[int], query: TurnsQuery, size: int, scope: Scope
) -> tuple[int, int, bool]:
    """A contiguous range of ``ordinals`` (ascending) after or before the cursor."""
    total = len(ordinals)
    if query.cursor is None:
        start, end = 0, total
    else:
        ordinal, include = parse_position_cursor(query.cursor, index.thread_id, scope)
        if ordinal > SQLITE_MAX:
            raise InvalidRequest(ORDINAL_TOO_LARGE)
        check_lineage(index, ordinal)
        if query.descending:
            side = bisect.bisect_right if include else bisect.bisect_left
            start, end = 0, side(ordinals, ordinal)
        else:
            side = bisect.bisect_left if include else bisect.bisect_right
            start, end = side(ordinals, ordinal), total
    if query.descending:
        lo = max(start, end - size)
        return lo, end, lo > start
    hi = min(end, start + size)
    return start, max(start, hi), end > hi


def _apply_view(
    turn: dict[str, Any], view: ItemsView, projection: PaginatedProjection | None, position: int
) -> None:
    turn["itemsView"] = view.value
    if view == ItemsView.NOT_LOADED:
        turn["items"] = []
    elif view == ItemsView.SUMMARY:
        items = turn["items"]
        if projection is None:
            turn["items"] = legacy_summary(items)
        else:
            chosen = set(projection.summary_ids(position)) - {None}
            turn["items"] = [item for item in items if item["id"] in chosen]


def legacy_summary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First user message and last agent message, in that order (whichever exist)."""
    user = next((i for i in items if i["type"] == "userMessage"), None)
    agent = next((i for i in reversed(items) if i["type"] == "agentMessage"), None)
    if user is not None and agent is not None and user["id"] != agent["id"]:
        return [user, agent]
    if user is not None:
        return [user]
    return [] if agent is None else [agent]

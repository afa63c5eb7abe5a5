"""Pages of turns and items, as Codex 0.169.0's ``thread/turns/list`` and ``thread/items/list``.

Turns (app-server-threads 4.8): newest first by default, 25 per page (at most 100, ``0`` acts
as 1). Legacy threads use Codex's turn-id cursors and its rules: the anchor is the first turn
with that id, an unknown one is "anchor turn is no longer present", an empty thread answers an
empty page without reading the cursor. Paginated threads use keyset cursors on the turn's
rollout ordinal, checked against the thread's lineage.

Items (4.9): oldest first by default, 25 per page (at most 100). Paginated threads list every
item in the order it was first completed, keyed by its first ordinal; with ``turnId`` only that
turn's. Codex answers legacy threads with "not supported yet"; threadloom lists their items in
the order ``thread/read`` shows them, in the same shape, the ``rolloutOrdinal`` of their cursors
being the item's rank in that order (1 = the first item of the thread).

``itemsView``: ``notLoaded`` empties ``items``; ``summary`` keeps, for legacy threads, the
first user message and the last agent message, and for paginated ones the two items Codex's
projection chose (``projection.py``); ``full`` keeps everything. A thread not running a turn
shows turns still in progress as ``interrupted``.
"""

from __future__ import annotations

import bisect
import enum
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
from threadloom.server.history.projection import PaginatedProjection, merge_item_lines
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
        lo, hi, more = _keyset_range(index, projection.ordinals, query, size, Scope.TURNS)
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


def _keyset_range(
    index: TurnIndex, ordinals: list[int], query: TurnsQuery, size: int, scope: Scope
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


# -- items ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    turn_id: str | None = None
    cursor: str | None = None
    anchor_item: str | None = None
    """An item anchor (``{"type":"item","itemId":…}``): exclusive position in ``turn_id``."""
    limit: int | None = None
    descending: bool = False
    defer_commands: bool = False
    defer_mcp: bool = False


ITEM_NOT_IN_SCOPE = "cursor.itemId does not identify an item in the requested history scope"
TURN_REQUIRED = "turnId is required when cursor is an item anchor"


def items_page(index: TurnIndex, source: Source, query: ItemsQuery) -> dict[str, Any]:
    size = page_size(query.limit)
    refs, ordinals = _scope(index, query.turn_id)
    if query.anchor_item is not None:
        at = _anchor(index, source, refs, query.anchor_item)
        lo, hi, more = _anchored_range(at, len(refs), size, query.descending)
    else:
        keyset = TurnsQuery(cursor=query.cursor, descending=query.descending)
        lo, hi, more = _keyset_range(index, ordinals, keyset, size, Scope.ITEMS)
    entries = _entries(index, source, refs[lo:hi])
    if query.turn_id:
        for entry in entries:
            _defer(entry, query)
    if query.descending:
        entries.reverse()
    if not entries:
        return empty_page()
    first, last = (hi - 1, lo) if query.descending else (lo, hi - 1)
    back = position_cursor(index.thread_id, Scope.ITEMS, ordinals[first], True)
    nxt = position_cursor(index.thread_id, Scope.ITEMS, ordinals[last], False) if more else None
    return {"data": entries, "nextCursor": nxt, "backwardsCursor": back}


def items_read(
    index: TurnIndex, source: Source, turn_id: str, item_ids: list[str]
) -> list[dict[str, Any]]:
    """The items of ``turn_id`` with these ids, in thread order (unknown ids left out)."""
    wanted = set(item_ids)
    refs, _ = _scope(index, turn_id)
    return [e for e in _entries(index, source, refs) if e["item"]["id"] in wanted]


ItemRef = tuple[int, int]
"""Paginated: ``(entry number, 0)``; legacy: ``(turn index, item position in the turn)``."""


def _scope(index: TurnIndex, turn_id: str | None) -> tuple[list[ItemRef], list[int]]:
    """The items of the thread (or of one turn) in order, and their cursor ordinals."""
    projection = index.projection
    if projection is not None:
        numbers = (
            projection.turn_items.get(turn_id, []) if turn_id else range(len(projection.items))
        )
        return [(n, 0) for n in numbers], [projection.items[n].ordinal for n in numbers]
    refs: list[ItemRef] = []
    ranks: list[int] = []
    rank = 0
    for position in range(index.count):
        count = index.items_in(position)
        if turn_id is None or index.turn_id(position) == turn_id:
            refs.extend((position, k) for k in range(count))
            ranks.extend(range(rank + 1, rank + count + 1))
        rank += count
    return refs, ranks


def _anchor(index: TurnIndex, source: Source, refs: list[ItemRef], item_id: str) -> int:
    projection = index.projection
    if projection is not None:
        for number, (entry, _) in enumerate(refs):
            if projection.items[entry].item_id == item_id:
                return number
    elif refs:
        rebuilt = _turns_for(index, source, refs)
        for number, (position, k) in enumerate(refs):
            if rebuilt[position]["items"][k]["id"] == item_id:
                return number
    raise InvalidParams(ITEM_NOT_IN_SCOPE)


def _anchored_range(at: int, total: int, size: int, descending: bool) -> tuple[int, int, bool]:
    if descending:
        lo = max(0, at - size)
        return lo, at, lo > 0
    hi = min(total, at + 1 + size)
    return at + 1, hi, total > hi


def _turns_for(index: TurnIndex, source: Source, refs: list[ItemRef]) -> dict[int, dict[str, Any]]:
    """Legacy: the turns holding these items, rebuilt one run of consecutive turns at a time."""
    out: dict[int, dict[str, Any]] = {}
    positions = sorted({p for p, _ in refs})
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][1] == position:
            runs[-1][1] = position + 1
        else:
            runs.append([position, position + 1])
    for start, stop in runs:
        for offset, turn in enumerate(turns(index, source, start, stop)):
            out[start + offset] = turn
    return out


def _entries(index: TurnIndex, source: Source, refs: list[ItemRef]) -> list[dict[str, Any]]:
    if not refs:
        return []
    projection = index.projection
    if projection is None:
        rebuilt = _turns_for(index, source, refs)
        return [_entry(rebuilt[p]["id"], rebuilt[p]["items"][k]) for p, k in refs]
    out = []
    for number, _ in refs:
        entry = projection.items[number]
        lines = [source.read_at(start) for start in entry.starts]
        item = merge_item_lines([line for line in lines if line is not None])
        if item is not None:
            out.append(_entry(entry.turn_id, item))
    return out


def _entry(turn_id: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "turnId": turn_id,
        "item": item,
        "startedAtMs": item.get("startedAtMs"),
        "completedAtMs": item.get("completedAtMs"),
    }


def _defer(entry: dict[str, Any], query: ItemsQuery) -> None:
    """``deferOutput`` (one turn only): leave out the saved output of successful commands and
    the plain-text results of successful MCP calls; the entry says so with ``outputDeferred``.

    Observed on Codex 0.169.0: only completed items (``completedAtMs`` set) with status
    ``completed``; a command needs exit code 0 and a non-empty output; an MCP result needs
    only ``{"type":"text","text":…}`` blocks, at least one non-empty, and no structured content
    or ``_meta``.
    """
    item = entry["item"]
    if item.get("completedAtMs") is None or item.get("status") != "completed":
        return
    kind = item["type"]
    if kind == "commandExecution" and query.defer_commands:
        if item.get("exitCode") != 0 or not item.get("aggregatedOutput"):
            return
        item = dict(item, aggregatedOutput=None)
    elif kind == "mcpToolCall" and query.defer_mcp:
        if not _plain_text_result(item.get("result")):
            return
        item = dict(item, result={"content": [], "structuredContent": None, "_meta": None})
    else:
        return
    started, completed = entry.pop("startedAtMs"), entry.pop("completedAtMs")
    entry["item"] = item
    entry["outputDeferred"] = True
    entry["startedAtMs"] = started
    entry["completedAtMs"] = completed


def _plain_text_result(result: Any) -> bool:
    if not isinstance(result, dict) or result.get("structuredContent") is not None:
        return False
    if result.get("_meta") is not None:
        return False
    content = result.get("content")
    if not isinstance(content, list) or not content:
        return False
    for block in content:
        if not isinstance(block, dict) or set(block) != {"type", "text"}:
            return False
        if block["type"] != "text" or not isinstance(block["text"], str):
            return False
    return any(block["text"] for block in content)

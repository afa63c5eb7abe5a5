"""Pages of items, as Codex 0.169.0's ``thread/items/list`` (app-server-threads 4.9).

Oldest first by default, 25 per page (at most 100, ``0`` acting as 1), ``turnId`` keeping one
turn's items. Paginated threads list every item in the order it was first completed, keyed by
the ordinal of its first ``item_completed`` line (``projection.py``); an item anchor
(``{"type":"item","itemId":…}``, with ``turnId``) lists the items after it, or before it
newest first. Codex answers legacy threads with "not supported yet"; threadloom lists their
items in the order ``thread/read`` shows them, in the same shape, the ``rolloutOrdinal`` of
their cursors being the item's rank in that order (1 = the first item of the thread).

A page locates its items without listing the thread's: legacy ranks through the index's
cumulative item counts, paginated ordinals through the projection's item entries; only the
page's turns (legacy) or the page's lines (paginated) are read.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from threadloom.server.history.cursors import Scope, position_cursor
from threadloom.server.history.index import TurnIndex
from threadloom.server.history.pages import (
    InvalidParams,
    TurnsQuery,
    empty_page,
    keyset_range,
    page_size,
    turns,
)
from threadloom.server.history.projection import ItemEntry, merge_item_lines
from threadloom.server.history.source import Source

ITEM_NOT_IN_SCOPE = "cursor.itemId does not identify an item in the requested history scope"
TURN_REQUIRED = "turnId is required when cursor is an item anchor"

ItemRef = tuple[int, int]
"""Paginated: ``(entry number, 0)``; legacy: ``(turn index, item position in the turn)``."""


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


@dataclass(frozen=True, slots=True)
class ItemScope:
    """The items a request ranges over, in order, without listing them."""

    ordinals: Sequence[int]
    """The cursor ordinal of each item, ascending."""
    ref: Callable[[int], ItemRef]
    """Where item ``n`` of the scope is."""

    def refs(self, lo: int, hi: int) -> list[ItemRef]:
        return [self.ref(n) for n in range(lo, hi)]


class _EntryOrdinals(Sequence[int]):
    """The first ordinals of the projection's item entries (ascending), read in place."""

    def __init__(self, entries: list[ItemEntry]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [e.ordinal for e in self.entries[index]]
        return self.entries[index].ordinal


def item_scope(index: TurnIndex, turn_id: str | None) -> ItemScope:
    """The items of the thread, or of the turns with id ``turn_id``."""
    projection = index.projection
    if projection is not None:
        if turn_id is None:
            return ItemScope(_EntryOrdinals(projection.items), lambda n: (n, 0))
        numbers = projection.turn_items.get(turn_id, [])
        ordinals = [projection.items[n].ordinal for n in numbers]
        return ItemScope(ordinals, lambda n: (numbers[n], 0))
    offsets = index.item_offsets()
    if turn_id is None:
        return ItemScope(range(1, offsets[-1] + 1), lambda n: _locate(offsets, n))
    refs = [
        (position, k)
        for position in range(index.count)
        if index.turn_id(position) == turn_id
        for k in range(index.items_in(position))
    ]
    return ItemScope([offsets[p] + k + 1 for p, k in refs], refs.__getitem__)


def _locate(offsets: Sequence[int], n: int) -> ItemRef:
    """Item ``n`` of the thread (0-based) as ``(turn, position in the turn)``."""
    position = bisect.bisect_right(offsets, n) - 1
    return position, n - offsets[position]


def items_page(index: TurnIndex, source: Source, query: ItemsQuery) -> dict[str, Any]:
    size = page_size(query.limit)
    scope = item_scope(index, query.turn_id)
    if query.anchor_item is not None:
        at = _anchor(index, source, scope, query.anchor_item)
        lo, hi, more = _anchored_range(at, len(scope.ordinals), size, query.descending)
    else:
        keyset = TurnsQuery(cursor=query.cursor, descending=query.descending)
        lo, hi, more = keyset_range(index, scope.ordinals, keyset, size, Scope.ITEMS)
    entries = _entries(index, source, scope.refs(lo, hi))
    if query.turn_id is not None:
        for entry in entries:
            _defer(entry, query)
    if query.descending:
        entries.reverse()
    if not entries:
        return empty_page()
    first, last = (hi - 1, lo) if query.descending else (lo, hi - 1)
    ordinals = scope.ordinals
    back = position_cursor(index.thread_id, Scope.ITEMS, ordinals[first], True)
    nxt = position_cursor(index.thread_id, Scope.ITEMS, ordinals[last], False) if more else None
    return {"data": entries, "nextCursor": nxt, "backwardsCursor": back}


def _anchor(index: TurnIndex, source: Source, scope: ItemScope, item_id: str) -> int:
    """The anchor's place in the scope (one turn's items: small)."""
    refs = scope.refs(0, len(scope.ordinals))
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
    runs: list[list[int]] = []
    for position in sorted({p for p, _ in refs}):
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

"""Reducer state (serialisable), turn JSON, and the change events a streaming reducer emits."""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

IN_PROGRESS = "inProgress"
COMPLETED = "completed"
FAILED = "failed"
INTERRUPTED = "interrupted"
TIME_KEYS = ("startedAtMs", "completedAtMs")


class Turn(msgspec.Struct, kw_only=True):
    """A turn the reducer still holds (open, or finished but not released yet)."""

    id: str
    items: list[dict[str, Any]] = msgspec.field(default_factory=list)
    status: str = COMPLETED
    error: dict[str, Any] | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None
    root_turn_id: str | None = None
    explicit: bool = False
    """Opened by ``task_started`` (kept even without items)."""
    compaction: bool = False
    """Saw a ``compacted`` line (an implicit turn is then kept even without items)."""
    first_item: int = 0
    """Lowest ``item-N`` number the counter gave this turn (0: none); the numbers are
    contiguous because only the open turn receives them."""
    last_item: int = 0

    def to_json(self) -> dict[str, Any]:
        """The turn as ``thread/read`` returns it (key order of app-server-threads 6.5)."""
        return {
            "id": self.id,
            "rootTurnId": self.root_turn_id,
            "items": self.items,
            "itemsView": "full",
            "status": self.status,
            "error": self.error,
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
            "durationMs": self.duration_ms,
        }


class ReleasedTurn(msgspec.Struct, array_like=True):
    """What the reducer remembers of a turn it has released (handed to the caller).

    Enough to apply later lines that target it by id exactly: its status, its item count (for
    rollback renumbering) and which item ids it holds (for upserts: the contiguous ``item-N``
    range plus the other ids, usually call ids).
    """

    id: str
    status: str
    items: int = 0
    first_item: int = 0
    last_item: int = 0
    keys: list[str] = msgspec.field(default_factory=list)

    def has_generated(self, item_id: str) -> bool:
        """Is ``item_id`` one of the ``item-N`` ids the counter gave this turn?"""
        number = generated_number(item_id)
        return number is not None and 0 < self.first_item <= number <= self.last_item

    def has_item(self, item_id: str) -> bool:
        return item_id in self.keys or self.has_generated(item_id)


def generated_number(item_id: str) -> int | None:
    """N for an ``item-N`` id, else None."""
    if item_id.startswith("item-") and item_id[5:].isdigit() and item_id[5:6] != "0":
        return int(item_id[5:])
    return None


class ReducerSnapshot(msgspec.Struct, kw_only=True):
    """Everything needed to resume reducing after the last line fed (see the package doc).

    Its size is the open and held turns in full plus a few bytes per released turn; with
    ``hold=0`` that is the turn in progress and the released-turn index.
    """

    version: int = 1
    mode: str | None = None
    hold: int | None = 0
    next_index: int = 0
    """Rollout index the next kept line gets (app-server-threads 6.1)."""
    next_item: int = 1
    """Number of the next ``item-N`` id."""
    current: Turn | None = None
    held: list[Turn] = msgspec.field(default_factory=list)
    released: list[ReleasedTurn] = msgspec.field(default_factory=list)
    released_items: int = 0
    pending: dict[str, list[dict[str, Any]]] = msgspec.field(default_factory=dict)
    """Paginated threads: items of turns that have not started yet, by turn id."""
    finished: bool = False


def encode_snapshot(snapshot: ReducerSnapshot) -> bytes:
    """Compact JSON bytes of a snapshot (store them with the byte offset they belong to)."""
    return msgspec.json.encode(snapshot)


def decode_snapshot(data: bytes) -> ReducerSnapshot:
    return msgspec.json.decode(data, type=ReducerSnapshot)


# -- change events ----------------------------------------------------------------------------


class TurnAppended(msgspec.Struct, frozen=True, tag=True):
    """A turn released to the caller; it becomes turn number ``index`` (0-based)."""

    index: int
    turn: dict[str, Any]


class TurnAmended(msgspec.Struct, frozen=True, tag=True):
    """A later line changed released turn ``index``: replace these members of it."""

    index: int
    changes: dict[str, Any]


class ItemUpserted(msgspec.Struct, frozen=True, tag=True):
    """Upsert ``item`` into released turn ``index``: replace the item with its id in place,
    else append. ``keep_times`` (paginated threads): a replaced item keeps its non-null
    ``startedAtMs`` / ``completedAtMs``."""

    index: int
    item: dict[str, Any]
    keep_times: bool = False


class TurnsDropped(msgspec.Struct, frozen=True, tag=True):
    """A rollback removed the last ``count`` released turns."""

    count: int


TurnEvent: TypeAlias = TurnAppended | TurnAmended | ItemUpserted | TurnsDropped


def upsert_item(items: list[dict[str, Any]], item: dict[str, Any], *, keep_times: bool) -> bool:
    """Replace the item with ``item``'s id (position kept) or append; True when appended."""
    item_id = item["id"]
    for position, existing in enumerate(items):
        if existing["id"] == item_id:
            if keep_times:
                item = dict(item)
                for key in TIME_KEYS:
                    if existing.get(key) is not None:
                        item[key] = existing[key]
            items[position] = item
            return False
    items.append(item)
    return True


def apply_event(turns: list[dict[str, Any]], event: TurnEvent) -> None:
    """Apply one reducer event to the caller's list of released turns (JSON dicts)."""
    if isinstance(event, TurnAppended):
        assert event.index == len(turns), "turns were released out of order"
        turns.append(event.turn)
    elif isinstance(event, TurnAmended):
        turns[event.index].update(event.changes)
    elif isinstance(event, ItemUpserted):
        upsert_item(turns[event.index]["items"], event.item, keep_times=event.keep_times)
    else:
        del turns[len(turns) - event.count :]

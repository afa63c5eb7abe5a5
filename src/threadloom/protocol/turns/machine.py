"""Bookkeeping shared by the legacy and paginated reducers: held and released turns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threadloom.protocol.turns.records import ReleasedRecords
from threadloom.protocol.turns.state import (
    IN_PROGRESS,
    INTERRUPTED,
    ItemUpserted,
    ReducerSnapshot,
    ReleasedTurn,
    Turn,
    TurnAmended,
    TurnAppended,
    TurnEvent,
    upsert_item,
)

Where = tuple[str, int]
"""``("held", position)`` or ``("released", index)``."""


class Machine:
    """Turn list = released turns (the caller has them) + held turns + the open turn."""

    track_items = True
    """Remember the item ids of released turns (legacy: upserts and rollback renumbering)."""

    def __init__(
        self, state: ReducerSnapshot, new_id: Callable[[], str], records: ReleasedRecords
    ) -> None:
        self.s = state
        self.new_id = new_id
        self.events: list[TurnEvent] = []
        self.records = records
        """The released turns' records (``state.released`` unless the caller keeps them)."""

    # -- releasing ----------------------------------------------------------------------------

    def release_extra(self) -> None:
        """Release the oldest held turns beyond ``hold``."""
        hold = self.s.hold
        if hold is not None and len(self.s.held) > hold:
            count = len(self.s.held) - hold
            for turn in self.s.held[:count]:
                self.release(turn)
            del self.s.held[:count]

    def release_all(self) -> None:
        for turn in self.s.held:
            self.release(turn)
        self.s.held.clear()

    def release(self, turn: Turn) -> None:
        index = len(self.records)
        record = ReleasedTurn(turn.id, turn.status)
        if self.track_items:
            record.items = len(turn.items)
            record.first_item = turn.first_item
            record.last_item = turn.last_item
            record.keys = [i["id"] for i in turn.items if not record.has_generated(i["id"])]
            self.s.released_items += len(turn.items)
        self.records.append(record)
        self.events.append(TurnAppended(index, turn.to_json()))

    # -- finding finished turns -----------------------------------------------------------------

    def find_finished(self, turn_id: str) -> Where | None:
        """The first finished turn with this id (released ones come first)."""
        index = self.records.find(turn_id)
        if index is not None:
            return ("released", index)
        for position, turn in enumerate(self.s.held):
            if turn.id == turn_id:
                return ("held", position)
        return None

    def amend(self, index: int, changes: dict[str, Any]) -> None:
        self.events.append(TurnAmended(index, changes))

    def upsert_released(self, index: int, item: dict[str, Any], *, keep_times: bool) -> None:
        record = self.records[index]
        if self.track_items and not record.has_item(item["id"]):
            record.items += 1
            record.keys.append(item["id"])
            self.s.released_items += 1
        self.events.append(ItemUpserted(index, item, keep_times))

    def upsert_at(self, where: Where, item: dict[str, Any], *, keep_times: bool) -> None:
        kind, position = where
        if kind == "held":
            upsert_item(self.s.held[position].items, item, keep_times=keep_times)
        else:
            self.upsert_released(position, item, keep_times=keep_times)

    def drop_released(self, count: int) -> int:
        """Forget the last ``count`` released turns; returns how many there were."""
        dropped = self.records.drop(count) if count > 0 else []
        for record in dropped:
            self.s.released_items -= record.items
        return len(dropped)

    # -- end of input ---------------------------------------------------------------------------

    def interrupt_open_turns(self) -> None:
        """A stored (not loaded) thread reports every turn still in progress as interrupted."""
        for turn in self.s.held:
            if turn.status == IN_PROGRESS:
                turn.status = INTERRUPTED
        for index, record in enumerate(self.records):
            if record.status == IN_PROGRESS:
                record.status = INTERRUPTED
                self.amend(index, {"status": INTERRUPTED})

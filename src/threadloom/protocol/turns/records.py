"""Where a reducer keeps the records of the turns it released (``ReleasedTurn``).

A reducer needs them only for lines that name an old turn (a completion, an abort, a patch or a
plan for it) and for rollbacks (their item counts). ``ListRecords`` keeps them in the
snapshot's ``released`` list, as ``TurnReducer`` does by default. A caller that keeps every
record elsewhere (the app server's turn index keeps each version once, for every checkpoint)
resumes a reducer with its own ``ReleasedRecords`` instead, so resuming costs nothing per
released turn: records are fetched one at a time, only when a line asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from threadloom.protocol.turns.state import ReleasedTurn


class ReleasedRecords(Protocol):
    """The released turns' records, in release order (turn ``index`` is record ``index``).

    A record returned by ``[]`` belongs to the reducer: it may change it in place.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> ReleasedTurn: ...

    def __iter__(self) -> Iterator[ReleasedTurn]: ...

    def append(self, record: ReleasedTurn) -> None: ...

    def find(self, turn_id: str) -> int | None:
        """The index of the first record with this turn id."""
        ...

    def drop(self, count: int) -> list[ReleasedTurn]:
        """Remove the last ``count`` records (at most all) and return them."""
        ...


class ListRecords:
    """Records in a plain list (a snapshot's ``released``), with an index by turn id."""

    def __init__(self, records: list[ReleasedTurn]) -> None:
        self.records = records
        self._first: dict[str, int] = {}
        for index, record in enumerate(records):
            self._first.setdefault(record.id, index)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> ReleasedTurn:
        return self.records[index]

    def __iter__(self) -> Iterator[ReleasedTurn]:
        return iter(self.records)

    def append(self, record: ReleasedTurn) -> None:
        self._first.setdefault(record.id, len(self.records))
        self.records.append(record)

    def find(self, turn_id: str) -> int | None:
        return self._first.get(turn_id)

    def drop(self, count: int) -> list[ReleasedTurn]:
        keep = max(0, len(self.records) - count)
        dropped = self.records[keep:]
        for record in dropped:
            if self._first.get(record.id, -1) >= keep:
                del self._first[record.id]
        del self.records[keep:]
        return dropped

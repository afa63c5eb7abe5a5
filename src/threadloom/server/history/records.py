"""The released-turn records of a thread's index: every version kept once, readable as of any
checkpoint without copying the others.

A reducer resumed at a checkpoint needs the records of the turns released before it, but
only the few that later lines name (``protocol/turns/records.py``). ``RecordLog`` stores each
version of each record once, with the operations that built the list (set record ``i``, drop
the last ``n``). ``LogView`` is the list as it stood after the first ``ops`` operations: a
record is looked up when asked for (walking back its versions from the newest) and copied
before the reducer may change it; records the reducer adds stay in the view. Opening a view
costs nothing per released turn, which is what keeps a page's work independent of the
thread's length.

Lookups rely on one property of the index (``index.py``): a checkpoint is dropped when a
rollback removes turns it had released, so the turns released before a surviving checkpoint
are never removed afterwards and keep their ids; only their records may change (versions).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

import msgspec

from threadloom.protocol.turns import ReleasedTurn


class LogParts(msgspec.Struct, array_like=True):
    """A ``RecordLog``'s columns, for saving it (``RecordLog.parts`` / ``from_parts``)."""

    ids: list[str]
    status: list[str]
    items: list[int]
    first_item: list[int]
    last_item: list[int]
    keys: dict[int, list[str]]
    op_of: list[int]
    previous: list[int]
    latest: list[int]
    lengths: list[int]


class RecordLog:
    """Every version of every released-turn record, and the length after each operation.

    Versions are kept in columns (a record is made when one is read): a log costs a few
    dozen bytes per version and is saved and loaded as a handful of lists.
    """

    __slots__ = (
        "_first_item",
        "_ids",
        "_items",
        "_keys",
        "_last_item",
        "_latest",
        "_op_of",
        "_previous",
        "_status",
        "lengths",
    )

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._status: list[str] = []
        self._items = array("q")
        self._first_item = array("q")
        self._last_item = array("q")
        self._keys: dict[int, list[str]] = {}
        """The item ids other than ``item-N`` of the versions that have any."""
        self._op_of = array("q")
        """The operation that set each version."""
        self._previous = array("q")
        """Each version's predecessor at the same turn index (-1: none)."""
        self._latest = array("q")
        """The newest version of each turn index ever set."""
        self.lengths = array("q")
        """How many records the list held after each operation."""

    @property
    def ops(self) -> int:
        return len(self.lengths)

    def length_at(self, ops: int) -> int:
        return self.lengths[ops - 1] if ops else 0

    def set(self, index: int, record: ReleasedTurn) -> None:
        """Record ``index`` is now ``record`` (appended when ``index`` is the length)."""
        length = self.length_at(self.ops)
        if index > length:
            raise IndexError(f"record {index} set past the end ({length})")
        version = len(self._ids)
        self._ids.append(record.id)
        self._status.append(record.status)
        self._items.append(record.items)
        self._first_item.append(record.first_item)
        self._last_item.append(record.last_item)
        if record.keys:
            self._keys[version] = list(record.keys)
        self._op_of.append(self.ops)
        if index < len(self._latest):
            self._previous.append(self._latest[index])
            self._latest[index] = version
        else:
            self._previous.append(-1)
            self._latest.append(version)
        self.lengths.append(max(length, index + 1))

    def drop(self, count: int) -> None:
        """The last ``count`` records are gone."""
        self.lengths.append(max(0, self.length_at(self.ops) - count))

    def version_at(self, index: int, ops: int) -> ReleasedTurn:
        """Record ``index`` as it was after the first ``ops`` operations (it must exist), as a
        new record the caller may change."""
        version = self._latest[index]
        while version >= 0 and self._op_of[version] >= ops:
            version = self._previous[version]
        if version < 0:
            raise IndexError(f"record {index} did not exist after {ops} operations")
        return ReleasedTurn(
            self._ids[version],
            self._status[version],
            self._items[version],
            self._first_item[version],
            self._last_item[version],
            list(self._keys.get(version, ())),
        )

    def parts(self) -> LogParts:
        """The log's columns (``from_parts`` restores it)."""
        return LogParts(
            self._ids,
            self._status,
            self._items.tolist(),
            self._first_item.tolist(),
            self._last_item.tolist(),
            self._keys,
            self._op_of.tolist(),
            self._previous.tolist(),
            self._latest.tolist(),
            self.lengths.tolist(),
        )

    @classmethod
    def from_parts(cls, parts: LogParts) -> RecordLog:
        """The log ``parts`` describe (``ValueError`` when its columns do not fit together)."""
        versions = len(parts.ids)
        columns = (parts.status, parts.items, parts.first_item, parts.last_item)
        if any(len(c) != versions for c in (*columns, parts.op_of, parts.previous)):
            raise ValueError("record log columns of different lengths")
        links = (parts.previous, parts.latest)
        if any(c and not -1 <= min(c) <= max(c) < versions for c in links):
            raise ValueError("record log version out of range")
        log = cls()
        log._ids = parts.ids
        log._status = parts.status
        log._items = array("q", parts.items)
        log._first_item = array("q", parts.first_item)
        log._last_item = array("q", parts.last_item)
        log._keys = parts.keys
        log._op_of = array("q", parts.op_of)
        log._previous = array("q", parts.previous)
        log._latest = array("q", parts.latest)
        log.lengths = array("q", parts.lengths)
        return log


FirstIndex = Callable[[str], "int | None"]
"""The first released turn with an id, in the index's final state."""


class LogView:
    """``ReleasedRecords`` as the log stood after ``ops`` operations, plus what the reducer
    resumed on it adds, changes or drops (kept in the view)."""

    def __init__(self, log: RecordLog, ops: int, first_index: FirstIndex) -> None:
        self.log = log
        self.ops = ops
        self.base = log.length_at(ops)
        """Records ``[0, base)`` come from the log."""
        self._first_index = first_index
        self._owned: dict[int, ReleasedTurn] = {}
        self._added: list[ReleasedTurn] = []
        self._added_first: dict[str, int] = {}

    def __len__(self) -> int:
        return self.base + len(self._added)

    def __getitem__(self, index: int) -> ReleasedTurn:
        if index < 0 or index >= len(self):
            raise IndexError(index)
        if index >= self.base:
            return self._added[index - self.base]
        record = self._owned.get(index)
        if record is None:
            record = self._owned[index] = self.log.version_at(index, self.ops)
        return record

    def __iter__(self) -> Iterator[ReleasedTurn]:
        return (self[index] for index in range(len(self)))

    def append(self, record: ReleasedTurn) -> None:
        self._added_first.setdefault(record.id, len(self))
        self._added.append(record)

    def find(self, turn_id: str) -> int | None:
        first = self._first_index(turn_id)
        if first is not None and first < self.base:
            return first  # ids below the base never change (module docstring)
        return self._added_first.get(turn_id)

    def drop(self, count: int) -> list[ReleasedTurn]:
        keep = max(0, len(self) - count)
        dropped = [self[index] for index in range(keep, len(self))]
        if keep < self.base:
            self.base = keep
            self._owned = {i: r for i, r in self._owned.items() if i < keep}
            self._added.clear()
        else:
            del self._added[keep - self.base :]
        self._added_first = {
            turn_id: index for turn_id, index in self._added_first.items() if index < keep
        }
        return dropped

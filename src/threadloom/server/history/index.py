"""The per-thread turn index: checkpoints from which any page of turns is rebuilt.

One streaming pass feeds every line to a ``TurnReducer`` with ``hold=0`` (turns are released
as soon as they finish) and keeps, per thread (memory grows with the number of turns, a few
hundred bytes each, never with their content):

* ``released_at[i]``: the position just after the line whose feed released turn ``i``;
* ``ids``: the turn ids (legacy cursors name turns by id), ``item_counts`` (legacy item lists);
* ``marks``: every ``MARK_EVERY`` turns, a checkpoint: the reducer state minus its released
  records, the position to read from, and how far the record log went (see ``RecordLog``);
* ``late``: every change a line made to an already released turn (rare), with its position;
* ``tail``: the turns still held at the end (the turn in progress), as ``finish`` leaves them
  for a loaded thread; ``end``: the checkpoint after the last line, from which the index is
  extended when the file grows.

Turns ``[a, b)`` are rebuilt by resuming at the last mark at or before ``a``, feeding lines up
to ``released_at[b - 1]`` and applying the later ``late`` changes that touch them: the work is
one page plus at most ``MARK_EVERY`` turns of lines, whatever the thread's size.

A reducer also needs the records of the turns it released (``ReleasedTurn``: id, status, item
count, item ids) for rollbacks and lines naming old turns. Storing them in every mark would
cost marks x turns, and handing them all to each resumed reducer would cost a page as much as
the thread has turns; instead every record version goes once into ``RecordLog``, a mark keeps
the log's length, and the reducer resumed there reads records through a ``LogView``, one at a
time and only when a line asks (``records.py``).
"""

from __future__ import annotations

import bisect
import uuid
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.protocol.turns import (
    ItemUpserted,
    TurnAmended,
    TurnAppended,
    TurnEvent,
    TurnReducer,
    TurnsDropped,
    decode_snapshot,
)
from threadloom.protocol.turns.state import upsert_item
from threadloom.server.history.projection import OrdinalFilter, PaginatedProjection
from threadloom.server.history.records import LogView, RecordLog
from threadloom.server.history.source import SegmentInfo, Source

MARK_EVERY = 16
"""Turns between two checkpoints."""

_ID_NAMESPACE = uuid.UUID("5f0d2c39-3a51-4c55-9d0b-6f2f45d7a9b1")


class IdMaker:
    """Ids for id-less hook prompts: Codex invents random ones; threadloom derives them from
    the thread and the line's position, so every page and every read agree."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.position = 0
        self._count = 0

    def at(self, position: int) -> None:
        self.position = position
        self._count = 0

    def __call__(self) -> str:
        self._count += 1
        name = f"{self.thread_id}:{self.position}:{self._count}"
        return str(uuid.uuid5(_ID_NAMESPACE, name))


# -- checkpoints ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """A checkpoint: resume here to release turn ``count`` next."""

    count: int
    position: int
    state: bytes
    """The reducer state without its released records (``RecordLog`` has those)."""
    ops: int
    last_ordinal: int | None
    """Paginated threads: the ordinal filter's state."""


def _mark(
    reducer: TurnReducer, count: int, position: int, log: RecordLog, last: int | None
) -> Mark:
    """A checkpoint of ``reducer`` (resumed on a ``LogView``: its state holds no records)."""
    return Mark(count, position, reducer.state_bytes(), log.ops, last)


# -- the index -------------------------------------------------------------------------------------


@dataclass
class TurnIndex:
    """Checkpoints and positions of one thread's turns (module docstring)."""

    thread_id: str
    mode: HistoryMode
    key: tuple[object, ...]
    lineage: list[SegmentInfo]
    end: Mark
    size_hint: int = 0
    signature: bytes = b""
    released_at: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    first: dict[str, int] = field(default_factory=dict)
    item_counts: list[int] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    late: list[tuple[int, TurnEvent]] = field(default_factory=list)
    log: RecordLog = field(default_factory=RecordLog)
    tail: list[dict[str, Any]] = field(default_factory=list)
    projection: PaginatedProjection | None = None
    mark_every: int = MARK_EVERY
    saved_at: int | None = None
    """The ``end`` position of this index's copy on disk (None: not saved; ``cache.py``)."""
    _offsets: array[int] | None = field(default=None, repr=False)

    @classmethod
    def empty(
        cls, thread_id: str, mode: HistoryMode, source: Source, *, mark_every: int = MARK_EVERY
    ) -> TurnIndex:
        """An index of no line yet (``extend`` fills it); a mark every ``mark_every`` turns."""
        reducer = TurnReducer(mode, hold=0)
        paginated = mode == HistoryMode.PAGINATED
        start = _mark(reducer, 0, 0, RecordLog(), None)
        index = cls(
            thread_id,
            mode,
            source.key,
            source.lineage,
            start,
            projection=PaginatedProjection() if paginated else None,
            mark_every=max(1, mark_every),
        )
        index.marks.append(start)
        return index

    @property
    def paginated(self) -> bool:
        return self.mode == HistoryMode.PAGINATED

    @property
    def released(self) -> int:
        return len(self.ids)

    @property
    def count(self) -> int:
        """Turns in the thread (released ones, then the tail)."""
        return len(self.ids) + len(self.tail)

    def turn_id(self, index: int) -> str:
        if index < len(self.ids):
            return self.ids[index]
        return str(self.tail[index - len(self.ids)]["id"])

    def first_index(self, turn_id: str) -> int | None:
        """Position of the first turn with this id."""
        found = self.first.get(turn_id)
        if found is not None:
            return found
        for offset, turn in enumerate(self.tail):
            if turn["id"] == turn_id:
                return len(self.ids) + offset
        return None

    def items_in(self, index: int) -> int:
        if index < len(self.ids):
            return self.item_counts[index]
        return len(self.tail[index - len(self.ids)]["items"])

    def item_offsets(self) -> array[int]:
        """``offsets[p]``: the items of the turns before turn ``p``; the last: all of them
        (legacy item ranks; computed once per state of the index)."""
        if self._offsets is None:
            offsets, total = array("q", [0]), 0
            for position in range(self.count):
                total += self.items_in(position)
                offsets.append(total)
            self._offsets = offsets
        return self._offsets

    # -- resuming ---------------------------------------------------------------------------------

    def reducer_at(self, mark: Mark, ids: IdMaker) -> TurnReducer:
        """A reducer resumed at ``mark``; it reads released records from the log on demand."""
        view = LogView(self.log, mark.ops, self.first.get)
        return TurnReducer.resume(decode_snapshot(mark.state), new_id=ids, records=view)

    def mark_for(self, index: int) -> Mark:
        """The last checkpoint from which turn ``index`` has not been released yet."""
        lo, hi = 0, len(self.marks)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.marks[mid].count <= index:
                lo = mid
            else:
                hi = mid
        return self.marks[lo]


class _Feeder:
    """Feeds a source's lines to a reducer with the paginated ordinal filter applied."""

    def __init__(
        self, reducer: TurnReducer, ids: IdMaker, last_ordinal: int | None, paginated: bool
    ) -> None:
        self.reducer = reducer
        self.ids = ids
        self.filter = OrdinalFilter(last_ordinal) if paginated else None

    def feed(
        self, lines: Iterable[tuple[int, int, RolloutLine]]
    ) -> Iterator[tuple[int, int, RolloutLine, list[TurnEvent]]]:
        for start, after, line in lines:
            if self.filter is not None and not self.filter.accept(line):
                continue
            self.ids.at(start)
            yield start, after, line, self.reducer.feed(line)

    @property
    def last_ordinal(self) -> int | None:
        return None if self.filter is None else self.filter.last


def extend(index: TurnIndex, source: Source, collect: list[dict[str, Any]] | None = None) -> None:
    """Read the lines after ``index.end`` and bring the index up to date.

    ``collect``: when given (only from an empty index), every turn is also built into it, as
    ``finish(loaded=True)`` leaves them: the full history in the same single pass.
    """
    size_hint = source.size_hint
    ids = IdMaker(index.thread_id)
    end = index.end
    reducer = index.reducer_at(end, ids)
    feeder = _Feeder(reducer, ids, end.last_ordinal, index.paginated)
    position = end.position
    projection = index.projection
    for start, after, line, events in feeder.feed(source.lines(end.position)):
        if projection is not None:
            projection.observe(start, line)
        if events:
            _note(index, events, after, reducer, collect)
            if index.released >= index.marks[-1].count + index.mark_every:
                index.marks.append(
                    _mark(reducer, index.released, after, index.log, feeder.last_ordinal)
                )
        position = after
    index.end = _mark(reducer, index.released, position, index.log, feeder.last_ordinal)
    index.tail = []
    for event in reducer.finish(loaded=True):
        assert isinstance(event, TurnAppended)
        index.tail.append(event.turn)
        if collect is not None:
            collect.append(event.turn)
    index.size_hint = size_hint
    index.signature = source.signature(position)
    index._offsets = None


def _note(
    index: TurnIndex,
    events: list[TurnEvent],
    after: int,
    reducer: TurnReducer,
    collect: list[dict[str, Any]] | None,
) -> None:
    for event in events:
        if isinstance(event, TurnAppended):
            turn_id = str(event.turn["id"])
            position = len(index.ids)
            assert event.index == position, "turns were released out of order"
            index.ids.append(turn_id)
            index.first.setdefault(turn_id, position)
            index.released_at.append(after)
            record = reducer.released_record(position)
            index.log.set(position, record)
            index.item_counts.append(record.items)
            if index.projection is not None:
                expected = index.projection.turn_index.get(turn_id)
                assert expected == position, f"projection and reducer disagree on {turn_id}"
        elif isinstance(event, TurnAmended | ItemUpserted):
            index.late.append((after, event))
            record = reducer.released_record(event.index)
            index.log.set(event.index, record)
            index.item_counts[event.index] = record.items
        else:
            _drop(index, event.count)
        if collect is not None:
            apply_event(collect, event, 0)


def _drop(index: TurnIndex, count: int) -> None:
    keep = len(index.ids) - count
    for position in range(keep, len(index.ids)):
        turn_id = index.ids[position]
        if index.first.get(turn_id) == position:
            del index.first[turn_id]
    del index.ids[keep:]
    del index.released_at[keep:]
    del index.item_counts[keep:]
    index.log.drop(count)
    index.marks = [m for m in index.marks if m.count <= keep]
    index.late = [(p, e) for p, e in index.late if _target(e) < keep]


def _target(event: TurnEvent) -> int:
    return event.index if isinstance(event, TurnAmended | ItemUpserted | TurnAppended) else -1


def apply_event(turns: list[dict[str, Any]], event: TurnEvent, base: int) -> None:
    """Apply a reducer event to ``turns``, which holds the turns from number ``base`` on."""
    if isinstance(event, TurnAppended):
        assert event.index - base == len(turns), "turns were released out of order"
        turns.append(event.turn)
    elif isinstance(event, TurnsDropped):
        assert event.count <= len(turns), "a rollback reached below the checkpoint"
        del turns[len(turns) - event.count :]
    elif event.index < base:
        return  # a change to a turn before the checkpoint (not rebuilt here)
    elif isinstance(event, TurnAmended):
        turns[event.index - base].update(event.changes)
    else:
        upsert_item(turns[event.index - base]["items"], event.item, keep_times=event.keep_times)


def rebuild(index: TurnIndex, source: Source, start: int, stop: int) -> list[dict[str, Any]]:
    """Turns ``[start, stop)`` (released ones only: ``stop <= index.released``)."""
    if start >= stop:
        return []
    mark = index.mark_for(start)
    ids = IdMaker(index.thread_id)
    reducer = index.reducer_at(mark, ids)
    feeder = _Feeder(reducer, ids, mark.last_ordinal, index.paginated)
    last = index.released_at[stop - 1]
    turns: list[dict[str, Any]] = []
    for _, after, _, events in feeder.feed(source.lines(mark.position)):
        for event in events:
            apply_event(turns, event, mark.count)
        if after >= last:
            break
    page = turns[start - mark.count : stop - mark.count]
    later = bisect.bisect_right(index.late, last, key=_position)
    for _, event in index.late[later:]:
        if start <= _target(event) < stop:
            apply_event(page, event, start)
    return page


def _position(entry: tuple[int, TurnEvent]) -> int:
    return entry[0]

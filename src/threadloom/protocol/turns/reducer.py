"""``TurnReducer``: the streaming facade over the legacy and paginated reducers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from threadloom.ids import new_uuid7
from threadloom.protocol.items import ParsedItem
from threadloom.protocol.rollout import SESSION_META, HistoryMode, RolloutLine, parse_history_mode
from threadloom.protocol.turns.legacy import LegacyMachine
from threadloom.protocol.turns.loading import UNPARSED, Unparsed
from threadloom.protocol.turns.paginated import PaginatedMachine
from threadloom.protocol.turns.records import ListRecords, ReleasedRecords
from threadloom.protocol.turns.state import (
    ReducerSnapshot,
    ReleasedTurn,
    TurnAppended,
    TurnEvent,
    encode_snapshot,
)


class ReducerClosed(RuntimeError):
    """``feed`` or ``finish`` after ``finish``."""


class TurnReducer:
    """Rebuild a thread's turns from its rollout lines, fed one at a time in file order.

    ``mode``: the thread's history mode; None reads it from the first line when that is a
    ``session_meta`` (legacy otherwise). ``hold``: how many finished turns to keep before
    releasing them (``None``: release nothing before ``finish``). ``new_id``: ids for the
    hook-prompt items of id-less messages (Codex makes up a random UUID for them).

    ``feed`` and ``finish`` return the events of that call (see ``state.TurnEvent``); apply
    them in order with ``apply_event`` to a list to get exactly ``build_turns``'s result.
    """

    def __init__(
        self,
        mode: HistoryMode | str | None = None,
        *,
        hold: int | None = 0,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if hold is not None and hold < 0:
            raise ValueError("hold must be >= 0 or None")
        state = ReducerSnapshot(hold=hold, mode=None if mode is None else HistoryMode(mode).value)
        self._init(state, new_id, None)

    def _init(
        self,
        state: ReducerSnapshot,
        new_id: Callable[[], str] | None,
        records: ReleasedRecords | None,
    ) -> None:
        self._state = state
        self._new_id = new_id or new_uuid7
        self._records = ListRecords(state.released) if records is None else records
        self._machine: LegacyMachine | PaginatedMachine | None = None
        if state.mode is not None:
            self._machine = self._make(state.mode)

    def _make(self, mode: str) -> LegacyMachine | PaginatedMachine:
        if mode == HistoryMode.PAGINATED:
            return PaginatedMachine(self._state, self._new_id, self._records)
        return LegacyMachine(self._state, self._new_id, self._records)

    @classmethod
    def resume(
        cls,
        snapshot: ReducerSnapshot,
        *,
        new_id: Callable[[], str] | None = None,
        records: ReleasedRecords | None = None,
    ) -> TurnReducer:
        """A reducer continuing from ``snapshot`` (feed the lines after its byte offset).

        ``records``: the released turns' records when the caller keeps them (the snapshot's
        ``released`` is then ignored and left empty: the reducer's snapshots lack them).
        """
        reducer = cls.__new__(cls)
        if records is not None:
            snapshot = msgspec.structs.replace(snapshot, released=[])
        reducer._init(_copy(snapshot), new_id, records)
        return reducer

    @property
    def mode(self) -> HistoryMode | None:
        return None if self._state.mode is None else HistoryMode(self._state.mode)

    @property
    def released(self) -> int:
        """How many turns have been released (the caller's turn list length)."""
        return len(self._records)

    def released_record(self, index: int) -> ReleasedTurn:
        """A copy of released turn ``index``'s record."""
        r = self._records[index]
        return ReleasedTurn(r.id, r.status, r.items, r.first_item, r.last_item, list(r.keys))

    def state_bytes(self) -> bytes:
        """The state after the last line fed, encoded (``decode_snapshot`` reads it), without
        copying it first as ``snapshot`` does."""
        return encode_snapshot(self._state)

    @property
    def finished(self) -> bool:
        return self._state.finished

    def snapshot(self) -> ReducerSnapshot:
        """A copy of the state after the last line fed (``encode_snapshot`` to store it)."""
        return _copy(self._state)

    def feed(
        self, line: RolloutLine, parsed: ParsedItem | Unparsed | None = UNPARSED
    ) -> list[TurnEvent]:
        """Reduce one line; returns the turns released and the changes to released turns.

        ``parsed``: the line's ``load_line`` value when the caller has it (saves parsing the
        line again; a paginated history parses its few events itself)."""
        machine = self._machine_for(line)
        machine.handle(line, parsed)
        return self._take(machine)

    def feed_all(self, lines: Iterable[RolloutLine]) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        for line in lines:
            events.extend(self.feed(line))
        return events

    def finish(self, *, loaded: bool = False) -> list[TurnEvent]:
        """End of input: release every turn; a not ``loaded`` thread reports turns still in
        progress as interrupted."""
        machine = self._machine_for(None)
        machine.finish(loaded=loaded)
        self._state.finished = True
        return self._take(machine)

    def _machine_for(self, line: RolloutLine | None) -> LegacyMachine | PaginatedMachine:
        if self._state.finished:
            raise ReducerClosed("the reducer has finished")
        if self._machine is None:
            mode = HistoryMode.LEGACY
            if line is not None and line.type == SESSION_META and isinstance(line.payload, dict):
                mode = parse_history_mode(line.payload.get("history_mode"))
            self._state.mode = mode.value
            self._machine = self._make(mode.value)
        return self._machine

    @staticmethod
    def _take(machine: LegacyMachine | PaginatedMachine) -> list[TurnEvent]:
        events, machine.events = machine.events, []
        return events


def _copy(snapshot: ReducerSnapshot) -> ReducerSnapshot:
    return msgspec.json.decode(msgspec.json.encode(snapshot), type=ReducerSnapshot)


def build_turns(
    lines: Iterable[RolloutLine],
    *,
    loaded: bool = False,
    mode: HistoryMode | str | None = None,
    new_id: Callable[[], str] | None = None,
) -> list[dict[str, Any]]:
    """``thread.turns`` exactly as Codex's ``thread/read`` with ``includeTurns: true``.

    ``lines``: every decodable line of the rollout in file order (for a paginated fork, the
    inherited parent lines first: see ``history_base``).
    """
    reducer = TurnReducer(mode, hold=None, new_id=new_id)
    for line in lines:
        reducer.feed(line)
    turns: list[dict[str, Any]] = []
    for event in reducer.finish(loaded=loaded):
        assert isinstance(event, TurnAppended)
        turns.append(event.turn)
    return turns


class HistoryBase(msgspec.Struct, frozen=True):
    """The inherited prefix of a paginated fork or generation (rollout-format 16.2, 16.3)."""

    thread_id: str
    """The thread whose rollout holds the prefix (the same thread for a generation)."""
    end_ordinal_exclusive: int
    end_byte_offset: int
    """Feed that rollout's lines from its start up to this byte offset (exclusive), before
    this file's lines; repeat for that rollout's own ``history_base``."""


def history_base(line: RolloutLine) -> HistoryBase | None:
    """The parent range a thread's first ``session_meta`` line says it inherits, if any."""
    if line.type != SESSION_META or not isinstance(line.payload, dict):
        return None
    base = line.payload.get("history_base")
    if not isinstance(base, dict):
        return None
    try:
        return msgspec.convert(base, HistoryBase)
    except msgspec.ValidationError:
        return None

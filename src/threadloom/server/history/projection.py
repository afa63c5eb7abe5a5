"""What Codex's projection database knows of a paginated thread, kept from the rollout alone.

Codex 0.169.0 answers ``thread/turns/list`` and ``thread/items/list`` for paginated threads from
``thread_history_1.sqlite``, which it fills from the rollout. threadloom needs no such database:
one pass over the lines gives the same answers. Observed on the binary (hand-written rollouts,
projected by ``thread/resume``):

* **Ordinals.** A line is projected only if it carries an ``ordinal`` greater than every ordinal
  projected before it; lines without one, repeats and lines going backwards are skipped (the
  turns and items they would make do not exist). ``OrdinalFilter`` applies this rule.
* **Positions.** A turn's ``rolloutOrdinal`` is the ordinal of the line that created it (its
  ``task_started``, or a completion naming an unknown turn); an item's is the ordinal of its
  first ``item_completed`` (keyed by turn id and item id). Items of turns that never appear are
  listed by ``thread/items/list`` all the same.
* **Summary view.** Each turn keeps a first-user and a final-agent item id, refreshed whenever
  the turn is *written* (created, ``task_started`` again while in progress, made terminal) and
  whenever an item arrives while the turn is in progress; a terminal turn is never refreshed
  again. A refresh keeps the first user message (earliest ordinal) once found, and takes as
  final agent message the latest ``final_answer`` agent message, else (terminal turns only) the
  latest agent message without a phase, else keeps the previous choice. Commentary messages
  are never chosen. The summary lists the chosen items in ordinal order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msgspec import UNSET

from threadloom.protocol.events import ItemCompleted, TaskComplete, TaskStarted, TurnAborted
from threadloom.protocol.items import parse_item
from threadloom.protocol.rollout import EVENT_MSG, RolloutLine
from threadloom.protocol.turns.errors import InvalidTurnError
from threadloom.protocol.turns.items import InvalidItem
from threadloom.protocol.turns.loading import task_error
from threadloom.protocol.turns.state import IN_PROGRESS, upsert_item
from threadloom.protocol.turns.turn_items import from_turn_item

PROJECTED = frozenset(
    {"task_started", "turn_started", "task_complete", "turn_complete", "turn_aborted"}
    | {"item_completed"}
)
USER = "userMessage"
AGENT = "agentMessage"
FINAL_ANSWER = "final_answer"


class OrdinalFilter:
    """Codex's projection rule for paginated lines (module docstring)."""

    __slots__ = ("last",)

    def __init__(self, last: int | None = None) -> None:
        self.last = last

    def accept(self, line: RolloutLine) -> bool:
        ordinal = line.ordinal
        if ordinal is None or (self.last is not None and ordinal <= self.last):
            return False
        self.last = ordinal
        return True


def item_of(event: ItemCompleted) -> dict[str, Any] | None:
    """The thread item an ``item_completed`` carries, as the paginated reducer builds it."""
    raw = event.raw.get("item") if isinstance(event.raw, dict) else None
    started = None if event.started_at_ms is UNSET else event.started_at_ms
    completed: int | None = event.completed_at_ms
    if isinstance(event.raw, dict) and event.raw.get("completed_at_ms") is None:
        completed = None
    try:
        return from_turn_item(raw, started, completed)
    except InvalidItem:
        return None


def parsed_item_line(line: RolloutLine) -> tuple[str, dict[str, Any]] | None:
    """``(turn id, item)`` of a projected ``item_completed`` line, else None."""
    if line.type != EVENT_MSG or line.event_type != "item_completed":
        return None
    parsed = parse_item(line)
    if not isinstance(parsed, ItemCompleted):
        return None
    item = item_of(parsed)
    return None if item is None else (parsed.turn_id, item)


@dataclass(slots=True)
class ItemEntry:
    """One item of the thread (turn id + item id): its first ordinal and every line naming it."""

    turn_id: str
    item_id: str
    ordinal: int
    starts: list[int]


@dataclass(slots=True)
class SummaryInfo:
    """A user or agent message a turn's summary may choose (its first ordinal, kind, phase)."""

    ordinal: int
    kind: str
    phase: str | None


@dataclass
class PaginatedProjection:
    """Turn positions, summary ids and the item index of a paginated thread (one pass)."""

    turn_index: dict[str, int] = field(default_factory=dict)
    ordinals: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    first_user: list[str | None] = field(default_factory=list)
    final_agent: list[str | None] = field(default_factory=list)
    items: list[ItemEntry] = field(default_factory=list)
    item_keys: dict[tuple[str, str], int] = field(default_factory=dict)
    turn_items: dict[str, list[int]] = field(default_factory=dict)
    live: dict[str, dict[str, SummaryInfo]] = field(default_factory=dict)
    """User and agent messages of turns not yet terminal (or not yet created), by turn id."""

    def observe(self, start: int, line: RolloutLine) -> None:
        """Project one line the ordinal filter accepted (``start``: its position)."""
        if line.type != EVENT_MSG or line.event_type not in PROJECTED:
            return
        ordinal = line.ordinal
        assert ordinal is not None
        parsed = parse_item(line)
        if isinstance(parsed, TaskStarted):
            self._write(parsed.turn_id, IN_PROGRESS, ordinal, starting=True)
        elif isinstance(parsed, TaskComplete):
            try:
                error = task_error(parsed)
            except InvalidTurnError:
                return
            self._write(parsed.turn_id, "completed" if error is None else "failed", ordinal)
        elif isinstance(parsed, TurnAborted):
            if parsed.turn_id is not None:
                self._write(parsed.turn_id, "interrupted", ordinal)
        elif isinstance(parsed, ItemCompleted):
            item = item_of(parsed)
            if item is not None:
                self._item(parsed.turn_id, item, start, ordinal)

    # -- turns ------------------------------------------------------------------------------------

    def _write(self, turn_id: str, status: str, ordinal: int, *, starting: bool = False) -> None:
        index = self.turn_index.get(turn_id)
        if index is None:
            index = len(self.ordinals)
            self.turn_index[turn_id] = index
            self.ordinals.append(ordinal)
            self.status.append(status)
            self.first_user.append(None)
            self.final_agent.append(None)
        elif self.status[index] != IN_PROGRESS:
            return  # lifecycle events on a finished turn are ignored
        elif not starting:
            self.status[index] = status
        self._refresh(index, turn_id)
        if self.status[index] != IN_PROGRESS:
            self.live.pop(turn_id, None)

    def _refresh(self, index: int, turn_id: str) -> None:
        infos = self.live.get(turn_id)
        if not infos:
            return
        if self.first_user[index] is None:
            users = [(s.ordinal, i) for i, s in infos.items() if s.kind == USER]
            if users:
                self.first_user[index] = min(users)[1]
        finals = [
            (s.ordinal, i) for i, s in infos.items() if s.kind == AGENT and s.phase == FINAL_ANSWER
        ]
        if finals:
            self.final_agent[index] = max(finals)[1]
        elif self.status[index] != IN_PROGRESS:
            plain = [
                (s.ordinal, i) for i, s in infos.items() if s.kind == AGENT and s.phase is None
            ]
            if plain:
                self.final_agent[index] = max(plain)[1]

    # -- items ------------------------------------------------------------------------------------

    def _item(self, turn_id: str, item: dict[str, Any], start: int, ordinal: int) -> None:
        item_id = item["id"]
        key = (turn_id, item_id)
        position = self.item_keys.get(key)
        if position is None:
            position = len(self.items)
            self.item_keys[key] = position
            self.items.append(ItemEntry(turn_id, item_id, ordinal, [start]))
            self.turn_items.setdefault(turn_id, []).append(position)
        else:
            self.items[position].starts.append(start)
        index = self.turn_index.get(turn_id)
        if index is not None and self.status[index] != IN_PROGRESS:
            return
        kind = item.get("type")
        if kind in (USER, AGENT):
            created = self.items[position].ordinal
            phase = item.get("phase") if kind == AGENT else None
            self.live.setdefault(turn_id, {})[item_id] = SummaryInfo(created, kind, phase)
        if index is not None:
            self._refresh(index, turn_id)

    def summary_ids(self, index: int) -> tuple[str | None, str | None]:
        return self.first_user[index], self.final_agent[index]


def merge_item_lines(lines: list[RolloutLine]) -> dict[str, Any] | None:
    """An item as its ``item_completed`` lines leave it (later ones replace it, keeping the
    first non-null times), exactly as the paginated reducer upserts it."""
    merged: list[dict[str, Any]] = []
    for line in lines:
        found = parsed_item_line(line)
        if found is not None:
            upsert_item(merged, found[1], keep_times=True)
    return merged[0] if merged else None

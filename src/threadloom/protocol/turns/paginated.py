"""Paginated threads: turns projected from lifecycle events and ``item_completed`` (6.9).

What Codex 0.169.0 shows for a paginated thread (served from its projection database) was
observed on hand-written rollouts after ``thread/resume`` projected them:

* turns exist only through ``task_started`` / ``task_complete`` / ``turn_aborted`` (with a
  ``turn_id``), in the order they first appear; a completion or abort naming an unknown turn
  creates it; ``user_message`` / ``agent_message`` events, rollback markers and ``compacted``
  lines are ignored (no implicit turns);
* ``task_started`` on an open turn only moves its ``startedAt``; every lifecycle event on a
  finished turn (completed, failed, interrupted) is ignored;
* a completion or abort sets ``startedAt``, ``completedAt`` and ``durationMs`` from its own
  members (null when absent), and ``rootTurnId`` only when it creates the turn;
* items come from ``item_completed`` events, in first-appearance order per turn, keyed by
  (turn id, item id): a repeated id replaces the item in place and keeps the first non-null
  ``startedAtMs`` / ``completedAtMs``; items may arrive for a finished turn or before the turn
  starts; items of a turn that never appears are not shown.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from threadloom.protocol.events import ItemCompleted, TaskComplete, TaskStarted, TurnAborted
from threadloom.protocol.items import ParsedItem, parse_item
from threadloom.protocol.rollout import EVENT_MSG, RolloutLine
from threadloom.protocol.turns.errors import InvalidTurnError
from threadloom.protocol.turns.items import InvalidItem
from threadloom.protocol.turns.loading import UNPARSED, Unparsed, task_error
from threadloom.protocol.turns.machine import Machine, Where
from threadloom.protocol.turns.state import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    INTERRUPTED,
    Turn,
    upsert_item,
)
from threadloom.protocol.turns.turn_items import from_turn_item

LIFECYCLE = frozenset({"task_started", "turn_started", "task_complete", "turn_complete"})
PROJECTED = LIFECYCLE | {"turn_aborted", "item_completed"}


def _opt(value: Any) -> Any:
    return None if value is UNSET else value


class PaginatedMachine(Machine):
    """The open turn is the newest one while it is in progress; all others are finished."""

    track_items = False

    def handle(self, line: RolloutLine, parsed: ParsedItem | Unparsed | None = UNPARSED) -> None:
        """Reduce one line (it parses the few events it projects itself: ``parsed`` is the
        legacy replay's value, which drops some of them)."""
        if line.type != EVENT_MSG or line.event_type not in PROJECTED:
            return
        parsed = parse_item(line)
        if isinstance(parsed, TaskStarted):
            self.task_started(parsed)
        elif isinstance(parsed, TaskComplete):
            try:
                error = task_error(parsed)
            except InvalidTurnError:
                return
            self.terminal(parsed, COMPLETED if error is None else FAILED, error)
        elif isinstance(parsed, TurnAborted):
            if parsed.turn_id is not None:
                self.terminal(parsed, INTERRUPTED, None)
        elif isinstance(parsed, ItemCompleted):
            self.item_completed(parsed)

    def find(self, turn_id: str) -> Where | None:
        current = self.s.current
        if current is not None and current.id == turn_id:
            return ("current", 0)
        return self.find_finished(turn_id)

    def status_of(self, where: Where) -> str:
        kind, position = where
        if kind == "current":
            assert self.s.current is not None
            return self.s.current.status
        if kind == "held":
            return self.s.held[position].status
        return self.records[position].status

    def push(self, turn: Turn) -> None:
        """Add a new turn (after every existing one)."""
        turn.items = self.s.pending.pop(turn.id, [])
        if self.s.current is not None:
            self.s.held.append(self.s.current)
            self.s.current = None
        if turn.status == IN_PROGRESS:
            self.s.current = turn
        else:
            self.s.held.append(turn)
        self.release_extra()

    def task_started(self, event: TaskStarted) -> None:
        where = self.find(event.turn_id)
        started = _opt(event.started_at)
        if where is None:
            root = _opt(event.root_turn_id)
            turn = Turn(id=event.turn_id, status=IN_PROGRESS, started_at=started, explicit=True)
            turn.root_turn_id = root
            self.push(turn)
        elif self.status_of(where) == IN_PROGRESS:
            self.change(where, {"startedAt": started})

    def terminal(self, event: TaskComplete | TurnAborted, status: str, error: Any) -> None:
        assert event.turn_id is not None
        changes: dict[str, Any] = {
            "status": status,
            "error": error,
            "startedAt": _opt(event.started_at),
            "completedAt": _opt(event.completed_at),
            "durationMs": _opt(event.duration_ms),
        }
        where = self.find(event.turn_id)
        if where is None:
            turn = Turn(id=event.turn_id, explicit=True, root_turn_id=_opt(event.root_turn_id))
            _apply(turn, changes)
            self.push(turn)
        elif self.status_of(where) == IN_PROGRESS:
            self.change(where, changes)
            if where[0] == "current":
                assert self.s.current is not None
                self.s.held.append(self.s.current)
                self.s.current = None
                self.release_extra()

    def change(self, where: Where, changes: dict[str, Any]) -> None:
        kind, position = where
        if kind == "current":
            assert self.s.current is not None
            _apply(self.s.current, changes)
        elif kind == "held":
            _apply(self.s.held[position], changes)
        else:
            if "status" in changes:
                self.records[position].status = changes["status"]
            self.amend(position, changes)

    def item_completed(self, event: ItemCompleted) -> None:
        raw = event.raw.get("item") if isinstance(event.raw, dict) else None
        try:
            item = from_turn_item(raw, _opt(event.started_at_ms), _completed_ms(event))
        except InvalidItem:
            return
        if item is None:
            return
        where = self.find(event.turn_id)
        if where is None:
            pending = self.s.pending.setdefault(event.turn_id, [])
            upsert_item(pending, item, keep_times=True)
        elif where[0] == "current":
            assert self.s.current is not None
            upsert_item(self.s.current.items, item, keep_times=True)
        else:
            self.upsert_at(where, item, keep_times=True)

    def finish(self, *, loaded: bool) -> None:
        if self.s.current is not None:
            self.s.held.append(self.s.current)
            self.s.current = None
        if not loaded:
            self.interrupt_open_turns()
        self.release_all()
        self.s.pending.clear()


def _completed_ms(event: ItemCompleted) -> int | None:
    raw = event.raw
    if isinstance(raw, dict) and raw.get("completed_at_ms") is None:
        return None
    return event.completed_at_ms


def _apply(turn: Turn, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if key == "status":
            turn.status = value
        elif key == "error":
            turn.error = value
        elif key == "startedAt":
            turn.started_at = value
        elif key == "completedAt":
            turn.completed_at = value
        elif key == "durationMs":
            turn.duration_ms = value

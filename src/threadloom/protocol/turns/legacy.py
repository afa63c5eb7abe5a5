"""Legacy replay: Codex 0.169.0's event-to-turn reducer (app-server-threads 6.2-6.8)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from threadloom.protocol.events import (
    AgentMessageEvent,
    AgentReasoningEvent,
    AgentReasoningRawContentEvent,
    ContextCompacted,
    EnteredReviewMode,
    ExitedReviewMode,
    ImageGenerationEnd,
    ItemCompleted,
    McpToolCallEnd,
    PatchApplyEnd,
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    TurnAborted,
    TurnPlan,
    UserMessageEvent,
    WebSearchEnd,
)
from threadloom.protocol.items import Compacted, InputText, Message, ParsedItem
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.turns import items as build
from threadloom.protocol.turns.hooks import parse_hook_prompt
from threadloom.protocol.turns.loading import UNPARSED, Unparsed, load_line, task_error
from threadloom.protocol.turns.machine import Machine, Where
from threadloom.protocol.turns.state import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    INTERRUPTED,
    Turn,
    TurnsDropped,
    upsert_item,
)


def _opt(value: Any) -> Any:
    return None if value is UNSET else value


class LegacyMachine(Machine):
    """Replays the kept lines of a legacy rollout; see ``ThreadHistoryState`` in Codex."""

    def handle(self, line: RolloutLine, parsed: ParsedItem | Unparsed | None = UNPARSED) -> None:
        """Replay one line (``parsed``: its ``load_line`` value, when the caller has it)."""
        if isinstance(parsed, Unparsed):
            parsed = load_line(line)
        if parsed is None:
            return
        index = self.s.next_index
        self.s.next_index += 1
        if isinstance(parsed, UserMessageEvent):
            self.user_message(parsed, index)
        elif isinstance(parsed, AgentMessageEvent):
            if parsed.message:
                turn = self.ensure(index)
                item_id = self.next_id(turn)
                turn.items.append(build.agent_message(item_id, parsed.message, parsed.phase))
        elif isinstance(parsed, AgentReasoningEvent | AgentReasoningRawContentEvent):
            self.reasoning(parsed, index)
        elif isinstance(parsed, TaskStarted):
            self.finish_current()
            self.s.current = Turn(
                id=parsed.turn_id,
                status=IN_PROGRESS,
                started_at=_opt(parsed.started_at),
                root_turn_id=_opt(parsed.root_turn_id),
                explicit=True,
            )
        elif isinstance(parsed, TaskComplete):
            self.task_complete(parsed)
        elif isinstance(parsed, TurnAborted):
            self.turn_aborted(parsed)
        elif isinstance(parsed, ThreadRolledBack):
            self.rollback(parsed.num_turns)
        elif isinstance(parsed, Compacted):
            self.ensure(index).compaction = True
        else:
            self.item_event(parsed, index)

    # -- turns ------------------------------------------------------------------------------------

    def ensure(self, index: int) -> Turn:
        """The open turn, or a new implicit one named after this line's rollout index."""
        if self.s.current is None:
            self.s.current = Turn(id=f"rollout-{index}")
        return self.s.current

    def next_id(self, turn: Turn) -> str:
        number = self.s.next_item
        self.s.next_item += 1
        if turn.first_item == 0:
            turn.first_item = number
        turn.last_item = number
        return f"item-{number}"

    def finish_current(self, *, release: bool = True) -> None:
        turn = self.s.current
        self.s.current = None
        if turn is None or not (turn.items or turn.explicit or turn.compaction):
            return
        self.s.held.append(turn)
        if release:
            self.release_extra()

    def user_message(self, event: UserMessageEvent, index: int) -> None:
        current = self.s.current
        if (
            current is not None
            and not current.explicit
            and not (current.compaction and not current.items)
        ):
            self.finish_current()
        turn = self.ensure(index)
        turn.items.append(build.user_message(self.next_id(turn), event))

    def reasoning(
        self, event: AgentReasoningEvent | AgentReasoningRawContentEvent, index: int
    ) -> None:
        if not event.text:
            return
        key = "summary" if isinstance(event, AgentReasoningEvent) else "content"
        turn = self.ensure(index)
        if turn.items and turn.items[-1]["type"] == "reasoning":
            turn.items[-1][key].append(event.text)
            return
        texts = ([event.text], []) if key == "summary" else ([], [event.text])
        turn.items.append(build.reasoning(self.next_id(turn), *texts))

    # -- lifecycle ------------------------------------------------------------------------------

    def task_complete(self, event: TaskComplete) -> None:
        error = task_error(event)  # readable: load_line checked it
        current = self.s.current
        if current is not None and current.id == event.turn_id:
            self.complete(current, event, error)
            self.finish_current()
            return
        where = self.find_finished(event.turn_id)
        if where is not None:
            self.lifecycle_at(where, self.completion(event, error))
        elif current is not None:
            self.complete(current, event, error)
            self.finish_current()

    @staticmethod
    def completion(event: TaskComplete, error: dict[str, Any] | None) -> dict[str, Any]:
        """The members a ``task_complete`` sets (``status`` decided against the old one)."""
        changes: dict[str, Any] = {
            "completedAt": _opt(event.completed_at),
            "durationMs": _opt(event.duration_ms),
        }
        if error is not None:
            changes["status"] = FAILED
            changes["error"] = error
        else:
            changes["status"] = COMPLETED
        return changes

    def complete(self, turn: Turn, event: TaskComplete, error: dict[str, Any] | None) -> None:
        self.apply_lifecycle(turn, self.completion(event, error))

    @staticmethod
    def apply_lifecycle(turn: Turn, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply to a held turn; returns the members that apply (status rules included)."""
        changes = dict(changes)
        if changes.get("status") == COMPLETED and turn.status not in (IN_PROGRESS, COMPLETED):
            del changes["status"]
        turn.completed_at = changes["completedAt"]
        turn.duration_ms = changes["durationMs"]
        if "status" in changes:
            turn.status = changes["status"]
        if "error" in changes:
            turn.error = changes["error"]
        return changes

    def lifecycle_at(self, where: Where, changes: dict[str, Any]) -> None:
        kind, position = where
        if kind == "held":
            self.apply_lifecycle(self.s.held[position], changes)
            return
        record = self.records[position]
        changes = dict(changes)
        if changes.get("status") == COMPLETED and record.status not in (IN_PROGRESS, COMPLETED):
            del changes["status"]
        if "status" in changes:
            record.status = changes["status"]
        self.amend(position, changes)

    def turn_aborted(self, event: TurnAborted) -> None:
        """Interrupt the named turn (else the open one). Observed on 0.169.0: an abort naming
        the open turn, or naming none, also finishes it (what follows opens a new turn); the
        open turn interrupted for want of a known id stays open."""
        changes = {
            "status": INTERRUPTED,
            "completedAt": _opt(event.completed_at),
            "durationMs": _opt(event.duration_ms),
        }
        current = self.s.current
        if event.turn_id is not None:
            if current is not None and current.id == event.turn_id:
                self.apply_lifecycle(current, changes)
                self.finish_current()
                return
            where = self.find_finished(event.turn_id)
            if where is not None:
                self.lifecycle_at(where, changes)
                return
        if current is not None:
            self.apply_lifecycle(current, changes)
            if event.turn_id is None:
                self.finish_current()

    def rollback(self, count: int) -> None:
        """Drop the last ``count`` finished turns (the open one is finished first)."""
        self.finish_current(release=False)
        held = self.s.held
        from_held = min(count, len(held))
        del held[len(held) - from_held :]
        dropped = self.drop_released(count - from_held)
        if dropped:
            self.events.append(TurnsDropped(dropped))
        remaining = self.s.released_items + sum(len(turn.items) for turn in held)
        self.s.next_item = remaining + 1
        self.release_extra()

    # -- items ------------------------------------------------------------------------------------

    def item_event(self, parsed: object, index: int) -> None:
        if isinstance(parsed, ContextCompacted):
            turn = self.ensure(index)
            turn.items.append(build.simple("contextCompaction", self.next_id(turn)))
        elif isinstance(parsed, EnteredReviewMode):
            turn = self.ensure(index)
            turn.items.append(build.entered_review(self.next_id(turn), parsed))
        elif isinstance(parsed, ExitedReviewMode):
            turn = self.ensure(index)
            turn.items.append(build.exited_review(self.next_id(turn), parsed))
        elif isinstance(parsed, McpToolCallEnd):
            upsert_item(self.ensure(index).items, build.mcp_tool_call(parsed), keep_times=False)
        elif isinstance(parsed, WebSearchEnd):
            upsert_item(self.ensure(index).items, build.web_search(parsed), keep_times=False)
        elif isinstance(parsed, ImageGenerationEnd):
            item = build.image_generation_end(parsed)
            upsert_item(self.ensure(index).items, item, keep_times=False)
        elif isinstance(parsed, PatchApplyEnd):
            item = build.file_change(parsed.call_id, parsed.changes, parsed.status)
            if parsed.turn_id:
                self.upsert_in_turn(parsed.turn_id, item)
            else:
                upsert_item(self.ensure(index).items, item, keep_times=False)
        elif isinstance(parsed, ItemCompleted):
            plan = parsed.item
            if isinstance(plan, TurnPlan) and plan.text:
                item = build.simple("plan", plan.id, text=plan.text)
                self.upsert_in_turn(parsed.turn_id, item)
        elif isinstance(parsed, Message):
            self.hook_prompt(parsed, index)

    def upsert_in_turn(self, turn_id: str, item: dict[str, Any]) -> None:
        """Upsert into the turn with this id; dropped when no turn has it."""
        current = self.s.current
        if current is not None and current.id == turn_id:
            upsert_item(current.items, item, keep_times=False)
            return
        where = self.find_finished(turn_id)
        if where is not None:
            self.upsert_at(where, item, keep_times=False)

    def hook_prompt(self, message: Message, index: int) -> None:
        if message.role != "user" or not message.content:
            return
        texts = [c.text for c in message.content if isinstance(c, InputText)]
        if len(texts) != len(message.content):
            return
        fragments = parse_hook_prompt(texts)
        if fragments is None:
            return
        item_id = _opt(message.id)
        if item_id is None:
            item_id = self.new_id()
        self.ensure(index).items.append(build.hook_prompt(item_id, fragments))

    # -- end --------------------------------------------------------------------------------------

    def finish(self, *, loaded: bool) -> None:
        self.finish_current(release=False)
        if not loaded:
            self.interrupt_open_turns()
        self.release_all()

"""Realistic Codex 0.169.0 turns as ``RolloutLine`` lists, ready for ``LiveThread.append``.

What a live Codex 0.169.0 thread writes for one model turn was observed by running the binary
against a loopback mock model (``tests/compat/test_live_compat.py``); the payloads here have the
same members in the same order. A legacy turn::

    task_started, [<environment_context> message, turn_context, thread_settings_applied]
    (first turn) or turn_context, user response_item, user_message,
    agent_reasoning, reasoning, function_call, token_usage_record, function_call_output,
    token_count                                        (one model response per tool call)
    agent_message, assistant response_item, token_usage_record, token_count
    task_complete | <turn_aborted> developer message, turn_aborted

A paginated turn replaces the ``user_message`` / ``agent_reasoning`` / ``agent_message`` events
with ``item_completed`` events (``UserMessage`` after the user's response item, ``Reasoning``
and ``AgentMessage`` before the model's); the store gives the lines their ordinals.

Everything is deterministic: ids come from a ``random.Random`` seeded with the thread id and
times from the writer's own clock (``start_ms``, advanced by ``step_ms`` per line).

Typical use::

    writer = TurnWriter(thread_id, cwd="/home/user/project", start_ms=now_ms)
    lines = writer.turn(Turn(user="fix the test", agent="Done.", usage=(Usage(1200, 80),)))
    await live.append(lines)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import (
    EVENT_MSG,
    RESPONSE_ITEM,
    TURN_CONTEXT,
    HistoryMode,
    RolloutLine,
)
from threadloom.testing.fake_rollouts import uuid7

DEFAULT_MODEL = "gpt-6.1-sol"
"""The model Codex 0.169.0 configures when ``config.toml`` names none."""
CONTEXT_WINDOW = 258400
TOKEN_USAGE_RECORD = "token_usage_record"
TURN_ABORTED_TEXT = (
    "<turn_aborted>\nThe previous turn was interrupted on purpose. Any running unified exec "
    "processes may still be running in the background. If any tools/commands were aborted, "
    "they may have partially executed.\n</turn_aborted>"
)
"""The developer message Codex writes before ``turn_aborted``."""


def read_only_profile() -> dict[str, Any]:
    """The permission profile of Codex's default read-only sandbox (a fresh copy)."""
    return {
        "type": "managed",
        "file_system": {
            "type": "restricted",
            "entries": [{"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"}],
        },
        "network": "restricted",
    }


NO_RATE_LIMITS: dict[str, Any] = {
    "limit_id": "codex",
    "limit_name": None,
    "primary": None,
    "secondary": None,
    "credits": None,
    "individual_limit": None,
    "spend_control_reached": None,
    "plan_type": None,
    "rate_limit_reached_type": None,
}
"""``token_count.rate_limits`` when the provider reports no limits."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one model response."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_output_tokens + other.reasoning_output_tokens,
        )

    def to_payload(self) -> dict[str, int]:
        """The usage object of ``token_count`` and ``token_usage_record``, in Codex's order."""
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_input_tokens": 0,
            "output_tokens": self.output_tokens,
            "reasoning_output_tokens": self.reasoning_output_tokens,
            "total_tokens": self.total_tokens,
        }


ZERO_USAGE = Usage(0, 0)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One ``function_call`` the model makes and the ``function_call_output`` it gets."""

    name: str
    arguments: str
    """The call's arguments as a JSON *string*, as the Responses API sends them."""
    output: str
    call_id: str


@dataclass(frozen=True, slots=True)
class Turn:
    """One user turn: the user's text and what the model did with it.

    The model answers in ``len(tool_calls) + 1`` responses: one per tool call (the first also
    carries the reasoning), then the final answer (carrying the reasoning when there is no tool
    call). ``usage`` gives each response's tokens (empty: no token counts are written).
    """

    user: str
    agent: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: tuple[Usage, ...] = ()
    interrupted: bool = False
    """End with ``turn_aborted`` (reason ``interrupted``) instead of ``task_complete``."""
    turn_id: str | None = None
    """None: a fresh UUIDv7 from the writer."""
    reasoning_id: str | None = None
    message_id: str | None = None
    """Provider ids of the reasoning item and the answer (None: ``rs_…`` / ``msg_…`` ids)."""

    @property
    def answered(self) -> bool:
        """Does a final model response follow the tool calls (an answer, or lone reasoning)?"""
        return self.agent is not None or (self.reasoning is not None and not self.tool_calls)

    @property
    def responses(self) -> int:
        """How many model responses the turn holds."""
        return len(self.tool_calls) + int(self.answered)


@dataclass(slots=True)
class TurnWriter:
    """Writes the lines of successive turns of one thread, keeping its clock and token totals.

    ``history_mode`` picks the legacy (events) or paginated (``item_completed``) form; the
    writer's first turn also carries the model context Codex writes before a thread's first
    message. ``seed`` (default: the thread id) seeds the ids.
    """

    thread_id: str
    cwd: str = "/home/user/project"
    start_ms: int = 1_740_823_200_000
    """The clock before the first line (2025-03-01T10:00:00Z by default)."""
    history_mode: HistoryMode = HistoryMode.LEGACY
    model: str = DEFAULT_MODEL
    model_provider: str = "openai"
    step_ms: int = 7
    seed: int | str | None = None
    rng: random.Random = field(init=False)
    now_ms: int = field(init=False)
    """The time of the last line written."""
    totals: Usage = ZERO_USAGE
    """The thread's token usage so far (when continuing a thread: that of its earlier turns)."""
    turn_totals: Usage = field(init=False, default=ZERO_USAGE)
    """The current turn's token usage so far."""
    last_usage: Usage | None = field(init=False, default=None)
    turn_ids: list[str] = field(init=False, default_factory=list)
    """The ids of the turns started so far."""
    current_turn_id: str = field(init=False, default="")
    _turn_started_ms: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.thread_id if self.seed is None else self.seed)
        self.now_ms = self.start_ms

    @property
    def paginated(self) -> bool:
        return self.history_mode == HistoryMode.PAGINATED

    @property
    def total_tokens(self) -> int:
        """``total_tokens`` of the last ``token_count`` written (0 before any)."""
        return self.totals.total_tokens

    # --- whole turns ------------------------------------------------------------------------
    def turn(self, turn: Turn, *, context: bool | None = None) -> list[RolloutLine]:
        """Every line of ``turn``, in the order Codex writes them.

        ``context``: write the first-turn model context (environment context, settings);
        None: only on this writer's first turn.
        """
        if turn.usage and len(turn.usage) != turn.responses:
            raise ValueError(f"usage needs one entry per model response ({turn.responses})")
        first = not self.turn_ids if context is None else context
        out = [self.task_started(turn.turn_id)]
        if first:
            out.append(self.environment_context())
        out.append(self.turn_context())
        if first:
            out.append(self.thread_settings_applied())
        out.extend(self.user_message(turn.user))
        usage = iter(turn.usage)
        for index, call in enumerate(turn.tool_calls):
            if index == 0 and turn.reasoning is not None:
                out.extend(self.reasoning(turn.reasoning, turn.reasoning_id))
            out.append(self.function_call(call))
            used = next(usage, None)
            if used is not None:
                out.append(self.token_usage_record(used))
            out.append(self.function_call_output(call))
            if used is not None:
                out.append(self.token_count(used))
        if turn.answered:
            if turn.reasoning is not None and not turn.tool_calls:
                out.extend(self.reasoning(turn.reasoning, turn.reasoning_id))
            if turn.agent is not None:
                out.extend(self.agent_message(turn.agent, turn.message_id))
            used = next(usage, None)
            if used is not None:
                out.append(self.token_usage_record(used))
                out.append(self.token_count(used))
        if turn.interrupted:
            out.extend(self.interrupt())
        else:
            out.append(self.task_complete(turn.agent))
        return out

    def turns(self, turns: list[Turn]) -> list[RolloutLine]:
        """The lines of several turns, one after the other."""
        return [line for turn in turns for line in self.turn(turn)]

    # --- pieces -----------------------------------------------------------------------------
    def _line(self, kind: str, payload: dict[str, Any]) -> RolloutLine:
        self.now_ms += self.step_ms
        return RolloutLine(timestamp=format_timestamp(self.now_ms), type=kind, payload=payload)

    def _event(self, payload: dict[str, Any]) -> RolloutLine:
        return self._line(EVENT_MSG, payload)

    def new_id(self, prefix: str = "") -> str:
        """A deterministic UUIDv7 at the writer's clock, optionally ``<prefix>_…``."""
        value = uuid7(self.now_ms, self.rng)
        return f"{prefix}_{value}" if prefix else value

    def _passthrough(self, **extra: Any) -> dict[str, Any]:
        return {"turn_id": self.current_turn_id, **extra}

    def task_started(self, turn_id: str | None = None) -> RolloutLine:
        """Open a turn (its id is recorded in ``turn_ids``)."""
        turn_id = turn_id or self.new_id()
        self.current_turn_id = turn_id
        self.turn_ids.append(turn_id)
        self.turn_totals = ZERO_USAGE
        self._turn_started_ms = self.now_ms + self.step_ms
        return self._event(
            {
                "type": "task_started",
                "turn_attribution": {
                    "turn_id": turn_id,
                    "turn_trigger": None,
                    "parent_turn_id": None,
                    "initiating_agent_path": None,
                    "root_turn_id": turn_id,
                },
                "turn_id": turn_id,
                "root_turn_id": turn_id,
                "started_at": self._turn_started_ms // 1000,
                "model_context_window": CONTEXT_WINDOW,
                "collaboration_mode_kind": "default",
            }
        )

    def _collaboration_mode(self) -> dict[str, Any]:
        return {
            "mode": "default",
            "settings": {
                "model": self.model,
                "reasoning_effort": None,
                "developer_instructions": None,
            },
        }

    def environment_context(self) -> RolloutLine:
        """The ``<environment_context>`` user message (model context, never a preview)."""
        date = datetime.fromtimestamp(self.now_ms / 1000, UTC).date().isoformat()
        text = (
            f"<environment_context>\n  <cwd>{self.cwd}</cwd>\n  <shell>bash</shell>\n"
            f"  <current_date>{date}</current_date>\n  <timezone>Etc/UTC</timezone>\n"
            f"  <filesystem><workspace_roots><root>{self.cwd}</root></workspace_roots>"
            '<permission_profile type="managed"><file_system type="restricted">'
            '<entry access="read"><special>:root</special></entry></file_system>'
            "</permission_profile></filesystem>\n</environment_context>"
        )
        return self._line(
            RESPONSE_ITEM,
            {
                "type": "message",
                "id": self.new_id("msg"),
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
                "internal_chat_message_metadata_passthrough": self._passthrough(
                    create_time=self.now_ms / 1000,
                    content_item_kinds=["environments.environment_context"],
                    content_item_metadata=[{"provenance": {"type": "harness", "hook": False}}],
                ),
            },
        )

    def turn_context(self) -> RolloutLine:
        """The turn's ``turn_context`` (Codex's default read-only sandbox)."""
        return self._line(
            TURN_CONTEXT,
            {
                "turn_id": self.current_turn_id,
                "root_turn_id": self.current_turn_id,
                "disabled_plugin_ids": [],
                "cwd": self.cwd,
                "approval_policy": "on-request",
                "approvals_reviewer": "user",
                "permission_profile": read_only_profile(),
                "active_permission_profile": {"id": ":read-only"},
                "model": self.model,
                "comp_hash": "3000",
                "collaboration_mode": self._collaboration_mode(),
                "multi_agent_version": "v2",
                "realtime_active": False,
                "summary": "none",
                "sandbox_policy": {"type": "read-only"},
            },
        )

    def thread_settings_applied(self) -> RolloutLine:
        """The settings event Codex writes when it loads or configures a thread."""
        return self._event(
            {
                "type": "thread_settings_applied",
                "thread_id": self.thread_id,
                "thread_settings": {
                    "model": self.model,
                    "model_provider_id": self.model_provider,
                    "approval_policy": "on-request",
                    "approvals_reviewer": "user",
                    "requested_approvals_reviewer": "user",
                    "permission_profile": read_only_profile(),
                    "active_permission_profile": {"id": ":read-only"},
                    "cwd": self.cwd,
                    "runtime_workspace_roots": [self.cwd],
                    "collaboration_mode": self._collaboration_mode(),
                    "disabled_plugin_ids": [],
                },
            }
        )

    def _item_completed(self, item: dict[str, Any]) -> RolloutLine:
        ms = self.now_ms + self.step_ms
        return self._event(
            {
                "type": "item_completed",
                "thread_id": self.thread_id,
                "turn_id": self.current_turn_id,
                "item": item,
                "started_at_ms": ms,
                "completed_at_ms": ms,
            }
        )

    def user_message(self, text: str) -> list[RolloutLine]:
        """The user's response item, then ``user_message`` (legacy) or ``UserMessage``."""
        item = self._line(
            RESPONSE_ITEM,
            {
                "type": "message",
                "id": self.new_id("msg"),
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
                "internal_chat_message_metadata_passthrough": self._passthrough(
                    create_time=self.now_ms / 1000,
                    content_item_kinds=["user.text"],
                    content_item_metadata=[{"provenance": {"type": "user"}}],
                ),
            },
        )
        if self.paginated:
            content = [{"type": "text", "text": text, "text_elements": []}]
            event = self._item_completed(
                {"type": "UserMessage", "id": self.new_id(), "content": content}
            )
        else:
            event = self._event(
                {
                    "type": "user_message",
                    "message": text,
                    "images": [],
                    "local_images": [],
                    "audio": [],
                    "local_audio": [],
                    "text_elements": [],
                }
            )
        return [item, event]

    def reasoning(self, summary: str, reasoning_id: str | None = None) -> list[RolloutLine]:
        """``agent_reasoning`` (legacy) or ``Reasoning`` (paginated), then the reasoning item."""
        reasoning_id = reasoning_id or self.new_id("rs")
        if self.paginated:
            item = {"type": "Reasoning", "id": reasoning_id, "summary_text": [summary]}
            event = self._item_completed({**item, "raw_content": []})
        else:
            event = self._event({"type": "agent_reasoning", "text": summary})
        blob = f"{self.rng.getrandbits(192):048x}"
        response = self._line(
            RESPONSE_ITEM,
            {
                "type": "reasoning",
                "id": reasoning_id,
                "summary": [{"type": "summary_text", "text": summary}],
                "content": None,
                "encrypted_content": "gAAAAB" + blob,
                "internal_chat_message_metadata_passthrough": self._passthrough(),
            },
        )
        return [event, response]

    def function_call(self, call: ToolCall) -> RolloutLine:
        return self._line(
            RESPONSE_ITEM,
            {
                "type": "function_call",
                "id": self.new_id("fc"),
                "name": call.name,
                "arguments": call.arguments,
                "call_id": call.call_id,
                "internal_chat_message_metadata_passthrough": self._passthrough(),
            },
        )

    def function_call_output(self, call: ToolCall) -> RolloutLine:
        return self._line(
            RESPONSE_ITEM,
            {
                "type": "function_call_output",
                "id": self.new_id("fco"),
                "call_id": call.call_id,
                "output": call.output,
                "internal_chat_message_metadata_passthrough": self._passthrough(
                    create_time=self.now_ms / 1000
                ),
            },
        )

    def agent_message(self, text: str, message_id: str | None = None) -> list[RolloutLine]:
        """``agent_message`` (legacy) or ``AgentMessage`` (paginated), then the answer item."""
        message_id = message_id or self.new_id("msg")
        if self.paginated:
            event = self._item_completed(
                {
                    "type": "AgentMessage",
                    "id": message_id,
                    "content": [{"type": "Text", "text": text}],
                    "phase": "final_answer",
                }
            )
        else:
            event = self._event(
                {
                    "type": "agent_message",
                    "message": text,
                    "phase": "final_answer",
                    "memory_citation": None,
                }
            )
        response = self._line(
            RESPONSE_ITEM,
            {
                "type": "message",
                "id": message_id,
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
                "phase": "final_answer",
                "internal_chat_message_metadata_passthrough": self._passthrough(
                    content_item_kinds=["unknown"]
                ),
            },
        )
        return [event, response]

    def token_usage_record(self, usage: Usage) -> RolloutLine:
        """The per-response usage record (turn and thread totals include ``usage``)."""
        turn_total = self.turn_totals + usage
        thread_total = self.totals + usage
        return self._line(
            TOKEN_USAGE_RECORD,
            {
                "thread_id": self.thread_id,
                "turn_id": self.current_turn_id,
                "session_id": self.thread_id,
                "root_turn_id": self.current_turn_id,
                "response_id": f"resp_{self.rng.getrandbits(64):016x}",
                "usage": usage.to_payload(),
                "turn_token_usage": turn_total.to_payload(),
                "thread_token_usage": thread_total.to_payload(),
            },
        )

    def token_count(self, usage: Usage | None = None) -> RolloutLine:
        """A ``token_count`` adding ``usage`` (None: repeat the last counts, as an abort does)."""
        if usage is not None:
            self.totals = self.totals + usage
            self.turn_totals = self.turn_totals + usage
            self.last_usage = usage
        last = self.last_usage or ZERO_USAGE
        return self._event(
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": self.totals.to_payload(),
                    "last_token_usage": last.to_payload(),
                    "last_usage_includes_reasoning": True,
                    "model_context_window": CONTEXT_WINDOW,
                },
                "rate_limits": dict(NO_RATE_LIMITS),
            }
        )

    def _timing(self) -> dict[str, int]:
        end = self.now_ms + self.step_ms
        return {
            "started_at": self._turn_started_ms // 1000,
            "completed_at": end // 1000,
            "duration_ms": end - self._turn_started_ms,
        }

    def task_complete(self, last_agent_message: str | None) -> RolloutLine:
        return self._event(
            {
                "type": "task_complete",
                "root_turn_id": self.current_turn_id,
                "turn_id": self.current_turn_id,
                "last_agent_message": last_agent_message,
                **self._timing(),
                "time_to_first_token_ms": self.step_ms,
            }
        )

    def interrupt(self, *, repeat_token_count: bool = False) -> list[RolloutLine]:
        """An interruption: the ``<turn_aborted>`` notice, then ``turn_aborted``.

        ``repeat_token_count``: first the last token counts again, as Codex writes them when
        the interrupted model request had been running for a while (not when it is cut short
        at once).
        """
        out = []
        if repeat_token_count and self.last_usage is not None:
            out.append(self.token_count())
        out.append(
            self._line(
                RESPONSE_ITEM,
                {
                    "type": "message",
                    "id": self.new_id("msg"),
                    "role": "developer",
                    "content": [{"type": "input_text", "text": TURN_ABORTED_TEXT}],
                    "internal_chat_message_metadata_passthrough": self._passthrough(
                        create_time=self.now_ms / 1000,
                        content_item_kinds=["generic.turn_aborted"],
                        content_item_metadata=[{"provenance": {"type": "harness", "hook": False}}],
                    ),
                },
            )
        )
        out.append(
            self._event(
                {
                    "type": "turn_aborted",
                    "root_turn_id": self.current_turn_id,
                    "turn_id": self.current_turn_id,
                    "reason": "interrupted",
                    **self._timing(),
                }
            )
        )
        return out

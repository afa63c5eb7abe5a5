"""Typed ``event_msg`` payloads and turn items (rollout-format 8), plus the typed-payload base.

Every model here is a frozen msgspec struct whose fields are declared in the order Codex
0.169.0 writes them. Field defaults follow one rule that ``to_payload`` relies on:

* default ``UNSET``: Codex omits the member when it is absent *or null*;
* default ``None`` (or another value): Codex writes the member, with that value when absent.

A field typed ``Any`` (or a list or dict of it) holds JSON data as decoded, never a typed
value: ``to_payload`` copies it as plain data.

``items.py`` builds the response items and the line-level parser on top of this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import UnionType
from typing import (
    Any,
    ClassVar,
    Literal,
    Self,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import msgspec
from msgspec import UNSET, UnsetType

from threadloom.errors import InvalidThreadId
from threadloom.ids import parse_thread_id

T = TypeVar("T")
Opt: TypeAlias = T | UnsetType | None
"""A member Codex omits when absent or null (``skip_serializing_if = "Option::is_none"``)."""

RAW_FIELD = "__threadloom_raw__"
"""Wire name of the ``raw`` field; never written (``to_payload`` leaves it out)."""


class Shape(msgspec.Struct, frozen=True, kw_only=True):
    """A typed JSON object; ``to_payload`` gives Codex's serialisation of it."""

    def to_payload(self) -> dict[str, Any]:
        """Codex's canonical form: fields in write order, absent optionals omitted."""
        plan = _plan(type(self))
        if plan.flat:  # msgspec writes it in that order already; only nulls to drop
            value = msgspec.structs.replace(self, raw=UNSET) if plan.has_raw else self
            flat: dict[str, Any] = msgspec.to_builtins(value)
            for key in plan.null_omitted:
                if key in flat and flat[key] is None:
                    del flat[key]
            return flat
        config = self.__struct_config__
        out: dict[str, Any] = {}
        if config.tag_field is not None and isinstance(config.tag, str):
            out[config.tag_field] = config.tag
        for name, key, omit_null, convert in plan.steps:
            value = getattr(self, name)
            if value is UNSET or (value is None and omit_null):
                continue
            out[key] = value if convert is None else convert(value)
        return self._canonical(out)

    def _canonical(self, out: dict[str, Any]) -> dict[str, Any]:
        """Hook for Codex's serialisation rules that are more than field order and defaults."""
        return out


class Tagged(Shape, frozen=True, kw_only=True, tag_field="type"):
    """A struct told apart by its ``type`` member."""


class TypedPayload(Shape, frozen=True, kw_only=True):
    """A line payload: the typed fields plus ``raw``, the payload dict it was decoded from."""

    raw: Any = msgspec.field(default=UNSET, name=RAW_FIELD)
    """The payload exactly as decoded (unknown members included); ``UNSET`` when built here."""

    aliases: ClassVar[tuple[str, ...]] = ()
    """Other ``type`` values Codex accepts for this payload."""

    @classmethod
    def from_payload(cls, payload: Any) -> Self:
        """Decode and validate; raise ``msgspec.ValidationError`` when Codex would not accept it."""
        if not isinstance(payload, dict):
            raise msgspec.ValidationError("payload is not an object")
        value = cls._decode(cls._prepare(payload))
        problem = value._check()
        if problem is not None:
            raise msgspec.ValidationError(problem)
        return msgspec.structs.replace(value, raw=payload)

    @classmethod
    def _decode(cls, payload: dict[str, Any]) -> Self:
        return msgspec.convert(payload, cls)

    @classmethod
    def _prepare(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """Rewrite accepted old shapes (aliases, legacy members) before decoding."""
        tag = cls.__struct_config__.tag
        if cls.aliases and payload.get("type") in cls.aliases:
            return {**payload, "type": tag}
        return payload

    def _check(self) -> str | None:
        """Codex's extra acceptance rules; a message when the payload is refused."""
        return None


Step: TypeAlias = tuple[str, str, bool, Callable[[Any], Any] | None]
"""How ``to_payload`` writes one field: its name, its key, whether null is omitted, and how
its value is copied (None: as it is, a scalar)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How ``to_payload`` writes a class: field by field, or, for a *flat* class (no typed
    field, no ``_canonical`` rule), as ``msgspec.to_builtins`` does with nulls dropped."""

    steps: tuple[Step, ...]
    flat: bool
    has_raw: bool
    null_omitted: tuple[str, ...]


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[Shape]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = msgspec.structs.fields(cls)
        steps = tuple(
            (f.name, f.encode_name, f.default is UNSET, _COPIERS[_content(f.type)])
            for f in fields
            if f.encode_name != RAW_FIELD
        )
        flat = cls._canonical is Shape._canonical and all(s[3] is not dump for s in steps)
        has_raw = any(f.encode_name == RAW_FIELD for f in fields)
        plan = _Plan(steps, flat, has_raw, tuple(s[1] for s in steps if s[2]))
        _PLANS[cls] = plan
    return plan


def _content(tp: Any) -> int:
    """What a field of type ``tp`` can hold: scalars only, JSON data (``Any`` and containers
    of it, as decoded: no typed values inside), or typed values."""
    if tp is Any:
        return _JSON
    if isinstance(tp, type):
        return _SCALAR if issubclass(tp, _SCALARS) else _TYPED
    origin = get_origin(tp)
    if origin is Literal:
        return _SCALAR
    args = get_args(tp)
    if origin in (Union, UnionType):
        return max(map(_content, args))
    if origin in (list, dict) and args:
        return _TYPED if max(map(_content, args)) == _TYPED else _JSON
    return _TYPED


def dump(value: Any) -> Any:
    """Plain JSON data for a typed value (a fresh copy of lists and dicts)."""
    if isinstance(value, Shape):
        return value.to_payload()
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


_SCALAR, _JSON, _TYPED = 0, 1, 2
_SCALARS = (str, int, float, bool, type(None), msgspec.UnsetType)


def json_copy(value: Any) -> Any:
    """A fresh copy of JSON data (no typed values inside), made in C."""
    return msgspec.to_builtins(value)


_COPIERS: dict[int, Callable[[Any], Any] | None] = {
    _SCALAR: None,
    _JSON: json_copy,
    _TYPED: dump,
}


def uuid_problem(value: str, what: str) -> str | None:
    """None when ``value`` is a UUID Codex accepts as a thread id, else the reason."""
    try:
        parse_thread_id(value)
    except InvalidThreadId as exc:
        return f"{what}: {exc.message}"
    return None


# -- shared nested shapes ------------------------------------------------------------------------


class Duration(Shape, frozen=True, kw_only=True):
    """A Rust ``Duration`` as serde writes it."""

    secs: int
    nanos: int

    @property
    def ms(self) -> int:
        return self.secs * 1000 + self.nanos // 1_000_000


class ByteRange(Shape, frozen=True, kw_only=True):
    start: int
    end: int


class TextElement(Shape, frozen=True, kw_only=True):
    """A UI span inside a user message."""

    byte_range: ByteRange
    placeholder: str | None = None


class SearchAction(Tagged, frozen=True, kw_only=True, tag="search"):
    query: Opt[str] = UNSET
    queries: Opt[list[str]] = UNSET


class OpenPageAction(Tagged, frozen=True, kw_only=True, tag="open_page"):
    url: Opt[str] = UNSET


class FindInPageAction(Tagged, frozen=True, kw_only=True, tag="find_in_page"):
    url: Opt[str] = UNSET
    pattern: Opt[str] = UNSET


class OtherAction(Tagged, frozen=True, kw_only=True, tag="other"):
    """What Codex reads any unknown web-search action as."""


WebSearchAction: TypeAlias = SearchAction | OpenPageAction | FindInPageAction | OtherAction
WEB_SEARCH_ACTIONS = frozenset({"search", "open_page", "find_in_page", "other"})


def prepare_web_action(payload: dict[str, Any], key: str = "action") -> dict[str, Any]:
    """Codex reads a web-search action of an unknown type as ``{"type": "other"}``."""
    action = payload.get(key)
    if isinstance(action, dict) and action.get("type") not in WEB_SEARCH_ACTIONS:
        return {**payload, key: {"type": "other"}}
    return payload


class UncommittedChangesTarget(Tagged, frozen=True, kw_only=True, tag="uncommittedChanges"):
    pass


class BaseBranchTarget(Tagged, frozen=True, kw_only=True, tag="baseBranch"):
    branch: str


class CommitTarget(Tagged, frozen=True, kw_only=True, tag="commit"):
    sha: str
    title: Opt[str] = UNSET


class CustomTarget(Tagged, frozen=True, kw_only=True, tag="custom"):
    instructions: str


ReviewTarget: TypeAlias = UncommittedChangesTarget | BaseBranchTarget | CommitTarget | CustomTarget


class ReviewOutput(Shape, frozen=True, kw_only=True):
    findings: list[Any]
    overall_correctness: str
    overall_explanation: str
    overall_confidence_score: float


class AddChange(Tagged, frozen=True, kw_only=True, tag="add"):
    content: str


class DeleteChange(Tagged, frozen=True, kw_only=True, tag="delete"):
    content: str


class UpdateChange(Tagged, frozen=True, kw_only=True, tag="update"):
    unified_diff: str
    move_path: str | None = None


FileChange: TypeAlias = AddChange | DeleteChange | UpdateChange
Phase: TypeAlias = Literal["commentary", "final_answer", "partial_answer"]


# -- event_msg payloads --------------------------------------------------------------------------


class Event(TypedPayload, frozen=True, kw_only=True, tag_field="type"):
    """Base of the ``event_msg`` payloads."""


class TurnAttribution(Shape, frozen=True, kw_only=True):
    turn_id: str
    turn_trigger: str | None = None
    parent_turn_id: str | None = None
    initiating_agent_path: str | None = None
    root_turn_id: str | None = None


MODE_KIND_ALIASES = frozenset({"code", "pair_programming", "execute"})
"""Old ``collaboration_mode_kind`` values Codex reads (and rewrites) as ``default``."""


class TaskStarted(Event, frozen=True, kw_only=True, tag="task_started"):
    """A turn starts (on disk ``task_started``; ``turn_started`` accepted)."""

    aliases: ClassVar[tuple[str, ...]] = ("turn_started",)

    turn_attribution: Opt[TurnAttribution] = UNSET
    turn_id: str
    root_turn_id: Opt[str] = UNSET
    started_at: Opt[int] = UNSET
    model_context_window: int | None = None
    collaboration_mode_kind: Literal["default", "plan", "code", "pair_programming", "execute"] = (
        "default"
    )

    def _canonical(self, out: dict[str, Any]) -> dict[str, Any]:
        if out["collaboration_mode_kind"] in MODE_KIND_ALIASES:
            out["collaboration_mode_kind"] = "default"
        return out


class TurnError(Shape, frozen=True, kw_only=True):
    message: str
    codex_error_info: Any = None


class TaskComplete(Event, frozen=True, kw_only=True, tag="task_complete"):
    """A turn ends (on disk ``task_complete``; ``turn_complete`` accepted)."""

    aliases: ClassVar[tuple[str, ...]] = ("turn_complete",)

    root_turn_id: Opt[str] = UNSET
    turn_id: str
    last_agent_message: str | None = None
    error: Opt[TurnError] = UNSET
    started_at: Opt[int] = UNSET
    completed_at: Opt[int] = UNSET
    duration_ms: Opt[int] = UNSET
    time_to_first_token_ms: Opt[int] = UNSET


class TurnAborted(Event, frozen=True, kw_only=True, tag="turn_aborted"):
    root_turn_id: Opt[str] = UNSET
    turn_id: str | None = None
    reason: Literal["interrupted", "replaced", "review_ended", "budget_limited"]
    started_at: Opt[int] = UNSET
    completed_at: Opt[int] = UNSET
    duration_ms: Opt[int] = UNSET


class UserMessageEvent(Event, frozen=True, kw_only=True, tag="user_message"):
    client_id: Opt[str] = UNSET
    message: str
    images: Opt[list[str]] = UNSET
    image_details: Opt[list[Any]] = UNSET
    local_images: list[str] = []
    local_image_details: Opt[list[Any]] = UNSET
    audio: Opt[list[Any]] = UNSET
    local_audio: list[str] = []
    text_elements: list[TextElement] = []


class AgentMessageEvent(Event, frozen=True, kw_only=True, tag="agent_message"):
    message: str
    phase: Phase | None = None
    memory_citation: Any = None


class AgentReasoningEvent(Event, frozen=True, kw_only=True, tag="agent_reasoning"):
    text: str


class AgentReasoningRawContentEvent(
    Event, frozen=True, kw_only=True, tag="agent_reasoning_raw_content"
):
    text: str


class TokenUsage(Shape, frozen=True, kw_only=True):
    input_tokens: int
    cached_input_tokens: int
    cache_write_input_tokens: int = 0
    output_tokens: int
    reasoning_output_tokens: int
    total_tokens: int


class TokenCountInfo(Shape, frozen=True, kw_only=True):
    total_token_usage: TokenUsage
    last_token_usage: TokenUsage
    model_context_window: int | None = None


class RateLimitWindow(Shape, frozen=True, kw_only=True):
    used_percent: float
    window_minutes: int | None = None
    resets_at: int | None = None


class RateLimits(Shape, frozen=True, kw_only=True):
    limit_id: str | None = None
    limit_name: str | None = None
    primary: RateLimitWindow | None = None
    secondary: RateLimitWindow | None = None
    credits: Any = None
    individual_limit: Any = None
    spend_control_reached: Any = None
    plan_type: Any = None
    rate_limit_reached_type: Any = None


class TokenCount(Event, frozen=True, kw_only=True, tag="token_count"):
    info: TokenCountInfo | None = None
    rate_limits: RateLimits | None = None


class ThreadRolledBack(Event, frozen=True, kw_only=True, tag="thread_rolled_back"):
    """Legacy rollback marker: the last ``num_turns`` turns before it are dropped."""

    num_turns: int


class ContextCompacted(
    Event, frozen=True, kw_only=True, tag="context_compacted", forbid_unknown_fields=True
):
    """Compaction marker; Codex refuses it with any extra member."""


class ThreadGoal(Shape, frozen=True, kw_only=True, rename="camel"):
    thread_id: str
    objective: str
    status: Literal["active", "paused", "budgetLimited", "complete"]
    token_budget: Opt[int] = UNSET
    tokens_used: int
    time_used_seconds: int
    created_at: int
    updated_at: int


class ThreadGoalUpdated(
    Event, frozen=True, kw_only=True, tag="thread_goal_updated", rename="camel"
):
    """The one event with camelCase members."""

    thread_id: str
    turn_id: Opt[str] = UNSET
    goal: ThreadGoal

    def _check(self) -> str | None:
        return uuid_problem(self.thread_id, "threadId") or uuid_problem(
            self.goal.thread_id, "goal.threadId"
        )


ApprovalPolicy: TypeAlias = (
    Literal["untrusted", "on-failure", "on-request", "never"] | dict[str, Any]
)


class ThreadSettings(Shape, frozen=True, kw_only=True):
    model: str
    model_provider_id: str
    approval_policy: ApprovalPolicy
    approvals_reviewer: str
    requested_approvals_reviewer: Opt[str] = UNSET
    permission_profile: Any
    active_permission_profile: Opt[Any] = UNSET
    cwd: str
    runtime_workspace_roots: Opt[list[str]] = UNSET
    reasoning_effort: Opt[str] = UNSET
    collaboration_mode: Any
    disabled_plugin_ids: list[str] = []


class ThreadSettingsApplied(Event, frozen=True, kw_only=True, tag="thread_settings_applied"):
    thread_id: str
    thread_settings: ThreadSettings

    def _check(self) -> str | None:
        mode = self.thread_settings.collaboration_mode
        if not (
            isinstance(mode, dict)
            and isinstance(mode.get("mode"), str)
            and isinstance(mode.get("settings"), dict)
        ):
            return "thread_settings.collaboration_mode needs `mode` and `settings`"
        return uuid_problem(self.thread_id, "thread_id")


class EnteredReviewMode(Event, frozen=True, kw_only=True, tag="entered_review_mode"):
    target: ReviewTarget
    user_facing_hint: Opt[str] = UNSET


class ExitedReviewMode(Event, frozen=True, kw_only=True, tag="exited_review_mode"):
    review_output: ReviewOutput | None = None


class PatchApplyEnd(Event, frozen=True, kw_only=True, tag="patch_apply_end"):
    """``changes`` keeps the file's order (Codex writes it in hash-map order)."""

    call_id: str
    turn_id: str = ""
    stdout: str
    stderr: str
    success: bool
    changes: dict[str, FileChange] = {}
    status: Literal["completed", "failed", "declined"]


class McpInvocation(Shape, frozen=True, kw_only=True):
    server: str
    tool: str
    arguments: Any = None


class CallToolResult(Shape, frozen=True, kw_only=True):
    content: list[Any]
    structured_content: Opt[Any] = msgspec.field(default=UNSET, name="structuredContent")
    is_error: Opt[bool] = msgspec.field(default=UNSET, name="isError")
    meta: Opt[Any] = msgspec.field(default=UNSET, name="_meta")


class McpResult(Shape, frozen=True, kw_only=True):
    """Rust ``Result<CallToolResult, String>``: exactly one of ``Ok`` / ``Err``."""

    ok: CallToolResult | UnsetType = msgspec.field(default=UNSET, name="Ok")
    err: str | UnsetType = msgspec.field(default=UNSET, name="Err")


class McpToolCallEnd(Event, frozen=True, kw_only=True, tag="mcp_tool_call_end"):
    call_id: str
    turn_id: str = ""
    invocation: McpInvocation
    mcp_app_resource_uri: Opt[str] = UNSET
    duration: Duration
    result: McpResult

    def _check(self) -> str | None:
        if (self.result.ok is UNSET) == (self.result.err is UNSET):
            return "result must hold exactly one of `Ok` and `Err`"
        return None


class WebSearchEnd(Event, frozen=True, kw_only=True, tag="web_search_end"):
    call_id: str
    query: str
    action: WebSearchAction

    @classmethod
    def _prepare(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return prepare_web_action(payload)


class ImageGenerationEnd(Event, frozen=True, kw_only=True, tag="image_generation_end"):
    call_id: str
    status: str
    revised_prompt: Opt[str] = UNSET
    result: str
    saved_path: Opt[str] = UNSET


class ErrorEvent(Event, frozen=True, kw_only=True, tag="error"):
    """Persisted only in extended mode (never by 0.169.0's app server)."""

    message: str
    codex_error_info: Opt[Any] = UNSET


class ExecCommandEnd(Event, frozen=True, kw_only=True, tag="exec_command_end"):
    """Persisted only in extended mode; field order from source (rollout-format 10.4)."""

    call_id: str
    process_id: Opt[str] = UNSET
    turn_id: Opt[str] = UNSET
    completed_at_ms: Opt[int] = UNSET
    command: list[str]
    cwd: str
    parsed_cmd: Opt[list[Any]] = UNSET
    source: Opt[str] = UNSET
    interaction_input: Opt[str] = UNSET
    stdout: str
    stderr: str
    aggregated_output: Opt[str] = UNSET
    exit_code: int
    duration: Duration
    formatted_output: Opt[str] = UNSET
    status: Opt[str] = UNSET


class ViewImageToolCall(Event, frozen=True, kw_only=True, tag="view_image_tool_call"):
    """Persisted only in extended mode."""

    call_id: str
    path: str


# -- turn items (inside item_completed) ----------------------------------------------------------


class TextInput(Tagged, frozen=True, kw_only=True, tag="text"):
    text: str
    text_elements: list[TextElement] = []


class ImageInput(Tagged, frozen=True, kw_only=True, tag="image"):
    image_url: str


class LocalImageInput(Tagged, frozen=True, kw_only=True, tag="local_image"):
    path: str


class LocalAudioInput(Tagged, frozen=True, kw_only=True, tag="local_audio"):
    path: str


class SkillInput(Tagged, frozen=True, kw_only=True, tag="skill"):
    name: str
    path: str


class MentionInput(Tagged, frozen=True, kw_only=True, tag="mention"):
    name: str
    path: str


UserInput: TypeAlias = (
    TextInput | ImageInput | LocalImageInput | LocalAudioInput | SkillInput | MentionInput
)


class AgentText(Tagged, frozen=True, kw_only=True, tag="Text"):
    text: str


class TurnItemBase(Tagged, frozen=True, kw_only=True):
    """Base of the typed turn items; ``type`` is PascalCase."""


class TurnUserMessage(TurnItemBase, frozen=True, kw_only=True, tag="UserMessage"):
    id: str
    content: list[UserInput]

    @property
    def text(self) -> str:
        """The text inputs joined by newlines."""
        return "\n".join(c.text for c in self.content if isinstance(c, TextInput))


class TurnAgentMessage(TurnItemBase, frozen=True, kw_only=True, tag="AgentMessage"):
    id: str
    content: list[AgentText]
    phase: Opt[Phase] = UNSET
    memory_citation: Opt[Any] = UNSET

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.content)


class TurnReasoning(TurnItemBase, frozen=True, kw_only=True, tag="Reasoning"):
    id: str
    summary_text: list[str]
    raw_content: list[str] = []


class TurnPlan(TurnItemBase, frozen=True, kw_only=True, tag="Plan"):
    id: str
    text: str


class TurnCommandExecution(TurnItemBase, frozen=True, kw_only=True, tag="CommandExecution"):
    id: str
    process_id: Opt[str] = UNSET
    command: list[str]
    cwd: str
    parsed_cmd: list[Any]
    source: str
    status: str
    aggregated_output: Opt[str] = UNSET
    exit_code: Opt[int] = UNSET
    duration: Opt[Duration] = UNSET


class TurnWebSearch(TurnItemBase, frozen=True, kw_only=True, tag="WebSearch"):
    id: str
    query: str
    action: Opt[WebSearchAction] = UNSET


class TurnMcpToolCall(TurnItemBase, frozen=True, kw_only=True, tag="McpToolCall"):
    id: str
    server: str
    tool: str
    arguments: Any = None
    status: str
    result: Opt[Any] = UNSET
    error: Opt[Any] = UNSET
    duration: Opt[Duration] = UNSET


class TurnFileChange(TurnItemBase, frozen=True, kw_only=True, tag="FileChange"):
    id: str
    changes: dict[str, FileChange]
    status: str


class TurnContextCompaction(TurnItemBase, frozen=True, kw_only=True, tag="ContextCompaction"):
    id: str


class TurnEnteredReviewMode(TurnItemBase, frozen=True, kw_only=True, tag="EnteredReviewMode"):
    id: str
    target: ReviewTarget
    user_facing_hint: Opt[str] = UNSET


class TurnExitedReviewMode(TurnItemBase, frozen=True, kw_only=True, tag="ExitedReviewMode"):
    id: str
    review_output: ReviewOutput | None = None


TypedTurnItem: TypeAlias = (
    TurnUserMessage
    | TurnAgentMessage
    | TurnReasoning
    | TurnPlan
    | TurnCommandExecution
    | TurnWebSearch
    | TurnMcpToolCall
    | TurnFileChange
    | TurnContextCompaction
    | TurnEnteredReviewMode
    | TurnExitedReviewMode
)
TURN_ITEM_TYPES: dict[str, type[TurnItemBase]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(TypedTurnItem)
}


class RawTurnItem(Shape, frozen=True, kw_only=True):
    """A turn item threadloom has no model for (or that does not fit its model), kept as is."""

    raw: dict[str, Any]

    @property
    def type(self) -> str | None:
        value = self.raw.get("type")
        return value if isinstance(value, str) else None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = json_copy(self.raw)
        return out


TurnItem: TypeAlias = TypedTurnItem | RawTurnItem


def parse_turn_item(value: dict[str, Any]) -> TurnItem:
    """The typed turn item, or ``RawTurnItem`` for unknown types and shapes that do not fit."""
    cls = TURN_ITEM_TYPES.get(value.get("type"))  # type: ignore[arg-type]
    if cls is not None:
        try:
            return msgspec.convert(value, cls)  # type: ignore[return-value]
        except msgspec.ValidationError:
            pass
    return RawTurnItem(raw=value)


class _ItemCompletedWire(Shape, frozen=True, kw_only=True):
    thread_id: str
    turn_id: str
    item: dict[str, Any]
    started_at_ms: Opt[int] = UNSET
    completed_at_ms: int = 0


class ItemCompleted(Event, frozen=True, kw_only=True, tag="item_completed"):
    """A finished turn item (paginated threads; Plan/Sleep only in legacy ones)."""

    thread_id: str
    turn_id: str
    item: TurnItem
    started_at_ms: Opt[int] = UNSET
    completed_at_ms: int = 0

    @classmethod
    def _decode(cls, payload: dict[str, Any]) -> Self:
        wire = msgspec.convert(payload, _ItemCompletedWire)
        return cls(
            thread_id=wire.thread_id,
            turn_id=wire.turn_id,
            item=parse_turn_item(wire.item),
            started_at_ms=wire.started_at_ms,
            completed_at_ms=wire.completed_at_ms,
        )

    def _check(self) -> str | None:
        return uuid_problem(self.thread_id, "thread_id")

    @property
    def item_type(self) -> str | None:
        return self.item.type if isinstance(self.item, RawTurnItem) else _tag(self.item)


def _tag(value: Shape) -> str:
    return str(value.__struct_config__.tag)


EventMsg: TypeAlias = (
    TaskStarted
    | TaskComplete
    | TurnAborted
    | UserMessageEvent
    | AgentMessageEvent
    | AgentReasoningEvent
    | AgentReasoningRawContentEvent
    | TokenCount
    | ThreadRolledBack
    | ContextCompacted
    | ThreadGoalUpdated
    | ThreadSettingsApplied
    | ItemCompleted
    | EnteredReviewMode
    | ExitedReviewMode
    | PatchApplyEnd
    | McpToolCallEnd
    | WebSearchEnd
    | ImageGenerationEnd
    | ErrorEvent
    | ExecCommandEnd
    | ViewImageToolCall
)
EVENT_CLASSES: tuple[type[Event], ...] = get_args(EventMsg)
EVENT_TYPES: dict[str, type[Event]] = {
    name: cls for cls in EVENT_CLASSES for name in (str(cls.__struct_config__.tag), *cls.aliases)
}
"""Every ``event_msg`` type (aliases included) that has a typed model."""

__all__ = [  # noqa: RUF022 - grouped by section
    "Opt",
    "Shape",
    "Tagged",
    "TypedPayload",
    "dump",
    "json_copy",
    # nested shapes
    "Duration",
    "ByteRange",
    "TextElement",
    "WebSearchAction",
    "SearchAction",
    "OpenPageAction",
    "FindInPageAction",
    "OtherAction",
    "ReviewTarget",
    "UncommittedChangesTarget",
    "BaseBranchTarget",
    "CommitTarget",
    "CustomTarget",
    "ReviewOutput",
    "FileChange",
    "AddChange",
    "DeleteChange",
    "UpdateChange",
    "ApprovalPolicy",
    # events
    "EventMsg",
    "Event",
    "EVENT_TYPES",
    "TaskStarted",
    "TurnAttribution",
    "TaskComplete",
    "TurnError",
    "TurnAborted",
    "UserMessageEvent",
    "AgentMessageEvent",
    "AgentReasoningEvent",
    "AgentReasoningRawContentEvent",
    "TokenCount",
    "TokenCountInfo",
    "TokenUsage",
    "RateLimits",
    "RateLimitWindow",
    "ThreadRolledBack",
    "ContextCompacted",
    "ThreadGoalUpdated",
    "ThreadGoal",
    "ThreadSettingsApplied",
    "ThreadSettings",
    "ItemCompleted",
    "EnteredReviewMode",
    "ExitedReviewMode",
    "PatchApplyEnd",
    "McpToolCallEnd",
    "McpInvocation",
    "McpResult",
    "CallToolResult",
    "WebSearchEnd",
    "ImageGenerationEnd",
    "ErrorEvent",
    "ExecCommandEnd",
    "ViewImageToolCall",
    # turn items
    "TurnItem",
    "TypedTurnItem",
    "TURN_ITEM_TYPES",
    "parse_turn_item",
    "RawTurnItem",
    "TurnItemBase",
    "TurnUserMessage",
    "TurnAgentMessage",
    "TurnReasoning",
    "TurnPlan",
    "TurnCommandExecution",
    "TurnWebSearch",
    "TurnMcpToolCall",
    "TurnFileChange",
    "TurnContextCompaction",
    "TurnEnteredReviewMode",
    "TurnExitedReviewMode",
    "UserInput",
    "TextInput",
    "ImageInput",
    "LocalImageInput",
    "LocalAudioInput",
    "SkillInput",
    "MentionInput",
    "AgentText",
]

"""Typed views of rollout payloads (rollout-format 5-9) and the tolerant line parser.

``parse_item`` turns a ``RolloutLine`` into a typed value, an ``UnknownItem`` (a kind or type
threadloom has no model for) or a ``Malformed`` (a known kind or type whose payload Codex would
refuse, section 18.1); it never raises. Every typed payload keeps the dict it was decoded from
in ``raw`` (unknown members included), so copying the line keeps its bytes, while
``to_payload()`` gives Codex 0.169.0's canonical serialisation: members in write order, absent
optional members omitted, the defaults Codex adds on re-serialisation filled in (16.1 step 4).

Not reproduced by ``to_payload``: the ids Codex invents for id-less response items (``msg_…``),
the ``permission_profile`` it derives from a ``workspace-write`` sandbox policy, and hash-map
orders (``patch_apply_end.changes``). Event models and turn items live in ``events.py`` and are
re-exported here.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, cast, get_args

import msgspec
from msgspec import UNSET

from threadloom.protocol import events as _events
from threadloom.protocol.events import *  # noqa: F403 - items.py is the public entry point
from threadloom.protocol.events import (
    EVENT_TYPES,
    ApprovalPolicy,
    Event,
    EventMsg,
    Opt,
    Shape,
    Tagged,
    TypedPayload,
    WebSearchAction,
    json_copy,
    prepare_web_action,
)
from threadloom.protocol.rollout import (
    COMPACTED,
    EVENT_MSG,
    OPAQUE_KINDS,
    RESPONSE_ITEM,
    SESSION_META,
    SESSION_META_KEY_ORDER,
    TURN_CONTEXT,
    InvalidSessionMeta,
    RolloutLine,
    SessionMeta,
)

PASSTHROUGH = "internal_chat_message_metadata_passthrough"

# -- content items -------------------------------------------------------------------------------


class InputText(Tagged, frozen=True, kw_only=True, tag="input_text"):
    text: str


class InputImage(Tagged, frozen=True, kw_only=True, tag="input_image"):
    image_url: str
    detail: Opt[str] = UNSET


class InputAudio(Tagged, frozen=True, kw_only=True, tag="input_audio"):
    """An audio reference: exactly one of ``audio_url`` and ``file_id``."""

    audio_url: Opt[str] = UNSET
    file_id: Opt[str] = UNSET

    def __post_init__(self) -> None:
        if (self.audio_url in (UNSET, None)) == (self.file_id in (UNSET, None)):
            raise ValueError("input_audio needs one of `audio_url` and `file_id`")


class OutputText(Tagged, frozen=True, kw_only=True, tag="output_text"):
    text: str
    annotations: Opt[list[Any]] = UNSET
    logprobs: Opt[list[Any]] = UNSET


ContentItem: TypeAlias = InputText | InputImage | InputAudio | OutputText
OutputContent: TypeAlias = InputText | InputImage
"""Content items allowed in a tool output array."""


class SummaryText(Tagged, frozen=True, kw_only=True, tag="summary_text"):
    text: str


class ReasoningText(Tagged, frozen=True, kw_only=True, tag="reasoning_text"):
    text: str


class ReasoningPlainText(Tagged, frozen=True, kw_only=True, tag="text"):
    text: str


class EncryptedContent(Tagged, frozen=True, kw_only=True, tag="encrypted_content"):
    encrypted_content: str


class LocalShellExec(Tagged, frozen=True, kw_only=True, tag="exec"):
    command: list[str]
    timeout_ms: int | None = None
    working_directory: str | None = None
    env: dict[str, str] | None = None
    user: str | None = None


class ConfigurationReasoning(Shape, frozen=True, kw_only=True):
    effort: str


# -- response items ------------------------------------------------------------------------------


class ResponseItemBase(TypedPayload, frozen=True, kw_only=True, tag_field="type"):
    """Base of the ``response_item`` payloads."""


class Message(ResponseItemBase, frozen=True, kw_only=True, tag="message"):
    """A chat message; an old ``end_turn`` member is read past and not written back."""

    id: Opt[str] = UNSET
    role: str
    content: list[ContentItem]
    phase: Opt[Literal["commentary", "final_answer", "partial_answer"]] = UNSET
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)

    @property
    def text(self) -> str:
        """The text items joined by newlines."""
        return "\n".join(c.text for c in self.content if isinstance(c, InputText | OutputText))


class Reasoning(ResponseItemBase, frozen=True, kw_only=True, tag="reasoning"):
    id: Opt[str] = UNSET
    summary: list[SummaryText]
    content: list[ReasoningText | ReasoningPlainText] | None = None
    encrypted_content: str | None = None
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)

    def _canonical(self, out: dict[str, Any]) -> dict[str, Any]:
        # Codex writes ``content`` only when it is null or holds a reasoning_text item.
        if isinstance(self.content, list) and not any(
            isinstance(c, ReasoningText) for c in self.content
        ):
            del out["content"]
        return out


class FunctionCall(ResponseItemBase, frozen=True, kw_only=True, tag="function_call"):
    id: Opt[str] = UNSET
    name: str
    namespace: Opt[str] = UNSET
    arguments: str
    call_id: str
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class FunctionCallOutput(ResponseItemBase, frozen=True, kw_only=True, tag="function_call_output"):
    id: Opt[str] = UNSET
    call_id: str
    name: Opt[str] = UNSET
    namespace: Opt[str] = UNSET
    output: str | list[OutputContent]
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class CustomToolCall(ResponseItemBase, frozen=True, kw_only=True, tag="custom_tool_call"):
    id: Opt[str] = UNSET
    status: Opt[str] = UNSET
    call_id: str
    name: str
    input: str
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class CustomToolCallOutput(
    ResponseItemBase, frozen=True, kw_only=True, tag="custom_tool_call_output"
):
    id: Opt[str] = UNSET
    call_id: str
    name: Opt[str] = UNSET
    output: str | list[OutputContent]
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class LocalShellCall(ResponseItemBase, frozen=True, kw_only=True, tag="local_shell_call"):
    id: Opt[str] = UNSET
    call_id: str | None = None
    status: Literal["completed", "in_progress", "incomplete"]
    action: LocalShellExec
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class WebSearchCall(ResponseItemBase, frozen=True, kw_only=True, tag="web_search_call"):
    """An unknown action type is read (and rewritten) as ``{"type": "other"}``."""

    id: Opt[str] = UNSET
    status: Opt[str] = UNSET
    action: Opt[WebSearchAction] = UNSET
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)

    @classmethod
    def _prepare(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return prepare_web_action(payload)


class ImageGenerationCall(ResponseItemBase, frozen=True, kw_only=True, tag="image_generation_call"):
    id: Opt[str] = UNSET
    status: str
    revised_prompt: Opt[str] = UNSET
    result: str
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class ToolSearchCall(ResponseItemBase, frozen=True, kw_only=True, tag="tool_search_call"):
    id: Opt[str] = UNSET
    call_id: str | None = None
    status: Opt[str] = UNSET
    execution: str
    arguments: Any
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class ToolSearchOutput(ResponseItemBase, frozen=True, kw_only=True, tag="tool_search_output"):
    id: Opt[str] = UNSET
    call_id: str | None = None
    status: str
    execution: str
    tools: list[Any]
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class Compaction(ResponseItemBase, frozen=True, kw_only=True, tag="compaction"):
    id: Opt[str] = UNSET
    encrypted_content: str
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class ContextCompaction(ResponseItemBase, frozen=True, kw_only=True, tag="context_compaction"):
    id: Opt[str] = UNSET
    encrypted_content: Opt[str] = UNSET
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class AdditionalTools(ResponseItemBase, frozen=True, kw_only=True, tag="additional_tools"):
    id: Opt[str] = UNSET
    role: str
    tools: list[Any]
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class AgentMessage(ResponseItemBase, frozen=True, kw_only=True, tag="agent_message"):
    """A message between agents (0.169.0)."""

    id: Opt[str] = UNSET
    author: str
    recipient: str
    content: list[InputText | EncryptedContent]
    passthrough: Any = msgspec.field(default=UNSET, name=PASSTHROUGH)


class ConfigurationUpdate(ResponseItemBase, frozen=True, kw_only=True, tag="configuration_update"):
    """Carries no id: Codex drops one if given."""

    reasoning: ConfigurationReasoning


class GhostSnapshot(ResponseItemBase, frozen=True, kw_only=True, tag="ghost_snapshot"):
    """Old undo snapshot; 0.169.0 skips these lines when reading."""

    ghost_commit: Any = UNSET


ResponseItem: TypeAlias = (
    Message
    | Reasoning
    | FunctionCall
    | FunctionCallOutput
    | CustomToolCall
    | CustomToolCallOutput
    | LocalShellCall
    | WebSearchCall
    | ImageGenerationCall
    | ToolSearchCall
    | ToolSearchOutput
    | Compaction
    | ContextCompaction
    | AdditionalTools
    | AgentMessage
    | ConfigurationUpdate
    | GhostSnapshot
)
RESPONSE_ITEM_TYPES: dict[str, type[ResponseItemBase]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(ResponseItem)
}
"""Every ``response_item`` type 0.169.0 reads; others are "other" items Codex drops."""

# -- turn_context ---------------------------------------------------------------------------------


class DangerFullAccess(Tagged, frozen=True, kw_only=True, tag="danger-full-access"):
    pass


class ReadOnlySandbox(Tagged, frozen=True, kw_only=True, tag="read-only"):
    network_access: Opt[bool] = UNSET


class ExternalSandbox(Tagged, frozen=True, kw_only=True, tag="external-sandbox"):
    network_access: Any = UNSET


class WorkspaceWrite(Tagged, frozen=True, kw_only=True, tag="workspace-write"):
    writable_roots: list[str] = msgspec.field(default_factory=list)
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


SandboxPolicy: TypeAlias = DangerFullAccess | ReadOnlySandbox | ExternalSandbox | WorkspaceWrite


class TurnContext(TypedPayload, frozen=True, kw_only=True):
    """Per-turn settings (9.1) as 0.169.0 writes them; older members are read past."""

    turn_id: Opt[str] = UNSET
    root_turn_id: Opt[str] = UNSET
    disabled_plugin_ids: Opt[list[str]] = UNSET
    cwd: str
    approval_policy: ApprovalPolicy
    approvals_reviewer: Opt[str] = UNSET
    permission_profile: Any = UNSET
    active_permission_profile: Any = UNSET
    model: str
    comp_hash: Opt[str] = UNSET
    collaboration_mode: Any = UNSET
    multi_agent_version: Opt[str] = UNSET
    realtime_active: Opt[bool] = UNSET
    effort: Opt[str] = UNSET
    summary: Literal["auto", "concise", "detailed", "none"]
    sandbox_policy: SandboxPolicy
    file_system_sandbox_policy: Any = UNSET

    def _canonical(self, out: dict[str, Any]) -> dict[str, Any]:
        # An old turn_context gains the permission profile Codex derives from its sandbox
        # policy; only the derivations observed on 0.169.0 are reproduced (not workspace-write).
        if self.permission_profile is not UNSET:
            policy = _derived_sandbox(self.permission_profile)
            if policy is not None:
                out["sandbox_policy"] = policy
        elif self.file_system_sandbox_policy is UNSET:
            profile = _derived_profile(self.sandbox_policy)
            if profile is not None:
                at = list(out).index("approval_policy") + 1 + ("approvals_reviewer" in out)
                items = list(out.items())
                out = dict([*items[:at], ("permission_profile", profile), *items[at:]])
        return out


READ_ONLY_PROFILE: dict[str, Any] = {
    "type": "managed",
    "file_system": {
        "type": "restricted",
        "entries": [{"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"}],
    },
    "network": "restricted",
}


def _derived_sandbox(profile: Any) -> dict[str, Any] | None:
    """The sandbox policy Codex rewrites to match a permission profile (observed cases)."""
    if profile == READ_ONLY_PROFILE:
        return {"type": "read-only"}
    if isinstance(profile, dict) and profile.get("type") == "disabled":
        return {"type": "danger-full-access"}
    if isinstance(profile, dict) and profile.get("type") == "external" and "network" in profile:
        return {"type": "external-sandbox", "network_access": json_copy(profile["network"])}
    return None


def _derived_profile(policy: SandboxPolicy) -> dict[str, Any] | None:
    """The permission profile Codex adds to a turn_context that has none (observed cases)."""
    if isinstance(policy, ReadOnlySandbox):
        profile: dict[str, Any] = json_copy(READ_ONLY_PROFILE)
        if policy.network_access is True:
            profile["network"] = "enabled"
        return profile
    if isinstance(policy, DangerFullAccess):
        return {"type": "disabled"}
    if isinstance(policy, ExternalSandbox) and policy.network_access is not UNSET:
        return {"type": "external", "network": json_copy(policy.network_access)}
    return None


# -- compacted -----------------------------------------------------------------------------------


class Compacted(TypedPayload, frozen=True, kw_only=True):
    """A compaction summary (9.2); ``replacement_history`` holds response item payloads."""

    message: str
    replacement_history: Opt[list[dict[str, Any]]] = UNSET
    window_number: Opt[int] = UNSET
    first_window_id: Opt[str] = UNSET
    previous_window_id: Opt[str] = UNSET
    window_id: Opt[str] = UNSET
    replacement_history_metadata: Any = UNSET
    mcp_resource_origins: Any = UNSET
    compaction_response_id: Any = None
    latest_token_usage_record: Any = None

    @classmethod
    def _prepare(cls, payload: dict[str, Any]) -> dict[str, Any]:
        window = payload.get("window_id")
        if isinstance(window, int) and not isinstance(window, bool):
            out = {k: v for k, v in payload.items() if k != "window_id"}
            out.setdefault("window_number", window)
            return out
        return payload

    def _check(self) -> str | None:
        if self.replacement_history_metadata not in (UNSET, None) and not isinstance(
            self.replacement_history, list
        ):
            return "replacement_history_metadata requires replacement_history"
        for entry in self.replacement_history or ():
            found = parse_response_item(entry)
            if isinstance(found, Malformed):
                return f"replacement_history: {found.error}"
        return None

    def replacement_items(self) -> list[ResponseItem | UnknownItem]:
        """The typed replacement history (unknown item types kept as ``UnknownItem``)."""
        out: list[ResponseItem | UnknownItem] = []
        for entry in self.replacement_history or ():
            found = parse_response_item(entry)
            if not isinstance(found, Malformed):
                out.append(found)
        return out

    def _canonical(self, out: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.replacement_history, list):
            history: list[Any] = []
            for item in self.replacement_items():
                if isinstance(item, UnknownItem):
                    history.append({"type": "other"})
                elif not isinstance(item, GhostSnapshot):
                    history.append(item.to_payload())
            out["replacement_history"] = history
        return out


# -- session_meta, opaque kinds, unknown and malformed lines --------------------------------------

SESSION_META_WRITE_ORDER = SESSION_META_KEY_ORDER
"""The order in which 0.169.0 re-serialises session_meta (observed on fork; the names after
``context_window`` are known to the binary but their place is a guess, ``git`` is last)."""

_SPAWN_DEFAULTS = ("agent_path", "agent_nickname", "agent_role")


class SessionMetaItem(msgspec.Struct, frozen=True):
    """A ``session_meta`` payload: ``meta`` is its typed view (``rollout.SessionMeta``)."""

    meta: SessionMeta
    raw: dict[str, Any]

    def to_payload(self) -> dict[str, Any]:
        """Codex's re-serialisation: known members in order, unknown ones dropped, defaults
        added (``session_id``, ``source``, ``model_provider``, ``base_instructions``,
        ``history_mode``), ``agent_type`` read as ``agent_role``, ``account_scoped: false``
        left out."""
        raw = self.raw
        if "agent_role" not in raw and "agent_type" in raw:
            raw = {**raw, "agent_role": raw["agent_type"]}
        added: dict[str, Any] = {
            "session_id": raw.get("id"),
            "source": "vscode",
            "model_provider": None,
            "base_instructions": None,
            "history_mode": "legacy",
        }
        out: dict[str, Any] = {}
        for key in SESSION_META_WRITE_ORDER:
            if key in raw:
                out[key] = json_copy(raw[key])
            elif key in added:
                out[key] = added[key]
        if out.get("account_scoped") is False:
            del out["account_scoped"]
        spawn = _thread_spawn(out["source"])
        if spawn is not None:
            for key in _SPAWN_DEFAULTS:
                spawn.setdefault(key, None)
        return out


def _thread_spawn(source: Any) -> dict[str, Any] | None:
    sub = source.get("subagent") if isinstance(source, dict) else None
    spawn = sub.get("thread_spawn") if isinstance(sub, dict) else None
    return spawn if isinstance(spawn, dict) else None


class OpaqueItem(msgspec.Struct, frozen=True):
    """A line of a kind Codex knows but threadloom keeps verbatim (``world_state``, …)."""

    kind: str
    raw: Any

    def to_payload(self) -> Any:
        return json_copy(self.raw)


class UnknownItem(msgspec.Struct, frozen=True):
    """A line (or payload) of a kind or ``type`` without a typed model; Codex skips most."""

    kind: str
    type: str | None
    raw: Any


class Malformed(msgspec.Struct, frozen=True):
    """A known kind or type whose payload Codex would refuse (skipped on read, dropped on fork)."""

    kind: str
    type: str | None
    error: str
    raw: Any


TypedItem: TypeAlias = (
    ResponseItem | EventMsg | TurnContext | Compacted | SessionMetaItem | OpaqueItem
)
ParsedItem: TypeAlias = TypedItem | UnknownItem | Malformed


def parse_item(line: RolloutLine) -> ParsedItem:
    """The typed payload of a line; never raises."""
    return parse_payload(line.type, line.payload)


def parse_payload(kind: str, payload: Any) -> ParsedItem:
    """The typed payload of a rollout item of ``kind``; never raises."""
    try:
        if kind == RESPONSE_ITEM:
            return parse_response_item(payload)
        if kind == EVENT_MSG:
            return cast(ParsedItem, _parse_tagged(kind, payload))
        if kind == SESSION_META:
            if not isinstance(payload, dict):
                return Malformed(kind, None, "payload is not an object", payload)
            return SessionMetaItem(SessionMeta.from_payload(payload), payload)
        if kind == TURN_CONTEXT:
            return TurnContext.from_payload(payload)
        if kind == COMPACTED:
            return Compacted.from_payload(payload)
        if kind in OPAQUE_KINDS:
            return OpaqueItem(kind, payload)
    except (msgspec.ValidationError, InvalidSessionMeta) as exc:
        return Malformed(kind, None, str(exc), payload)
    return UnknownItem(kind, _payload_type(payload), payload)


def parse_response_item(payload: Any) -> ResponseItem | UnknownItem | Malformed:
    """A ``response_item`` payload; unknown types give ``UnknownItem``."""
    return cast("ResponseItem | UnknownItem | Malformed", _parse_tagged(RESPONSE_ITEM, payload))


def _parse_tagged(kind: str, payload: Any) -> TypedPayload | UnknownItem | Malformed:
    name = _payload_type(payload)
    types: dict[str, type[ResponseItemBase]] | dict[str, type[Event]]
    types = RESPONSE_ITEM_TYPES if kind == RESPONSE_ITEM else EVENT_TYPES
    cls = types.get(name) if name is not None else None
    if cls is None:
        if not isinstance(payload, dict):
            return Malformed(kind, name, "payload is not an object", payload)
        if name is None:
            return Malformed(kind, name, "payload has no `type`", payload)
        return UnknownItem(kind, name, payload)
    try:
        return cls.from_payload(payload)
    except msgspec.ValidationError as exc:
        return Malformed(kind, name, str(exc), payload)


def _payload_type(payload: Any) -> str | None:
    if isinstance(payload, dict):
        value = payload.get("type")
        if isinstance(value, str):
            return value
    return None


# -- user messages (rollout-format 7.4) ----------------------------------------------------------

CONTEXTUAL_FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("# agents.md instructions for ", "</instructions>"),
    ("<user_instructions>", "</user_instructions>"),
    ("<environment_context>", "</environment_context>"),
    ("<skill>", "</skill>"),
    ("<user_shell_command>", "</user_shell_command>"),
    ("<turn_aborted>", "</turn_aborted>"),
    ("<subagent_notification>", "</subagent_notification>"),
    ("<hook_prompt", "</hook_prompt>"),
)
"""(start, end) markers of texts Codex injects as user-role context, lower-cased."""

_RUST_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_LONGEST_START = max(len(start) for start, _ in CONTEXTUAL_FRAGMENTS)
_LONGEST_END = max(len(end) for _, end in CONTEXTUAL_FRAGMENTS)


def is_contextual_fragment(text: str) -> bool:
    """True when ``text``, trimmed, is wrapped in one of the context markers (ASCII case)."""
    body = text.strip(_RUST_WHITESPACE)
    head = body[:_LONGEST_START].translate(_ASCII_LOWER)
    tail = body[-_LONGEST_END:].translate(_ASCII_LOWER)
    return any(
        len(body) >= len(start) + len(end) and head.startswith(start) and tail.endswith(end)
        for start, end in CONTEXTUAL_FRAGMENTS
    )


def _real_input_kind(kind: Any) -> bool:
    return isinstance(kind, str) and (
        kind in ("", "unknown") or kind.startswith("user.") or kind.endswith(".preparation_error")
    )


def is_user_message(item: object) -> bool:
    """Is this a real user message, a turn boundary (7.4)? Accepts typed items or payloads."""
    if isinstance(item, dict):
        item = parse_response_item(item)
    if not isinstance(item, Message) or item.role != "user":
        return False
    if any(isinstance(c, InputText) and is_contextual_fragment(c.text) for c in item.content):
        return False
    passthrough = item.passthrough
    kinds = passthrough.get("content_item_kinds") if isinstance(passthrough, dict) else None
    return not (isinstance(kinds, list) and kinds and not any(map(_real_input_kind, kinds)))


__all__ = [  # noqa: RUF022 - grouped by section
    # parsing
    "ParsedItem",
    "TypedItem",
    "UnknownItem",
    "Malformed",
    "parse_item",
    "parse_payload",
    "parse_response_item",
    "is_user_message",
    "is_contextual_fragment",
    "CONTEXTUAL_FRAGMENTS",
    # response items
    "ResponseItem",
    "ResponseItemBase",
    "RESPONSE_ITEM_TYPES",
    "Message",
    "Reasoning",
    "FunctionCall",
    "FunctionCallOutput",
    "CustomToolCall",
    "CustomToolCallOutput",
    "LocalShellCall",
    "LocalShellExec",
    "WebSearchCall",
    "ImageGenerationCall",
    "ToolSearchCall",
    "ToolSearchOutput",
    "Compaction",
    "ContextCompaction",
    "AdditionalTools",
    "AgentMessage",
    "ConfigurationUpdate",
    "ConfigurationReasoning",
    "GhostSnapshot",
    "ContentItem",
    "OutputContent",
    "InputText",
    "InputImage",
    "InputAudio",
    "OutputText",
    "SummaryText",
    "ReasoningText",
    "ReasoningPlainText",
    "EncryptedContent",
    # other kinds
    "TurnContext",
    "SandboxPolicy",
    "DangerFullAccess",
    "ReadOnlySandbox",
    "ExternalSandbox",
    "WorkspaceWrite",
    "Compacted",
    "SessionMetaItem",
    "OpaqueItem",
    "PASSTHROUGH",
]
__all__ += _events.__all__

"""The rollout line envelope, its item kinds, and the typed session metadata.

A ``RolloutLine`` keeps its payload as decoded (an ordered dict), so a line threadloom does
not understand, or a field it does not know, survives any copy untouched. Typed views of the
payloads live in ``items.py``; ``SessionMeta`` (here) is the one every layer needs.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from threadloom.errors import InvalidThreadId
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.source import InvalidSource, SessionSource

SESSION_META = "session_meta"
RESPONSE_ITEM = "response_item"
EVENT_MSG = "event_msg"
TURN_CONTEXT = "turn_context"
COMPACTED = "compacted"

CLASSIC_KINDS = (SESSION_META, RESPONSE_ITEM, EVENT_MSG, TURN_CONTEXT, COMPACTED)
OPAQUE_KINDS = (
    "dynamic_tools_updated",
    "inter_agent_communication",
    "inter_agent_communication_metadata",
    "token_usage_record",
    "world_state",
    "security_risk_score",
    "realtime_item",
)
KNOWN_KINDS = frozenset(CLASSIC_KINDS + OPAQUE_KINDS)
"""Every rollout item ``type`` Codex 0.169.0 knows; other kinds are kept verbatim."""


class RolloutLine(msgspec.Struct, frozen=True):
    """One JSONL line: envelope fields plus the payload exactly as decoded."""

    timestamp: str
    type: str
    payload: Any
    ordinal: int | None = None
    metadata: Any = None

    @property
    def is_known(self) -> bool:
        return self.type in KNOWN_KINDS

    @property
    def event_type(self) -> str | None:
        """``payload.type`` of an ``event_msg`` or ``response_item``, else None."""
        if self.type in (EVENT_MSG, RESPONSE_ITEM) and isinstance(self.payload, dict):
            value = self.payload.get("type")
            return value if isinstance(value, str) else None
        return None


class HistoryMode(enum.StrEnum):
    """How a thread stores its history (rollout-format section 11)."""

    LEGACY = "legacy"
    PAGINATED = "paginated"


class InvalidSessionMeta(ValueError):
    """A session_meta payload Codex would refuse; the thread is then unreadable."""


def parse_history_mode(value: Any) -> HistoryMode:
    """Absent means legacy; any other value than the two known ones fails closed."""
    if value is None:
        return HistoryMode.LEGACY
    if value in ("legacy", "paginated"):
        return HistoryMode(value)
    shown = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    raise InvalidSessionMeta(
        f"invalid session metadata history_mode: unknown variant `{shown}`, "
        "expected `legacy` or `paginated`"
    )


class GitInfo(msgspec.Struct, frozen=True, omit_defaults=True):
    """Repository state recorded with a thread; each member may be unknown."""

    commit_hash: str | None = None
    branch: str | None = None
    repository_url: str | None = None

    @classmethod
    def from_payload(cls, value: Any) -> GitInfo | None:
        if not isinstance(value, dict):
            return None

        def text(key: str) -> str | None:
            item = value.get(key)
            return item if isinstance(item, str) else None

        return cls(text("commit_hash"), text("branch"), text("repository_url"))

    def to_payload(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.commit_hash is not None:
            out["commit_hash"] = self.commit_hash
        if self.branch is not None:
            out["branch"] = self.branch
        if self.repository_url is not None:
            out["repository_url"] = self.repository_url
        return out

    @property
    def is_empty(self) -> bool:
        return self.commit_hash is None and self.branch is None and self.repository_url is None


class SessionMeta(msgspec.Struct, frozen=True, kw_only=True):
    """The typed fields of a ``session_meta`` payload (the raw payload keeps everything)."""

    id: ThreadId
    timestamp: str
    cwd: str
    originator: str
    cli_version: str
    source: SessionSource
    history_mode: HistoryMode
    session_id: str | None = None
    forked_from_id: str | None = None
    forked_from_ordinal_exclusive: int | None = None
    thread_source: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    agent_path: str | None = None
    parent_thread_id: str | None = None
    model_provider: str | None = None
    memory_mode: str | None = None
    history_base: dict[str, Any] | None = None
    git: GitInfo | None = None

    @classmethod
    def from_payload(cls, payload: Any) -> SessionMeta:
        """Apply Codex's acceptance rules (rollout-format 6.2, 18.5) to a payload."""
        if not isinstance(payload, dict):
            raise InvalidSessionMeta("session_meta payload is not an object")
        raw_id = payload.get("id")
        if not isinstance(raw_id, str):
            raise InvalidSessionMeta("missing field `id`")
        try:
            thread_id = parse_thread_id(raw_id)
        except InvalidThreadId as exc:
            raise InvalidSessionMeta(exc.message) from None
        required: dict[str, str] = {}
        for key in ("timestamp", "cwd", "originator", "cli_version"):
            value = payload.get(key)
            if not isinstance(value, str):
                raise InvalidSessionMeta(f"missing field `{key}`")
            required[key] = value
        try:
            source = SessionSource.parse(payload.get("source"))
        except InvalidSource as exc:
            raise InvalidSessionMeta(str(exc)) from None
        history_mode = parse_history_mode(payload.get("history_mode"))
        role = payload.get("agent_role")
        if role is None:
            role = payload.get("agent_type")
        ordinal = payload.get("forked_from_ordinal_exclusive")
        base = payload.get("history_base")
        return cls(
            id=thread_id,
            source=source,
            history_mode=history_mode,
            session_id=_opt_str(payload, "session_id"),
            forked_from_id=_opt_str(payload, "forked_from_id"),
            forked_from_ordinal_exclusive=ordinal if isinstance(ordinal, int) else None,
            thread_source=_opt_str(payload, "thread_source"),
            agent_nickname=_opt_str(payload, "agent_nickname"),
            agent_role=role if isinstance(role, str) else None,
            agent_path=_opt_str(payload, "agent_path"),
            parent_thread_id=_opt_str(payload, "parent_thread_id"),
            model_provider=_opt_str(payload, "model_provider"),
            memory_mode=_opt_str(payload, "memory_mode"),
            history_base=base if isinstance(base, dict) else None,
            git=GitInfo.from_payload(payload.get("git")),
            **required,
        )


def _opt_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


SESSION_META_KEY_ORDER = (
    "account_scoped",
    "session_id",
    "id",
    "forked_from_id",
    "forked_from_ordinal_exclusive",
    "parent_thread_id",
    "timestamp",
    "cwd",
    "runtime_workspace_roots",
    "originator",
    "cli_version",
    "source",
    "thread_source",
    "agent_nickname",
    "agent_role",
    "agent_path",
    "model_provider",
    "base_instructions",
    "dynamic_tools",
    "memory_mode",
    "history_mode",
    "history_base",
    "multi_agent_version",
    "context_window",
    "selected_capability_roots",
    "subagent_history_start_ordinal",
    "attached_thread",
    "creator_user_id",
    "creator_account_id",
    "pending_init",
    "git",
)
"""The order in which Codex 0.169.0 writes session_meta fields (``git`` always last)."""


def order_session_meta(payload: dict[str, Any]) -> dict[str, Any]:
    """Reorder a session_meta payload into Codex's key order; unknown keys go before ``git``."""
    known = {k: payload[k] for k in SESSION_META_KEY_ORDER if k in payload and k != "git"}
    extra = {k: v for k, v in payload.items() if k not in SESSION_META_KEY_ORDER}
    out = {**known, **extra}
    if "git" in payload:
        out["git"] = payload["git"]
    return out

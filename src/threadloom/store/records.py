"""Records returned by ThreadStore operations."""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.ids import ThreadId
from threadloom.protocol.codec import parse_timestamp_ms
from threadloom.protocol.rollout import GitInfo, HistoryMode, RolloutLine, SessionMeta
from threadloom.protocol.source import SessionSource
from threadloom.protocol.summary import SummaryState
from threadloom.store.params import SpawnEdgeStatus


class StoredThreadHistory(msgspec.Struct, frozen=True, kw_only=True):
    """A thread's persisted lines in replay order (malformed and torn lines left out)."""

    thread_id: ThreadId
    items: list[RolloutLine]


class StoredThread(msgspec.Struct, frozen=True, kw_only=True):
    """What a store knows about one thread: its metadata, and its history when asked for."""

    thread_id: ThreadId
    rollout_path: str | None
    preview: str
    name: str | None
    created_at_ms: int
    updated_at_ms: int
    recency_at_ms: int
    source: SessionSource
    cwd: str
    """The session's working directory (what listings show)."""
    cli_version: str
    originator: str
    model_provider: str
    history_mode: HistoryMode = HistoryMode.LEGACY
    forked_from_id: str | None = None
    parent_thread_id: str | None = None
    model: str | None = None
    reasoning_effort: str | None = None
    archived: bool = False
    archived_at_ms: int | None = None
    thread_source: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    agent_path: str | None = None
    git_info: GitInfo | None = None
    memory_mode: str = "enabled"
    first_user_message: str | None = None
    title: str | None = None
    tokens_used: int | None = None
    settings_cwd: str | None = None
    """``cwd`` of the last recorded thread settings (``thread/read`` shows it over ``cwd``)."""
    history: StoredThreadHistory | None = None


class ThreadPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of ``list_threads``; cursors in Codex's formats."""

    items: list[StoredThread]
    next_cursor: str | None
    backwards_cursor: str | None


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """A thread matching a full-text query: the best message, its turn, and a snippet."""

    thread: StoredThread
    snippet: str
    turn_id: str | None
    role: str
    score: float


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[SearchHit]
    next_cursor: str | None


class SpawnEdge(msgspec.Struct, frozen=True, kw_only=True):
    parent_thread_id: ThreadId
    child_thread_id: ThreadId
    status: SpawnEdgeStatus
    depth: int = 1


class IndexStats(msgspec.Struct, frozen=True, kw_only=True):
    """What an index refresh did."""

    files_seen: int
    files_read: int
    bytes_read: int
    threads: int
    removed: int
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


def database_listing_cwd(state: SummaryState, database: bool) -> dict[str, Any]:
    """``cwd`` of a thread in a listing Codex answers from its database (its rows follow the
    recorded settings' cwd) as a ``stored_from_summary`` field; nothing for other views."""
    if database and state.settings_cwd:
        return {"cwd": state.settings_cwd}
    return {}


def stored_from_summary(
    meta: SessionMeta, state: SummaryState, *, default_provider: str, **fields: Any
) -> StoredThread:
    """A StoredThread from a thread's session metadata and summary, as every backend builds it.

    ``fields`` gives what is backend-specific (path, name, times, archived, git, memory mode,
    history…) and overrides the derived defaults.
    """
    values: dict[str, Any] = {
        "thread_id": ThreadId(meta.id),
        "rollout_path": None,
        "preview": state.preview or "",
        "name": None,
        "created_at_ms": parse_timestamp_ms(meta.timestamp) or 0,
        "source": meta.source,
        "cwd": meta.cwd or state.first_turn_cwd or "",
        "cli_version": meta.cli_version,
        "originator": meta.originator,
        "model_provider": meta.model_provider or default_provider,
        "history_mode": meta.history_mode,
        "forked_from_id": meta.forked_from_id,
        "parent_thread_id": meta.parent_thread_id,
        "model": state.model,
        "reasoning_effort": state.reasoning_effort,
        "thread_source": meta.thread_source,
        "agent_nickname": meta.agent_nickname,
        "agent_role": meta.agent_role,
        "agent_path": meta.agent_path,
        "memory_mode": state.memory_mode or "enabled",
        "first_user_message": state.first_user_message,
        "title": state.title,
        "tokens_used": state.tokens_used,
        "settings_cwd": state.settings_cwd,
    }
    values.update(fields)
    return StoredThread(**values)

"""Turning an indexed file into a StoredThread."""

from __future__ import annotations

from threadloom.errors import CorruptData
from threadloom.ids import ThreadId
from threadloom.protocol.codec import parse_timestamp_ms
from threadloom.protocol.rollout import InvalidSessionMeta
from threadloom.store.local.index import FileRow
from threadloom.store.records import StoredThread, StoredThreadHistory


def stored_thread(
    row: FileRow,
    *,
    default_provider: str,
    listing: bool,
    history: StoredThreadHistory | None = None,
) -> StoredThread:
    """The record of one thread; ``listing`` picks the list (last non-empty) name rule."""
    state = row.state
    try:
        meta = state.meta()
    except InvalidSessionMeta as exc:
        raise CorruptData(str(exc)) from None
    if meta is None:
        raise CorruptData(f"rollout at {row.path} does not start with session metadata")
    created_ms = parse_timestamp_ms(meta.timestamp) or 0
    updated_ms = row.mtime_ns // 1_000_000
    git = state.git_info()
    return StoredThread(
        thread_id=ThreadId(meta.id),
        rollout_path=row.path,
        preview=state.preview or "",
        name=row.list_name if listing else row.read_name,
        created_at_ms=created_ms,
        updated_at_ms=updated_ms,
        recency_at_ms=updated_ms,
        source=meta.source,
        cwd=meta.cwd or state.first_turn_cwd or "",
        cli_version=meta.cli_version,
        originator=meta.originator,
        model_provider=meta.model_provider or default_provider,
        history_mode=meta.history_mode,
        forked_from_id=meta.forked_from_id,
        parent_thread_id=meta.parent_thread_id,
        model=state.model,
        reasoning_effort=state.reasoning_effort,
        archived=row.archived,
        thread_source=meta.thread_source,
        agent_nickname=meta.agent_nickname,
        agent_role=meta.agent_role,
        agent_path=meta.agent_path,
        git_info=None if git is None or git.is_empty else git,
        memory_mode=state.memory_mode or "enabled",
        first_user_message=state.first_user_message,
        title=state.title,
        tokens_used=state.tokens_used,
        history=history,
    )

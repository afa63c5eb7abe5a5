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
    scan_path: bool = False,
    history: StoredThreadHistory | None = None,
) -> StoredThread:
    """The record of one thread as ``thread/read`` (or, with ``listing``, ``thread/list``)
    shows it.

    ``listing`` picks the list name rule (last non-blank entry, trimmed) over the read rule
    (last entry as written). ``scan_path``: the listing is one Codex answers by scanning
    files, which shows the first session_meta's git overlaid by the last one.
    """
    state = row.state
    try:
        meta = state.meta()
    except InvalidSessionMeta as exc:
        raise CorruptData(str(exc)) from None
    if meta is None:
        raise CorruptData(f"rollout at {row.path} does not start with session metadata")
    created_ms = parse_timestamp_ms(meta.timestamp) or 0
    updated_ms = row.mtime_ns // 1_000_000
    git = state.scan_git_info() if listing and scan_path else state.git_info()
    return StoredThread(
        thread_id=ThreadId(meta.id),
        rollout_path=row.path,
        preview=state.preview or "",
        name=_name(row, listing),
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


def _name(row: FileRow, listing: bool) -> str | None:
    """The name from ``session_index.jsonl``; without one, the thread's title when it differs
    from its first user message and preview (Codex keeps the first user text as a title and
    shows a distinct one as the name: observed for image-only first messages, whose first
    user message and preview are ``[Image]``).

    A listing falls back when no entry is non-blank; a read only when there is no entry at
    all (a blank last entry means "no name").
    """
    if listing:
        if row.list_name is not None:
            return row.list_name
    elif row.named:
        return row.read_name
    state = row.state
    title = (state.title or "").strip()
    if not title or title in (state.first_user_message, state.preview):
        return None
    return title

"""The first ``session_meta`` line of a new thread, shared by every backend."""

from __future__ import annotations

import time
from typing import Any

from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import SESSION_META, HistoryMode, RolloutLine, order_session_meta
from threadloom.protocol.source import SessionSource
from threadloom.store.params import CreateThreadParams


def created_ms(params: CreateThreadParams) -> int:
    return params.created_at_ms if params.created_at_ms is not None else int(time.time() * 1000)


def session_meta_line(params: CreateThreadParams, now_ms: int | None = None) -> RolloutLine:
    """The session_meta a thread created with ``params`` starts with, in Codex's key order."""
    SessionSource.parse(params.source)  # fail early on a source Codex could not read back
    created = created_ms(params)
    payload: dict[str, Any] = {
        "session_id": params.thread_id,
        "id": params.thread_id,
        "timestamp": format_timestamp(created),
        "cwd": params.cwd,
        "originator": params.originator,
        "cli_version": params.cli_version,
        "source": params.source,
        "model_provider": params.model_provider,
        "base_instructions": params.base_instructions,
        "history_mode": params.history_mode.value,
    }
    optional: dict[str, Any] = {
        "forked_from_id": params.forked_from_id,
        "thread_source": params.thread_source,
        "agent_nickname": params.agent_nickname,
        "agent_role": params.agent_role,
        "agent_path": params.agent_path,
        "parent_thread_id": params.parent_thread_id,
        "dynamic_tools": params.dynamic_tools,
        "memory_mode": params.memory_mode,
    }
    payload.update({k: v for k, v in optional.items() if v is not None})
    payload.update(params.extra)
    if params.git is not None and not params.git.is_empty:
        payload["git"] = params.git.to_payload()
    line_ms = now_ms if now_ms is not None else created
    return RolloutLine(
        timestamp=format_timestamp(line_ms), type=SESSION_META, payload=order_session_meta(payload)
    )


def parent_meta_copy(payload: dict[str, Any], mode: HistoryMode, timestamp: str) -> RolloutLine:
    """The parent's session_meta as a fork re-serializes it (session_id and mode filled in)."""
    copy = dict(payload)
    copy.setdefault("session_id", copy.get("id"))
    copy.setdefault("history_mode", mode.value)
    return RolloutLine(timestamp=timestamp, type=SESSION_META, payload=order_session_meta(copy))

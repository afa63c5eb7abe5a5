"""The app-server ``Thread`` object and list/read results, built from store records.

Field order and derivations follow app-server-threads.md section 3, including the quirks
observed on Codex 0.169.0:

* ``forkedFromId`` is null in listings (its index has no such column); ``thread/read``
  shows it from the session metadata (``parentThreadId`` too: the store leaves that out of
  the listings Codex answers from its database);
* ``thread/read`` of a legacy thread with a non-empty preview describes it from its rollout:
  ``updatedAt == createdAt`` and ``threadSource`` null; paginated threads and legacy ones
  without a preview are described from the database row: the file's mtime, the session's
  ``thread_source``. A loaded thread is described the same way, from its live metadata;
* ``thread/read`` shows the ``cwd`` of the last recorded thread settings
  (``thread_settings_applied``), listings the session's;
* ``threadSource`` is null in listings;
* ``path`` names a compressed rollout without its ``.zst`` suffix;
* threads whose source is ``unknown`` or a sub-agent have no read state: ``readState: null``
  in ``thread/read``, no entry in ``thread/list``'s ``readStates``.
"""

from __future__ import annotations

from typing import Any

from threadloom.protocol.rollout import HistoryMode
from threadloom.store.records import StoredThread, ThreadPage

NOT_LOADED: dict[str, Any] = {"type": "notLoaded"}


def git_info_json(stored: StoredThread) -> dict[str, Any] | None:
    git = stored.git_info
    if git is None or git.is_empty:
        return None
    return {"sha": git.commit_hash, "branch": git.branch, "originUrl": git.repository_url}


def thread_json(
    stored: StoredThread,
    *,
    listing: bool,
    status: dict[str, Any] | None = None,
    turns: list[Any] | None = None,
) -> dict[str, Any]:
    """The Thread object as ``thread/list`` (``listing=True``) or ``thread/read`` emits it."""
    created = stored.created_at_ms // 1000
    updated = stored.updated_at_ms // 1000
    from_row = stored.history_mode == HistoryMode.PAGINATED or not stored.preview
    if not listing and not from_row:
        updated = created
    return {
        "id": stored.thread_id,
        "environments": None,
        "extra": None,
        "sessionId": stored.thread_id,
        "forkedFromId": None if listing else stored.forked_from_id,
        "attachedToThreadId": None,
        "parentThreadId": stored.parent_thread_id,
        "preview": stored.preview,
        "ephemeral": False,
        "section": None,
        "sectionEnteredAt": None,
        "projectId": None,
        "historyMode": stored.history_mode.value,
        "modelProvider": stored.model_provider,
        "model": stored.model,
        "reasoningEffort": stored.reasoning_effort,
        "createdAt": created,
        "updatedAt": updated,
        "recencyAt": stored.recency_at_ms // 1000,
        "status": status if status is not None else NOT_LOADED,
        "path": api_path(stored.rollout_path),
        "cwd": stored.cwd if listing else stored.settings_cwd or stored.cwd,
        "cliVersion": stored.cli_version,
        "originator": stored.originator,
        "source": stored.source.api(),
        "canAcceptDirectInput": None,
        "threadSource": stored.thread_source if from_row and not listing else None,
        "agentNickname": stored.agent_nickname,
        "agentRole": stored.agent_role,
        "gitInfo": git_info_json(stored),
        "name": stored.name,
        "daybreakEnabled": None,
        "turns": turns if turns is not None else [],
    }


def api_path(rollout_path: str | None) -> str | None:
    """The rollout path as the API reports it: a compressed file without ``.zst``."""
    if rollout_path is not None and rollout_path.endswith(".jsonl.zst"):
        return rollout_path[: -len(".zst")]
    return rollout_path


def read_state_json(stored: StoredThread) -> dict[str, Any]:
    """The read state of a thread first seen on disk."""
    return {"firstUnread": None, "revision": f"initial:{stored.thread_id}"}


def tracks_read_state(stored: StoredThread) -> bool:
    """Does the thread have a read state (not for ``unknown`` or sub-agent sources)?"""
    source = stored.source
    return not source.is_subagent and source.api() != "unknown"


def list_result_json(page: ThreadPage) -> dict[str, Any]:
    """The ``thread/list`` result object."""
    return {
        "data": [thread_json(t, listing=True) for t in page.items],
        "readStates": {t.thread_id: read_state_json(t) for t in page.items if tracks_read_state(t)},
        "nextCursor": page.next_cursor,
        "backwardsCursor": page.backwards_cursor,
    }


def read_result_json(stored: StoredThread, turns: list[Any] | None = None) -> dict[str, Any]:
    """The ``thread/read`` result object."""
    return {
        "thread": thread_json(stored, listing=False, turns=turns),
        "readState": read_state_json(stored) if tracks_read_state(stored) else None,
    }

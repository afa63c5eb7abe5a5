"""The rules of a metadata patch (``thread/metadata/update``) shared by stores: checking a
patch, applying its git part, and the session_meta copy a legacy thread gets (4.11)."""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import (
    SESSION_META,
    GitInfo,
    HistoryMode,
    RolloutLine,
    order_session_meta,
)
from threadloom.store.params import UNSET, GitInfoPatch, ThreadMetadataPatch, Unset

MEMORY_MODES = ("enabled", "disabled")


def validate_patch(patch: ThreadMetadataPatch) -> str | Unset | None:
    """Check a patch; its name, trimmed (or None / UNSET). Bad input: InvalidRequest."""
    if patch.git is not None and patch.git.is_empty:
        raise InvalidRequest("gitInfo must include at least one field")
    if patch.is_empty:
        raise InvalidRequest("thread metadata update must include at least one field")
    name = patch.name
    if isinstance(name, str):
        name = name.strip()
        if not name:
            raise InvalidRequest("thread name must not be empty")
    if patch.memory_mode is not UNSET and patch.memory_mode not in MEMORY_MODES:
        raise InvalidRequest(f"invalid memory mode: {patch.memory_mode}")
    return name


def patch_git(current: GitInfo | None, patch: GitInfoPatch | None) -> GitInfo | None:
    """Apply a three-state git patch (UNSET keeps, None clears, a string sets).

    Clearing every member leaves an empty GitInfo, written as ``"git":{}`` (4.11).
    """
    if patch is None:
        return current
    base = current or GitInfo()
    return GitInfo(
        commit_hash=base.commit_hash if patch.sha is UNSET else patch.sha,
        branch=base.branch if patch.branch is UNSET else patch.branch,
        repository_url=base.repository_url if patch.origin_url is UNSET else patch.origin_url,
    )


def meta_copy_line(
    meta_payload: dict[str, Any] | None,
    history_mode: HistoryMode,
    git: GitInfo | None,
    memory_mode: str,
    now: int,
) -> RolloutLine:
    """The complete session_meta copy Codex appends on a legacy metadata update (4.11)."""
    payload: dict[str, Any] = dict(meta_payload or {})
    payload["base_instructions"] = None
    payload["memory_mode"] = memory_mode
    payload["history_mode"] = history_mode.value
    payload.pop("git", None)
    if git is not None:
        payload["git"] = git.to_payload()
    return RolloutLine(
        timestamp=format_timestamp(now), type=SESSION_META, payload=order_session_meta(payload)
    )

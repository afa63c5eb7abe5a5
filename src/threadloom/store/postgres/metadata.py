"""Metadata patches of stored threads (``thread/metadata/update``): the memory store's rules.

A legacy thread gets a complete ``session_meta`` copy appended (rollout-format 4.11); a
paginated one keeps its git info and memory mode beside its lines, as Codex keeps them in its
database.
"""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import SESSION_META, GitInfo, RolloutLine, order_session_meta
from threadloom.store.params import UNSET, GitInfoPatch, ThreadMetadataPatch, Unset
from threadloom.store.postgres.rows import ThreadRow
from threadloom.store.postgres.writer import Prepared, prepare_line

MEMORY_MODES = ("enabled", "disabled")


def validate_patch(patch: ThreadMetadataPatch) -> str | Unset | None:
    """Check a patch (memory store's rules); its name, trimmed (or None / UNSET)."""
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


def _patch_git(current: GitInfo | None, patch: GitInfoPatch | None) -> GitInfo | None:
    """Apply a three-state git patch (UNSET keeps, None clears, a string sets)."""
    if patch is None:
        return current
    base = current or GitInfo()
    return GitInfo(
        commit_hash=base.commit_hash if patch.sha is UNSET else patch.sha,
        branch=base.branch if patch.branch is UNSET else patch.branch,
        repository_url=base.repository_url if patch.origin_url is UNSET else patch.origin_url,
    )


def _patched(row: ThreadRow, patch: ThreadMetadataPatch) -> tuple[GitInfo | None, str]:
    git = _patch_git(row.git(), patch.git)
    mode = row.memory_mode() if patch.memory_mode is UNSET else patch.memory_mode
    assert isinstance(mode, str)
    return git, mode


def override(row: ThreadRow, patch: ThreadMetadataPatch, now: int) -> None:
    """Keep a paginated thread's git / memory mode beside its lines (as Codex's database)."""
    if patch.git is None and patch.memory_mode is UNSET:
        return
    git, mode = _patched(row, patch)
    row.overridden = True
    row.override_git = None if git is None else git.to_payload()
    row.override_memory = mode
    row.updated_ms = now


def meta_copy(row: ThreadRow, patch: ThreadMetadataPatch, now: int) -> Prepared:
    """The complete session_meta copy Codex appends on a legacy metadata update (4.11)."""
    git, mode = _patched(row, patch)
    payload: dict[str, Any] = dict(row.state.meta_payload or {})
    payload["base_instructions"] = None
    payload["memory_mode"] = mode
    payload["history_mode"] = row.history_mode.value
    payload.pop("git", None)
    if git is not None:
        payload["git"] = git.to_payload()
    return prepare_line(
        RolloutLine(
            timestamp=format_timestamp(now), type=SESSION_META, payload=order_session_meta(payload)
        )
    )

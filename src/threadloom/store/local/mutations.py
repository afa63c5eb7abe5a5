"""Renaming, metadata patches, archive, unarchive and delete on a CODEX_HOME."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from threadloom.errors import Conflict, InvalidRequest, NotFound
from threadloom.ids import ThreadId
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.paths import parse_rollout_name, unarchived_relative_path
from threadloom.protocol.rollout import (
    SESSION_META,
    GitInfo,
    HistoryMode,
    RolloutLine,
    order_session_meta,
)
from threadloom.store.local import codex_state, names
from threadloom.store.local.index import FileRow, Index
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.locks import is_locked
from threadloom.store.local.writer import RolloutWriter, append_lines_locked
from threadloom.store.params import UNSET, GitInfoPatch, ThreadMetadataPatch


def no_rollout(thread_id: str) -> NotFound:
    return NotFound(f"no rollout found for thread id {thread_id}", thread_id)


def check_no_writer(home: CodexHome, thread_id: ThreadId) -> None:
    if is_locked(home.writer_locks, thread_id):
        raise Conflict(f"thread {thread_id} already has an active writer", thread_id)


def validate_name(name: str) -> str:
    trimmed = name.strip()
    if not trimmed:
        raise InvalidRequest("thread name must not be empty")
    return trimmed


def set_name(home: CodexHome, row: FileRow, name: str) -> None:
    """Append a rename to session_index.jsonl (and mirror it into Codex's database)."""
    meta = row.meta
    assert meta is not None
    names.append_name(home, meta.id, name)
    codex_state.renamed(
        home.root, meta.id, name, paginated=meta.history_mode == HistoryMode.PAGINATED
    )


def validate_patch(patch: ThreadMetadataPatch) -> None:
    if patch.is_empty:
        if patch.git is not None and patch.git.is_empty and patch.name is UNSET:
            raise InvalidRequest("gitInfo must include at least one field")
        raise InvalidRequest("thread metadata update must include at least one field")
    if isinstance(patch.name, str):
        validate_name(patch.name)
    if patch.memory_mode is not UNSET and patch.memory_mode not in ("enabled", "disabled"):
        raise InvalidRequest(f"invalid memory mode: {patch.memory_mode}")


def merged_git(current: GitInfo | None, patch: GitInfoPatch) -> GitInfo:
    base = current or GitInfo()

    def pick(old: str | None, new: object) -> str | None:
        return old if new is UNSET else new  # type: ignore[return-value]

    return GitInfo(
        commit_hash=pick(base.commit_hash, patch.sha),
        branch=pick(base.branch, patch.branch),
        repository_url=pick(base.repository_url, patch.origin_url),
    )


def update_metadata(
    home: CodexHome,
    index: Index,
    row: FileRow,
    patch: ThreadMetadataPatch,
    writer: RolloutWriter | None = None,
) -> None:
    """Apply a patch: git / memory mode as a trailing session_meta copy (legacy) or kept in
    the index and Codex's database (paginated, as Codex does), the name in session_index.

    ``writer``: this process's open writer of the thread, through which the copy is written.
    """
    meta = row.meta
    assert meta is not None
    assert row.state.meta_payload is not None
    touches_meta = patch.memory_mode is not UNSET or (
        patch.git is not None and not patch.git.is_empty
    )
    if touches_meta:
        if writer is None:
            check_no_writer(home, meta.id)
        if meta.history_mode == HistoryMode.PAGINATED:
            _update_paginated(home, index, row, patch)
            _set_name_patch(home, row, patch)
            return
        payload: dict[str, Any] = dict(row.state.meta_payload)
        payload["base_instructions"] = None
        mode = row.state.memory_mode or "enabled"
        payload["memory_mode"] = mode if patch.memory_mode is UNSET else patch.memory_mode
        payload["history_mode"] = meta.history_mode.value
        git = row.state.git_info()
        if patch.git is not None and not patch.git.is_empty:
            git = merged_git(git, patch.git)
        payload.pop("git", None)
        if git is not None:
            payload["git"] = git.to_payload()
        line = RolloutLine(
            timestamp=format_timestamp(int(time.time() * 1000)),
            type=SESSION_META,
            payload=order_session_meta(payload),
        )
        if writer is None:
            append_lines_locked(home.writer_locks, meta.id, Path(row.path), [line])
        else:
            writer.append([line], sync=True)
        codex_state.metadata_changed(
            home.root, meta.id, git, payload["memory_mode"], Path(row.path)
        )
    _set_name_patch(home, row, patch)


def _set_name_patch(home: CodexHome, row: FileRow, patch: ThreadMetadataPatch) -> None:
    if isinstance(patch.name, str):
        set_name(home, row, validate_name(patch.name))
    elif patch.name is None and row.thread_id is not None:
        names.append_name(home, row.thread_id, "")


def _update_paginated(
    home: CodexHome, index: Index, row: FileRow, patch: ThreadMetadataPatch
) -> None:
    """Paginated threads keep metadata out of the rollout (rollout-format 11.2 item 4)."""
    assert row.thread_id is not None
    git = row.state.git_info()
    if patch.git is not None and not patch.git.is_empty:
        git = merged_git(git, patch.git)
    mode = row.state.memory_mode or "enabled"
    mode = mode if patch.memory_mode is UNSET else patch.memory_mode
    # Codex's row first: when it exists it is read back as the truth for paginated threads
    codex_state.metadata_changed(home.root, row.thread_id, git, mode, Path(row.path))
    index.set_override(row.thread_id, None if git is None else git.to_payload(), mode)


def archive(home: CodexHome, row: FileRow) -> Path:
    """Move the rollout flat into archived_sessions/ (content and mtime unchanged)."""
    meta = row.meta
    assert meta is not None
    if row.archived:
        raise no_rollout(meta.id)
    check_no_writer(home, meta.id)
    source = Path(row.path)
    home.archived.mkdir(parents=True, exist_ok=True)
    target = home.archived / source.name
    if target.exists():
        raise Conflict(f"an archived rollout named {source.name} already exists", meta.id)
    os.rename(source, target)
    codex_state.moved(home.root, meta.id, target, archived=True)
    return target


def unarchive(home: CodexHome, row: FileRow) -> Path:
    """Move the rollout back under sessions/ (date from its name) and touch its mtime."""
    meta = row.meta
    assert meta is not None
    source = Path(row.path)
    parsed = parse_rollout_name(source.name)
    if not row.archived or parsed is None:
        raise NotFound(f"no archived rollout found for thread id {meta.id}", meta.id)
    check_no_writer(home, meta.id)
    target = home.root / unarchived_relative_path(parsed, source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise Conflict(f"a live rollout named {source.name} already exists", meta.id)
    os.rename(source, target)
    os.utime(target)
    codex_state.moved(home.root, meta.id, target, archived=False)
    return target


def delete(home: CodexHome, rows: list[FileRow], thread_id: ThreadId) -> list[Path]:
    """Remove every rollout file of the thread, its names and Codex's rows for it."""
    check_no_writer(home, thread_id)
    removed: list[Path] = []
    for row in rows:
        path = Path(row.path)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    names.remove_names(home, thread_id)
    codex_state.forget(home.root, thread_id)
    return removed

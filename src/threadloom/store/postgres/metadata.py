"""Metadata patches of stored threads (``thread/metadata/update``): the memory store's rules.

A legacy thread gets a complete ``session_meta`` copy appended (rollout-format 4.11); a
paginated one keeps its git info and memory mode beside its lines, as Codex keeps them in its
database.
"""

from __future__ import annotations

from threadloom.protocol.rollout import GitInfo
from threadloom.store.metadata_patch import meta_copy_line, patch_git
from threadloom.store.params import UNSET, ThreadMetadataPatch
from threadloom.store.postgres.rows import ThreadRow
from threadloom.store.postgres.writer import Prepared, prepare_line


def _patched(row: ThreadRow, patch: ThreadMetadataPatch) -> tuple[GitInfo | None, str]:
    git = patch_git(row.git(), patch.git)
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
    return prepare_line(meta_copy_line(row.state.meta_payload, row.history_mode, git, mode, now))

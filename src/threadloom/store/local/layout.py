"""Where things live in a CODEX_HOME, and finding rollout files on disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from threadloom.protocol.paths import (
    ARCHIVED_DIR,
    SESSION_INDEX,
    SESSION_INDEX_LOCK,
    SESSIONS_DIR,
    STATE_DB,
    WRITER_LOCKS_DIR,
    RolloutName,
    parse_rollout_name,
)

INDEX_DIR = "threadloom"
INDEX_FILE = "index_1.sqlite"
TURN_INDEX_DIR = "turns"
"""Saved turn indexes of big threads (``server/history/cache.py``)."""


@dataclass(frozen=True, slots=True)
class RolloutFile:
    """A rollout file found on disk (``path`` as a string: walks create thousands)."""

    path: str
    name: RolloutName
    archived: bool


class CodexHome:
    """The paths of one CODEX_HOME."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().absolute()
        self.sessions = self.root / SESSIONS_DIR
        self.archived = self.root / ARCHIVED_DIR
        self.session_index = self.root / SESSION_INDEX
        self.session_index_lock = self.root / SESSION_INDEX_LOCK
        self.writer_locks = self.root / WRITER_LOCKS_DIR
        self.state_db = self.root / STATE_DB
        self.index_dir = self.root / INDEX_DIR
        self.index_db = self.index_dir / INDEX_FILE
        self.turn_indexes = self.index_dir / TURN_INDEX_DIR

    @classmethod
    def from_env(cls, explicit: str | os.PathLike[str] | None = None) -> CodexHome:
        """``explicit``, else ``$CODEX_HOME``, else ``~/.codex``."""
        if explicit is not None:
            return cls(Path(explicit))
        env = os.environ.get("CODEX_HOME")
        return cls(Path(env) if env else Path.home() / ".codex")

    def iter_live(self) -> Iterator[RolloutFile]:
        """Rollouts under ``sessions/YYYY/MM/DD/`` (non-numeric folders ignored, as Codex does)."""
        for year in _numeric_dirs(self.sessions):
            for month in _numeric_dirs(year):
                for day in _numeric_dirs(month):
                    yield from _rollouts_in(day, archived=False)

    def iter_archived(self) -> Iterator[RolloutFile]:
        """Rollouts directly in ``archived_sessions/`` (flat)."""
        yield from _rollouts_in(self.archived, archived=True)

    def iter_all(self) -> Iterator[RolloutFile]:
        yield from self.iter_live()
        yield from self.iter_archived()

    def live_dirs(self) -> Iterator[Path]:
        """Every folder whose entries can hold live rollouts (for change detection)."""
        yield self.sessions
        for year in _numeric_dirs(self.sessions):
            yield year
            for month in _numeric_dirs(year):
                yield month
                yield from _numeric_dirs(month)

    def is_archived_path(self, path: Path) -> bool:
        return Path(path).parent == self.archived


def _numeric_dirs(parent: Path) -> list[Path]:
    try:
        entries = os.scandir(parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    with entries:
        found = [Path(e.path) for e in entries if e.name.isdigit() and e.is_dir()]
    found.sort()
    return found


def _rollouts_in(folder: Path, *, archived: bool) -> Iterator[RolloutFile]:
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            name = parse_rollout_name(entry.name)
            if name is not None and entry.is_file():
                yield RolloutFile(entry.path, name, archived)

"""Change notifications for a CODEX_HOME, so a warm index answers without re-statting every file.

On Linux an inotify watch on every rollout folder reports which files changed since the last
look; the index then re-checks just those. Where inotify is unavailable, or its queue
overflowed, the caller falls back to a full refresh, so the index is never stale.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadloom.protocol.paths import SESSION_INDEX, STATE_DB
from threadloom.store.local.index import METADATA_FILE
from threadloom.store.local.layout import CodexHome

try:
    from inotify_simple import INotify, flags
except ImportError:  # pragma: no cover - not Linux
    INotify = None
    flags = None


@dataclass(slots=True)
class Changes:
    """What changed since the last poll."""

    full: bool = False
    names: bool = False
    paths: set[Path] = field(default_factory=set)


class Watcher:
    """An inotify watch over the rollout folders of one home."""

    def __init__(self, home: CodexHome) -> None:
        if INotify is None:
            raise OSError("inotify is not available")
        self.home = home
        self._inotify: Any = INotify(nonblocking=True)
        self._dirs: dict[int, Path] = {}
        self._file_mask = (
            flags.CREATE
            | flags.MOVED_TO
            | flags.MOVED_FROM
            | flags.DELETE
            | flags.MODIFY
            | flags.ATTRIB
            | flags.CLOSE_WRITE
            | flags.DELETE_SELF
            | flags.MOVE_SELF
        )
        self.rewatch()

    def rewatch(self) -> None:
        """Watch every current folder (cheap for folders already watched)."""
        self._watch(self.home.root)
        self._watch(self.home.index_dir)
        for folder in (*self.home.live_dirs(), self.home.archived):
            self._watch(folder)

    def _watch(self, folder: Path) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, PermissionError):
            wd = self._inotify.add_watch(str(folder), self._file_mask)
            self._dirs[wd] = folder

    def poll(self) -> Changes:
        """Drain pending events (never blocks)."""
        changes = Changes()
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return changes
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                changes.full = True
                continue
            folder = self._dirs.get(event.wd)
            if folder is None:
                continue
            if event.mask & (flags.DELETE_SELF | flags.MOVE_SELF | flags.IGNORED):
                self._dirs.pop(event.wd, None)
                changes.full = True
                continue
            path = folder / event.name if event.name else folder
            if event.mask & flags.ISDIR:
                self._watch(path)  # a new date folder (files may already be in it)
                changes.full = True
                continue
            if folder == self.home.index_dir:
                changes.names = changes.names or event.name == METADATA_FILE
                continue
            if folder == self.home.root:
                if event.name == SESSION_INDEX or event.name.startswith(STATE_DB):
                    changes.names = True
                elif event.name in (self.home.sessions.name, self.home.archived.name):
                    self._watch(path)
                    changes.full = True
                continue
            changes.paths.add(path)
        return changes

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._inotify.close()

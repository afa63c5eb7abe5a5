"""Rollout file names and the CODEX_HOME layout (rollout-format sections 2, 3.2, 14).

Pure: builds and parses names; nothing here touches the disk.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from pathlib import PurePath

SESSIONS_DIR = "sessions"
ARCHIVED_DIR = "archived_sessions"
SESSION_INDEX = "session_index.jsonl"
SESSION_INDEX_LOCK = "session_index.jsonl.lock"
WRITER_LOCKS_DIR = "thread-writer-locks"
COORDINATION_LOCK = ".coordination.lock"
STATE_DB = "state_5.sqlite"
HISTORY_DB = "thread_history_1.sqlite"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NAME = re.compile(
    rf"rollout-(\d{{4}})-(\d{{2}})-(\d{{2}})T(\d{{2}})-(\d{{2}})-(\d{{2}})-(?:({_UUID})_)?({_UUID})"
    r"\.jsonl(\.zst)?"
)


@dataclass(frozen=True, slots=True)
class RolloutName:
    """The parts of a rollout file name."""

    year: int
    month: int
    day: int
    stamp: str
    """``YYYY-MM-DDThh-mm-ss`` exactly as in the name."""
    file_uuid: str
    """The last UUID of the name (what Codex matches a lookup against)."""
    thread_uuid: str
    """The thread part: the first UUID of a generation file, else the only one."""
    generation: str | None
    compressed: bool

    @property
    def sort_seconds(self) -> int:
        """The name's timestamp read as if it were UTC (how Codex orders file scans)."""
        hms = (int(self.stamp[11:13]), int(self.stamp[14:16]), int(self.stamp[17:19]))
        return calendar.timegm((self.year, self.month, self.day, *hms, 0, 0, 0))


def parse_rollout_name(name: str) -> RolloutName | None:
    """Parse ``rollout-…-<uuid>[_<uuid>].jsonl[.zst]``; None for any other name."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    year, month, day, hour, minute, second, first, last, zst = match.groups()
    stamp = f"{year}-{month}-{day}T{hour}-{minute}-{second}"
    thread = (first or last).lower()
    return RolloutName(
        year=int(year),
        month=int(month),
        day=int(day),
        stamp=stamp,
        file_uuid=last.lower(),
        thread_uuid=thread,
        generation=last.lower() if first else None,
        compressed=zst is not None,
    )


def rollout_file_name(thread_id: str, created_ms: int, generation: str | None = None) -> str:
    """The file name Codex gives a rollout created at ``created_ms`` (local wall-clock time)."""
    local = time.localtime(created_ms // 1000)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", local)
    suffix = f"{thread_id}_{generation}" if generation else thread_id
    return f"rollout-{stamp}-{suffix}.jsonl"


def rollout_relative_path(thread_id: str, created_ms: int) -> PurePath:
    """``sessions/YYYY/MM/DD/<name>`` with the date folders in local time."""
    local = time.localtime(created_ms // 1000)
    return PurePath(
        SESSIONS_DIR,
        f"{local.tm_year:04d}",
        f"{local.tm_mon:02d}",
        f"{local.tm_mday:02d}",
        rollout_file_name(thread_id, created_ms),
    )


def unarchived_relative_path(name: RolloutName, file_name: str) -> PurePath:
    """Where ``thread/unarchive`` puts a file back: date folders taken from its name."""
    return PurePath(
        SESSIONS_DIR, f"{name.year:04d}", f"{name.month:02d}", f"{name.day:02d}", file_name
    )

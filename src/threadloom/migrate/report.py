"""What a migration did, and how it reports progress."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: called as a migration goes (``total`` None: unknown)."""


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A ``Progress`` that shows nothing."""


@dataclass(slots=True)
class MigrationReport:
    """The outcome of one run: what was copied, skipped (unchanged) or failed, and the counts
    checked at the end (``expected`` from the source, ``found`` in the target)."""

    source: str
    target: str
    threads: int = 0
    copied: int = 0
    unchanged: int = 0
    spawn_edges: int = 0
    not_threads: list[str] = field(default_factory=list)
    """Rollout files of the source without usable session metadata (nothing to copy)."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(thread id, why) of each thread that could not be copied."""
    expected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Every thread copied and every count equal in the target."""
        return not self.failed and self.expected == self.found

    def mismatches(self) -> list[str]:
        """The counts that differ, as ``what: expected N, found M``."""
        return [
            f"{key}: expected {value}, found {self.found.get(key, 0)}"
            for key, value in self.expected.items()
            if self.found.get(key) != value
        ]


def display_url(url: str) -> str:
    """A connection URL or string as it may be shown: without its password."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        if parts.password is None:
            return url
        userinfo, _, hosts = parts.netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
        return urlunsplit(parts._replace(netloc=netloc))
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)

"""A live thread's metadata, kept in step with what it appends (above the store)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import msgspec

from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.store.records import StoredThread


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class LiveMetadata:
    """The store's record of the thread, with what appended lines changed laid over it.

    Preview, first user message, title, model and reasoning effort (from turn contexts and
    recorded settings), the settings' cwd and token usage follow the appended lines.
    ``updated_at_ms`` is the time of the last append; ``recency_at_ms`` the time of the last
    append that showed user activity (``SummaryState.activity_mark``: a turn started, not
    recorded settings nor injected items), as Codex moves a loaded thread's ``recencyAt``.
    Name, memory mode and git info come from the store's answers to metadata updates, which
    move neither time.
    """

    __slots__ = ("base", "recency_at_ms", "summary", "updated_at_ms")

    def __init__(self, base: StoredThread) -> None:
        self.base = base
        self.updated_at_ms = base.updated_at_ms
        self.recency_at_ms = base.recency_at_ms
        self.summary = SummaryState(
            meta_payload={"id": base.thread_id, "history_mode": base.history_mode.value},
            preview=base.preview or None,
            first_user_message=base.first_user_message,
            title=base.title,
            model=base.model,
            reasoning_effort=base.reasoning_effort,
            settings_cwd=base.settings_cwd,
            tokens_used=base.tokens_used,
        )

    def observe(self, lines: Iterable[RolloutLine]) -> None:
        """Fold in lines that are being persisted."""
        summary = self.summary
        before = summary.activity_mark()
        for line in lines:
            summary.feed(line.type, line.payload)
        now = max(self.updated_at_ms, now_ms())
        self.updated_at_ms = now
        if summary.activity_mark() != before:
            self.recency_at_ms = max(self.recency_at_ms, now)

    def replace_base(self, stored: StoredThread) -> None:
        """Take the store's newer record (after a metadata update), keeping the times."""
        self.base = msgspec.structs.replace(
            stored,
            updated_at_ms=self.base.updated_at_ms,
            recency_at_ms=self.base.recency_at_ms,
        )

    def current(self) -> StoredThread:
        summary = self.summary
        return msgspec.structs.replace(
            self.base,
            preview=summary.preview or "",
            first_user_message=summary.first_user_message,
            title=summary.title,
            model=summary.model,
            reasoning_effort=summary.reasoning_effort,
            settings_cwd=summary.settings_cwd,
            tokens_used=summary.tokens_used,
            updated_at_ms=max(self.base.updated_at_ms, self.updated_at_ms),
            recency_at_ms=max(self.base.recency_at_ms, self.recency_at_ms),
        )

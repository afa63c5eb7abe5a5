"""A stored thread's row: what it holds, how it is read, and the record callers see.

The row keeps the thread's listing summary (``SummaryState``, as every backend derives it)
and the columns listing filters and sorts on, derived from that summary. Names follow the
local store's rules (app-server-threads 5, rollout-format 14): a read shows the last name as
set (None once cleared), a listing the last non-blank one; without any, the thread's distinct
title.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from threadloom.errors import CorruptData
from threadloom.ids import ThreadId
from threadloom.protocol.codec import decode_json, encode_json
from threadloom.protocol.rollout import GitInfo, HistoryMode, InvalidSessionMeta, SessionMeta
from threadloom.protocol.summary import SummaryState
from threadloom.protocol.texts import TextState
from threadloom.store.records import (
    StoredThread,
    StoredThreadHistory,
    database_listing_cwd,
    stored_from_summary,
)

_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SummaryState)
_text_decoder = msgspec.msgpack.Decoder(TextState)

THREAD_COLUMNS = (
    "t.key, t.thread_id, t.meta, t.state, t.text_state, t.text_index, t.next_seq,"
    " t.next_ordinal, t.created_ms, t.updated_ms, t.recency_ms, t.archived, t.archived_at_ms,"
    " t.named, t.read_name, t.list_name, t.overridden, t.override_git, t.override_memory,"
    " t.torn_tail"
)
"""The columns ``ThreadRow.from_db`` reads, in order (table alias ``t``)."""


def pg_text(value: str | None) -> str | None:
    """A text PostgreSQL can hold (it refuses NUL characters): NULs become U+FFFD.

    Used only for the columns that filters compare; exact values live in bytea columns or
    in the stored lines.
    """
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd")


def encode_state(state: SummaryState) -> bytes:
    """The summary without its meta payload (kept once, in ``meta``)."""
    return _state_encoder.encode(msgspec.structs.replace(state, meta_payload=None))


def encode_text_state(state: TextState) -> bytes:
    return _state_encoder.encode(state)


def encode_meta(payload: dict[str, Any] | None) -> bytes:
    return encode_json(payload)


def _text(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).decode()


@dataclass(slots=True)
class ThreadRow:
    """One row of ``threads`` (decoded)."""

    key: int
    thread_id: ThreadId
    state: SummaryState
    text_state: TextState
    text_index: int
    next_seq: int
    next_ordinal: int | None
    created_ms: int
    updated_ms: int
    recency_ms: int
    archived: bool = False
    archived_at_ms: int | None = None
    named: bool = False
    read_name: str | None = None
    list_name: str | None = None
    overridden: bool = False
    override_git: dict[str, Any] | None = None
    override_memory: str | None = None
    torn_tail: bool = False
    """The last stored line is a torn line copied from a file (no newline after it)."""

    @classmethod
    def from_db(cls, r: tuple[Any, ...]) -> ThreadRow:
        """Decode a row selected with ``THREAD_COLUMNS``."""
        state = _state_decoder.decode(r[3])
        state.meta_payload = decode_json(bytes(r[2]))
        git = None if r[17] is None else decode_json(bytes(r[17]))
        return cls(
            key=r[0],
            thread_id=ThreadId(r[1]),
            state=state,
            text_state=_text_decoder.decode(r[4]),
            text_index=r[5],
            next_seq=r[6],
            next_ordinal=r[7],
            created_ms=r[8],
            updated_ms=r[9],
            recency_ms=r[10],
            archived=r[11],
            archived_at_ms=r[12],
            named=r[13],
            read_name=_text(r[14]),
            list_name=_text(r[15]),
            overridden=r[16],
            override_git=git if isinstance(git, dict) else None,
            override_memory=r[18],
            torn_tail=r[19],
        )

    def copy(self) -> ThreadRow:
        """A copy whose summary and text states can be fed without touching this one."""
        return ThreadRow(
            key=self.key,
            thread_id=self.thread_id,
            state=msgspec.structs.replace(self.state),
            text_state=msgspec.structs.replace(self.text_state),
            text_index=self.text_index,
            next_seq=self.next_seq,
            next_ordinal=self.next_ordinal,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
            recency_ms=self.recency_ms,
            archived=self.archived,
            archived_at_ms=self.archived_at_ms,
            named=self.named,
            read_name=self.read_name,
            list_name=self.list_name,
            overridden=self.overridden,
            override_git=self.override_git,
            override_memory=self.override_memory,
            torn_tail=self.torn_tail,
        )

    @property
    def meta(self) -> SessionMeta:
        try:
            meta = self.state.meta()
        except InvalidSessionMeta as exc:
            raise CorruptData(f"thread {self.thread_id}: {exc}") from None
        if meta is None:
            raise CorruptData(f"thread {self.thread_id} has no usable session metadata")
        return meta

    @property
    def history_mode(self) -> HistoryMode:
        return self.meta.history_mode

    def git(self, *, scan: bool = False) -> GitInfo | None:
        """Git info as read (``scan``: as Codex's file-scanning listing shows it)."""
        if self.overridden:
            git = GitInfo.from_payload(self.override_git)
        elif scan:
            git = self.state.scan_git_info()
        else:
            git = self.state.git_info()
        return None if git is None or git.is_empty else git

    def memory_mode(self) -> str:
        mode = self.override_memory if self.overridden else self.state.memory_mode
        return mode or "enabled"

    def name(self, *, listing: bool) -> str | None:
        if listing:
            return self.list_name if self.list_name is not None else self.state.distinct_title()
        return self.read_name if self.named else self.state.distinct_title()

    def record(
        self,
        *,
        default_provider: str,
        listing: bool = False,
        scan_path: bool = False,
        history: StoredThreadHistory | None = None,
    ) -> StoredThread:
        """The thread as ``thread/read`` shows it (``listing``: as ``thread/list`` does;
        ``scan_path``: a listing Codex answers by scanning files)."""
        meta = self.meta
        return stored_from_summary(
            meta,
            self.state,
            default_provider=default_provider,
            name=self.name(listing=listing),
            updated_at_ms=self.updated_ms,
            recency_at_ms=self.recency_ms or self.updated_ms,
            parent_thread_id=None if listing and not scan_path else meta.parent_thread_id,
            archived=self.archived,
            archived_at_ms=self.archived_at_ms,
            git_info=self.git(scan=listing and scan_path),
            **database_listing_cwd(self.state, listing and not scan_path),
            memory_mode=self.memory_mode(),
            history=history,
        )


def listing_columns(meta: SessionMeta, state: SummaryState) -> dict[str, Any]:
    """The columns listing filters on that the summary can change."""
    return {
        "preview": pg_text(state.preview) or None,
        "title_name": pg_text(state.distinct_title()),
        "cwd": pg_text(meta.cwd or state.first_turn_cwd or ""),
    }


def agent_path(meta: SessionMeta) -> str | None:
    """The agent path of a spawned sub-agent (its own, else its spawn source's)."""
    if meta.agent_path is not None:
        return meta.agent_path
    spawn = meta.source.spawn
    value = spawn.get("agent_path") if spawn is not None else None
    return value if isinstance(value, str) else None

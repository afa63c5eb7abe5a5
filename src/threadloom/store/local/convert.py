"""Turning an indexed file into a StoredThread."""

from __future__ import annotations

from pathlib import Path

import msgspec

from threadloom.errors import CorruptData
from threadloom.protocol.rollout import (
    RESPONSE_ITEM,
    SESSION_META,
    InvalidSessionMeta,
    SessionMeta,
    parse_history_mode,
)
from threadloom.store.local.index import FileRow
from threadloom.store.local.reader import iter_raw_lines, open_rollout
from threadloom.store.records import (
    StoredThread,
    StoredThreadHistory,
    database_listing_cwd,
    stored_from_summary,
)

_decoder = msgspec.json.Decoder()


def stored_thread(
    row: FileRow,
    *,
    default_provider: str,
    listing: bool,
    scan_path: bool = False,
    history: StoredThreadHistory | None = None,
) -> StoredThread:
    """The record of one thread as ``thread/read`` (or, with ``listing``, ``thread/list``)
    shows it.

    ``listing`` picks the list name rule (last non-blank entry, trimmed) over the read rule
    (last entry as written). ``scan_path``: the listing is one Codex answers by scanning
    files, which shows the first session_meta's git overlaid by the last one; listings
    answered from Codex's database show no parent thread and the recorded settings' cwd.
    """
    state = row.state
    try:
        meta = state.meta()
    except InvalidSessionMeta as exc:
        raise CorruptData(str(exc)) from None
    if meta is None:
        raise CorruptData(f"rollout at {row.path} does not start with session metadata")
    updated_ms = row.mtime_ns // 1_000_000
    git = state.scan_git_info() if listing and scan_path else state.git_info()
    return stored_from_summary(
        meta,
        state,
        default_provider=default_provider,
        rollout_path=row.path,
        name=_name(row, listing),
        updated_at_ms=updated_ms,
        recency_at_ms=updated_ms if row.recency_ms is None else row.recency_ms,
        parent_thread_id=None if listing and not scan_path else meta.parent_thread_id,
        archived=row.archived,
        git_info=None if git is None or git.is_empty else git,
        **database_listing_cwd(state, listing and not scan_path),
        history=history,
    )


def _name(row: FileRow, listing: bool) -> str | None:
    """The name from ``session_index.jsonl``; without one, the thread's distinct title.

    A listing falls back when no entry is non-blank; a read only when there is no entry at
    all (a blank last entry means "no name").
    """
    if listing:
        if row.list_name is not None:
            return row.list_name
    elif row.named:
        return row.read_name
    return row.state.distinct_title()


def read_failure_message(path: Path) -> str:
    """Codex's ``thread/read`` error text for a rollout whose session metadata it cannot use.

    Observed on 0.169.0 (``-32603``): a first line that is session metadata with an unknown
    ``history_mode`` names that error; a file holding no rollout line but (unusable) session
    metadata is "empty"; any other file is searched line by line for usable metadata
    (unusable ones are skipped), and the error, wrapped once more, says the rollout "does not
    start with session metadata" when a response item comes first, else that it "is empty".
    """
    shown = str(path)
    inner = f"thread-store internal error: failed to read session metadata {shown}: "
    outer = f"failed to read thread: {inner}"
    lines: list[bytes] = []
    with open_rollout(path) as stream:
        for _, raw, complete in iter_raw_lines(stream):
            if complete:
                lines.append(raw)
    decoded = [_envelope(raw) for raw in lines]
    first = decoded[0] if decoded else None
    if first is not None and first[0] == SESSION_META and isinstance(first[1], dict):
        try:
            parse_history_mode(first[1].get("history_mode"))
        except InvalidSessionMeta as exc:
            return f"{outer}{exc}"
    items = [line for line in decoded if line is not None]
    if all(kind == SESSION_META for kind, _ in items):
        return f"{outer}rollout at {shown} is empty"
    for kind, payload in items:
        if kind == RESPONSE_ITEM:
            return f"{outer}{inner}rollout at {shown} does not start with session metadata"
        if kind == SESSION_META:
            try:
                SessionMeta.from_payload(payload)
            except InvalidSessionMeta:
                continue
            break
    return f"{outer}{inner}rollout at {shown} is empty"


def _envelope(raw: bytes) -> tuple[str, object] | None:
    """(type, payload) of a rollout line, or None when the line is not one."""
    try:
        obj = _decoder.decode(raw)
    except msgspec.DecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or "payload" not in obj:
        return None
    return obj["type"], obj["payload"]

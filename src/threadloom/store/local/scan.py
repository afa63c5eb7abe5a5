"""Fast, resumable extraction of listing metadata and search texts from a rollout file.

A summary only depends on a few lines: the session_meta lines, the first user message (or
goal), the last turn_context, the last accepted thread settings, the last turn start and the
last token count. Those are found with memchr-speed searches for their quoted type names over
a memory map, and only the lines found are decoded and checked; every other byte is never
parsed. A quoted type name cannot occur inside a JSON string (its quotes would be escaped), so
the search misses no line, whatever its key order or spacing; a false hit is decoded, rejected
and skipped. A scan resumes from the byte offset where the previous one stopped, always just
after a complete line. Compressed rollouts are streamed line by line instead.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from threadloom.protocol.applied_settings import accepted_settings
from threadloom.protocol.policy import kept_on_read
from threadloom.protocol.rollout import RESPONSE_ITEM, SESSION_META, TURN_CONTEXT, HistoryMode
from threadloom.protocol.summary import RELEVANT_EVENTS, SummaryState
from threadloom.protocol.texts import TEXT_EVENTS, SearchText, TextState, extract
from threadloom.store.local.reader import iter_raw_lines, open_rollout

_decoder = msgspec.json.Decoder()

Buffer = mmap.mmap | bytes
Line = tuple[int, str, Any]
"""(offset of the line, rollout item type, payload) of a decoded line."""


def _decode(data: Buffer, start: int, end: int) -> tuple[str, Any] | None:
    """(type, payload) of the line ``data[start:end]``, or None when it is not a rollout line."""
    try:
        obj = _decoder.decode(data[start:end])
    except msgspec.DecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    if not isinstance(kind, str) or not isinstance(obj.get("timestamp"), str):
        return None
    if "payload" not in obj:
        return None
    return kind, obj["payload"]


def _payload_type(payload: Any) -> str | None:
    value = payload.get("type") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


class _Region:
    """The complete lines of a mapped file between two offsets."""

    def __init__(self, data: Buffer, start: int, end: int) -> None:
        self.data, self.start, self.end = data, start, end

    def bounds(self, at: int) -> tuple[int, int]:
        line_start = self.data.rfind(b"\n", self.start, at) + 1
        line_start = max(line_start, self.start)
        line_end = self.data.find(b"\n", at, self.end)
        return line_start, (self.end if line_end < 0 else line_end)

    def hits(
        self, marker: bytes, accept: Callable[[str, Any], bool], lo: int = -1, hi: int = -1
    ) -> Iterator[Line]:
        """Decoded lines containing ``marker`` that ``accept`` keeps, first to last."""
        pos = self.start if lo < 0 else lo
        stop = self.end if hi < 0 else hi
        while True:
            at = self.data.find(marker, pos, stop)
            if at < 0:
                return
            line_start, line_end = self.bounds(at)
            decoded = _decode(self.data, line_start, line_end)
            if decoded is not None and accept(*decoded):
                yield line_start, decoded[0], decoded[1]
            pos = line_end + 1

    def last(self, marker: bytes, accept: Callable[[str, Any], bool]) -> Line | None:
        """The last decoded line containing ``marker`` that ``accept`` keeps."""
        hi = self.end
        while True:
            at = self.data.rfind(marker, self.start, hi)
            if at < 0:
                return None
            line_start, line_end = self.bounds(at)
            decoded = _decode(self.data, line_start, line_end)
            if decoded is not None and accept(*decoded):
                return line_start, decoded[0], decoded[1]
            hi = line_start


def _is(kind: str) -> Callable[[str, Any], bool]:
    return lambda k, _p: k == kind


def _event(name: str) -> Callable[[str, Any], bool]:
    aliases = {"task_started": ("task_started", "turn_started")}.get(name, (name,))
    return lambda k, p: k == "event_msg" and _payload_type(p) in aliases


def _user_text(payload: Any) -> bool:
    message = payload.get("message") if isinstance(payload, dict) else None
    return isinstance(message, str) and bool(message.strip())


def _summary_lines(region: _Region, state: SummaryState) -> list[Line]:
    """The lines of ``region`` that can change ``state``, in file order."""
    lines: list[Line] = list(region.hits(b'"session_meta"', _is(SESSION_META)))
    if state.meta_payload is None and not state.invalid:
        meta_at = lines[0][0] if lines else region.end
        early = next(region.hits(b'"response_item"', _is(RESPONSE_ITEM), hi=meta_at), None)
        if early is not None:
            lines.append(early)
    preview_at = region.end
    if state.title is None or state.preview is None:
        for hit in region.hits(b'"user_message"', _event("user_message")):
            lines.append(hit)
            preview_at = min(preview_at, hit[0])
            if _user_text(hit[2]):
                break
    if state.preview is None:
        goal = next(
            region.hits(b'"thread_goal_updated"', _event("thread_goal_updated"), hi=preview_at),
            None,
        )
        if goal is not None:
            lines.append(goal)
        if _paginated(state, lines):
            for hit in region.hits(b'"item_completed"', _event("item_completed")):
                item = hit[2].get("item")
                if isinstance(item, dict) and item.get("type") == "UserMessage":
                    lines.append(hit)
                    break
    last_context = region.last(b'"turn_context"', _is(TURN_CONTEXT))
    if last_context is not None:
        lines.append(last_context)
        if state.first_turn_cwd is None:
            first = next(region.hits(b'"turn_context"', _is(TURN_CONTEXT)), None)
            if first is not None:
                lines.append(first)
    is_settings = _event("thread_settings_applied")
    settings = region.last(
        b'"thread_settings_applied"',
        lambda k, p: is_settings(k, p) and accepted_settings(p) is not None,
    )
    if settings is not None:
        lines.append(settings)
    started = region.last(b'"task_started"', _event("task_started"))
    after = _Region(region.data, started[0], region.end) if started is not None else region
    renamed = after.last(b'"turn_started"', _event("task_started"))  # the other spelling
    lines += [line for line in (started, renamed) if line is not None]
    tokens = region.last(
        b'"token_count"',
        lambda k, p: _event("token_count")(k, p) and isinstance(p.get("info"), dict),
    )
    if tokens is not None:
        lines.append(tokens)
    unique = {line[0]: line for line in lines}
    return [unique[at] for at in sorted(unique)]


def _paginated(state: SummaryState, lines: list[Line]) -> bool:
    meta = state.meta_payload
    if meta is None:
        meta = next((p for _, k, p in lines if k == SESSION_META and isinstance(p, dict)), None)
    return isinstance(meta, dict) and meta.get("history_mode") == HistoryMode.PAGINATED.value


def _mapped(path: Path) -> tuple[Buffer, int]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b"", 0
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), size


def _complete_end(data: Buffer, start: int, size: int) -> int:
    """Offset just after the last complete line at or after ``start`` (``start`` if none)."""
    last = data.rfind(b"\n", start, size)
    return start if last < 0 else last + 1


def scan_summary(
    path: Path, compressed: bool, state: SummaryState, offset: int, limit: int | None = None
) -> int:
    """Feed the complete lines from ``offset`` (up to ``limit``) into ``state``; new offset."""
    if compressed:
        return _stream(path, offset, lambda kind, payload, _i: state.feed(kind, payload))
    data, size = _mapped(path)
    if limit is not None:
        size = min(size, limit)
    try:
        end = _complete_end(data, offset, size)
        if end > offset:
            for _, kind, payload in _summary_lines(_Region(data, offset, end), state):
                state.feed(kind, payload)
        return end
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def scan_texts(
    path: Path, compressed: bool, state: TextState, offset: int
) -> tuple[int, list[SearchText], bool]:
    """Search texts of the complete lines from ``offset``: (new offset, texts, restarted).

    Implicit turn ids need every line's rollout index; when a message of an implicit turn is
    met on the fast path, the whole file is read again line by line (``restarted``).
    """
    if not compressed:
        data, size = _mapped(path)
        try:
            end = _complete_end(data, offset, size)
            fast = _fast_texts(_Region(data, offset, end), state)
            if fast is not None:
                return end, fast, False
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
    restart = offset != 0 and state.index is None
    start = 0 if restart else offset
    if restart:
        state.turn_id, state.explicit, state.index = None, False, 0
    out: list[SearchText] = []

    def feed(kind: str, payload: Any, index: int) -> None:
        text = extract(state, kind, payload, index)
        if text is not None:
            out.append(text)

    end = _stream(path, start, feed, state)
    return end, out, restart


def _fast_texts(region: _Region, state: TextState) -> list[SearchText] | None:
    """Texts found by marker search, or None when an implicit turn needs line indexes."""
    lines: list[Line] = []
    for name in sorted(TEXT_EVENTS | {"item_completed"}):
        lines.extend(region.hits(f'"{name}"'.encode(), _event(name)))
    lines.sort(key=lambda line: line[0])
    out: list[SearchText] = []
    for _, kind, payload in lines:
        if _payload_type(payload) == "user_message" and not state.explicit:
            return None
        text = extract(state, kind, payload, None)
        if text is not None:
            out.append(text)
    state.index = None
    return out


def _stream(
    path: Path,
    offset: int,
    feed: Callable[[str, Any, int], None],
    text_state: TextState | None = None,
) -> int:
    """Decode every relevant complete line from ``offset`` (compressed or odd files)."""
    index = text_state.index if text_state is not None and text_state.index is not None else 0
    end = offset
    relevant = RELEVANT_EVENTS | TEXT_EVENTS
    with open_rollout(path) as stream:
        if offset:
            _skip(stream, offset)
        for at, raw, complete in iter_raw_lines(stream, offset):
            if not complete:
                break
            end = at + len(raw) + 1
            decoded = _decode(raw, 0, len(raw)) if raw.strip() else None
            if decoded is None:
                continue
            kind, payload = decoded
            payload_type = _payload_type(payload)
            item = payload.get("item") if isinstance(payload, dict) else None
            item_type = item.get("type") if isinstance(item, dict) else None
            kept = kept_on_read(
                kind, payload_type, item_type if isinstance(item_type, str) else None
            )
            if kind != "event_msg" or payload_type in relevant:
                feed(kind, payload, index)
            if kept:
                index += 1
    if text_state is not None:
        text_state.index = index
    return end


def _skip(stream: Any, offset: int) -> None:
    try:
        stream.seek(offset)
    except (OSError, ValueError):
        remaining = offset
        while remaining:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

"""Fast, resumable extraction of listing metadata from a rollout file.

Only the lines that can change a summary (session_meta, turn_context and a few event types)
are decoded. Every other line is classified from its canonical prefix (``{"timestamp":…,
"type":…,"payload":{"type":…``) without parsing; a line whose prefix is not canonical is
decoded in full, so hand-written files are read correctly too. A scan resumes from the byte
offset where the previous one stopped, which is always just after a complete line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

import msgspec

from threadloom.protocol.policy import kept_on_read
from threadloom.protocol.rollout import EVENT_MSG, SESSION_META, TURN_CONTEXT
from threadloom.protocol.summary import RELEVANT_EVENTS, SummaryState

_PREFIX = re.compile(
    rb'\{"timestamp":"[^"\\]*",(?:"ordinal":-?\d+,)?"type":"([a-z_]+)","payload":'
    rb'(?:\{"type":"([A-Za-z_]+)")?'
)
_ALWAYS_DECODE = frozenset({SESSION_META.encode(), TURN_CONTEXT.encode()})
_EVENT = EVENT_MSG.encode()
_RELEVANT = frozenset(e.encode() for e in RELEVANT_EVENTS)
_CHUNK = 1 << 20
_decoder = msgspec.json.Decoder()


@dataclass(slots=True)
class ScanPosition:
    """Where a scan stopped: byte offset after the last complete line, and the rollout index."""

    offset: int = 0
    index: int = 0
    malformed: int = 0


def scan(stream: BinaryIO, state: SummaryState, position: ScanPosition) -> ScanPosition:
    """Feed every complete line from ``position.offset`` on into ``state``; return the new end."""
    offset, index, malformed = position.offset, position.index, position.malformed
    pending = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        data = pending + chunk if pending else chunk
        pos = 0
        end = len(data)
        while pos < end:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            if nl > pos:
                kept, bad = _line(data, pos, nl, state, index)
                index += kept
                malformed += bad
            offset += nl + 1 - pos
            pos = nl + 1
        pending = data[pos:]
    return ScanPosition(offset, index, malformed)


def _line(data: bytes, start: int, end: int, state: SummaryState, index: int) -> tuple[int, int]:
    """Apply one line; return (1 if it occupies a rollout index, 1 if it was malformed)."""
    match = _PREFIX.match(data, start, end)
    if match is not None:
        kind, payload_type = match.group(1), match.group(2)
        decode = kind in _ALWAYS_DECODE or (kind == _EVENT and payload_type in _RELEVANT)
        if not decode and kind == b"response_item" and state.meta_payload is None:
            state.feed("response_item", None, index)  # makes the file invalid (18.5)
            return 1, 0
        if not decode:
            kept = kept_on_read(kind.decode(), payload_type.decode() if payload_type else None)
            return (1 if kept else 0), 0
    raw = data[start:end]
    if not raw.strip():
        return 0, 0
    try:
        obj = _decoder.decode(raw)
    except msgspec.DecodeError:
        return 0, 1
    if not isinstance(obj, dict):
        return 0, 1
    kind_s, payload = obj.get("type"), obj.get("payload")
    if not isinstance(kind_s, str) or not isinstance(obj.get("timestamp"), str):
        return 0, 1
    payload_type = payload.get("type") if isinstance(payload, dict) else None
    item = payload.get("item") if isinstance(payload, dict) else None
    item_type = item.get("type") if isinstance(item, dict) else None
    kept = kept_on_read(
        kind_s,
        payload_type if isinstance(payload_type, str) else None,
        item_type if isinstance(item_type, str) else None,
    )
    state.feed(kind_s, payload, index)
    return (1 if kept else 0), 0

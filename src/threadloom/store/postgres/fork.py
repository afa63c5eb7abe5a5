"""What forks copy: a legacy fork's re-stamped lines, a paginated fork's inherited prefix.

The stored bytes are those of the rollout file, so both are computed as the local store
computes them from the file (rollout-format 16.1 and 16.2).
"""

from __future__ import annotations

import msgspec

from threadloom.errors import InvalidRequest
from threadloom.protocol.codec import decode_line
from threadloom.protocol.rollout import SESSION_META
from threadloom.store.postgres.rows import ThreadRow
from threadloom.store.postgres.writer import Prepared

_PREFIX = b'{"timestamp":"'
_STAMP_END = len(_PREFIX) + len("2025-01-01T00:00:00.000Z")


class _Envelope(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A line with its payload kept as raw JSON; encodes back in Codex's key order."""

    timestamp: str
    ordinal: int | None = None
    type: str
    payload: msgspec.Raw
    metadata: msgspec.Raw | None = None


_decode_envelope = msgspec.json.Decoder(_Envelope).decode
_encode_envelope = msgspec.json.Encoder().encode


def inherited_prefix(
    parent: ThreadRow, lines: list[bytes], end_ordinal: int | None
) -> tuple[int, int]:
    """``(end_ordinal_exclusive, end_byte_offset)`` a paginated fork of ``parent`` inherits:
    its lines below ``end_ordinal`` (None: all), measured in the bytes stored (those of the
    rollout file)."""
    offset = 0
    best = -1
    for raw in lines:
        ordinal = _ordinal(raw)
        if end_ordinal is not None and ordinal is not None and ordinal >= end_ordinal:
            if ordinal != end_ordinal:
                break
            return end_ordinal, offset
        if ordinal is not None:
            best = max(best, ordinal)
        offset += len(raw) + 1
    if end_ordinal is not None:
        raise InvalidRequest(f"ordinal {end_ordinal} is not a line of thread {parent.thread_id}")
    return best + 1, offset


class _Ordinal(msgspec.Struct):
    ordinal: int | None = None


_decode_ordinal = msgspec.json.Decoder(_Ordinal).decode


def _ordinal(raw: bytes) -> int | None:
    """A stored line's ordinal (None: none, or a line that is not JSON)."""
    try:
        return _decode_ordinal(raw).ordinal
    except msgspec.DecodeError:
        return None


def after_first_meta(lines: list[bytes]) -> list[bytes]:
    """The lines after the first session_meta (what a legacy fork copies) of readable lines
    (a copied file may hold lines before its session_meta)."""
    for n, raw in enumerate(lines):
        if decode_line(raw).type == SESSION_META:
            return lines[n + 1 :]
    return []


def restamped(raw: bytes, stamp: str) -> Prepared:
    """A copied line with the fork time as its timestamp, as the local store copies it: the
    same bytes with the timestamp replaced when the line is in canonical form, else the
    envelope written again around the payload's own bytes."""
    if raw.startswith(_PREFIX) and raw.find(b'"', len(_PREFIX)) == _STAMP_END:
        data = _PREFIX + stamp.encode() + raw[_STAMP_END:]
    else:
        envelope = _decode_envelope(raw)
        envelope.timestamp = stamp
        data = _encode_envelope(envelope)
    return Prepared(decode_line(data), data)

"""Pieces of forking shared by stores: the raw line envelope a legacy fork re-stamps
(rollout-format 16.1) and the prefix a paginated fork inherits (16.2)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class Envelope(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A line with its payload kept as raw JSON; encodes back in Codex's key order."""

    timestamp: str
    ordinal: int | None = None
    type: str
    payload: msgspec.Raw
    metadata: msgspec.Raw | None = None


decode_envelope = msgspec.json.Decoder(Envelope).decode
encode_envelope = msgspec.json.Encoder().encode

STAMP_PREFIX = b'{"timestamp":"'
"""How a line in Codex's canonical form starts; its timestamp follows."""
STAMP_END = len(STAMP_PREFIX) + len("2025-01-01T00:00:00.000Z")
"""Offset of the quote closing a canonical line's timestamp."""


class _Ordinal(msgspec.Struct):
    ordinal: int | None = None


_decode_ordinal = msgspec.json.Decoder(_Ordinal).decode


def line_ordinal(raw: bytes) -> int | None:
    """A raw line's ordinal (None: none, or a line that is not JSON)."""
    try:
        return _decode_ordinal(raw).ordinal
    except msgspec.DecodeError:
        return None


def inherited_end(
    lines: Iterable[tuple[int | None, int]], end_ordinal: int | None
) -> tuple[int, int] | None:
    """``(end_ordinal_exclusive, end_byte_offset)`` a paginated fork inherits of its parent's
    lines, given as ``(ordinal, length without the newline)`` in order: the lines below
    ``end_ordinal`` (None: all, ending at the parent's next ordinal, ``max + 1``).

    None when ``end_ordinal`` is not the ordinal of one of the lines.
    """
    offset = 0
    best = -1
    for ordinal, length in lines:
        if end_ordinal is not None and ordinal is not None and ordinal >= end_ordinal:
            if ordinal != end_ordinal:
                break
            return end_ordinal, offset
        if ordinal is not None:
            best = max(best, ordinal)
        offset += length + 1
    if end_ordinal is not None:
        return None
    return best + 1, offset

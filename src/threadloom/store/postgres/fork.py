"""What forks copy: a legacy fork's re-stamped lines, a paginated fork's inherited prefix.

The stored bytes are those of the rollout file, so both are computed as the local store
computes them from the file (rollout-format 16.1 and 16.2).
"""

from __future__ import annotations

from threadloom.errors import InvalidRequest
from threadloom.protocol.codec import decode_line
from threadloom.protocol.rollout import SESSION_META
from threadloom.store.fork_lines import (
    STAMP_END,
    STAMP_PREFIX,
    decode_envelope,
    encode_envelope,
    inherited_end,
    line_ordinal,
)
from threadloom.store.postgres.rows import ThreadRow
from threadloom.store.postgres.writer import Prepared


def inherited_prefix(
    parent: ThreadRow, lines: list[bytes], end_ordinal: int | None
) -> tuple[int, int]:
    """``(end_ordinal_exclusive, end_byte_offset)`` a paginated fork of ``parent`` inherits:
    its lines below ``end_ordinal`` (None: all), measured in the bytes stored (those of the
    rollout file)."""
    end = inherited_end(((line_ordinal(raw), len(raw)) for raw in lines), end_ordinal)
    if end is None:
        raise InvalidRequest(f"ordinal {end_ordinal} is not a line of thread {parent.thread_id}")
    return end


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
    if raw.startswith(STAMP_PREFIX) and raw.find(b'"', len(STAMP_PREFIX)) == STAMP_END:
        data = STAMP_PREFIX + stamp.encode() + raw[STAMP_END:]
    else:
        envelope = decode_envelope(raw)
        envelope.timestamp = stamp
        data = encode_envelope(envelope)
    return Prepared(decode_line(data), data)

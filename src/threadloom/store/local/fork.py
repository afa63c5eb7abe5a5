"""Forks in the local store: copying a legacy thread's history into a new rollout (the fork
layout of rollout-format 16.1), and the parent prefix a paginated fork inherits (16.2).

The child's file holds its own session_meta, the parent's first session_meta, then the
parent's lines up to the cut, each with the fork time as its timestamp. Lines are copied as
bytes straight from a memory map of the parent: each line's envelope is validated (the
payload is checked, not decoded) and, for lines in Codex's canonical form, only the
timestamp is replaced, so forking a large thread costs little more than copying its bytes.
Malformed and torn lines are dropped.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from threadloom.errors import InvalidRequest
from threadloom.protocol.rollout import EVENT_MSG, SESSION_META, TURN_CONTEXT
from threadloom.protocol.summary import SummaryState
from threadloom.store.fork_lines import (
    STAMP_END,
    STAMP_PREFIX,
    decode_envelope,
    encode_envelope,
    inherited_end,
    line_ordinal,
)
from threadloom.store.local.reader import iter_raw_lines, open_rollout

Chunk = bytes | memoryview


_decode_payload = msgspec.json.Decoder().decode
_SUMMARY_KINDS = frozenset({EVENT_MSG, TURN_CONTEXT, SESSION_META})
"""Kinds whose lines can change a summary (response items cannot once the meta is read)."""


@contextlib.contextmanager
def _contents(source: Path) -> Iterator[bytes | mmap.mmap]:
    if source.name.endswith(".zst"):
        with open_rollout(source) as stream:
            yield stream.read()
        return
    with open(source, "rb") as f:
        if f.seek(0, 2) == 0:
            yield b""
            return
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield mapped
    finally:
        with contextlib.suppress(BufferError):  # a view still alive: closed when collected
            mapped.close()


@contextlib.contextmanager
def copied_history(
    source: Path, keep: int | None, timestamp: str, summary: SummaryState
) -> Iterator[list[Chunk]]:
    """The source's lines after its first session_meta (the first ``keep``), re-stamped, as
    chunks to write in order (newlines included); valid inside the ``with`` block only.

    The lines that can change a listing summary are fed into ``summary`` on the way.
    """
    head = STAMP_PREFIX + timestamp.encode() + b'"'
    if len(head) != STAMP_END + 1:
        raise ValueError(f"not a canonical timestamp: {timestamp}")
    with _contents(source) as data:
        chunks = _chunks(data, keep, head, timestamp, summary)
        try:
            yield chunks
        finally:
            chunks.clear()


def _chunks(
    data: bytes | mmap.mmap, keep: int | None, head: bytes, timestamp: str, summary: SummaryState
) -> list[Chunk]:
    view = memoryview(data)
    chunks: list[Chunk] = []
    copied = 0
    seen_meta = False
    pos, size = 0, len(data)
    while pos < size and (keep is None or copied < keep):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break  # a torn last line
        start, pos = pos, nl + 1
        try:
            envelope = decode_envelope(view[start:nl])
        except msgspec.DecodeError:
            continue
        if not seen_meta:
            seen_meta = envelope.type == SESSION_META
            continue
        if envelope.type in _SUMMARY_KINDS:
            summary.feed(envelope.type, _decode_payload(envelope.payload))
        first_quote = data.find(b'"', start + len(STAMP_PREFIX), nl)
        prefix = data[start : start + len(STAMP_PREFIX)]
        if first_quote == start + STAMP_END and prefix == STAMP_PREFIX:
            # canonical envelope: the same bytes with the timestamp replaced
            chunks += (head, view[start + STAMP_END + 1 : nl + 1])
        else:
            envelope.timestamp = timestamp
            chunks.append(encode_envelope(envelope) + b"\n")
        copied += 1
    return chunks


def inherited_prefix(source: Path, end_ordinal: int | None) -> tuple[int, int]:
    """``(end_ordinal_exclusive, end_byte_offset)`` of the prefix of a paginated parent that a
    fork inherits (rollout-format 16.2): the lines below ``end_ordinal`` (None: every complete
    line, ending at the parent's next ordinal, ``max + 1``)."""
    with open_rollout(source) as stream:
        end = inherited_end(_complete_lines(stream), end_ordinal)
    if end is None:
        raise InvalidRequest(f"ordinal {end_ordinal} is not a line of {source.name}")
    return end


def _complete_lines(stream: BinaryIO) -> Iterator[tuple[int | None, int]]:
    """``(ordinal, length)`` of each line before a torn last one (not part of the history)."""
    for _, raw, complete in iter_raw_lines(stream):
        if not complete:
            return
        yield line_ordinal(raw), len(raw)

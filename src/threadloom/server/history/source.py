"""Where a thread's history lines come from: rollout files read from byte offsets, or any store.

A ``Source`` yields the lines a thread's turns are rebuilt from, in replay order, each with a
*position*: an integer that orders the lines and from which reading can resume. For the local
store (the fast path) a position is a byte offset in a rollout file, so resuming reads only what
follows; a paginated fork or generation first yields its ancestors' lines below
``history_base.end_byte_offset`` (app-server-threads 6.9), each file being one *segment*
(position = segment number * 2**44 + byte offset). Any other store is read through its public
``load_history``: positions are line numbers in that list.

``lineage`` describes the segments for cursor checks: a keyset cursor must name an ordinal
strictly between a segment's ``session_meta`` ordinal and its end (observed on Codex 0.169.0;
anything else is "position outside thread lineage").
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from threadloom.protocol.codec import LineError, decode_line, encode_line
from threadloom.protocol.rollout import SESSION_META, RolloutLine
from threadloom.protocol.turns import HistoryBase, history_base
from threadloom.store.local.reader import open_rollout

SEGMENT = 1 << 44
"""Positions of segment ``k`` start at ``k * SEGMENT``."""
SIGNATURE_BYTES = 256
READ_CHUNK = 1 << 16
"""Bytes read at a time: a page needs a few dozen kilobytes past its checkpoint."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """One rollout of a thread's lineage, for cursor checks."""

    meta_ordinal: int
    """Ordinal of the segment's ``session_meta`` line."""
    end_ordinal: int | None
    """First ordinal not inherited from it (None: the thread's own file, open-ended)."""

    def holds(self, ordinal: int) -> bool:
        return self.meta_ordinal < ordinal and (
            self.end_ordinal is None or ordinal < self.end_ordinal
        )


ResolveBase = Callable[[HistoryBase, Path], "Path | None"]
"""Finds the rollout a ``history_base`` points into (None: not found)."""

Line = tuple[int, int, RolloutLine]
"""``(start, end, line)``: the positions just before and just after a line."""


class Source(ABC):
    """A thread's history lines, readable from any position a previous read returned."""

    lineage: list[SegmentInfo]
    key: tuple[object, ...]
    """What the lines are: a source with another key is another history (rebuild)."""

    @abstractmethod
    def lines(self, start: int) -> Iterator[Line]:
        """The decodable lines from ``start`` (a position returned earlier, or 0)."""

    @abstractmethod
    def read_at(self, start: int) -> RolloutLine | None:
        """The line starting at ``start`` (None if it cannot be read)."""

    @abstractmethod
    def signature(self, end: int) -> bytes:
        """A fingerprint of what lies just before ``end`` (unchanged by appends)."""

    def grown_since(self, end: int, size_hint: int) -> bool:
        """Might there be lines after ``end``? (``size_hint``: what the index saw)."""
        return True

    @property
    def size_hint(self) -> int:
        return 0


# -- files -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileSegment:
    path: Path
    end: int | None
    """Read lines starting before this byte offset (None: every complete line)."""
    identity: tuple[int, int]
    """``(st_dev, st_ino)`` when the lineage was resolved."""


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def _open_at(path: Path, offset: int) -> BinaryIO:
    stream = open_rollout(path)
    if not path.name.endswith(".zst"):
        stream.seek(offset)
        return stream
    remaining = offset  # compressed: decompress and drop what comes before
    while remaining > 0:
        chunk = stream.read(min(READ_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
    return stream


def file_lines(
    path: Path, start: int, end: int | None, chunk: int = READ_CHUNK
) -> Iterator[tuple[int, int, bytes]]:
    """``(start, end, raw)`` of the complete lines of ``path`` from byte ``start``.

    Lines starting at or after ``end`` are not read; a torn last line is never yielded. Reads
    ``chunk`` bytes at a time (a page reads little past its last line); a line longer than
    that is gathered in parts, never copied again per chunk.
    """
    with _open_at(path, start) as stream:
        offset = start
        parts: list[bytes] = []
        while True:
            data = stream.read(chunk)
            if not data:
                return
            pos = 0
            while True:
                if end is not None and offset >= end:
                    return
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                raw = data[pos:nl]
                if parts:
                    parts.append(raw)
                    raw = b"".join(parts)
                    parts = []
                after = offset + len(raw) + 1
                yield offset, after, raw
                offset = after
                pos = nl + 1
            if pos < len(data):
                parts.append(data[pos:])


def _decoded(raw: bytes) -> RolloutLine | None:
    if not raw.strip():
        return None
    try:
        return decode_line(raw)
    except LineError:
        return None


class FileSource(Source):
    """The local store's fast path: rollout files read from byte offsets."""

    def __init__(self, segments: list[FileSegment], lineage: list[SegmentInfo]) -> None:
        self.segments = segments
        self.lineage = lineage
        self.key = ("files", *((str(s.path), s.identity, s.end) for s in segments))

    @property
    def own(self) -> FileSegment:
        return self.segments[-1]

    def lines(self, start: int) -> Iterator[Line]:
        first, offset = divmod(start, SEGMENT)
        for number in range(first, len(self.segments)):
            segment = self.segments[number]
            base = number * SEGMENT
            for begin, after, raw in file_lines(segment.path, offset, segment.end):
                line = _decoded(raw)
                if line is not None:
                    yield base + begin, base + after, line
            offset = 0

    def read_at(self, start: int) -> RolloutLine | None:
        number, offset = divmod(start, SEGMENT)
        segment = self.segments[number]
        for _, _, raw in file_lines(segment.path, offset, None):
            return _decoded(raw)
        return None

    def signature(self, end: int) -> bytes:
        number, offset = divmod(end, SEGMENT)
        if number != len(self.segments) - 1:
            return b""
        path = self.own.path
        begin = max(0, offset - SIGNATURE_BYTES)
        with _open_at(path, begin) as stream:
            data = stream.read(offset - begin)
        return data if len(data) == offset - begin else b"\0truncated"

    def bytes_before(self, position: int) -> int:
        """How many bytes of the files are replayed to reach ``position``."""
        number, offset = divmod(position, SEGMENT)
        return sum(s.end or 0 for s in self.segments[:number]) + offset

    @property
    def size_hint(self) -> int:
        try:
            return os.stat(self.own.path).st_size
        except OSError:
            return -1

    def grown_since(self, end: int, size_hint: int) -> bool:
        return self.size_hint != size_hint


def first_meta(path: Path) -> RolloutLine | None:
    """The first decodable ``session_meta`` line of a rollout (None: there is none)."""
    for _, _, raw in file_lines(path, 0, None):
        line = _decoded(raw)
        if line is not None and line.type == SESSION_META:
            return line
    return None


def _segment_info(meta: RolloutLine | None, end_ordinal: int | None) -> SegmentInfo:
    ordinal = meta.ordinal if meta is not None and meta.ordinal is not None else 0
    return SegmentInfo(ordinal, end_ordinal)


def file_source(path: Path, resolve_base: ResolveBase) -> FileSource:
    """The source of the thread whose own rollout is ``path``; ``resolve_base`` finds the file
    a ``history_base`` names (None: unknown, the inherited lines are then left out)."""
    chain: list[tuple[Path, int | None, RolloutLine | None, int | None]] = []
    current, end_offset, end_ordinal = path, None, None
    seen: set[Path] = set()
    while True:
        meta = first_meta(current)
        chain.append((current, end_offset, meta, end_ordinal))
        seen.add(current.resolve())
        base = history_base(meta) if meta is not None else None
        if base is None:
            break
        parent = resolve_base(base, current)
        if parent is None or parent.resolve() in seen:
            break
        current, end_offset, end_ordinal = parent, base.end_byte_offset, base.end_ordinal_exclusive
    chain.reverse()
    segments = [FileSegment(p, end, _identity(p)) for p, end, _, _ in chain]
    lineage = [_segment_info(meta, end_ord) for _, _, meta, end_ord in chain]
    return FileSource(segments, lineage)


# -- any store -----------------------------------------------------------------------------------


class ListSource(Source):
    """Lines a store returned (``load_history``); positions are line numbers."""

    def __init__(
        self, thread_id: str, lines: list[RolloutLine], lineage: list[SegmentInfo]
    ) -> None:
        self._lines = lines
        self.lineage = lineage
        self.key = ("store", thread_id)

    def lines(self, start: int) -> Iterator[Line]:
        for number in range(start, len(self._lines)):
            yield number, number + 1, self._lines[number]

    def read_at(self, start: int) -> RolloutLine | None:
        return self._lines[start] if 0 <= start < len(self._lines) else None

    def signature(self, end: int) -> bytes:
        if end == 0:
            return b""
        if end > len(self._lines):
            return b"\0truncated"
        return encode_line(self._lines[end - 1])

    @property
    def size_hint(self) -> int:
        return len(self._lines)

    def grown_since(self, end: int, size_hint: int) -> bool:
        return len(self._lines) != size_hint


def list_lineage(lines: list[RolloutLine]) -> SegmentInfo:
    meta = next((line for line in lines if line.type == SESSION_META), None)
    return _segment_info(meta, None)


def inherited_lines(parent: list[RolloutLine], base: HistoryBase) -> list[RolloutLine]:
    """A parent's lines a child inherits, by ordinal (stores without byte offsets)."""
    return [
        line
        for line in parent
        if line.ordinal is not None and line.ordinal < base.end_ordinal_exclusive
    ]

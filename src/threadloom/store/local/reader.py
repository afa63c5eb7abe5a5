"""Streaming rollout reading: constant memory, tolerant of blank, malformed and torn lines."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from threadloom.protocol.codec import LineError, decode_line
from threadloom.protocol.rollout import RolloutLine

CHUNK = 1 << 20


@dataclass(slots=True)
class ReadStats:
    """What a read skipped: counts and the 1-based numbers of bad lines (first 100)."""

    lines: int = 0
    blank: int = 0
    malformed: int = 0
    torn: bool = False
    bad_lines: list[int] = field(default_factory=list)

    def note_bad(self, number: int) -> None:
        self.malformed += 1
        if len(self.bad_lines) < 100:
            self.bad_lines.append(number)


def open_rollout(path: Path) -> BinaryIO:
    """Open a rollout for reading; ``.zst`` files are decompressed on the fly."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    if path.name.endswith(".zst"):
        import zstandard  # noqa: PLC0415 - only needed for compressed rollouts

        reader: BinaryIO = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return reader
    return raw


def iter_line_views(stream: BinaryIO, start: int = 0) -> Iterator[tuple[int, memoryview, bool]]:
    """Yield ``(offset, line_without_newline, complete)`` from ``start``, each line a view into
    the chunk it was read in (no copy); chunked reads.

    The last line is ``complete=False`` when the file does not end with a newline (torn).
    """
    offset = start
    pending = b""
    while chunk := stream.read(CHUNK):
        data = pending + chunk if pending else chunk
        view = memoryview(data)
        pos = 0
        while (nl := data.find(b"\n", pos)) >= 0:
            yield offset, view[pos:nl], True
            offset += nl - pos + 1
            pos = nl + 1
        pending = data[pos:]
    if pending:
        yield offset, memoryview(pending), False


def iter_raw_lines(stream: BinaryIO, start: int = 0) -> Iterator[tuple[int, bytes, bool]]:
    """``iter_line_views`` with each line's bytes."""
    for offset, line, complete in iter_line_views(stream, start):
        yield offset, line.tobytes(), complete


def iter_lines(path: Path, stats: ReadStats | None = None) -> Iterator[RolloutLine]:
    """Every decodable line of a rollout in order; blank, malformed and torn lines skipped.

    Lines are decoded where they lie in each chunk read (no copy of their bytes)."""
    stats = stats if stats is not None else ReadStats()
    with open_rollout(path) as stream:
        for number, (_, line, complete) in enumerate(iter_line_views(stream), start=1):
            stats.lines += 1
            if not complete:
                stats.torn = True
                continue
            try:
                yield decode_line(line)
            except LineError:
                if line.tobytes().strip():
                    stats.note_bad(number)
                else:
                    stats.blank += 1


def ends_with_newline(path: Path) -> bool:
    """True for an empty file or one whose last byte is ``\\n``."""
    with open(path, "rb") as f:
        f.seek(0, io.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, io.SEEK_END)
        return f.read(1) == b"\n"


TAIL_BLOCK = 1 << 18


def tail_lines(path: Path, count: int) -> list[RolloutLine]:
    """The last ``count`` decodable lines, read backwards from the end of the file.

    A torn last line is skipped, as when reading forwards.
    """
    if count <= 0:
        return []
    if path.name.endswith(".zst"):
        from collections import deque  # noqa: PLC0415 - compressed files only

        return list(deque(iter_lines(path), maxlen=count))
    found: list[RolloutLine] = []
    with open(path, "rb") as f:
        pos = f.seek(0, io.SEEK_END)
        rest = b""
        tail_pending = True  # the text after the last newline (empty, or a torn line)
        while pos > 0 and len(found) < count:
            start = max(0, pos - TAIL_BLOCK)
            f.seek(start)
            data = f.read(pos - start) + rest
            pos = start
            parts = data.split(b"\n")
            if tail_pending:
                if len(parts) == 1 and pos > 0:
                    rest = data
                    continue
                parts.pop()
                tail_pending = False
            if pos > 0:
                rest = parts[0]
                parts = parts[1:]
            for raw in reversed(parts):
                if len(found) >= count:
                    break
                if not raw.strip():
                    continue
                try:
                    found.append(decode_line(raw))
                except LineError:
                    continue
    found.reverse()
    return found

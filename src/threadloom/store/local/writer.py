"""Appending to rollout files: whole lines only, never rewriting, under the writer lock.

A torn last line (no trailing newline) is closed with ``\\n`` before the first new line, so
the fragment stays an isolated, skipped line (rollout-format 12.3).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from threadloom.errors import Conflict, CorruptData
from threadloom.ids import ThreadId
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.store.local.locks import WriterLock
from threadloom.store.local.reader import iter_lines, open_rollout


@dataclass(slots=True)
class RolloutWriter:
    """The open writer of one thread: its lock, its file, and what is still to materialise."""

    thread_id: ThreadId
    path: Path
    lock: WriterLock
    history_mode: HistoryMode
    meta_line: RolloutLine | None = None
    """The session_meta to write first, while the thread is not yet on disk."""
    next_ordinal: int | None = None
    released: bool = False
    written: int = 0
    dirty: bool = False
    _fd: int | None = field(default=None, repr=False)

    @property
    def materialized(self) -> bool:
        return self.meta_line is None

    def check_open(self) -> None:
        if self.released:
            raise Conflict(f"the writer of thread {self.thread_id} was released", self.thread_id)

    def append(self, lines: Iterable[RolloutLine]) -> None:
        """Write lines after the current end (materialising first if needed)."""
        self.check_open()
        out: list[bytes] = []
        if self.meta_line is not None:
            out.append(self._encode(self.meta_line))
        out.extend(self._encode(line) for line in lines)
        if not out:
            return
        fd = self._open()
        payload = b"\n".join(out) + b"\n"
        if self.written == 0 and not _ends_clean(fd):
            payload = b"\n" + payload
        _write_all(fd, payload)
        self.written += len(payload)
        self.meta_line = None
        self.dirty = True

    def persist(self) -> None:
        """Materialise now: write the pending session_meta."""
        if self.meta_line is not None:
            self.append(())

    def flush(self) -> None:
        """Make everything written durable (fsync)."""
        if self._fd is not None and self.dirty:
            os.fsync(self._fd)
            self.dirty = False

    def close(self, *, flush: bool = True) -> None:
        if self.released:
            return
        try:
            if flush:
                self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.lock.release()
            self.released = True

    def _encode(self, line: RolloutLine) -> bytes:
        if self.history_mode == HistoryMode.PAGINATED:
            if self.next_ordinal is None:
                self.next_ordinal = line.ordinal if line.ordinal is not None else 0
            line = RolloutLine(
                timestamp=line.timestamp,
                type=line.type,
                payload=line.payload,
                ordinal=self.next_ordinal,
                metadata=line.metadata,
            )
            self.next_ordinal += 1
        elif line.ordinal is not None:
            line = RolloutLine(
                timestamp=line.timestamp,
                type=line.type,
                payload=line.payload,
                metadata=line.metadata,
            )
        return encode_line(line)

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(
                self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        return self._fd


def _ends_clean(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def next_ordinal(path: Path) -> int:
    """``max(valid ordinal) + 1`` of a paginated rollout (gaps and bad lines tolerated)."""
    best = -1
    for line in iter_lines(path):
        if line.ordinal is not None and line.ordinal > best:
            best = line.ordinal
    return best + 1


def decompress_in_place(path: Path) -> Path:
    """Turn ``x.jsonl.zst`` into ``x.jsonl`` (as Codex does when loading for writing)."""
    if not path.name.endswith(".zst"):
        return path
    target = path.with_name(path.name[: -len(".zst")])
    if target.exists():
        raise CorruptData(f"both {path.name} and {target.name} exist", path)
    tmp = target.with_name(f".{target.name}.tmp")
    with open_rollout(path) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    path.unlink()
    return target


def append_lines_locked(
    locks_dir: Path, thread_id: ThreadId, path: Path, lines: list[RolloutLine]
) -> None:
    """One-shot append by a short-lived writer (metadata updates on a thread nobody writes)."""
    lock = WriterLock(locks_dir, thread_id)
    lock.acquire()
    writer = RolloutWriter(thread_id, path, lock, HistoryMode.LEGACY)
    try:
        writer.append(lines)
    finally:
        writer.close()

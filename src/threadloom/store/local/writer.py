"""Appending to rollout files: whole lines only, never rewriting, under the writer lock.

A torn last line (no trailing newline) is closed with ``\\n`` before the first new line, so
the fragment stays an isolated, skipped line (rollout-format 12.3). A batch is all or
nothing: when a write fails part-way, the file is cut back to where the batch began, so a
retried batch is never written twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from threadloom.errors import Conflict, CorruptData
from threadloom.ids import ThreadId
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.store.local.locks import WriterLock
from threadloom.store.local.reader import iter_lines, open_rollout

_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)


@dataclass(slots=True)
class WrittenState:
    """What the writer knows of its file after a write: enough to index it without reading."""

    path: Path
    size: int
    mtime_ns: int
    inode: int
    state_blob: bytes
    """The listing state, msgpack-encoded as the index stores it."""


@dataclass(slots=True)
class RolloutWriter:
    """The open writer of one thread: its lock, its file, and what is still to materialise.

    Methods are thread-safe; ``summary`` follows every line written (listing metadata).
    """

    thread_id: ThreadId
    path: Path
    lock: WriterLock
    history_mode: HistoryMode
    meta_line: RolloutLine | None = None
    """The session_meta to write first, while the thread is not yet on disk."""
    next_ordinal: int | None = None
    summary: SummaryState | None = None
    """Listing state of the file as written so far (None: not tracked)."""
    released: bool = False
    dirty: bool = False
    indexed: bool = True
    """False while lines were written that the index has not been told about."""
    _size: int | None = field(default=None, repr=False)
    _fd: int | None = field(default=None, repr=False)
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def materialized(self) -> bool:
        return self.meta_line is None

    def check_open(self) -> None:
        if self.released:
            raise Conflict(f"the writer of thread {self.thread_id} was released", self.thread_id)

    def append(
        self,
        lines: Iterable[RolloutLine],
        *,
        sync: bool = False,
        encoded: list[bytes] | None = None,
    ) -> None:
        """Write lines after the current end (materialising first if needed), all or none.

        ``sync``: return only once the lines are on stable storage. ``encoded``: the lines'
        bytes as ``encode_line`` gives them (used as they are by legacy rollouts).
        """
        todo = list(lines)
        with self._mutex:
            if encoded is not None and self.history_mode == HistoryMode.LEGACY:
                if len(encoded) != len(todo):
                    raise ValueError("one encoding per line is required")
                self._write([], encoded, sync=sync, fed=todo)
            else:
                self._write(todo, [], sync=sync)

    def append_chunks(self, chunks: list[bytes | memoryview], *, sync: bool = False) -> None:
        """Write whole legacy lines given as chunks (newlines included) after the pending
        session_meta, without joining them first.

        The caller keeps ``summary`` in step (the writer cannot see inside these lines).
        """
        if self.history_mode != HistoryMode.LEGACY:
            raise ValueError("raw lines can only be appended to legacy rollouts")
        with self._mutex:
            self._write([], [], sync=sync, chunks=chunks)

    def _write(
        self,
        lines: list[RolloutLine],
        encoded: list[bytes],
        *,
        sync: bool,
        fed: list[RolloutLine] | None = None,
        chunks: list[bytes | memoryview] | None = None,
    ) -> None:
        """Write ``lines``, then the ``encoded`` ones (``fed``: what they hold), then
        ``chunks``; all or nothing."""
        self.check_open()
        if self.meta_line is not None:
            lines.insert(0, self.meta_line)
        if not lines and not encoded and not chunks:
            if sync:
                self._sync_locked()
            return
        ordinal = self.next_ordinal
        try:
            out = [self._encode(line) for line in lines]
        except BaseException:
            self.next_ordinal = ordinal
            raise
        out.extend(encoded)
        fd = self._open()
        start = self._size if self._size is not None else os.fstat(fd).st_size
        if self._size is None and start > 0 and os.pread(fd, 1, start - 1) != b"\n":
            out.insert(0, b"")  # close a torn last line first
        buffers: list[bytes | memoryview] = []
        if out:
            out.append(b"")
            buffers.append(b"\n".join(out))
        buffers.extend(chunks or ())
        try:
            written = _write_all(fd, buffers)
            if sync:
                os.fdatasync(fd)
        except BaseException:
            self.next_ordinal = ordinal
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            self._size = None
            raise
        self._size = start + written
        self.meta_line = None
        self.dirty = not sync
        self.indexed = False
        if self.summary is not None:
            for line in lines if fed is None else [*lines, *fed]:
                self.summary.feed(line.type, line.payload)

    def persist(self) -> None:
        """Materialise now: write the pending session_meta."""
        if self.meta_line is not None:
            self.append(())

    def flush(self) -> None:
        """Make everything written durable."""
        with self._mutex:
            self._sync_locked()

    def _sync_locked(self) -> None:
        if self._fd is not None and self.dirty:
            os.fdatasync(self._fd)
            self.dirty = False

    def written_state(self) -> WrittenState | None:
        """The file's stat data and listing state, if lines were written since the last call."""
        with self._mutex:
            if self.indexed or self.summary is None or self._fd is None:
                return None
            st = os.fstat(self._fd)
            self.indexed = True
            return WrittenState(
                self.path,
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
                msgspec.msgpack.encode(self.summary),
            )

    def close(self, *, flush: bool = True) -> None:
        with self._mutex:
            if self.released:
                return
            try:
                if flush:
                    self._sync_locked()
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


def _write_all(fd: int, buffers: list[bytes | memoryview]) -> int:
    """Write every buffer in order (``writev``, resuming after short writes); bytes written."""
    total = 0
    pending = [memoryview(b) for b in buffers if len(b)]
    first = 0
    while first < len(pending):
        n = os.writev(fd, pending[first : first + _IOV_MAX])
        total += n
        while n:
            head = pending[first]
            if n >= len(head):
                n -= len(head)
                first += 1
            else:
                pending[first] = head[n:]
                n = 0
    return total


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

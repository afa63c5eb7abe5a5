"""Codex's advisory file locks: one writer per thread, and the session-index lock.

A thread is written only while its ``thread-writer-locks/<id>.lock`` is held with an exclusive
``flock`` (rollout-format 12.4). The kernel drops a flock when its process dies, so a lock
left by a killed process never blocks the next writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from threadloom.errors import Conflict, Unavailable
from threadloom.ids import ThreadId
from threadloom.protocol.paths import COORDINATION_LOCK


class WriterLock:
    """An exclusive flock on one thread's writer lock file, held until ``release``."""

    def __init__(self, locks_dir: Path, thread_id: ThreadId) -> None:
        self.thread_id = thread_id
        self.path = locks_dir / f"{thread_id}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise Conflict naming the thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with flocked(self.path.parent / COORDINATION_LOCK, timeout=10.0):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Conflict(
                    f"thread {self.thread_id} already has an active writer", self.thread_id
                ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def is_locked(locks_dir: Path, thread_id: ThreadId) -> bool:
    """Does some writer (any process, this one included) hold the thread's lock?"""
    path = locks_dir / f"{thread_id}.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def flocked(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the ``with`` body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(f"timed out waiting for the lock {path.name}") from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)

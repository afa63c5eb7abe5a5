"""Turn indexes saved on disk, one file per thread, so a new process pages a big thread at once.

Building a thread's ``TurnIndex`` replays its whole rollout (legacy turn ids and ``item-N``
numbers depend on every line before them): about a second per 100 MB. ``IndexCache`` keeps
the index of each big thread in ``CODEX_HOME/threadloom/turns/<thread id>.turns`` (the bytes
of ``persisted.py``) and hands it to the next process that needs it:

* **Valid only for the same bytes.** A saved index names its source (each file's path, device
  and inode, where it ends), the format and the code that built it, and a fingerprint of the
  bytes just before where it stopped. A file that grew is read from there on; a file
  replaced, moved, cut or rewritten before that point, a corrupt cache file, or one of another
  version is ignored and the index rebuilt (and saved again): never an error.
* **Written atomically.** A temporary file in the same folder, then a rename: readers, and
  other processes writing the same thread's index, see a whole file or none.
* **Only where it pays.** Threads whose replay reads less than ``min_bytes`` are not saved; a
  saved index is saved again once its thread has grown by ``resave_bytes``.
* **Bounded.** An index over ``max_file_bytes`` is not saved; past ``max_bytes`` in all, the
  least recently used files go (loading a file marks it used).

Only files are cached (local stores): other stores' indexes stay in memory.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

import msgspec

from threadloom.protocol.rollout import HistoryMode
from threadloom.server.history.index import TurnIndex
from threadloom.server.history.persisted import decode, encode
from threadloom.server.history.source import FileSource, Source

SUFFIX = ".turns"
TEMP_SUFFIX = ".tmp"
MIN_BYTES = 4 << 20
"""Threads replaying fewer bytes are not saved (their replay takes a few dozen ms at most)."""
RESAVE_BYTES = 1 << 20
"""A saved index is saved again when its thread has grown by this much."""
MAX_BYTES = 128 << 20
"""The folder's budget."""
MAX_FILE_BYTES = 32 << 20
"""The largest index saved (a thread of some 300,000 turns)."""
STALE_TEMP_S = 3600.0
"""Temporary files older than this are leftovers of a crashed writer."""
_SAFE_NAME = re.compile(r"[0-9A-Za-z_-]{1,128}")


class IndexCache:
    """The saved turn indexes in ``folder`` (module docstring)."""

    def __init__(
        self,
        folder: Path,
        *,
        min_bytes: int = MIN_BYTES,
        resave_bytes: int = RESAVE_BYTES,
        max_bytes: int = MAX_BYTES,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.folder = folder
        self.min_bytes = min_bytes
        self.resave_bytes = resave_bytes
        self.max_bytes = max_bytes
        self.max_file_bytes = max_file_bytes

    def path(self, thread_id: str) -> Path | None:
        """Where the thread's index is saved (None: an id unfit for a file name)."""
        if not _SAFE_NAME.fullmatch(thread_id):
            return None
        return self.folder / f"{thread_id}{SUFFIX}"

    def remove(self, thread_id: str) -> None:
        """Drop the thread's saved index (its thread was deleted)."""
        path = self.path(thread_id)
        if path is not None:
            _remove(path)

    def load(self, thread_id: str, mode: HistoryMode, source: Source) -> TurnIndex | None:
        """The saved index of ``source``, if there is a valid one (module docstring)."""
        path = self.path(thread_id)
        if path is None or not isinstance(source, FileSource):
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        index = decode(data, thread_id, mode, source)
        if index is None:
            return None
        try:
            if source.signature(index.end.position) != index.signature:
                return None
        except (OSError, IndexError):
            return None
        index.saved_at = index.end.position
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return index

    def save(self, index: TurnIndex, source: Source) -> bool:
        """Save ``index`` if it is worth it (module docstring); False when it was not saved."""
        path = self.path(index.thread_id)
        if path is None or not isinstance(source, FileSource) or not self._worth(index, source):
            return False
        try:
            data = encode(index)
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
            return False  # some JSON without a msgpack form: keep it in memory only
        if len(data) > min(self.max_file_bytes, self.max_bytes):
            return False
        if not self._write(path, data):
            return False
        index.saved_at = index.end.position
        self._prune(keep=path)
        return True

    def _worth(self, index: TurnIndex, source: FileSource) -> bool:
        replayed = source.bytes_before(index.end.position)
        if index.saved_at is None:
            return replayed >= self.min_bytes
        return replayed - source.bytes_before(index.saved_at) >= self.resave_bytes

    def _write(self, path: Path, data: bytes) -> bool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=self.folder
            )
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            os.replace(temp, path)
        except OSError:
            Path(temp).unlink(missing_ok=True)
            return False
        return True

    def _prune(self, keep: Path) -> None:
        """Remove stale temporary files, then the least recently used files over budget."""
        now = time.time()
        files: list[tuple[float, int, Path]] = []
        total_kept = 0
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if entry.name.endswith(TEMP_SUFFIX) and now - st.st_mtime > STALE_TEMP_S:
                        _remove(Path(entry.path))
                    elif entry.name.endswith(SUFFIX) and entry.path != str(keep):
                        files.append((st.st_mtime, st.st_size, Path(entry.path)))
                    elif entry.path == str(keep):
                        total_kept = st.st_size
        except OSError:
            return
        total = total_kept + sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if _remove(path):
                total -= size


def _remove(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return False
    return True

"""Thread names in ``session_index.jsonl`` (rollout-format section 14).

Append-only for renames; file order (not ``updated_at``) decides. ``thread/read`` shows the
last entry as written, surrounding whitespace included (blank means no name); ``thread/list``
the last non-blank one, trimmed. Every write holds ``session_index.jsonl.lock``.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from threadloom.protocol.codec import format_rfc3339_nanos
from threadloom.protocol.codec_json import dumps
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.locks import flocked

_decoder = msgspec.json.Decoder()


@dataclass(slots=True)
class NameEntry:
    """The names of one thread: for ``read`` (last entry, untrimmed) and ``list`` (last
    non-blank, trimmed)."""

    read: str | None = None
    listed: str | None = None


@dataclass(slots=True)
class NameTable:
    """Everything read from the index file so far; ``offset`` says how far."""

    names: dict[str, NameEntry] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    """Every entry in file order: (thread id, name exactly as written)."""
    offset: int = 0

    def feed(self, data: bytes) -> int:
        """Apply complete lines of ``data``; return the bytes consumed."""
        consumed = 0
        while True:
            nl = data.find(b"\n", consumed)
            if nl < 0:
                return consumed
            self._line(data[consumed:nl])
            consumed = nl + 1

    def _line(self, raw: bytes) -> None:
        try:
            obj = _decoder.decode(raw.rstrip(b"\r"))
        except msgspec.DecodeError:
            return
        if not isinstance(obj, dict):
            return
        thread_id, name = obj.get("id"), obj.get("thread_name")
        if not isinstance(thread_id, str) or not isinstance(name, str):
            return
        thread_id = thread_id.lower()
        trimmed = name.strip()
        entry = self.names.setdefault(thread_id, NameEntry())
        entry.read = name if trimmed else None
        if trimmed:
            entry.listed = trimmed
        self.order.append((thread_id, name))

    def find(self, name: str) -> list[str]:
        """Ids whose current name equals ``name``, newest entry first."""
        seen: set[str] = set()
        out: list[str] = []
        for thread_id, entry_name in reversed(self.order):
            if thread_id in seen:
                continue
            seen.add(thread_id)
            if entry_name.strip() == name:
                out.append(thread_id)
        return out


def read_names(home: CodexHome) -> NameTable:
    """Parse the whole session index (missing file: no names)."""
    table = NameTable()
    try:
        data = home.session_index.read_bytes()
    except FileNotFoundError:
        return table
    table.offset = table.feed(data)
    return table


def append_name(home: CodexHome, thread_id: str, name: str) -> None:
    """Append one rename entry (flushed and fsync'ed) under the index lock."""
    entry = {
        "id": thread_id,
        "thread_name": name,
        "updated_at": format_rfc3339_nanos(time.time_ns()),
    }
    line = dumps(entry) + b"\n"
    with flocked(home.session_index_lock):
        fd = os.open(home.session_index, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if _needs_newline(fd):
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _needs_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def remove_names(home: CodexHome, thread_id: str) -> None:
    """Rewrite the index without ``thread_id``'s entries, other lines kept in order (new inode)."""
    with flocked(home.session_index_lock):
        try:
            data = home.session_index.read_bytes()
        except FileNotFoundError:
            return
        kept: list[bytes] = []
        changed = False
        for raw in data.splitlines(keepends=True):
            if _entry_id(raw) == thread_id:
                changed = True
                continue
            kept.append(raw)
        if not changed:
            return
        _atomic_write(home.session_index, b"".join(kept))


def _entry_id(raw: bytes) -> str | None:
    try:
        obj = _decoder.decode(raw.strip())
    except msgspec.DecodeError:
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    return value.lower() if isinstance(value, str) else None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

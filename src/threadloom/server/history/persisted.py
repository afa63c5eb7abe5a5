"""A ``TurnIndex`` as bytes, so that another process can page a thread without replaying it.

The bytes: ``MAGIC`` (it names the format version), a CRC-32 of the rest, then ``SavedIndex``
in msgpack. ``SavedIndex.code`` fingerprints the code an index depends on (the ``protocol``
package and this one, with threadloom's version): an index built by other code, whose turn
ids or checkpoints could differ, is never used. ``decode`` answers None for bytes of another
format, code, thread, mode or source (the index is then rebuilt), and for corrupt bytes.

What is saved is what ``TurnIndex`` holds (a few dozen bytes per turn, the checkpoints'
reducer states, the open turns); what can be derived from it (``first``, the projection's
lookups) is derived again on loading.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from pathlib import Path
from typing import Any

import msgspec

import threadloom
import threadloom.protocol
from threadloom.protocol.rollout import HistoryMode
from threadloom.protocol.turns import TurnEvent
from threadloom.server.history.index import Mark, TurnIndex
from threadloom.server.history.projection import ItemEntry, PaginatedProjection, SummaryInfo
from threadloom.server.history.records import LogParts, RecordLog
from threadloom.server.history.source import Source

MAGIC = b"threadloom turn index\x00\x01\n"
"""The format's name and version (change the version when ``SavedIndex`` changes)."""
_CRC = 4


class SavedMark(msgspec.Struct, array_like=True):
    count: int
    position: int
    state: bytes
    ops: int
    last_ordinal: int | None


class SavedItem(msgspec.Struct, array_like=True):
    turn_id: str
    item_id: str
    ordinal: int
    starts: list[int]


class SavedProjection(msgspec.Struct, array_like=True):
    turn_index: dict[str, int]
    ordinals: list[int]
    status: list[str]
    first_user: list[str | None]
    final_agent: list[str | None]
    items: list[SavedItem]
    live: dict[str, dict[str, tuple[int, str, str | None]]]


class SavedIndex(msgspec.Struct, array_like=True):
    """Everything ``TurnIndex`` keeps that cannot be derived again."""

    code: str
    thread_id: str
    mode: str
    key: str
    mark_every: int
    size_hint: int
    signature: bytes
    end: SavedMark
    marks: list[SavedMark]
    released_at: list[int]
    ids: list[str]
    item_counts: list[int]
    late: list[tuple[int, TurnEvent]]
    log: LogParts
    tail: list[dict[str, Any]]
    projection: SavedProjection | None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SavedIndex)


@functools.cache
def code_fingerprint() -> str:
    """A digest of threadloom's version and of the source files that decide what an index
    holds (their names, sizes and modification times: an edit or a reinstall changes it)."""
    digest = hashlib.blake2b(threadloom.__version__.encode(), digest_size=16)
    roots = [Path(threadloom.protocol.__file__).parent, Path(__file__).parent]
    try:
        for root in roots:
            for path in sorted(root.rglob("*.py")):
                st = path.stat()
                name = path.relative_to(root).as_posix()
                digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    except OSError:  # sources not readable (a frozen build): the version alone
        return f"version {threadloom.__version__}"
    return digest.hexdigest()


def key_text(key: tuple[object, ...]) -> str:
    """A source's key (its files, their device and inode, where each ends) as text."""
    return repr(key)


def _saved_mark(mark: Mark) -> SavedMark:
    return SavedMark(mark.count, mark.position, mark.state, mark.ops, mark.last_ordinal)


def _mark(saved: SavedMark) -> Mark:
    return Mark(saved.count, saved.position, saved.state, saved.ops, saved.last_ordinal)


def encode(index: TurnIndex) -> bytes:
    """The index as bytes (``TypeError`` / ``OverflowError`` / ``msgspec.EncodeError`` when
    some JSON of its turns has no msgpack form, e.g. an integer beyond 64 bits)."""
    saved = SavedIndex(
        code=code_fingerprint(),
        thread_id=index.thread_id,
        mode=index.mode.value,
        key=key_text(index.key),
        mark_every=index.mark_every,
        size_hint=index.size_hint,
        signature=index.signature,
        end=_saved_mark(index.end),
        marks=[_saved_mark(mark) for mark in index.marks],
        released_at=index.released_at,
        ids=index.ids,
        item_counts=index.item_counts,
        late=index.late,
        log=index.log.parts(),
        tail=index.tail,
        projection=None if index.projection is None else _saved_projection(index.projection),
    )
    body = _encoder.encode(saved)
    return MAGIC + zlib.crc32(body).to_bytes(_CRC, "big") + body


def decode(data: bytes, thread_id: str, mode: HistoryMode, source: Source) -> TurnIndex | None:
    """The index ``data`` holds, if it is this format's, this code's and of this thread's
    ``source`` in ``mode`` (else None). The caller checks the file did not change since."""
    body = data[len(MAGIC) + _CRC :]
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _CRC:
        return None
    if int.from_bytes(data[len(MAGIC) : len(MAGIC) + _CRC], "big") != zlib.crc32(body):
        return None
    try:
        saved = _decoder.decode(body)
    except msgspec.DecodeError:
        return None
    if (saved.code, saved.thread_id, saved.mode, saved.key) != (
        code_fingerprint(),
        thread_id,
        mode.value,
        key_text(source.key),
    ):
        return None
    try:
        return _index(saved, mode, source)
    except (ValueError, IndexError, OverflowError):
        return None


def _index(saved: SavedIndex, mode: HistoryMode, source: Source) -> TurnIndex:
    released = len(saved.ids)
    if not released == len(saved.released_at) == len(saved.item_counts):
        raise ValueError("saved turn columns of different lengths")
    if not saved.marks or saved.mark_every < 1:
        raise ValueError("saved index without checkpoints")
    first: dict[str, int] = {}
    for position, turn_id in enumerate(saved.ids):
        first.setdefault(turn_id, position)
    projection = None if saved.projection is None else _projection(saved.projection)
    if (projection is None) != (mode != HistoryMode.PAGINATED):
        raise ValueError("saved projection does not match the history mode")
    return TurnIndex(
        thread_id=saved.thread_id,
        mode=mode,
        key=source.key,
        lineage=source.lineage,
        end=_mark(saved.end),
        size_hint=saved.size_hint,
        signature=saved.signature,
        released_at=saved.released_at,
        ids=saved.ids,
        first=first,
        item_counts=saved.item_counts,
        marks=[_mark(mark) for mark in saved.marks],
        late=saved.late,
        log=RecordLog.from_parts(saved.log),
        tail=saved.tail,
        projection=projection,
        mark_every=saved.mark_every,
    )


# -- the paginated projection ---------------------------------------------------------------------


def _saved_projection(p: PaginatedProjection) -> SavedProjection:
    return SavedProjection(
        turn_index=p.turn_index,
        ordinals=p.ordinals,
        status=p.status,
        first_user=p.first_user,
        final_agent=p.final_agent,
        items=[SavedItem(e.turn_id, e.item_id, e.ordinal, e.starts) for e in p.items],
        live={
            turn: {item: (s.ordinal, s.kind, s.phase) for item, s in infos.items()}
            for turn, infos in p.live.items()
        },
    )


def _projection(saved: SavedProjection) -> PaginatedProjection:
    turns = len(saved.ordinals)
    columns = (saved.status, saved.first_user, saved.final_agent)
    if any(len(column) != turns for column in columns) or len(saved.turn_index) != turns:
        raise ValueError("saved projection columns of different lengths")
    projection = PaginatedProjection(
        turn_index=saved.turn_index,
        ordinals=saved.ordinals,
        status=saved.status,
        first_user=saved.first_user,
        final_agent=saved.final_agent,
        live={
            turn: {item: SummaryInfo(*info) for item, info in infos.items()}
            for turn, infos in saved.live.items()
        },
    )
    for position, item in enumerate(saved.items):
        entry = ItemEntry(item.turn_id, item.item_id, item.ordinal, item.starts)
        projection.items.append(entry)
        projection.item_keys[(entry.turn_id, entry.item_id)] = position
        projection.turn_items.setdefault(entry.turn_id, []).append(position)
    return projection

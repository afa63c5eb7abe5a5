"""Whole threads in and out of a PostgreSQL store, as a CODEX_HOME holds them.

``threadloom migrate`` builds on these: ``store_copy`` stores one thread exactly as its
rollout file holds it (every line's bytes, the blank, malformed and torn ones included, which
readers skip), with its names (the ``session_index.jsonl`` lines themselves), archived flag,
metadata kept outside the rollout, and a digest of its source so that a re-run copies only
what changed; ``exported_threads`` gives every thread of the owner back in the same form.
Each thread is copied in one transaction: an interrupted copy leaves whole threads only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from threadloom.errors import CorruptData
from threadloom.ids import ThreadId
from threadloom.protocol.codec import LineError, decode_line, parse_timestamp_ms
from threadloom.protocol.paths import (
    ARCHIVED_DIR,
    parse_rollout_name,
    rollout_file_name,
    unarchived_relative_path,
)
from threadloom.protocol.rollout import HistoryMode
from threadloom.protocol.texts import SearchText
from threadloom.store.postgres.claims import Claims, active_writer
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.rows import ThreadRow, encode_meta, pg_text
from threadloom.store.postgres.writer import (
    feed_line,
    insert_row,
    new_row,
    store_texts,
    update_row,
)

NS_PER_MS = 1_000_000
ZST = ".zst"


@dataclass(slots=True)
class ThreadCopy:
    """One thread as a CODEX_HOME holds it."""

    thread_id: ThreadId
    file_path: str
    """The rollout file's path inside the home (POSIX), e.g. ``sessions/2025/01/06/…``."""
    lines: list[bytes]
    """Every line of the (decompressed) file, without its newline."""
    torn_tail: bool
    """The file does not end with a newline: its last line is torn."""
    mtime_ns: int
    archived: bool = False
    recency_ms: int | None = None
    name_entries: list[bytes] = field(default_factory=list)
    """The thread's ``session_index.jsonl`` lines, oldest first."""
    override: tuple[dict[str, Any] | None, str] | None = None
    """Git info and memory mode kept outside the rollout (paginated threads)."""
    digest: bytes = b""
    """What the source looked like when read (a re-run copies a thread whose digest changed)."""

    @property
    def compressed(self) -> bool:
        return self.file_path.endswith(ZST)

    def file_bytes(self) -> bytes:
        """The rollout file's (decompressed) contents."""
        data = b"".join(line + b"\n" for line in self.lines)
        return data[:-1] if self.torn_tail and data else data


def _names(entries: list[bytes]) -> tuple[str | None, str | None]:
    """(read name, list name) of a thread's entries, as the local store reads them: the last
    entry as written (None when blank), the last non-blank one trimmed."""
    read: str | None = None
    listed: str | None = None
    for raw in entries:
        name = json.loads(raw)["thread_name"]
        trimmed = name.strip()
        read = name if trimmed else None
        if trimmed:
            listed = trimmed
    return read, listed


def _fill(row: ThreadRow, copy: ThreadCopy) -> tuple[list[bool], list[SearchText]]:
    """Feed the readable lines into ``row``; which lines are bad, and the search texts."""
    bad: list[bool] = []
    texts: list[SearchText] = []
    best = -1
    last = len(copy.lines) - 1
    for n, raw in enumerate(copy.lines):
        if (copy.torn_tail and n == last) or not raw.strip():
            bad.append(True)
            continue
        try:
            line = decode_line(raw)
        except LineError:
            bad.append(True)
            continue
        bad.append(False)
        text = feed_line(row, line)
        if text is not None:
            texts.append(text)
        if line.ordinal is not None:
            best = max(best, line.ordinal)
    row.next_seq = len(copy.lines)
    row.next_ordinal = best + 1 if row.history_mode == HistoryMode.PAGINATED else None
    return bad, texts


async def allocate_name_seqs(conn: Conn, count: int) -> list[int]:
    """``count`` increasing positions in the owner-wide order of name entries."""
    if count == 0:
        return []
    cur = await conn.execute("SELECT nextval('name_seq') FROM generate_series(1, %s)", (count,))
    return sorted(int(r[0]) for r in await cur.fetchall())


async def store_copy(conn: Conn, owner: str, copy: ThreadCopy, name_seqs: list[int]) -> None:
    """Store (or replace) one thread as copied, in the caller's transaction; ``name_seqs``
    orders its name entries among every other. Conflict while a live writer holds it;
    CorruptData when the file holds no usable session metadata."""
    if len(name_seqs) != len(copy.name_entries):
        raise ValueError("one position per name entry")
    if await Claims.held(conn, owner, copy.thread_id):
        raise active_writer(copy.thread_id)
    mtime_ms = copy.mtime_ns // NS_PER_MS
    row = new_row(copy.thread_id, mtime_ms)
    bad, texts = _fill(row, copy)
    if row.state.thread_id is None or row.state.thread_id.lower() != copy.thread_id:
        raise CorruptData(f"{copy.file_path} is not a rollout of thread {copy.thread_id}")
    row.created_ms = parse_timestamp_ms(row.meta.timestamp) or mtime_ms
    row.recency_ms = mtime_ms if copy.recency_ms is None else copy.recency_ms
    await conn.execute(
        "DELETE FROM threads WHERE owner = %s AND thread_id = %s", (owner, copy.thread_id)
    )
    key = await insert_row(conn, owner, row)
    assert key is not None  # deleted just before, in this transaction
    row.key = key
    async with (
        conn.cursor() as cur,
        cur.copy("COPY items (thread_key, seq, line, bad) FROM STDIN (FORMAT BINARY)") as out,
    ):
        out.set_types(["int8", "int8", "bytea", "bool"])
        for seq, (raw, skipped) in enumerate(zip(copy.lines, bad, strict=True)):
            await out.write_row((key, seq, raw, skipped))
    await store_texts(conn, key, texts)
    await _store_names(conn, key, copy.name_entries, name_seqs)
    git, memory = copy.override if copy.override is not None else (None, None)
    await conn.execute(
        "UPDATE threads SET archived = %s, overridden = %s, override_git = %s,"
        " override_memory = %s, file_path = %s, file_mtime_ns = %s, torn_tail = %s,"
        " source_digest = %s WHERE key = %s",
        (
            copy.archived,
            copy.override is not None,
            None if git is None else encode_meta(git),
            memory,
            copy.file_path,
            copy.mtime_ns,
            copy.torn_tail,
            copy.digest,
            key,
        ),
    )
    row.torn_tail = copy.torn_tail
    await update_row(conn, row)


async def _store_names(conn: Conn, key: int, entries: list[bytes], seqs: list[int]) -> None:
    if not entries:
        return
    read, listed = _names(entries)
    last = json.loads(entries[-1])["thread_name"].strip()
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO name_entries (thread_key, seq, line) VALUES (%s, %s, %s)",
            [(key, seq, raw) for seq, raw in zip(seqs, entries, strict=True)],
        )
    await conn.execute(
        "UPDATE threads SET named = true, read_name = %s, list_name = %s,"
        " list_name_text = %s, find_name = %s, name_seq = %s WHERE key = %s",
        (
            None if read is None else read.encode(),
            None if listed is None else listed.encode(),
            pg_text(listed),
            pg_text(last) or None,
            seqs[-1],
            key,
        ),
    )


async def digests(conn: Conn, owner: str) -> dict[str, bytes]:
    """The source digest of every thread of the owner copied from a home."""
    cur = await conn.execute(
        "SELECT thread_id, source_digest FROM threads WHERE owner = %s"
        " AND source_digest IS NOT NULL",
        (owner,),
    )
    return {str(r[0]): bytes(r[1]) for r in await cur.fetchall()}


# --- out of the store ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredFile:
    """Where and how a stored thread is written into a home."""

    thread_id: ThreadId
    key: int
    path: str
    """Inside the home (POSIX); ``.zst`` when the file is to be compressed."""
    mtime_ns: int
    archived: bool
    override: tuple[dict[str, Any] | None, str] | None


_FILE_COLUMNS = (
    "key, thread_id, archived, file_path, file_mtime_ns, updated_ms, created_ms, overridden,"
    " override_git, override_memory"
)


def _stored_file(r: tuple[Any, ...]) -> StoredFile:
    key, thread_id, archived, file_path, file_mtime_ns, updated_ms, created_ms = r[:7]
    unchanged = file_mtime_ns is not None and file_mtime_ns // NS_PER_MS == updated_ms
    mtime_ns = file_mtime_ns if unchanged else updated_ms * NS_PER_MS
    if file_path is not None:
        name = PurePosixPath(file_path).name
        if not unchanged and name.endswith(ZST):  # written since: a plain file, as Codex does
            name = name[: -len(ZST)]
            file_path = str(PurePosixPath(file_path).with_name(name))
    else:
        name = rollout_file_name(thread_id, created_ms)
    path = file_path
    if path is None or path.startswith(f"{ARCHIVED_DIR}/") != archived:
        parsed = parse_rollout_name(name)
        if archived or parsed is None:
            path = f"{ARCHIVED_DIR}/{name}"
        else:
            path = unarchived_relative_path(parsed, name).as_posix()
    override = None
    if r[7]:
        git = None if r[8] is None else json.loads(bytes(r[8]))
        override = (git, r[9] or "enabled")
    return StoredFile(
        thread_id=ThreadId(thread_id),
        key=key,
        path=path,
        mtime_ns=mtime_ns,
        archived=archived,
        override=override,
    )


async def stored_files(
    conn: Conn, owner: str, *, after: int = 0, limit: int = 500
) -> list[StoredFile]:
    """The owner's threads (in storage order, after key ``after``): where each goes."""
    cur = await conn.execute(
        f"SELECT {_FILE_COLUMNS} FROM threads WHERE owner = %s AND key > %s"
        " ORDER BY key LIMIT %s".encode(),
        (owner, after, limit),
    )
    return [_stored_file(r) for r in await cur.fetchall()]


async def file_bytes(conn: Conn, key: int) -> bytes:
    """A stored thread's rollout file (decompressed), exactly as copied or written."""
    cur = await conn.execute("SELECT torn_tail FROM threads WHERE key = %s", (key,))
    found = await cur.fetchone()
    if found is None:
        return b""
    cur = conn.cursor(binary=True)
    await cur.execute("SELECT line FROM items WHERE thread_key = %s ORDER BY seq", (key,))
    data = b"".join(r[0] + b"\n" for r in await cur.fetchall())
    return data[:-1] if found[0] and data else data


async def name_entries(conn: Conn, owner: str) -> list[tuple[str, bytes]]:
    """Every name entry of the owner's threads in order: (thread id, line)."""
    cur = await conn.execute(
        "SELECT t.thread_id, e.line FROM name_entries e JOIN threads t"
        " ON t.key = e.thread_key WHERE t.owner = %s ORDER BY e.seq",
        (owner,),
    )
    return [(str(thread_id), bytes(line)) for thread_id, line in await cur.fetchall()]


async def counts(conn: Conn, owner: str) -> dict[str, int]:
    """How many threads the owner has: in all, archived, named; and spawn edges."""
    cur = await conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE archived), count(*) FILTER (WHERE named),"
        " (SELECT count(*) FROM spawn_edges WHERE owner = %s) FROM threads WHERE owner = %s",
        (owner, owner),
    )
    found = await cur.fetchone()
    assert found is not None
    return dict(zip(("threads", "archived", "named", "spawn_edges"), map(int, found), strict=True))

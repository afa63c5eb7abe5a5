"""Appends on PostgreSQL: lines folded into a thread's row, stored in order, atomically.

A batch writes the lines (``items``, one row per line holding its exact bytes), the search
texts and the new summary together. An append to a thread whose row the writer knows is one
statement (``append_batch``: arrays unnested server-side, the writer's lease checked by the
same statement), so it costs one round trip and commits by itself; a large batch (``COPY_FROM``
lines) is a transaction instead: the same guarded update, then its lines copied (``COPY``
costs the server much less per line than an INSERT). The writer keeps the row
it last wrote (a thread it holds changes only through it); after a failure it reads the row
again, so a retried batch continues from what is really stored. A batch carrying an
idempotency key records it with the batch: a retry of a batch whose commit was not
acknowledged finds the key and is not applied again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from psycopg import AsyncCursor

from threadloom.errors import InvalidRequest, NotFound
from threadloom.ids import ThreadId
from threadloom.protocol.codec import LineError, decode_line, encode_line
from threadloom.protocol.policy import line_kept_on_read
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.protocol.texts import SearchText, TextState, extract
from threadloom.store.params import AppendItemsParams
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.rows import (
    THREAD_COLUMNS,
    ThreadRow,
    agent_path,
    encode_meta,
    encode_state,
    encode_text_state,
    listing_columns,
    pg_text,
)
from threadloom.store.search_rank import WORD, fold

MAX_LEXEME_BYTES = 2046
"""PostgreSQL refuses longer tsvector lexemes; such words are not indexed."""
COPY_FROM = 64
"""A batch of at least this many lines stores them with COPY: a round trip more than an
INSERT, but much less work per line for the server."""


def not_found(thread_id: str) -> NotFound:
    return NotFound(f"no rollout found for thread id {thread_id}", thread_id)


# --- lines ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Prepared:
    """A line to store (``line``: as given with its bytes, else as read back) and its exact
    bytes."""

    line: RolloutLine
    raw: bytes


def prepare(params: AppendItemsParams) -> list[Prepared]:
    """The lines of an append as they will be stored; InvalidRequest for a line that is not
    JSON. Given encodings (``codec.encode_line`` of each line, as ``LiveThread`` passes them)
    are kept byte for byte, next to their lines as given (the local and in-memory stores also
    fold lines in as given)."""
    if params.encoded is not None and len(params.encoded) == len(params.items):
        return [
            Prepared(line, bytes(data))
            for line, data in zip(params.items, params.encoded, strict=True)
        ]
    return [prepare_line(line) for line in params.items]


def prepare_line(line: RolloutLine) -> Prepared:
    if line.ordinal is not None:
        line = msgspec.structs.replace(line, ordinal=None)
    try:
        raw = encode_line(line)
        return Prepared(decode_line(raw), raw)
    except (TypeError, msgspec.EncodeError, LineError) as exc:
        raise InvalidRequest(f"rollout line cannot be stored as JSON: {exc}") from None


@dataclass(slots=True)
class Batch:
    """What applying lines to a row produced: the stored bytes and the search texts."""

    first_seq: int
    raws: list[bytes] = field(default_factory=list)
    texts: list[SearchText] = field(default_factory=list)


def apply(row: ThreadRow, lines: list[Prepared], paginated: bool) -> Batch:
    """Fold ``lines`` into ``row`` (summary, texts, sequence, ordinals); return what to store.

    Paginated threads number every line (``ordinal``) as the local writer does.
    """
    batch = Batch(first_seq=row.next_seq)
    for prepared in lines:
        line = prepared.line
        if paginated:
            ordinal = row.next_ordinal or 0
            raw = encode_line(msgspec.structs.replace(line, ordinal=ordinal))
            row.next_ordinal = ordinal + 1
        else:
            raw = prepared.raw
        batch.raws.append(raw)
        text = feed_line(row, line)
        if text is not None:
            batch.texts.append(text)
    row.next_seq += len(batch.raws)
    return batch


def feed_line(row: ThreadRow, line: RolloutLine) -> SearchText | None:
    """Feed one readable line into the row's summary and text state; its search text."""
    payload = line.payload
    row.state.feed(line.type, payload)
    text = extract(row.text_state, line.type, payload, row.text_index)
    if line_kept_on_read(line):
        row.text_index += 1
    return text


def words(text: str) -> list[str]:
    """The distinct folded words of a text, as search_rank matches them (the reference)."""
    found = dict.fromkeys(WORD.findall(fold(text)))
    return [w for w in found if len(w.encode()) <= MAX_LEXEME_BYTES]


_ASCII_WORDS = bytes(c if chr(c).isalnum() else 0x20 for c in range(128)).lower() + bytes(
    [0x20] * 128
)
"""Translates ASCII to its folded words: letters lowered, digits kept, the rest spaces."""


def indexed_words(text: str) -> str:
    """``words(text)`` separated by spaces (what the texts table's tsvector is made of).

    An ASCII text (most) takes a path in C: folding ASCII only lowers letters, and words
    are the runs of letters and digits (a shorter text has no word too long to index).
    """
    if not text.isascii():
        return " ".join(words(text))
    found = text.encode().translate(_ASCII_WORDS).split()
    if len(text) > MAX_LEXEME_BYTES and max(map(len, found), default=0) > MAX_LEXEME_BYTES:
        found = [w for w in found if len(w) <= MAX_LEXEME_BYTES]
    return b" ".join(dict.fromkeys(found)).decode()


# --- writing ------------------------------------------------------------------------------------
def new_row(thread_id: ThreadId, created_ms: int) -> ThreadRow:
    """The row of a new, empty thread (not yet stored: key 0)."""
    return ThreadRow(
        key=0,
        thread_id=thread_id,
        state=SummaryState(),
        text_state=TextState(),
        text_index=0,
        next_seq=0,
        next_ordinal=None,
        created_ms=created_ms,
        updated_ms=created_ms,
        recency_ms=created_ms,
    )


async def select_row(conn: Conn, owner: str, thread_id: str, *, lock: str = "") -> ThreadRow | None:
    """The thread's row (``lock``: ``FOR UPDATE`` / ``FOR SHARE``), None when not stored."""
    query = f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.owner = %s AND t.thread_id = %s {lock}"
    cur = conn.cursor(binary=True)
    await cur.execute(query.encode(), (owner, thread_id))
    found = await cur.fetchone()
    return None if found is None else ThreadRow.from_db(found)


async def insert_row(conn: Conn, owner: str, row: ThreadRow) -> int | None:
    """Store a new thread's row; its key, or None when the thread is stored already."""
    meta = row.meta
    cur = await conn.execute(
        "INSERT INTO threads (owner, thread_id, history_mode, meta, state, text_state,"
        " text_index, next_seq, next_ordinal, preview, title_name, cwd, provider, source_kind,"
        " interactive, agent_path, created_ms, created_s, updated_ms, recency_ms, overridden,"
        " override_git, override_memory)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s)"
        " ON CONFLICT (owner, thread_id) DO NOTHING RETURNING key",
        (
            owner,
            row.thread_id,
            meta.history_mode.value,
            encode_meta(row.state.meta_payload),
            *_summary_values(row),
            pg_text(meta.model_provider or None),
            meta.source.kind,
            meta.source.is_interactive,
            pg_text(agent_path(meta)),
            row.created_ms,
            row.created_ms // 1000,
            row.updated_ms,
            row.recency_ms,
            row.overridden,
            None if row.override_git is None else encode_meta(row.override_git),
            row.override_memory,
        ),
    )
    found = await cur.fetchone()
    return None if found is None else int(found[0])


_LINES = (
    "INSERT INTO items (thread_key, seq, line) SELECT {key}, %s + u.n - 1, u.line"
    " FROM {source}unnest(%b::bytea[]) WITH ORDINALITY AS u(line, n)"
)
_TEXTS = (
    "INSERT INTO texts (thread_key, role, turn_id, body, words) SELECT {key}, u.role,"
    " u.turn_id, u.body, array_to_tsvector(string_to_array(u.words, ' '))"
    " FROM {source}unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY"
    " AS u(role, turn_id, body, words, n) ORDER BY u.n"
)
_UPDATE_ROW = (
    "UPDATE threads SET state = %s, text_state = %s, text_index = %s, next_seq = %s,"
    " next_ordinal = %s, preview = %s, title_name = %s, cwd = %s, updated_ms = %s,"
    " recency_ms = %s, torn_tail = %s WHERE key = %s"
)


def _summary_values(row: ThreadRow) -> list[Any]:
    """What lines change in a thread's row, in column order: state, text state, text index,
    next sequence number and ordinal, preview, title name, cwd."""
    columns = listing_columns(row.meta, row.state)
    return [
        encode_state(row.state),
        encode_text_state(row.text_state),
        row.text_index,
        row.next_seq,
        row.next_ordinal,
        columns["preview"],
        columns["title_name"],
        columns["cwd"],
    ]


def _row_values(row: ThreadRow) -> list[Any]:
    """The arguments of ``_UPDATE_ROW``."""
    return [
        *_summary_values(row),
        row.updated_ms,
        row.recency_ms,
        row.torn_tail,
        row.key,
    ]


def _text_values(texts: list[SearchText]) -> list[list[str | None]]:
    """The arrays ``_TEXTS`` unnests: roles, turn ids, bodies, words (space-separated)."""
    return [
        [t.role for t in texts],
        [pg_text(t.turn_id) for t in texts],
        [pg_text(t.text) for t in texts],
        [indexed_words(t.text) for t in texts],
    ]


async def store_batch(conn: Conn, row: ThreadRow, batch: Batch, *, update: bool = True) -> None:
    """Write a batch's lines and texts, then (``update``) the row's new summary (``row``
    already fed). In a transaction (a large batch is several statements)."""
    if len(batch.raws) >= COPY_FROM:
        await copy_lines(conn, row.key, batch.first_seq, batch.raws)
    elif batch.raws:
        query = _LINES.format(key="%s", source="")
        await conn.execute(query.encode(), (row.key, batch.first_seq, batch.raws))
    await store_texts(conn, row.key, batch.texts)
    if update:
        await update_row(conn, row)


async def copy_lines(conn: Conn, thread_key: int, first_seq: int, raws: list[bytes]) -> None:
    """Store lines numbered from ``first_seq`` with one binary COPY."""
    query = b"COPY items (thread_key, seq, line) FROM STDIN (FORMAT BINARY)"
    async with conn.cursor().copy(query) as copy:
        copy.set_types(["int8", "int8", "bytea"])
        for seq, raw in enumerate(raws, first_seq):
            await copy.write_row((thread_key, seq, raw))


async def update_guarded(conn: Conn, row: ThreadRow, guard: tuple[str, list[Any]]) -> bool:
    """Write the row's new summary where ``guard`` holds (see ``append_batch``); whether it
    held."""
    query, args = _guarded_update(row, guard)
    cur = await conn.execute(query.encode(), args)
    return await cur.fetchone() is not None


def _guarded_update(row: ThreadRow, guard: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    """``_UPDATE_ROW`` where ``guard`` (a WHERE term and its arguments) holds, returning the
    key: the statement and its arguments."""
    condition, condition_args = guard
    return f"{_UPDATE_ROW} AND {condition} RETURNING key", [*_row_values(row), *condition_args]


async def append_batch(
    conn: Conn, row: ThreadRow, batch: Batch, guard: tuple[str, list[Any]]
) -> AsyncCursor[Any]:
    """Write a batch (lines, texts, the row's new summary) in one statement, only where
    ``guard`` (a WHERE term on the writer's lease, and its arguments) holds.

    The statement writes everything or nothing, so it may be committed before its answer is
    read: the returned cursor yields a row when it wrote the batch, none when the guard
    failed (nothing written).
    """
    update, args = _guarded_update(row, guard)
    parts = [f"WITH updated AS ({update})"]
    if batch.raws:
        parts.append(f", lines AS ({_LINES.format(key='updated.key', source='updated, ')})")
        args += [batch.first_seq, batch.raws]
    if batch.texts:
        parts.append(f", said AS ({_TEXTS.format(key='updated.key', source='updated, ')})")
        args += _text_values(batch.texts)
    parts.append(" SELECT key FROM updated")
    return await conn.execute("".join(parts).encode(), args)


async def store_texts(conn: Conn, thread_key: int, texts: list[SearchText]) -> None:
    """Index what a thread says for full-text search (one statement, in order).

    Each text's words go as one space-separated string (words hold no spaces), split and
    turned into a ``tsvector`` by the server.
    """
    if texts:
        query = _TEXTS.format(key="%s", source="")
        await conn.execute(query.encode(), [thread_key, *_text_values(texts)])


async def close_torn(conn: Conn, row: ThreadRow) -> None:
    """Before the first append to a copied file whose last line was torn: that line now ends
    with a newline (as a file writer closes it), and is read when it is a whole line."""
    row.torn_tail = False
    cur = await conn.execute(
        "SELECT line FROM items WHERE thread_key = %s AND seq = %s", (row.key, row.next_seq - 1)
    )
    found = await cur.fetchone()
    if found is None:
        return
    try:
        line = decode_line(bytes(found[0]))
    except LineError:
        return
    await conn.execute(
        "UPDATE items SET bad = false WHERE thread_key = %s AND seq = %s",
        (row.key, row.next_seq - 1),
    )
    text = feed_line(row, line)
    await store_texts(conn, row.key, [] if text is None else [text])
    if line.ordinal is not None and line.ordinal >= (row.next_ordinal or 0):
        row.next_ordinal = line.ordinal + 1


async def update_row(conn: Conn, row: ThreadRow) -> None:
    """Write the parts of a stored row that lines and metadata change."""
    await conn.execute(_UPDATE_ROW.encode(), _row_values(row))


async def record_key(conn: Conn, row: ThreadRow, key: str, count: int) -> bool:
    """Record an idempotency key for a batch starting at ``row.next_seq``; False when the
    key was recorded before (the batch was applied already)."""
    cur = await conn.execute(
        "INSERT INTO append_keys (thread_key, key, first_seq, count) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (thread_key, key) DO NOTHING RETURNING 1",
        (row.key, key, row.next_seq, count),
    )
    return await cur.fetchone() is not None

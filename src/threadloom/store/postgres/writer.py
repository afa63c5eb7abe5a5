"""Live writers on PostgreSQL: one writer per thread across every process, ordered appends.

**Writer claims.** A thread's writer holds a lease in ``writers`` (owner, thread id, a random
holder id, an expiry on the server's clock). Claiming inserts the row, or takes over one whose
lease has expired; otherwise the claim fails with Conflict. The store renews its leases from
a background task (every third of the lease) and every append renews its own, so a live
writer keeps its thread however long it idles, and a crashed one loses it one lease after its
last renewal. Leases survive server restarts and need no held connection, so any number of
threads can be open through a small pool. Every append checks (and renews) its lease in the
same transaction that writes: a writer whose lease was taken over cannot write any more.

**Appends.** A batch is one transaction: the lease check, the lines (``items``, one row per
line holding its exact bytes), the search texts, the new summary. The writer keeps the row it
last wrote (a thread it holds changes only through it); after a failure it reads the row
again, so a retried batch continues from what is really stored. A batch carrying an
idempotency key records it with the batch: a retry of a batch whose commit was not
acknowledged finds the key and is not applied again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field

import msgspec

from threadloom.errors import Conflict, InvalidRequest, NotFound, ThreadloomError
from threadloom.ids import ThreadId
from threadloom.protocol.codec import LineError, decode_line, encode_line
from threadloom.protocol.policy import kept_on_read
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.protocol.texts import SearchText, TextState, extract
from threadloom.store.params import AppendItemsParams
from threadloom.store.postgres.db import Conn, Database
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


def active_writer(thread_id: str) -> Conflict:
    return Conflict(f"thread {thread_id} already has an active writer", thread_id)


def not_found(thread_id: str) -> NotFound:
    return NotFound(f"no rollout found for thread id {thread_id}", thread_id)


# --- lines ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Prepared:
    """A line to store: as read back (``line``) and, for legacy threads, its exact bytes."""

    line: RolloutLine
    raw: bytes


def prepare(params: AppendItemsParams) -> list[Prepared]:
    """The lines of an append as they will be stored; InvalidRequest for a line that is not
    JSON. Given encodings are kept byte for byte."""
    out: list[Prepared] = []
    if params.encoded is not None and len(params.encoded) == len(params.items):
        for data in params.encoded:
            try:
                out.append(Prepared(decode_line(data), bytes(data)))
            except LineError as exc:
                raise InvalidRequest(f"rollout line cannot be stored as JSON: {exc}") from None
        return out
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
    if _kept(line):
        row.text_index += 1
    return text


def _kept(line: RolloutLine) -> bool:
    payload = line.payload
    payload_type = payload.get("type") if isinstance(payload, dict) else None
    item = payload.get("item") if isinstance(payload, dict) else None
    item_type = item.get("type") if isinstance(item, dict) else None
    return kept_on_read(
        line.type,
        payload_type if isinstance(payload_type, str) else None,
        item_type if isinstance(item_type, str) else None,
    )


def words(text: str) -> list[str]:
    """The distinct folded words of a text, as search_rank matches them."""
    found = dict.fromkeys(WORD.findall(fold(text)))
    return [w for w in found if len(w.encode()) <= MAX_LEXEME_BYTES]


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
    cur = await conn.execute(query.encode(), (owner, thread_id))
    found = await cur.fetchone()
    return None if found is None else ThreadRow.from_db(found)


async def insert_row(conn: Conn, owner: str, row: ThreadRow) -> int | None:
    """Store a new thread's row; its key, or None when the thread is stored already."""
    meta = row.meta
    columns = listing_columns(meta, row.state)
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
            encode_state(row.state),
            encode_text_state(row.text_state),
            row.text_index,
            row.next_seq,
            row.next_ordinal,
            columns["preview"],
            columns["title_name"],
            columns["cwd"],
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


async def store_batch(conn: Conn, row: ThreadRow, batch: Batch, *, update: bool = True) -> None:
    """Write a batch's lines and texts, then (``update``) the row's new summary (``row``
    already fed)."""
    if batch.raws:
        async with (
            conn.cursor() as cur,
            cur.copy("COPY items (thread_key, seq, line) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int8", "int8", "bytea"])
            for n, raw in enumerate(batch.raws):
                await copy.write_row((row.key, batch.first_seq + n, raw))
    await store_texts(conn, row.key, batch.texts)
    if update:
        await update_row(conn, row)


async def store_texts(conn: Conn, thread_key: int, texts: list[SearchText]) -> None:
    """Index what a thread says for full-text search."""
    if texts:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO texts (thread_key, role, turn_id, body, words)"
                " VALUES (%s, %s, %s, %s, array_to_tsvector(%s::text[]))",
                [
                    (thread_key, t.role, pg_text(t.turn_id), pg_text(t.text), words(t.text))
                    for t in texts
                ],
            )


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
    columns = listing_columns(row.meta, row.state)
    await conn.execute(
        "UPDATE threads SET state = %s, text_state = %s, text_index = %s, next_seq = %s,"
        " next_ordinal = %s, preview = %s, title_name = %s, cwd = %s, updated_ms = %s,"
        " recency_ms = %s, torn_tail = %s WHERE key = %s",
        (
            encode_state(row.state),
            encode_text_state(row.text_state),
            row.text_index,
            row.next_seq,
            row.next_ordinal,
            columns["preview"],
            columns["title_name"],
            columns["cwd"],
            row.updated_ms,
            row.recency_ms,
            row.torn_tail,
            row.key,
        ),
    )


async def record_key(conn: Conn, row: ThreadRow, key: str, count: int) -> bool:
    """Record an idempotency key for a batch starting at ``row.next_seq``; False when the
    key was recorded before (the batch was applied already)."""
    cur = await conn.execute(
        "INSERT INTO append_keys (thread_key, key, first_seq, count) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (thread_key, key) DO NOTHING",
        (row.key, key, row.next_seq, count),
    )
    return cur.rowcount == 1


# --- claims ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Writer:
    """This process's writer of one thread.

    ``pending``: a created thread not yet stored (its row, key 0, holding its session_meta,
    and that line's bytes). ``row``: the row as last written by this writer (None: read it).
    """

    thread_id: ThreadId
    holder: str
    paginated: bool = False
    pending: ThreadRow | None = None
    pending_raw: bytes = b""
    row: ThreadRow | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lost: bool = False
    sent: tuple[int, list[bytes]] | None = None
    """Lines sent since the last acknowledged write (first sequence number, bytes): their
    commit may have happened (see ``PostgresThreadStore._write``)."""


class Claims:
    """The writer leases of one store (one owner), renewed in the background."""

    def __init__(self, db: Database, owner: str, lease_s: float) -> None:
        self.db = db
        self.owner = owner
        self.lease_s = lease_s
        self.session = str(uuid.uuid4())
        self.writers: dict[ThreadId, Writer] = {}
        self._claiming: set[ThreadId] = set()
        self._task: asyncio.Task[None] | None = None

    async def claim(self, thread_id: ThreadId) -> Writer:
        """Take the writer lease of a thread (Conflict if another live writer has it)."""
        if thread_id in self.writers or thread_id in self._claiming:
            raise active_writer(thread_id)
        holder = str(uuid.uuid4())
        writer = Writer(thread_id, holder)
        self._claiming.add(thread_id)

        async def take(conn: Conn) -> bool:  # safe to run twice (the session may retake)
            cur = await conn.execute(
                "INSERT INTO writers (owner, thread_id, holder, session, expires_at)"
                " VALUES (%s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s))"
                " ON CONFLICT (owner, thread_id) DO UPDATE SET holder = EXCLUDED.holder,"
                " session = EXCLUDED.session, expires_at = EXCLUDED.expires_at"
                " WHERE writers.expires_at < clock_timestamp()"
                # this store's own lease, left by a claim or a release whose answer was
                # lost with its connection: nobody else can hold it
                " OR writers.session = EXCLUDED.session"
                " RETURNING holder",
                (self.owner, thread_id, holder, self.session, self.lease_s),
            )
            return await cur.fetchone() is not None

        try:
            won = await self.db.read(take)
        finally:
            self._claiming.discard(thread_id)
        if not won:
            raise active_writer(thread_id)
        self.writers[thread_id] = writer
        self._start_heartbeat()
        return writer

    async def release(self, writer: Writer) -> None:
        """Give the lease up (the writer is forgotten even if the database is out of reach;
        its lease then expires, or this store takes it again)."""
        if self.writers.get(writer.thread_id) is writer:
            del self.writers[writer.thread_id]

        async def drop(conn: Conn) -> None:  # safe to run twice
            await conn.execute(
                "DELETE FROM writers WHERE owner = %s AND thread_id = %s AND holder = %s",
                (self.owner, writer.thread_id, writer.holder),
            )

        await self.db.read(drop)

    async def renew(self, conn: Conn, writer: Writer) -> None:
        """Check (and extend) the writer's lease inside the caller's transaction; Conflict
        when another writer took the thread over."""
        cur = await conn.execute(
            "UPDATE writers SET expires_at = clock_timestamp() + make_interval(secs => %s)"
            " WHERE owner = %s AND thread_id = %s AND holder = %s",
            (self.lease_s, self.owner, writer.thread_id, writer.holder),
        )
        if cur.rowcount != 1:
            writer.lost = True
            raise Conflict(
                f"thread {writer.thread_id} is no longer held by this writer (its lease"
                " expired and another writer took it over)",
                writer.thread_id,
            )

    @staticmethod
    async def held(conn: Conn, owner: str, thread_id: str) -> bool:
        """Does any live writer (of any process) hold the thread?"""
        cur = await conn.execute(
            "SELECT 1 FROM writers WHERE owner = %s AND thread_id = %s"
            " AND expires_at >= clock_timestamp()",
            (owner, thread_id),
        )
        return await cur.fetchone() is not None

    def _start_heartbeat(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        """Renew every lease of this store, a third of a lease apart, while it has writers.

        A lease that was taken over meanwhile is not renewed (its holder changed); its
        writer finds out on its next write.
        """
        while self.writers:
            await asyncio.sleep(self.lease_s / 3)
            if not self.writers:
                return
            with contextlib.suppress(ThreadloomError):
                async with self.db.connection() as conn:
                    await conn.execute(
                        "UPDATE writers SET expires_at = clock_timestamp()"
                        " + make_interval(secs => %s) WHERE session = %s"
                        " AND holder = ANY(%s::uuid[])",
                        (self.lease_s, self.session, [w.holder for w in self.writers.values()]),
                    )

    async def close(self) -> None:
        """Stop renewing and give every lease up."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        writers = list(self.writers.values())
        self.writers.clear()
        if writers:
            with contextlib.suppress(ThreadloomError):
                async with self.db.connection() as conn:
                    await conn.execute(
                        "DELETE FROM writers WHERE owner = %s AND session = %s",
                        (self.owner, self.session),
                    )

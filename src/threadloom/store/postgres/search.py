"""Full-text search on PostgreSQL's text search: a GIN index finds, shared rules rank.

Each message's words are stored as a ``tsvector`` of the words ``search_rank`` matches
(folded the same way: case and accents), so ``@@`` finds exactly the messages the shared
ranking would count. Candidate threads are those of the newest messages holding every query
word (at most ``CANDIDATES`` messages), then, when they do not fill the page, of those holding
any word; every matching message of each candidate is then scored with ``search_rank``
(distinct words, then occurrences, then the most recently updated thread), and the best
message of each gives the snippet and its turn id. A thread holding every word outranks any
other, so the ranking equals the memory store's exhaustive one whenever the candidates hold
every thread with all the words (always, below ``CANDIDATES`` matching messages).
"""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.protocol.cursor import clamp_limit
from threadloom.protocol.texts import SearchText
from threadloom.store.params import SearchThreadsParams
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.rows import THREAD_COLUMNS, ThreadRow
from threadloom.store.postgres.writer import MAX_LEXEME_BYTES
from threadloom.store.records import SearchHit, SearchPage
from threadloom.store.search_rank import make_snippet, rank_threads, search_terms

CANDIDATES = 500


def ts_query(terms: list[str], *, every: bool = False) -> str:
    """A tsquery (input syntax) for any (or ``every``) of the words, each as one lexeme."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
    return (" & " if every else " | ").join(quoted)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return int(cursor)


async def search(
    conn: Conn, owner: str, params: SearchThreadsParams, default_provider: str
) -> SearchPage:
    """The owner's threads ranked by the words they contain, with snippet and turn."""
    terms = search_terms(params.query)
    if not terms:
        raise InvalidRequest("search query must contain at least one word")
    offset = _offset(params.cursor)
    limit = clamp_limit(params.limit)
    indexed = [t for t in terms if len(t.encode()) <= MAX_LEXEME_BYTES]
    if not indexed:
        return SearchPage(items=[], next_cursor=None)
    archived = "" if params.archived is None else " AND t.archived = %s"
    extra: list[Any] = [] if params.archived is None else [params.archived]
    find = (
        "SELECT x.thread_key FROM texts x JOIN threads t ON t.key = x.thread_key"
        f" WHERE t.owner = %s AND x.words @@ %s::tsquery{archived}"
        f" ORDER BY x.id DESC LIMIT {CANDIDATES}"
    ).encode()
    any_word = ts_query(indexed)
    cur = await conn.execute(find, [owner, ts_query(indexed, every=True), *extra])
    keys = dict.fromkeys(r[0] for r in await cur.fetchall())
    if len(indexed) > 1 and len(keys) <= offset + limit:
        cur = await conn.execute(find, [owner, any_word, *extra])
        keys.update(dict.fromkeys(r[0] for r in await cur.fetchall()))
    # every message of the candidate threads holding any word: their exact scores
    cur = await conn.execute(
        "SELECT x.thread_key, x.role, x.turn_id, x.body, t.updated_ms, t.thread_id"
        " FROM texts x JOIN threads t ON t.key = x.thread_key"
        " WHERE x.thread_key = ANY(%s) AND x.words @@ %s::tsquery ORDER BY x.id",
        (list(keys), any_word),
    )
    scored = rank_threads(
        (
            (thread_key, SearchText(role, turn_id, body), (updated_ms, thread_id))
            for thread_key, role, turn_id, body, updated_ms, thread_id in await cur.fetchall()
        ),
        terms,
    )
    page = scored[offset : offset + limit]
    threads: dict[int, ThreadRow] = {}
    if page:
        cur = await conn.execute(
            f"SELECT {THREAD_COLUMNS} FROM threads t WHERE t.key = ANY(%s)".encode(),
            ([thread_key for _, thread_key in page],),
        )
        threads = {r[0]: ThreadRow.from_db(r) for r in await cur.fetchall()}
    hits = [
        SearchHit(
            thread=threads[thread_key].record(default_provider=default_provider, listing=True),
            snippet=make_snippet(text.text, *span),
            turn_id=text.turn_id,
            role=text.role,
            score=score,
        )
        for (score, text, span), thread_key in page
        if thread_key in threads
    ]
    end = offset + len(page)
    return SearchPage(items=hits, next_cursor=str(end) if end < len(scored) else None)

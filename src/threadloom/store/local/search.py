"""Full-text search over everything users and assistants said (SQLite FTS5, bm25 ranking)."""

from __future__ import annotations

import re

from threadloom.errors import InvalidRequest
from threadloom.store.local.convert import stored_thread
from threadloom.store.local.index import FILE_COLUMNS, Index
from threadloom.store.params import SearchThreadsParams
from threadloom.store.records import SearchHit, SearchPage

_WORD = re.compile(r"\w+", re.UNICODE)
_SCAN_LIMIT = 2000


def fts_query(text: str) -> str:
    """Every word of ``text`` must occur (prefix match on the last word)."""
    words = _WORD.findall(text)
    if not words:
        raise InvalidRequest("search query must contain at least one word")
    parts = [f'"{w}"' for w in words[:-1]]
    parts.append(f'"{words[-1]}"*')
    return " ".join(parts)


def search(index: Index, params: SearchThreadsParams, default_provider: str) -> SearchPage:
    """Threads ranked by their best matching message, with a snippet and that message's turn."""
    query = fts_query(params.query)
    offset = _offset(params.cursor)
    limit = max(1, min(params.limit, 100))
    archived_clause = "" if params.archived is None else "AND f.archived = ?"
    args: tuple[object, ...] = (
        (query,) if params.archived is None else (query, int(params.archived))
    )
    sql = (
        "SELECT t.thread_id, t.turn_id, t.role,"
        " snippet(texts_fts, 0, '[', ']', '…', 16), bm25(texts_fts) AS score, t.path"
        " FROM texts_fts JOIN texts t ON t.id = texts_fts.rowid"
        " JOIN files f ON f.path = t.path AND f.current = 1 AND f.valid = 1 "
        f" WHERE texts_fts MATCH ? {archived_clause} ORDER BY score LIMIT {_SCAN_LIMIT}"
    )
    with index.lock:
        rows = index.conn.execute(sql, args).fetchall()
    best: dict[str, tuple[str | None, str, str, float, str]] = {}
    for thread_id, turn_id, role, snippet, score, path in rows:
        if thread_id not in best:
            best[thread_id] = (turn_id, role, snippet, float(score), path)
    ordered = list(best.items())[offset : offset + limit]
    hits: list[SearchHit] = []
    for _, (turn_id, role, snippet, score, path) in ordered:
        found = index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.path = ?",
            (path,),
        )
        if not found:
            continue
        thread = stored_thread(found[0], default_provider=default_provider, listing=True)
        hits.append(
            SearchHit(thread=thread, snippet=snippet, turn_id=turn_id, role=role, score=-score)
        )
    more = len(best) > offset + limit
    return SearchPage(items=hits, next_cursor=str(offset + limit) if more else None)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return int(cursor)

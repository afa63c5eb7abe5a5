"""Full-text search on the local index: FTS5 finds candidate messages, shared rules rank them.

FTS5 (bm25) narrows the search to the best ``CANDIDATES`` messages containing any query word;
those are then ranked per thread with the rules every backend shares (``search_rank``). On
small result sets this is exact; on huge ones the ranking covers the best candidates only.
"""

from __future__ import annotations

from collections import defaultdict

from threadloom.errors import InvalidRequest
from threadloom.protocol.cursor import clamp_limit
from threadloom.protocol.texts import SearchText
from threadloom.store.local.convert import stored_thread
from threadloom.store.local.index import FILE_COLUMNS, Index
from threadloom.store.params import SearchThreadsParams
from threadloom.store.records import SearchHit, SearchPage
from threadloom.store.search_rank import make_snippet, score_thread, search_terms

CANDIDATES = 5000


def fts_query(terms: list[str]) -> str:
    """Any of the words, each as a whole token."""
    return " OR ".join(f'"{term}"' for term in terms)


def search(index: Index, params: SearchThreadsParams, default_provider: str) -> SearchPage:
    """Threads ranked by the words they contain, with their best message's snippet and turn."""
    terms = search_terms(params.query)
    if not terms:
        raise InvalidRequest("search query must contain at least one word")
    offset = _offset(params.cursor)
    limit = clamp_limit(params.limit)
    archived = "" if params.archived is None else "AND f.archived = ?"
    args: tuple[object, ...] = (fts_query(terms),)
    if params.archived is not None:
        args += (int(params.archived),)
    sql = (
        "SELECT t.path, t.turn_id, t.role, t.body FROM texts_fts"
        " JOIN texts t ON t.id = texts_fts.rowid"
        " JOIN files f ON f.path = t.path AND f.current = 1 AND f.valid = 1"
        f" WHERE texts_fts MATCH ? {archived} ORDER BY bm25(texts_fts), t.id"
        f" LIMIT {CANDIDATES}"
    )
    with index.lock:
        rows = index.conn.execute(sql, args).fetchall()
    by_path: dict[str, list[SearchText]] = defaultdict(list)
    for path, turn_id, role, body in rows:
        by_path[path].append(SearchText(role, turn_id, body))
    scored = []
    for path, texts in by_path.items():
        found = score_thread(texts, terms)
        if found is None:
            continue
        row = index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.path = ?",
            (path,),
        )
        if row:
            thread = stored_thread(row[0], default_provider=default_provider, listing=True)
            scored.append((found, thread))
    scored.sort(key=lambda hit: (hit[0][0], hit[1].updated_at_ms, hit[1].thread_id), reverse=True)
    page = scored[offset : offset + limit]
    hits = [
        SearchHit(
            thread=thread,
            snippet=make_snippet(text.text, *span),
            turn_id=text.turn_id,
            role=text.role,
            score=score,
        )
        for (score, text, span), thread in page
    ]
    end = offset + len(page)
    return SearchPage(items=hits, next_cursor=str(end) if end < len(scored) else None)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return int(cursor)

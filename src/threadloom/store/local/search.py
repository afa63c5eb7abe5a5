"""Full-text search on the local index: FTS5 finds candidate messages, shared rules rank them.

FTS5 finds the messages holding every query word (then, if they do not fill the page, any
word), newest indexed first, at most ``CANDIDATES`` of them; those are ranked per thread with
the rules every backend shares (``search_rank``). When fewer messages match, the ranking is
exact; on huge result sets it covers the most recently indexed candidates, which keeps a
query of common words fast (a bm25 ordering of every match costs seconds at 10,000 threads).
"""

from __future__ import annotations

from threadloom.errors import InvalidRequest
from threadloom.protocol.cursor import clamp_limit
from threadloom.protocol.texts import SearchText
from threadloom.store.local.convert import stored_thread
from threadloom.store.local.index import FILE_COLUMNS, Index
from threadloom.store.params import SearchThreadsParams
from threadloom.store.records import SearchHit, SearchPage
from threadloom.store.search_rank import make_snippet, rank_threads, search_terms

CANDIDATES = 500


def fts_query(terms: list[str], *, every: bool = False) -> str:
    """Any (or ``every``) of the words, each as a whole token."""
    return (" AND " if every else " OR ").join(f'"{term}"' for term in terms)


def search(index: Index, params: SearchThreadsParams, default_provider: str) -> SearchPage:
    """Threads ranked by the words they contain, with their best message's snippet and turn."""
    terms = search_terms(params.query)
    if not terms:
        raise InvalidRequest("search query must contain at least one word")
    offset = _offset(params.cursor)
    limit = clamp_limit(params.limit)
    archived = "" if params.archived is None else "AND f.archived = ?"
    extra: tuple[object, ...] = () if params.archived is None else (int(params.archived),)
    sql = (
        "SELECT t.id, t.path, t.turn_id, t.role, t.body, f.mtime_ns, f.thread_id FROM texts_fts"
        " JOIN texts t ON t.id = texts_fts.rowid"
        " JOIN files f ON f.path = t.path AND f.current = 1 AND f.valid = 1"
        f" WHERE texts_fts MATCH ? {archived} ORDER BY texts_fts.rowid DESC"
        f" LIMIT {CANDIDATES}"
    )
    with index.lock:
        # Messages with every word rank first; the any-word query is needed only when they
        # do not fill the page (it is the expensive one for common words).
        rows = index.conn.execute(sql, (fts_query(terms, every=True), *extra)).fetchall()
        if len(terms) > 1 and len({r[1] for r in rows}) <= offset + limit:
            seen = {r[0] for r in rows}
            more = index.conn.execute(sql, (fts_query(terms), *extra)).fetchall()
            rows += [r for r in more if r[0] not in seen]
    scored = rank_threads(
        (
            (path, SearchText(role, turn_id, body), (mtime_ns // 1_000_000, thread_id))
            for _, path, turn_id, role, body, mtime_ns, thread_id in rows
        ),
        terms,
    )
    page = scored[offset : offset + limit]
    hits = []
    for (score, text, span), path in page:
        found_rows = index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.path = ?",
            (path,),
        )
        if not found_rows:
            continue
        thread = stored_thread(found_rows[0], default_provider=default_provider, listing=True)
        snippet = make_snippet(text.text, *span)
        hits.append(
            SearchHit(
                thread=thread, snippet=snippet, turn_id=text.turn_id, role=text.role, score=score
            )
        )
    end = offset + len(page)
    return SearchPage(items=hits, next_cursor=str(end) if end < len(scored) else None)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return int(cursor)

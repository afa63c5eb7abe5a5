"""``list_threads`` in SQL: Codex's filters, ordering and cursors (protocol.listing) on indexes.

Every listing filters on the owner and the archived flag and orders by one sort key and the
thread id, so it walks one of the partial indexes ``threads_by_*`` (listable threads only)
from the cursor on and stops after a page: the first page costs the same at a million
threads as at ten. Millisecond listings use the exact key; the scan path's ``created_at``
listing counts whole seconds (``created_s``), as the memory and local stores do. A cwd
filter walks the cwd indexes instead (one walk per cwd, merged). A search term (a substring
of the preview or the listed name) is found through trigram indexes when the schema has
them (the server had ``pg_trgm``), else by scanning. Excluded ids and a database-only search
(on the title, kept in each row's summary) are applied to the rows as they come, in chunks,
until the page is settled (``PageFill``). Statements are planned for their values every
time: which index is cheaper depends on how common the filtered values are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadloom.protocol.cursor import ListCursor
from threadloom.protocol.listing import (
    PageFill,
    database_search_matches,
    matched_by_name_only,
    millisecond_keys,
    name_search_term,
    page_cursors,
    sort_key_ms,
    uses_database,
)
from threadloom.store.params import ListThreadsParams, SortDirection, SortKey
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.rows import THREAD_COLUMNS, ThreadRow, pg_text
from threadloom.store.records import ThreadPage

_SUBAGENT_KINDS = ("subAgentReview", "subAgentCompact", "subAgentThreadSpawn", "subAgentOther")
_NS_PER_MS = 1_000_000
_MAX_CHUNK = 2048
"""Rows per query at most (while a database-only search filters them, chunks grow)."""

_MAX_WALKS = 64
"""Cwds walked one by one at most (beyond, one walk of the sort index filters them)."""

_LISTED_NAME = "coalesce(t.list_name_text, t.title_name, '')"
"""The name a search term matches: the expression of its trigram index (schema.LISTED_NAME)."""

_MS_KEY = {
    SortKey.CREATED_AT: "t.created_ms",
    SortKey.UPDATED_AT: "t.updated_ms",
    SortKey.RECENCY_AT: "t.recency_ms",
}


def _filters(
    owner: str, params: ListThreadsParams, default_provider: str, *, trigram: bool
) -> tuple[list[str], list[Any]]:
    """The WHERE terms of sections 5.1-5.2 (cursors and cwds aside) and their arguments.

    Every term is one the planner has statistics for (no expression over a column), so it
    picks between walking a sort index and finding the few matching rows first.
    """
    where = ["t.owner = %s", "t.archived = %s", "t.preview IS NOT NULL"]
    args: list[Any] = [owner, params.archived]
    default = pg_text(default_provider)
    if params.model_providers is None:
        where.append("(t.provider = %s OR t.provider IS NULL)")
        args.append(default)
    elif params.model_providers:
        providers = sorted({pg_text(p) or "" for p in params.model_providers})
        unset = " OR t.provider IS NULL" if default in providers else ""
        where.append(f"(t.provider = ANY(%s::text[]){unset})")
        args.append(providers)
    if params.source_kinds:
        kinds = set(params.source_kinds)
        if "subAgent" in kinds:
            kinds.update(_SUBAGENT_KINDS)
        where.append("t.source_kind = ANY(%s::text[])")
        args.append(sorted(kinds))
    else:
        where.append("t.interactive")
    if params.search_term and not params.state_db_only:
        term = pg_text(params.search_term)
        assert term is not None
        if trigram:  # LIKE finds the rows through the trigram indexes
            where.append(f"(t.preview LIKE %s OR {_LISTED_NAME} LIKE %s)")
            pattern = "%" + like_escape(term) + "%"
            args += [pattern, pattern]
        else:
            where.append(f"(strpos(t.preview, %s) > 0 OR strpos({_LISTED_NAME}, %s) > 0)")
            args += [term, term]
    return where, args


def like_escape(text: str) -> str:
    """``text`` as a LIKE pattern matching exactly itself (backslash escapes)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after_cursor(
    cursor: ListCursor, key: str, *, precise: bool, desc: bool
) -> tuple[str, list[Any]]:
    """The WHERE term keeping the items strictly after ``cursor``, as a bound on the
    index's own columns (see protocol.listing for the rules)."""
    op = "<" if desc else ">"
    if precise:
        exact_ms, rest = divmod(cursor.exact_ns, _NS_PER_MS)
        if rest:  # a sub-millisecond cursor equals no key: compare with the whole ms
            return f"{key} {op} %s", [exact_ms + 1 if desc else exact_ms]
        bound, after_id = exact_ms, cursor.thread_id
    else:
        bound, after_id = cursor.keyset(desc)
    if after_id is None:
        return f"{key} {op} %s", [bound]
    return f"({key}, t.thread_id) {op} (%s, %s)", [bound, after_id]


@dataclass(frozen=True, slots=True)
class _PageQuery:
    """The statement fetching a listing's rows in order, ``limit`` rows from ``offset``.

    Rows of one cwd (or of any) come from one ordered walk of an index. Several cwds take
    one walk each, merged (``= ANY`` of cwds would not come out in index order): each walk
    stops after ``offset + limit`` rows.
    """

    query: bytes
    walk_args: list[list[Any]]
    """The arguments of each walk (none: a single statement without walks)."""
    args: list[Any]

    @classmethod
    def of(
        cls, where: list[str], args: list[Any], cwds: list[str] | None, key: str, direction: str
    ) -> _PageQuery:
        distinct = list(dict.fromkeys(pg_text(c) or "" for c in cwds or ()))
        if cwds is None or len(distinct) <= 1 or len(distinct) > _MAX_WALKS:
            if len(distinct) > _MAX_WALKS:
                where, args = [*where, "t.cwd = ANY(%s::text[])"], [*args, distinct]
            elif cwds is not None:
                where = [*where, "t.cwd = %s" if distinct else "false"]
                args = [*args, *distinct]
            query = (
                f"SELECT {THREAD_COLUMNS} FROM threads t WHERE {' AND '.join(where)}"
                f" ORDER BY {key} {direction}, t.thread_id {direction} LIMIT %s OFFSET %s"
            )
            return cls(query.encode(), [], args)
        walk = (
            f"(SELECT {THREAD_COLUMNS}, {key} AS sort_key FROM threads t"
            f" WHERE {' AND '.join(where)} AND t.cwd = %s"
            f" ORDER BY {key} {direction}, t.thread_id {direction} LIMIT %s)"
        )
        query = (
            f"SELECT * FROM ({' UNION ALL '.join([walk] * len(distinct))}) u"
            f" ORDER BY u.sort_key {direction}, u.thread_id {direction} LIMIT %s OFFSET %s"
        )
        return cls(query.encode(), [[*args, cwd] for cwd in distinct], [])

    def arguments(self, limit: int, offset: int) -> list[Any]:
        """The statement's arguments for ``limit`` rows from ``offset``."""
        walks = [a for args in self.walk_args for a in (*args, offset + limit)]
        return [*walks, *self.args, limit, offset]


async def list_threads(
    conn: Conn,
    owner: str,
    params: ListThreadsParams,
    default_provider: str,
    *,
    trigram: bool = False,
) -> ThreadPage:
    """One page of the owner's threads, exactly as ``thread/list`` returns it (``trigram``:
    the schema has the search term's trigram indexes)."""
    cursor = ListCursor.parse(params.cursor) if params.cursor is not None else None
    database = uses_database(params)
    precise = millisecond_keys(params)
    desc = params.sort_direction == SortDirection.DESC
    key = _MS_KEY[params.sort_key] if precise else "t.created_s"
    where, args = _filters(owner, params, default_provider, trigram=trigram)
    if cursor is not None:
        clause, values = _after_cursor(cursor, key, precise=precise, desc=desc)
        where.append(clause)
        args += values
    direction = "DESC" if desc else "ASC"
    page = _PageQuery.of(where, args, params.cwds, key, direction)
    fill: PageFill[ThreadRow] = PageFill.of(params.limit, params.excluded_thread_ids)
    title_term = params.search_term if params.state_db_only else None
    chunk = fill.limit + len(fill.excluded) + 1  # a page, unless rows are filtered out
    offset, settled = 0, False
    while not settled:
        # planned for its values each time (a generic plan would guess at the filters)
        cur = conn.cursor(binary=True)
        await cur.execute(page.query, page.arguments(chunk, offset), prepare=False)
        fetched = await cur.fetchall()
        for row in map(ThreadRow.from_db, fetched):
            if title_term and not database_search_matches(
                row.state.preview, row.state.title, title_term
            ):
                continue
            if settled := fill.offer(row, row.thread_id):
                break
        settled = settled or len(fetched) < chunk
        offset += chunk
        chunk = min(chunk * 4, _MAX_CHUNK)
    items = [
        row.record(default_provider=default_provider, listing=True, scan_path=not database)
        for row in fill.items
    ]
    sort_key = params.sort_key.value
    following, backwards = page_cursors(
        sort_key_ms(items[0], sort_key) if items else None,
        (sort_key_ms(items[-1], sort_key), items[-1].thread_id) if fill.more and items else None,
        key=sort_key,
        descending=desc,
        database=database,
        first_by_name=bool(items) and matched_by_name_only(items[0], name_search_term(params)),
    )
    return ThreadPage(items=items, next_cursor=following, backwards_cursor=backwards)

"""``list_threads`` on the index: Codex's filters, ordering and cursors, answered by SQL.

Codex answers a listing either by scanning files or from its database, and the answers order
and page differently (``threadloom.protocol.listing`` describes both): by milliseconds, except
``created_at`` on the scan path, which orders by the *file name's* timestamp (read as UTC
although Codex writes local time). Ties go by thread id on the database path and by the
file name's uuid on the scan path, and ``nextCursor`` names the same two values (observed on
0.169.0 with renamed files and mismatched ids).

SQL filters, orders and pages; excluded ids and a database-only search (which matches the
title, a value the index keeps only in each file's summary) are applied to the rows as they
come, in chunks, until the page is settled (``PageFill``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from threadloom.protocol.cursor import ListCursor
from threadloom.protocol.listing import (
    PageFill,
    database_search_matches,
    millisecond_keys,
    name_search_term,
    page_cursors,
    uses_database,
)
from threadloom.store.local.convert import stored_thread
from threadloom.store.local.index import FILE_COLUMNS, FileRow, Index
from threadloom.store.params import ListThreadsParams, SortDirection, SortKey
from threadloom.store.records import StoredThread, ThreadPage

_SUBAGENT_KINDS = ("subAgentReview", "subAgentCompact", "subAgentThreadSpawn", "subAgentOther")
_NS_PER_MS = 1_000_000
_MAX_CHUNK = 2048
"""Rows per query at most (while a database-only search filters them, chunks grow)."""

_MS_KEY = {
    SortKey.CREATED_AT: "f.created_ms",
    SortKey.UPDATED_AT: "f.updated_ms",
    SortKey.RECENCY_AT: "f.recency_ms",
}


def list_threads(index: Index, params: ListThreadsParams, default_provider: str) -> ThreadPage:
    """One page of threads, exactly as Codex's ``thread/list`` would return it."""
    cursor = ListCursor.parse(params.cursor) if params.cursor is not None else None
    database = uses_database(params)
    precise = millisecond_keys(params)
    sort_key = params.sort_key
    key = _MS_KEY[sort_key] if precise else "f.name_s"
    tie = "f.thread_id" if database else "f.file_uuid"
    desc = params.sort_direction == SortDirection.DESC
    where = [
        "f.valid = 1",
        "f.current = 1",
        "f.preview IS NOT NULL",
        "f.archived = ?",
    ]
    args: list[Any] = [int(params.archived)]
    if params.model_providers is None:
        where.append("coalesce(f.provider, ?) = ?")
        args += [default_provider, default_provider]
    elif params.model_providers:
        marks = ",".join("?" * len(params.model_providers))
        where.append(f"coalesce(f.provider, ?) IN ({marks})")
        args += [default_provider, *params.model_providers]
    if params.source_kinds:
        kinds = set(params.source_kinds)
        if "subAgent" in kinds:
            kinds.update(_SUBAGENT_KINDS)
        marks = ",".join("?" * len(kinds))
        where.append(f"f.source_kind IN ({marks})")
        args += sorted(kinds)
    else:
        where.append("f.interactive = 1")
    if params.cwds is not None:
        marks = ",".join("?" * len(params.cwds)) or "NULL"
        where.append(f"f.cwd IN ({marks})")
        args += params.cwds
    term = params.search_term
    if term and not params.state_db_only:
        where.append(
            "(instr(f.preview, ?) > 0 OR instr(coalesce(n.list_name, f.title_name, ''), ?) > 0)"
        )
        args += [term, term]
    if cursor is not None:
        clause, values = _after_cursor(cursor, key, tie, precise=precise, desc=desc)
        where.append(clause)
        args += values
    direction = "DESC" if desc else "ASC"
    sql = (
        f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
        f" WHERE {' AND '.join(where)} ORDER BY {key} {direction}, {tie} {direction}"
        " LIMIT ? OFFSET ?"
    )
    fill: PageFill[FileRow] = PageFill.of(params.limit, params.excluded_thread_ids)
    title_term = term if term and params.state_db_only else None
    for row in _rows(index, sql, args, fill.limit + len(fill.excluded) + 1):
        if title_term and not database_search_matches(
            row.state.preview, row.state.title, title_term
        ):
            continue
        if fill.offer(row, row.thread_id or ""):
            break
    rows = fill.items
    items = [
        stored_thread(r, default_provider=default_provider, listing=True, scan_path=not database)
        for r in rows
    ]
    term = name_search_term(params)
    last = None
    if fill.more and items:
        edge = rows[-1]
        key_ms = _key_ms(items[-1], sort_key) if precise else edge.name_seconds * 1000
        last = (key_ms, items[-1].thread_id if database else edge.file_uuid)
    following, backwards = page_cursors(
        _key_ms(items[0], sort_key) if items else None,
        last,
        key=sort_key,
        descending=desc,
        database=database,
        first_by_name=bool(
            rows and term and term not in items[0].preview and term in (rows[0].list_name or "")
        ),
    )
    return ThreadPage(items=items, next_cursor=following, backwards_cursor=backwards)


def _rows(index: Index, sql: str, args: list[Any], chunk: int) -> Iterator[FileRow]:
    """The rows of ``sql`` (ending ``LIMIT ? OFFSET ?``): ``chunk`` first (enough for a
    page unless rows are filtered out), then chunks four times larger each time."""
    offset = 0
    while True:
        rows = index.rows(sql, (*args, chunk, offset))
        yield from rows
        if len(rows) < chunk:
            return
        offset += chunk
        chunk = min(chunk * 4, _MAX_CHUNK)


def _after_cursor(
    cursor: ListCursor, key: str, tie: str, *, precise: bool, desc: bool
) -> tuple[str, list[Any]]:
    """The WHERE clause keeping the items strictly after ``cursor`` (see protocol.listing)."""
    op = "<" if desc else ">"
    if precise:
        scaled = f"({key} * {_NS_PER_MS})"
        if cursor.thread_id is None:
            return f"{scaled} {op} ?", [cursor.exact_ns]
        return (
            f"({scaled} {op} ? OR ({scaled} = ? AND {tie} {op} ?))",
            [cursor.exact_ns, cursor.exact_ns, cursor.thread_id],
        )
    seconds, after_id = cursor.keyset(desc)
    if after_id is None:
        return f"{key} {op} ?", [seconds]
    return f"({key} {op} ? OR ({key} = ? AND {tie} {op} ?))", [seconds, seconds, after_id]


def _key_ms(thread: StoredThread, key: SortKey) -> int:
    if key == SortKey.CREATED_AT:
        return thread.created_at_ms
    if key == SortKey.UPDATED_AT:
        return thread.updated_at_ms
    return thread.recency_at_ms

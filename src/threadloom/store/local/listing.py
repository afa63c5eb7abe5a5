"""``list_threads`` on the index: Codex's filters, ordering and cursors, answered by SQL."""

from __future__ import annotations

from typing import Any

from threadloom.protocol.codec import format_rfc3339_seconds, format_timestamp
from threadloom.protocol.cursor import ListCursor
from threadloom.store.local.convert import stored_thread
from threadloom.store.local.index import FILE_COLUMNS, Index
from threadloom.store.params import (
    MAX_PAGE_SIZE,
    ListThreadsParams,
    SortDirection,
    SortKey,
)
from threadloom.store.records import StoredThread, ThreadPage

_SUBAGENT_KINDS = ("subAgentReview", "subAgentCompact", "subAgentThreadSpawn", "subAgentOther")


def list_threads(index: Index, params: ListThreadsParams, default_provider: str) -> ThreadPage:
    """One page of threads, exactly as Codex's ``thread/list`` would return it."""
    limit = min(max(params.limit, 1), MAX_PAGE_SIZE)
    cursor = ListCursor.parse(params.cursor) if params.cursor is not None else None
    key = "f.created_s" if params.sort_key == SortKey.CREATED_AT else "f.updated_s"
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
    if params.search_term:
        where.append("(instr(f.preview, ?) > 0 OR instr(coalesce(n.list_name, ''), ?) > 0)")
        args += [params.search_term, params.search_term]
    if cursor is not None:
        op = "<" if desc else ">"
        seconds, after_id = cursor.keyset(desc)
        if after_id is None:
            where.append(f"{key} {op} ?")
            args.append(seconds)
        else:
            where.append(f"({key} {op} ? OR ({key} = ? AND f.thread_id {op} ?))")
            args += [seconds, seconds, after_id]
    direction = "DESC" if desc else "ASC"
    sql = (
        f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
        f" WHERE {' AND '.join(where)} ORDER BY {key} {direction}, f.thread_id {direction}"
        " LIMIT ?"
    )
    rows = index.rows(sql, (*args, limit + 1))
    more = len(rows) > limit
    items = [
        stored_thread(r, default_provider=default_provider, listing=True) for r in rows[:limit]
    ]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = (
            f"{format_rfc3339_seconds(_key_ms(last, params.sort_key) // 1000)}|{last.thread_id}"
        )
    backwards = None
    if items:
        first_ms = _key_ms(items[0], params.sort_key)
        if params.sort_key == SortKey.CREATED_AT and _database_path(params):
            first_ms = first_ms // 1000 * 1000
        backwards = format_timestamp(first_ms - 1 if desc else first_ms + 1)
    return ThreadPage(items=items, next_cursor=next_cursor, backwards_cursor=backwards)


def _database_path(params: ListThreadsParams) -> bool:
    """Would Codex answer from its database (not a file scan)? Its keys are then in seconds.

    Observed on 0.169.0: a search term, or any non-interactive source kind, selects it.
    """
    if params.search_term:
        return True
    return any(kind not in ("cli", "vscode") for kind in params.source_kinds)


def _key_ms(thread: StoredThread, key: SortKey) -> int:
    if key == SortKey.CREATED_AT:
        return thread.created_at_ms
    if key == SortKey.UPDATED_AT:
        return thread.updated_at_ms
    return thread.recency_at_ms

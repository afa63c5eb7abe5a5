"""``thread/list`` semantics over records (app-server-threads section 5), for any backend.

A backend that holds its threads as ``StoredThread`` records (carrying the *list* name, i.e.
the last non-empty one) gets filters, ordering, paging and cursors from ``list_page``;
backends answering from an index can reuse ``thread_matches``/``sort_key_ms`` and the
cursor helpers to keep exactly the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from threadloom.protocol.cursor import (
    ListCursor,
    after_cursor,
    backwards_cursor,
    clamp_limit,
    next_cursor,
    sort_tuple,
)
from threadloom.store.params import ListThreadsParams, SortDirection, SortKey
from threadloom.store.records import StoredThread, ThreadPage


def sort_key_ms(thread: StoredThread, key: SortKey) -> int:
    """The precise (millisecond) value of a thread's sort key."""
    if key == SortKey.CREATED_AT:
        return thread.created_at_ms
    if key == SortKey.UPDATED_AT:
        return thread.updated_at_ms
    return thread.recency_at_ms


def provider_matches(provider: str | None, wanted: list[str] | None, default: str) -> bool:
    """``modelProviders``: None = the default only (no provider counts as default), [] = all."""
    effective = provider or default
    if wanted is None:
        return effective == default
    return not wanted or effective in wanted


def thread_matches(thread: StoredThread, params: ListThreadsParams, default_provider: str) -> bool:
    """Every filter of section 5.1-5.2 (AND-combined), cursors aside."""
    if not thread.preview or thread.archived != params.archived:
        return False
    if not provider_matches(thread.model_provider, params.model_providers, default_provider):
        return False
    if not thread.source.matches(params.source_kinds):
        return False
    if params.cwds is not None and thread.cwd not in params.cwds:
        return False
    term = params.search_term
    return not term or term in thread.preview or (thread.name is not None and term in thread.name)


def list_page(
    threads: Iterable[StoredThread], params: ListThreadsParams, *, default_provider: str
) -> ThreadPage:
    """One page of ``threads`` exactly as ``thread/list`` returns it (filters, order, cursors)."""
    cursor = ListCursor.parse(params.cursor) if params.cursor is not None else None
    descending = params.sort_direction == SortDirection.DESC
    key = params.sort_key
    candidates = [
        t
        for t in threads
        if thread_matches(t, params, default_provider)
        and (cursor is None or after_cursor(cursor, sort_key_ms(t, key), t.thread_id, descending))
    ]
    candidates.sort(key=lambda t: sort_tuple(sort_key_ms(t, key), t.thread_id), reverse=descending)
    limit = clamp_limit(params.limit)
    items = candidates[:limit]
    more = len(candidates) > limit
    return ThreadPage(
        items=items,
        next_cursor=next_cursor(sort_key_ms(items[-1], key), items[-1].thread_id) if more else None,
        backwards_cursor=backwards_cursor(sort_key_ms(items[0], key), descending)
        if items
        else None,
    )

"""``thread/list`` semantics over records (app-server-threads section 5), for any backend.

Pure and structural: it works on anything shaped like a listed thread (``StoredThread`` is)
and a list request (``ListThreadsParams`` is), so the store layer depends on it, not the
reverse. A backend holding its threads as records gets filters, ordering, paging and cursors
from ``list_page``; one answering from an index reuses ``thread_matches``/``sort_key_ms`` and
the cursor helpers to keep the same rules. The records must carry the *list* name (the last
non-empty one) and a ``model_provider`` already defaulted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from threadloom.protocol.cursor import (
    ListCursor,
    after_cursor,
    backwards_cursor,
    clamp_limit,
    next_cursor,
    sort_tuple,
)
from threadloom.protocol.source import SessionSource

CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
RECENCY_AT = "recency_at"
DESC = "desc"


class ListedThread(Protocol):
    """The fields of a thread that listing looks at."""

    @property
    def thread_id(self) -> str: ...
    @property
    def preview(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def archived(self) -> bool: ...
    @property
    def model_provider(self) -> str: ...
    @property
    def source(self) -> SessionSource: ...
    @property
    def cwd(self) -> str: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def updated_at_ms(self) -> int: ...
    @property
    def recency_at_ms(self) -> int: ...


class ListQuery(Protocol):
    """A ``thread/list`` request (sort key and direction as their string values)."""

    @property
    def limit(self) -> int: ...
    @property
    def cursor(self) -> str | None: ...
    @property
    def sort_key(self) -> str: ...
    @property
    def sort_direction(self) -> str: ...
    @property
    def model_providers(self) -> list[str] | None: ...
    @property
    def source_kinds(self) -> list[str]: ...
    @property
    def archived(self) -> bool: ...
    @property
    def cwds(self) -> list[str] | None: ...
    @property
    def search_term(self) -> str | None: ...


T = TypeVar("T", bound=ListedThread)


@dataclass(frozen=True, slots=True)
class ListPage(Generic[T]):
    """One page: the items and Codex's two cursors."""

    items: list[T]
    next_cursor: str | None
    backwards_cursor: str | None


def sort_key_ms(thread: ListedThread, key: str) -> int:
    """The precise (millisecond) value of a thread's sort key."""
    if key == CREATED_AT:
        return thread.created_at_ms
    if key == UPDATED_AT:
        return thread.updated_at_ms
    return thread.recency_at_ms


def provider_matches(provider: str | None, wanted: list[str] | None, default: str) -> bool:
    """``modelProviders``: None = the default only (no provider counts as default), [] = all."""
    effective = provider or default
    if wanted is None:
        return effective == default
    return not wanted or effective in wanted


def thread_matches(thread: ListedThread, query: ListQuery, default_provider: str) -> bool:
    """Every filter of sections 5.1-5.2 (AND-combined), cursors aside."""
    if not thread.preview or thread.archived != query.archived:
        return False
    if not provider_matches(thread.model_provider, query.model_providers, default_provider):
        return False
    if not thread.source.matches(query.source_kinds):
        return False
    if query.cwds is not None and thread.cwd not in query.cwds:
        return False
    term = query.search_term
    return not term or term in thread.preview or (thread.name is not None and term in thread.name)


def list_page(threads: Iterable[T], query: ListQuery, *, default_provider: str) -> ListPage[T]:
    """One page of ``threads`` exactly as ``thread/list`` returns it (filters, order, cursors).

    Raises InvalidRequest ``invalid cursor: <cursor>`` for a cursor that does not parse.
    """
    cursor = ListCursor.parse(query.cursor) if query.cursor is not None else None
    descending = query.sort_direction == DESC
    key = query.sort_key
    candidates = [
        t
        for t in threads
        if thread_matches(t, query, default_provider)
        and (cursor is None or after_cursor(cursor, sort_key_ms(t, key), t.thread_id, descending))
    ]
    candidates.sort(key=lambda t: sort_tuple(sort_key_ms(t, key), t.thread_id), reverse=descending)
    limit = clamp_limit(query.limit)
    items = candidates[:limit]
    more = len(candidates) > limit
    return ListPage(
        items=items,
        next_cursor=next_cursor(sort_key_ms(items[-1], key), items[-1].thread_id) if more else None,
        backwards_cursor=backwards_cursor(sort_key_ms(items[0], key), descending)
        if items
        else None,
    )

"""``thread/list`` semantics over records (app-server-threads section 5), for any backend.

Pure and structural: it works on anything shaped like a listed thread (``StoredThread`` is)
and a list request (``ListThreadsParams`` is), so the store layer depends on it, not the
reverse. A backend holding its threads as records gets filters, ordering, paging and cursors
from ``list_page``; one answering from an index reuses ``thread_matches``/``sort_key_ms`` and
the cursor helpers to keep the same rules. The records must carry the *list* name (the last
non-empty one) and a ``model_provider`` already defaulted.

Codex 0.169.0 answers a listing either by scanning files or from its database
(``uses_database`` decides which, as observed on the binary: any search term, ``recency_at``,
or a request without any metadata filter, i.e. explicit source kinds beyond cli/vscode with
``modelProviders: []`` and no cwd, go to the database; so does a request that asks for the
database alone, ``state_db_only``). The answer's keys differ:

* ``created_at`` on the file scan is the only **whole-second** listing: items ordered by
  ``(key in whole seconds, id)``, ``nextCursor`` ``<whole seconds>Z|<id>``, cursors compared
  in whole seconds (``protocol.cursor``).
* every other listing uses **millisecond** keys: items ordered by ``(key in ms, id)``,
  ``nextCursor`` ``<key with its milliseconds>|<id>`` (``2025-08-03T16:42:03.9Z``: trailing
  zeros dropped), cursors compared with the exact key.

``backwardsCursor`` is the first item's key -/+ 1 ms; on the database path a ``created_at``
key counts in whole seconds there (its rows keep creation times in seconds) unless that item
was found by a search through its name alone (those come from the names file, with
milliseconds). Database listings show no ``parentThreadId`` (the rows have no such column),
and the ``cwd`` of the last recorded thread settings (``thread_settings_applied``) where there
is one. Not reproduced: filters match the session's cwd and provider, where a database-only
listing of Codex matches (and its database listings show) the settings' ones.

A database-only listing (``useStateDbOnly: true`` or any ``sectionId``, even ``null``) takes
the database's answer whatever the filters, so it orders by milliseconds even with a cwd or
a source filter, and its search term matches the rows' preview and title (the first user
text, e.g. of a thread whose first message is only an image) but not the names of
``session_index.jsonl``: Codex's database holds no name for a thread it did not rename
itself, and a database-only request skips the file scan that finds names.

Excluded thread ids (``excludedThreadIds``) are dropped before the limit applies, but the
page's ``nextCursor`` is the one of Codex's underlying listing: it names the last item shown
whenever anything, excluded or not, follows it (``PageFill``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from threadloom.protocol.codec import format_rfc3339_seconds
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
INTERACTIVE_KINDS = frozenset({"cli", "vscode"})
_NS_PER_MS = 1_000_000


class ListedThread(Protocol):
    """The fields of a thread that listing looks at."""

    @property
    def thread_id(self) -> str: ...
    @property
    def preview(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
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
    @property
    def state_db_only(self) -> bool: ...
    @property
    def excluded_thread_ids(self) -> Sequence[str]: ...


T = TypeVar("T", bound=ListedThread)
C = TypeVar("C")


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


def uses_database(query: ListQuery) -> bool:
    """Would Codex answer this request from its database instead of a file scan?

    A database-only request, a search term (even ``""``) or the ``recency_at`` key always
    do. Otherwise the scan answers whenever the request has a metadata filter: source kinds
    that are empty or only cli/vscode (they become a source filter), any ``modelProviders``
    but ``[]`` (omitted means the default provider), or a cwd.
    """
    if query.state_db_only or query.search_term is not None or query.sort_key == RECENCY_AT:
        return True
    kinds = set(query.source_kinds)
    if not kinds or kinds <= INTERACTIVE_KINDS:
        return False
    return query.model_providers == [] and query.cwds is None


def millisecond_keys(query: ListQuery) -> bool:
    """Does the listing order and page by milliseconds (all but a scanned ``created_at``)?"""
    return query.sort_key != CREATED_AT or uses_database(query)


def order_tuple(key_ms: int, thread_id: str, precise: bool) -> tuple[int, str]:
    """The ordering key of an item: milliseconds when ``precise``, else whole seconds."""
    return (key_ms, thread_id) if precise else sort_tuple(key_ms, thread_id)


def after_precise_cursor(cursor: ListCursor, key_ms: int, thread_id: str, descending: bool) -> bool:
    """Strictly after ``cursor`` in a millisecond listing: the exact key, then the id."""
    key_ns = key_ms * _NS_PER_MS
    target = cursor.exact_ns
    if key_ns != target or cursor.thread_id is None:
        return key_ns < target if descending else key_ns > target
    return thread_id < cursor.thread_id if descending else thread_id > cursor.thread_id


def precise_time(key_ms: int) -> str:
    """A millisecond key as Codex's cursors spell it: no trailing zeros in the fraction."""
    stamp = format_rfc3339_seconds(key_ms // 1000)
    fraction = f"{key_ms % 1000:03d}".rstrip("0")
    return f"{stamp[:-1]}.{fraction}Z" if fraction else stamp


def page_cursors(
    first_key_ms: int | None,
    last: tuple[int, str] | None,
    *,
    key: str,
    descending: bool,
    database: bool,
    first_by_name: bool = False,
) -> tuple[str | None, str | None]:
    """(``nextCursor``, ``backwardsCursor``) of a page.

    ``first_key_ms``: the precise key of the first item (None for an empty page); ``last``:
    the last item's precise key and id when more items follow, else None; ``first_by_name``:
    the first item matched the search term through its name only.
    """
    following = None
    if last is not None:
        key_ms, thread_id = last
        precise = database or key != CREATED_AT
        following = (
            f"{precise_time(key_ms)}|{thread_id}" if precise else next_cursor(key_ms, thread_id)
        )
    backwards = None
    if first_key_ms is not None:
        whole = database and key == CREATED_AT and not first_by_name
        start = first_key_ms // 1000 * 1000 if whole else first_key_ms
        backwards = backwards_cursor(start, descending)
    return following, backwards


def matched_by_name_only(thread: ListedThread, term: str | None) -> bool:
    """Did a search find this thread through its name alone (not its preview)?"""
    return term is not None and term != "" and term not in thread.preview


def name_search_term(query: ListQuery) -> str | None:
    """The search term as it may match names: none on a database-only listing."""
    return None if query.state_db_only else query.search_term


def database_search_matches(preview: str | None, title: str | None, term: str) -> bool:
    """A database-only listing's search: the preview or the title holds ``term``."""
    return term in (preview or "") or term in (title or "")


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
    if not term:
        return True
    if query.state_db_only:
        return database_search_matches(thread.preview, thread.title, term)
    return term in thread.preview or (thread.name is not None and term in thread.name)


@dataclass(slots=True)
class PageFill(Generic[C]):
    """Fills one page from candidates offered in listing order, leaving excluded ids out.

    Codex pages its store and drops the exclusions from each store page, asking for more
    until the page is full; the ``nextCursor`` it returns is the store page's, so it exists
    whenever any candidate (excluded or not) follows the last item kept (``more``).
    """

    limit: int
    excluded: frozenset[str] = frozenset()
    items: list[C] = field(default_factory=list)
    more: bool = False

    @classmethod
    def of(cls, limit: int, excluded: Collection[str]) -> PageFill[C]:
        """A page of ``limit`` items (clamped as Codex does) without ``excluded`` ids."""
        return cls(clamp_limit(limit), frozenset(i.lower() for i in excluded))

    def offer(self, candidate: C, thread_id: str) -> bool:
        """Offer the next candidate; True once the page is settled (offer no more)."""
        if len(self.items) >= self.limit:
            self.more = True
            return True
        if thread_id.lower() not in self.excluded:
            self.items.append(candidate)
        return False


def fill_page(
    candidates: Iterable[C], limit: int, excluded: Collection[str], thread_id: Callable[[C], str]
) -> PageFill[C]:
    """A settled ``PageFill`` of ``candidates`` (ordered and filtered already)."""
    fill: PageFill[C] = PageFill.of(limit, excluded)
    for candidate in candidates:
        if fill.offer(candidate, thread_id(candidate)):
            break
    return fill


def list_page(threads: Iterable[T], query: ListQuery, *, default_provider: str) -> ListPage[T]:
    """One page of ``threads`` exactly as ``thread/list`` returns it (filters, order, cursors).

    Raises InvalidRequest ``invalid cursor: <cursor>`` for a cursor that does not parse.
    """
    cursor = ListCursor.parse(query.cursor) if query.cursor is not None else None
    descending = query.sort_direction == DESC
    key = query.sort_key
    database = uses_database(query)
    precise = millisecond_keys(query)
    after = after_precise_cursor if precise else after_cursor
    candidates = [
        t
        for t in threads
        if thread_matches(t, query, default_provider)
        and (cursor is None or after(cursor, sort_key_ms(t, key), t.thread_id, descending))
    ]
    candidates.sort(
        key=lambda t: order_tuple(sort_key_ms(t, key), t.thread_id, precise),
        reverse=descending,
    )
    fill = fill_page(candidates, query.limit, query.excluded_thread_ids, lambda t: t.thread_id)
    items = fill.items
    following, backwards = page_cursors(
        sort_key_ms(items[0], key) if items else None,
        (sort_key_ms(items[-1], key), items[-1].thread_id) if fill.more else None,
        key=key,
        descending=descending,
        database=database,
        first_by_name=bool(items) and matched_by_name_only(items[0], name_search_term(query)),
    )
    return ListPage(items=items, next_cursor=following, backwards_cursor=backwards)

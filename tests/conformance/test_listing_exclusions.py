"""``list_threads`` with ``excluded_thread_ids`` (``thread/list``'s ``excludedThreadIds``).

Excluded threads are left out before the limit applies, so a page refills with the threads
that follow; the next cursor is Codex's underlying one: it names the last item shown
whenever any thread, excluded or not, follows it.
"""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.ids import ThreadId
from threadloom.store.base import ThreadStore
from threadloom.store.params import ListThreadsParams, SortDirection

from .builders import BASE_MS, make_thread, user_message
from .test_listing import ids, page_through

UNLISTED = ThreadId("00000000-0000-4000-8000-00000000ffff")


async def threads_a_second_apart(store: ThreadStore, count: int) -> list[ThreadId]:
    """``count`` threads created a second apart, newest first (the default order)."""
    made = [
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n * 1000)
        for n in range(count)
    ]
    return made[::-1]


async def test_excluded_threads_are_left_out_and_the_page_refills(store: ThreadStore) -> None:
    newest = await threads_a_second_apart(store, 5)

    pages = await page_through(store, limit=2, excluded_thread_ids=newest[:2])

    assert [ids(p) for p in pages] == [newest[2:4], newest[4:]]
    assert pages[0].next_cursor == f"2025-03-01T10:00:01Z|{newest[3]}"
    assert pages[0].backwards_cursor == "2025-03-01T10:00:01.999Z"


async def test_a_page_followed_only_by_excluded_threads_keeps_its_next_cursor(
    store: ThreadStore,
) -> None:
    newest = await threads_a_second_apart(store, 3)

    pages = await page_through(store, limit=2, excluded_thread_ids=[newest[2]])

    assert [ids(p) for p in pages] == [newest[:2], []]
    assert [p.next_cursor for p in pages] == [f"2025-03-01T10:00:01Z|{newest[1]}", None]
    assert pages[1].backwards_cursor is None


async def test_excluding_the_last_threads_of_a_short_listing_ends_it(store: ThreadStore) -> None:
    newest = await threads_a_second_apart(store, 3)

    page = await store.list_threads(ListThreadsParams(limit=5, excluded_thread_ids=newest[1:]))
    everything = await store.list_threads(ListThreadsParams(excluded_thread_ids=newest))

    assert (ids(page), page.next_cursor) == ([newest[0]], None)
    assert (everything.items, everything.next_cursor, everything.backwards_cursor) == (
        [],
        None,
        None,
    )


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="scan"),
        pytest.param({"sort_direction": SortDirection.ASC}, id="scan-ascending"),
        pytest.param({"search_term": ""}, id="database"),
        pytest.param({"state_db_only": True, "cwds": ["/w/a"]}, id="database-only"),
    ],
)
async def test_paging_with_exclusions_visits_every_other_thread_once_in_order(
    store: ThreadStore, params: dict[str, Any]
) -> None:
    await threads_a_second_apart(store, 12)
    everything = ids(await store.list_threads(ListThreadsParams(limit=100, **params)))
    excluded = [everything[n] for n in (0, 3, 4, 5, 9, 11)] + [UNLISTED]

    pages = await page_through(store, limit=2, excluded_thread_ids=excluded, **params)

    assert [tid for page in pages for tid in ids(page)] == [
        tid for tid in everything if tid not in excluded
    ]
    assert all(len(ids(page)) == 2 for page in pages[:-1])


async def test_an_unlisted_id_changes_nothing(store: ThreadStore) -> None:
    newest = await threads_a_second_apart(store, 3)

    page = await store.list_threads(ListThreadsParams(limit=2, excluded_thread_ids=[UNLISTED]))

    assert (ids(page), page.next_cursor) == (newest[:2], f"2025-03-01T10:00:01Z|{newest[1]}")

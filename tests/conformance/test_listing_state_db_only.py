"""``list_threads`` with ``state_db_only`` (``useStateDbOnly: true`` or a ``sectionId``).

Codex's database alone answers: millisecond order and cursors whatever the filters, no
parent thread, and a search term matched against the preview and the title (the first user
text) but not the names of ``session_index.jsonl``.
"""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.store.base import ThreadStore
from threadloom.store.params import ListThreadsParams, SetThreadNameParams

from .builders import BASE_MS, make_thread, user_message
from .test_listing import ids, list_ids, page_through, same_second_threads

IMAGE = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"cwds": ["/w/a"]}, id="cwd-filter"),
        pytest.param({"source_kinds": ["cli", "vscode"], "model_providers": []}, id="sources"),
    ],
)
async def test_a_database_only_listing_orders_by_milliseconds_whatever_the_filters(
    store: ThreadStore, params: dict[str, Any]
) -> None:
    a, five, c = await same_second_threads(store)

    scanned = await list_ids(store, **params)
    pages = await page_through(store, limit=1, state_db_only=True, **params)

    assert scanned == [c, a, five]
    assert [ids(p) for p in pages] == [[five], [c], [a]]
    assert [p.next_cursor for p in pages] == [
        f"2025-03-01T10:00:00.9Z|{five}",
        f"2025-03-01T10:00:00.5Z|{c}",
        None,
    ]
    assert pages[0].backwards_cursor == "2025-03-01T09:59:59.999Z"


async def test_a_database_only_search_matches_previews_and_titles_but_not_names(
    store: ThreadStore,
) -> None:
    plain = await make_thread(store, user_message("alpha question"))
    image_first = await make_thread(
        store,
        user_message("", images=[IMAGE]),
        user_message("bravo title"),
        created_ms=BASE_MS + 1000,
    )
    named = await make_thread(store, user_message("other"), created_ms=BASE_MS + 2000)
    await store.set_thread_name(SetThreadNameParams(thread_id=named, name="charlie name"))

    async def found(term: str, **params: Any) -> list[str]:
        return await list_ids(store, search_term=term, **params)

    assert await found("alpha", state_db_only=True) == [plain]
    assert await found("bravo", state_db_only=True) == [image_first]
    assert await found("[Image]", state_db_only=True) == [image_first]
    assert await found("charlie", state_db_only=True) == []
    assert await found("charlie") == [named]
    assert await found("", state_db_only=True) == [named, image_first, plain]


async def test_a_sparse_database_only_search_pages_through_every_match(
    store: ThreadStore,
) -> None:
    made = [
        await make_thread(
            store,
            user_message("needle" if n % 7 == 3 else f"hay {n}"),
            created_ms=BASE_MS + n * 1000,
        )
        for n in range(30)
    ]

    pages = await page_through(store, limit=1, state_db_only=True, search_term="needle")

    assert [tid for page in pages for tid in ids(page)] == [made[n] for n in (24, 17, 10, 3)]


async def test_a_database_only_listing_shows_no_parent_thread(store: ThreadStore) -> None:
    parent = await make_thread(store)
    child = await make_thread(store, parent_thread_id=parent, created_ms=BASE_MS + 1000)

    page = await store.list_threads(ListThreadsParams(state_db_only=True, cwds=["/w/a"]))

    assert [(t.thread_id, t.parent_thread_id) for t in page.items] == [
        (child, None),
        (parent, None),
    ]


async def test_an_empty_cwd_list_lists_nothing(store: ThreadStore) -> None:
    await make_thread(store)

    assert await list_ids(store, state_db_only=True, cwds=[]) == []

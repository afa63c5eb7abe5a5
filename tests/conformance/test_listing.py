"""``list_threads``: app-server-threads section 5 (filters, ordering, limits, cursors)."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.errors import InvalidRequest
from threadloom.ids import ThreadId
from threadloom.protocol.codec import format_rfc3339_seconds, format_timestamp
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    ListThreadsParams,
    SetThreadNameParams,
    SortDirection,
    SortKey,
    ThreadIdParams,
)
from threadloom.store.records import StoredThread, ThreadPage

from .builders import (
    BASE_MS,
    DAY_MS,
    agent_message,
    event,
    make_thread,
    thread_id_from,
    user_message,
)

EVERY_ORDER = [
    pytest.param(key, direction, id=f"{key.value}-{direction.value}")
    for key in SortKey
    for direction in SortDirection
]
SPAWN_SOURCE = {
    "subagent": {
        "thread_spawn": {
            "parent_thread_id": "019a0000-0000-7000-9000-000000000001",
            "depth": 1,
            "agent_path": None,
            "agent_nickname": "Bob",
            "agent_role": "worker",
        }
    }
}


def ids(page: ThreadPage) -> list[str]:
    return [t.thread_id for t in page.items]


def key_ms(thread: StoredThread, key: SortKey) -> int:
    return {
        SortKey.CREATED_AT: thread.created_at_ms,
        SortKey.UPDATED_AT: thread.updated_at_ms,
        SortKey.RECENCY_AT: thread.recency_at_ms,
    }[key]


async def list_ids(store: ThreadStore, **params: Any) -> list[str]:
    return ids(await store.list_threads(ListThreadsParams(**params)))


async def page_through(store: ThreadStore, **params: Any) -> list[ThreadPage]:
    """Every page of a listing, following next cursors to the end."""
    pages = [await store.list_threads(ListThreadsParams(**params))]
    while pages[-1].next_cursor is not None:
        assert len(pages) < 50, "paging does not terminate"
        params["cursor"] = pages[-1].next_cursor
        pages.append(await store.list_threads(ListThreadsParams(**params)))
    return pages


async def build_example_home(store: ThreadStore) -> dict[str, ThreadId]:
    """The home of app-server-threads 5.5 (threads A to L, one a day from 2025-03-01)."""

    def day(n: int, extra_ms: int = 0) -> int:
        return BASE_MS + n * DAY_MS + extra_ms

    specs: dict[str, dict[str, Any]] = {
        "A": {"preview": "Alpha task", "created_ms": day(0)},
        "B": {
            "preview": "beta Task",
            "model_provider": "anthropic",
            "source": "vscode",
            "cwd": "/w/b",
            "created_ms": day(1),
        },
        "C": {"preview": "gamma", "source": "exec", "created_ms": day(2)},
        "D": {"preview": "delta", "source": {"subagent": "review"}, "created_ms": day(3)},
        "E": {"preview": "epsilon", "source": "mcp", "created_ms": day(4)},
        "F": {"preview": None, "created_ms": day(5)},
        "G": {"preview": "golf", "model_provider": None, "cwd": "/w/g", "created_ms": day(6, 500)},
        "H": {"preview": "hotel", "cwd": "/w/b", "created_ms": day(6, 100)},
        "I": {"preview": "india", "created_ms": day(7)},
        "J": {"preview": "juliet", "source": SPAWN_SOURCE, "created_ms": day(8)},
        "K": {"preview": "kilo", "source": "unknown", "created_ms": day(9)},
        "L": {"preview": "lima", "source": {"custom": "myapp"}, "created_ms": day(10)},
    }
    prefixes = {
        "A": "a1", "B": "b2", "C": "c3", "D": "d4", "E": "e5", "F": "f6",
        "G": "c6caac21", "H": "666f2ef0", "I": "19", "J": "2a", "K": "3b", "L": "4c",
    }  # fmt: skip
    out: dict[str, ThreadId] = {}
    for name, spec in specs.items():
        params = {"source": "cli", "cwd": "/w/a", **spec}
        preview = params.pop("preview")
        lines = [user_message(preview)] if preview else [agent_message("no question asked")]
        out[name] = await make_thread(
            store, *lines, thread_id=thread_id_from(prefixes[name]), **params
        )
    await store.archive_thread(ThreadIdParams(thread_id=out["I"]))
    return out


# --- filters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["G", "H", "A"]),
        ({"model_providers": []}, ["G", "H", "B", "A"]),
        ({"model_providers": ["openai"]}, ["G", "H", "A"]),
        ({"model_providers": ["anthropic"], "source_kinds": ["vscode"]}, ["B"]),
        ({"source_kinds": ["subAgent"]}, ["J", "D"]),
        ({"source_kinds": ["subAgentReview"]}, ["D"]),
        ({"source_kinds": ["subAgentThreadSpawn"]}, ["J"]),
        ({"source_kinds": ["appServer"]}, ["E"]),
        ({"source_kinds": ["exec", "unknown"]}, ["K", "C"]),
        ({"source_kinds": ["cli"]}, ["G", "H", "A"]),
        ({"archived": True}, ["I"]),
        ({"cwds": ["/w/b"]}, ["H"]),
        ({"cwds": ["/w/b", "/w/g"], "model_providers": []}, ["G", "H", "B"]),
        ({"search_term": "task"}, ["A"]),
        ({"model_providers": [], "search_term": "Task"}, ["B"]),
        ({"search_term": ""}, ["G", "H", "A"]),
        ({"sort_direction": SortDirection.ASC}, ["A", "H", "G"]),
    ],
)
async def test_filters_select_threads_as_codex_does(
    store: ThreadStore, params: dict[str, Any], expected: list[str]
) -> None:
    home = await build_example_home(store)

    assert await list_ids(store, **params) == [home[name] for name in expected]


async def test_a_thread_without_a_preview_is_never_listed(store: ThreadStore) -> None:
    home = await build_example_home(store)

    everything = await list_ids(store, model_providers=[], source_kinds=["cli"], limit=100)

    assert home["F"] not in everything


async def test_a_goal_objective_is_a_preview(store: ThreadStore) -> None:
    goal = event({"type": "thread_goal_updated", "goal": {"objective": "  Ship the spec  "}})
    tid = await make_thread(store, goal)

    page = await store.list_threads(ListThreadsParams())

    assert [(t.thread_id, t.preview) for t in page.items] == [(tid, "Ship the spec")]


async def test_the_search_term_matches_the_name_or_the_preview_case_sensitively(
    store: ThreadStore,
) -> None:
    in_preview = await make_thread(store, user_message("Alpha task"))
    named = await make_thread(store, user_message("something else"), created_ms=BASE_MS + 1000)
    await make_thread(store, user_message("Task upper"), created_ms=BASE_MS + 2000)
    await make_thread(
        store, user_message("first"), user_message("later task"), created_ms=BASE_MS + 3000
    )
    await store.set_thread_name(SetThreadNameParams(thread_id=named, name="my task list"))

    assert await list_ids(store, search_term="task") == [named, in_preview]


# --- ordering -----------------------------------------------------------------------------
async def test_threads_of_the_same_second_are_ordered_by_id_not_by_sub_seconds(
    store: ThreadStore,
) -> None:
    a = await make_thread(store, thread_id=thread_id_from("aaaa"), created_ms=BASE_MS + 100)
    five = await make_thread(store, thread_id=thread_id_from("5555"), created_ms=BASE_MS + 900)
    c = await make_thread(store, thread_id=thread_id_from("cccc"), created_ms=BASE_MS + 500)

    assert await list_ids(store) == [c, a, five]
    assert await list_ids(store, sort_direction=SortDirection.ASC) == [five, a, c]


@pytest.mark.parametrize(("key", "direction"), EVERY_ORDER)
async def test_created_at_orders_by_whole_seconds_other_keys_by_milliseconds_then_id(
    store: ThreadStore, key: SortKey, direction: SortDirection
) -> None:
    for n, offset in enumerate([0, 400, 1000, 1999, 7000, 7000]):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + offset)

    page = await store.list_threads(
        ListThreadsParams(sort_key=key, sort_direction=direction, limit=100)
    )

    # Only created_at on Codex's file scan compares whole seconds (protocol.listing).
    unit = 1000 if key == SortKey.CREATED_AT else 1
    expected = sorted(
        page.items,
        key=lambda t: (key_ms(t, key) // unit, t.thread_id),
        reverse=direction == SortDirection.DESC,
    )
    assert len(page.items) == 6
    assert ids(page) == [t.thread_id for t in expected]


# --- limits ----------------------------------------------------------------------------------
async def test_page_size_defaults_to_25_is_clamped_to_100_and_zero_means_one(
    store: ThreadStore,
) -> None:
    for n in range(101):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n * 1000)

    default = await store.list_threads(ListThreadsParams())
    clamped = await store.list_threads(ListThreadsParams(limit=1000))
    rest = await store.list_threads(ListThreadsParams(limit=1000, cursor=clamped.next_cursor))
    one = await store.list_threads(ListThreadsParams(limit=0))

    assert len(default.items) == 25
    assert default.next_cursor is not None
    assert len(clamped.items) == 100
    assert len(rest.items) == 1
    assert rest.next_cursor is None
    assert len(one.items) == 1
    assert one.items[0].thread_id == default.items[0].thread_id


async def test_a_full_last_page_has_no_next_cursor(store: ThreadStore) -> None:
    for n in range(4):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n * 1000)

    pages = await page_through(store, limit=2)

    assert [len(p.items) for p in pages] == [2, 2]
    assert pages[-1].next_cursor is None


# --- cursors -------------------------------------------------------------------------------
async def test_the_next_cursor_names_the_last_item_in_whole_seconds(store: ThreadStore) -> None:
    home = await build_example_home(store)

    page = await store.list_threads(ListThreadsParams(limit=0))
    two = await store.list_threads(ListThreadsParams(model_providers=[], limit=2))

    assert ids(page) == [home["G"]]
    assert page.next_cursor == f"2025-03-07T10:00:00Z|{home['G']}"
    assert two.next_cursor == f"2025-03-07T10:00:00Z|{home['H']}"
    following = await store.list_threads(
        ListThreadsParams(model_providers=[], limit=2, cursor=two.next_cursor)
    )
    assert ids(following) == [home["B"], home["A"]]
    assert following.next_cursor is None


async def test_a_cursor_is_not_tied_to_the_filters_that_produced_it(store: ThreadStore) -> None:
    home = await build_example_home(store)
    two = await store.list_threads(ListThreadsParams(model_providers=[], limit=2))

    assert await list_ids(store, cursor=two.next_cursor) == [home["A"]]


@pytest.mark.parametrize(("key", "direction"), EVERY_ORDER)
async def test_following_next_cursors_visits_every_thread_once_in_order(
    store: ThreadStore, key: SortKey, direction: SortDirection
) -> None:
    for n, offset in enumerate([0, 0, 1000, 1300, 2000, 5000, 5000]):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + offset)
    order = {"sort_key": key, "sort_direction": direction}
    everything = await list_ids(store, limit=100, **order)

    pages = await page_through(store, limit=2, **order)

    assert [tid for page in pages for tid in ids(page)] == everything
    assert len(everything) == 7
    assert all(page.next_cursor is not None for page in pages[:-1])


async def test_a_cursor_without_an_id_excludes_items_of_that_exact_time(
    store: ThreadStore,
) -> None:
    second = BASE_MS + 10_000
    before = await make_thread(store, created_ms=second - 1000)
    low = await make_thread(store, thread_id=thread_id_from("11"), created_ms=second + 200)
    high = await make_thread(store, thread_id=thread_id_from("ee"), created_ms=second + 700)
    after = await make_thread(store, created_ms=second + 1000)
    whole = format_rfc3339_seconds(second // 1000)
    fractional = format_timestamp(second + 500)
    asc = SortDirection.ASC

    assert await list_ids(store, cursor=whole) == [before]
    assert await list_ids(store, cursor=whole, sort_direction=asc) == [after]
    assert await list_ids(store, cursor=fractional) == [high, low, before]
    assert await list_ids(store, cursor=fractional, sort_direction=asc) == [after]


async def test_a_cursor_with_an_id_continues_strictly_after_that_item(
    store: ThreadStore,
) -> None:
    second = BASE_MS + 10_000
    before = await make_thread(store, created_ms=second - 1000)
    low = await make_thread(store, thread_id=thread_id_from("11"), created_ms=second + 200)
    mid = await make_thread(store, thread_id=thread_id_from("77"), created_ms=second + 900)
    high = await make_thread(store, thread_id=thread_id_from("ee"), created_ms=second + 700)
    after = await make_thread(store, created_ms=second + 1000)
    cursor = f"{format_rfc3339_seconds(second // 1000)}|{mid}"

    assert await list_ids(store, cursor=cursor) == [low, before]
    assert await list_ids(store, cursor=cursor, sort_direction=SortDirection.ASC) == [high, after]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "2025-02-30T00:00:00Z",
        "2025-03-01 10:00:00",
        "2025-03-01T10:00:00Z|not-a-thread-id",
        "|019a0000-0000-7000-9000-000000000001",
    ],
)
async def test_an_unparsable_cursor_is_an_invalid_request(store: ThreadStore, cursor: str) -> None:
    await make_thread(store)

    with pytest.raises(InvalidRequest) as caught:
        await store.list_threads(ListThreadsParams(cursor=cursor))

    assert caught.value.message == f"invalid cursor: {cursor}"


async def test_the_backwards_cursor_is_the_first_key_shifted_by_one_millisecond(
    store: ThreadStore,
) -> None:
    for offset in (250, 1250, 2250):
        await make_thread(store, created_ms=BASE_MS + offset)

    desc = await store.list_threads(ListThreadsParams(limit=2))
    asc = await store.list_threads(ListThreadsParams(limit=2, sort_direction=SortDirection.ASC))

    assert desc.backwards_cursor == format_timestamp(BASE_MS + 2249)
    assert asc.backwards_cursor == format_timestamp(BASE_MS + 251)


async def test_an_empty_page_has_no_cursors(store: ThreadStore) -> None:
    await make_thread(store)

    page = await store.list_threads(ListThreadsParams(archived=True))

    assert page.items == []
    assert page.next_cursor is None
    assert page.backwards_cursor is None


@pytest.mark.parametrize("direction", list(SortDirection))
async def test_the_backwards_cursor_pages_back_to_the_start_in_the_other_direction(
    store: ThreadStore, direction: SortDirection
) -> None:
    for n in range(6):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n * 1000)
    other = SortDirection.ASC if direction == SortDirection.DESC else SortDirection.DESC
    first = await store.list_threads(ListThreadsParams(limit=2, sort_direction=direction))
    second = await store.list_threads(
        ListThreadsParams(limit=2, sort_direction=direction, cursor=first.next_cursor)
    )

    back = await page_through(store, limit=2, sort_direction=other, cursor=second.backwards_cursor)

    walked_back = [tid for page in back for tid in ids(page)]
    assert walked_back == list(reversed(ids(first) + ids(second)[:1]))


@pytest.mark.parametrize(("key", "direction"), EVERY_ORDER)
async def test_backwards_paging_follows_codex_rules_for_every_sort_key(
    store: ThreadStore, key: SortKey, direction: SortDirection
) -> None:
    for n, offset in enumerate([0, 0, 1000, 1300, 2000, 5000, 5500]):
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + offset)
    descending = direction == SortDirection.DESC
    other = SortDirection.ASC if descending else SortDirection.DESC
    reverse_all = (
        await store.list_threads(ListThreadsParams(limit=100, sort_key=key, sort_direction=other))
    ).items
    first = await store.list_threads(
        ListThreadsParams(limit=2, sort_key=key, sort_direction=direction)
    )
    second = await store.list_threads(
        ListThreadsParams(limit=2, sort_key=key, sort_direction=direction, cursor=first.next_cursor)
    )
    start_ms = key_ms(second.items[0], key)

    back = await page_through(
        store, limit=2, sort_key=key, sort_direction=other, cursor=second.backwards_cursor
    )

    # Keys compared with the exact cursor time (start -/+ 1 ms): whole seconds for created_at
    # on Codex's file scan, milliseconds for the other keys.
    unit = 1000 if key == SortKey.CREATED_AT else 1
    expected = [
        t.thread_id
        for t in reverse_all
        if (
            key_ms(t, key) // unit * unit >= start_ms
            if descending
            else key_ms(t, key) // unit * unit <= start_ms
        )
    ]
    assert second.backwards_cursor == format_timestamp(start_ms - 1 if descending else start_ms + 1)
    assert [tid for page in back for tid in ids(page)] == expected


# --- Codex's database path --------------------------------------------------------------------
DATABASE_REQUESTS = [
    pytest.param({"search_term": ""}, id="empty-search-term"),
    pytest.param({"search_term": "hell"}, id="search-term"),
    pytest.param({"source_kinds": ["cli", "exec"], "model_providers": []}, id="no-metadata-filter"),
]
SCAN_REQUESTS = [
    pytest.param({}, id="defaults"),
    pytest.param({"source_kinds": ["cli", "exec"]}, id="default-provider-filter"),
    pytest.param(
        {"source_kinds": ["cli", "exec"], "model_providers": [], "cwds": ["/w/a"]}, id="cwd-filter"
    ),
    pytest.param({"source_kinds": ["cli", "vscode"], "model_providers": []}, id="source-filter"),
]


async def same_second_threads(store: ThreadStore) -> list[ThreadId]:
    """Three threads created in one second: ids aaaa (.100), 5555 (.900), cccc (.500)."""
    return [
        await make_thread(store, thread_id=thread_id_from(prefix), created_ms=BASE_MS + ms)
        for prefix, ms in (("aaaa", 100), ("5555", 900), ("cccc", 500))
    ]


@pytest.mark.parametrize("params", SCAN_REQUESTS)
async def test_a_request_with_a_metadata_filter_orders_by_whole_seconds_as_codex_scan_does(
    store: ThreadStore, params: dict[str, Any]
) -> None:
    a, five, c = await same_second_threads(store)

    page = await store.list_threads(ListThreadsParams(limit=1, **params))

    assert await list_ids(store, **params) == [c, a, five]
    assert page.next_cursor == f"2025-03-01T10:00:00Z|{c}"
    assert page.backwards_cursor == "2025-03-01T10:00:00.499Z"


@pytest.mark.parametrize("params", DATABASE_REQUESTS)
async def test_a_search_or_unfiltered_request_orders_by_milliseconds_as_codex_database(
    store: ThreadStore, params: dict[str, Any]
) -> None:
    a, five, c = await same_second_threads(store)

    pages = await page_through(store, limit=1, **params)

    assert [ids(p) for p in pages] == [[five], [c], [a]]
    assert [p.next_cursor for p in pages] == [
        f"2025-03-01T10:00:00.9Z|{five}",
        f"2025-03-01T10:00:00.5Z|{c}",
        None,
    ]
    assert pages[0].backwards_cursor == "2025-03-01T09:59:59.999Z"


async def test_database_cursors_compare_the_exact_key(store: ThreadStore) -> None:
    a, five, c = await same_second_threads(store)
    unfiltered = {"source_kinds": ["cli", "exec"], "model_providers": []}

    after_whole_second = await list_ids(store, cursor="2025-03-01T10:00:00Z", **unfiltered)
    before_next_second = await list_ids(store, cursor="2025-03-01T10:00:01Z", **unfiltered)
    between = await list_ids(store, cursor=f"2025-03-01T10:00:00.5Z|{c}", **unfiltered)
    asc = await list_ids(
        store, cursor="2025-03-01T10:00:00.2Z", sort_direction=SortDirection.ASC, **unfiltered
    )

    assert after_whole_second == []
    assert before_next_second == [five, c, a]
    assert between == [a]
    assert asc == [c, five]


async def test_a_thread_found_by_its_name_alone_gets_a_millisecond_backwards_cursor(
    store: ThreadStore,
) -> None:
    named = await make_thread(store, preview="first question", created_ms=BASE_MS + 250)
    await make_thread(store, preview="a question on zebras", created_ms=BASE_MS - 1750)
    await store.set_thread_name(SetThreadNameParams(thread_id=named, name="zebra crossing"))

    by_name = await store.list_threads(ListThreadsParams(search_term="zebra crossing"))
    by_both = await store.list_threads(ListThreadsParams(search_term="zebra"))
    by_preview = await store.list_threads(ListThreadsParams(search_term="question"))

    assert ids(by_name) == [named]
    assert by_name.backwards_cursor == "2025-03-01T10:00:00.249Z"
    assert by_both.backwards_cursor == "2025-03-01T10:00:00.249Z"
    assert by_preview.backwards_cursor == "2025-03-01T09:59:59.999Z"


async def test_listings_answered_from_the_database_show_no_parent_thread(
    store: ThreadStore,
) -> None:
    parent = await make_thread(store)
    child = await make_thread(store, parent_thread_id=parent, created_ms=BASE_MS + 1000)

    scanned = await store.list_threads(ListThreadsParams())
    from_database = await store.list_threads(ListThreadsParams(search_term=""))

    assert [(t.thread_id, t.parent_thread_id) for t in scanned.items] == [
        (child, parent),
        (parent, None),
    ]
    assert [(t.thread_id, t.parent_thread_id) for t in from_database.items] == [
        (child, None),
        (parent, None),
    ]


async def test_a_memory_consolidation_sub_agent_matches_only_the_sub_agent_kind(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, source={"subagent": "memory_consolidation"})

    assert await list_ids(store, source_kinds=["subAgent"]) == [tid]
    assert await list_ids(store, source_kinds=["subAgentOther"]) == []
    assert await list_ids(store, source_kinds=["subAgentReview", "subAgentCompact"]) == []

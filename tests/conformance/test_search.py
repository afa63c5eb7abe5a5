"""Full-text search over what users and assistants said: matching, ranking, snippets, paging."""

from __future__ import annotations

import pytest

from threadloom.errors import InvalidRequest
from threadloom.ids import ThreadId
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    AppendItemsParams,
    ResumeThreadParams,
    SearchThreadsParams,
    ThreadIdParams,
)
from threadloom.store.records import SearchPage

from .builders import (
    agent_message,
    event,
    make_thread,
    response_message,
    task_complete,
    task_started,
    turn_context,
    user_message,
)


async def search(store: ThreadStore, query: str, **params: object) -> SearchPage:
    return await store.search_threads(SearchThreadsParams(query=query, **params))  # type: ignore[arg-type]


def hit_ids(page: SearchPage) -> list[ThreadId]:
    return [hit.thread.thread_id for hit in page.items]


# --- matching -------------------------------------------------------------------------------
async def test_a_word_said_by_the_user_finds_the_thread_its_turn_and_role(
    store: ThreadStore,
) -> None:
    tid = await make_thread(
        store,
        task_started("turn-1"),
        user_message("please refactor the parser"),
        agent_message("all done"),
        task_complete("turn-1"),
    )

    page = await search(store, "parser")

    assert hit_ids(page) == [tid]
    hit = page.items[0]
    assert (hit.role, hit.turn_id) == ("user", "turn-1")
    assert "parser" in hit.snippet
    assert hit.thread.preview == "please refactor the parser"
    assert hit.score > 0
    assert page.next_cursor is None


async def test_a_word_said_by_the_assistant_finds_the_thread(store: ThreadStore) -> None:
    tid = await make_thread(
        store,
        task_started("turn-7"),
        user_message("what bird is pink"),
        agent_message("a flamingo, usually"),
        task_complete("turn-7"),
    )

    page = await search(store, "flamingo")

    assert hit_ids(page) == [tid]
    assert (page.items[0].role, page.items[0].turn_id) == ("assistant", "turn-7")


async def test_search_ignores_case(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("The Parser is broken"))

    assert hit_ids(await search(store, "PARSER")) == [tid]
    assert hit_ids(await search(store, "parser")) == [tid]


async def test_search_matches_whole_words_only(store: ThreadStore) -> None:
    await make_thread(store, user_message("the parser is broken"))

    assert (await search(store, "pars")).items == []


async def test_model_context_items_are_not_searched(store: ThreadStore) -> None:
    await make_thread(
        store,
        response_message("user", "hidden environment words"),
        response_message("assistant", "hidden reply words"),
        user_message("visible question"),
    )

    assert (await search(store, "hidden")).items == []


async def test_nothing_matching_gives_an_empty_last_page(store: ThreadStore) -> None:
    await make_thread(store, user_message("something"))

    page = await search(store, "absent")

    assert page.items == []
    assert page.next_cursor is None


@pytest.mark.parametrize("query", ["", "   ", "?!"])
async def test_a_query_without_words_is_an_invalid_request(store: ThreadStore, query: str) -> None:
    with pytest.raises(InvalidRequest):
        await search(store, query)


async def test_lines_appended_after_a_resume_are_searchable(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("first words"))
    await store.resume_thread(ResumeThreadParams(thread_id=tid))

    await store.append_items(
        AppendItemsParams(thread_id=tid, items=[user_message("a later kumquat")])
    )
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))

    assert hit_ids(await search(store, "kumquat")) == [tid]


# --- turn ids ---------------------------------------------------------------------------------
async def test_implicit_turn_ids_count_only_the_lines_codex_keeps(store: ThreadStore) -> None:
    dropped = event({"type": "exec_command_end", "call_id": "c1", "exit_code": 0})
    await make_thread(
        store,
        turn_context(),  # index 1
        dropped,  # not kept: takes no index
        user_message("zebra question"),  # index 2
        agent_message("giraffe answer"),  # index 3
        user_message("okapi question"),  # index 4
    )

    assert (await search(store, "zebra")).items[0].turn_id == "rollout-2"
    assert (await search(store, "giraffe")).items[0].turn_id == "rollout-2"
    assert (await search(store, "okapi")).items[0].turn_id == "rollout-4"


# --- ranking and snippets ----------------------------------------------------------------------
async def test_threads_matching_more_terms_rank_first_then_more_occurrences(
    store: ThreadStore,
) -> None:
    both = await make_thread(store, user_message("alpha and beta together"))
    once = await make_thread(store, user_message("only alpha here today"))
    twice = await make_thread(store, user_message("beta beta twice today"))
    await make_thread(store, user_message("neither word at all"))

    page = await search(store, "alpha beta")

    assert hit_ids(page) == [both, twice, once]
    scores = [hit.score for hit in page.items]
    assert scores == sorted(scores, reverse=True)


async def test_more_occurrences_rank_higher(store: ThreadStore) -> None:
    rare = await make_thread(store, user_message("kiwi with some other words"))
    often = await make_thread(store, user_message("kiwi kiwi kiwi and words"))

    assert hit_ids(await search(store, "kiwi")) == [often, rare]


async def test_the_hit_shows_the_best_matching_message(store: ThreadStore) -> None:
    await make_thread(
        store,
        task_started("t1"),
        user_message("alpha first"),
        task_complete("t1"),
        task_started("t2"),
        user_message("alpha with beta second"),
        task_complete("t2"),
    )

    hit = (await search(store, "alpha beta")).items[0]

    assert hit.turn_id == "t2"
    assert "beta" in hit.snippet


async def test_a_long_message_is_cut_around_the_first_match(store: ThreadStore) -> None:
    words = " ".join(f"w{n}" for n in range(60))
    await make_thread(store, user_message(f"{words} needle {words}"))

    snippet = (await search(store, "needle")).items[0].snippet

    assert "needle" in snippet
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert len(snippet) <= 140


async def test_a_short_message_is_shown_whole(store: ThreadStore) -> None:
    await make_thread(store, user_message("find the needle here"))

    snippet = (await search(store, "needle")).items[0].snippet

    assert "needle" in snippet
    assert "find" in snippet
    assert "here" in snippet
    assert "…" not in snippet


# --- filters and paging -----------------------------------------------------------------------
async def test_archived_threads_are_searched_only_when_asked(store: ThreadStore) -> None:
    live = await make_thread(store, user_message("shared topic live"))
    archived = await make_thread(store, user_message("shared topic archived"))
    await store.archive_thread(ThreadIdParams(thread_id=archived))

    assert hit_ids(await search(store, "topic")) == [live]
    assert hit_ids(await search(store, "topic", archived=True)) == [archived]
    assert set(hit_ids(await search(store, "topic", archived=None))) == {live, archived}


async def test_paging_visits_every_hit_once(store: ThreadStore) -> None:
    made = {await make_thread(store, user_message(f"common word {n}")) for n in range(5)}

    pages = [await search(store, "common", limit=2)]
    while pages[-1].next_cursor is not None:
        pages.append(await search(store, "common", limit=2, cursor=pages[-1].next_cursor))

    seen = [tid for page in pages for tid in hit_ids(page)]
    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert sorted(seen) == sorted(made)


async def test_an_unparsable_search_cursor_is_an_invalid_request(store: ThreadStore) -> None:
    await make_thread(store, user_message("common"))

    with pytest.raises(InvalidRequest) as caught:
        await search(store, "common", cursor="not-a-cursor")

    assert caught.value.message == "invalid cursor: not-a-cursor"

"""Creating, writing, resuming and releasing threads; what a stored thread looks like."""

from __future__ import annotations

import asyncio

import pytest

from threadloom.errors import Conflict, InvalidRequest, NotFound, Unsupported
from threadloom.ids import new_thread_id
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import SESSION_META, GitInfo, HistoryMode, order_session_meta
from threadloom.store.base import Capability, ThreadStore
from threadloom.store.params import (
    AppendItemsParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadIdParams,
)

from .builders import (
    BASE_MS,
    agent_message,
    create_params,
    make_thread,
    response_message,
    settings_applied,
    task_complete,
    task_started,
    token_count,
    turn,
    turn_context,
    unknown_line,
    user_message,
)

ALL = ListThreadsParams(model_providers=[], source_kinds=[], limit=100)


# --- lazy materialisation -------------------------------------------------------------------
async def test_a_created_thread_is_stored_only_on_its_first_append(store: ThreadStore) -> None:
    created = await store.create_thread(create_params())
    tid = created.thread_id

    assert (await store.list_threads(ALL)).items == []
    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=tid))
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=tid))

    await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("hi")]))

    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == "hi"
    assert [t.thread_id for t in (await store.list_threads(ALL)).items] == [tid]


async def test_create_returns_the_thread_as_it_will_be_stored(store: ThreadStore) -> None:
    created = await store.create_thread(create_params(created_ms=BASE_MS + 250, cwd="/w/x"))

    assert created.preview == ""
    assert created.name is None
    assert created.created_at_ms == BASE_MS + 250
    assert created.cwd == "/w/x"
    assert created.source.raw == "cli"
    assert created.model_provider == "openai"
    assert created.history_mode == HistoryMode.LEGACY
    assert not created.archived


async def test_persist_materialises_a_thread_with_only_its_session_meta(
    store: ThreadStore,
) -> None:
    tid = (await store.create_thread(create_params())).thread_id

    await store.persist_thread(ThreadIdParams(thread_id=tid))
    await store.persist_thread(ThreadIdParams(thread_id=tid))

    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    assert [line.type for line in history.items] == [SESSION_META]
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == ""


async def test_create_with_materialize_stores_the_session_meta_at_once(
    store: ThreadStore,
) -> None:
    tid = (await store.create_thread(create_params(materialize=True))).thread_id

    history = await store.load_history(LoadHistoryParams(thread_id=tid))

    assert [line.type for line in history.items] == [SESSION_META]


async def test_a_thread_without_a_user_message_is_readable_but_not_listed(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, agent_message("nobody asked"))

    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == ""
    assert (await store.list_threads(ALL)).items == []


async def test_the_first_line_is_a_session_meta_built_from_the_create_params(
    store: ThreadStore,
) -> None:
    parent = new_thread_id()
    forked = new_thread_id()
    params = create_params(
        created_ms=BASE_MS + 558,
        cwd="/home/user/project",
        originator="my_client",
        cli_version="0.169.0",
        source="vscode",
        model_provider="openai",
        forked_from_id=forked,
        parent_thread_id=parent,
        thread_source="user",
        agent_nickname="Bob",
        agent_role="worker",
        agent_path="/root/bob",
        base_instructions={"text": "You are Codex"},
        dynamic_tools=[{"type": "function", "name": "my_tool"}],
        memory_mode="disabled",
        git=GitInfo(commit_hash="abc123", branch="main", repository_url="https://x/r.git"),
        extra={"context_window": {"window_id": "w1"}},
    )
    tid = params.thread_id
    await store.create_thread(params)
    await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("hi")]))

    first = (await store.load_history(LoadHistoryParams(thread_id=tid))).items[0]
    payload = first.payload

    assert first.type == SESSION_META
    assert list(payload) == list(order_session_meta(payload))
    assert list(payload)[-1] == "git"
    assert payload["session_id"] == tid
    assert payload["id"] == tid
    assert payload["timestamp"] == format_timestamp(BASE_MS + 558)
    assert payload["cwd"] == "/home/user/project"
    assert payload["originator"] == "my_client"
    assert payload["cli_version"] == "0.169.0"
    assert payload["source"] == "vscode"
    assert payload["model_provider"] == "openai"
    assert payload["forked_from_id"] == forked
    assert payload["parent_thread_id"] == parent
    assert payload["thread_source"] == "user"
    assert payload["agent_nickname"] == "Bob"
    assert payload["agent_role"] == "worker"
    assert payload["agent_path"] == "/root/bob"
    assert payload["base_instructions"] == {"text": "You are Codex"}
    assert payload["dynamic_tools"] == [{"type": "function", "name": "my_tool"}]
    assert payload["memory_mode"] == "disabled"
    assert payload["history_mode"] == "legacy"
    assert payload["context_window"] == {"window_id": "w1"}
    assert payload["git"] == {
        "commit_hash": "abc123",
        "branch": "main",
        "repository_url": "https://x/r.git",
    }


async def test_a_stored_thread_reports_its_session_meta_fields(store: ThreadStore) -> None:
    parent = new_thread_id()
    tid = await make_thread(
        store,
        created_ms=BASE_MS + 123,
        cwd="/w/p",
        source="exec",
        parent_thread_id=parent,
        agent_nickname="Ann",
        agent_role="explorer",
        agent_path="/root/ann",
        thread_source="subagent",
        git=GitInfo(branch="dev"),
    )

    thread = await store.read_thread(ReadThreadParams(thread_id=tid))

    assert thread.thread_id == tid
    assert thread.created_at_ms == BASE_MS + 123
    assert thread.cwd == "/w/p"
    assert thread.source.raw == "exec"
    assert thread.originator == "threadloom_tests"
    assert thread.cli_version == "0.169.0"
    assert thread.parent_thread_id == parent
    assert thread.agent_nickname == "Ann"
    assert thread.agent_role == "explorer"
    assert thread.agent_path == "/root/ann"
    assert thread.thread_source == "subagent"
    assert thread.git_info == GitInfo(branch="dev")
    assert thread.memory_mode == "enabled"


async def test_a_thread_without_a_provider_reads_as_the_default_provider(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, model_provider=None)

    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).model_provider == "openai"


async def test_listing_metadata_is_derived_from_the_appended_lines(store: ThreadStore) -> None:
    lines = [
        task_started("t1"),
        turn_context("gpt-5", effort="high"),
        response_message("user", "<environment_context>ignored</environment_context>"),
        user_message("## My request for Codex:\n  fix the bug  "),
        agent_message("done"),
        token_count(110),
        task_complete("t1"),
        *turn("second question", model="gpt-6", tokens=210),
    ]
    tid = await make_thread(store, *lines)

    thread = await store.read_thread(ReadThreadParams(thread_id=tid))

    assert thread.preview == "fix the bug"
    assert thread.first_user_message == "fix the bug"
    assert thread.title == "fix the bug"
    assert thread.model == "gpt-6"
    assert thread.tokens_used == 210


async def test_recorded_thread_settings_give_the_model_effort_and_read_cwd(
    store: ThreadStore,
) -> None:
    resumed = [*turn("question", model="gpt-5"), settings_applied("gpt-6", cwd="/w/b")]
    tid = await make_thread(store, *resumed)
    later = [settings_applied("gpt-6", effort="high"), turn_context("gpt-7", effort="low")]
    other = await make_thread(store, *turn("another"), *later, created_ms=BASE_MS + 1000)

    thread = await store.read_thread(ReadThreadParams(thread_id=tid))
    scanned = await store.list_threads(ListThreadsParams())
    database = await store.list_threads(ListThreadsParams(search_term="question"))

    assert (thread.model, thread.reasoning_effort, thread.settings_cwd) == ("gpt-6", None, "/w/b")
    assert [(t.thread_id, t.model, t.cwd) for t in scanned.items] == [
        (other, "gpt-7", "/w/a"),
        (tid, "gpt-6", "/w/a"),
    ]
    assert [(t.model, t.cwd) for t in database.items] == [("gpt-6", "/w/b")]


async def test_an_image_only_first_message_previews_as_image(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("  ", images=["data:image/png;base64,AAAA"]))

    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == "[Image]"


# --- appends ---------------------------------------------------------------------------------
async def test_appended_lines_are_stored_verbatim_and_in_order(store: ThreadStore) -> None:
    tid = (await store.create_thread(create_params())).thread_id
    batches = [
        turn("first", turn_id="t1"),
        [unknown_line("kept verbatim")],
        [],
        turn("second", turn_id="t2", tokens=42),
    ]
    for batch in batches:
        await store.append_items(AppendItemsParams(thread_id=tid, items=batch))
    await store.flush_thread(ThreadIdParams(thread_id=tid))

    history = await store.load_history(LoadHistoryParams(thread_id=tid))

    assert history.thread_id == tid
    assert history.items[0].type == SESSION_META
    assert history.items[1:] == [line for batch in batches for line in batch]


async def test_reading_with_history_returns_the_stored_lines(store: ThreadStore) -> None:
    lines = turn("question", turn_id="t1")
    tid = await make_thread(store, *lines)

    plain = await store.read_thread(ReadThreadParams(thread_id=tid))
    full = await store.read_thread(ReadThreadParams(thread_id=tid, include_history=True))

    assert plain.history is None
    assert full.history is not None
    assert full.history.items[1:] == lines


async def test_updated_at_never_moves_backwards_when_lines_are_appended(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, keep_writer=True)
    before = await store.read_thread(ReadThreadParams(thread_id=tid))

    await store.append_items(AppendItemsParams(thread_id=tid, items=turn("more")))
    after = await store.read_thread(ReadThreadParams(thread_id=tid))

    assert after.updated_at_ms >= before.updated_at_ms
    assert after.recency_at_ms == after.updated_at_ms
    assert after.created_at_ms == before.created_at_ms


async def test_recorded_settings_and_injected_items_are_no_activity_but_a_turn_is(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, *turn("first"), keep_writer=True)
    before = await store.read_thread(ReadThreadParams(thread_id=tid))
    await asyncio.sleep(0.01)  # any new activity would carry a later time

    quiet = [settings_applied("gpt-6"), response_message("user", "injected")]
    await store.append_items(AppendItemsParams(thread_id=tid, items=quiet))
    after_quiet = await store.read_thread(ReadThreadParams(thread_id=tid))
    await store.append_items(AppendItemsParams(thread_id=tid, items=turn("second")))
    after_turn = await store.read_thread(ReadThreadParams(thread_id=tid))

    assert after_quiet.updated_at_ms >= before.updated_at_ms
    assert after_quiet.recency_at_ms == before.recency_at_ms
    assert after_turn.recency_at_ms > before.recency_at_ms


async def test_flush_makes_appended_lines_readable_while_the_writer_stays_open(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, keep_writer=True)

    await store.append_items(AppendItemsParams(thread_id=tid, items=[agent_message("later")]))
    await store.flush_thread(ThreadIdParams(thread_id=tid))
    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    await store.append_items(AppendItemsParams(thread_id=tid, items=[agent_message("again")]))

    assert history.items[-1] == agent_message("later")


# --- writers ----------------------------------------------------------------------------------
async def test_creating_a_thread_that_has_an_active_writer_conflicts(store: ThreadStore) -> None:
    params = create_params()
    await store.create_thread(params)

    with pytest.raises(Conflict) as caught:
        await store.create_thread(params)

    assert caught.value.message == f"thread {params.thread_id} already has an active writer"


async def test_resuming_a_thread_that_has_an_active_writer_conflicts(store: ThreadStore) -> None:
    tid = await make_thread(store, keep_writer=True)

    with pytest.raises(Conflict) as caught:
        await store.resume_thread(ResumeThreadParams(thread_id=tid))

    assert caught.value.message == f"thread {tid} already has an active writer"


async def test_a_shut_down_thread_can_be_resumed_and_appended_to(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("one"))

    resumed = await store.resume_thread(ResumeThreadParams(thread_id=tid))
    await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("two")]))
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))

    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    assert resumed.thread_id == tid
    assert resumed.preview == "one"
    assert history.items[1:] == [user_message("one"), user_message("two")]


async def test_appending_after_shutdown_conflicts(store: ThreadStore) -> None:
    tid = await make_thread(store)

    with pytest.raises(Conflict):
        await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("x")]))


async def test_appending_to_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("x")]))

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_discard_is_idempotent_and_keeps_what_was_already_written(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, user_message("kept"), keep_writer=True)

    await store.discard_thread(ThreadIdParams(thread_id=tid))
    await store.discard_thread(ThreadIdParams(thread_id=tid))

    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    assert history.items[1:] == [user_message("kept")]
    with pytest.raises(Conflict):
        await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("x")]))
    await store.resume_thread(ResumeThreadParams(thread_id=tid))


async def test_discarding_an_unmaterialised_thread_stores_nothing(store: ThreadStore) -> None:
    params = create_params()
    tid = params.thread_id
    await store.create_thread(params)

    await store.discard_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=tid))
    with pytest.raises((Conflict, NotFound)):
        await store.append_items(AppendItemsParams(thread_id=tid, items=[user_message("x")]))
    assert (await store.list_threads(ALL)).items == []
    recreated = await store.create_thread(params)
    assert recreated.thread_id == tid


async def test_resuming_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await store.resume_thread(ResumeThreadParams(thread_id=tid))

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_resuming_an_unmaterialised_thread_is_not_found(store: ThreadStore) -> None:
    params = create_params()
    await store.create_thread(params)
    await store.discard_thread(ThreadIdParams(thread_id=params.thread_id))

    with pytest.raises(NotFound):
        await store.resume_thread(ResumeThreadParams(thread_id=params.thread_id))


async def test_resuming_an_archived_thread_needs_include_archived(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(InvalidRequest) as caught:
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
    resumed = await store.resume_thread(ResumeThreadParams(thread_id=tid, include_archived=True))

    assert caught.value.message == (
        f"session {tid} is archived. Run `codex unarchive {tid}` to unarchive it first."
    )
    assert resumed.archived


async def test_reading_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as read_error:
        await store.read_thread(ReadThreadParams(thread_id=tid))
    with pytest.raises(NotFound) as history_error:
        await store.load_history(LoadHistoryParams(thread_id=tid))

    assert read_error.value.message == f"no rollout found for thread id {tid}"
    assert history_error.value.message == f"no rollout found for thread id {tid}"


# --- capabilities -----------------------------------------------------------------------------
async def test_every_backend_offers_full_text_search(store: ThreadStore) -> None:
    assert Capability.FULL_TEXT_SEARCH in store.capabilities


async def test_path_operations_work_exactly_when_the_backend_offers_them(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store)
    read_thread = await store.read_thread(ReadThreadParams(thread_id=tid))

    if Capability.RESOLVE_LEGACY_PATH in store.capabilities:
        path = await store.resolve_legacy_path(ThreadIdParams(thread_id=tid))
        assert path == read_thread.rollout_path
    else:
        assert read_thread.rollout_path is None
        with pytest.raises(Unsupported) as caught:
            await store.resolve_legacy_path(ThreadIdParams(thread_id=tid))
        assert caught.value.operation == "resolve_legacy_path"

    if Capability.READ_BY_ROLLOUT_PATH in store.capabilities:
        assert read_thread.rollout_path is not None
        by_path = await store.read_thread_by_rollout_path(
            ReadThreadByPathParams(rollout_path=read_thread.rollout_path)
        )
        assert by_path.thread_id == tid
    else:
        with pytest.raises(Unsupported) as caught:
            await store.read_thread_by_rollout_path(ReadThreadByPathParams(rollout_path="/x"))
        assert caught.value.operation == "read_thread_by_rollout_path"

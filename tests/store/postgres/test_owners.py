"""Owners: a thread of one owner is, for every other owner, exactly an unknown thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from threadloom import (
    AppendItemsParams,
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ForkThreadParams,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LiveThread,
    LoadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadloomError,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
    new_thread_id,
)
from threadloom.ids import ThreadId
from threadloom.store.postgres import PostgresThreadStore

from ...conformance.builders import create_params, make_thread, turn, user_message
from .conftest import StoreFactory

ALL = ListThreadsParams(model_providers=[], source_kinds=[], limit=100)
Op = Callable[[PostgresThreadStore, ThreadId], Awaitable[Any]]

OPERATIONS: dict[str, Op] = {
    "read": lambda s, t: s.read_thread(ReadThreadParams(thread_id=t, include_history=True)),
    "history": lambda s, t: s.load_history(LoadHistoryParams(thread_id=t)),
    "history tail": lambda s, t: s.load_history(LoadHistoryParams(thread_id=t, last=1)),
    "resume": lambda s, t: s.resume_thread(ResumeThreadParams(thread_id=t)),
    "fork": lambda s, t: s.fork_thread(
        ForkThreadParams(source_thread_id=t, thread=create_params())
    ),
    "append": lambda s, t: s.append_items(
        AppendItemsParams(thread_id=t, items=[user_message("mine now")])
    ),
    "persist": lambda s, t: s.persist_thread(ThreadIdParams(thread_id=t)),
    "flush": lambda s, t: s.flush_thread(ThreadIdParams(thread_id=t)),
    "shutdown": lambda s, t: s.shutdown_thread(ThreadIdParams(thread_id=t)),
    "rename": lambda s, t: s.set_thread_name(SetThreadNameParams(thread_id=t, name="stolen")),
    "update metadata": lambda s, t: s.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=t, patch=ThreadMetadataPatch(memory_mode="disabled"))
    ),
    "archive": lambda s, t: s.archive_thread(ThreadIdParams(thread_id=t)),
    "unarchive": lambda s, t: s.unarchive_thread(ThreadIdParams(thread_id=t)),
    "delete": lambda s, t: s.delete_thread(ThreadIdParams(thread_id=t)),
}


async def outcome(call: Awaitable[Any], thread_id: str) -> tuple[str, str]:
    """What a call gave: its error's class and message (the id masked), or ``ok``."""
    try:
        await call
    except ThreadloomError as exc:
        return type(exc).__name__, exc.message.replace(thread_id, "<id>")
    return "ok", ""


async def test_every_operation_on_another_owners_thread_answers_as_for_an_unknown_id(
    stores: StoreFactory,
) -> None:
    alice, bob = stores(owner="alice"), stores(owner="bob")
    tid = await make_thread(alice, *turn("the secret plan", "noted", turn_id="t1"))
    await alice.set_thread_name(SetThreadNameParams(thread_id=tid, name="plans"))
    before = await alice.read_thread(ReadThreadParams(thread_id=tid, include_history=True))

    for name, op in OPERATIONS.items():
        unknown = new_thread_id()
        guessed = await outcome(op(bob, tid), tid)
        expected = await outcome(op(bob, unknown), unknown)
        assert guessed == expected, name
        assert guessed[0] != "ok", name

    after = await alice.read_thread(ReadThreadParams(thread_id=tid, include_history=True))
    assert after == before


async def test_another_owners_threads_are_never_listed_searched_or_found(
    stores: StoreFactory,
) -> None:
    alice, bob = stores(owner="alice"), stores(owner="bob")
    parent = await make_thread(alice, user_message("the secret plan"))
    child = await make_thread(
        alice, user_message("sub task"), agent_path="/root/worker", source="exec"
    )
    await alice.set_thread_name(SetThreadNameParams(thread_id=parent, name="plans"))
    await alice.upsert_spawn_edge(
        UpsertSpawnEdgeParams(parent_thread_id=parent, child_thread_id=child)
    )
    own = await make_thread(bob, user_message("bob's own plan"))

    assert [t.thread_id for t in (await bob.list_threads(ALL)).items] == [own]
    assert [t.thread_id for t in (await alice.list_threads(ALL)).items] == [parent]
    hits = await bob.search_threads(SearchThreadsParams(query="secret plan"))
    assert [h.thread.thread_id for h in hits.items] == [own]
    assert await bob.find_thread_by_name(FindThreadByNameParams(name="plans")) is None
    assert await bob.list_spawn_edges(ListSpawnEdgesParams(parent_thread_id=parent)) == []
    found = await bob.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=parent, agent_path="/root/worker")
    )
    assert found is None
    mine = await alice.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=parent, agent_path="/root/worker")
    )
    assert mine is not None
    assert mine.thread_id == child


async def test_one_id_under_two_owners_is_two_independent_threads(stores: StoreFactory) -> None:
    alice, bob = stores(owner="alice"), stores(owner="bob")
    tid = new_thread_id()
    live_a = await LiveThread.create(alice, create_params(tid))
    live_b = await LiveThread.create(bob, create_params(tid))  # no Conflict: another owner
    await live_a.append([user_message("alice speaking")])
    await live_b.append([user_message("bob speaking")])
    await live_a.shutdown()
    await live_b.shutdown()

    read_a = await alice.read_thread(ReadThreadParams(thread_id=tid))
    read_b = await bob.read_thread(ReadThreadParams(thread_id=tid))
    assert (read_a.preview, read_b.preview) == ("alice speaking", "bob speaking")

    await bob.delete_thread(ThreadIdParams(thread_id=tid))
    assert (await alice.read_thread(ReadThreadParams(thread_id=tid))).preview == "alice speaking"
    history = await alice.load_history(LoadHistoryParams(thread_id=tid))
    assert [line.payload.get("message") for line in history.items[1:]] == ["alice speaking"]

"""Sub-agent spawn edges: children, descendants, status filters, lookup by agent path."""

from __future__ import annotations

from threadloom.ids import ThreadId
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    FindSpawnDescendantParams,
    ListSpawnEdgesParams,
    SpawnEdgeStatus,
    ThreadIdParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.records import SpawnEdge

from .builders import make_thread, thread_id_from

OPEN, CLOSED = SpawnEdgeStatus.OPEN, SpawnEdgeStatus.CLOSED
ROOT = thread_id_from("f00")


async def link(
    store: ThreadStore, parent: ThreadId, child: ThreadId, status: SpawnEdgeStatus = OPEN
) -> None:
    await store.upsert_spawn_edge(
        UpsertSpawnEdgeParams(parent_thread_id=parent, child_thread_id=child, status=status)
    )


async def edges(
    store: ThreadStore,
    parent: ThreadId,
    *,
    recursive: bool = False,
    status: SpawnEdgeStatus | None = None,
) -> list[tuple[str, str, SpawnEdgeStatus, int]]:
    found: list[SpawnEdge] = await store.list_spawn_edges(
        ListSpawnEdgesParams(parent_thread_id=parent, recursive=recursive, status=status)
    )
    return [(e.parent_thread_id, e.child_thread_id, e.status, e.depth) for e in found]


async def test_a_thread_without_edges_has_no_children(store: ThreadStore) -> None:
    assert await edges(store, ROOT) == []
    assert await edges(store, ROOT, recursive=True) == []


async def test_children_are_listed_by_thread_id_with_their_status(store: ThreadStore) -> None:
    b, a, c = thread_id_from("b1"), thread_id_from("a1"), thread_id_from("c1")
    await link(store, ROOT, b)
    await link(store, ROOT, a, CLOSED)
    await link(store, ROOT, c)
    await link(store, a, thread_id_from("d1"))

    assert await edges(store, ROOT) == [
        (ROOT, a, CLOSED, 1),
        (ROOT, b, OPEN, 1),
        (ROOT, c, OPEN, 1),
    ]


async def test_descendants_are_listed_breadth_first_by_depth_then_id(store: ThreadStore) -> None:
    child_a, child_b = thread_id_from("a1"), thread_id_from("b1")
    grand_a, grand_b = thread_id_from("a2"), thread_id_from("02")
    great = thread_id_from("03")
    await link(store, ROOT, child_b)
    await link(store, child_b, grand_b)
    await link(store, ROOT, child_a)
    await link(store, child_a, grand_a)
    await link(store, grand_a, great)

    assert await edges(store, ROOT, recursive=True) == [
        (ROOT, child_a, OPEN, 1),
        (ROOT, child_b, OPEN, 1),
        (child_b, grand_b, OPEN, 2),
        (child_a, grand_a, OPEN, 2),
        (grand_a, great, OPEN, 3),
    ]
    assert await edges(store, child_a, recursive=True) == [
        (child_a, grand_a, OPEN, 1),
        (grand_a, great, OPEN, 2),
    ]


async def test_a_status_filter_selects_children_of_that_status(store: ThreadStore) -> None:
    open_child, closed_child = thread_id_from("a1"), thread_id_from("b1")
    await link(store, ROOT, open_child)
    await link(store, ROOT, closed_child, CLOSED)

    assert await edges(store, ROOT, status=OPEN) == [(ROOT, open_child, OPEN, 1)]
    assert await edges(store, ROOT, status=CLOSED) == [(ROOT, closed_child, CLOSED, 1)]


async def test_descendants_of_a_status_are_reached_only_through_edges_of_that_status(
    store: ThreadStore,
) -> None:
    child, grandchild = thread_id_from("a1"), thread_id_from("a2")
    await link(store, ROOT, child)
    await link(store, child, grandchild)

    await link(store, ROOT, child, CLOSED)

    assert await edges(store, ROOT, recursive=True, status=OPEN) == []
    assert await edges(store, ROOT, recursive=True, status=CLOSED) == [(ROOT, child, CLOSED, 1)]
    assert await edges(store, child, recursive=True, status=OPEN) == [(child, grandchild, OPEN, 1)]
    assert await edges(store, ROOT, recursive=True) == [
        (ROOT, child, CLOSED, 1),
        (child, grandchild, OPEN, 2),
    ]


async def test_upserting_an_edge_again_moves_the_child_to_its_new_parent(
    store: ThreadStore,
) -> None:
    other_parent, child = thread_id_from("e1"), thread_id_from("a1")
    await link(store, ROOT, child)

    await link(store, other_parent, child, CLOSED)

    assert await edges(store, ROOT) == []
    assert await edges(store, other_parent) == [(other_parent, child, CLOSED, 1)]


async def test_a_descendant_is_found_by_its_agent_path(store: ThreadStore) -> None:
    root = await make_thread(store, agent_path="/root")
    worker = await make_thread(store, agent_path="/root/worker", parent_thread_id=root)
    helper = await make_thread(store, agent_path="/root/worker/helper", parent_thread_id=worker)
    stranger = await make_thread(store, agent_path="/root/stranger")
    await link(store, root, worker)
    await link(store, worker, helper, CLOSED)

    found = await store.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=root, agent_path="/root/worker/helper")
    )
    direct = await store.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=root, agent_path="/root/worker")
    )
    not_linked = await store.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=root, agent_path="/root/stranger")
    )
    from_below = await store.find_spawn_descendant(
        FindSpawnDescendantParams(root_thread_id=worker, agent_path="/root/worker")
    )

    assert found is not None
    assert found.thread_id == helper
    assert found.agent_path == "/root/worker/helper"
    assert direct is not None
    assert direct.thread_id == worker
    assert not_linked is None
    assert from_below is None
    assert stranger != helper


async def test_deleting_a_thread_removes_its_edges(store: ThreadStore) -> None:
    root = await make_thread(store)
    child = await make_thread(store)
    grandchild = thread_id_from("a2")
    await link(store, root, child)
    await link(store, child, grandchild)

    await store.delete_thread(ThreadIdParams(thread_id=child))

    assert await edges(store, root) == []
    assert await edges(store, child) == []

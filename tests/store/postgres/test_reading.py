"""Reading a thread's history: a short tail comes with its row in one statement, a long one
and a whole history in one snapshot; all agree with each other."""

from __future__ import annotations

import pytest

from threadloom import LoadHistoryParams, NotFound, ThreadIdParams, new_thread_id
from threadloom.store.postgres.core import TAIL_IN_ONE_STATEMENT

from ...conformance.builders import make_thread, user_message
from .conftest import StoreFactory


@pytest.mark.parametrize("last", [1, 20, TAIL_IN_ONE_STATEMENT, TAIL_IN_ONE_STATEMENT + 1, 500])
async def test_a_tail_is_the_end_of_the_whole_history(stores: StoreFactory, last: int) -> None:
    store = stores()
    said = [user_message(f"message {n}") for n in range(TAIL_IN_ONE_STATEMENT + 20)]
    tid = await make_thread(store, *said)
    whole = await store.load_history(LoadHistoryParams(thread_id=tid))

    tail = await store.load_history(LoadHistoryParams(thread_id=tid, last=last))

    assert len(whole.items) == len(said) + 1  # and the session_meta line
    assert tail.items == whole.items[-last:]


@pytest.mark.parametrize("last", [None, 5, TAIL_IN_ONE_STATEMENT + 1])
async def test_an_archived_thread_reads_only_when_archived_threads_are_asked_for(
    stores: StoreFactory, last: int | None
) -> None:
    store = stores()
    tid = await make_thread(store, user_message("one"), user_message("two"))
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound):
        await store.load_history(
            LoadHistoryParams(thread_id=tid, last=last, include_archived=False)
        )
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=new_thread_id(), last=last))
    found = await store.load_history(LoadHistoryParams(thread_id=tid, last=last))
    assert [line.payload.get("message") for line in found.items][-2:] == ["one", "two"]

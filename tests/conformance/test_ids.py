"""Thread ids: every accepted spelling reaches the same thread, stored in normalised form."""

from __future__ import annotations

from threadloom.ids import is_thread_id, parse_thread_id
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadParams,
)

from .builders import make_thread

UPPER = "019A0000-0000-7000-9000-0000000000AB"


async def test_every_spelling_of_an_id_reaches_the_same_normalised_thread(
    store: ThreadStore,
) -> None:
    created = await make_thread(store, thread_id=parse_thread_id("{" + UPPER + "}"))

    spellings = [UPPER, UPPER.lower(), UPPER.replace("-", ""), f"urn:uuid:{UPPER}"]
    read_back = [
        await store.read_thread(ReadThreadParams(thread_id=parse_thread_id(s))) for s in spellings
    ]

    assert is_thread_id(created)
    assert created == UPPER.lower()
    assert {t.thread_id for t in read_back} == {created}
    listed = await store.list_threads(ListThreadsParams())
    assert [t.thread_id for t in listed.items] == [created]
    meta = (await store.load_history(LoadHistoryParams(thread_id=created))).items[0].payload
    assert meta["id"] == created
    assert meta["session_id"] == created

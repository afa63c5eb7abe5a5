"""Bad files and bad ids get clear errors and never damage what is on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from threadloom.errors import CorruptData, InvalidThreadId, NotFound
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.rollout import RolloutLine
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import (
    AppendItemsParams,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadIdParams,
)

from .rollouts import T0, agent, line, meta, user, write

A = "019a0000-0000-7000-8000-0000000000a1"
B = "019a0000-0000-7000-8000-0000000000b2"


async def test_a_torn_last_line_is_ignored_and_closed_before_the_next_append(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    torn = '{"timestamp":"2025-10-09T00:00:00.000Z","type":"event_msg","payload":{"type":"user_me'
    path = write(tmp_path, A, [meta(A), user("first"), torn], tail="")
    before = path.read_bytes()
    page = await store.list_threads(ListThreadsParams())
    assert [t.preview for t in page.items] == ["first"]
    await store.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
    new = RolloutLine(
        timestamp="2025-10-09T00:00:01.000Z",
        type="event_msg",
        payload={"type": "agent_message", "message": "after"},
    )
    await store.append_items(AppendItemsParams(thread_id=ThreadId(A), items=[new]))
    await store.shutdown_thread(ThreadIdParams(thread_id=ThreadId(A)))
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :].startswith(b"\n{")
    history = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A), include_history=True))
    assert history.history is not None
    assert history.history.items[-1].payload["message"] == "after"


async def test_garbage_and_blank_lines_are_skipped(tmp_path: Path, store: LocalThreadStore) -> None:
    write(tmp_path, A, [meta(A), "", "not json at all", "[1,2]", user("real question"), agent("a")])
    got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A), include_history=True))
    assert got.preview == "real question"
    assert got.history is not None
    assert [ln.type for ln in got.history.items] == ["session_meta", "event_msg", "event_msg"]


async def test_a_foreign_history_mode_fails_closed_and_leaves_the_file_alone(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = write(tmp_path, A, [meta(A, history_mode="segmented"), user("q")])
    before = path.read_bytes()
    assert (await store.list_threads(ListThreadsParams())).items == []
    with pytest.raises(CorruptData, match="history_mode: unknown variant `segmented`"):
        await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    with pytest.raises(CorruptData):
        await store.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
    assert path.read_bytes() == before


async def test_a_file_without_session_meta_is_not_a_thread(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    write(tmp_path, A, [user("orphan"), agent("x")])
    assert (await store.list_threads(ListThreadsParams())).items == []
    with pytest.raises(CorruptData, match="is empty"):
        await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    with pytest.raises(NotFound, match=f"no rollout found for thread id {B}"):
        await store.read_thread(ReadThreadParams(thread_id=ThreadId(B)))


async def test_a_response_item_before_session_meta_makes_the_file_invalid(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    bad = line("response_item", {"type": "message", "role": "user", "content": []})
    write(tmp_path, A, [bad, meta(A), user("q")])
    assert (await store.list_threads(ListThreadsParams())).items == []


async def test_events_before_session_meta_are_tolerated(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    write(tmp_path, A, [agent("early"), meta(A), user("q")])
    assert [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items] == [A]


async def test_a_mismatched_file_name_is_listed_under_its_session_meta_id(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    write(tmp_path, A, [meta(B), user("q")])
    page = await store.list_threads(ListThreadsParams())
    assert [t.thread_id for t in page.items] == [B]
    by_file = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert by_file.thread_id == B


async def test_compressed_rollouts_are_read_transparently(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = write(tmp_path, A, [meta(A), user("zipped question")])
    zst = path.with_name(path.name + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    path.unlink()
    page = await store.list_threads(ListThreadsParams())
    assert [t.preview for t in page.items] == ["zipped question"]
    await store.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
    assert path.exists()
    assert not zst.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("../../etc/passwd", "found `.` at 1"),
        ("", "invalid length: expected length 32 for simple format, found 0"),
        ("01a20058-5d4a-7d23-a26187f0f0df1295", "invalid group count: expected 5, found 4"),
        ("01a20058-5d4a-7d23-a261-87f0f0df129", "in group 4: expected 12, found 11"),
    ],
)
def test_bad_ids_are_rejected_before_any_path_is_built(raw: str, message: str) -> None:
    with pytest.raises(InvalidThreadId, match=message.replace("`", ".")):
        parse_thread_id(raw)


def test_id_spellings_normalise_to_lower_case_hyphenated() -> None:
    expected = "01a20058-5d4a-7d23-a261-87f0f0df1295"
    for raw in (
        expected.upper(),
        "{" + expected + "}",
        "urn:uuid:" + expected,
        expected.replace("-", ""),
    ):
        assert parse_thread_id(raw) == expected


async def test_huge_lines_are_read_in_constant_chunks(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    big = "x" * (3 << 20)
    write(tmp_path, A, [meta(A), user("q"), agent(big), user("second")], ms=T0)
    got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A), include_history=True))
    assert got.history is not None
    assert len(got.history.items) == 4


async def test_a_file_truncated_behind_the_index_is_read_again(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = write(tmp_path, A, [meta(A), user("first"), agent("reply"), user("second")])
    assert [t.preview for t in (await store.list_threads(ListThreadsParams())).items] == ["first"]
    data = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(data.index(b"\n") + 1)  # only the session_meta survives
    assert (await store.list_threads(ListThreadsParams())).items == []
    got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert got.preview == ""

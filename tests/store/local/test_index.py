"""The local index follows the files: new, grown, moved, deleted, renamed; rebuildable."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from threadloom.ids import ThreadId
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import (
    GitInfoPatch,
    ListSpawnEdgesParams,
    ListThreadsParams,
    ReadThreadParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)

from .rollouts import T0, agent, meta, thread, user, write

A = "019a0000-0000-7000-8000-00000000000a"
B = "019a0000-0000-7000-8000-00000000000b"
C = "019a0000-0000-7000-8000-00000000000c"


async def ids(store: LocalThreadStore, **kw: object) -> list[str]:
    page = await store.list_threads(ListThreadsParams(**kw))  # type: ignore[arg-type]
    return [t.thread_id for t in page.items]


async def test_new_files_are_listed_without_an_explicit_refresh(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    assert await ids(store) == []
    thread(tmp_path, A, ms=T0)
    thread(tmp_path, B, ms=T0 + 5000)
    assert await ids(store) == [B, A]


async def test_a_grown_file_is_read_only_from_where_the_last_scan_stopped(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = write(tmp_path, A, [meta(A), agent("no user yet")])
    stats = store.refresh()
    assert stats.files_read == 1
    assert await ids(store) == []
    extra = user("now a question", T0 + 1000) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(extra)
    stats = store.refresh()
    assert stats.files_read == 1
    assert stats.bytes_read == len(extra.encode())
    assert await ids(store) == [A]
    assert store.refresh().files_read == 0


async def test_moved_and_deleted_files_are_noticed(tmp_path: Path, store: LocalThreadStore) -> None:
    path = thread(tmp_path, A)
    assert await ids(store) == [A]
    archived = tmp_path / "archived_sessions"
    archived.mkdir()
    shutil.move(path, archived / path.name)
    assert await ids(store) == []
    assert await ids(store, archived=True) == [A]
    (archived / path.name).unlink()
    assert await ids(store, archived=True) == []


async def test_names_follow_session_index_order_with_read_and_list_rules(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    thread(tmp_path, A)
    index = tmp_path / "session_index.jsonl"
    index.write_text(
        f'{{"id":"{A}","thread_name":" first ","updated_at":"2030-01-01T00:00:00Z"}}\n'
        "garbage\n"
        f'{{"id":"{A}","thread_name":"  ","updated_at":"2020-01-01T00:00:00Z"}}\n'
    )
    listed = (await store.list_threads(ListThreadsParams())).items[0]
    read = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert listed.name == "first"
    assert read.name is None
    with open(index, "a") as f:
        f.write(f'{{"id":"{A}","thread_name":"second","updated_at":"2000-01-01T00:00:00Z"}}\n')
    read = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert read.name == "second"


async def test_the_index_can_be_deleted_and_rebuilt_with_the_same_answers(
    tmp_path: Path,
) -> None:
    for n, tid in enumerate((A, B, C)):
        thread(tmp_path, tid, text=f"question {n}", ms=T0 + n * 1000)
    first = LocalThreadStore(tmp_path)
    before = await first.list_threads(ListThreadsParams())
    await first.close()
    shutil.rmtree(tmp_path / "threadloom")
    second = LocalThreadStore(tmp_path)
    after = await second.list_threads(ListThreadsParams())
    await second.close()
    assert after == before


async def test_a_file_rewritten_behind_the_index_is_read_again(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = thread(tmp_path, A, text="old question")
    assert (await store.list_threads(ListThreadsParams())).items[0].preview == "old question"
    path.write_text("\n".join([meta(A), user("new question")]) + "\n")
    os.utime(path, ns=(T0 * 1_000_000 + 7, T0 * 1_000_000 + 7))
    assert (await store.list_threads(ListThreadsParams())).items[0].preview == "new question"


async def test_metadata_comes_from_the_last_matching_session_meta(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    parent = "019a0000-0000-7000-8000-0000000000ff"
    write(
        tmp_path,
        A,
        [
            meta(A, git={"commit_hash": "aaa", "branch": "main"}),
            meta(parent, git={"commit_hash": "parent"}),
            user("q"),
            meta(A, memory_mode="disabled", git={"branch": "dev"}),
        ],
    )
    got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert got.memory_mode == "disabled"
    assert got.git_info is not None
    assert (got.git_info.commit_hash, got.git_info.branch) == (None, "dev")


async def test_a_revert_generation_file_is_the_thread_s_current_rollout(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    base = write(tmp_path, A, [meta(A, history_mode="paginated"), user("original")], ms=T0)
    generation = "019a0000-0000-7000-8000-0000000000ee"
    later = T0 + 60_000
    gen_path = base.parent / base.name.replace(".jsonl", f"_{generation}.jsonl").replace(
        base.name[8:27], "2025-10-09T08-54-20"
    )
    gen_path.write_text(meta(A, later, history_mode="paginated") + "\n" + user("reverted") + "\n")
    page = await store.list_threads(ListThreadsParams())
    assert [t.thread_id for t in page.items] == [A]
    assert page.items[0].rollout_path == str(gen_path)
    read = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert read.rollout_path == str(gen_path)


async def test_paginated_metadata_updates_stay_out_of_the_rollout_and_survive_a_rebuild(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = write(
        tmp_path, A, [meta(A, history_mode="paginated", git={"branch": "main"}), user("q")]
    )
    before = path.read_bytes()
    patch = ThreadMetadataPatch(memory_mode="disabled", git=GitInfoPatch(sha="abc"))
    got = await store.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=ThreadId(A), patch=patch)
    )
    assert got.memory_mode == "disabled"
    assert got.git_info is not None
    assert (got.git_info.commit_hash, got.git_info.branch) == ("abc", "main")
    assert path.read_bytes() == before
    other = LocalThreadStore(tmp_path, watch=False)
    other.rebuild()
    again = await other.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    await other.close()
    assert again.memory_mode == "disabled"
    assert again.git_info == got.git_info


async def test_spawn_edges_survive_deleting_the_index(tmp_path: Path) -> None:
    first = LocalThreadStore(tmp_path, watch=False)
    await first.upsert_spawn_edge(
        UpsertSpawnEdgeParams(parent_thread_id=ThreadId(A), child_thread_id=ThreadId(B))
    )
    await first.close()
    (tmp_path / "threadloom" / "index_1.sqlite").unlink()
    second = LocalThreadStore(tmp_path, watch=False)
    edges = await second.list_spawn_edges(ListSpawnEdgesParams(parent_thread_id=ThreadId(A)))
    await second.close()
    assert [(e.parent_thread_id, e.child_thread_id) for e in edges] == [(A, B)]


async def test_paginated_metadata_changed_in_codex_s_database_is_read_from_there(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    write(tmp_path, A, [meta(A, history_mode="paginated"), user("q")])
    assert (await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))).git_info is None
    conn = sqlite3.connect(tmp_path / "state_5.sqlite")
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, history_mode TEXT, git_sha TEXT,"
        " git_branch TEXT, git_origin_url TEXT, memory_mode TEXT, updated_at INTEGER,"
        " updated_at_ms INTEGER)"
    )
    conn.execute(
        "INSERT INTO threads VALUES (?, 'paginated', 'f00', NULL, NULL, 'disabled', 0, 0)", (A,)
    )
    conn.commit()
    conn.close()
    got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert got.memory_mode == "disabled"
    assert got.git_info is not None
    assert got.git_info.commit_hash == "f00"
    patch = ThreadMetadataPatch(git=GitInfoPatch(branch="dev"))
    await store.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=ThreadId(A), patch=patch)
    )
    row = (
        sqlite3.connect(tmp_path / "state_5.sqlite")
        .execute("SELECT git_sha, git_branch FROM threads WHERE id = ?", (A,))
        .fetchone()
    )
    assert row == ("f00", "dev")
    again = await store.read_thread(ReadThreadParams(thread_id=ThreadId(A)))
    assert again.git_info is not None
    assert (again.git_info.commit_hash, again.git_info.branch) == ("f00", "dev")

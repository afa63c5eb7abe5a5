"""Interrupted migrations: a re-run copies only what is new or changed, and ends verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadloom import (
    AppendItemsParams,
    LiveThread,
    LocalThreadStore,
    ResumeThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
)
from threadloom.ids import ThreadId
from threadloom.migrate import Progress, migrate_home_to_postgres, migrate_postgres_to_home
from threadloom.store.postgres import PostgresThreadStore
from threadloom.testing import generate_home

from ..conformance.builders import agent_message, create_params, make_thread, turn
from .homes import file_uuid, reads, rollout_files, thread_ids

THREADS = 20


class Interrupted(Exception):
    """Stands for a ^C or a crash in the middle of a run."""


def stop_after(count: int) -> Progress:
    """A progress callback that interrupts the run once ``count`` threads are copied."""

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "copying" and done >= count:
            raise Interrupted

    return progress


async def test_a_copy_to_postgres_resumes_and_then_copies_only_changes(
    tmp_path: Path, pg_url: str, owner: str
) -> None:
    source = tmp_path / "home"
    manifest = generate_home(source, threads=THREADS, seed=11, archived_frac=0.2, named_frac=0.3)
    ids = await thread_ids(source)
    assert len(ids) == THREADS

    with pytest.raises(Interrupted):  # after the third transaction of three threads
        await migrate_home_to_postgres(source, pg_url, owner=owner, progress=stop_after(7), batch=3)
    resumed = await migrate_home_to_postgres(source, pg_url, owner=owner)

    assert (resumed.copied, resumed.unchanged, resumed.threads) == (THREADS - 9, 9, THREADS)
    assert resumed.verified, resumed.mismatches()
    assert resumed.expected["archived"] == sum(r.archived for r in manifest.threads) > 0

    home = LocalThreadStore(source, watch=False)
    try:
        renamed, appended, archived = [ThreadId(r.id) for r in manifest.threads if not r.archived][
            :3
        ]
        await home.set_thread_name(SetThreadNameParams(thread_id=renamed, name="new name"))
        await home.resume_thread(ResumeThreadParams(thread_id=appended))
        await home.append_items(
            AppendItemsParams(thread_id=appended, items=[agent_message("one more thing")])
        )
        await home.shutdown_thread(ThreadIdParams(thread_id=appended))
        await home.archive_thread(ThreadIdParams(thread_id=archived))

        changed = await migrate_home_to_postgres(source, pg_url, owner=owner)

        assert (changed.copied, changed.unchanged) == (3, THREADS - 3)
        assert changed.verified, changed.mismatches()
        store = PostgresThreadStore(pg_url, owner=owner)
        try:
            assert await reads(store, ids) == await reads(home, ids)
        finally:
            await store.close()
    finally:
        await home.close()


async def test_a_copy_to_a_home_resumes_and_then_copies_only_changes(
    tmp_path: Path, pg_url: str, owner: str
) -> None:
    source, back = tmp_path / "home", tmp_path / "back"
    generate_home(source, threads=THREADS, seed=12, archived_frac=0.2, named_frac=0.3)
    ids = await thread_ids(source)
    await migrate_home_to_postgres(source, pg_url, owner=owner)

    with pytest.raises(Interrupted):
        await migrate_postgres_to_home(pg_url, back, owner=owner, progress=stop_after(7))
    assert len(rollout_files(back)) == 7
    resumed = await migrate_postgres_to_home(pg_url, back, owner=owner)

    assert (resumed.copied, resumed.unchanged) == (THREADS - 7, 7)
    assert resumed.verified, resumed.mismatches()
    assert rollout_files(back) == rollout_files(source)

    store = PostgresThreadStore(pg_url, owner=owner)
    try:
        archived = [t for t in ids if (await reads(store, [t]))[t].archived]
        live = [t for t in ids if t not in archived]
        await store.unarchive_thread(ThreadIdParams(thread_id=archived[0]))
        await store.resume_thread(ResumeThreadParams(thread_id=live[0]))
        await store.append_items(  # a turn: new activity for every store (recencyAt)
            AppendItemsParams(thread_id=live[0], items=turn("and then?", "written there"))
        )
        await store.shutdown_thread(ThreadIdParams(thread_id=live[0]))
        await store.set_thread_name(SetThreadNameParams(thread_id=live[1], name="renamed there"))

        changed = await migrate_postgres_to_home(pg_url, back, owner=owner)

        assert (changed.copied, changed.unchanged) == (2, THREADS - 2)
        assert changed.verified, changed.mismatches()
        files = rollout_files(back)
        assert len(files) == THREADS  # the unarchived thread's archived file is gone
        assert sum(file_uuid(p) == archived[0] for p in files) == 1
        returned = LocalThreadStore(back, watch=False)
        try:
            assert await reads(returned, ids) == await reads(store, ids)
        finally:
            await returned.close()
    finally:
        await store.close()


async def test_threads_written_in_postgres_become_files_codex_can_list(
    tmp_path: Path, pg_url: str, owner: str
) -> None:
    store = PostgresThreadStore(pg_url, owner=owner)
    back = tmp_path / "back"
    try:
        first = await make_thread(store, *turn("made in PostgreSQL", "yes", turn_id="t1"))
        live = await LiveThread.create(store, create_params(created_ms=None))
        await live.append(turn("second one", "indeed", turn_id="t2"))
        await live.shutdown()
        await store.set_thread_name(SetThreadNameParams(thread_id=first, name="first"))
        await store.archive_thread(ThreadIdParams(thread_id=live.thread_id))

        report = await migrate_postgres_to_home(pg_url, back, owner=owner)

        assert report.verified, report.mismatches()
        home = LocalThreadStore(back, watch=False)
        try:
            ids = [first, live.thread_id]
            assert await reads(home, ids) == await reads(store, ids)
            for tid in ids:
                path = Path(await home.resolve_legacy_path(ThreadIdParams(thread_id=tid)))
                assert path.read_bytes() == await store.rollout_bytes(tid)
        finally:
            await home.close()
    finally:
        await store.close()

"""Many writer processes on one database: order, one writer per thread, retries, cut
connections. Every writer is a real process (``child.py``); connections are ended by the
server (``pg_terminate_backend``), as a restart or a network cut ends them."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from threadloom import Conflict, LoadHistoryParams, ResumeThreadParams, new_thread_id
from threadloom.ids import ThreadId
from threadloom.store.postgres import PostgresThreadStore

from ...conformance.builders import make_thread, user_message
from .child_runner import finish, ready, spawn
from .conftest import StoreFactory

pytestmark = pytest.mark.process


async def messages(store: PostgresThreadStore, tid: str) -> list[str]:
    history = await store.load_history(LoadHistoryParams(thread_id=ThreadId(tid)))
    return [line.payload["message"] for line in history.items[1:]]


@asynccontextmanager
async def cutting(pg_url: str, application: str, every_s: float) -> AsyncIterator[list[int]]:
    """End every connection of ``application`` about every ``every_s`` seconds while the
    block runs; yields a one-element list: how many connections were ended."""
    ended = [0]
    stop = asyncio.Event()

    async def cut() -> None:
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            while not stop.is_set():
                cur = await conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (application,),
                )
                row = await cur.fetchone()
                ended[0] += int(row[0]) if row else 0
                await asyncio.sleep(every_s * (0.5 + random.random()))

    task = asyncio.create_task(cut())
    try:
        yield ended
    finally:
        stop.set()
        await task


async def test_processes_appending_to_many_threads_keep_each_threads_order(
    stores: StoreFactory, pg_url: str
) -> None:
    reader = stores()
    groups = [[str(new_thread_id()) for _ in range(5)] for _ in range(3)]
    count = 15

    procs = [spawn("own", pg_url, reader.owner, ",".join(g), count) for g in groups]
    for proc in procs:
        assert await finish(proc) == [{"done": True}]

    for tid in (t for g in groups for t in g):
        expected = [f"{tid} start", *(str(n) for n in range(count))]
        assert await messages(reader, tid) == expected, tid


async def test_processes_taking_turns_on_shared_threads_never_interleave(
    stores: StoreFactory, pg_url: str, tmp_path: Path
) -> None:
    reader = stores()
    threads = [await make_thread(reader, user_message("shared")) for _ in range(4)]
    names, rounds = ["a", "b", "c"], 3

    go = tmp_path / "go"
    procs = [
        spawn("contend", pg_url, reader.owner, ",".join(threads), rounds, name, go)
        for name in names
    ]
    for proc in procs:
        await ready(proc)
    go.touch()
    conflicts = sum([(await finish(proc))[-1]["conflicts"] for proc in procs])

    assert conflicts > 0, "the processes never met"
    for tid in threads:
        got = (await messages(reader, tid))[1:]  # after the "shared" message
        holds = [tuple(got[k : k + 3]) for k in range(0, len(got), 3)]
        for hold in holds:  # a writer's three lines are never split by another writer
            name, round_ = hold[0].split(":")[:2]
            assert hold == tuple(f"{name}:{round_}:{part}" for part in range(3)), got
        seen = [h[0].rsplit(":", 1)[0] for h in holds]
        assert sorted(seen) == sorted(f"{n}:{r}" for n in names for r in range(rounds))
        for name in names:  # each process's rounds in the order it wrote them
            mine = [s for s in seen if s.startswith(f"{name}:")]
            assert mine == [f"{name}:{r}" for r in range(rounds)]


async def test_one_of_racing_processes_wins_and_a_killed_winners_claim_expires(
    stores: StoreFactory, pg_url: str
) -> None:
    survivor = stores()
    tid = str(new_thread_id())
    start = time.time() + 2.0  # every process started and connected by then

    procs = [spawn("race", pg_url, survivor.owner, tid, start, -1) for _ in range(4)]
    first_lines = await asyncio.gather(
        *(asyncio.to_thread(p.stdout.readline) for p in procs if p.stdout is not None)
    )
    outcomes = [json.loads(line)["won"] for line in first_lines]
    winner = procs[outcomes.index(True)]

    assert sorted(outcomes) == [False, False, False, True]
    for proc in procs:
        if proc is not winner:
            await finish(proc)
    with pytest.raises(Conflict):  # held, and its lease renewed, while the winner lives
        await survivor.resume_thread(ResumeThreadParams(thread_id=ThreadId(tid)))
    winner.send_signal(signal.SIGKILL)
    await asyncio.to_thread(winner.wait)
    killed_at = time.monotonic()
    while True:
        try:
            await survivor.resume_thread(ResumeThreadParams(thread_id=ThreadId(tid)))
            break
        except Conflict:
            assert time.monotonic() - killed_at < 15, "the killed writer's claim never expired"
            await asyncio.sleep(0.1)
    assert await messages(survivor, tid) == ["winner"]


async def acknowledged_across_cuts(
    command: str, reader: PostgresThreadStore, pg_url: str, count: int
) -> tuple[str, int]:
    """Run a child writing ``count`` batches to a new thread (``command`` of child.py) while
    its connections are cut; check some were cut and every batch acknowledged, in order.
    The thread id and ``count``."""
    tid = str(new_thread_id())
    application = f"tl-cut-{uuid.uuid4().hex[:10]}"
    url = make_conninfo(pg_url, application_name=application)

    proc = await ready(spawn(command, url, reader.owner, tid, count))
    async with cutting(pg_url, application, every_s=0.05) as ended:
        printed = await finish(proc)

    assert ended[0] > 0, "no connection was cut"
    assert [p["ack"] for p in printed if "ack" in p] == list(range(count))
    return tid, count


async def test_a_batch_retried_with_its_key_after_a_cut_is_applied_once(
    stores: StoreFactory, pg_url: str
) -> None:
    reader = stores()
    tid, batches = await acknowledged_across_cuts("keyed", reader, pg_url, 40)
    expected = [f"{n}.{part}" for n in range(batches) for part in "ab"]
    assert await messages(reader, tid) == expected


async def test_a_live_thread_loses_no_acknowledged_line_across_cuts(
    stores: StoreFactory, pg_url: str
) -> None:
    reader = stores()
    tid, count = await acknowledged_across_cuts("live", reader, pg_url, 40)
    assert await messages(reader, tid) == ["start", *(str(n) for n in range(count))]

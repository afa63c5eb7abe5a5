"""One writer per thread across real processes: races, Codex's lock, killed lock holders."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from threadloom import (
    Conflict,
    CreateThreadParams,
    LiveThread,
    LocalThreadStore,
    ThreadId,
    new_thread_id,
)
from threadloom.testing.live_child import make_item

from .forkserver import Event, ForkServer, check_rollout, rollout_of

pytestmark = pytest.mark.process

RACE_ROUNDS = 3
ITEMS = 200
OPEN_ROUNDS = 50
"""Rounds of two processes opening a fresh home at once (the race needs many tries)."""


@pytest.fixture
def server() -> Iterator[ForkServer]:
    s = ForkServer()
    yield s
    s.close()


def params(thread_id: ThreadId) -> CreateThreadParams:
    return CreateThreadParams(
        thread_id=thread_id, cwd="/w", originator="threadloom_tests", cli_version="0.169.0"
    )


async def open_index(home: Path) -> None:
    """Create the home's index, so that a race is about the writer lock only (opening a
    fresh home at once is tested on its own)."""
    store = LocalThreadStore(home)
    await store.close()


async def persisted_thread(home: Path) -> ThreadId:
    """A thread on disk (its session_meta only), with no writer."""
    store = LocalThreadStore(home)
    try:
        live = await LiveThread.create(store, params(new_thread_id()))
        await live.persist()
        await live.shutdown()
    finally:
        await store.close()
    return live.thread_id


def take_job(home: Path, thread_id: str, trial: int, *, create: bool) -> Event:
    return {
        "kind": "take",
        "home": str(home),
        "thread_id": thread_id,
        "trial": trial,
        "create": create,
        "items": ITEMS,
    }


def race(server: ForkServer, jobs: list[Event]) -> tuple[int, Event]:
    """Start two gated workers at the same moment: the winner's trial, the loser's refusal."""
    pids = server.spawn(*jobs, gated=True)
    for pid in pids:
        server.event(pid, "ready")
    server.open_gate()
    outcomes = [server.outcome(pid, "written", "conflict") for pid in pids]
    server.open_gate()
    assert sorted(o["event"] for o in outcomes) == ["conflict", "written"], outcomes
    won = [o["event"] for o in outcomes].index("written")
    server.event(pids[won], "shut_down")
    for pid in pids:
        status, events = server.reap(pid)
        assert os.waitstatus_to_exitcode(status) == 0, events
    return int(jobs[won]["trial"]), outcomes[1 - won]


@pytest.mark.parametrize("create", [False, True], ids=["resume", "create"])
async def test_two_processes_racing_for_one_thread_exactly_one_writes(
    tmp_path: Path, server: ForkServer, create: bool
) -> None:
    for round_ in range(RACE_ROUNDS):
        home = tmp_path / f"round-{round_}"
        await open_index(home)
        tid = new_thread_id() if create else await persisted_thread(home)
        jobs = [take_job(home, tid, 2 * round_ + k, create=create) for k in (1, 2)]
        winner, loser = race(server, jobs)
        refusals = [f"thread {tid} already has an active writer"]
        if create:  # the loser may only see the thread once the winner has written it
            refusals.append(f"thread {tid} already exists")
        assert loser["message"] in refusals
        assert loser["thread_id"] == tid
        path = rollout_of(home, tid)  # one file: the loser created nothing
        assert path is not None
        checked = check_rollout(path, {})
        assert checked.torn_at is None
        assert [line["type"] for line in checked.lines[:1]] == ["session_meta"]
        assert len(checked.lines) == 1 + ITEMS
        # the winner's lines only, all of them, in order, each whole
        assert checked.tags == [(winner, seq) for seq in range(1, ITEMS + 1)]


def test_two_processes_opening_a_fresh_home_at_once_both_get_a_store(
    tmp_path: Path, server: ForkServer
) -> None:
    """The first run on a CODEX_HOME, in two processes at once: neither fails because the
    other is creating the index."""
    for round_ in range(OPEN_ROUNDS):
        home = tmp_path / f"home-{round_}"
        pids = server.spawn(*[{"kind": "open", "home": str(home)}] * 2, gated=True)
        for pid in pids:
            server.event(pid, "ready")
        server.open_gate()
        outcomes = [server.outcome(pid, "opened") for pid in pids]
        for pid in pids:
            server.reap(pid)
        failed = [o for o in outcomes if o["event"] != "opened"]
        assert not failed, f"round {round_}: {failed[0]['message']}\n{failed[0]['traceback']}"


HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    path = sys.argv[1]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(60)
    """
)
"""A Codex-style writer: holds ``thread-writer-locks/<id>.lock`` with an exclusive flock."""


async def test_a_codex_style_lock_holder_gets_a_conflict_until_it_is_killed(
    tmp_path: Path,
) -> None:
    tid = await persisted_thread(tmp_path)
    lock = tmp_path / "thread-writer-locks" / f"{tid}.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True
    )
    store = LocalThreadStore(tmp_path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(Conflict, match=f"thread {tid} already has an active writer") as err:
            await LiveThread.resume(store, tid)
        assert err.value.thread_id == tid
        with pytest.raises(Conflict, match=str(tid)):
            await LiveThread.create(store, params(tid))
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        live = await LiveThread.resume(store, tid)
        await live.append([make_item(1, 1, random.Random(0), paginated=False)])
        await live.shutdown()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
        await store.close()
    path = rollout_of(tmp_path, tid)
    assert path is not None
    assert check_rollout(path, {}).tags == [(1, 1)]


async def test_a_lock_left_by_a_killed_threadloom_writer_blocks_nobody(
    tmp_path: Path, server: ForkServer
) -> None:
    tid = await persisted_thread(tmp_path)
    (holder,) = server.spawn(take_job(tmp_path, tid, 1, create=False))
    server.event(holder, "written")
    # a second writer, in this process or another one, is refused while the holder lives
    store = LocalThreadStore(tmp_path)
    try:
        with pytest.raises(Conflict, match=f"thread {tid} already has an active writer"):
            await LiveThread.resume(store, tid)
        (other,) = server.spawn(take_job(tmp_path, tid, 2, create=False))
        refused = server.event(other, "conflict")
        assert refused["thread_id"] == tid
        assert os.waitstatus_to_exitcode(server.reap(other)[0]) == 0
        server.kill(holder)  # its lock dies with it
        live = await LiveThread.resume(store, tid)
        await live.append([make_item(3, 1, random.Random(0), paginated=False)])
        await live.shutdown()
    finally:
        await store.close()
    path = rollout_of(tmp_path, tid)
    assert path is not None
    checked = check_rollout(path, {})
    assert checked.torn_at is None
    assert checked.tags == [(1, seq) for seq in range(1, ITEMS + 1)] + [(3, 1)]

"""One writer per thread across processes, with Codex's flock; a killed writer blocks nobody."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from threadloom.errors import Conflict
from threadloom.ids import ThreadId
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import (
    GitInfoPatch,
    ReadThreadParams,
    ResumeThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
)

from .rollouts import thread

A = "019a0000-0000-7000-8000-0000000000a1"

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


def hold_lock(home: Path, thread_id: str) -> subprocess.Popen[str]:
    path = home / "thread-writer-locks" / f"{thread_id}.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.process
async def test_a_writer_in_another_process_blocks_writes_but_not_reads(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    path = thread(tmp_path, A)
    before = path.read_bytes()
    holder = hold_lock(tmp_path, A)
    try:
        tid = ThreadId(A)
        with pytest.raises(Conflict, match=f"thread {A} already has an active writer"):
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
        with pytest.raises(Conflict):
            await store.archive_thread(ThreadIdParams(thread_id=tid))
        patch = ThreadMetadataPatch(git=GitInfoPatch(branch="x"))
        with pytest.raises(Conflict):
            await store.update_thread_metadata(
                UpdateThreadMetadataParams(thread_id=tid, patch=patch)
            )
        await store.set_thread_name(SetThreadNameParams(thread_id=tid, name="still works"))
        read = await store.read_thread(ReadThreadParams(thread_id=tid))
        assert read.name == "still works"
        assert path.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.process
async def test_a_killed_writer_does_not_block_the_next_one(
    tmp_path: Path, store: LocalThreadStore
) -> None:
    thread(tmp_path, A)
    holder = hold_lock(tmp_path, A)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    await store.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
    await store.shutdown_thread(ThreadIdParams(thread_id=ThreadId(A)))


async def test_two_writers_in_one_process_conflict(tmp_path: Path) -> None:
    thread(tmp_path, A)
    first = LocalThreadStore(tmp_path, watch=False)
    second = LocalThreadStore(tmp_path, watch=False)
    try:
        await first.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
        with pytest.raises(Conflict):
            await second.resume_thread(ResumeThreadParams(thread_id=ThreadId(A)))
    finally:
        await first.close()
        await second.close()

"""A real write failure (EFBIG past ``RLIMIT_FSIZE``) in a writer process: reported on the
next call and on flush, never swallowed; retried without losing or duplicating a line."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadloom import CreateThreadParams, LiveThread, LocalThreadStore, new_thread_id

from .forkserver import ForkServer, check_rollout, rollout_of

pytestmark = pytest.mark.process


@pytest.fixture
def server() -> Iterator[ForkServer]:
    s = ForkServer()
    yield s
    s.close()


def assert_efbig(error: dict[str, Any] | None, thread_id: str) -> None:
    assert error is not None, "the failed write was not reported"
    assert error["type"] == "WriteFailed"
    assert error["errno"] == errno.EFBIG
    assert error["thread_id"] == thread_id
    assert f"writing thread {thread_id} failed" in error["message"]


async def test_a_failed_write_is_reported_then_retried_without_loss_or_duplicates(
    tmp_path: Path, server: ForkServer
) -> None:
    store = LocalThreadStore(tmp_path)
    try:
        params = CreateThreadParams(
            thread_id=new_thread_id(), cwd="/w", originator="tests", cli_version="0.169.0"
        )
        live = await LiveThread.create(store, params)
        await live.persist()
        await live.shutdown()
    finally:
        await store.close()
    tid = live.thread_id

    (pid,) = server.spawn({"kind": "efbig", "home": str(tmp_path), "thread_id": tid})
    result = server.event(pid, "efbig_result")
    status, events = server.reap(pid)
    assert os.waitstatus_to_exitcode(status) == 0, events

    # flush raised the failure, and raised it again when its retry failed too
    first, second = result["flush_errors"]
    assert_efbig(first, tid)
    assert "4 items are kept" in first["message"]
    assert_efbig(second, tid)
    # the partly written batch was cut back: nothing of it stayed in the file
    assert result["size_after_failure"] == result["size_before_failure"]
    assert result["flush_after_retry"] is None
    # a background failure surfaced on the next append
    assert_efbig(result.get("append_error"), tid)
    assert result["final_flush"] is None

    path = rollout_of(tmp_path, tid)
    assert path is not None
    checked = check_rollout(path, {})  # every line parses: no partial line was left
    assert checked.torn_at is None
    assert [line["type"] for line in checked.lines[:1]] == ["session_meta"]
    accepted = result["accepted"]
    assert accepted == list(range(1, len(accepted) + 1))
    assert checked.tags == [(0, seq) for seq in accepted]
    assert len(checked.lines) == 1 + len(accepted)

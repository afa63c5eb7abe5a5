"""A server crash and restart in the middle of appends loses no acknowledged line, and the
retried appends are applied once. The server is a private one (``private_server``), stopped
as a crash stops it, while a writer process appends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from threadloom import LoadHistoryParams, new_thread_id
from threadloom.ids import ThreadId
from threadloom.store.postgres import PostgresThreadStore

from .child_runner import finish, ready, spawn
from .private_server import PrivateServer

pytestmark = pytest.mark.process
LINES = 60
RESTART_AFTER = 20
PACE_S = 0.02
"""The writer waits this long after each acknowledgement: still writing while restarting."""


@pytest.fixture
def private() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("command", ["keyed", "live"])
async def test_a_crash_restart_loses_no_acknowledged_append(
    private: PrivateServer, command: str
) -> None:
    tid = str(new_thread_id())
    proc = await ready(spawn(command, private.url, "owner", tid, LINES, PACE_S))
    assert proc.stdout is not None
    acks: list[int] = []
    while len(acks) < RESTART_AFTER:
        acks.append(json.loads(await asyncio.to_thread(proc.stdout.readline))["ack"])

    await asyncio.to_thread(private.crash_restart)
    printed = await finish(proc)

    acks += [p["ack"] for p in printed if "ack" in p]
    assert acks == list(range(LINES))
    assert printed[-1]["retries"] > 0, "the restart did not interrupt the writer"
    store = PostgresThreadStore(private.url, owner="owner")
    try:
        history = await store.load_history(LoadHistoryParams(thread_id=ThreadId(tid)))
    finally:
        await store.close()
    got = [line.payload["message"] for line in history.items[1:]]
    if command == "keyed":
        assert got == [f"{n}.{part}" for n in range(LINES) for part in "ab"]
    else:
        assert got == ["start", *(str(n) for n in range(LINES))]

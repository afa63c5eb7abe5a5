"""WriteQueue: ordering, batching, back-pressure, failures and stopping, with a fake writer."""

from __future__ import annotations

import asyncio
import errno

import pytest

from threadloom.errors import Conflict, WriteFailed
from threadloom.live.queue import WriteQueue
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import EVENT_MSG, RolloutLine

THREAD = "01a20133-0000-7000-8000-000000000001"


def line(n: int) -> RolloutLine:
    return RolloutLine(
        timestamp="2025-03-01T10:00:00.000Z",
        type=EVENT_MSG,
        payload={"type": "agent_message", "message": f"m{n}", "phase": None},
    )


def lines(*numbers: int) -> tuple[list[RolloutLine], list[bytes]]:
    items = [line(n) for n in numbers]
    return items, [encode_line(item) for item in items]


def number(item: RolloutLine) -> int:
    return int(item.payload["message"][1:])


class FakeWriter:
    """Records every write; can hold writes at a gate and fail the next ones."""

    def __init__(self) -> None:
        self.writes: list[tuple[list[int], bool]] = []
        self.attempts = 0
        self.gate: asyncio.Event | None = None
        self.in_flight = asyncio.Event()
        self.failures: list[Exception] = []

    def hold(self) -> None:
        self.gate = asyncio.Event()

    def release(self) -> None:
        assert self.gate is not None
        self.gate.set()
        self.gate = None

    async def write(self, batch: list[RolloutLine], encoded: list[bytes], sync: bool) -> None:
        assert encoded == [encode_line(item) for item in batch]
        self.attempts += 1
        self.in_flight.set()
        gate = self.gate
        if gate is not None:
            await gate.wait()
        self.in_flight.clear()
        if self.failures:
            raise self.failures.pop(0)
        self.writes.append(([number(item) for item in batch], sync))

    @property
    def written(self) -> list[int]:
        return [n for batch, _ in self.writes for n in batch]


async def settle() -> None:
    """Let every ready task run until nothing is left to do."""
    for _ in range(20):
        await asyncio.sleep(0)


def queue(writer: FakeWriter, **limits: int) -> WriteQueue:
    return WriteQueue(THREAD, writer.write, **limits)


# --- ordering and batching ------------------------------------------------------------------
async def test_lines_are_written_in_put_order() -> None:
    writer = FakeWriter()
    q = queue(writer)

    for start in range(0, 30, 3):
        await q.put(*lines(start, start + 1, start + 2))
        if start % 9 == 0:
            await settle()
    await q.wait(durable=False)

    assert writer.written == list(range(30))
    assert (q.accepted, q.written, q.pending) == (30, 30, 0)


async def test_put_returns_before_anything_is_written() -> None:
    writer = FakeWriter()
    q = queue(writer)

    await q.put(*lines(1, 2))

    assert writer.attempts == 0
    assert q.pending == 2
    await q.wait(durable=False)
    assert writer.written == [1, 2]


async def test_batches_never_exceed_max_batch() -> None:
    writer = FakeWriter()
    q = queue(writer, max_batch=4)

    await q.put(*lines(*range(10)))
    await q.put(*lines(10))
    await q.wait(durable=False)

    assert [batch for batch, _ in writer.writes] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]


async def test_puts_during_a_write_coalesce_into_one_batch() -> None:
    writer = FakeWriter()
    q = queue(writer)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()

    for n in range(1, 6):
        await q.put(*lines(n))
    writer.release()
    await q.wait(durable=False)

    assert [batch for batch, _ in writer.writes] == [[0], [1, 2, 3, 4, 5]]


async def test_an_empty_put_is_a_no_op() -> None:
    writer = FakeWriter()
    q = queue(writer)

    await q.put([], [])
    await q.wait(durable=True)

    assert writer.attempts == 0
    assert q.accepted == 0


# --- back-pressure ----------------------------------------------------------------------------
async def test_put_waits_while_the_queue_is_full() -> None:
    writer = FakeWriter()
    q = queue(writer, max_pending=2)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()
    await q.put(*lines(1))

    blocked = asyncio.create_task(q.put(*lines(2)))
    await settle()
    assert not blocked.done()
    assert q.pending == 2

    writer.release()
    await blocked
    await q.wait(durable=False)
    assert writer.written == [0, 1, 2]


async def test_waiting_puts_are_admitted_in_arrival_order() -> None:
    writer = FakeWriter()
    q = queue(writer, max_pending=2)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()
    await q.put(*lines(1))

    big = asyncio.create_task(q.put(*lines(2, 3)))
    await settle()
    small = asyncio.create_task(q.put(*lines(4)))  # would fit sooner, but arrived later
    await settle()
    assert not big.done()
    assert not small.done()

    writer.release()
    await asyncio.gather(big, small)
    await q.wait(durable=False)
    assert writer.written == [0, 1, 2, 3, 4]


async def test_a_put_arriving_while_others_wait_goes_behind_them() -> None:
    """Every put, waiting or not, is written in the order it was called."""
    writer = FakeWriter()
    q = queue(writer, max_pending=3)
    calls: list[int] = []

    async def producer(first: int) -> None:
        for n in range(first, first + 40):
            calls.append(n)
            await q.put(*lines(n))
            await asyncio.sleep(0)

    await asyncio.gather(*(producer(base) for base in range(0, 400, 40)))
    await q.wait(durable=False)

    assert sorted(writer.written) == sorted(calls)
    assert writer.written == calls


async def test_a_put_larger_than_the_byte_limit_is_admitted_alone() -> None:
    writer = FakeWriter()
    q = queue(writer, max_pending_bytes=10)

    await q.put(*lines(0, 1, 2))  # far beyond 10 bytes, but the queue is empty
    assert q.pending == 3
    writer.hold()
    blocked = asyncio.create_task(q.put(*lines(3)))
    await settle()
    assert not blocked.done()

    writer.release()
    await blocked
    await q.wait(durable=False)
    assert writer.written == [0, 1, 2, 3]


# --- failures -------------------------------------------------------------------------------
async def test_a_failure_is_reported_once_then_retried() -> None:
    writer = FakeWriter()
    q = queue(writer)
    error = OSError(errno.EIO, "disk went away")
    writer.failures.append(error)

    await q.put(*lines(0, 1))
    await settle()
    assert writer.attempts == 1
    assert q.pending == 2

    with pytest.raises(WriteFailed) as info:
        await q.put(*lines(2))
    assert info.value.cause is error
    assert info.value.thread_id == THREAD
    assert info.value.pending == 2
    await settle()
    assert writer.attempts == 1, "nothing is retried before the next call"

    q.check()  # reported once: nothing more to raise
    await q.put(*lines(2))
    await q.wait(durable=False)
    assert writer.written == [0, 1, 2]
    assert [batch for batch, _ in writer.writes] == [[0, 1, 2]]


async def test_a_failure_is_raised_to_every_wait_in_progress() -> None:
    writer = FakeWriter()
    q = queue(writer)
    error = OSError(errno.ENOSPC, "no space left")
    writer.failures.append(error)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()
    waits = [asyncio.create_task(q.wait(durable=d)) for d in (False, True)]
    await settle()

    writer.release()
    results = await asyncio.gather(*waits, return_exceptions=True)

    assert all(isinstance(r, WriteFailed) and r.cause is error for r in results)
    q.check()  # the waits were told: the next caller is not
    await q.wait(durable=True)
    assert writer.written == [0]
    assert q.durable == 1


async def test_the_failure_chains_its_cause() -> None:
    writer = FakeWriter()
    q = queue(writer)
    error = OSError(errno.EIO, "disk went away")
    writer.failures.append(error)
    await q.put(*lines(0))
    await settle()

    with pytest.raises(WriteFailed) as info:
        q.check()

    assert info.value.__cause__ is error


async def test_repeated_failures_keep_every_line_in_order() -> None:
    writer = FakeWriter()
    q = queue(writer, max_batch=2)
    writer.failures.extend(OSError(errno.EIO, f"failure {n}") for n in range(3))
    expected: list[int] = []
    reported = 0

    for n in range(10):
        while True:
            try:
                await q.put(*lines(n))
                break
            except WriteFailed:
                reported += 1
        expected.append(n)
        await settle()
    while True:
        try:
            await q.wait(durable=True)
            break
        except WriteFailed:
            reported += 1

    assert reported == 3
    assert writer.written == expected


# --- durability -------------------------------------------------------------------------------
async def test_a_durable_wait_makes_the_last_write_a_sync_write() -> None:
    writer = FakeWriter()
    q = queue(writer)

    await q.put(*lines(0, 1))
    await q.wait(durable=True)

    assert writer.writes == [([0, 1], True)]
    assert (q.written, q.durable) == (2, 2)


async def test_a_durable_wait_after_plain_writes_syncs_without_lines() -> None:
    writer = FakeWriter()
    q = queue(writer)

    await q.put(*lines(0))
    await q.wait(durable=False)
    await q.wait(durable=True)
    await q.wait(durable=True)  # already durable: nothing more to do

    assert writer.writes == [([0], False), ([], True)]


async def test_a_durable_wait_over_several_batches_syncs_the_last_one() -> None:
    writer = FakeWriter()
    q = queue(writer, max_batch=2)

    await q.put(*lines(0, 1, 2, 3, 4))
    await q.wait(durable=True)

    assert writer.writes == [([0, 1], False), ([2, 3], False), ([4], True)]


# --- stopping ---------------------------------------------------------------------------------
async def test_stop_drops_the_unwritten_and_refuses_further_use() -> None:
    writer = FakeWriter()
    q = queue(writer)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()
    await q.put(*lines(1, 2))
    waiting = asyncio.create_task(q.wait(durable=False))
    await settle()

    stopping = asyncio.create_task(q.stop("discarded"))
    await settle()
    assert not stopping.done(), "stop lets the write in progress end"
    writer.release()
    await stopping
    await q.stop("shut down")  # idempotent; the first reason stays

    with pytest.raises(Conflict, match="was discarded"):
        await waiting
    assert writer.written == [0]
    assert q.pending == 0
    with pytest.raises(Conflict, match=f"thread {THREAD} was discarded"):
        await q.put(*lines(3))
    with pytest.raises(Conflict):
        await q.wait(durable=True)
    with pytest.raises(Conflict):
        q.check()
    await settle()
    assert writer.written == [0]


async def test_stop_releases_puts_waiting_for_room() -> None:
    writer = FakeWriter()
    q = queue(writer, max_pending=1)
    writer.hold()
    await q.put(*lines(0))
    await writer.in_flight.wait()
    blocked = asyncio.create_task(q.put(*lines(1)))
    await settle()

    stopping = asyncio.create_task(q.stop("shut down"))
    await settle()
    writer.release()
    await stopping

    with pytest.raises(Conflict):
        await blocked
    assert writer.written == [0]

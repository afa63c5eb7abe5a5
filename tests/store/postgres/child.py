"""A writer process for the multi-process tests: ``python child.py COMMAND URL OWNER …``.

Commands (each prints JSON lines on stdout, flushed, as it goes):

* ``own THREADS N`` creates the threads and appends ``N`` lines to each, every thread from its
  own task, all at once; prints ``{"done": true}``.
* ``contend THREADS ROUNDS NAME GO`` connects, prints ``{"ready": true}``, waits until the
  file ``GO`` exists (so that every contender starts at once), then takes turns with other
  processes on shared threads: each round, for each thread, waits until it can resume it
  (counting the Conflicts met), appends three lines one call at a time, and shuts it down.
* ``race THREAD START HOLD`` at wall-clock time ``START`` tries to resume the thread
  (creating it when it does not exist); prints whether it won, and a winner holds the
  thread for ``HOLD`` seconds (then waits until it is killed when ``HOLD`` is negative).
* ``keyed THREAD N [PACE]`` creates the thread (prints ``{"ready": true}``), then appends ``N``
  batches with idempotency keys, each retried with its key after any Unavailable error until
  acknowledged; prints ``{"ack": i}`` per batch, then how many calls were retried. ``PACE``:
  seconds to wait after each acknowledgement.
* ``live THREAD N [PACE]`` starts a LiveThread (prints ``{"ready": true}``), then appends ``N``
  lines, flushing after each and retrying after a WriteFailed; prints ``{"ack": i}`` once
  line ``i`` is durable, then how many calls were retried.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from threadloom import (
    AppendItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    LiveThread,
    NotFound,
    ResumeThreadParams,
    ThreadIdParams,
    Unavailable,
    WriteFailed,
)
from threadloom.ids import ThreadId
from threadloom.protocol.rollout import EVENT_MSG, RolloutLine
from threadloom.store.postgres import PostgresThreadStore

LEASE_S = 1.0


def say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def line(text: str, kind: str = "agent_message") -> RolloutLine:
    return RolloutLine(
        timestamp="2025-03-01T10:00:00.000Z",
        type=EVENT_MSG,
        payload={"type": kind, "message": text},
    )


def create(thread_id: str) -> CreateThreadParams:
    return CreateThreadParams(
        thread_id=ThreadId(thread_id), cwd="/w", originator="test", cli_version="0.169.0"
    )


async def own(store: PostgresThreadStore, threads: list[str], count: int) -> None:
    async def write(thread_id: str) -> None:
        live = await LiveThread.create(store, create(thread_id))
        await live.append([line(f"{thread_id} start", "user_message")])
        await live.flush()
        await live.shutdown()
        await store.resume_thread(ResumeThreadParams(thread_id=ThreadId(thread_id)))
        for n in range(count):
            item = AppendItemsParams(thread_id=ThreadId(thread_id), items=[line(str(n))])
            await store.append_items(item)
            await asyncio.sleep(random.random() / 1000)
        await store.shutdown_thread(ThreadIdParams(thread_id=ThreadId(thread_id)))

    await asyncio.gather(*(write(t) for t in threads))
    say(done=True)


async def contend(
    store: PostgresThreadStore, threads: list[str], rounds: int, name: str, go: Path
) -> None:
    await store.list_threads(ListThreadsParams(limit=1))  # connected and upgraded
    say(ready=True)
    while not go.exists():
        await asyncio.sleep(0.01)
    conflicts = 0
    for round_ in range(rounds):
        order = list(threads)
        random.shuffle(order)
        for thread_id in order:
            tid = ThreadId(thread_id)
            while True:
                try:
                    await store.resume_thread(ResumeThreadParams(thread_id=tid))
                    break
                except Conflict:
                    conflicts += 1
                    await asyncio.sleep(random.random() / 200)
            for part in range(3):
                text = f"{name}:{round_}:{part}"
                await store.append_items(AppendItemsParams(thread_id=tid, items=[line(text)]))
                await asyncio.sleep(random.random() / 500)
            await store.shutdown_thread(ThreadIdParams(thread_id=tid))
    say(conflicts=conflicts)


async def race(store: PostgresThreadStore, thread_id: str, start: float, hold: float) -> None:
    tid = ThreadId(thread_id)
    await asyncio.sleep(max(0.0, start - time.time()))
    try:
        try:
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
        except NotFound:  # not there yet: whoever comes first creates it
            await store.create_thread(create(thread_id))
    except Conflict:
        say(won=False)
        return
    await store.append_items(AppendItemsParams(thread_id=tid, items=[line("winner")]))
    say(won=True)
    await asyncio.sleep(hold if hold >= 0 else 3600)
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))


async def keyed(store: PostgresThreadStore, thread_id: str, count: int, pace: float) -> None:
    tid = ThreadId(thread_id)
    await store.create_thread(create(thread_id))
    say(ready=True)
    retries = 0
    for n in range(count):
        batch = AppendItemsParams(
            thread_id=tid, items=[line(f"{n}.a"), line(f"{n}.b")], idempotency_key=f"batch-{n}"
        )
        while True:
            try:
                await store.append_items(batch)
                break
            except Unavailable:
                retries += 1
                await asyncio.sleep(0.01)
        say(ack=n)
        await asyncio.sleep(pace)
    while True:
        try:
            await store.shutdown_thread(ThreadIdParams(thread_id=tid))
            break
        except Unavailable:
            await asyncio.sleep(0.01)
    say(done=True, retries=retries)


async def live(store: PostgresThreadStore, thread_id: str, count: int, pace: float) -> None:
    thread = await LiveThread.create(store, create(thread_id))
    await thread.append([line("start", "user_message")])
    await thread.flush()
    say(ready=True)
    retries = 0
    for n in range(count):
        item = [line(str(n))]

        async def append(item: list[RolloutLine] = item) -> None:
            await thread.append(item)

        retries += await _retry(append)
        retries += await _retry(thread.flush)
        say(ack=n)
        await asyncio.sleep(pace)
    await _retry(thread.shutdown)
    say(done=True, retries=retries)


async def _retry(action: Callable[[], Awaitable[None]]) -> int:
    """Run ``action`` until it does not fail (a write failed in the background is reported
    once, to the next call, as WriteFailed; the queue keeps its lines and retries); how many
    times it failed."""
    for failures in range(1000):
        try:
            await action()
            return failures
        except (WriteFailed, Unavailable):
            await asyncio.sleep(0.01)
    raise RuntimeError("never succeeded")


async def main(argv: list[str]) -> None:
    command, url, owner, *args = argv
    store = PostgresThreadStore(url, owner=owner, writer_lease_s=LEASE_S, max_pool_size=4)
    try:
        if command == "own":
            await own(store, args[0].split(","), int(args[1]))
        elif command == "contend":
            await contend(store, args[0].split(","), int(args[1]), args[2], Path(args[3]))
        elif command == "race":
            await race(store, args[0], float(args[1]), float(args[2]))
        elif command == "keyed":
            await keyed(store, args[0], int(args[1]), float(args[2]) if len(args) > 2 else 0)
        elif command == "live":
            await live(store, args[0], int(args[1]), float(args[2]) if len(args) > 2 else 0)
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

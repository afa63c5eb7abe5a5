"""A fork server whose workers write live threads, for the real-process tests of LiveThread.

::

    python -m threadloom.testing.live_child serve

imports threadloom once, then reads one JSON command a line on stdin. Each ``spawn`` forks
workers that run their job on a fresh event loop with their own ``LocalThreadStore``. The
server and its workers answer with JSON event lines on stdout, each line one ``write`` shorter
than ``PIPE_BUF`` (so lines of different processes never mix); every event names its ``pid``.

Commands (the server's answer in brackets):

* ``{"op": "spawn", "jobs": [job, ...], "gated": bool}`` [``spawned`` with ``pids``]: fork one
  worker per job. Gated workers get two gates: they wait at the first before acting and at
  the second before shutting down.
* ``{"op": "open_gate"}`` [``gate_opened``]: open the oldest closed gate of the last gated
  spawn (every worker waiting at it goes at once).
* ``{"op": "reap", "pid": n}`` [``reaped`` with ``status``, the raw wait status]: wait for a
  worker; every line it wrote comes before this answer.

Jobs (``kind``):

* ``loop``: create (``create``) or resume the thread and report ``ready``, then append tagged
  batches (1-20 lines, some of ``LARGE_ITEM`` bytes) and flush, reporting ``flushed``
  (``trial``, ``seq``: the last item whose flush returned) until ``max_items`` are written;
  then idle until killed. ``huge``: first write one line that long, reporting ``writing``
  once it is queued, before its flush.
* ``take``: (at the first gate) resume the thread, or create it and ``persist``; append
  ``items`` tagged lines, flush, report ``written``; hold the thread (until the second gate,
  ungated: until killed), then shut down and report ``shut_down``. A ``Conflict`` is reported
  as ``conflict`` (the worker then waits for the second gate, if any, and exits).
* ``open``: (at the first gate) open a store on the home and list its threads; report
  ``opened``.
* ``efbig``: resume the thread and write under a low ``RLIMIT_FSIZE`` (real ``EFBIG``
  failures), then under the normal limit; report what each call raised and every line the
  thread accepted (``efbig_result``).

Every item a worker writes carries a tag ``[t=<trial> s=<seq>]`` (``item_tag`` reads it).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import random
import re
import resource
import signal
import sys
import traceback
from typing import Any

from threadloom import (
    Conflict,
    CreateThreadParams,
    HistoryMode,
    ListThreadsParams,
    LiveThread,
    LocalThreadStore,
    RolloutLine,
    ThreadId,
    WriteFailed,
)
from threadloom.protocol.codec import format_timestamp

LARGE_ITEM = 64 * 1024
"""Size of the padding of a large item: big enough for a kill to land inside its write."""
TAG = re.compile(rb"\[t=(\d+) s=(\d+)\]")
TOKENS = re.compile(rb'"total_token_usage":\{[^}]*"total_tokens":(\d+)')
TOKEN_BASE = 1_000_000
"""A token count's ``total_tokens`` is its tag: ``trial * TOKEN_BASE + seq``."""
T0_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: the timestamp of every generated line (lines need not be recent)."""

Job = dict[str, Any]
Event = dict[str, Any]


def emit(event: Event) -> None:
    """Write one event line to stdout in a single ``write``."""
    data = json.dumps({"pid": os.getpid(), **event}, separators=(",", ":")).encode() + b"\n"
    assert len(data) < 4096, "event lines must stay below PIPE_BUF"
    os.write(1, data)


def tag(trial: int, seq: int) -> str:
    return f"[t={trial} s={seq}]"


def item_tag(raw_line: bytes) -> tuple[int, int] | None:
    """The ``(trial, seq)`` tag of a line this module wrote, or None."""
    found = TAG.search(raw_line)
    if found:
        return int(found[1]), int(found[2])
    tokens = TOKENS.search(raw_line)
    if tokens:
        trial, seq = divmod(int(tokens[1]), TOKEN_BASE)
        return trial, seq
    return None


def user_text(trial: int, seq: int) -> str:
    """The text of the user message that starts each trial."""
    return f"kill trial {trial} begins {tag(trial, seq)}"


def make_item(
    trial: int, seq: int, rng: random.Random, *, paginated: bool, pad: int = 0
) -> RolloutLine:
    """One tagged line: a user message for ``seq == 1``, else a token count or a response item
    whose text is padded with ``pad`` bytes."""
    stamp = format_timestamp(T0_MS + seq)
    if seq == 1:
        text = user_text(trial, seq)
        if paginated:
            item = {
                "type": "UserMessage",
                "id": f"u{trial}",
                "content": [{"type": "text", "text": text}],
            }
            payload: dict[str, Any] = {
                "type": "item_completed",
                "turn_id": f"turn-{trial}",
                "item": item,
            }
        else:
            payload = {"type": "user_message", "message": text, "images": []}
        return RolloutLine(timestamp=stamp, type="event_msg", payload=payload)
    text = f"{tag(trial, seq)} {'x' * pad}"
    choice = rng.randrange(8)
    if choice == 7:
        usage = {"input_tokens": seq, "output_tokens": 0, "total_tokens": trial * TOKEN_BASE + seq}
        info = {"total_token_usage": usage, "last_token_usage": usage, "model_context_window": 1}
        payload = {"type": "token_count", "info": info, "rate_limits": None}
        return RolloutLine(timestamp=stamp, type="event_msg", payload=payload)
    if choice < 3:
        payload = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }
    elif choice < 5:
        payload = {
            "type": "function_call",
            "name": "shell",
            "arguments": json.dumps({"cmd": text}),
            "call_id": f"call-{trial}-{seq}",
        }
    else:
        payload = {"type": "function_call_output", "call_id": f"call-{trial}-{seq}", "output": text}
    return RolloutLine(timestamp=stamp, type="response_item", payload=payload)


def setup_line() -> RolloutLine:
    """A turn context: not worth keeping alone, buffered until the thread materialises."""
    payload = {"cwd": "/w", "model": "gpt-5.1-codex", "effort": "high", "summary": "auto"}
    return RolloutLine(timestamp=format_timestamp(T0_MS), type="turn_context", payload=payload)


def create_params(job: Job) -> CreateThreadParams:
    return CreateThreadParams(
        thread_id=ThreadId(job["thread_id"]),
        cwd="/w",
        originator="threadloom_live_child",
        cli_version="0.169.0",
        created_at_ms=job.get("created_at_ms"),
        history_mode=HistoryMode(job.get("history_mode", "legacy")),
    )


# --- jobs -------------------------------------------------------------------------------
async def run_loop(job: Job, gates: list[int]) -> None:
    trial = int(job["trial"])
    rng = random.Random(f"{job['seed']}-{trial}")
    paginated = job.get("history_mode") == HistoryMode.PAGINATED.value
    store = LocalThreadStore(job["home"])
    if job["create"]:
        live = await LiveThread.create(store, create_params(job))
        await live.append([setup_line()])
    else:
        live = await LiveThread.resume(store, job["thread_id"])
    emit({"event": "ready"})
    seq = 0
    huge = int(job.get("huge", 0))
    if huge:  # a line so long that a kill lands inside its write
        await live.append([make_item(trial, 1, rng, paginated=paginated)])
        await live.append([make_item(trial, 2, rng, paginated=paginated, pad=huge)])
        emit({"event": "writing", "trial": trial, "seq": 2})
        await live.flush()
        seq = 2
        emit({"event": "flushed", "trial": trial, "seq": seq})
    while seq < job["max_items"]:
        count = rng.randint(1, 20)
        batch = []
        for _ in range(count):
            seq += 1
            large = rng.random() < job.get("large_ratio", 0.05)
            pad = LARGE_ITEM if large else rng.randrange(0, 300)
            batch.append(make_item(trial, seq, rng, paginated=paginated, pad=pad))
        await live.append(batch)
        await live.flush()
        emit({"event": "flushed", "trial": trial, "seq": seq})
    emit({"event": "idle"})
    await asyncio.sleep(3600)


async def run_take(job: Job, gates: list[int]) -> None:
    trial = int(job["trial"])
    store = LocalThreadStore(job["home"])
    emit({"event": "ready"})
    if gates:
        wait_gate(gates[0])
    try:
        if job["create"]:
            live = await LiveThread.create(store, create_params(job))
            await live.persist()
        else:
            live = await LiveThread.resume(store, job["thread_id"])
    except Conflict as exc:
        emit({"event": "conflict", "message": str(exc), "thread_id": exc.thread_id})
        if gates:
            wait_gate(gates[1])
        return
    rng = random.Random(trial)
    for first in range(1, job["items"] + 1, 10):
        last = min(first + 10, job["items"] + 1)
        await live.append(
            [make_item(trial, seq, rng, paginated=False, pad=200) for seq in range(first, last)]
        )
    await live.flush()
    emit({"event": "written", "count": job["items"]})
    if not gates:
        signal.pause()  # hold the thread until killed
    wait_gate(gates[1])
    await live.shutdown()
    emit({"event": "shut_down"})


def wait_gate(gate: int) -> None:
    """Block until the server opens this gate (closes its end of the pipe)."""
    while os.read(gate, 1):
        pass


async def run_efbig(job: Job, gates: list[int]) -> None:
    store = LocalThreadStore(job["home"])
    live = await LiveThread.resume(store, job["thread_id"])
    path = live.rollout_path
    assert path is not None
    rng = random.Random(0)
    seq = 0
    accepted: list[int] = []
    result: Event = {"event": "efbig_result"}

    def items(*large: bool) -> list[tuple[int, RolloutLine]]:
        nonlocal seq
        out = []
        for big in large:
            seq += 1
            pad = LARGE_ITEM if big else 100
            out.append((seq, make_item(0, seq, rng, paginated=False, pad=pad)))
        return out

    async def append(tagged: list[tuple[int, RolloutLine]]) -> None:
        await live.append([line for _, line in tagged])
        accepted.extend(seq for seq, _ in tagged)

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    # 1. flush reports the failure, a second flush retries (and fails again), then succeeds
    before = os.stat(path).st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (before + 3000, hard))
    await append(items(False, False, True, False))
    result["flush_errors"] = [await failure(live.flush()), await failure(live.flush())]
    result["size_after_failure"] = os.stat(path).st_size
    result["size_before_failure"] = before
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    result["flush_after_retry"] = await failure(live.flush())

    # 2. a background failure surfaces on the next append; re-appending what it refused
    #    after the limit is back loses and duplicates nothing
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.stat(path).st_size + 3000, hard))
    await append(items(True))
    refused: list[tuple[int, RolloutLine]] = []
    for _ in range(5000):
        await asyncio.sleep(0.001)
        lines = items(False)
        try:
            await append(lines)
        except WriteFailed as exc:
            result["append_error"] = describe(exc)
            refused = lines
            break
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    await append(refused)
    await append(items(False, True))
    result["final_flush"] = await failure(live.flush())
    await live.shutdown()
    result["accepted"] = accepted
    emit(result)


def describe(exc: BaseException) -> Event:
    """What a test needs to know of an error raised in a worker."""
    out: Event = {"type": type(exc).__name__, "message": str(exc)[:500]}
    if isinstance(exc, WriteFailed):
        cause = exc.cause
        out["thread_id"] = exc.thread_id
        out["errno"] = cause.errno if isinstance(cause, OSError) else None
        out["errno_name"] = errno.errorcode.get(out["errno"] or 0)
    return out


async def failure(call: Any) -> Event | None:
    """Await ``call``; None if it returned, else a description of what it raised."""
    try:
        await call
    except Exception as exc:
        return describe(exc)
    return None


async def run_open(job: Job, gates: list[int]) -> None:
    emit({"event": "ready"})
    if gates:
        wait_gate(gates[0])
    store = LocalThreadStore(job["home"])
    try:
        page = await store.list_threads(ListThreadsParams())
    finally:
        await store.close()
    emit({"event": "opened", "threads": len(page.items)})


JOBS = {"loop": run_loop, "take": run_take, "efbig": run_efbig, "open": run_open}


# --- the server -------------------------------------------------------------------------
def work(job: Job, gates: list[int]) -> None:
    """The body of a forked worker: run the job on a fresh event loop, then exit (never
    return into the server's loop)."""
    code = 1
    try:
        asyncio.run(JOBS[job["kind"]](job, gates))
        code = 0
    except BaseException as exc:
        emit({"event": "error", **describe(exc), "traceback": traceback.format_exc()[-1500:]})
    finally:
        os._exit(code)


def serve() -> None:
    """Answer commands from stdin until it closes; reap workers still running at the end."""
    gates: list[int] = []  # write ends of the last gated spawn's gates, still closed
    children: set[int] = set()
    for raw in sys.stdin.buffer:
        command = json.loads(raw)
        op = command["op"]
        if op == "spawn":
            reads: list[int] = []
            if command.get("gated"):
                for fd in gates:
                    os.close(fd)
                gates = []
                for _ in range(2):
                    r, w = os.pipe()
                    reads.append(r)
                    gates.append(w)
            pids = []
            for job in command["jobs"]:
                pid = os.fork()
                if pid == 0:
                    for fd in gates:
                        os.close(fd)
                    devnull = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(devnull, 0)
                    work(job, reads)
                children.add(pid)
                pids.append(pid)
            for fd in reads:
                os.close(fd)
            emit({"event": "spawned", "pids": pids})
        elif op == "open_gate":
            os.close(gates.pop(0))
            emit({"event": "gate_opened"})
        elif op == "reap":
            pid = int(command["pid"])
            _, status = os.waitpid(pid, 0)
            children.discard(pid)
            emit({"event": "reaped", "reaped": pid, "status": status})
        else:
            emit({"event": "error", "type": "InvalidRequest", "message": f"unknown op {op}"})
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def main(argv: list[str]) -> int:
    if argv != ["serve"]:
        print("usage: python -m threadloom.testing.live_child serve", file=sys.stderr)
        return 2
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

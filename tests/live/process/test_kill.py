"""SIGKILL a real writer process at random moments: nothing it flushed is ever lost.

A fork server (``threadloom.testing.live_child``) forks one worker per trial; the worker
resumes the thread (creating it first, while nothing is on disk), appends tagged batches and
reports each flush that returned, until the test kills it. After every kill the file is read
strictly; every ``INDEX_EVERY`` trials it is read whole and through a fresh store (index).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from threadloom import (
    HistoryMode,
    ListThreadsParams,
    LiveThread,
    LoadHistoryParams,
    LocalThreadStore,
    ReadThreadParams,
    RolloutLine,
    new_thread_id,
    parse_thread_id,
)
from threadloom.protocol.codec import encode_line
from threadloom.store.local.layout import INDEX_DIR, INDEX_FILE
from threadloom.store.local.reader import iter_lines
from threadloom.testing.live_child import T0_MS, item_tag, make_item, user_text

from .forkserver import Checked, Event, ForkServer, check_rollout, rollout_of

pytestmark = pytest.mark.process

KILL_TRIALS = 60
"""Kill trials per history mode (two modes: 120 in the suite)."""
MAX_KILL_DELAY = 0.040
INDEX_EVERY = 10
HUGE_LINE = 8 << 20
"""A line long enough (8 MiB) for a kill to land inside its write."""


@pytest.fixture
def server() -> Iterator[ForkServer]:
    s = ForkServer()
    yield s
    s.close()


def tags_of(lines: list[RolloutLine]) -> list[tuple[int, int]]:
    return [t for t in (item_tag(encode_line(line)) for line in lines) if t is not None]


@dataclass
class Ledger:
    """What the test knows of one thread's file across trials."""

    home: Path
    thread_id: str
    fragments: dict[int, bytes] = field(default_factory=dict)
    """Torn last lines left by kills: offset -> bytes."""
    checked_to: int = 0
    """The end of the last complete line checked."""
    tags: list[tuple[int, int]] = field(default_factory=list)
    metas: int = 0
    flushed: dict[int, int] = field(default_factory=dict)
    """Per trial, the last seq whose flush returned."""

    @property
    def path(self) -> Path | None:
        return rollout_of(self.home, self.thread_id)

    def materialized(self) -> bool:
        path = self.path
        return path is not None and b"\n" in path.read_bytes()[:4096]

    def check(self) -> Checked:
        """Check what was written since the last check; return the new part."""
        path = self.path
        if path is None:
            return Checked()
        new = check_rollout(path, self.fragments, start=self.checked_to)
        if new.torn_at is not None:
            with path.open("rb") as f:
                f.seek(new.torn_at)
                fragment = f.read()
            known = self.fragments.setdefault(new.torn_at, fragment)
            assert known == fragment, "a torn last line changed without being closed"
        if not self.checked_to and new.lines:
            assert new.lines[0]["type"] == "session_meta", new.lines[0]
        self.metas += sum(line["type"] == "session_meta" for line in new.lines)
        assert self.metas <= 1, "the thread was created twice"
        self.tags.extend(new.tags)
        self.checked_to = new.end
        assert_ordered(self.tags, self.flushed)
        return new

    def check_whole(self) -> Checked:
        """Read the whole file again, strictly and with threadloom's reader."""
        path = self.path
        assert path is not None
        whole = check_rollout(path, self.fragments)
        assert whole.tags == self.tags
        assert whole.end == self.checked_to
        lines = list(iter_lines(path))  # skips the torn lines, and nothing else
        assert len(lines) == len(whole.lines)
        assert tags_of(lines) == whole.tags
        return whole


def assert_ordered(tags: list[tuple[int, int]], flushed: dict[int, int]) -> None:
    """Each trial's items appear once, in order, from seq 1 without gaps; trials in order;
    every item whose flush returned is there."""
    written: dict[int, int] = {}
    previous = (-1, 0)
    for trial, seq in tags:
        if trial == previous[0]:
            assert seq == previous[1] + 1, f"after {previous}: {(trial, seq)}"
        else:
            assert trial > previous[0], f"after {previous}: {(trial, seq)}"
            assert seq == 1, f"trial {trial} starts at seq {seq}"
        written[trial] = seq
        previous = (trial, seq)
    for trial, seq in flushed.items():
        assert written.get(trial, 0) >= seq, f"trial {trial}: flushed {seq}, on disk {written}"


async def check_index(ledger: Ledger, whole: Checked) -> None:
    """A fresh store on the home (its index possibly left mid-transaction) agrees with the
    file: item count, tags, preview, listing, tail."""
    assert (ledger.home / INDEX_DIR / INDEX_FILE).exists()
    first_trial = whole.tags[0][0]
    store = LocalThreadStore(ledger.home)
    try:
        tid = parse_thread_id(ledger.thread_id)
        read = await store.read_thread(ReadThreadParams(thread_id=tid, include_history=True))
        assert read.history is not None
        assert len(read.history.items) == len(whole.lines)
        assert tags_of(read.history.items) == whole.tags
        assert read.rollout_path == str(ledger.path)
        assert read.preview == user_text(first_trial, 1)
        counts = [line for line in whole.lines if line["payload"].get("type") == "token_count"]
        tokens = (
            counts[-1]["payload"]["info"]["total_token_usage"]["total_tokens"] if counts else None
        )
        assert read.tokens_used == tokens  # the index scanned every line, across every kill
        page = await store.list_threads(ListThreadsParams())
        listed = [(t.thread_id, t.preview, t.tokens_used) for t in page.items]
        assert listed == [(tid, read.preview, tokens)]
        tail = await store.load_history(LoadHistoryParams(thread_id=tid, last=3))
        assert [line.timestamp for line in tail.items] == [
            line["timestamp"] for line in whole.lines[-3:]
        ]
        assert tags_of(tail.items) == tags_of(read.history.items[-3:])
    finally:
        await store.close()


def loop_job(ledger: Ledger, trial: int, mode: HistoryMode, **extra: object) -> Event:
    return {
        "kind": "loop",
        "home": str(ledger.home),
        "thread_id": ledger.thread_id,
        "trial": trial,
        "seed": 7,
        "create": not ledger.materialized(),
        "created_at_ms": T0_MS,
        "history_mode": mode.value,
        "max_items": 1_000_000,
        "large_ratio": 0.02,
        **extra,
    }


def run_trial(
    server: ForkServer, ledger: Ledger, job: Event, delay: float, *, wait: str | None = "ready"
) -> list[Event]:
    """Fork a worker, SIGKILL it ``delay`` seconds after spawning it or after its ``wait``
    event; note the last seq whose flush returned."""
    (pid,) = server.spawn(job)
    events = [] if wait is None else [server.event(pid, wait)]
    if delay:
        time.sleep(delay)
    events += server.kill(pid)
    seqs = [e["seq"] for e in events if e["event"] == "flushed"]
    ledger.flushed[job["trial"]] = max(seqs, default=0)
    return events


@pytest.mark.parametrize("mode", [HistoryMode.LEGACY, HistoryMode.PAGINATED])
async def test_sigkill_at_random_moments_loses_nothing_flushed(
    tmp_path: Path, server: ForkServer, mode: HistoryMode
) -> None:
    ledger = Ledger(tmp_path, str(new_thread_id()))
    rng = random.Random(f"kill-{mode}")
    started = 0
    for trial in range(KILL_TRIALS):
        wait = "ready" if rng.random() < 0.75 else None
        delay = 0.0 if rng.random() < 0.1 else rng.uniform(0, MAX_KILL_DELAY)
        events = run_trial(server, ledger, loop_job(ledger, trial, mode), delay, wait=wait)
        started += any(e["event"] == "ready" for e in events)
        ledger.check()
        if trial % INDEX_EVERY == INDEX_EVERY - 1 and ledger.tags:
            whole = ledger.check_whole()
            if mode == HistoryMode.PAGINATED:
                ordinals = [line["ordinal"] for line in whole.lines]
                assert ordinals == sorted(set(ordinals)), "ordinals must strictly increase"
            await check_index(ledger, whole)
    assert started >= KILL_TRIALS // 2, "most workers must have taken the thread"
    on_disk = dict(ledger.tags)  # trial -> its last seq on disk
    unacknowledged = [t for t, seq in on_disk.items() if seq > ledger.flushed.get(t, 0)]
    assert len(unacknowledged) >= KILL_TRIALS // 10, "kills must land between write and flush"
    # the next writer (this process) takes the thread and writes after everything
    await assert_next_writer_appends(ledger, KILL_TRIALS, mode)


async def assert_next_writer_appends(ledger: Ledger, trial: int, mode: HistoryMode) -> None:
    store = LocalThreadStore(ledger.home)
    try:
        live = await LiveThread.resume(store, ledger.thread_id)
        item = make_item(trial, 1, random.Random(0), paginated=mode == HistoryMode.PAGINATED)
        await live.append([item])
        await live.shutdown()
    finally:
        await store.close()
    ledger.flushed[trial] = 1
    new = ledger.check()
    assert new.torn_at is None
    assert ledger.tags[-1] == (trial, 1)
    ledger.check_whole()


async def test_a_line_torn_by_sigkill_is_closed_by_the_next_writer(
    tmp_path: Path, server: ForkServer
) -> None:
    """Kill writers in the middle of writing an 8 MiB line until one leaves it torn; the next
    writer starts on a fresh line, and the fragment stays an isolated, skipped line."""
    ledger = Ledger(tmp_path, str(new_thread_id()))
    run_trial(server, ledger, loop_job(ledger, 0, HistoryMode.LEGACY, max_items=3), 0, wait="idle")
    assert ledger.check().torn_at is None
    assert ledger.flushed[0] >= 3
    torn: int | None = None
    trial = 0
    while torn is None and trial < 5:
        trial += 1
        path = ledger.path
        assert path is not None
        before = path.stat().st_size
        job = loop_job(ledger, trial, HistoryMode.LEGACY, huge=HUGE_LINE, max_items=0)
        (pid,) = server.spawn(job)
        server.event(pid, "writing")
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before and time.monotonic() < deadline:
            pass  # the kernel extends the file page by page while it copies the line in
        server.kill(pid)
        torn = ledger.check().torn_at
    assert torn is not None, "no kill landed inside the write of an 8 MiB line"
    assert (trial, 2) not in ledger.tags
    # the next writer (another process) closes the fragment before its own lines
    trial += 1
    job = loop_job(ledger, trial, HistoryMode.LEGACY, max_items=5)
    run_trial(server, ledger, job, 0, wait="idle")
    new = ledger.check()
    assert new.torn_at is None
    assert ledger.flushed[trial] >= 5
    assert ledger.tags[-1][0] == trial
    assert torn in ledger.fragments
    whole = ledger.check_whole()
    await check_index(ledger, whole)

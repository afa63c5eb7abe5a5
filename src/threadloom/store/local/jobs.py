"""Scanning many rollout files at once: the per-file jobs, and running them on every core.

A job reads one file and returns small, picklable results; the index writes them. Large
batches (a cold index of thousands of files) run in a process pool, small ones inline.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import msgspec

from threadloom.protocol.summary import SummaryState
from threadloom.protocol.texts import SearchText, TextState
from threadloom.store.local.scan import scan_summary, scan_texts

ScanJob = tuple[str, bool, int, bytes | None]
"""(path, compressed, offset to resume from, summary state so far)."""
ScanResult = tuple[int, bytes]
"""(new offset, summary state) — offset -1 when the file vanished."""
TextJob = tuple[str, bool, int, bytes | None]
TextResult = tuple[int, bytes, list[SearchText], bool]

J = TypeVar("J")
R = TypeVar("R")

PARALLEL_FROM = 64
"""Below this many files, jobs run in the calling thread."""
_CHUNK = 16

_summary_enc = msgspec.msgpack.Encoder()
_summary_dec = msgspec.msgpack.Decoder(SummaryState)
_text_dec = msgspec.msgpack.Decoder(TextState)


def scan_job(job: ScanJob) -> ScanResult:
    path, compressed, offset, blob = job
    state = _summary_dec.decode(blob) if blob is not None else SummaryState()
    try:
        end = scan_summary(Path(path), compressed, state, offset)
    except (FileNotFoundError, ValueError):
        return -1, b""
    return end, _summary_enc.encode(state)


def text_job(job: TextJob) -> TextResult:
    path, compressed, offset, blob = job
    state = _text_dec.decode(blob) if blob is not None else TextState()
    try:
        end, texts, restarted = scan_texts(Path(path), compressed, state, offset)
    except (FileNotFoundError, ValueError):
        return -1, b"", [], False
    return end, _summary_enc.encode(state), texts, restarted


def workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_jobs(
    fn: Callable[[J], R],
    jobs: Sequence[J],
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[J, R]]:
    """``(job, fn(job))`` for every job, in order, as they complete: callers store each result
    before the next arrives, so memory stays flat. Large batches run in worker processes."""
    total = len(jobs)
    pool = None
    if total < PARALLEL_FROM or workers() == 1:
        results: Iterator[R] = map(fn, jobs)
    else:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=workers(), mp_context=context)
        results = _bounded(pool, fn, jobs)
    try:
        for n, (job, result) in enumerate(zip(jobs, results, strict=True), start=1):
            yield job, result
            if progress is not None and (n % 256 == 0 or n == total):
                progress(n, total)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _run_chunk(fn: Callable[[J], R], chunk: Sequence[J]) -> list[R]:
    return [fn(job) for job in chunk]


def _bounded(pool: ProcessPoolExecutor, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
    """Results in order, with only a few chunks in flight (a slow consumer holds memory flat)."""
    chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
    window = workers() * 2
    pending: deque[Future[list[R]]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(_run_chunk, fn, chunk))
        if len(pending) >= window:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()

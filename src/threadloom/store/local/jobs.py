"""Scanning many rollout files at once: the per-file jobs, and running them on every core.

A job reads one file and returns small, picklable results; the index writes them. Large
batches (a cold index of thousands of files) run in a process pool, small ones inline.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
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
) -> list[R]:
    """Results of ``fn`` for every job, in order; in worker processes for large batches."""
    total = len(jobs)
    results: list[R] = []
    if total < PARALLEL_FROM or workers() == 1:
        for n, job in enumerate(jobs, start=1):
            results.append(fn(job))
            if progress is not None and (n % 256 == 0 or n == total):
                progress(n, total)
        return results
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers(), mp_context=context) as pool:
        for n, result in enumerate(pool.map(fn, jobs, chunksize=_CHUNK), start=1):
            results.append(result)
            if progress is not None and (n % 256 == 0 or n == total):
                progress(n, total)
    return results

"""PostgreSQL thread store figures: listing at a million threads, appends, loads, migration.

    python bench/postgres_bench.py [--url URL] [--threads 1000000] [--refill] [--jobs 2]
                                   [--only list,load,append,migrate] [--explain]

Runs against a local server (default ``postgresql://postgres@127.0.0.1:5432/threadloom_bench``;
the database is created when missing). ``--threads`` threads of one owner (plus a few
thousand of three other owners) are filled in bulk, row for row as the store writes them
(``postgres_fill``; a shape check compares with threads written through the API), and kept
between runs (``--refill`` fills again; a fill cached with an older schema is upgraded in
place by the store's own upgrade, unless a migration since changes the tables' columns).
Figures, all through the store's API: first-page listing (default, cwd filters, search
terms, second page), loading a 10,000-item thread whole and its last 20 items, appending
with 8 writers (8 tasks in one process, then 8 processes, queued or committing every turn),
and migrating a generated CODEX_HOME. Prints a table with the targets; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from postgres_fill import (
    ABSENT_TERM,
    BASE_MS,
    COMMON_TERM,
    CWDS,
    OWNER,
    RARE_TERM,
    WORDS,
    connect,
    ensure_database,
    fill,
    fill_config,
    filled,
    maintenance_url,
    shape_check,
    some_words,
    upgrade_in_place,
)
from threadloom.ids import ThreadId
from threadloom.live.thread import LiveThread
from threadloom.migrate import migrate_home_to_postgres
from threadloom.protocol.codec import encode_line, format_timestamp
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, RolloutLine
from threadloom.store.params import (
    CreateThreadParams,
    ListThreadsParams,
    LoadHistoryParams,
)
from threadloom.store.postgres import PostgresThreadStore, listing
from threadloom.store.postgres import schema as pg_schema
from threadloom.store.postgres.db import Conn
from threadloom.testing.fake_rollouts import uuid7
from threadloom.testing.home_gen import generate_home

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/threadloom_bench"
TARGETS = {
    "list": ("<= 10 ms", 10.0),
    "append": (">= 20,000 items/s", 20_000.0),
    "load": ("<= 300 ms", 300.0),
    "tail": ("<= 2 ms", 2.0),
}


# --- measuring ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Figure:
    """One printed row: a measurement and, when it has one, its target."""

    label: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None


def check(key: str, value: float) -> tuple[str, bool]:
    text, limit = TARGETS[key]
    return text, (value >= limit if key == "append" else value <= limit)


async def sample_ms(
    fn: Callable[[], Awaitable[Any]], reps: int, budget_s: float = 5.0
) -> list[float]:
    """Call ``fn`` (after two warm-up calls) ``reps`` times or until ``budget_s`` is spent
    (at least three times); each call's milliseconds."""
    for _ in range(2):
        await fn()
    samples: list[float] = []
    end = time.perf_counter() + budget_s
    while len(samples) < reps and (len(samples) < 3 or time.perf_counter() < end):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


class _ExplainConn:
    """A connection that prints ``EXPLAIN (ANALYZE, BUFFERS)`` of each query before running
    it (handed to the store's own query code)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        text = query.decode() if isinstance(query, bytes) else str(query)
        cur = await self.conn.execute(("EXPLAIN (ANALYZE, BUFFERS) " + text).encode(), params)
        print("    " + "\n    ".join(str(r[0]) for r in await cur.fetchall()))
        return await self.conn.execute(query, params, **options)

    def cursor(self, **options: Any) -> Any:
        return _ExplainCursor(self, self.conn.cursor(**options))


class _ExplainCursor:
    """A cursor of an ``_ExplainConn``: explains, then runs on the real cursor."""

    def __init__(self, conn: _ExplainConn, cur: Any) -> None:
        self.conn, self.cur = conn, cur

    async def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        await self.conn.execute(query, params)
        return await self.cur.execute(query, params, **options)

    async def fetchall(self) -> Any:
        return await self.cur.fetchall()


async def count(store: PostgresThreadStore, where: str, args: list[Any]) -> int:
    async with store.db.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*) FROM threads t WHERE t.owner = %s AND NOT t.archived AND"
            f" t.preview IS NOT NULL AND t.interactive AND {where}".encode(),
            [OWNER, *args],
        )
        found = await cur.fetchone()
        return int(found[0]) if found else 0


async def bench_listing(url: str, reps: int, explain: bool) -> list[Figure]:
    store = PostgresThreadStore(url, owner=OWNER)
    try:
        first = await store.list_threads(ListThreadsParams(limit=25))
        busy, quiet = CWDS[0], CWDS[49]
        cases = [
            ("first page, default sort", ListThreadsParams(limit=25)),
            ("second page (cursor)", ListThreadsParams(limit=25, cursor=first.next_cursor)),
        ]
        for cwd in (busy, quiet):
            n = await count(store, "t.cwd = %s", [cwd])
            cases.append(
                (f"first page, cwd of {n:,} threads", ListThreadsParams(limit=25, cwds=[cwd]))
            )
        cases.append(("first page, both cwds", ListThreadsParams(limit=25, cwds=[busy, quiet])))
        cases.append(
            (
                f"first page, cwd of {n:,} threads and search {COMMON_TERM!r}",
                ListThreadsParams(limit=25, cwds=[quiet], search_term=COMMON_TERM),
            )
        )
        for term in (COMMON_TERM, RARE_TERM, ABSENT_TERM):
            n = await count(store, "strpos(t.preview, %s) > 0", [term])
            label = f"first page, search {term!r} ({n:,} previews hold it)"
            cases.append((label, ListThreadsParams(limit=25, search_term=term)))
        figures = []
        for label, params in cases:
            if explain:
                print(f"  EXPLAIN {label}:")
                async with store.db.connection() as conn:
                    proxy = cast(Conn, _ExplainConn(conn))
                    await listing.list_threads(
                        proxy, OWNER, params, store.default_provider, trigram=store.db.trigram
                    )
            samples = await sample_ms(partial(store.list_threads, params), reps)
            median = statistics.median(samples)
            target, ok = check("list", median)
            figures.append(Figure(f"{label}: median", median, "ms", target, ok))
            figures.append(Figure(f"{label}: p95 of {len(samples)}", p95(samples), "ms"))
        return figures
    finally:
        await store.close()


# --- appended items ------------------------------------------------------------------------
def _prose(rng: random.Random, size: int) -> str:
    out = ""
    while len(out) < size:
        out += some_words(rng, 6, 18).capitalize() + ". "
    return out[:size]


def turn_lines(rng: random.Random, start_ms: int) -> list[RolloutLine]:
    """The ten lines of one agent turn as Codex records them, ~1-5 KB each: user message
    (item and event), reasoning, two shell calls and their outputs, the answer (item and
    event)."""
    user, answer = _prose(rng, rng.randint(300, 1500)), _prose(rng, rng.randint(800, 3000))

    def reasoning() -> dict[str, Any]:
        blob = rng.randbytes(rng.randint(900, 2600)).hex()
        summary = [{"type": "summary_text", "text": _prose(rng, rng.randint(200, 600))}]
        return {"type": "reasoning", "summary": summary, "content": None,
                "encrypted_content": "gAAAAB" + blob}  # fmt: skip

    def call(n: int) -> list[dict[str, Any]]:
        args = json.dumps({"command": ["bash", "-lc", f"rg -n {WORDS[n]} src"], "workdir": "/w"})
        out = "\n".join(_prose(rng, 80) for _ in range(rng.randint(12, 60)))
        call_id = f"call_{rng.getrandbits(96):024x}"
        return [
            {"type": "function_call", "name": "shell", "arguments": args, "call_id": call_id},
            {"type": "function_call_output", "call_id": call_id, "output": out},
        ]

    items: list[tuple[str, dict[str, Any]]] = [
        (RESPONSE_ITEM, {"type": "message", "role": "user",
                         "content": [{"type": "input_text", "text": user}]}),
        (EVENT_MSG, {"type": "user_message", "message": user, "images": [],
                     "local_images": [], "text_elements": []}),
        (RESPONSE_ITEM, reasoning()),
        *((RESPONSE_ITEM, item) for item in call(rng.randrange(len(WORDS)))),
        *((RESPONSE_ITEM, item) for item in call(rng.randrange(len(WORDS)))),
        (RESPONSE_ITEM, reasoning()),
        (RESPONSE_ITEM, {"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": answer}]}),
        (EVENT_MSG, {"type": "agent_message", "message": answer, "phase": "final_answer"}),
    ]  # fmt: skip
    return [
        RolloutLine(timestamp=format_timestamp(start_ms + 50 * n), type=kind, payload=payload)
        for n, (kind, payload) in enumerate(items)
    ]


def agent_turns(n_items: int, seed: int) -> list[list[RolloutLine]]:
    """``n_items`` lines in turns of ten, the same for the same seed."""
    rng = random.Random(seed)
    turns = [turn_lines(rng, BASE_MS + 60_000 * t) for t in range((n_items + 9) // 10)]
    turns[-1] = turns[-1][: n_items - 10 * (len(turns) - 1)]
    return turns


def average_size(turns: list[list[RolloutLine]]) -> float:
    lines = [line for turn in turns for line in turn]
    return sum(len(encode_line(line)) + 1 for line in lines) / len(lines)


def thread_params(owner: str, index: int) -> CreateThreadParams:
    rng = random.Random(f"{owner}:{index}")
    return CreateThreadParams(
        thread_id=ThreadId(uuid7(int(time.time() * 1000), rng)),
        cwd="/home/dev/src/bench",
        originator="threadloom_bench",
        cli_version="0.169.0",
        source="cli",
        model_provider="openai",
    )


async def write_thread(
    store: PostgresThreadStore,
    params: CreateThreadParams,
    turns: list[list[RolloutLine]],
    *,
    durable_turns: bool,
) -> int:
    """Write ``turns`` through a LiveThread; with ``durable_turns`` each turn is flushed
    (one commit per turn), else everything is queued and flushed at the end."""
    live = await LiveThread.create(store, params)
    for turn in turns:
        await live.append(turn)
        if durable_turns:
            await live.flush()
    await live.shutdown()
    return sum(len(turn) for turn in turns)


def clear_owner(url: str, owner: str) -> None:
    with connect(url) as conn:
        conn.execute("DELETE FROM threads WHERE owner = %s", (owner,))
        conn.execute("DELETE FROM writers WHERE owner = %s", (owner,))
        conn.commit()


def vacuum(url: str) -> float:
    """VACUUM the store's tables: the rows of earlier runs' writers (deleted since) are
    reclaimed, so the cached database does not grow run after run; its seconds."""
    t0 = time.perf_counter()
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM threads, items, texts, append_keys, writers")
    return time.perf_counter() - t0


# --- loading -------------------------------------------------------------------------------
async def bench_load(url: str, n_items: int, seed: int, reps: int) -> list[Figure]:
    owner = "bench-load"
    clear_owner(url, owner)
    turns = agent_turns(n_items, seed)
    store = PostgresThreadStore(url, owner=owner)
    try:
        params = thread_params(owner, 0)
        t0 = time.perf_counter()
        await write_thread(store, params, turns, durable_turns=False)
        write_s = time.perf_counter() - t0
        tid = params.thread_id
        whole = await sample_ms(lambda: store.load_history(LoadHistoryParams(thread_id=tid)), reps)
        tail = await sample_ms(
            lambda: store.load_history(LoadHistoryParams(thread_id=tid, last=20)), reps * 10
        )
        fetch = await _fetch_ms(store, tid, reps)
    finally:
        await store.close()
    size = average_size(turns)
    figures = [
        Figure(f"one writer, {n_items:,} items of {size:,.0f} B avg", n_items / write_s, "items/s")
    ]
    for label, key, samples in (
        (f"load_history, {n_items:,} items: median", "load", whole),
        ("load_history last=20: median", "tail", tail),
    ):
        median = statistics.median(samples)
        target, ok = check(key, median)
        figures.append(Figure(label, median, "ms", target, ok))
        figures.append(Figure(f"  p95 of {len(samples)}", p95(samples), "ms"))
    for fmt, samples in fetch.items():
        figures.append(
            Figure(f"  the items query alone, {fmt} bytea", statistics.median(samples), "ms")
        )
    return figures


async def _fetch_ms(store: PostgresThreadStore, tid: str, reps: int) -> dict[str, list[float]]:
    """The items query alone, text format (as the store fetches) and binary format."""
    out = {}
    async with store.db.connection() as conn:
        cur = await conn.execute(
            "SELECT key FROM threads WHERE owner = %s AND thread_id = %s", ("bench-load", tid)
        )
        found = await cur.fetchone()
        assert found is not None
        for fmt, binary in (("text", False), ("binary", True)):

            async def fetch(binary: bool = binary) -> None:
                cur = conn.cursor(binary=binary)
                await cur.execute(
                    "SELECT line FROM items WHERE thread_key = %s ORDER BY seq", (found[0],)
                )
                await cur.fetchall()

            out[fmt] = await sample_ms(fetch, reps)
    return out


# --- appending -----------------------------------------------------------------------------
async def append_tasks(
    url: str, writers: int, n_items: int, seed: int, *, durable_turns: bool
) -> tuple[int, float]:
    """``writers`` LiveThreads of one store, one task each, started together: (items, s)."""
    owner = "bench-append"
    clear_owner(url, owner)
    turns = [agent_turns(n_items, seed + w) for w in range(writers)]
    store = PostgresThreadStore(url, owner=owner, max_pool_size=max(10, writers + 2))
    try:
        await store.list_threads(ListThreadsParams(limit=1))  # open the pool first
        t0 = time.perf_counter()
        done = await asyncio.gather(
            *(
                write_thread(store, thread_params(owner, w), turns[w], durable_turns=durable_turns)
                for w in range(writers)
            )
        )
        return sum(done), time.perf_counter() - t0
    finally:
        await store.close()


def _append_process(
    url: str, index: int, n_items: int, seed: int, durable_turns: bool, barrier: Any, queue: Any
) -> None:
    """One writer process: prepare, wait for the others, write, report (start, end, items)."""

    async def run() -> None:
        turns = agent_turns(n_items, seed + index)
        store = PostgresThreadStore(url, owner="bench-append", max_pool_size=2)
        try:
            await store.list_threads(ListThreadsParams(limit=1))
            params = thread_params("bench-append", index)
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            t0 = time.monotonic()
            n = await write_thread(store, params, turns, durable_turns=durable_turns)
            queue.put((t0, time.monotonic(), n))
        finally:
            await store.close()

    asyncio.run(run())


def append_processes(
    url: str, writers: int, n_items: int, seed: int, *, durable_turns: bool
) -> tuple[int, float]:
    """``writers`` processes, one LiveThread each, released together: (items, s)."""
    clear_owner(url, "bench-append")
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(writers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_append_process, args=(url, w, n_items, seed, durable_turns, barrier, queue)
        )
        for w in range(writers)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    start = min(r[0] for r in results)
    return sum(r[2] for r in results), max(r[1] for r in results) - start


def bench_append(
    url: str, writers: int, n_items: int, seed: int, procs: bool, runs: int
) -> list[Figure]:
    """Each mode ``runs`` times (the machine may be shared): the median rate, and the range."""
    figures = []
    size = average_size(agent_turns(200, seed))
    modes = [("tasks", False), ("tasks", True)]
    if procs:
        modes += [("processes", False), ("processes", True)]
    for how, durable in modes:
        rates = []
        for _ in range(runs):
            if how == "tasks":
                items, seconds = asyncio.run(
                    append_tasks(url, writers, n_items, seed, durable_turns=durable)
                )
            else:
                items, seconds = append_processes(
                    url, writers, n_items, seed, durable_turns=durable
                )
            rates.append(items / seconds)
        rate = statistics.median(rates)
        mode = "commit per 10-item turn" if durable else "queued, flushed at end"
        label = f"{writers} writers as {how}, {mode} ({items:,} items of {size:,.0f} B)"
        if runs > 1:
            label += f", median of {runs} ({min(rates):,.0f}-{max(rates):,.0f})"
        if durable:  # a commit per turn: what durability costs; the target is throughput
            figures.append(Figure(label, rate, "items/s"))
        else:
            target, ok = check("append", rate)
            figures.append(Figure(label, rate, "items/s", target, ok))
    return figures


# --- migration -----------------------------------------------------------------------------
async def bench_migrate(url: str, threads: int, seed: int) -> list[Figure]:
    """``threadloom migrate`` of a generated home: a first run, then a re-run with nothing
    changed."""
    owner = "bench-migrate"
    clear_owner(url, owner)
    with tempfile.TemporaryDirectory(prefix="threadloom-bench-") as tmp:
        home = Path(tmp) / "codex-home"
        mb = generate_home(home, threads=threads, seed=seed).total_bytes / 1e6
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            report = await migrate_home_to_postgres(home, url, owner=owner)
            runs.append((report, time.perf_counter() - t0))
    (first, first_s), (again, again_s) = runs
    checked = "verified" if first.verified else "NOT verified: " + "; ".join(first.mismatches())
    label = f"migrate home -> PostgreSQL, {first.copied:,} threads, {mb:,.0f} MB ({checked})"
    return [
        Figure(label, first.copied / first_s, "threads/s"),
        Figure("  same in MB/s", mb / first_s, "MB/s"),
        Figure(f"  re-run, {again.unchanged:,} unchanged", again.threads / again_s, "threads/s"),
    ]


# --- report --------------------------------------------------------------------------------
def context(url: str) -> list[str]:
    """What the figures were measured on: server, sizes, machine load."""
    with connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        buffers = conn.execute("SHOW shared_buffers").fetchone()
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        total = conn.execute("SELECT count(*) FROM threads").fetchone()
        own = conn.execute("SELECT count(*) FROM threads WHERE owner = %s", (OWNER,)).fetchone()
        db_size = size.fetchone()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"PostgreSQL {version and version[0]}, shared_buffers {buffers and buffers[0]},"
        f" database {db_size and db_size[0]}",
        f"threads: {own and own[0]:,} of owner {OWNER!r}, {total and total[0]:,} in all",
        f"machine: {os.cpu_count()} cores, load average {load} (before measuring)",
    ]


def print_table(figures: list[Figure]) -> None:
    width = max(len(f.label) for f in figures)
    print(f"\n{'measurement':<{width}}  {'value':>14}  {'target':<18}  verdict")
    for f in figures:
        value = f"{f.value:,.2f} {f.unit}" if f.value < 100 else f"{f.value:,.0f} {f.unit}"
        verdict = "" if f.ok is None else ("meets" if f.ok else "MISSES")
        print(f"{f.label:<{width}}  {value:>14}  {f.target:<18}  {verdict}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="libpq URL of the bench database")
    parser.add_argument("--threads", type=int, default=1_000_000, help="threads of the owner")
    parser.add_argument("--other-threads", type=int, default=2_000, help="per other owner")
    parser.add_argument("--refill", action="store_true", help="fill again even if cached")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=50, help="timed calls per listing")
    parser.add_argument("--load-items", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--append-items", type=int, default=2_500, help="per writer")
    parser.add_argument("--no-processes", action="store_true", help="writers as tasks only")
    parser.add_argument("--append-runs", type=int, default=3, help="runs of each append mode")
    parser.add_argument("--migrate-threads", type=int, default=300)
    parser.add_argument("--only", default="list,load,append,migrate")
    parser.add_argument("--explain", action="store_true", help="print the listing plans")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = set(args.only.split(","))
    ensure_database(args.url)
    config = fill_config(args.threads, args.other_threads, args.seed)
    upgraded = None if args.refill else upgrade_in_place(args.url, config)
    if upgraded:
        print(upgraded)
    asyncio.run(pg_schema.upgrade(maintenance_url(args.url)))
    if args.refill or not filled(args.url, config):
        print(f"filling {args.threads:,} threads in bulk ({args.jobs} jobs)...")
        fill(args.url, config, args.jobs)
    else:
        print(f"using the cached fill ({args.threads:,} threads)")
    print("shape check:", asyncio.run(shape_check(args.url, args.seed)))
    print(f"vacuumed what earlier runs left behind in {vacuum(args.url):,.0f} s")
    lines = context(args.url)
    figures: list[Figure] = []
    if "list" in only:
        figures += asyncio.run(bench_listing(args.url, args.reps, args.explain))
    if "load" in only:
        figures += asyncio.run(bench_load(args.url, args.load_items, args.seed, args.reps))
    if "append" in only:
        figures += bench_append(
            args.url,
            args.writers,
            args.append_items,
            args.seed,
            not args.no_processes,
            args.append_runs,
        )
    if "migrate" in only:
        figures += asyncio.run(bench_migrate(args.url, args.migrate_threads, args.seed))
    print("\n".join(lines))
    print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Live-thread figures: threadloom ``LiveThread`` beside the Agents SDK and LangGraph.

    python bench/live_bench.py [--items 10000] [--quick] [--only threadloom,agents,langgraph]

Every library stores the same deterministic items (``live_items``: Responses API items of
about 5 KB, ten per turn) in its own temp directory, each in a fresh worker process (so
memory figures are its own). Rows: buffered appends (one item per call, the final flush timed
apart), durable single appends (append one item, then flush), durable turns (ten items, then
flush), loading an ``--items``-item thread whole / its last 20 items / through a freshly
opened store, forking it at its middle item, and the memory an idle thread holds. LangGraph
writes the whole state at every checkpoint, so it runs a smaller workload (labelled ``n=``);
the adapters (``live_compare``) say how each library is driven. Prints a table, then the same
as markdown; asserts nothing. Needs the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import resource
import statistics
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from live_compare import ADAPTERS, Adapter, AdapterUnavailable, LangGraphAdapter
from live_items import TURN_ITEMS, BenchItem, fresh_copies, generate, stats

# --- workloads ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """How much one library is asked to do (LangGraph gets less: it grows quadratically)."""

    buffered_items: int
    single_appends: int
    turns: int
    load_items: int
    load_chunk: int
    """Items per append when the load thread is built apart from the turns thread."""
    fork_at: int
    idle_threads: int
    load_reps: int
    tail_reps: int
    fork_reps: int


@dataclass(frozen=True, slots=True)
class Options:
    """The command line, as the worker processes receive it."""

    items: int
    single: int
    idle_threads: int
    langgraph_items: int
    langgraph_single: int
    langgraph_durability: str
    reps: int
    seed: int
    tmp: str | None


def workload(key: str, opt: Options) -> Workload:
    """The workload of one library."""
    common = Workload(
        buffered_items=opt.single,
        single_appends=opt.single,
        turns=opt.items // TURN_ITEMS,
        load_items=opt.items,
        load_chunk=TURN_ITEMS,
        fork_at=opt.items // 2,
        idle_threads=opt.idle_threads,
        load_reps=opt.reps,
        tail_reps=max(opt.reps, 21),
        fork_reps=opt.reps,
    )
    if key == "threadloom":
        return replace(common, buffered_items=opt.items)
    if key == "langgraph":
        return replace(
            common,
            buffered_items=opt.langgraph_single,
            single_appends=opt.langgraph_single,
            turns=max(1, opt.langgraph_items // TURN_ITEMS),
            load_chunk=1000,
            load_reps=min(opt.reps, 3),
            tail_reps=5,
            fork_reps=3,
        )
    # Every SQLiteSession append is a commit: its "buffered" run is a durable run.
    return common


# --- measuring one library (in a worker process) -------------------------------------------


@dataclass(slots=True)
class Result:
    """One library's figures: metric key -> value; ``sizes`` says the workload per metric."""

    key: str
    title: str
    values: dict[str, float | None] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def _rss_bytes() -> int:
    """Current resident set size (Linux), else the peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _pct(samples: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _median_ms(
    fn: Callable[[], Awaitable[Any]],
    reps: int,
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[Any], Awaitable[None]] | None = None,
) -> tuple[float, Any]:
    """Median wall time of ``fn`` in ms over ``reps`` runs, and its last result.

    ``before`` runs untimed ahead of each run; ``after`` receives each result, untimed.
    """
    samples: list[float] = []
    result: Any = None
    for _ in range(reps):
        if before is not None:
            await before()
        t0 = time.perf_counter()
        result = await fn()
        samples.append(time.perf_counter() - t0)
        if after is not None:
            await after(result)
    return statistics.median(samples) * 1000, result


class Runner:
    """Measures every row for one adapter."""

    def __init__(self, adapter: Adapter, work: Workload, items: list[BenchItem]) -> None:
        self.a = adapter
        self.w = work
        self.items = items
        self.r = Result(adapter.key, adapter.title)

    def item(self, i: int) -> BenchItem:
        return self.items[i % len(self.items)]

    def chunk(self, start: int, n: int) -> list[BenchItem]:
        return [self.item(i) for i in range(start, start + n)]

    def put(self, key: str, value: float | None, size: str | None = None) -> None:
        self.r.values[key] = value
        if size is not None:
            self.r.sizes[key] = size

    async def run(self) -> Result:
        t0 = time.perf_counter()
        await self.a.open()
        try:
            await self.idle_memory()
            await self.buffered()
            await self.single()
            thread = await self.turns()
            await self.loads(thread)
        finally:
            self.r.notes += self.a.notes()
            await self.a.close()
        self.r.seconds = time.perf_counter() - t0
        return self.r

    async def idle_memory(self) -> None:
        """Open N threads, one durable turn each, and keep them: memory growth / N."""
        a, n = self.a, self.w.idle_threads
        warm = await a.create()  # first-use imports and caches are not per-thread costs
        await a.append(warm, self.chunk(0, TURN_ITEMS))
        await a.flush(warm)
        await a.close_thread(warm)
        gc.collect()
        tracemalloc.start()
        traced0 = tracemalloc.get_traced_memory()[0]
        rss0 = _rss_bytes()
        threads = []
        for t in range(n):
            thread = await a.create()
            # Fresh copies: what a store keeps of the items counts, what it drops does not.
            await a.append(thread, list(fresh_copies(self.chunk(t * TURN_ITEMS, TURN_ITEMS), 0)))
            await a.flush(thread)
            threads.append(thread)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced0
        rss = _rss_bytes() - rss0
        tracemalloc.stop()
        for thread in threads:
            await a.close_thread(thread)
        self.put("idle_traced_kb", traced / n / 1024, f"{n} threads")
        self.put("idle_rss_kb", rss / n / 1024, f"{n} threads")

    async def buffered(self) -> None:
        """One item per append call, nothing waited for; the final flush timed apart."""
        a, n = self.a, self.w.buffered_items
        thread = await a.create()
        t0 = time.perf_counter()
        for i in range(n):
            await a.append(thread, [self.item(i)])
        t1 = time.perf_counter()
        await a.flush(thread)
        t2 = time.perf_counter()
        await a.close_thread(thread)
        size = f"n={n:,}"
        self.put("buffered_ips", n / (t1 - t0), size)
        self.put("buffered_flush_ms", (t2 - t1) * 1000, size)
        self.put("buffered_total_ips", n / (t2 - t0), size)

    async def single(self) -> None:
        """Append one item, then flush: each append durable before the next."""
        a, n = self.a, self.w.single_appends
        thread = await a.create()
        lat: list[float] = []
        for i in range(n):
            t0 = time.perf_counter()
            await a.append(thread, [self.item(i)])
            await a.flush(thread)
            lat.append(time.perf_counter() - t0)
        await a.close_thread(thread)
        size = f"n={n:,}"
        self.put("single_ps", n / sum(lat), size)
        self.put("single_p50_ms", _pct(lat, 0.5) * 1000, size)

    async def turns(self) -> Any:
        """Durable turns of ten items; returns the thread, kept open for the load rows."""
        a, n = self.a, self.w.turns
        thread = await a.create()
        lat: list[float] = []
        for t in range(n):
            batch = self.chunk(t * TURN_ITEMS, TURN_ITEMS)
            t0 = time.perf_counter()
            await a.append(thread, batch)
            await a.flush(thread)
            lat.append(time.perf_counter() - t0)
        size = f"{n:,} turns"
        self.put("turn_p50_ms", _pct(lat, 0.5) * 1000, size)
        self.put("turn_p99_ms", _pct(lat, 0.99) * 1000, size)
        self.put("turn_ips", n * TURN_ITEMS / sum(lat), size)
        return thread

    async def loads(self, turns_thread: Any) -> None:
        """Load all / last 20 / through a fresh handle, and fork, on a load_items thread."""
        a, w = self.a, self.w
        if w.turns * TURN_ITEMS == w.load_items:
            thread = turns_thread
        else:
            await a.close_thread(turns_thread)
            thread = await a.create()
            for start in range(0, w.load_items, w.load_chunk):
                await a.append(thread, self.chunk(start, min(w.load_chunk, w.load_items - start)))
            await a.flush(thread)
            self.r.notes.append(
                f"{a.key}: the {w.load_items:,}-item thread was built in appends of "
                f"{w.load_chunk:,} items"
            )
        size = f"{w.load_items:,} items"

        ms, count = await _median_ms(lambda: a.load(thread), w.load_reps)
        self.put("load_all_ms", ms, size)
        self.r.notes.append(f"{a.key}: loading the whole thread returned {count:,} items")
        ms, count = await _median_ms(lambda: a.load(thread, 20), w.tail_reps)
        self.put("load_tail_ms", ms, size)
        if count != 20:
            self.r.notes.append(f"{a.key}: last-20 load returned {count} items")

        readers: list[Any] = []

        async def open_reader() -> None:
            readers.append(await a.open_reader(thread))

        async def close_reader(_: Any) -> None:
            await a.close_reader(readers.pop())

        ms, _ = await _median_ms(
            lambda: a.read(readers[-1]), w.load_reps, before=open_reader, after=close_reader
        )
        self.put("load_reopen_ms", ms, size)

        forked: list[int] = []

        async def close_child(child: Any) -> None:
            if child is not None:
                forked.append(await a.load(child))
                await a.close_thread(child)

        ms, child = await _median_ms(
            lambda: a.fork(thread, w.fork_at), w.fork_reps, after=close_child
        )
        self.put("fork_ms", None if child is None else ms, f"at {w.fork_at:,}")
        if forked:
            self.r.notes.append(f"{a.key}: the fork holds {forked[-1]:,} items")
        await a.close_thread(thread)


def run_adapter(key: str, opt: Options) -> Result:
    """Measure one library (the body of a worker process)."""
    t0 = time.perf_counter()
    work = workload(key, opt)
    needed = max(opt.items, work.buffered_items, work.single_appends, work.load_items)
    items = generate(needed, opt.seed)
    with tempfile.TemporaryDirectory(prefix=f"live_bench_{key}_", dir=opt.tmp) as tmp:
        adapter: Adapter
        if key == LangGraphAdapter.key:
            adapter = LangGraphAdapter(Path(tmp), opt.langgraph_durability)
        else:
            adapter = ADAPTERS[key](Path(tmp))
        try:
            result = asyncio.run(Runner(adapter, work, items).run())
        except AdapterUnavailable as exc:
            return Result(key, adapter.title, error=str(exc))
        except Exception:
            return Result(key, adapter.title, error=traceback.format_exc(limit=4))
    result.seconds = time.perf_counter() - t0
    return result


# --- the table --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One metric: its label, its target (if any) and which way is better."""

    key: str
    label: str
    target: float | None = None
    higher_is_better: bool = False
    digits: int = 1


ROWS = (
    Row("buffered_ips", "buffered appends (items/s, 1 item/call)", 50_000, True, 0),
    Row("buffered_flush_ms", "  final flush after them (ms)"),
    Row("buffered_total_ips", "  incl. that flush (items/s)", None, True, 0),
    Row("single_ps", "durable single appends/s (1 item + flush)", None, True, 0),
    Row("single_p50_ms", "  p50 latency (ms)", None, False, 2),
    Row("turn_p50_ms", "durable turn p50 (ms; 10 items + flush)", 1, False, 2),
    Row("turn_p99_ms", "durable turn p99 (ms)", 3, False, 2),
    Row("turn_ips", "durable turns (items/s)", 10_000, True, 0),
    Row("load_all_ms", "load whole thread (ms)", 300, False, 1),
    Row("load_tail_ms", "load its last 20 items (ms)", 1, False, 2),
    Row("load_reopen_ms", "load whole thread, fresh handle (ms)", None, False, 1),
    Row("fork_ms", "fork at the middle item (ms)", 100, False, 1),
    Row("idle_traced_kb", "idle thread, Python heap (KB/thread)", None, False, 1),
    Row("idle_rss_kb", "idle thread, RSS growth (KB/thread)", None, False, 1),
)


def _num(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _target(row: Row) -> str:
    if row.target is None:
        return ""
    sign = ">=" if row.higher_is_better else "<="
    return f"{sign} {_num(row.target, 0)}"


def _cell(row: Row, result: Result, base: Result | None) -> str:
    if result.error is not None:
        return "unavailable"
    if row.key not in result.values:
        return "-"
    value = result.values[row.key]
    if value is None:
        return "no fork"
    text = _num(value, row.digits)
    if row.target is not None:
        ok = value >= row.target if row.higher_is_better else value <= row.target
        text += " ✓" if ok else " ✗"
    size = result.sizes.get(row.key)
    if base is not None and size is not None and size != base.sizes.get(row.key):
        text += f" ({size})"
    return text


def table(results: list[Result], markdown: bool) -> str:
    """The side-by-side table: one row per metric, one column per library."""
    base = next((r for r in results if r.error is None), None)
    head = ["metric", "target", *(r.title for r in results)]
    body = [[row.label, _target(row), *(_cell(row, r, base) for r in results)] for row in ROWS]
    workload_keys = ("buffered_ips", "single_ps", "turn_ips")
    body.append(
        [
            "workload: buffered / single / turns",
            "",
            *(
                " / ".join(r.sizes.get(k, "") for k in workload_keys) if r.error is None else ""
                for r in results
            ),
        ]
    )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(cells[i]) for cells in [head, *body]) for i in range(len(head))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
        )

    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *(fmt(c) for c in body)])


# --- command line -------------------------------------------------------------------------


def parse(argv: list[str] | None) -> tuple[Options, list[str]]:
    """Options and the libraries to run, from the command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--items", type=int, help="items of the durable-turn / load thread (10000)")
    p.add_argument("--quick", action="store_true", help="a smaller run (2,000 items...)")
    p.add_argument("--only", default=",".join(ADAPTERS), help="comma-separated: %(default)s")
    p.add_argument("--single", type=int, help="durable single appends (1000; quick 200)")
    p.add_argument("--idle-threads", type=int, help="threads of the memory row (500; quick 100)")
    p.add_argument("--langgraph-items", type=int, help="LangGraph durable-turn items (1000)")
    p.add_argument("--langgraph-single", type=int, help="LangGraph single appends (200)")
    p.add_argument("--langgraph-durability", choices=("exit", "async", "sync"), default="exit")
    p.add_argument("--reps", type=int, help="repetitions of load and fork (7; quick 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tmp", help="parent of the temp directories (default: the system's)")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    keys = [k.strip() for k in a.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ADAPTERS]
    if unknown:
        p.error(f"unknown library {unknown}; choose from {', '.join(ADAPTERS)}")
    opt = Options(
        items=a.items or (2_000 if quick else 10_000),
        single=a.single or (200 if quick else 1_000),
        idle_threads=a.idle_threads or (100 if quick else 500),
        langgraph_items=a.langgraph_items or (300 if quick else 1_000),
        langgraph_single=a.langgraph_single or (100 if quick else 200),
        langgraph_durability=a.langgraph_durability,
        reps=a.reps or (3 if quick else 7),
        seed=a.seed,
        tmp=a.tmp,
    )
    return opt, keys


def main(argv: list[str] | None = None) -> None:
    opt, keys = parse(argv)
    st = stats(generate(opt.items, opt.seed))
    print(
        f"items: {st.count:,}, average {st.avg_json_bytes / 1024:.2f} KB as JSON, "
        f"{st.avg_line_bytes / 1024:.2f} KB as a rollout line; by type (bytes): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in st.avg_by_type.items())
    )
    print(f"options: {asdict(opt)}")
    results: list[Result] = []
    for key in keys:
        print(f"running {key} ...", flush=True)
        # A fresh process per library: its memory figures and its caches are its own.
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            result = pool.submit(run_adapter, key, opt).result()
        if result.error is not None:
            print(f"  {key} unavailable: {result.error.strip()}")
        else:
            print(f"  done in {result.seconds:.1f} s")
        results.append(result)
    print()
    print(table(results, markdown=False))
    print()
    for r in results:
        for note in r.notes:
            print(f"note: {note}")
    print()
    print(table(results, markdown=True))


if __name__ == "__main__":
    main()

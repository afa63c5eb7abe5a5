"""Listing, search and read figures for threadloom, side by side with ``codex app-server``.

    python bench/listing_bench.py [--home HOME | --threads 10000] [--big-thread-mb 100]
                                  [--codex PATH | --no-codex] [--reps 20] [--out FILE]

Without ``--home`` a deterministic home is generated under ``bench/out/`` (once; reused).
Both sides run on the same home, one after the other; "cold" means no index yet (threadloom's
``threadloom/`` folder and Codex's ``state_5.sqlite`` are removed first), with the rollout
files in the page cache. threadloom is measured in-process through the library (in a worker
process, so its peak memory is its own); the CLI's process times are reported separately.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(fn: Callable[[], Awaitable[Any]], reps: int) -> float:
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t0)
    return _median_ms(samples)


def threadloom_worker(home: Path, manifest: dict[str, Any], reps: int) -> dict[str, Any]:
    """Measure the library in this process (called in a fresh worker process)."""
    from threadloom.ids import ThreadId  # noqa: PLC0415 - imported in the worker only
    from threadloom.store.local import LocalThreadStore  # noqa: PLC0415
    from threadloom.store.params import (  # noqa: PLC0415
        ListThreadsParams,
        ReadThreadParams,
        SearchThreadsParams,
    )

    shutil.rmtree(home / "threadloom", ignore_errors=True)
    term = manifest["search_terms"][0]["term"]
    typical = ThreadId(manifest["typical_thread"])
    out: dict[str, Any] = {}

    async def run() -> None:
        t0 = time.perf_counter()
        store = LocalThreadStore(home)
        await store.list_threads(ListThreadsParams(limit=25))
        out["cold_first_page_ms"] = (time.perf_counter() - t0) * 1000
        out["warm_first_page_ms"] = await _timed(
            lambda: store.list_threads(ListThreadsParams(limit=25)), reps
        )

        async def page_all() -> None:
            cursor = None
            n = 0
            while True:
                page = await store.list_threads(
                    ListThreadsParams(limit=100, cursor=cursor, model_providers=[])
                )
                n += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            out["threads_paged"] = n

        out["page_through_all_ms"] = await _timed(page_all, 3)
        out["search_term_list_ms"] = await _timed(
            lambda: store.list_threads(ListThreadsParams(limit=50, search_term=term)), reps
        )
        t0 = time.perf_counter()
        await store.search_threads(SearchThreadsParams(query=term))
        out["text_index_build_ms"] = (time.perf_counter() - t0) * 1000
        out["full_text_search_ms"] = await _timed(
            lambda: store.search_threads(SearchThreadsParams(query=term)), reps
        )
        out["read_metadata_ms"] = await _timed(
            lambda: store.read_thread(ReadThreadParams(thread_id=typical)), reps
        )
        await store.close()

    asyncio.run(run())
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["peak_rss_mb"] = own / 1024
    out["peak_rss_scan_workers_mb"] = kids / 1024
    return out


def codex_side(home: Path, manifest: dict[str, Any], binary: Path, reps: int) -> dict[str, Any]:
    """Measure ``codex app-server`` over stdio on the same home."""
    from threadloom.testing.codex_peer import CodexPeer  # noqa: PLC0415

    for name in os.listdir(home):
        if name.startswith(("state_5.sqlite", "thread_history_1.sqlite")):
            (home / name).unlink()
    term = manifest["search_terms"][0]["term"]
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    peer = CodexPeer(home, binary=binary, timeout=600)
    try:
        peer.call("thread/list", {"limit": 25})
        out["cold_first_page_ms"] = (time.perf_counter() - t0) * 1000

        def timed(method: str, params: dict[str, Any], n: int) -> float:
            samples = []
            for _ in range(n):
                t = time.perf_counter()
                peer.call(method, params)
                samples.append(time.perf_counter() - t)
            return _median_ms(samples)

        out["warm_first_page_ms"] = timed("thread/list", {"limit": 25}, reps)
        t = time.perf_counter()
        cursor = None
        n = 0
        while True:
            params: dict[str, Any] = {"limit": 100, "modelProviders": []}
            if cursor:
                params["cursor"] = cursor
            page = peer.call("thread/list", params)
            n += len(page["data"])
            cursor = page["nextCursor"]
            if not cursor:
                break
        out["page_through_all_ms"] = (time.perf_counter() - t) * 1000
        out["threads_paged"] = n
        out["search_term_list_ms"] = timed(
            "thread/list", {"limit": 50, "searchTerm": term}, max(1, reps // 5)
        )
        out["read_metadata_ms"] = timed(
            "thread/read", {"threadId": manifest["typical_thread"]}, reps
        )
        status = Path(f"/proc/{peer.pid}/status").read_text()
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        out["peak_rss_mb"] = int(hwm.split()[1]) / 1024
    finally:
        peer.close()
    return out


def cli_times(home: Path) -> dict[str, Any]:
    """Wall time of whole ``threadloom`` CLI processes (warm index)."""
    exe = Path(sys.executable).with_name("threadloom")
    out = {}
    for label, args in (("cli_list_ms", ["list"]), ("cli_list_json_ms", ["list", "--json"])):
        samples = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([str(exe), *args, "--home", str(home)], capture_output=True, check=True)
            samples.append(time.perf_counter() - t)
        out[label] = _median_ms(samples)
    return out


ROWS = (
    ("cold start to first page (no index)", "cold_first_page_ms", 12000),
    ("warm first page (25)", "warm_first_page_ms", 10),
    ("page through every thread (limit 100)", "page_through_all_ms", 1000),
    ("searchTerm listing (limit 50)", "search_term_list_ms", 30),
    ("full-text search (warm)", "full_text_search_ms", 100),
    ("full-text index build (first search)", "text_index_build_ms", None),
    ("read one thread's metadata", "read_metadata_ms", None),
    ("peak memory, MB", "peak_rss_mb", None),
    ("peak memory of scan workers, MB", "peak_rss_scan_workers_mb", None),
)


def table(ours: dict[str, Any], codex: dict[str, Any] | None, cli: dict[str, Any]) -> str:
    lines = [
        "| measurement | threadloom | codex 0.169.0 | target |",
        "|---|---:|---:|---:|",
    ]
    for label, key, target in ROWS:
        theirs = "" if codex is None or key not in codex else f"{codex[key]:.1f}"
        unit = "" if "mb" in key else " ms"
        goal = "" if target is None else f"<= {target} ms"
        lines.append(
            f"| {label} | {ours[key]:.1f}{unit} | {theirs}{unit if theirs else ''} | {goal} |"
        )
    lines.append(f"| CLI `threadloom list` process | {cli['cli_list_ms']:.0f} ms | | |")
    lines.append(f"| CLI `threadloom list --json` process | {cli['cli_list_json_ms']:.0f} ms | | |")
    return "\n".join(lines)


def _from_reference_manifest(path: Path) -> Path:
    """Adapt the manifest of the reference workload generator (``bench-manifest.json``)."""
    raw = json.loads(path.read_text())
    adapted = {
        "typical_thread": raw["typical"]["id"],
        "big_thread": (raw.get("big") or {}).get("id"),
        "search_terms": [{"term": term} for term in raw["search_terms"]],
    }
    out = OUT / "reference-manifest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(adapted))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--threads", type=int, default=10000)
    parser.add_argument("--big-thread-mb", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codex", type=Path)
    parser.add_argument("--no-codex", action="store_true")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from threadloom.testing.home_gen import HomeManifest, generate_home  # noqa: PLC0415

    home: Path = args.home or OUT / f"home-{args.threads}-{args.seed}"
    manifest_path = home / "threadloom-manifest.json"
    reference = home / "bench-manifest.json"
    if not manifest_path.exists() and reference.exists():
        manifest_path = _from_reference_manifest(reference)
    if not manifest_path.exists():
        print(f"generating {args.threads} threads into {home} …", file=sys.stderr)
        manifest = generate_home(
            home,
            threads=args.threads,
            seed=args.seed,
            turns=(2, 40),
            big_thread_mb=args.big_thread_mb,
        )
        manifest.write_json(manifest_path)
    raw = json.loads((args.manifest or manifest_path).read_text())
    if args.worker:
        print(json.dumps(threadloom_worker(home, raw, args.reps)))
        return
    del HomeManifest
    worker = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            "--home",
            str(home),
            "--reps",
            str(args.reps),
            "--manifest",
            str(manifest_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    ours = json.loads(worker.stdout)
    cli = cli_times(home)
    codex = None
    if not args.no_codex:
        from threadloom.testing.codex_peer import CodexPeer  # noqa: PLC0415

        binary = args.codex or CodexPeer.find_binary()
        if binary is None:
            print("codex binary not found; use --codex PATH or --no-codex", file=sys.stderr)
        else:
            codex = codex_side(home, raw, binary, args.reps)
    size_gb = sum(f.stat().st_size for f in home.rglob("*.jsonl*")) / 1e9
    print(f"home: {ours.get('threads_paged')} listed threads, {size_gb:.1f} GB of rollouts\n")
    print(table(ours, codex, cli))
    if args.out:
        args.out.write_text(json.dumps({"threadloom": ours, "codex": codex, "cli": cli}, indent=2))


if __name__ == "__main__":
    main()

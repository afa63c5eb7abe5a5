"""Reading, paging and forking big threads over JSON-RPC: ``threadloom app-server`` next to Codex.

    python bench/app_server_bench.py [--home HOME | --threads 10000] [--big-thread-mb 100]
                                     [--codex PATH | --no-codex] [--reps 3] [--typical-reps 10]
                                     [--page-limit 100] [--out FILE]

Without ``--home`` the deterministic home of ``listing_bench.py`` is generated under
``bench/out/`` (once; reused); a home with a reference ``bench-manifest.json`` works too.
Each server (``python -m threadloom app-server``, then ``codex app-server`` 0.169.0) runs alone
on its own fresh copy of the home (no index: the copy leaves out ``threadloom/`` and Codex's
databases), spoken to over stdio. In this order: ``initialize``; a first ``thread/list`` (which
builds the index); ``thread/read`` with ``includeTurns`` of the typical, then of the big thread;
``thread/turns/list`` on the big thread, first page (default limit), then every page following
``nextCursor``; ``thread/fork`` of the typical, then of the big thread; finally the server's
RSS high-water mark (``VmHWM``) and that of its child processes. Then a second process on the
same, now indexed, copy reads the big thread without turns (bringing the store's index up to
date) and answers one first page of its turns (nothing of its history in memory yet).

Each measurement is repeated: the table shows the first call (the first time that server
handles that thread) and the median of the others, with the server's CPU time, next to the
targets and to Codex's figures measured on another machine. A request's time runs from writing
it to having read its whole answer. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bench_home import fresh_copy, remove_copy, resolve_home, rollout_stats
from stdio_client import Reply, ServerGone, TimedServer


class _Turn(msgspec.Struct):
    items: list[msgspec.Raw] = []


class _Thread(msgspec.Struct):
    id: str = ""
    turns: list[_Turn] = []


class _ThreadResult(msgspec.Struct):
    thread: _Thread = msgspec.field(default_factory=_Thread)


class _TurnsPage(msgspec.Struct):
    data: list[_Turn] = []
    next_cursor: str | None = msgspec.field(default=None, name="nextCursor")


@dataclass(slots=True)
class Run:
    """One timed run of a measurement (one request, or a whole paging)."""

    wall_s: float
    cpu_s: float
    turns: int = 0
    items: int = 0
    pages: int = 0
    bytes: int = 0
    error: str | None = None


@dataclass(slots=True)
class Measurement:
    """The runs of one measurement (stopped at the first error)."""

    runs: list[Run] = field(default_factory=list)
    error: str | None = None

    def first(self) -> Run | None:
        return self.runs[0] if self.runs else None

    def median_wall(self) -> float | None:
        rest = [r.wall_s for r in self.runs[1:]]
        return statistics.median(rest) if rest else None

    def median_cpu(self) -> float | None:
        runs = self.runs[1:] or self.runs
        return statistics.median(r.cpu_s for r in runs) if runs else None


def _error_text(error: dict[str, Any]) -> str:
    return f"{error.get('code')} {str(error.get('message'))[:120]}"


def _thread_run(reply: Reply) -> Run:
    run = Run(reply.wall_s, reply.cpu_s, bytes=reply.size)
    if reply.error is not None:
        run.error = _error_text(reply.error)
        return run
    thread = msgspec.json.decode(reply.raw_result, type=_ThreadResult).thread
    run.turns = len(thread.turns)
    run.items = sum(len(t.items) for t in thread.turns)
    return run


def _page_run(reply: Reply) -> tuple[Run, str | None]:
    run = Run(reply.wall_s, reply.cpu_s, pages=1, bytes=reply.size)
    if reply.error is not None:
        run.error = _error_text(reply.error)
        return run, None
    page = msgspec.json.decode(reply.raw_result, type=_TurnsPage)
    run.turns = len(page.data)
    run.items = sum(len(t.items) for t in page.data)
    return run, page.next_cursor


def _page_through(server: TimedServer, thread_id: str, limit: int) -> Run:
    """Every ``thread/turns/list`` page of a thread, following ``nextCursor``."""
    total = Run(0.0, 0.0)
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {"threadId": thread_id, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page, cursor = _page_run(server.request("thread/turns/list", params))
        total.wall_s += page.wall_s
        total.cpu_s += page.cpu_s
        total.pages += 1
        total.turns += page.turns
        total.items += page.items
        total.bytes += page.bytes
        total.error = page.error
        if page.error is not None or cursor is None or page.turns == 0:
            return total
        if cursor in seen:
            total.error = "nextCursor repeated"
            return total
        seen.add(cursor)


def _measure(reps: int, once: Callable[[], Run]) -> Measurement:
    out = Measurement()
    try:
        for _ in range(reps):
            run = once()
            out.runs.append(run)
            if run.error is not None:
                out.error = run.error
                break
    except ServerGone as exc:
        out.error = str(exc)[:200]
    return out


def _first_page(server: TimedServer, thread_id: str) -> Callable[[], Run]:
    return lambda: _page_run(server.request("thread/turns/list", {"threadId": thread_id}))[0]


def _session(
    server: TimedServer,
    typical: str,
    big: str | None,
    args: argparse.Namespace,
    results: dict[str, Measurement],
) -> None:
    """The measurements made in one server process, in order (module docstring)."""

    def call(method: str, params: dict[str, Any]) -> Callable[[], Run]:
        return lambda: _thread_run(server.request(method, params))

    results["list_cold"] = _measure(1, call("thread/list", {"limit": 25}))
    read = "thread/read"
    results["read_typical"] = _measure(
        args.typical_reps, call(read, {"threadId": typical, "includeTurns": True})
    )
    if big:
        results["read_big"] = _measure(
            args.reps, call(read, {"threadId": big, "includeTurns": True})
        )
        results["turns_first_page"] = _measure(args.reps, _first_page(server, big))
        results["turns_all_pages"] = _measure(
            args.reps, lambda: _page_through(server, big, args.page_limit)
        )
    results["fork_typical"] = _measure(
        args.typical_reps, call("thread/fork", {"threadId": typical})
    )
    if big:
        results["fork_big"] = _measure(args.reps, call("thread/fork", {"threadId": big}))


def measure_server(
    label: str,
    argv: list[str],
    home: Path,
    manifest: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Run every measurement against one server on a fresh copy of ``home``."""
    from threadloom.testing.codex_peer import (  # noqa: PLC0415 - imported when measuring
        network_isolation_prefix,
        write_peer_config,
    )

    print(f"[{label}] copying the home …", file=sys.stderr)
    copy = fresh_copy(home, label)
    if not (copy / "config.toml").exists():
        write_peer_config(copy)
    env = dict(os.environ, CODEX_HOME=str(copy), RUST_LOG="error")
    cwd = Path(manifest["cwd"]) if manifest.get("cwd") else copy
    typical, big = manifest["typical_thread"], manifest.get("big_thread")
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    command = [*network_isolation_prefix(), *argv]
    results: dict[str, Measurement] = {}
    print(f"[{label}] measuring …", file=sys.stderr)
    try:
        server = TimedServer(command, env, cwd, args.timeout)
        try:
            out["start_s"] = server.start_s
            _session(server, typical, big, args, results)
            out["peak_rss_mb"] = server.peak_rss_mb()
            out["children"] = server.children_peak_mb()
            out["notifications"] = dict(server.notifications)
        finally:
            out["exit_code"] = server.close()
        if big:
            # A new process on the same (now indexed) copy: nothing of the big thread in memory.
            again = TimedServer(command, env, cwd, args.timeout)
            try:
                out["restart_s"] = again.start_s
                # Bring the store's own index up to date first (it checks the files the first
                # process wrote), so the figure is the turn history's alone.
                again.request("thread/read", {"threadId": big})
                results["turns_first_page_cold"] = _measure(1, _first_page(again, big))
            finally:
                again.close()
    except ServerGone as exc:
        out["error"] = str(exc)[:500]
    finally:
        out["load_after"] = os.getloadavg()
        if not args.keep_copies:
            remove_copy(copy)
    out["results"] = {k: asdict(v) for k, v in results.items()}
    out["_measurements"] = results
    return out


STARTS = (
    ("start → initialize answered (no index)", "start_s"),
    ("new process on the indexed copy → initialize answered", "restart_s"),
)
ROWS: tuple[tuple[str, str, float | None, str], ...] = (
    ("thread/read includeTurns, typical thread", "read_typical", None, ""),
    ("thread/read includeTurns, big thread", "read_big", 1.5, "~5.5 s"),
    ("thread/turns/list first page (default limit), big", "turns_first_page", 0.05, "0.9 s"),
    ("thread/turns/list first page, big, new process", "turns_first_page_cold", 0.05, ""),
    ("thread/turns/list every page (limit {limit}), big", "turns_all_pages", 2.0, "15 s"),
    ("thread/fork, typical thread", "fork_typical", None, ""),
    ("thread/fork, big thread", "fork_big", 2.0, "10 s"),
    ("first thread/list after start (builds the index)", "list_cold", None, ""),
)


def _secs(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _turns(side: dict[str, Any] | None, key: str) -> int | None:
    m: Measurement | None = None if side is None else side["_measurements"].get(key)
    first = None if m is None else m.first()
    return None if first is None or first.error is not None else first.turns


def _cells(side: dict[str, Any] | None, key: str, codex: dict[str, Any] | None) -> list[str]:
    m: Measurement | None = None if side is None else side["_measurements"].get(key)
    first = None if m is None else m.first()
    if m is None:
        return ["", "", ""]
    if first is None or first.error is not None:
        return [f"error: {first.error if first else m.error}", "", ""]
    pages = f" ({first.pages} pages)" if key == "turns_all_pages" else ""
    theirs = _turns(codex, key)
    if theirs is not None and theirs != first.turns and key != "list_cold":
        pages += f" ⚠ {first.turns} turns, codex {theirs}"
    cells = [_secs(first.wall_s) + pages, _secs(m.median_wall()), _secs(m.median_cpu())]
    if m.error is not None:
        cells[1] = f"error: {m.error}"
    return cells


def _memory_cells(side: dict[str, Any] | None) -> list[str]:
    if side is None or "peak_rss_mb" not in side:
        return ["", "", ""]
    count, largest, _ = side.get("children", (0, 0.0, {}))
    kids = f" (+{count} children, largest {largest:.0f} MB)" if count else ""
    return [f"{side['peak_rss_mb']:.0f} MB{kids}", "", ""]


def table(ours: dict[str, Any], codex: dict[str, Any] | None, page_limit: int) -> str:
    """The side-by-side table (markdown)."""
    lines = [
        "| measurement | target | threadloom 1st | median | server CPU "
        "| codex 0.169.0 1st | median | server CPU | codex measured elsewhere |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, key in STARTS:
        start = [label, "", _secs(ours.get(key)), "", ""]
        start += [_secs(codex.get(key)) if codex else "", "", "", ""]
        lines.append("| " + " | ".join(start) + " |")
    for label, key, target, elsewhere in ROWS:
        row = [label.format(limit=page_limit), f"<= {_secs(target)}" if target else ""]
        row += _cells(ours, key, codex) + _cells(codex, key, None) + [elsewhere]
        lines.append("| " + " | ".join(row) + " |")
    memory = ["server peak memory (VmHWM, at the end)", "<= 300 MB"]
    memory += _memory_cells(ours) + _memory_cells(codex) + ["~940 MB"]
    lines.append("| " + " | ".join(memory) + " |")
    return "\n".join(lines)


def checks(name: str, side: dict[str, Any]) -> list[str]:
    """What each measurement returned (turns, items, bytes), to tell real work from none."""
    lines = []
    for key, m in side["_measurements"].items():
        first = m.first()
        if first is None:
            lines.append(f"  {name} {key}: error {m.error}")
            continue
        what = f"{first.turns} turns, {first.items} items, {first.bytes / 1e6:.1f} MB answer"
        if first.pages:
            what += f", {first.pages} pages"
        runs = f"{len(m.runs)} run(s)"
        lines.append(f"  {name} {key}: {what}; {runs}" + (f"; error {m.error}" if m.error else ""))
    load = ", ".join(f"{x:.2f}" for x in side["load_before"])
    load_after = ", ".join(f"{x:.2f}" for x in side["load_after"])
    lines.append(f"  {name} load average before: {load}; after: {load_after}")
    count, largest, names = side.get("children", (0, 0.0, {}))
    if count:
        lines.append(f"  {name} child processes: {names}, largest VmHWM {largest:.0f} MB")
    notes, code = side.get("notifications"), side.get("exit_code")
    lines.append(f"  {name} notifications: {notes}; exit {code}")
    if "error" in side:
        lines.append(f"  {name} stopped: {side['error']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, help="an existing home (default: generated)")
    parser.add_argument("--threads", type=int, default=10000)
    parser.add_argument("--big-thread-mb", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codex", type=Path, help="the codex binary (default: scripts/codex-peer)")
    parser.add_argument("--no-codex", action="store_true", help="measure threadloom only")
    parser.add_argument("--reps", type=int, default=3, help="runs of each big-thread measurement")
    parser.add_argument("--typical-reps", type=int, default=10, help="runs on the typical thread")
    parser.add_argument("--page-limit", type=int, default=100, help="page size when paging all")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per request")
    parser.add_argument("--keep-copies", action="store_true", help="keep the homes' copies")
    parser.add_argument("--out", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args()
    if min(args.reps, args.typical_reps, args.page_limit) < 1:
        parser.error("--reps, --typical-reps and --page-limit must be at least 1")
    # Stopped by a signal: still close the servers and delete the copies (``finally`` blocks).
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))

    home, manifest = resolve_home(
        args.home, threads=args.threads, seed=args.seed, big_thread_mb=args.big_thread_mb
    )
    binary: Path | None = None
    if not args.no_codex:
        from threadloom.testing.codex_peer import CodexPeer  # noqa: PLC0415

        binary = args.codex or CodexPeer.find_binary()
        if binary is None:
            print("codex binary not found; use --codex PATH or --no-codex", file=sys.stderr)
    started = time.perf_counter()
    ours = measure_server(
        "threadloom", [sys.executable, "-m", "threadloom", "app-server"], home, manifest, args
    )
    codex = None
    if binary is not None:
        codex = measure_server("codex", [str(binary), "app-server"], home, manifest, args)
    files, size = rollout_stats(home)
    print(
        f"home: {home.name}: {files} rollouts, {size / 1e9:.2f} GB; big thread "
        f"{manifest.get('big_thread')}; {os.cpu_count()} CPUs; "
        f"{time.perf_counter() - started:.0f} s in all\n"
    )
    print(table(ours, codex, args.page_limit))
    print("\nwhat the first run of each measurement returned:")
    for name, side in (("threadloom", ours), ("codex", codex)):
        if side is not None:
            print("\n".join(checks(name, side)))
    if args.out:
        sides = {"threadloom": ours, "codex": codex}
        clean = {
            k: {f: v for f, v in s.items() if f != "_measurements"} for k, s in sides.items() if s
        }
        args.out.write_text(json.dumps(clean, indent=2))


if __name__ == "__main__":
    main()

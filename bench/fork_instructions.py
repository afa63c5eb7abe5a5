"""What a ``thread/fork`` of a big legacy thread costs, counted in CPU instructions.

    python bench/fork_instructions.py [--mb 12] [--forks 2] [--seed 1]

Wall-clock figures of the app server bench drift by a third on a shared machine; instruction
counts do not. A thread of about ``--mb`` MB is generated (once, under ``bench/out/``). An
in-process app server on a copy of it answers ``initialize`` and forks the thread: once in one
run, ``1 + --forks`` times in another; both runs go side by side, each under ``valgrind
--tool=callgrind``. The difference of the two totals, divided by ``--forks``, is the cost of
one fork, without start-up and imports. The counts repeat run after run (within half a
percent): use them to compare two versions of the code. Prints the figures; asserts nothing.
Needs valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
_COLLECTED = re.compile(rb"Collected : (\d+)")


async def _fork(home: Path, thread_id: str, forks: int) -> None:
    from threadloom.server.app import AppServer  # noqa: PLC0415 - the measured process only
    from threadloom.server.main import config_for_home, open_store, tune_gc  # noqa: PLC0415

    tune_gc()  # as `threadloom app-server` does
    store = await open_store(None, home)
    server = AppServer(store, config_for_home(home))
    replies: list[bytes] = []

    async def send(data: bytes) -> None:
        replies.append(data)

    conn = server.connect(send)
    init = {"clientInfo": {"name": "fork-instructions", "version": "1"}}
    await server.receive(conn, json.dumps({"id": 0, "method": "initialize", "params": init}))
    for n in range(1, forks + 1):
        request = {"id": n, "method": "thread/fork", "params": {"threadId": thread_id}}
        await server.receive(conn, json.dumps(request))
    errors = [r for r in replies if b'"error"' in r[:200]]
    if errors:
        raise SystemExit(f"a fork failed: {errors[0][:300]!r}")
    await server.close()
    await store.close()


def _home(mb: float, seed: int) -> tuple[Path, str, int, int]:
    """(home, big thread id, its lines, its bytes), generated once."""
    from threadloom.testing.home_gen import generate_home  # noqa: PLC0415

    home = OUT / f"fork-home-{mb:g}-{seed}"
    manifest_path = home / "fork-manifest.json"
    if not manifest_path.exists():
        shutil.rmtree(home, ignore_errors=True)
        manifest = generate_home(home, threads=1, seed=seed, turns=(1, 2), big_thread_mb=mb)
        assert manifest.big_thread is not None
        big = manifest.by_id(manifest.big_thread)
        manifest_path.write_text(json.dumps({"id": big.id, "path": big.path}))
    info = json.loads(manifest_path.read_text())
    data = (home / info["path"]).read_bytes()
    return home, info["id"], data.count(b"\n"), len(data)


def _instructions(home: Path, thread_id: str, forks: int) -> int:
    with tempfile.TemporaryDirectory(prefix="fork-instructions-") as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("threadloom"))
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable,
            __file__,
            "--child",
            str(copy),
            thread_id,
            str(forks),
        ]
        done = subprocess.run(command, capture_output=True, check=False)
        found = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            tail = done.stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"valgrind run failed:\n{tail}")
        return int(found.group(1))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        asyncio.run(_fork(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=12.0, help="size of the forked thread")
    parser.add_argument("--forks", type=int, default=2, help="forks measured (after a first)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (e.g. apt-get install valgrind)")
    sys.path.insert(0, str(ROOT / "src"))
    home, thread_id, lines, size = _home(args.mb, args.seed)
    print(f"thread {thread_id}: {lines:,} lines, {size / 1e6:.1f} MB", flush=True)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two runs side by side
        first = pool.submit(_instructions, home, thread_id, 1)
        more = pool.submit(_instructions, home, thread_id, 1 + args.forks).result()
        once = first.result()
    per_fork = (more - once) / args.forks
    print(f"instructions, 1 fork: {once:,}; {1 + args.forks} forks: {more:,}")
    print(f"one fork: {per_fork:,.0f} instructions ({per_fork / lines:,.0f} a line)")


if __name__ == "__main__":
    main()

"""The home of ``test_differential_history``: legacy rule cases, generated and long threads, and
paginated threads Codex 0.169.0 wrote itself.

* **Worked examples E1-E7** (spec 7) re-expressed with ``RolloutBuilder`` (the spec's JSON file
  is never read); E8's single-rule rows are cases of ``tests/protocol/data/turn_cases.json``
  (recorded from the binary), which also holds the hand-made paginated cases (``p_*``).
* **Generated legacy threads**: a small varied home (``generate_home``): one thread per tag
  (torn, compressed, blank and garbage lines, forks, archived, unreadable…) and the longest
  plain threads.
* **A long legacy thread** (``LONG_TURNS`` turns: explicit, implicit, aborted, a rollback, a
  compaction) for page sizes and cursors.
* **Paginated threads Codex wrote**: a conversation of user and shell turns, then a paginated
  fork of it that ran turns of its own (history in two files); the hand-made paginated cases
  are projected by ``thread/resume`` so Codex has them in ``thread_history_1.sqlite``.

The home is built once per session (shared between xdist workers, ``shared_home``) and
``state_5.sqlite`` removed (it stores absolute paths); the projection database stays.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from threadloom.protocol.codec import encode_json
from threadloom.protocol.turns import build_turns
from threadloom.store.local.reader import iter_lines
from threadloom.testing import (
    TAGS,
    CodexPeer,
    RolloutBuilder,
    ToolCall,
    generate_home,
    interrupted_user_turn,
    shell_command,
)

DATA = Path(__file__).parents[1] / "protocol" / "data" / "turn_cases.json"
TURN_CASES: dict[str, dict[str, Any]] = json.loads(DATA.read_text("utf-8"))["cases"]
CASE_DAY = Path("sessions", "2025", "01", "01")
GENERATED_THREADS = 124
GENERATED_SEED = 4711
PLAIN_PICKS = 4
LONG_TURNS = 130
UNREADABLE_TAGS = ("missing_meta", "foreign_history_mode", "unknown_source_object")
READABLE_TAGS = tuple(t for t in TAGS if t not in UNREADABLE_TAGS)
PROJECTION_FILES = (
    "thread_history_1.sqlite",
    "thread_history_1.sqlite-wal",
    "thread_history_1.sqlite-shm",
)
STATE_FILES = ("state_5.sqlite", "state_5.sqlite-wal", "state_5.sqlite-shm")
CODEX_WRITTEN = ("codex conversation", "codex fork", "codex injected")
INJECTED = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "context"}]},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
]

# -- E1-E7 (spec 7), re-expressed --------------------------------------------------------------

T1 = "019a0000-0000-7000-8000-0000000000e1"
T2 = "019a0000-0000-7000-8000-0000000000e2"
E_IDS = {f"E{n}": f"019a0000-0000-7000-9000-0000000001e{n}" for n in range(1, 8)}
LONG_ID = "019a0000-0000-7000-9000-000000000b16"


def _user(b: RolloutBuilder, text: str) -> RolloutBuilder:
    return b.event({"type": "user_message", "message": text})


def _agent(b: RolloutBuilder, text: str, **extra: Any) -> RolloutBuilder:
    return b.event({"type": "agent_message", "message": text, **extra})


def e1(b: RolloutBuilder) -> None:
    """Implicit turns: no task events."""
    _agent(_user(b, "hello"), "hi there")
    _user(b, "again").event({"type": "agent_reasoning", "text": "thinking"})
    _agent(b, "done")


def e2(b: RolloutBuilder) -> None:
    """An explicit turn, reasoning merged, timing."""
    b.event({"type": "task_started", "turn_id": T1, "started_at": 1735689600})
    _user(b, "list files")
    b.event({"type": "agent_reasoning", "text": "plan A"})
    b.event({"type": "agent_reasoning", "text": "plan B"})
    b.event({"type": "agent_reasoning_raw_content", "text": "raw"})
    _agent(b, "ok", phase="final_answer")
    b.event(
        {"type": "task_complete", "turn_id": T1, "completed_at": 1735689605, "duration_ms": 5000}
    )


def e3(b: RolloutBuilder) -> None:
    """An interrupted turn, then a failed one."""
    _user(b.event({"type": "task_started", "turn_id": T1}), "long job")
    b.event({"type": "turn_aborted", "turn_id": T1, "reason": "interrupted"})
    _user(b.event({"type": "task_started", "turn_id": T2}), "retry")
    error = {"message": "context too long", "codex_error_info": "context_window_exceeded"}
    b.event({"type": "task_complete", "turn_id": T2, "error": error})


def e4(b: RolloutBuilder) -> None:
    """A rollback: later items renumbered, implicit ids kept."""
    _agent(_user(b, "one"), "1")
    _agent(_user(b, "two"), "2")
    _user(b.event({"type": "thread_rolled_back", "num_turns": 1}), "three")


def e5(b: RolloutBuilder) -> None:
    """Compaction: the line adds no item, the event does."""
    _user(b, "q").line("compacted", {"message": "summary"})
    _user(b.event({"type": "context_compacted"}), "q2")


def e6(b: RolloutBuilder) -> None:
    """Tool events; ``exec_command_end`` is dropped at load."""
    _user(b.event({"type": "task_started", "turn_id": T1}), "use tools")
    invocation = {"server": "docs", "tool": "search", "arguments": {"q": "x"}}
    result = {"Ok": {"content": [{"type": "text", "text": "found"}]}}
    duration = {"secs": 0, "nanos": 42000000}
    b.event(
        {"type": "mcp_tool_call_end", "call_id": "mcp-1", "invocation": invocation}
        | {"duration": duration, "result": result}
    )
    action = {"type": "search", "query": "rust serde"}
    b.event({"type": "web_search_end", "call_id": "ws-1", "query": "rust serde", "action": action})
    changes = {"/proj/a.txt": {"type": "add", "content": "hi\n"}}
    b.event(
        {"type": "patch_apply_end", "call_id": "patch-1", "turn_id": T1, "stdout": "", "stderr": ""}
        | {"success": True, "changes": changes, "status": "completed"}
    )
    b.event(
        {"type": "exec_command_end", "call_id": "exec-1", "turn_id": T1, "command": ["ls"]}
        | {"cwd": "/proj", "parsed_cmd": [], "source": "agent", "stdout": "", "stderr": ""}
        | {"aggregated_output": "a.txt\n", "exit_code": 0, "formatted_output": ""}
        | {"duration": {"secs": 0, "nanos": 1000000}, "status": "completed"}
    )
    b.event({"type": "task_complete", "turn_id": T1})


def e7(b: RolloutBuilder) -> None:
    """An unfinished turn on a stored thread (reported interrupted)."""
    _user(b.event({"type": "task_started", "turn_id": T1}), "still running?")


def _aborted(b: RolloutBuilder, turn_id: str | None = T1) -> RolloutBuilder:
    _user(b.event({"type": "task_started", "turn_id": T1}), "a")
    abort: dict[str, Any] = {"type": "turn_aborted", "reason": "interrupted"}
    if turn_id is not None:
        abort["turn_id"] = turn_id
    return b.event(abort)


def _compacted(b: RolloutBuilder) -> RolloutBuilder:
    return b.line("compacted", {"message": "summary"}).event({"type": "context_compacted"})


ABORT_CASES: dict[str, Callable[[RolloutBuilder], object]] = {
    "abort then agent": lambda b: _agent(_aborted(b), "after"),
    "abort then user": lambda b: _user(_aborted(b), "b"),
    "abort then reasoning": lambda b: _aborted(b).event({"type": "agent_reasoning", "text": "r"}),
    "abort then compaction": lambda b: _compacted(_aborted(b)),
    "abort then compacted line": lambda b: _aborted(b).line("compacted", {"message": "s"}),
    "abort without id then compaction": lambda b: _compacted(_aborted(b, None)),
    "abort of an unknown turn then compaction": lambda b: _compacted(_aborted(b, "zz")),
    "compaction in an open turn": lambda b: _compacted(
        _user(b.event({"type": "task_started", "turn_id": T1}), "a")
    ),
}
"""Observed on 0.169.0 (not in the spec): an abort naming the open turn, or naming none,
finishes it; an abort naming an unknown turn interrupts the open one and leaves it open."""
ABORT_IDS = {name: f"019a0000-0000-7000-9000-0000000002a{n}" for n, name in enumerate(ABORT_CASES)}

E_CASES: dict[str, Callable[[RolloutBuilder], None]] = {
    "E1": e1,
    "E2": e2,
    "E3": e3,
    "E4": e4,
    "E5": e5,
    "E6": e6,
    "E7": e7,
}


def write_examples(home: Path) -> None:
    """E1-E7 and the abort rule cases."""
    bodies: dict[str, Callable[[RolloutBuilder], object]] = {**E_CASES, **ABORT_CASES}
    ids = {**E_IDS, **ABORT_IDS}
    for name, body in bodies.items():
        b = RolloutBuilder(ids[name], created="2025-01-01T00:00:00Z", cwd="/proj")
        body(b)
        b.write(home)


def write_long_thread(home: Path) -> None:
    """Explicit turns with tools and reasoning, implicit and aborted turns, a rollback of two
    turns and a compaction: ``LONG_TURNS`` turns in the end."""
    b = RolloutBuilder(LONG_ID, created="2025-01-02T08:00:00Z", cwd="/srv/long")
    calls = (ToolCall("shell", '{"cmd":"ls"}', "a.txt\nb.txt"),)
    for n in range(LONG_TURNS + 2):
        if n % 23 == 7:
            _agent(_user(b.tick(10), f"implicit question {n}"), f"implicit answer {n}")
        elif n % 17 == 5:
            b.tick(10).turn(f"question {n}", None, complete=False).turn_aborted()
        else:
            tools = calls if n % 10 == 3 else ()
            reasoning = f"thinking about {n}" if n % 4 == 1 else None
            b.tick(10).turn(f"question {n}", f"answer {n}", reasoning=reasoning, tool_calls=tools)
        if n == 60:
            b.event({"type": "thread_rolled_back", "num_turns": 2})
        if n == 90:
            b.line("compacted", {"message": "summary of the first 90 turns"})
            b.event({"type": "context_compacted"})
    b.write(home)


PAGINATED_LONG_ID = "019a0000-0000-7000-9000-000000000b17"


def write_paginated_long_thread(home: Path) -> None:
    """A hand-made paginated thread of ``LONG_TURNS`` turns, a user and an agent message
    each (Codex projects it when it resumes it): page sizes of turns and of items."""
    b = RolloutBuilder(
        PAGINATED_LONG_ID, created="2025-01-03T08:00:00Z", cwd="/srv/long", history_mode="paginated"
    )
    for n in range(LONG_TURNS):
        turn = f"019a0000-0000-7000-8000-00000001{n:04d}"
        b.tick(10).event({"type": "task_started", "turn_id": turn, "started_at": 1735891200 + n})
        for kind, content in (("UserMessage", "text"), ("AgentMessage", "Text")):
            item = {
                "type": kind,
                "id": f"{kind}-{n}",
                "content": [{"type": content, "text": f"{n}"}],
            }
            if kind == "AgentMessage" and n % 3:
                item["phase"] = "final_answer"
            b.event(
                {"type": "item_completed", "thread_id": PAGINATED_LONG_ID, "turn_id": turn}
                | {
                    "item": item,
                    "started_at_ms": 1735891200000 + n,
                    "completed_at_ms": 1735891200001 + n,
                }
            )
        b.event({"type": "task_complete", "turn_id": turn, "completed_at": 1735891201 + n})
    b.write(home)


def write_turn_cases(home: Path) -> None:
    folder = home / CASE_DAY
    folder.mkdir(parents=True, exist_ok=True)
    for case in TURN_CASES.values():
        data = b"".join(
            (entry.encode() if isinstance(entry, str) else encode_json(entry)) + b"\n"
            for entry in case["rollout"]
        )
        (folder / f"rollout-2025-01-01T00-00-00-{case['thread']}.jsonl").write_bytes(data)


# -- picks ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPicks:
    """Thread ids of the home by the names the scripts use, and their turn counts."""

    legacy: dict[str, str]
    """E1-E7, every legacy turn case, ``generated <tag>``, ``generated plain N``, ``long``."""
    paginated: dict[str, str]
    """``codex conversation``, ``codex fork``, ``codex injected`` and every paginated case."""
    unreadable: dict[str, str]
    turns: dict[str, int]
    """Turns of each legacy and paginated pick (threadloom's own count: it sizes the walks;
    the full reads compare it with Codex's)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> HistoryPicks:
        return cls(**json.loads(text))


def legacy_names() -> list[str]:
    names = [*E_CASES, *ABORT_CASES]
    names += [n for n, c in TURN_CASES.items() if c["mode"] == "legacy"]
    names += [f"generated {tag}" for tag in READABLE_TAGS]
    names += [f"generated plain {n}" for n in range(PLAIN_PICKS)]
    return [*names, "long"]


def paginated_names() -> list[str]:
    cases = [n for n, c in TURN_CASES.items() if c["mode"] == "paginated"]
    return [*CODEX_WRITTEN, "paginated long", *cases]


def dummy_picks() -> HistoryPicks:
    """Placeholder ids (to list the labels before the home exists)."""
    unknown = "00000000-0000-4000-8000-00000000abcd"
    legacy = dict.fromkeys(legacy_names(), unknown)
    paginated = dict.fromkeys(paginated_names(), unknown)
    unreadable = dict.fromkeys(UNREADABLE_TAGS, unknown)
    counts = dict.fromkeys([*legacy, *paginated], 1)
    return HistoryPicks(legacy, paginated, unreadable, counts)


# -- building ---------------------------------------------------------------------------------


def _count(path: Path, prefix: list[Any] | None = None) -> int:
    return len(build_turns([*(prefix or []), *iter_lines(path)]))


def _codex_threads(home: Path, binary: Path) -> tuple[str, str, str]:
    """Codex writes a paginated conversation (two user turns, four shell turns, injected
    context between them), a fork of it that runs a user turn and a shell turn, and a thread of
    injected items only; the paginated cases are projected."""
    with CodexPeer(home, binary=binary) as peer:

        def start() -> str:
            return str(peer.call("thread/start", {"cwd": str(home)})["thread"]["id"])

        conversation = start()
        interrupted_user_turn(peer, conversation, "first paginated question")
        shell_command(peer, conversation, "echo one")
        shell_command(peer, conversation, "echo two")
        peer.call("thread/inject_items", {"threadId": conversation, "items": INJECTED})
        interrupted_user_turn(peer, conversation, "second paginated question")
        shell_command(peer, conversation, "echo three")
        shell_command(peer, conversation, "echo four")
        fork = str(peer.call("thread/fork", {"threadId": conversation})["thread"]["id"])
        interrupted_user_turn(peer, fork, "a question on the fork")
        shell_command(peer, fork, "echo on the fork")
        injected = start()
        peer.call("thread/inject_items", {"threadId": injected, "items": INJECTED})
        hand_made = [c["thread"] for c in TURN_CASES.values() if c["mode"] == "paginated"]
        for thread_id in [*hand_made, PAGINATED_LONG_ID]:
            peer.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    return conversation, fork, injected


def build_home(home: Path, binary: Path) -> HistoryPicks:
    """Write the whole home (module docstring) and pick its threads."""
    manifest = generate_home(
        home, threads=GENERATED_THREADS, seed=GENERATED_SEED, turns=(1, 8), varied=True
    )
    write_examples(home)
    write_long_thread(home)
    write_turn_cases(home)
    write_paginated_long_thread(home)
    whole_second_mtimes(home)
    codex = _codex_threads(home, binary)
    for name in STATE_FILES:
        (home / name).unlink(missing_ok=True)
    records = manifest.threads
    legacy = {**E_IDS, **ABORT_IDS}
    legacy.update((n, c["thread"]) for n, c in TURN_CASES.items() if c["mode"] == "legacy")
    for tag in READABLE_TAGS:
        legacy[f"generated {tag}"] = next(r.id for r in records if r.readable and tag in r.tags)
    plain = sorted((r for r in records if r.readable and not r.tags), key=lambda r: -r.turns)
    legacy.update((f"generated plain {n}", r.id) for n, r in enumerate(plain[:PLAIN_PICKS]))
    legacy["long"] = LONG_ID
    paginated = dict(zip(CODEX_WRITTEN, codex, strict=True))
    paginated["paginated long"] = PAGINATED_LONG_ID
    paginated.update((n, c["thread"]) for n, c in TURN_CASES.items() if c["mode"] == "paginated")
    unreadable = {
        tag: next(r.id for r in records if tag in r.tags and not r.readable)
        for tag in UNREADABLE_TAGS
    }
    paths = {p.name[-42:-6]: p for p in home.glob("**/rollout-*.jsonl*")}
    paths.update((p.name[-46:-10], p) for p in home.glob("**/rollout-*.jsonl.zst"))
    by_meta = {r.id: home / r.path for r in records}
    turns: dict[str, int] = {}
    for name, thread_id in legacy.items():
        turns[name] = _count(by_meta.get(thread_id) or paths[thread_id])
    for name, thread_id in paginated.items():
        turns[name] = _count(paths[thread_id])
    turns["codex fork"] = turns["codex conversation"] + _count(paths[paginated["codex fork"]])
    return HistoryPicks(legacy, paginated, unreadable, turns)


def whole_second_mtimes(home: Path) -> None:
    """Drop the fraction of every rollout's mtime. Codex's includeTurns reads report the
    index row's update time; on a busy machine it was seen a second after the file's
    (truncated) mtime for files written a moment before the build's Codex run, which whole
    seconds leave no room for."""
    for path in home.glob("*sessions/**/rollout-*"):
        whole = path.stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000
        os.utime(path, ns=(whole, whole))


def shared_home(folder: Path, binary: Path) -> tuple[Path, HistoryPicks]:
    """The home under ``folder`` (built by the first process to ask, under a lock)."""
    folder.mkdir(parents=True, exist_ok=True)
    home, picks_file = folder / "history-home", folder / "history-picks.json"
    with (folder / "history-home.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not picks_file.exists():
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            picks_file.write_text(build_home(home, binary).to_json())
    return home, HistoryPicks.from_json(picks_file.read_text())


def without_projection(home: Path, dest: Path) -> Path:
    """A copy of ``home`` without Codex's projection database (rollouts alone), made once
    under a lock and renamed into place whole (xdist workers share it)."""
    with dest.with_name(dest.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not dest.exists():
            partial = dest.with_name(dest.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(home, partial, symlinks=True)
            for name in PROJECTION_FILES:
                (partial / name).unlink(missing_ok=True)
            partial.rename(dest)
    return dest

"""The test side of ``threadloom.testing.live_child``: a fork-server client and rollout checks."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadloom.testing.live_child import item_tag

Event = dict[str, Any]
TIMEOUT = 20.0
"""Seconds any single answer may take (only reached when something hangs)."""


class ForkServer:
    """One ``live_child serve`` process; its workers' events are read from its stdout."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "threadloom.testing.live_child", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._buffer = b""
        self.backlog: list[Event] = []
        """Events read but not yet claimed, oldest first."""

    def send(self, command: Event) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()

    def _read_event(self, deadline: float) -> Event:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no answer from the fork server; unclaimed: {self.backlog}")
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                raise EOFError(f"the fork server exited; unclaimed: {self.backlog}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        event: Event = json.loads(line)
        return event

    def wait_for(self, match: Callable[[Event], bool], timeout: float = TIMEOUT) -> Event:
        """The first event (oldest first, the backlog included) that matches; claims it."""
        for i, event in enumerate(self.backlog):
            if match(event):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_event(deadline)
            if match(event):
                return event
            self.backlog.append(event)

    def outcome(self, pid: int, *names: str, timeout: float = TIMEOUT) -> Event:
        """The next event of worker ``pid`` named one of ``names``, or its ``error``."""
        wanted = {*names, "error"}
        return self.wait_for(lambda e: e["pid"] == pid and e["event"] in wanted, timeout)

    def event(self, pid: int, name: str, timeout: float = TIMEOUT) -> Event:
        """The next ``name`` event of worker ``pid`` (an ``error`` of it fails at once)."""
        found = self.outcome(pid, name, timeout=timeout)
        assert found["event"] == name, f"worker {pid} failed: {found}"
        return found

    def spawn(self, *jobs: Event, gated: bool = False) -> list[int]:
        self.send({"op": "spawn", "jobs": list(jobs), "gated": gated})
        pids: list[int] = self.wait_for(lambda e: e["event"] == "spawned")["pids"]
        return pids

    def open_gate(self) -> None:
        self.send({"op": "open_gate"})
        self.wait_for(lambda e: e["event"] == "gate_opened")

    def reap(self, pid: int) -> tuple[int, list[Event]]:
        """Wait for a worker to end: its wait status and every event it wrote (unclaimed)."""
        self.send({"op": "reap", "pid": pid})
        status: int = self.wait_for(lambda e: e.get("reaped") == pid)["status"]
        mine = [e for e in self.backlog if e["pid"] == pid]
        self.backlog = [e for e in self.backlog if e["pid"] != pid]
        return status, mine

    def kill(self, pid: int) -> list[Event]:
        """SIGKILL a worker; the events it wrote before dying (it must not have failed)."""
        os.kill(pid, signal.SIGKILL)
        status, events = self.reap(pid)
        errors = [e for e in events if e["event"] == "error"]
        assert not errors, errors
        assert os.WIFSIGNALED(status), f"worker {pid} ended by itself: {status}"
        assert os.WTERMSIG(status) == signal.SIGKILL
        return events

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()


def rollout_of(home: Path, thread_id: str) -> Path | None:
    """The one rollout file of a thread under ``home/sessions`` (None: not written yet)."""
    found = sorted((home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    assert len(found) <= 1, found
    return found[0] if found else None


@dataclass
class Checked:
    """What a strict read of a rollout found."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    """Every complete line that parses, in order."""
    tags: list[tuple[int, int]] = field(default_factory=list)
    """The ``(trial, seq)`` tags of those lines, in order."""
    torn_at: int | None = None
    """Offset of the unterminated last fragment, if any."""
    end: int = 0
    """Offset just after the last complete line."""


def check_rollout(path: Path, fragments: dict[int, bytes], start: int = 0) -> Checked:
    """Read a rollout from ``start`` (a line start) strictly: every complete line parses with
    ``json.loads``, except the torn lines of earlier kills (``fragments``: offset -> bytes),
    which must stand alone on their line, unchanged. Only the final text may lack a newline."""
    with path.open("rb") as f:
        f.seek(start)
        data = f.read()
    out = Checked(end=start)
    offset = start
    for raw in data.split(b"\n"):
        end = offset + len(raw)
        if end == start + len(data):  # the text after the last newline
            if raw:
                out.torn_at = offset
            break
        if offset in fragments:
            assert raw == fragments[offset], f"torn line at {offset} was not closed on its own"
        else:
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                raise AssertionError(
                    f"line at byte {offset} does not parse: {raw[:200]!r}"
                ) from exc
            out.lines.append(obj)
            found = item_tag(raw)
            if found is not None:
                out.tags.append(found)
            else:
                assert obj["type"] in ("session_meta", "turn_context"), obj
        offset = end + 1
        out.end = offset
    return out

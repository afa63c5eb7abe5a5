"""A timing JSON-RPC client for app servers on stdio, and the server's process figures.

``TimedServer`` starts a server command, performs the ``initialize`` handshake and times
requests: the wall time from writing the request line to having read the whole response line
(a reader thread only reads and timestamps lines; parsing happens afterwards, off the clock),
plus the server's CPU time over the call. ``ProcessWatch`` samples the RSS high-water mark
(``VmHWM``) of the server's child processes while it runs, since they may exit before the end.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_EOF = b""


class ServerGone(RuntimeError):
    """The server exited or stopped answering."""


class _Envelope(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None
    result: msgspec.Raw = msgspec.Raw()
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One answered request."""

    wall_s: float
    cpu_s: float
    raw_result: bytes
    error: dict[str, Any] | None

    @property
    def size(self) -> int:
        return len(self.raw_result)


def proc_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (e.g. ``VmHWM``), None if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == field:
                    return int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return None


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of its waited-for children."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (through ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{parent}/task"):
                with contextlib.suppress(OSError, ValueError):
                    with open(f"/proc/{parent}/task/{task}/children") as f:
                        kids = [int(x) for x in f.read().split()]
                    found.extend(kids)
                    stack.extend(kids)
    return found


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


class ProcessWatch:
    """Samples the ``VmHWM`` of a process's descendants every ``interval`` seconds.

    A child that has not exec'd yet (same command line as the server) is skipped: its memory
    is the server's, shared copy-on-write, not its own.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.children_hwm_kb: dict[int, int] = {}
        self.children_names: dict[int, str] = {}
        self._own = _cmdline(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for child in descendants(self.pid):
            cmdline = _cmdline(child)
            if cmdline is None or cmdline == self._own:
                continue
            hwm = proc_status_kb(child, "VmHWM")
            if hwm is not None:
                self.children_hwm_kb[child] = max(hwm, self.children_hwm_kb.get(child, 0))
                name = cmdline.split(b"\0", 1)[0].rsplit(b"/", 1)[-1].decode(errors="replace")
                self.children_names[child] = name

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class TimedServer:
    """A server process spoken to with newline-delimited JSON-RPC on stdio."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float
    ) -> None:
        self.timeout = timeout
        self.notifications: dict[str, int] = {}
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=dict(env),
            cwd=str(cwd),
        )
        self._lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.watch = ProcessWatch(self.proc.pid)
        try:
            reply = self.request(
                "initialize",
                {
                    "clientInfo": {"name": "threadloom-bench", "version": "0.0.0"},
                    "capabilities": {"experimentalApi": True},
                },
            )
            if reply.error is not None:
                raise ServerGone(f"initialize failed: {reply.error}")
        except BaseException:
            self.close(grace=1.0)
            raise
        self.start_s = time.perf_counter() - t0
        self._send({"jsonrpc": "2.0", "method": "initialized"})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            line = stdout.readline()
            self._lines.put((time.perf_counter(), line))
            if not line:
                return

    def _send(self, message: Mapping[str, Any]) -> float:
        stdin = self.proc.stdin
        assert stdin is not None
        data = msgspec.json.encode(message) + b"\n"
        t0 = time.perf_counter()
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise ServerGone(f"server stdin closed: {self.stderr_tail()}") from exc
        return t0

    def request(self, method: str, params: Mapping[str, Any]) -> Reply:
        """Send one request and wait for its answer (notifications are counted)."""
        self._next_id += 1
        request_id = self._next_id
        cpu0 = proc_cpu_s(self.pid)
        t0 = self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        deadline = t0 + self.timeout
        while True:
            try:
                at, line = self._lines.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                raise ServerGone(f"{method}: no answer in {self.timeout:.0f} s") from None
            if line == _EOF:
                self._lines.put((at, line))
                raise ServerGone(f"server exited during {method}: {self.stderr_tail()}")
            try:
                envelope = msgspec.json.decode(line, type=_Envelope)
            except msgspec.DecodeError:
                continue
            if envelope.method is not None:
                self.notifications[envelope.method] = self.notifications.get(envelope.method, 0) + 1
            elif envelope.id == request_id:
                cpu = proc_cpu_s(self.pid) - cpu0
                return Reply(at - t0, cpu, bytes(envelope.result), envelope.error)

    def peak_rss_mb(self) -> float:
        """The server process's RSS high-water mark so far (``VmHWM``), in MB."""
        return (proc_status_kb(self.pid, "VmHWM") or 0) / 1024

    def children_peak_mb(self) -> tuple[int, float, dict[str, int]]:
        """(child processes seen, the largest child ``VmHWM`` in MB, count per program)."""
        self.watch.sample()
        sizes = self.watch.children_hwm_kb.values()
        names: dict[str, int] = {}
        for name in self.watch.children_names.values():
            names[name] = names.get(name, 0) + 1
        return len(sizes), max(sizes, default=0) / 1024, names

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def close(self, grace: float = 30.0) -> int | None:
        """Close stdin and wait for the server to exit (terminate, then kill, if it does not)."""
        self.watch.stop()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            code = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                code = self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(5)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return code

"""A real ``threadloom app-server`` process for the transport tests, and a stdio client for it.

:class:`ServerProcess` runs ``python -m threadloom app-server --home HOME ARGS…`` with its
stderr read by a thread (so the server never blocks on it), and with ``--listen ws://…``
waits for the line saying where it listens. :class:`StdioClient` speaks JSON lines to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

SERVER_ARGV = (sys.executable, "-m", "threadloom", "app-server")
TOKEN_ENV = "THREADLOOM_APP_SERVER_TOKEN"
LISTENING = re.compile(rb"listening on (ws://\S+)")
START_TIMEOUT = 60.0
REPLY_TIMEOUT = 30.0
CLIENT_INFO = {"name": "threadloom-tests", "version": "0.0.0"}
INITIALIZE = {"clientInfo": CLIENT_INFO}


class ServerProcess:
    """``threadloom app-server --home HOME ARGS…``; ``env`` adds to (or, with None values,
    removes from) the environment, which never inherits a token."""

    def __init__(
        self,
        home: Path,
        *args: str,
        env: Mapping[str, str | None] | None = None,
        argv: Sequence[str] | None = None,
    ) -> None:
        """``argv``: the whole command instead (``home`` and ``args`` then unused)."""
        full_env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        self.proc = subprocess.Popen(
            [*SERVER_ARGV, "--home", str(home), *args] if argv is None else list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self._stderr: list[bytes] = []
        self._listening = threading.Event()
        self.url = ""
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            found = LISTENING.search(line)
            if found and not self.url:
                self.url = found.group(1).decode()
                self._listening.set()
        self._listening.set()  # the process ended: stop waiting

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def wait_listening(self, timeout: float = START_TIMEOUT) -> str:
        """The ``ws://HOST:PORT`` the server printed once it accepts connections."""
        self._listening.wait(timeout)
        if not self.url:
            raise AssertionError(f"the server did not say where it listens:\n{self.stderr}")
        return self.url

    def wait_exit(self, timeout: float = START_TIMEOUT) -> int:
        code = self.proc.wait(timeout)
        self._stderr_reader.join(timeout)
        return code

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (a clean shutdown), then the exit code; SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"the server ignored SIGTERM:\n{self.stderr}") from None
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr_reader.join(timeout)
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class StdioClient:
    """JSON lines to and from a :class:`ServerProcess` serving stdio.

    Every line the server writes must be a JSON object (anything else fails the next read).
    """

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.server.proc.stdout is not None
        for line in self.server.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as it is (add the newline yourself)."""
        stdin = self.server.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def send(self, message: Mapping[str, Any]) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def receive(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message from the server:\n{self.server.stderr}") from None
        if line is None:
            self._lines.put(None)
            raise AssertionError(f"the server closed stdout:\n{self.server.stderr}")
        message = json.loads(line)
        assert isinstance(message, dict), line
        return message

    def until_reply(
        self, request_id: Any, timeout: float = REPLY_TIMEOUT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The reply to ``request_id`` and every other message received before it."""
        deadline = time.monotonic() + timeout
        others: list[dict[str, Any]] = []
        while True:
            message = self.receive(max(0.0, deadline - time.monotonic()))
            if "method" not in message and message.get("id") == request_id:
                return message, others
            others.append(message)

    def request(
        self, request_id: Any, method: str, params: Any = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.send({"id": request_id, "method": method, "params": params})
        return self.until_reply(request_id)

    def initialize(self) -> dict[str, Any]:
        reply, _ = self.request("init", "initialize", INITIALIZE)
        assert "result" in reply, reply
        self.send({"method": "initialized"})
        result: dict[str, Any] = reply["result"]
        return result


def is_error_reply(message: Mapping[str, Any]) -> bool:
    """A JSON-RPC error caused by the client (-32600 bad request, -32601 not supported)."""
    error = message.get("error")
    return (
        set(message) == {"error", "id"}
        and isinstance(error, dict)
        and error.get("code") in (-32600, -32601)
        and isinstance(error.get("message"), str)
    )


def home_digest(home: Path) -> dict[str, str]:
    """Every stored file of ``home`` (relative path → sha256), threadloom's index left out
    (a cache, refreshed by every listing)."""
    digest: dict[str, str] = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if not path.is_file() or relative.startswith("threadloom/index_"):
            continue
        digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def postgres_store_url() -> str:
    """The test process's PostgreSQL database as a ``postgresql://`` URL, for ``--store``
    (skips without a server or the postgres extra, fails under ``CI=true``)."""
    from ..store.postgres import server  # noqa: PLC0415

    database = server.process_database_url()  # skips here without the extra or a server
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - the postgres extra

    params = conninfo_to_dict(database)
    user = quote(str(params.get("user", "")))
    password = params.get("password")
    credentials = f"{user}:{quote(str(password))}@" if password else f"{user}@" if user else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    return f"postgresql://{credentials}{host}:{port}/{quote(str(params['dbname']))}"

"""A PostgreSQL server of a test's own (``initdb`` in a temporary folder, loopback only), to
crash and restart at will without touching the shared test server.

Needs PostgreSQL's server programs (``initdb``, ``pg_ctl``: on ``PATH``, under
``/usr/lib/postgresql/*/bin``, or in ``$THREADLOOM_TEST_PG_BIN``). Run as root, the server
runs as the ``postgres`` user. Without them the tests are skipped, except under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

BIN_ENV = "THREADLOOM_TEST_PG_BIN"
SERVER_USER = "postgres"


def _bin_dir() -> Path | None:
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        return Path(explicit)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateServer:
    """``initdb`` + ``pg_ctl`` on a free loopback port; ``crash_restart`` stops it the way a
    crash does (``-m immediate``: recovery from the WAL on the next start)."""

    def __init__(self) -> None:
        bindir = _bin_dir()
        if bindir is None or not (bindir / "initdb").exists():
            self._unusable(f"PostgreSQL's server programs are not installed (or set {BIN_ENV})")
        assert bindir is not None
        self.bindir = bindir
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                self._unusable("running as root needs runuser to start PostgreSQL")
            self.as_user = [str(runuser), "-u", SERVER_USER, "--"]
        self.root = Path(tempfile.mkdtemp(prefix="tl-pg-"))
        if self.as_user:
            shutil.chown(self.root, user=SERVER_USER)
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()

    @staticmethod
    def _unusable(reason: str) -> None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a private PostgreSQL server is needed: {reason}", pytrace=False)
        pytest.skip(reason)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bindir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", *args, action)

    def start(self) -> None:
        self._ctl("start")

    def crash_restart(self) -> None:
        """Stop at once, as a crash would (no checkpoint), and start again."""
        self._ctl("restart", "-m", "immediate")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

"""A synchronous client for the real ``codex app-server`` (the compatibility test peer).

``CodexPeer`` starts ``CODEX_HOME=<home> codex app-server`` (stdio, newline-delimited JSON-RPC),
performs the ``initialize`` handshake with the experimental API enabled, and offers
``request`` (returns the whole response object), notification collection, and ``close``.
Every read has a timeout. The peer gets a ``config.toml`` that turns off networked features
and points the built-in ``openai`` provider at ``http://127.0.0.1:9/v1``; when possible it
also runs in a fresh network namespace (``unshare -n``) so it can reach no address at all.

:func:`codex_paginated_threads` makes Codex itself write *paginated* threads without a model.

What Codex 0.169.0 wrote, observed by running the binary (``thread/*`` need no login):

* ``thread/start`` writes nothing; the thread is ``historyMode: "paginated"`` by default.
* ``thread/shellCommand {threadId, command: "echo …"}`` materializes the file: ``session_meta``
  (ordinal 0), ``task_started``, ``item_completed`` with a ``CommandExecution`` item (``source:
  "user_shell"``), a user ``response_item`` whose text is a ``<user_shell_command>`` block,
  ``task_complete``. No ``user_message`` / ``UserMessage`` item, so the preview is ``""`` and
  ``thread/list`` does **not** return the thread (``thread/read`` does, preview ``""``).
* ``thread/inject_items`` on a fresh thread writes the initial context first (``additional_tools``,
  developer messages, ``<environment_context>``, ``world_state``, ``turn_context`` with
  ``turn_id: "auto-compact-0"``, ``thread_settings_applied``) and then the injected
  ``response_item`` lines. Injected user messages never become a preview: not listed either.
* ``turn/start`` with text input writes the context items, the user ``response_item`` and an
  ``item_completed`` ``UserMessage``; the model request then goes to the loopback URL and never
  completes, so the helper interrupts it (``<turn_aborted>`` developer message + ``turn_aborted``).
  This thread has a preview and is listed.
* ``thread/name/set`` appends to ``session_index.jsonl`` only (nothing in the rollout).
* ``thread/fork`` of a paginated thread writes a child file with **no copied history**: one
  ``session_meta`` with ``forked_from_id``, ``forked_from_ordinal_exclusive`` and ``history_base
  {thread_id, end_ordinal_exclusive, end_byte_offset}`` whose ordinal continues the parent's,
  then ``thread_settings_applied``. The parent's name is copied into the index for the child.
* In the live home (state database present) ``thread/list`` shows the fork with the parent's
  preview and name. On a copy whose ``state_5.sqlite`` was removed (what the compat fixture
  uses), the scanning listing (no ``sourceKinds``) shows the fork with preview ``""`` and the
  conversation with its preview; the database listing (e.g. every ``sourceKinds``) shows only
  the conversation. Both show ``name: null`` although ``session_index.jsonl`` names them: for
  paginated threads Codex takes names from its database (``threads.name``), which the
  backfill does not fill from the index. Shell-only and injected-only threads stay unlisted.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from threadloom.protocol.source import SOURCE_KINDS
from threadloom.testing.home_gen import HomeManifest, generate_home, uses_database_path

BINARY_ENV = "THREADLOOM_CODEX_BIN"
CLIENT_NAME = "threadloom-tests"
LOOPBACK_BASE_URL = "http://127.0.0.1:9/v1"
NOISE_NOTIFICATIONS = frozenset({"configWarning", "remoteControl/status/changed"})
"""Notifications the binary emits at start-up that have nothing to do with threads."""

PEER_CONFIG = f"""\
# Written by threadloom.testing.codex_peer: no network features, model calls to loopback only.
openai_base_url = "{LOOPBACK_BASE_URL}"
check_for_update_on_startup = false

[features]
plugins = false
apps = false
remote_plugin = false
plugin_sharing = false
in_app_updates = false
"""

_EOF = object()


class CodexPeerError(RuntimeError):
    """The peer process failed, exited, or answered something unusable."""


class CodexPeerTimeout(CodexPeerError, TimeoutError):
    """No answer within the timeout."""


def write_peer_config(home: Path, extra: str = "") -> Path:
    """Write ``home/config.toml`` with networked features off (``extra`` TOML appended)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(PEER_CONFIG + extra, encoding="utf-8")
    return path


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "scripts" / "codex-peer").is_file():
            return parent
    return None


_netns_prefix: list[str] | None = None


def network_isolation_prefix() -> list[str]:
    """The command prefix that puts the peer in an empty network namespace ([] if impossible)."""
    global _netns_prefix  # noqa: PLW0603 - computed once per process
    if _netns_prefix is None:
        _netns_prefix = []
        unshare = shutil.which("unshare")
        if unshare is not None:
            candidates = [[unshare, "-n"]] if os.geteuid() == 0 else []
            candidates.append([unshare, "-rn"])
            for prefix in candidates:
                probe = subprocess.run(
                    [*prefix, "true"], capture_output=True, timeout=10, check=False
                )
                if probe.returncode == 0:
                    _netns_prefix = prefix
                    break
    return list(_netns_prefix)


class CodexPeer:
    """A running ``codex app-server`` on ``home``, driven synchronously.

    ``isolate_network``: ``None`` (default) uses an empty network namespace when the machine
    allows it, ``True`` requires one, ``False`` never uses one (for a loopback mock server).
    """

    def __init__(
        self,
        home: Path,
        *,
        binary: Path | None = None,
        timeout: float = 30.0,
        isolate_network: bool | None = None,
        write_config: bool = True,
        extra_config: str = "",
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        client_name: str = CLIENT_NAME,
        opt_out_notifications: tuple[str, ...] = (),
        command: Sequence[str] | None = None,
    ) -> None:
        """``command``: another server to drive instead of Codex (e.g. threadloom's own
        ``python -m threadloom app-server``), spoken to exactly the same way."""
        self.home = Path(home)
        self.timeout = timeout
        found = binary or (Path(command[0]) if command else self.find_binary())
        if found is None:
            raise CodexPeerError(f"codex binary not found (set {BINARY_ENV})")
        self.binary = found
        if write_config and not (self.home / "config.toml").exists():
            write_peer_config(self.home, extra_config)
        prefix: list[str] = []
        if isolate_network is not False:
            prefix = network_isolation_prefix()
            if isolate_network and not prefix:
                raise CodexPeerError("cannot create a network namespace (unshare -n)")
        self.network_isolated = bool(prefix)
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["CODEX_HOME"] = str(self.home)
        full_env.setdefault("RUST_LOG", "error")
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [*prefix, *(command or (str(self.binary), "app-server"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=full_env,
            cwd=str(cwd or self.home),
        )
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._notifications: list[dict[str, Any]] = []
        self._next_id = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        try:
            capabilities: dict[str, Any] = {"experimentalApi": True}
            if opt_out_notifications:
                capabilities["optOutNotificationMethods"] = list(opt_out_notifications)
            response = self.request(
                "initialize",
                {
                    "clientInfo": {"name": client_name, "version": "0.0.0"},
                    "capabilities": capabilities,
                },
            )
            if "result" not in response:
                raise CodexPeerError(f"initialize failed: {response}")
            self.initialize_result: dict[str, Any] = response["result"]
            self.notify("initialized")
        except BaseException:
            self.close()
            raise

    # -- discovery -----------------------------------------------------------------------------

    @classmethod
    def find_binary(cls) -> Path | None:
        """``$THREADLOOM_CODEX_BIN`` if set, else the path ``scripts/codex-peer`` prints.

        The script installs the pinned npm package on first use; None when that fails or the
        repository's scripts are not available.
        """
        configured = os.environ.get(BINARY_ENV)
        if configured:
            path = Path(configured)
            return path if path.is_file() else None
        root = _repo_root()
        if root is None:
            return None
        try:
            done = subprocess.run(
                [str(root / "scripts" / "codex-peer")],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            return None
        path = Path(lines[-1])
        return path if path.is_file() else None

    # -- I/O -------------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for raw in stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            self._queue.put(message)
        self._queue.put(_EOF)

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one JSON object as a line."""
        self.send_raw(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")

    def send_raw(self, data: bytes) -> None:
        """Write bytes to the server's stdin as they are."""
        stdin = self.proc.stdin
        if stdin is None or self._closed:
            raise CodexPeerError("peer is closed")
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise CodexPeerError(f"peer stdin closed: {self.stderr_tail()}") from exc

    def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification (no id, no answer)."""
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = dict(params)
        self.send(message)

    def _next(self, deadline: float, what: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CodexPeerTimeout(f"timed out waiting for {what}")
        try:
            message = self._queue.get(timeout=remaining)
        except queue.Empty:
            raise CodexPeerTimeout(f"timed out waiting for {what}") from None
        if message is _EOF:
            self._queue.put(_EOF)
            raise CodexPeerError(f"peer exited while waiting for {what}: {self.stderr_tail()}")
        if not isinstance(message, dict):
            raise CodexPeerError(f"unexpected message {message!r}")
        return message

    def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a request and return the whole response (``{"id", "result"}`` or ``error``).

        Notifications (and server requests) that arrive meanwhile are collected.
        """
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        self.send(message)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._next(deadline, f"the answer to {method}")
            if "method" not in reply and reply.get("id") == request_id:
                return reply
            self._collect(reply)

    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Like :meth:`request` but return ``result``; an ``error`` raises CodexPeerError."""
        reply = self.request(method, params, timeout=timeout)
        if "result" not in reply:
            raise CodexPeerError(f"{method} failed: {reply.get('error')}")
        result = reply["result"]
        if not isinstance(result, dict):
            raise CodexPeerError(f"{method}: unexpected result {result!r}")
        return result

    def _collect(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._notifications.append(message)

    # -- notifications ---------------------------------------------------------------------------

    def notifications(self, *, include_noise: bool = False) -> list[dict[str, Any]]:
        """Notifications received so far (start-up noise left out unless asked for)."""
        self.drain()
        with self._lock:
            notes = list(self._notifications)
        return notes if include_noise else without_noise(notes)

    def take_notifications(self, *, include_noise: bool = False) -> list[dict[str, Any]]:
        """Return the notifications received so far and forget them."""
        self.drain()
        with self._lock:
            notes, self._notifications = self._notifications, []
        return notes if include_noise else without_noise(notes)

    def clear_notifications(self) -> None:
        """Forget every notification received so far."""
        self.take_notifications(include_noise=True)

    def drain(self) -> None:
        """Move messages already read from the pipe into the notification list (no waiting)."""
        while True:
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                return
            if message is _EOF:
                self._queue.put(_EOF)
                return
            self._collect(message)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait for a notification ``method`` (matching ``predicate``); it is also collected.

        Notifications already collected are searched first (oldest first).
        """
        with self._lock:
            for note in self._notifications:
                if note.get("method") == method and (predicate is None or predicate(note)):
                    return note
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = self._next(deadline, f"notification {method}")
            self._collect(message)
            if message.get("method") == method and (predicate is None or predicate(message)):
                return message

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def stderr_tail(self, limit: int = 4000) -> str:
        """The end of the server's standard error."""
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def close(self, timeout: float = 10.0) -> int | None:
        """End the server: close stdin, then terminate, then kill. Returns its exit status."""
        if self._closed:
            return self.proc.returncode
        self._closed = True
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode

    def __enter__(self) -> CodexPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def without_noise(notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the start-up notifications unrelated to threads (``configWarning``, …)."""
    return [n for n in notifications if n.get("method") not in NOISE_NOTIFICATIONS]


def list_all_threads(
    peer: CodexPeer, params: Mapping[str, Any] | None = None, *, limit: int = 100
) -> list[dict[str, Any]]:
    """Page ``thread/list`` to the end and return every thread (``params`` as filters)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = dict(params or {})
        page_params["limit"] = limit
        if cursor is not None:
            page_params["cursor"] = cursor
        page = peer.call("thread/list", page_params)
        out.extend(page["data"])
        cursor = page.get("nextCursor")
        if cursor is None:
            return out


@dataclass(frozen=True, slots=True)
class PaginatedThreads:
    """Threads Codex wrote itself in paginated mode (see the module docstring)."""

    conversation: str
    """Interrupted user turn + shell command turn + name: has a preview, listed."""
    shell_only: str
    """One ``thread/shellCommand`` turn: no preview, not listed."""
    injected: str
    """Only ``thread/inject_items``: no preview, not listed."""
    fork: str
    """``thread/fork`` of ``conversation``: history lives in the parent file."""
    preview: str
    """The conversation's first user text."""
    name: str
    """The name set on the conversation (copied to the fork in ``session_index.jsonl``)."""

    @property
    def all_ids(self) -> tuple[str, ...]:
        return (self.conversation, self.shell_only, self.injected, self.fork)

    def listed_ids(self, source_kinds: Sequence[str] | None = None) -> tuple[str, ...]:
        """What ``thread/list`` shows of these threads, newest first, in a state-less copy.

        The scanning path (no ``sourceKinds``, or only cli/vscode) lists the fork (preview
        ``""``) and the conversation; the database path lists only the conversation.
        """
        if uses_database_path(source_kinds):
            return (self.conversation,)
        return (self.fork, self.conversation)


def interrupted_user_turn(peer: CodexPeer, thread_id: str, text: str) -> str:
    """Start a user turn, wait until its user message is persisted, interrupt it; turn id.

    The model request goes to the peer's loopback URL and never completes; nothing is sent
    anywhere else.
    """
    started = peer.call(
        "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
    )
    turn_id = str(started["turn"]["id"])
    peer.wait_for(
        "item/completed",
        lambda n: (
            n["params"].get("threadId") == thread_id
            and n["params"]["item"].get("type") == "userMessage"
        ),
    )
    peer.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    _wait_turn_completed(peer, thread_id, turn_id)
    return turn_id


def shell_command(peer: CodexPeer, thread_id: str, command: str) -> None:
    """Run ``command`` as a user shell turn and wait until the turn completed."""
    peer.clear_notifications()
    peer.call("thread/shellCommand", {"threadId": thread_id, "command": command})
    peer.wait_for("turn/completed", lambda n: n["params"].get("threadId") == thread_id)


def _wait_turn_completed(peer: CodexPeer, thread_id: str, turn_id: str) -> None:
    peer.wait_for(
        "turn/completed",
        lambda n: (
            n["params"].get("threadId") == thread_id and n["params"]["turn"].get("id") == turn_id
        ),
    )


def codex_paginated_threads(
    peer: CodexPeer,
    *,
    cwd: Path | None = None,
    preview: str = "paginated request from the codex peer",
    name: str = "Codex paginated thread",
) -> PaginatedThreads:
    """Make Codex write four paginated threads (conversation, shell-only, injected, fork).

    Each step waits for Codex to finish, so the files are complete when this returns; close
    the peer before copying the home so every write is flushed.
    """
    start_params: dict[str, Any] = {}
    if cwd is not None:
        start_params["cwd"] = str(cwd)

    def start() -> str:
        return str(peer.call("thread/start", start_params)["thread"]["id"])

    conversation = start()
    interrupted_user_turn(peer, conversation, preview)
    shell_command(peer, conversation, "echo threadloom-peer-shell")
    peer.call("thread/name/set", {"threadId": conversation, "name": name})

    shell_only = start()
    shell_command(peer, shell_only, "echo threadloom-shell-only")

    injected = start()
    peer.call(
        "thread/inject_items",
        {
            "threadId": injected,
            "items": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "injected user context"}],
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "injected assistant reply"}],
                },
            ],
        },
    )
    fork = str(peer.call("thread/fork", {"threadId": conversation})["thread"]["id"])
    return PaginatedThreads(
        conversation=conversation,
        shell_only=shell_only,
        injected=injected,
        fork=fork,
        preview=preview,
        name=name,
    )


ALL_SOURCE_KINDS = SOURCE_KINDS
"""Every ``sourceKinds`` value ``thread/list`` accepts."""

CODEX_STATE_FILES = ("state_5.sqlite", "state_5.sqlite-wal", "state_5.sqlite-shm")


@dataclass(frozen=True, slots=True)
class CompatHome:
    """A generated varied home plus threads the real Codex wrote into it (paginated mode)."""

    path: Path
    manifest: HomeManifest
    paginated: PaginatedThreads

    def copy_to(self, dest: Path) -> Path:
        """Copy the home to ``dest`` (a new folder) for a test that changes it."""
        shutil.copytree(self.path, dest, symlinks=True)
        return dest

    def expected_list_ids(
        self,
        *,
        archived: bool = False,
        source_kinds: Sequence[str] | None = ALL_SOURCE_KINDS,
        model_providers: Sequence[str] | None = (),
    ) -> list[str]:
        """Ids ``thread/list`` should return for these filters (Codex's threads first).

        The Codex-written threads are the newest, source ``vscode``, provider ``openai``.
        """
        generated = self.manifest.expected_list(
            archived=archived, source_kinds=source_kinds, model_providers=model_providers
        )
        ids = [r.id for r in generated]
        codex_kinds_ok = not source_kinds or "vscode" in source_kinds
        providers_ok = (
            model_providers is None or not model_providers or ("openai" in model_providers)
        )
        if archived or not codex_kinds_ok or not providers_ok:
            return ids
        return list(self.paginated.listed_ids(source_kinds)) + ids


def build_compat_home(
    home: Path,
    *,
    binary: Path | None = None,
    threads: int = 300,
    seed: int = 20251,
    turns: tuple[int, int] = (1, 4),
) -> CompatHome:
    """Generate a varied home of ``threads`` threads, then let Codex add paginated threads.

    The peer is closed afterwards and Codex's ``state_5.sqlite`` is removed (it stores
    absolute paths, so a copy would still point at this folder); ``thread_history_1.sqlite``
    stays, because Codex lists paginated threads only when their projection exists.
    """
    manifest = generate_home(home, threads=threads, seed=seed, turns=turns, varied=True)
    with CodexPeer(home, binary=binary) as peer:
        paginated = codex_paginated_threads(peer, cwd=home)
    for name in CODEX_STATE_FILES:
        (home / name).unlink(missing_ok=True)
    return CompatHome(path=home, manifest=manifest, paginated=paginated)

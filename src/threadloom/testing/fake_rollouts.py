"""Builders for fake Codex rollout files: healthy threads, every source form, damaged files.

Lines are written the way Codex 0.169.0 writes them (rollout-format sections 4-9): compact JSON
with raw UTF-8 (``codec_json.dumps``), ``YYYY-MM-DDThh:mm:ss.mmmZ`` UTC line timestamps, Codex's
key orders, file names and date folders in *local* time (``protocol.paths``).

Everything is deterministic: ids that are not given are drawn from a ``random.Random`` seeded
with the thread id, and no clock is read.

Typical use::

    b = RolloutBuilder(thread_id, created="2025-03-01T10:00:00Z", source="exec")
    b.turn("fix the flaky test", "Done: the test now waits for the socket.")
    path = b.write(codex_home)
"""

from __future__ import annotations

import enum
import os
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

import zstandard

from threadloom.protocol.codec_json import dumps
from threadloom.protocol.paths import (
    ARCHIVED_DIR,
    SESSION_INDEX,
    rollout_file_name,
    rollout_relative_path,
)
from threadloom.protocol.rollout import SESSION_META_KEY_ORDER

DEFAULT_CWD = "/home/user/project"
DEFAULT_MODEL = "gpt-5.1-codex"
DEFAULT_CONTEXT_WINDOW = 258400

Created = int | str | datetime
"""A creation instant: Unix milliseconds, an RFC 3339 string, or an aware datetime."""

SOURCE_FORMS: tuple[Any, ...] = (
    "cli",
    "vscode",
    "exec",
    "mcp",
    "unknown",
    "app-server",
    {"custom": "atlas"},
    {"custom": "myapp"},
    {"internal": "memory_consolidation"},
    {"subagent": "review"},
    {"subagent": "compact"},
    {"subagent": "memory_consolidation"},
    {
        "subagent": {
            "thread_spawn": {
                "parent_thread_id": "00000000-0000-4000-8000-000000000001",
                "depth": 1,
                "agent_path": None,
                "agent_nickname": "Bob",
                "agent_role": "worker",
            }
        }
    },
    {"subagent": {"other": "linter"}},
)
"""One example of every on-disk ``source`` form of rollout-format 6.3."""


META_KEY_ORDER = tuple(k for k in SESSION_META_KEY_ORDER if k != "git")
"""``session_meta`` field order of Codex 0.169.0 (``git`` always last, unknown keys before it)."""


def order_meta(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with its keys in Codex's ``session_meta`` order."""
    out = {k: payload[k] for k in META_KEY_ORDER if k in payload}
    out.update((k, v) for k, v in payload.items() if k not in out and k != "git")
    if "git" in payload:
        out["git"] = payload["git"]
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(value: Created) -> int:
    """Unix milliseconds for ms, an RFC 3339 string (``…Z`` or offset) or an aware datetime."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    return (value - _EPOCH) // timedelta(milliseconds=1)


def format_ts(ms: int) -> str:
    """UTC ``YYYY-MM-DDThh:mm:ss.mmmZ`` (every line timestamp Codex writes)."""
    seconds, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:03d}Z"


def format_ts_nanos(ns: int) -> str:
    """UTC RFC 3339 with nine fractional digits (``session_index.jsonl`` ``updated_at``)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def uuid7(ms: int, rng: random.Random) -> str:
    """A UUIDv7 for ``ms`` whose random bits come from ``rng`` (deterministic)."""
    rand = rng.getrandbits(74)
    value = (
        ((ms & ((1 << 48) - 1)) << 80)
        | (0x7 << 76)
        | ((rand >> 62) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4(rng: random.Random) -> str:
    """A UUIDv4 drawn from ``rng`` (old Codex threads use v4 ids)."""
    value = (rng.getrandbits(128) & ~(0xF << 76) & ~(0x3 << 62)) | (0x4 << 76) | (0b10 << 62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def git_info(
    commit_hash: str | None = None, branch: str | None = None, repository_url: str | None = None
) -> dict[str, str]:
    """A ``session_meta.git`` object; unknown members are omitted, as Codex does."""
    out: dict[str, str] = {}
    if commit_hash is not None:
        out["commit_hash"] = commit_hash
    if branch is not None:
        out["branch"] = branch
    if repository_url is not None:
        out["repository_url"] = repository_url
    return out


def rollout_path(home: Path, thread_id: str, created: Created, *, archived: bool = False) -> Path:
    """Where Codex keeps the rollout of a thread created at ``created`` (local-time names)."""
    created_ms = to_ms(created)
    if archived:
        return home / ARCHIVED_DIR / rollout_file_name(thread_id, created_ms)
    return home / rollout_relative_path(thread_id, created_ms)


def set_mtime(path: Path, ms: int) -> None:
    """Set access and modification time to ``ms`` (Codex reports mtime as ``updatedAt``)."""
    ns = ms * 1_000_000
    os.utime(path, ns=(ns, ns))


def append_session_index(home: Path, thread_id: str, name: str, *, updated_at: Created) -> None:
    """Append one ``{"id","thread_name","updated_at"}`` line to ``session_index.jsonl``."""
    ns = to_ms(updated_at) * 1_000_000
    line = dumps({"id": thread_id, "thread_name": name, "updated_at": format_ts_nanos(ns)})
    home.mkdir(parents=True, exist_ok=True)
    with (home / SESSION_INDEX).open("ab") as fh:
        fh.write(line + b"\n")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One ``function_call`` / ``function_call_output`` round trip inside a turn."""

    name: str
    arguments: str
    output: str


class RolloutBuilder:
    """Accumulates the lines of one rollout file; every appending method returns ``self``.

    The thread's ``session_meta`` is written first unless ``write_meta=False`` (then call
    :meth:`session_meta` yourself, e.g. after an event line). A ``history_mode`` of
    ``"paginated"`` adds ``ordinal`` to every line; ``None`` omits the field (old writers).
    """

    def __init__(
        self,
        thread_id: str,
        *,
        created: Created,
        cwd: str = DEFAULT_CWD,
        source: Any = "cli",
        model_provider: str | None = "openai",
        originator: str = "codex_cli_rs",
        cli_version: str = "0.169.0",
        history_mode: str | None = "legacy",
        git: Mapping[str, str] | None = None,
        forked_from_id: str | None = None,
        parent_thread_id: str | None = None,
        agent_nickname: str | None = None,
        agent_role: str | None = None,
        agent_path: str | None = None,
        thread_source: str | None = None,
        memory_mode: str | None = None,
        session_id: bool = True,
        account_scoped: bool = True,
        base_instructions: Any = None,
        meta_extra: Mapping[str, Any] | None = None,
        write_meta: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.thread_id = thread_id
        self.created_ms = to_ms(created)
        self.cwd = cwd
        self.history_mode = history_mode
        self.rng = rng if rng is not None else random.Random(thread_id)
        self.now_ms = self.created_ms + 20
        self._lines: list[bytes] = []
        self._metas: list[dict[str, Any]] = []
        self._size = 0
        self._torn: bytes | None = None
        self._ordinal = 0
        self._totals = [0, 0, 0, 0]
        self._turn_started_ms = self.now_ms
        self.turn_ids: list[str] = []
        meta: dict[str, Any] = {}
        if account_scoped:
            meta["account_scoped"] = True
        if session_id:
            meta["session_id"] = thread_id
        meta["id"] = thread_id
        if forked_from_id is not None:
            meta["forked_from_id"] = forked_from_id
        meta["timestamp"] = format_ts(self.created_ms)
        meta["cwd"] = cwd
        meta["originator"] = originator
        meta["cli_version"] = cli_version
        if source is not None:
            meta["source"] = source
        optional = (
            ("thread_source", thread_source),
            ("agent_nickname", agent_nickname),
            ("agent_role", agent_role),
            ("agent_path", agent_path),
            ("parent_thread_id", parent_thread_id),
        )
        meta.update((k, v) for k, v in optional if v is not None)
        if model_provider is not None:
            meta["model_provider"] = model_provider
        meta["base_instructions"] = base_instructions
        if memory_mode is not None:
            meta["memory_mode"] = memory_mode
        if history_mode is not None:
            meta["history_mode"] = history_mode
        if meta_extra:
            meta.update(meta_extra)
        if git:
            meta["git"] = dict(git)
        self.meta: dict[str, Any] = order_meta(meta)
        if write_meta:
            self.session_meta()

    # -- low level ---------------------------------------------------------------------------

    def tick(self, ms: int = 1) -> RolloutBuilder:
        """Advance the builder's clock (line timestamps) by ``ms``."""
        self.now_ms += ms
        return self

    def line(self, kind: str, payload: Any, *, metadata: Any = None) -> RolloutBuilder:
        """Append one envelope line ``{"timestamp",["ordinal"],"type","payload",["metadata"]}``."""
        obj: dict[str, Any] = {"timestamp": format_ts(self.now_ms)}
        if self.history_mode == "paginated":
            obj["ordinal"] = self._ordinal
            self._ordinal += 1
        obj["type"] = kind
        obj["payload"] = payload
        if metadata is not None:
            obj["metadata"] = metadata
        return self.raw(dumps(obj))

    def raw(self, data: bytes) -> RolloutBuilder:
        """Append ``data`` verbatim as one line (no validation)."""
        self._lines.append(data)
        self._size += len(data) + 1
        return self

    def event(self, payload: Mapping[str, Any]) -> RolloutBuilder:
        """Append an ``event_msg`` line."""
        return self.line("event_msg", dict(payload))

    def response_item(self, payload: Mapping[str, Any], *, metadata: Any = None) -> RolloutBuilder:
        """Append a ``response_item`` line."""
        return self.line("response_item", dict(payload), metadata=metadata)

    def new_id(self, prefix: str = "") -> str:
        """A fresh deterministic UUIDv7 at the builder's clock, optionally ``<prefix>_…``."""
        value = uuid7(self.now_ms, self.rng)
        return f"{prefix}_{value}" if prefix else value

    # -- session metadata --------------------------------------------------------------------

    def session_meta(self, **changes: Any) -> RolloutBuilder:
        """Append this thread's ``session_meta``; ``changes`` override fields (``None`` drops).

        Called again later it mimics a legacy metadata change; see :meth:`update_meta`.
        """
        payload = dict(self.meta)
        for key, value in changes.items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        payload.setdefault("base_instructions", None)
        payload = order_meta(payload)
        self._metas.append(payload)
        return self.line("session_meta", payload)

    def update_meta(
        self, *, git: Mapping[str, str] | None = None, memory_mode: str = "enabled"
    ) -> RolloutBuilder:
        """The full copy Codex appends on ``thread/metadata/update`` or ``memoryMode/set``.

        Observed: the copy carries ``memory_mode`` and only the ``git`` of that update
        (``None`` = no ``git`` member, as after a ``memoryMode/set``).
        """
        return self.session_meta(git=None if git is None else dict(git), memory_mode=memory_mode)

    def foreign_meta(self, payload: Mapping[str, Any]) -> RolloutBuilder:
        """Append another thread's ``session_meta`` payload (line 2 of a legacy fork)."""
        self._metas.append(dict(payload))
        return self.line("session_meta", dict(payload))

    @property
    def metas(self) -> tuple[dict[str, Any], ...]:
        """Payloads of the ``session_meta`` lines written so far (own and foreign), in order."""
        return tuple(self._metas)

    @property
    def size(self) -> int:
        """Bytes of the complete lines so far (newlines included)."""
        return self._size

    @property
    def lines(self) -> tuple[bytes, ...]:
        """The encoded lines so far (without newlines, torn fragment excluded)."""
        return tuple(self._lines)

    # -- turn pieces ---------------------------------------------------------------------------

    def environment_context(self, cwd: str | None = None) -> RolloutBuilder:
        """The ``<environment_context>`` user ``response_item`` Codex writes before a first turn.

        It is model context, not a user message: it never becomes a preview.
        """
        text = (
            f"<environment_context>\n  <cwd>{cwd or self.cwd}</cwd>\n  <shell>bash</shell>\n"
            "</environment_context>"
        )
        return self.response_item(
            {
                "type": "message",
                "id": self.new_id("msg"),
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
        )

    def turn_context(
        self,
        *,
        turn_id: str | None = None,
        model: str = DEFAULT_MODEL,
        effort: str | None = None,
        cwd: str | None = None,
        approval_policy: str = "on-request",
        sandbox_policy: Mapping[str, Any] | None = None,
        summary: str = "auto",
    ) -> RolloutBuilder:
        """Append a ``turn_context`` in 0.169.0 key order (``effort`` only when given)."""
        payload: dict[str, Any] = {}
        if turn_id is not None:
            payload["turn_id"] = turn_id
            payload["root_turn_id"] = turn_id
        payload["cwd"] = cwd or self.cwd
        payload["approval_policy"] = approval_policy
        payload["approvals_reviewer"] = "user"
        payload["model"] = model
        payload["collaboration_mode"] = {
            "mode": "default",
            "settings": {
                "model": model,
                "reasoning_effort": effort,
                "developer_instructions": None,
            },
        }
        payload["realtime_active"] = False
        if effort is not None:
            payload["effort"] = effort
        payload["summary"] = summary
        payload["sandbox_policy"] = dict(sandbox_policy or {"type": "read-only"})
        return self.line("turn_context", payload)

    def task_started(self, turn_id: str | None = None) -> RolloutBuilder:
        """Open a turn (0.169.0 ``task_started`` shape); records the id in ``turn_ids``."""
        turn_id = turn_id or self.new_id()
        self.turn_ids.append(turn_id)
        self._turn_started_ms = self.now_ms
        return self.event(
            {
                "type": "task_started",
                "turn_attribution": {
                    "turn_id": turn_id,
                    "turn_trigger": None,
                    "parent_turn_id": None,
                    "initiating_agent_path": None,
                    "root_turn_id": turn_id,
                },
                "turn_id": turn_id,
                "root_turn_id": turn_id,
                "started_at": self.now_ms // 1000,
                "model_context_window": DEFAULT_CONTEXT_WINDOW,
                "collaboration_mode_kind": "default",
            }
        )

    def task_complete(
        self, turn_id: str | None = None, last_agent_message: str | None = None
    ) -> RolloutBuilder:
        """Close a turn (defaults to the last started one)."""
        turn_id = turn_id or self.turn_ids[-1]
        started = self._turn_started_ms
        return self.event(
            {
                "type": "task_complete",
                "root_turn_id": turn_id,
                "turn_id": turn_id,
                "last_agent_message": last_agent_message,
                "started_at": started // 1000,
                "completed_at": self.now_ms // 1000,
                "duration_ms": self.now_ms - started,
            }
        )

    def turn_aborted(
        self, turn_id: str | None = None, reason: str = "interrupted"
    ) -> RolloutBuilder:
        """Mark a turn interrupted."""
        turn_id = turn_id or self.turn_ids[-1]
        started = self._turn_started_ms
        return self.event(
            {
                "type": "turn_aborted",
                "root_turn_id": turn_id,
                "turn_id": turn_id,
                "reason": reason,
                "started_at": started // 1000,
                "completed_at": self.now_ms // 1000,
                "duration_ms": self.now_ms - started,
            }
        )

    def user_message(
        self,
        text: str,
        *,
        images: Sequence[str] = (),
        local_images: Sequence[str] = (),
        text_elements: Sequence[Mapping[str, Any]] = (),
        response_item: bool = True,
        event: bool = True,
    ) -> RolloutBuilder:
        """A user message: the model-visible ``response_item`` then the ``user_message`` event."""
        if response_item:
            content: list[dict[str, Any]] = []
            if text:
                content.append({"type": "input_text", "text": text})
            content.extend({"type": "input_image", "image_url": url} for url in images)
            self.response_item(
                {"type": "message", "id": self.new_id("msg"), "role": "user", "content": content}
            )
        if event:
            self.event(
                {
                    "type": "user_message",
                    "message": text,
                    "images": list(images),
                    "local_images": list(local_images),
                    "local_audio": [],
                    "text_elements": [dict(e) for e in text_elements],
                }
            )
        return self

    def agent_message(
        self, text: str, *, phase: str | None = "final_answer", response_item: bool = True
    ) -> RolloutBuilder:
        """An assistant message: ``response_item`` then the ``agent_message`` event."""
        if response_item:
            item: dict[str, Any] = {
                "type": "message",
                "id": self.new_id("msg"),
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
            if phase is not None:
                item["phase"] = phase
            self.response_item(item)
        return self.event(
            {"type": "agent_message", "message": text, "phase": phase, "memory_citation": None}
        )

    def reasoning(self, summary: str, *, event: bool = True) -> RolloutBuilder:
        """A ``reasoning`` response item (encrypted body) plus its ``agent_reasoning`` event."""
        if event:
            self.event({"type": "agent_reasoning", "text": summary})
        blob = f"{self.rng.getrandbits(192):048x}"
        return self.response_item(
            {
                "type": "reasoning",
                "id": self.new_id("rs"),
                "summary": [{"type": "summary_text", "text": summary}],
                "content": None,
                "encrypted_content": "gAAAAB" + blob,
            }
        )

    def function_call(self, name: str, arguments: str, call_id: str) -> RolloutBuilder:
        """A ``function_call`` response item (``arguments`` is a JSON *string*)."""
        return self.response_item(
            {
                "type": "function_call",
                "id": self.new_id("fc"),
                "name": name,
                "arguments": arguments,
                "call_id": call_id,
            }
        )

    def function_call_output(self, call_id: str, output: str) -> RolloutBuilder:
        """A ``function_call_output`` response item."""
        return self.response_item(
            {
                "type": "function_call_output",
                "id": self.new_id("fco"),
                "call_id": call_id,
                "output": output,
            }
        )

    def token_count(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: int = 0,
        reasoning_output_tokens: int = 0,
    ) -> RolloutBuilder:
        """A ``token_count`` event; totals accumulate over the builder's calls."""
        last = (input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens)
        self._totals = [a + b for a, b in zip(self._totals, last, strict=True)]
        return self.event(
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": _usage(*self._totals),
                    "last_token_usage": _usage(*last),
                    "model_context_window": DEFAULT_CONTEXT_WINDOW,
                },
                "rate_limits": None,
            }
        )

    @property
    def total_tokens(self) -> int:
        """``total_tokens`` of the last ``token_count`` written (0 before any)."""
        return self._totals[0] + self._totals[2]

    def turn(
        self,
        user: str,
        agent: str | None,
        *,
        turn_id: str | None = None,
        model: str = DEFAULT_MODEL,
        effort: str | None = None,
        images: Sequence[str] = (),
        local_images: Sequence[str] = (),
        text_elements: Sequence[Mapping[str, Any]] = (),
        reasoning: str | None = None,
        tool_calls: Iterable[ToolCall] = (),
        tokens: tuple[int, int] | None = (1200, 80),
        duration_ms: int = 4000,
        complete: bool = True,
        environment_context: bool = False,
    ) -> RolloutBuilder:
        """One explicit legacy turn the way Codex records it.

        ``task_started``, ``turn_context``, [``<environment_context>``], user ``response_item`` +
        ``user_message``,
        reasoning, tool calls, assistant ``response_item`` + ``agent_message``,
        ``token_count``, ``task_complete`` (omitted when ``complete`` is false).
        """
        turn_id = turn_id or self.new_id()
        calls = list(tool_calls)
        step = max(1, duration_ms // (4 + 2 * len(calls)))
        self.task_started(turn_id)
        self.tick(2).turn_context(turn_id=turn_id, model=model, effort=effort)
        if environment_context:
            self.environment_context()
        self.tick(3).user_message(
            user, images=images, local_images=local_images, text_elements=text_elements
        )
        if reasoning is not None:
            self.tick(step).reasoning(reasoning)
        for call in calls:
            call_id = f"call_{self.rng.getrandbits(96):024x}"
            self.tick(step).function_call(call.name, call.arguments, call_id)
            self.tick(step).function_call_output(call_id, call.output)
        if agent is not None:
            self.tick(step).agent_message(agent)
        if tokens is not None:
            self.tick(5).token_count(*tokens)
        if complete:
            self.tick(3).task_complete(turn_id, agent)
        return self

    # -- damage ----------------------------------------------------------------------------

    def blank(self, count: int = 1) -> RolloutBuilder:
        """Append empty lines."""
        self._lines.extend([b""] * count)
        self._size += count
        return self

    def garbage(self, text: bytes = b"this line is {not json") -> RolloutBuilder:
        """Append a line that is not JSON."""
        return self.raw(text)

    def torn(self, fragment: bytes | None = None) -> RolloutBuilder:
        """End the file with a cut line and no trailing newline (a crash mid-write)."""
        if fragment is None:
            whole = dumps(
                {
                    "timestamp": format_ts(self.now_ms),
                    "type": "event_msg",
                    "payload": {"type": "agent_message", "message": "cut off mid-write"},
                }
            )
            fragment = whole[: len(whole) * 2 // 3]
        self._torn = fragment
        return self

    # -- output ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The file content."""
        body = b"\n".join(self._lines) + b"\n" if self._lines else b""
        return body + (self._torn or b"")

    def relative_path(self, *, archived: bool = False, file_id: str | None = None) -> PurePath:
        """``sessions/YYYY/MM/DD/<name>`` or ``archived_sessions/<name>`` (local time)."""
        name_id = file_id or self.thread_id
        if archived:
            return PurePath(ARCHIVED_DIR, rollout_file_name(name_id, self.created_ms))
        return rollout_relative_path(name_id, self.created_ms)

    def write(
        self,
        home: Path,
        *,
        archived: bool = False,
        compressed: bool = False,
        file_id: str | None = None,
        mtime_ms: int | None = None,
    ) -> Path:
        """Write the file under ``home`` and return its path.

        ``file_id`` names the file with another uuid (mismatched id); ``compressed`` writes a
        ``.jsonl.zst`` zstd frame; ``mtime_ms`` defaults to the last line's timestamp.
        """
        path = home / self.relative_path(archived=archived, file_id=file_id)
        data = self.to_bytes()
        if compressed:
            path = path.with_name(path.name + ".zst")
            data = zstandard.ZstdCompressor(level=3).compress(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        set_mtime(path, self.now_ms if mtime_ms is None else mtime_ms)
        return path


def _usage(inp: int, cached: int, out: int, reasoning: int) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def write_rollout(
    home: Path,
    thread_id: str,
    *,
    created: Created,
    messages: Sequence[str | tuple[str, str | None]] = ("hello",),
    source: Any = "cli",
    model_provider: str | None = "openai",
    cwd: str = DEFAULT_CWD,
    git: Mapping[str, str] | None = None,
    model: str = DEFAULT_MODEL,
    effort: str | None = None,
    history_mode: str | None = "legacy",
    archived: bool = False,
    name: str | None = None,
    mtime: Created | None = None,
    **meta: Any,
) -> Path:
    """One call for the common case: a thread of explicit turns, written under ``home``.

    ``messages`` are user texts or ``(user, agent)`` pairs, one turn each; an empty sequence
    gives a thread without user message (never listed by Codex). ``name`` is appended to
    ``session_index.jsonl``; further keyword arguments go to :class:`RolloutBuilder`.
    """
    b = RolloutBuilder(
        thread_id,
        created=created,
        source=source,
        model_provider=model_provider,
        cwd=cwd,
        git=git,
        history_mode=history_mode,
        **meta,
    )
    for i, message in enumerate(messages):
        user, agent = (message, f"answer {i + 1}") if isinstance(message, str) else message
        b.tick(1000).turn(user, agent, model=model, effort=effort)
    path = b.write(home, archived=archived, mtime_ms=None if mtime is None else to_ms(mtime))
    if name is not None:
        append_session_index(home, thread_id, name, updated_at=b.now_ms)
    return path


class Damage(enum.StrEnum):
    """Kinds of unusual files :func:`write_damaged_rollout` produces (rollout-format 18)."""

    TORN_LAST_LINE = "torn_last_line"
    """Last line cut mid-JSON, no trailing newline: still listed, the fragment is ignored."""
    GARBAGE_LINES = "garbage_lines"
    """Non-JSON lines between valid ones: skipped, thread listed."""
    BLANK_LINES = "blank_lines"
    """Empty lines: skipped, thread listed."""
    FOREIGN_HISTORY_MODE = "foreign_history_mode"
    """``history_mode`` neither legacy nor paginated: unreadable and never listed."""
    MISMATCHED_ID = "mismatched_id"
    """File-name uuid differs from ``session_meta.id``: listed under the meta id."""
    MISSING_META = "missing_meta"
    """No ``session_meta``: ``thread/read`` fails and the scanning ``thread/list`` skips it, but
    Codex 0.169.0's database listing shows it (file-name id, source ``vscode``)."""
    COMPRESSED = "compressed"
    """A ``.jsonl.zst`` zstd frame: listed and read transparently."""
    EVENT_BEFORE_META = "event_before_meta"
    """An ``event_msg`` line precedes the ``session_meta``: tolerated, listed."""
    UNKNOWN_SOURCE_OBJECT = "unknown_source_object"
    """``source`` is an object with an unknown key: like MISSING_META (read fails, listed only
    by the database path)."""


LISTED_DAMAGE = frozenset(
    {
        Damage.TORN_LAST_LINE,
        Damage.GARBAGE_LINES,
        Damage.BLANK_LINES,
        Damage.MISMATCHED_ID,
        Damage.COMPRESSED,
        Damage.EVENT_BEFORE_META,
    }
)
"""Damage kinds after which Codex still reads the thread and every listing shows it."""


def damaged_builder(
    damage: Damage, thread_id: str, *, created: Created, text: str = "damaged thread", **meta: Any
) -> RolloutBuilder:
    """A builder whose content carries ``damage`` (file-level kinds need :func:`write_damaged`)."""
    if damage is Damage.FOREIGN_HISTORY_MODE:
        meta["history_mode"] = "segmented"
    if damage is Damage.UNKNOWN_SOURCE_OBJECT:
        meta["source"] = {"future_kind": "x"}
    write_meta = damage not in (Damage.MISSING_META, Damage.EVENT_BEFORE_META)
    b = RolloutBuilder(thread_id, created=created, write_meta=write_meta, **meta)
    if damage is Damage.EVENT_BEFORE_META:
        b.event({"type": "token_count", "info": None, "rate_limits": None}).tick(1).session_meta()
    if damage is Damage.GARBAGE_LINES:
        b.garbage().garbage(b'{"type":"event_msg"')
    if damage is Damage.BLANK_LINES:
        b.blank(2)
    b.tick(500).turn(text, "reply to " + text)
    if damage is Damage.GARBAGE_LINES:
        b.garbage(b"\x00\x01 binary junk").raw(
            b'{"timestamp":"x","type":"no_such_kind","payload":{}}'
        )
    if damage is Damage.BLANK_LINES:
        b.blank()
    if damage is Damage.TORN_LAST_LINE:
        b.torn()
    return b


def write_damaged_rollout(
    home: Path,
    damage: Damage,
    *,
    thread_id: str,
    created: Created,
    text: str = "damaged thread",
    file_id: str | None = None,
    **meta: Any,
) -> Path:
    """Write a rollout with ``damage``; ``file_id`` is the file-name uuid for MISMATCHED_ID."""
    b = damaged_builder(damage, thread_id, created=created, text=text, **meta)
    if damage is Damage.MISMATCHED_ID and file_id is None:
        file_id = uuid4(random.Random(thread_id + "/file"))
    return b.write(home, compressed=damage is Damage.COMPRESSED, file_id=file_id)

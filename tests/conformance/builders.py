"""Realistic rollout lines and thread fixtures, built only through the ThreadStore Protocol."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from threadloom.ids import ThreadId, new_thread_id
from threadloom.protocol.codec import format_timestamp, parse_timestamp_ms
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, TURN_CONTEXT, RolloutLine
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    AppendItemsParams,
    CreateThreadParams,
    ThreadIdParams,
)

BASE_MS = parse_timestamp_ms("2025-03-01T10:00:00Z") or 0
"""2025-03-01T10:00:00Z: the creation time tests count from."""
DAY_MS = 86_400_000
LINE_TIME = "2025-03-01T10:00:00.000Z"


def at(ms: int) -> str:
    """A line timestamp (``YYYY-MM-DDThh:mm:ss.mmmZ``)."""
    return format_timestamp(ms)


def event(payload: dict[str, Any], timestamp: str = LINE_TIME) -> RolloutLine:
    return RolloutLine(timestamp=timestamp, type=EVENT_MSG, payload=payload)


def user_message(text: str, *, images: Sequence[str] = ()) -> RolloutLine:
    """An ``event_msg/user_message`` as 0.169.0 writes it."""
    return event(
        {
            "type": "user_message",
            "message": text,
            "images": list(images),
            "local_images": [],
            "local_audio": [],
            "text_elements": [],
        }
    )


def agent_message(text: str, phase: str | None = None) -> RolloutLine:
    return event(
        {"type": "agent_message", "message": text, "phase": phase, "memory_citation": None}
    )


def task_started(turn_id: str) -> RolloutLine:
    return event(
        {
            "type": "task_started",
            "turn_id": turn_id,
            "root_turn_id": turn_id,
            "started_at": BASE_MS // 1000,
            "model_context_window": 258400,
            "collaboration_mode_kind": "default",
        }
    )


def task_complete(turn_id: str, last_agent_message: str | None = None) -> RolloutLine:
    return event(
        {
            "type": "task_complete",
            "root_turn_id": turn_id,
            "turn_id": turn_id,
            "last_agent_message": last_agent_message,
            "completed_at": BASE_MS // 1000 + 1,
            "duration_ms": 705,
        }
    )


def token_count(total: int) -> RolloutLine:
    usage = {
        "input_tokens": total - 10,
        "cached_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "output_tokens": 10,
        "reasoning_output_tokens": 0,
        "total_tokens": total,
    }
    return event(
        {
            "type": "token_count",
            "info": {
                "total_token_usage": usage,
                "last_token_usage": usage,
                "model_context_window": 200000,
            },
            "rate_limits": None,
        }
    )


def turn_context(
    model: str = "gpt-5", *, effort: str | None = None, cwd: str = "/w/a", turn_id: str = "t"
) -> RolloutLine:
    payload: dict[str, Any] = {
        "turn_id": turn_id,
        "cwd": cwd,
        "approval_policy": "on-request",
        "sandbox_policy": {"type": "read-only"},
        "model": model,
        "summary": "auto",
    }
    if effort is not None:
        payload["effort"] = effort
    return RolloutLine(timestamp=LINE_TIME, type=TURN_CONTEXT, payload=payload)


def settings_applied(model: str, *, effort: str | None = None, cwd: str = "/w/a") -> RolloutLine:
    """A ``thread_settings_applied`` event (what Codex records when it resumes a thread)."""
    settings: dict[str, Any] = {
        "model": model,
        "model_provider_id": "openai",
        "approval_policy": "on-request",
        "approvals_reviewer": "user",
        "permission_profile": {"type": "disabled"},
        "cwd": cwd,
    }
    if effort is not None:
        settings["reasoning_effort"] = effort
    settings["collaboration_mode"] = {
        "mode": "default",
        "settings": {"model": model, "reasoning_effort": effort, "developer_instructions": None},
    }
    return event({"type": "thread_settings_applied", "thread_settings": settings})


def response_message(role: str, text: str) -> RolloutLine:
    """A ``response_item`` message (model context; never a preview or a search text)."""
    kind = "output_text" if role == "assistant" else "input_text"
    return RolloutLine(
        timestamp=LINE_TIME,
        type=RESPONSE_ITEM,
        payload={
            "type": "message",
            "role": role,
            "content": [{"type": kind, "text": text}],
        },
    )


def unknown_line(tag: str) -> RolloutLine:
    """A line of a kind Codex does not know (kept verbatim by stores, ignored by readers)."""
    return RolloutLine(timestamp=LINE_TIME, type="future_kind", payload={"tag": tag})


def turn(
    user: str,
    agent: str | None = "ok",
    *,
    turn_id: str | None = None,
    model: str = "gpt-5",
    tokens: int | None = None,
) -> list[RolloutLine]:
    """One complete turn as a live legacy thread records it."""
    tid = turn_id or f"turn-{zlib.crc32(user.encode()):08x}"
    lines = [task_started(tid), turn_context(model, turn_id=tid)]
    lines.append(response_message("user", user))
    lines.append(user_message(user))
    if agent is not None:
        lines.append(response_message("assistant", agent))
        lines.append(agent_message(agent, phase="final_answer"))
    if tokens is not None:
        lines.append(token_count(tokens))
    lines.append(task_complete(tid, agent))
    return lines


def create_params(
    thread_id: ThreadId | None = None,
    *,
    created_ms: int | None = BASE_MS,
    **overrides: Any,
) -> CreateThreadParams:
    """CreateThreadParams with test defaults (cli source, openai provider, cwd ``/w/a``)."""
    values: dict[str, Any] = {
        "thread_id": thread_id or new_thread_id(),
        "cwd": "/w/a",
        "originator": "threadloom_tests",
        "cli_version": "0.169.0",
        "source": "cli",
        "model_provider": "openai",
        "created_at_ms": created_ms,
    }
    values.update(overrides)
    return CreateThreadParams(**values)


async def make_thread(
    store: ThreadStore,
    *lines: RolloutLine,
    preview: str | None = "hello",
    keep_writer: bool = False,
    **params: Any,
) -> ThreadId:
    """Create a thread, append ``lines`` (default: one user message ``preview``), shut down."""
    created = await store.create_thread(create_params(**params))
    items = list(lines) if lines else ([user_message(preview)] if preview is not None else [])
    await store.append_items(AppendItemsParams(thread_id=created.thread_id, items=items))
    if not keep_writer:
        await store.shutdown_thread(ThreadIdParams(thread_id=created.thread_id))
    return created.thread_id


def thread_id_from(prefix: str) -> ThreadId:
    """A valid thread id starting with ``prefix`` (hex digits), to control id tie-breaks."""
    hexdigits = (prefix + "0" * 32)[:32]
    return ThreadId(
        f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{hexdigits[16:20]}-{hexdigits[20:]}"
    )

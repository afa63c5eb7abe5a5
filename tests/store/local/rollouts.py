"""Small builders of rollout files for the local-store tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.paths import rollout_relative_path

T0 = 1_760_000_000_000  # 2025-10-09, in ms


def line(kind: str, payload: dict[str, Any], ms: int = T0) -> str:
    return json.dumps(
        {"timestamp": format_timestamp(ms), "type": kind, "payload": payload},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def meta(thread_id: str, ms: int = T0, **extra: Any) -> str:
    payload: dict[str, Any] = {
        "id": thread_id,
        "timestamp": format_timestamp(ms),
        "cwd": "/w",
        "originator": "codex_cli_rs",
        "cli_version": "0.169.0",
        "source": "cli",
        "model_provider": "openai",
    }
    payload.update(extra)
    return line("session_meta", payload, ms)


def user(text: str, ms: int = T0) -> str:
    return line("event_msg", {"type": "user_message", "message": text, "images": []}, ms)


def agent(text: str, ms: int = T0) -> str:
    return line("event_msg", {"type": "agent_message", "message": text}, ms)


def item(text: str, role: str = "user", ms: int = T0) -> str:
    kind = "input_text" if role == "user" else "output_text"
    payload = {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}
    return line("response_item", payload, ms)


def write(
    home: Path,
    thread_id: str,
    lines: list[str],
    ms: int = T0,
    *,
    archived: bool = False,
    tail: str = "\n",
) -> Path:
    rel = rollout_relative_path(thread_id, ms)
    path = home / ("archived_sessions/" + rel.name if archived else str(rel))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + tail, encoding="utf-8")
    os.utime(path, ns=(ms * 1_000_000, ms * 1_000_000))
    return path


def thread(home: Path, thread_id: str, text: str = "hello", ms: int = T0, **kw: Any) -> Path:
    """A minimal listable thread: session_meta, one user message, one answer."""
    archived = bool(kw.pop("archived", False))
    return write(
        home,
        thread_id,
        [meta(thread_id, ms, **kw), user(text, ms), agent("ok", ms)],
        ms,
        archived=archived,
    )

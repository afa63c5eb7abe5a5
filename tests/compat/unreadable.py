"""Rollout files no reader can use (empty, torn, garbage first, metadata without an
originator): shared by the read tests against Codex and against the app server."""

from __future__ import annotations

import json

UNREADABLE_ROLLOUTS: dict[str, tuple[str, bytes]] = {
    "empty": ("00000000-0000-4000-8000-0000000000e1", b""),
    "torn-only-line": ("00000000-0000-4000-8000-0000000000e2", b'{"timestamp":"2025-01-0'),
    "garbage-first": (
        "00000000-0000-4000-8000-0000000000e3",
        b"garbage\n"
        b'{"timestamp":"2025-01-03T12:00:01.000Z","type":"event_msg",'
        b'"payload":{"type":"user_message","message":"hi"}}\n',
    ),
    "no-originator": (
        "00000000-0000-4000-8000-0000000000e4",
        json.dumps(
            {
                "timestamp": "2025-01-03T12:00:00.000Z",
                "type": "session_meta",
                "payload": {
                    "id": "00000000-0000-4000-8000-0000000000e4",
                    "timestamp": "2025-01-03T12:00:00.000Z",
                    "cwd": "/",
                    "cli_version": "0.0.0",
                },
            }
        ).encode()
        + b"\n",
    ),
}

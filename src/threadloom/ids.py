"""Thread ids: parsing with Codex's exact acceptance rules and error texts, and new UUIDv7 ids.

A thread id is validated here before any file path is built from it. Accepted spellings are
those of the Rust ``uuid`` crate: hyphenated (any case), 32 hex digits, ``{braced}`` and
``urn:uuid:`` prefixed; all normalise to lower-case hyphenated form.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import NewType

from threadloom.errors import InvalidThreadId

ThreadId = NewType("ThreadId", str)
"""A validated, normalised (lower-case, hyphenated) thread id."""

_HEX = frozenset("0123456789abcdefABCDEF")
_HYPHENATED = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_SIMPLE = re.compile(r"[0-9a-fA-F]{32}")
_URN = "urn:uuid:"
_BLOCK_STARTS = (0, 9, 14, 19, 24)
_GROUP_LENGTHS = (8, 4, 4, 4, 12)

DEFAULT_ID_ERROR_PREFIX = "invalid thread id"
SESSION_ID_ERROR_PREFIX = "invalid session id"


def _core(raw: str) -> str | None:
    """The 32 or 36 characters that hold the UUID digits, or None if the shape is wrong."""
    if len(raw) == 32:
        return raw if _SIMPLE.fullmatch(raw) else None
    if len(raw) == 36:
        inner = raw
    elif len(raw) == 38 and raw[0] == "{" and raw[-1] == "}":
        inner = raw[1:-1]
    elif len(raw) == 45 and raw.startswith(_URN):
        inner = raw[len(_URN) :]
    else:
        return None
    return inner if _HYPHENATED.fullmatch(inner) else None


def uuid_error(raw: str) -> str:
    """Describe why ``raw`` is not a UUID, in the words of the Rust ``uuid`` crate."""
    data = raw.encode("utf-8")
    if raw.startswith("{") and raw.endswith("}") and len(raw) >= 2:
        body, offset, simple = data[1:-1], 1, False
    elif raw.startswith(_URN):
        body, offset, simple = data[len(_URN) :], len(_URN), False
    else:
        body, offset, simple = data, 0, True
    hyphens = 0
    bounds = [0, 0, 0, 0]
    text = body.decode("utf-8")
    index = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if char == "-":
            if hyphens < 4:
                bounds[hyphens] = index
            hyphens += 1
        elif char not in _HEX:
            return (
                "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                f"[0-9a-fA-F-], found `{char}` at {index + offset + 1}"
            )
        index += width
    if hyphens == 0 and simple:
        return f"invalid length: expected length 32 for simple format, found {len(data)}"
    if hyphens != 4:
        return f"invalid group count: expected 5, found {hyphens + 1}"
    for group in range(4):
        if bounds[group] != _BLOCK_STARTS[group + 1] - 1:
            length = bounds[group] - _BLOCK_STARTS[group]
            return (
                f"invalid group length in group {group}: "
                f"expected {_GROUP_LENGTHS[group]}, found {length}"
            )
    return f"invalid group length in group 4: expected 12, found {len(data) - _BLOCK_STARTS[4]}"


def parse_thread_id(raw: object, prefix: str = DEFAULT_ID_ERROR_PREFIX) -> ThreadId:
    """Validate and normalise a thread id, or raise InvalidThreadId with Codex's message."""
    if not isinstance(raw, str):
        raise InvalidThreadId(f"{prefix}: expected a string", repr(raw))
    core = _core(raw)
    if core is None:
        raise InvalidThreadId(f"{prefix}: {uuid_error(raw)}", raw)
    return ThreadId(str(uuid.UUID(core)))


def is_thread_id(raw: str) -> bool:
    """True when ``raw`` is already a normalised (lower-case hyphenated) UUID."""
    return len(raw) == 36 and raw == raw.lower() and _HYPHENATED.fullmatch(raw) is not None


def new_uuid7(now_ms: int | None = None) -> str:
    """A fresh UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, random tail."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _assemble_v7(ms, int.from_bytes(os.urandom(10), "big"))


def _assemble_v7(ms: int, rand: int) -> str:
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def new_thread_id(now_ms: int | None = None) -> ThreadId:
    """A new thread id (UUIDv7, as Codex 0.169.0 creates them)."""
    return ThreadId(new_uuid7(now_ms))

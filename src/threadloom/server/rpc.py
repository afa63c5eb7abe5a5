"""JSON-RPC framing as Codex's app server speaks it (app-server-threads 1.1).

One JSON object per message. Replies carry no ``"jsonrpc"``; a response is
``{"id":…,"result":…}``, an error ``{"error":{"code":…,"message":…},"id":…}``, a
notification ``{"method":…,"params":…,"emittedAtMs":…}``. Input that is not JSON (invalid
UTF-8 and JSON nested deeper than :data:`MAX_DEPTH` included), an object with neither ``id``
nor ``method``, and notifications nobody handles are ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec

from threadloom.errors import ThreadloomError, jsonrpc_code

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

MISSING = object()
"""``params`` absent from a request."""


@dataclass(frozen=True, slots=True)
class Request:
    id: Any
    method: str
    params: Any
    """The ``params`` value, or ``MISSING``."""


@dataclass(frozen=True, slots=True)
class Notification:
    method: str
    params: Any


Incoming = Request | Notification


I64_MIN, I64_MAX = -(2**63), 2**63 - 1

MAX_DEPTH = 127
"""Deepest nesting of arrays and objects in a message (the message object counts as 1):
serde_json's recursion limit, beyond which Codex 0.169.0 ignores the message as not JSON."""


def _valid_id(value: Any) -> bool:
    """A request id Codex accepts: a string or an i64 (anything else voids the message)."""
    if isinstance(value, str):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and I64_MIN <= value <= I64_MAX


def parse(data: bytes | str) -> Incoming | None:
    """The message in ``data``, or None when it is to be ignored.

    Ignored like Codex 0.169.0 ignores them: input that is not a JSON object, an object whose
    ``method`` is not a string, an ``id`` that is neither a string nor an i64 (null, fraction,
    bool, out of range), an object with neither ``id`` nor ``method``.
    """
    try:
        obj = _decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict) or _too_deep(obj, data):
        return None
    method = obj.get("method")
    if not isinstance(method, str):
        return None
    if "id" in obj:
        if not _valid_id(obj["id"]):
            return None
        return Request(obj["id"], method, obj.get("params", MISSING))
    return Notification(method, obj.get("params"))


def _too_deep(obj: dict[str, Any], data: bytes | str) -> bool:
    """Whether ``obj`` (decoded from ``data``) nests deeper than :data:`MAX_DEPTH`."""
    if isinstance(data, str):
        brackets = data.count("{") + data.count("[")
    else:
        brackets = data.count(b"{") + data.count(b"[")
    if brackets <= MAX_DEPTH:
        return False  # too few brackets to nest that deep: the common case, no walk
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def result(request_id: Any, value: Any) -> bytes:
    return _encode({"id": request_id, "result": value})


def error(request_id: Any, code: int, message: str, data: Any = None) -> bytes:
    body: dict[str, Any] = {"code": code}
    if data is not None:
        body["data"] = data  # Codex's member order: code, data, message
    body["message"] = message
    return _encode({"error": body, "id": request_id})


def error_from(request_id: Any, exc: ThreadloomError) -> bytes:
    """The error reply for ``exc``: its class's code, unless it carries an ``rpc_code``."""
    code = getattr(exc, "rpc_code", None)
    if not isinstance(code, int):
        code = jsonrpc_code(exc)
    return error(request_id, code, exc.message, getattr(exc, "data", None))


def notification(method: str, params: Any, emitted_at_ms: int | None = None) -> bytes:
    at = emitted_at_ms if emitted_at_ms is not None else time.time_ns() // 1_000_000
    return _encode({"method": method, "params": params, "emittedAtMs": at})

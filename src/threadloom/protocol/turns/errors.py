"""``task_complete.error`` as a turn's ``error`` (app-server-threads 6.3).

Codex reads ``codex_error_info`` into its core ``CodexErrorInfo`` enum (snake_case) and
serialises the API form (camelCase, nested keys too). Observed on 0.169.0:

* a known unit variant (string, or ``{"name": null}``) becomes its camelCase name;
* an unknown name (string, or a one-key object with any content) reads as ``"other"``;
* a struct variant takes an object (``{"http_connection_failed": {"http_status_code": 502}}``;
  a missing status is ``null``, unknown members are ignored); its bare name as a string, a
  status out of the ``u16`` range, ``{}`` for a unit variant, or a value of another JSON type
  make the whole ``task_complete`` line unreadable (Codex drops it).
"""

from __future__ import annotations

from typing import Any

UNIT_VARIANTS = frozenset(
    {
        "context_window_exceeded",
        "usage_limit_exceeded",
        "server_overloaded",
        "cyber_policy",
        "internal_server_error",
        "unauthorized",
        "bad_request",
        "thread_rollback_failed",
        "sandbox_error",
        "session_budget_exceeded",
        "other",
    }
)
"""``CodexErrorInfo`` variants without data that Codex 0.169.0 knows."""

HTTP_STATUS_VARIANTS = frozenset(
    {
        "http_connection_failed",
        "response_stream_connection_failed",
        "response_stream_disconnected",
        "response_too_many_failed_attempts",
    }
)
"""Variants carrying ``{"http_status_code": u16 | null}``."""

TURN_KINDS = frozenset({"review", "compact"})
"""``active_turn_not_steerable.turn_kind`` values."""


class InvalidTurnError(ValueError):
    """A ``task_complete.error`` Codex cannot read (the line is dropped)."""


def camel_case(name: str) -> str:
    """``snake_case`` to ``camelCase`` (``response_stream_disconnected`` → ``responseStream…``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def codex_error_info_json(value: Any) -> Any:
    """The API form of a rollout ``codex_error_info``; raises ``InvalidTurnError``."""
    if value is None:
        return None
    if isinstance(value, str):
        if value in UNIT_VARIANTS:
            return camel_case(value)
        if value in HTTP_STATUS_VARIANTS or value == "active_turn_not_steerable":
            raise InvalidTurnError(f"invalid type: unit variant, expected struct variant {value}")
        return "other"
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidTurnError("codex_error_info is not a variant")
    ((name, content),) = value.items()
    if name in UNIT_VARIANTS:
        if content is not None:
            raise InvalidTurnError(f"unit variant {name} with content")
        return camel_case(name)
    if name in HTTP_STATUS_VARIANTS:
        fields = _struct_content(name, content)
        status = fields.get("http_status_code")
        if status is not None and not (_is_int(status) and 0 <= status <= 0xFFFF):
            raise InvalidTurnError(f"{name}.http_status_code is not a u16")
        return {camel_case(name): {"httpStatusCode": status}}
    if name == "active_turn_not_steerable":
        fields = _struct_content(name, content)
        kind = fields.get("turn_kind")
        if kind not in TURN_KINDS:
            raise InvalidTurnError("active_turn_not_steerable.turn_kind is missing or unknown")
        return {"activeTurnNotSteerable": {"turnKind": camel_case(kind)}}
    return "other"


def _struct_content(name: str, content: Any) -> dict[str, Any]:
    if not isinstance(content, dict):
        raise InvalidTurnError(f"{name} expects an object")
    return content


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def turn_error_json(error: Any) -> dict[str, Any] | None:
    """The turn ``error`` object for a ``task_complete.error`` (None when it has none)."""
    if error is None:
        return None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        raise InvalidTurnError("error has no message")
    return {
        "message": error["message"],
        "codexErrorInfo": codex_error_info_json(error.get("codex_error_info")),
        "additionalDetails": None,
        "misalignment": None,
    }

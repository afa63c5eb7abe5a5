"""Strict request-params decoding with serde's error texts (app-server-threads 1.3).

Params are decoded by type, field by field in the order the client sent them, unknown fields
ignored; the first bad value fails the request, then the first missing required field (in
declaration order). Every failure is ``Invalid request: <serde text>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from threadloom.errors import InvalidRequest

Check = Callable[[Any], Any]
"""Validates one present, non-null value and returns it (possibly converted)."""


def type_name(value: Any) -> str:
    """How serde names the JSON value it found."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "sequence"
    return "map"


def invalid_type(value: Any, expected: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid request: invalid type: {type_name(value)}, expected {expected}")


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_type(value, "a string")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid_type(value, "a boolean")
    return value


def u32(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(value, "u32")
    if value < 0 or value > 0xFFFFFFFF:
        raise InvalidRequest(f"Invalid request: invalid value: integer `{value}`, expected u32")
    return value


def any_value(value: Any) -> Any:
    return value


def array(item: Check) -> Check:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise invalid_type(value, "a sequence")
        return [item(v) for v in value]

    return check


def variant(*allowed: str) -> Check:
    """A string enum; the message lists the variants as serde does (a value that is not a
    string is refused as serde refuses it for any enum: ``expected string or map``)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise invalid_type(value, "string or map")
        if value not in allowed:
            if len(allowed) == 2:
                listed = f"`{allowed[0]}` or `{allowed[1]}`"
            else:
                listed = "one of " + ", ".join(f"`{a}`" for a in allowed)
            raise InvalidRequest(f"Invalid request: unknown variant `{value}`, expected {listed}")
        return value

    return check


@dataclass(frozen=True, slots=True)
class Field:
    check: Check
    required: bool = False
    nullable: bool = True
    """An optional member given as ``null`` counts as absent (an ``Option`` in Codex); False
    for Codex's ``#[serde(default)]`` members (e.g. ``bool``), which refuse ``null``."""


def struct(name: str, fields: dict[str, Field]) -> Callable[[Any], dict[str, Any]]:
    """A decoder of a JSON object into a dict of its known, non-null fields."""

    def decode(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise invalid_type(value, f"struct {name}")
        out: dict[str, Any] = {}
        for key, raw in value.items():
            spec = fields.get(key)
            if spec is None:
                continue
            if raw is None and not spec.required and spec.nullable:
                continue
            out[key] = spec.check(raw)
        for key, spec in fields.items():
            if spec.required and key not in out:
                raise InvalidRequest(f"Invalid request: missing field `{key}`")
        return out

    return decode


def nested(name: str, fields: dict[str, Field]) -> Check:
    return struct(name, fields)

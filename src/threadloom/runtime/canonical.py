"""Is a decoded payload already in Codex's canonical form? (a fork's fast path)

A legacy fork re-serialises every line it copies (``forking.canonical_line``): the typed
payload's ``to_payload()``. Most lines are written that way already, and for them rebuilding
the payload only makes an equal copy. ``canonical_already(parsed, payload)`` tells so without
building anything: it walks the typed value the way ``Shape.to_payload`` builds its output
(members in write order, absent optionals left out, tags, nested shapes, lists, dicts) and
compares each step with the decoded payload, key order and value types included.

The answer is conservative: True only when ``to_payload()`` would give a payload equal to
``payload`` member for member, in the same order, with values of the same JSON types (so both
encode to the same bytes). A class with its own serialisation rules (a ``_canonical`` hook or
its own ``to_payload``) is never vouched for, so the caller rebuilds those payloads as before.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from threadloom.protocol.events import RAW_FIELD, Shape
from threadloom.protocol.items import OpaqueItem, ParsedItem

_Plan = tuple[str | None, str | None, tuple[tuple[str, str, bool], ...]]
"""(tag member, tag value, (attribute, key, omitted when null) per member in write order)."""
_PLANS: dict[type, _Plan | None] = {}


def canonical_already(parsed: ParsedItem, payload: Any) -> bool:
    """True when ``parsed.to_payload()`` would equal ``payload`` exactly (see module doc)."""
    if isinstance(parsed, Shape):
        return _same_shape(parsed, payload)
    # An opaque kind is copied as it was decoded (``dump`` of its raw value).
    return isinstance(parsed, OpaqueItem) and parsed.raw is payload


def _plan_of(cls: type[Shape]) -> _Plan | None:
    """How ``Shape.to_payload`` writes ``cls`` (None: it has rules of its own)."""
    if cls in _PLANS:
        return _PLANS[cls]
    plan: _Plan | None = None
    if cls.to_payload is Shape.to_payload and cls._canonical is Shape._canonical:
        config = cls.__struct_config__
        tag = config.tag if isinstance(config.tag, str) else None
        members = tuple(
            (f.name, f.encode_name, f.default is UNSET)
            for f in msgspec.structs.fields(cls)
            if f.encode_name != RAW_FIELD
        )
        plan = (config.tag_field if tag is not None else None, tag, members)
    _PLANS[cls] = plan
    return plan


def _same_shape(value: Shape, raw: Any) -> bool:
    cls = type(value)
    plan = _PLANS[cls] if cls in _PLANS else _plan_of(cls)
    if plan is None or type(raw) is not dict:
        return False
    tag_key, tag, members = plan
    written: list[tuple[str, Any]] = [] if tag_key is None else [(tag_key, tag)]
    for name, key, omit_null in members:
        member = getattr(value, name)
        if member is not UNSET and not (member is None and omit_null):
            written.append((key, member))
    if len(written) != len(raw):
        return False
    for (key, member), (got, item) in zip(written, raw.items(), strict=True):
        if key != got or not (member is item or _same_value(member, item)):
            return False
    return True


def _same_value(value: Any, raw: Any) -> bool:
    """Does ``dump(value)`` equal ``raw``, orders and JSON types included? (Decoded JSON kept
    as it is, ``value is raw``, is checked by the caller: ``dump`` copies it unchanged.)"""
    kind = type(value)
    if kind is list:
        if type(raw) is not list or len(raw) != len(value):
            return False
        for v, r in zip(value, raw, strict=True):  # noqa: SIM110 - a loop is faster here
            if not (v is r or _same_value(v, r)):
                return False
        return True
    if kind is dict:
        if type(raw) is not dict or len(raw) != len(value):
            return False
        for (k, v), (rk, rv) in zip(value.items(), raw.items(), strict=True):
            if k != rk or not (v is rv or _same_value(v, rv)):
                return False
        return True
    if isinstance(value, Shape):
        return _same_shape(value, raw)
    return kind is type(raw) and kind in _SCALARS and value == raw


_SCALARS = frozenset({str, int, float, bool})

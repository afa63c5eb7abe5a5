"""Byte-exact encoding and tolerant decoding of rollout lines and their timestamps.

Codex writes compact JSON with raw UTF-8 (serde_json); msgspec's encoder produces the same bytes
for the same key order, floats included (shortest round trip, ``1e20`` style exponents).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from threadloom.protocol.rollout import RolloutLine

_decoder = msgspec.json.Decoder()
_line_decoder = msgspec.json.Decoder(RolloutLine)
_encoder = msgspec.json.Encoder()  # same settings as codec_json; kept local for the hot path


class LineError(ValueError):
    """A line that is not a rollout line (not JSON, not an object, no envelope)."""


def encode_json(value: Any) -> bytes:
    """Compact JSON bytes exactly as Codex (serde_json) writes them, for this key order."""
    return _encoder.encode(value)


def decode_json(data: bytes | str) -> Any:
    """Decode one JSON document; raises msgspec.DecodeError on bad input."""
    return _decoder.decode(data)


def decode_line(data: bytes | memoryview) -> RolloutLine:
    """Decode one JSONL line into its envelope; raise LineError when it is not one."""
    try:
        return _line_decoder.decode(data)  # the common case, checked by msgspec
    except msgspec.DecodeError:
        pass  # decoded again below, for the reason
    try:
        obj = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise LineError(f"not JSON: {exc}") from None
    return line_from_object(obj)


def line_from_object(obj: Any) -> RolloutLine:
    """Check the envelope of a decoded line object and wrap it."""
    if not isinstance(obj, dict):
        raise LineError("not a JSON object")
    timestamp = obj.get("timestamp")
    kind = obj.get("type")
    payload = obj.get("payload")
    if not isinstance(timestamp, str) or not isinstance(kind, str) or "payload" not in obj:
        raise LineError("missing timestamp, type or payload")
    ordinal = obj.get("ordinal")
    if ordinal is not None and (not isinstance(ordinal, int) or isinstance(ordinal, bool)):
        raise LineError("ordinal is not an integer")
    metadata = obj.get("metadata")
    return RolloutLine(
        timestamp=timestamp, type=kind, payload=payload, ordinal=ordinal, metadata=metadata
    )


def encode_line(line: RolloutLine) -> bytes:
    """The line's bytes (without the trailing newline), envelope keys in Codex order."""
    obj: dict[str, Any] = {"timestamp": line.timestamp}
    if line.ordinal is not None:
        obj["ordinal"] = line.ordinal
    obj["type"] = line.type
    obj["payload"] = line.payload
    if line.metadata is not None:
        obj["metadata"] = line.metadata
    return _encoder.encode(obj)


def format_timestamp(ms: int) -> str:
    """UTC ``YYYY-MM-DDThh:mm:ss.mmmZ``, the format of every line timestamp Codex writes."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def format_rfc3339_seconds(seconds: int) -> str:
    """UTC ``YYYY-MM-DDThh:mm:ssZ`` (list cursors)."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rfc3339_nanos(ns: int) -> str:
    """UTC RFC 3339 with nine fractional digits, as session_index.jsonl entries carry."""
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000:09d}Z"


def parse_timestamp_ms(text: str) -> int | None:
    """Milliseconds since the epoch for an RFC 3339 string (any precision), or None."""
    return _parse_rfc3339(text, 1000)


def parse_timestamp_precise(text: str) -> tuple[int, int] | None:
    """(whole seconds, nanoseconds) for an RFC 3339 string, or None when it does not parse."""
    value = _parse_rfc3339(text, 1_000_000_000)
    if value is None:
        return None
    return divmod(value, 1_000_000_000)


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def _parse_rfc3339(text: str, scale: int) -> int | None:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    offset = 0
    if match.group(9):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        if match.group(9) == "-":
            offset = -offset
    frac_text = match.group(7) or ""
    nanos = int(frac_text[:9].ljust(9, "0")) if frac_text else 0
    seconds = int(base.timestamp()) - offset
    return seconds * scale + nanos * scale // 1_000_000_000

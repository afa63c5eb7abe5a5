"""One shared msgspec JSON encoder/decoder (kept apart so every protocol module can import it)."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def compact(value: Any) -> str:
    """Compact JSON text with raw UTF-8, as serde_json writes it."""
    return _encoder.encode(value).decode("utf-8")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return _encoder.encode(value)


def loads(data: bytes | str) -> Any:
    """Decode one JSON document (raises msgspec.DecodeError)."""
    return _decoder.decode(data)

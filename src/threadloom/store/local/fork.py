"""Copying a legacy thread's history into a new rollout (the fork layout of rollout-format 16.1).

The child's file holds its own session_meta, the parent's first session_meta, then the
parent's lines up to the cut, each with the fork time as its timestamp. Lines are copied as
bytes: only the envelope is parsed (the payload is validated, not decoded), so forking a
large thread costs little more than copying its bytes. Malformed and torn lines are dropped.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from threadloom.protocol.rollout import EVENT_MSG, SESSION_META, TURN_CONTEXT
from threadloom.protocol.summary import SummaryState
from threadloom.store.local.reader import iter_raw_lines, open_rollout


class _Envelope(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A line with its payload kept as raw JSON; encodes back in Codex's key order."""

    timestamp: str
    ordinal: int | None = None
    type: str
    payload: msgspec.Raw
    metadata: msgspec.Raw | None = None


_decode = msgspec.json.Decoder(_Envelope).decode
_decode_payload = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_SUMMARY_KINDS = frozenset({EVENT_MSG, TURN_CONTEXT, SESSION_META})
"""Kinds whose lines can change a summary (response items cannot once the meta is read)."""


def copied_history(
    source: Path, keep: int | None, timestamp: str, summary: SummaryState
) -> list[bytes]:
    """The source's lines after its first session_meta (the first ``keep`` of them), re-stamped.

    The lines that can change a listing summary are fed into ``summary`` on the way.
    """
    out: list[bytes] = []
    seen_meta = False
    with open_rollout(source) as stream:
        for _, raw, complete in iter_raw_lines(stream):
            if keep is not None and len(out) >= keep:
                break
            if not complete or not raw.strip():
                continue
            try:
                envelope = _decode(raw)
            except msgspec.DecodeError:
                continue
            if not seen_meta:
                seen_meta = envelope.type == SESSION_META
                continue
            if envelope.type in _SUMMARY_KINDS:
                summary.feed(envelope.type, _decode_payload(envelope.payload))
            envelope.timestamp = timestamp
            out.append(_encode(envelope))
    return out

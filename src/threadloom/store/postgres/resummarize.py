"""Migration 4's data step: stored summaries follow recorded thread settings.

Summaries stored before it took ``model`` and ``reasoning_effort`` from turn contexts alone;
Codex 0.169.0 also takes them (and ``thread/read``'s cwd) from ``thread_settings_applied``
events, whichever came last. Every thread holding such an event gets its turn contexts and
settings events folded again into its summary, in order: no other part of a summary depends
on them, so the result is the summary of the whole thread under the new rule.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from threadloom.protocol.codec import LineError, decode_json, decode_line
from threadloom.protocol.rollout import EVENT_MSG, TURN_CONTEXT
from threadloom.protocol.summary import SummaryState
from threadloom.store.postgres.rows import encode_state

SETTINGS_MARKER = b'"thread_settings_applied"'
CONTEXT_MARKER = b'"turn_context"'
_state_decoder = msgspec.msgpack.Decoder(SummaryState)


async def fold_thread_settings(conn: psycopg.AsyncConnection[Any]) -> None:
    """Refold the summaries of the threads holding a settings event (in the caller's
    transaction, with the schema on its search path)."""
    cur = await conn.execute(
        "SELECT key, meta, state FROM threads WHERE key IN"
        " (SELECT DISTINCT thread_key FROM items WHERE NOT bad AND position(%s in line) > 0)",
        (SETTINGS_MARKER,),
    )
    for key, meta, blob in await cur.fetchall():
        state = _state_decoder.decode(bytes(blob))
        state.meta_payload = decode_json(bytes(meta))
        lines = await conn.execute(
            "SELECT line FROM items WHERE thread_key = %s AND NOT bad"
            " AND (position(%s in line) > 0 OR position(%s in line) > 0) ORDER BY seq",
            (key, SETTINGS_MARKER, CONTEXT_MARKER),
        )
        for (raw,) in await lines.fetchall():
            _refeed(state, bytes(raw))
        await conn.execute(
            "UPDATE threads SET state = %s WHERE key = %s", (encode_state(state), key)
        )


def _refeed(state: SummaryState, raw: bytes) -> None:
    """Feed a turn context or settings event again (a line merely naming one is skipped)."""
    try:
        line = decode_line(raw)
    except LineError:
        return
    payload = line.payload
    settings = (
        line.type == EVENT_MSG
        and isinstance(payload, dict)
        and payload.get("type") == "thread_settings_applied"
    )
    if line.type == TURN_CONTEXT or settings:
        state.feed(line.type, payload)

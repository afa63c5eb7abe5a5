"""``thread/unsubscribe`` (app-server-threads 4.15)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.ids import parse_thread_id
from threadloom.server.app import Call, Handler, decodes

_params = d.struct("ThreadUnsubscribeParams", {"threadId": d.Field(d.string, True)})


@decodes(_params)
async def thread_unsubscribe(call: Call) -> dict[str, Any]:
    """The thread stays loaded after its last subscriber leaves, as in Codex."""
    thread_id = parse_thread_id(_params(call.params)["threadId"])
    loaded = call.server.manager.get(thread_id)
    if loaded is None:
        return {"status": "notLoaded"}
    if call.conn.id not in loaded.subscribers:
        return {"status": "notSubscribed"}
    loaded.subscribers.discard(call.conn.id)
    return {"status": "unsubscribed"}


HANDLERS: dict[str, Handler] = {"thread/unsubscribe": thread_unsubscribe}

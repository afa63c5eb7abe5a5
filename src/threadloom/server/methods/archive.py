"""``thread/archive``, ``thread/unarchive``, ``thread/delete`` (app-server-threads 4.12-4.14)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.api.thread import read_result_json
from threadloom.ids import SESSION_ID_ERROR_PREFIX, parse_thread_id
from threadloom.server.app import Call, Handler
from threadloom.store.params import ThreadIdParams

_params = d.struct("ThreadIdParams", {"threadId": d.Field(d.string, True)})

NOT_LOADED = {"type": "notLoaded"}


async def _unload(call: Call, thread_id: str) -> None:
    """A loaded thread is unloaded first, its subscribers told."""
    loaded = call.server.manager.get(thread_id)  # type: ignore[arg-type]
    if loaded is None:
        return
    await call.server.manager.remove(loaded.thread_id)
    status = {"threadId": thread_id, "status": NOT_LOADED}
    await call.server.notify_subscribers(loaded, "thread/status/changed", status)


async def thread_archive(call: Call) -> dict[str, Any]:
    thread_id = parse_thread_id(_params(call.params)["threadId"], SESSION_ID_ERROR_PREFIX)
    await _unload(call, thread_id)
    await call.server.store.archive_thread(ThreadIdParams(thread_id=thread_id))
    await call.conn.notify("thread/archived", {"threadId": thread_id})
    return {}


async def thread_unarchive(call: Call) -> dict[str, Any]:
    thread_id = parse_thread_id(_params(call.params)["threadId"], SESSION_ID_ERROR_PREFIX)
    stored = await call.server.store.unarchive_thread(ThreadIdParams(thread_id=thread_id))
    await call.conn.notify("thread/unarchived", {"threadId": thread_id})
    return {"thread": read_result_json(stored)["thread"]}


async def thread_delete(call: Call) -> dict[str, Any]:
    thread_id = parse_thread_id(_params(call.params)["threadId"])
    await _unload(call, thread_id)
    await call.server.store.delete_thread(ThreadIdParams(thread_id=thread_id))
    await call.conn.notify("thread/deleted", {"threadId": thread_id})
    return {}


HANDLERS: dict[str, Handler] = {
    "thread/archive": thread_archive,
    "thread/unarchive": thread_unarchive,
    "thread/delete": thread_delete,
}

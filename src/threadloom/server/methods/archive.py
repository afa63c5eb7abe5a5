"""``thread/archive``, ``thread/unarchive``, ``thread/delete`` (app-server-threads 4.12-4.14)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.api.thread import read_result_json
from threadloom.ids import SESSION_ID_ERROR_PREFIX, parse_thread_id
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.methods.reading import history_service
from threadloom.store.params import ThreadIdParams


def _id_params(struct: str) -> d.Check:
    return d.struct(struct, {"threadId": d.Field(d.string, True)})


_archive_params = _id_params("ThreadArchiveParams")
_unarchive_params = _id_params("ThreadUnarchiveParams")
_delete_params = _id_params("ThreadDeleteParams")

NOT_LOADED = {"type": "notLoaded"}


async def _unload(call: Call, thread_id: str) -> None:
    """A loaded thread is unloaded first, its subscribers told."""
    loaded = call.server.manager.get(thread_id)  # type: ignore[arg-type]
    if loaded is None:
        return
    await call.server.manager.remove(loaded.thread_id)
    status = {"threadId": thread_id, "status": NOT_LOADED}
    await call.server.notify_subscribers(loaded, "thread/status/changed", status)


@decodes(_archive_params)
async def thread_archive(call: Call) -> dict[str, Any]:
    thread_id = parse_thread_id(_archive_params(call.params)["threadId"], SESSION_ID_ERROR_PREFIX)
    await _unload(call, thread_id)
    await call.server.store.archive_thread(ThreadIdParams(thread_id=thread_id))
    call.notify_after_reply("thread/archived", {"threadId": thread_id})
    return {}


@decodes(_unarchive_params)
async def thread_unarchive(call: Call) -> dict[str, Any]:
    raw_id = _unarchive_params(call.params)["threadId"]
    thread_id = parse_thread_id(raw_id, SESSION_ID_ERROR_PREFIX)
    stored = await call.server.store.unarchive_thread(ThreadIdParams(thread_id=thread_id))
    call.notify_after_reply("thread/unarchived", {"threadId": thread_id})
    return {"thread": read_result_json(stored)["thread"]}


@decodes(_delete_params)
async def thread_delete(call: Call) -> dict[str, Any]:
    thread_id = parse_thread_id(_delete_params(call.params)["threadId"])
    await _unload(call, thread_id)
    await call.server.store.delete_thread(ThreadIdParams(thread_id=thread_id))
    await history_service(call.server).forget(thread_id)
    call.notify_after_reply("thread/deleted", {"threadId": thread_id})
    return {}


HANDLERS: dict[str, Handler] = {
    "thread/archive": thread_archive,
    "thread/unarchive": thread_unarchive,
    "thread/delete": thread_delete,
}

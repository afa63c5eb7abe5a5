"""``thread/read`` (app-server-threads 4.7)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.api.thread import read_result_json
from threadloom.errors import InvalidRequest, NotFound
from threadloom.ids import parse_thread_id
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.views import loaded_thread_json
from threadloom.store.params import ReadThreadParams

_params = d.struct(
    "ThreadReadParams",
    {"threadId": d.Field(d.string, True), "includeTurns": d.Field(d.boolean, nullable=False)},
)


def thread_not_loaded(thread_id: str) -> InvalidRequest:
    return InvalidRequest(f"thread not loaded: {thread_id}")


@decodes(_params)
async def thread_read(call: Call) -> dict[str, Any]:
    params = _params(call.params)
    thread_id = parse_thread_id(params["threadId"])
    loaded = call.server.manager.get(thread_id)
    if loaded is not None and not loaded.live.materialized:
        return {"thread": loaded_thread_json(loaded, call.server.config), "readState": None}
    try:
        stored = await call.server.store.read_thread(ReadThreadParams(thread_id=thread_id))
    except NotFound:
        raise thread_not_loaded(thread_id) from None
    result = read_result_json(stored)
    if loaded is not None:
        result["thread"] = loaded_thread_json(loaded, call.server.config)
    return result


HANDLERS: dict[str, Handler] = {"thread/read": thread_read}

"""``thread/list`` and ``thread/loaded/list`` (app-server-threads 4.5, 4.6, 5)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.api.params import list_params
from threadloom.api.thread import list_result_json
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.views import effective_settings, environments


def _decode_list(raw: Any) -> None:
    list_params(raw, rules=False)


@decodes(_decode_list)
async def thread_list(call: Call) -> dict[str, Any]:
    page = await call.server.store.list_threads(list_params(call.params))
    result = list_result_json(page)
    for thread in result["data"]:
        loaded = call.server.manager.get(thread["id"])
        if loaded is not None:
            thread["status"] = loaded.status
            thread["environments"] = environments(
                effective_settings(loaded, call.server.config).cwd
            )
    return result


_loaded_params = d.struct(
    "ThreadLoadedListParams", {"cursor": d.Field(d.string), "limit": d.Field(d.u32)}
)


@decodes(_loaded_params)
async def thread_loaded_list(call: Call) -> dict[str, Any]:
    """Loaded ids ascending; the cursor is a lower bound, ``limit: 0`` acts as 1."""
    params = _loaded_params(call.params)
    ids = call.server.manager.ids()
    cursor = params.get("cursor")
    if cursor is not None:
        ids = [i for i in ids if i > cursor]
    limit = params.get("limit")
    if limit is None or len(ids) <= max(limit, 1):
        return {"data": ids, "nextCursor": None}
    page = ids[: max(limit, 1)]
    return {"data": page, "nextCursor": page[-1]}


HANDLERS: dict[str, Handler] = {
    "thread/list": thread_list,
    "thread/loaded/list": thread_loaded_list,
}

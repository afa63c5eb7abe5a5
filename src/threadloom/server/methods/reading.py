"""``thread/read``, ``thread/turns/list``, ``thread/items/list`` (app-server-threads 4.7-4.9).

Turns and items come from the server's ``HistoryService`` (``server/history``): a per-thread
index over the rollout, so a page costs one page of lines, whatever the thread's size.

Observed on Codex 0.169.0 and reproduced (``tests/server/test_differential_history.py``):

* ``includeTurns`` on a paginated thread sends ``deprecationNotice`` before the reply; on a
  legacy one the thread reports its index row's ``updatedAt`` (the file's mtime) and its
  ``threadSource``, as paginated threads always do;
* a thread loaded here with nothing written yet: ``thread/turns/list`` and legacy
  ``includeTurns`` are "not materialized yet" (``-32600``), paginated ``includeTurns`` is
  ``-32601 "list_turns is not supported yet"``, ``thread/items/list`` "not supported yet";
* ``thread/items/list``: an item anchor without ``turnId`` is refused (``-32602``) before the
  id is even parsed; ``deferOutput`` members set to ``true`` need the experimental API.

Codex answers ``thread/items/list`` on a legacy thread (and on an id it does not know) with
``-32601 "thread/items/list is not supported yet"``. threadloom lists a legacy thread's items
(deliberately, README "Compatibility with Codex"): the shape of Codex's paginated answer, items
in ``thread/read`` order (``server/history/items.py``). Unknown and unreadable ids keep
Codex's answer.
"""

from __future__ import annotations

import weakref
from typing import Any

from threadloom.api import decode as d
from threadloom.api.thread import read_result_json
from threadloom.errors import CorruptData, InvalidRequest, NotFound, Unsupported
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.rollout import HistoryMode
from threadloom.runtime import LoadedThread
from threadloom.server.app import AppServer, Call, Handler, decodes
from threadloom.server.history.items import TURN_REQUIRED, ItemsQuery, items_page
from threadloom.server.history.pages import InvalidParams, ItemsView, TurnsQuery, turns_page
from threadloom.server.history.service import HistoryService
from threadloom.server.views import loaded_thread_json
from threadloom.store.params import ReadThreadParams
from threadloom.store.records import StoredThread

_params = d.struct(
    "ThreadReadParams",
    {"threadId": d.Field(d.string, True), "includeTurns": d.Field(d.boolean, nullable=False)},
)
PAGINATED_READ_NOTICE = (
    "Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it "
    "to `false`, then page with `thread/turns/list` and `thread/items/list`."
)
LIST_TURNS_UNSUPPORTED = "list_turns is not supported yet"
ITEMS_UNSUPPORTED = "thread/items/list is not supported yet"


def not_materialized(thread_id: str, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"thread {thread_id} is not materialized yet; {what} is unavailable before first user "
        "message"
    )


_services: weakref.WeakKeyDictionary[AppServer, HistoryService] = weakref.WeakKeyDictionary()


def history_service(server: AppServer) -> HistoryService:
    """The server's ``HistoryService`` (made on first use)."""
    service = _services.get(server)
    if service is None:
        service = _services[server] = HistoryService(server.store)
    return service


def thread_not_loaded(thread_id: str) -> InvalidRequest:
    return InvalidRequest(f"thread not loaded: {thread_id}")


def _active(loaded: LoadedThread | None) -> bool:
    return loaded is not None and loaded.status.get("type") == "active"


async def _stored(call: Call, thread_id: ThreadId, loaded: LoadedThread | None) -> StoredThread:
    """The stored thread, after this process's pending writes to it are flushed."""
    if loaded is not None and loaded.live.materialized:
        await loaded.live.flush()
    try:
        return await call.server.store.read_thread(ReadThreadParams(thread_id=thread_id))
    except NotFound:
        raise thread_not_loaded(thread_id) from None


def _unwritten(loaded: LoadedThread | None) -> bool:
    """Loaded here, nothing written yet (a started thread)."""
    return loaded is not None and not loaded.live.materialized


def _paginated(loaded: LoadedThread) -> bool:
    return loaded.live.metadata.history_mode == HistoryMode.PAGINATED


# -- thread/read -----------------------------------------------------------------------------------


@decodes(_params)
async def thread_read(call: Call) -> dict[str, Any]:
    params = _params(call.params)
    thread_id = parse_thread_id(params["threadId"])
    include_turns = params.get("includeTurns", False)
    loaded = call.server.manager.get(thread_id)
    if loaded is not None and not loaded.live.materialized:
        if include_turns and _paginated(loaded):
            raise Unsupported("thread/read", LIST_TURNS_UNSUPPORTED)
        if include_turns:
            raise not_materialized(thread_id, "includeTurns")
        return {"thread": loaded_thread_json(loaded, call.server.config), "readState": None}
    stored = await _stored(call, thread_id, loaded)
    turns = None
    if include_turns:
        service = history_service(call.server)
        turns = await service.full_turns(stored, active=_active(loaded))
        if stored.history_mode == HistoryMode.PAGINATED:
            await call.conn.notify(
                "deprecationNotice", {"summary": PAGINATED_READ_NOTICE, "details": None}
            )
    result = read_result_json(stored, turns)
    if turns is not None and stored.history_mode != HistoryMode.PAGINATED:
        # Observed: with its turns, a legacy thread is described as a paginated one always is
        # (api/thread.py): the index row's update time (the file's mtime), its threadSource.
        result["thread"]["updatedAt"] = stored.updated_at_ms // 1000
        result["thread"]["threadSource"] = stored.thread_source
    if loaded is not None:
        result["thread"] = loaded_thread_json(loaded, call.server.config, turns)
    return result


# -- thread/turns/list -----------------------------------------------------------------------------

_DIRECTION = d.variant("asc", "desc")
_turns_params = d.struct(
    "ThreadTurnsListParams",
    {
        "threadId": d.Field(d.string, True),
        "cursor": d.Field(d.string),
        "limit": d.Field(d.u32),
        "sortDirection": d.Field(_DIRECTION),
        "itemsView": d.Field(d.variant(*(v.value for v in ItemsView))),
    },
)


@decodes(_turns_params)
async def thread_turns_list(call: Call) -> dict[str, Any]:
    params = _turns_params(call.params)
    thread_id = parse_thread_id(params["threadId"])
    loaded = call.server.manager.get(thread_id)
    if _unwritten(loaded):
        raise not_materialized(thread_id, "thread/turns/list")
    stored = await _stored(call, thread_id, loaded)
    query = TurnsQuery(
        cursor=params.get("cursor"),
        limit=params.get("limit"),
        descending=params.get("sortDirection", "desc") == "desc",
        view=ItemsView(params.get("itemsView", ItemsView.SUMMARY.value)),
        active=_active(loaded),
    )
    service = history_service(call.server)
    return await service.run(stored, lambda index, source: turns_page(index, source, query))


# -- thread/items/list -----------------------------------------------------------------------------

_ANCHOR = "ThreadItemsListCursor"
_deferral = d.nested(
    "ThreadItemOutputDeferral",
    {
        "commandExecution": d.Field(d.boolean, nullable=False),
        "mcpToolCall": d.Field(d.boolean, nullable=False),
    },
)


def _items_cursor(value: Any) -> str | dict[str, str]:
    """A cursor string, or an item anchor ``{"type":"item","itemId":…}`` (untagged)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type") == "item":
        item_id = value.get("itemId")
        if isinstance(item_id, str):
            return {"itemId": item_id}
    raise InvalidRequest(
        f"Invalid request: data did not match any variant of untagged enum {_ANCHOR}"
    )


_items_params = d.struct(
    "ThreadItemsListParams",
    {
        "threadId": d.Field(d.string, True),
        "turnId": d.Field(d.string),
        "cursor": d.Field(_items_cursor),
        "limit": d.Field(d.u32),
        "sortDirection": d.Field(_DIRECTION),
        "deferOutput": d.Field(_deferral),
    },
)


@decodes(_items_params)
async def thread_items_list(call: Call) -> dict[str, Any]:
    params = _items_params(call.params)
    cursor = params.get("cursor")
    anchor = cursor.get("itemId") if isinstance(cursor, dict) else None
    turn_id = params.get("turnId")
    if anchor is not None and turn_id is None:
        raise InvalidParams(TURN_REQUIRED)
    thread_id = parse_thread_id(params["threadId"])
    defer = params.get("deferOutput", {})
    if not call.conn.experimental_api:
        for member in ("commandExecution", "mcpToolCall"):
            if defer.get(member):  # observed: only a true member needs the capability
                raise InvalidRequest(
                    f"thread/items/list.deferOutput.{member} requires experimentalApi capability"
                )
    loaded = call.server.manager.get(thread_id)
    if _unwritten(loaded):
        raise Unsupported("thread/items/list", ITEMS_UNSUPPORTED)
    try:
        stored = await _stored(call, thread_id, loaded)
    except (InvalidRequest, CorruptData):  # unknown or unreadable: Codex's answer
        raise Unsupported("thread/items/list", ITEMS_UNSUPPORTED) from None
    query = ItemsQuery(
        turn_id=turn_id,
        cursor=cursor if isinstance(cursor, str) else None,
        anchor_item=anchor,
        limit=params.get("limit"),
        descending=params.get("sortDirection", "asc") == "desc",
        defer_commands=bool(defer.get("commandExecution", False)),
        defer_mcp=bool(defer.get("mcpToolCall", False)),
    )
    service = history_service(call.server)
    return await service.run(stored, lambda index, source: items_page(index, source, query))


HANDLERS: dict[str, Handler] = {
    "thread/read": thread_read,
    "thread/turns/list": thread_turns_list,
    "thread/items/list": thread_items_list,
}

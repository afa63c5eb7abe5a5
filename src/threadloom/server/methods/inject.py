"""``thread/inject_items`` (app-server-threads 4.16): raw Responses API items into a loaded
thread's history, as ``response_item`` lines (model context only: never turn items).

Each item is validated as Codex decodes a ``ResponseItem`` (an object with a ``type``; the
members its type requires, checked in declaration order), with Codex's error texts for the
shape errors; an item of a type Codex does not know is accepted and not written. Written items
take Codex's canonical form, with the id Codex gives an id-less item (``msg_…``, ``fc_…``);
Codex's internal bookkeeping (``internal_chat_message_metadata_passthrough`` turn ids, the
envelope ``metadata``) is not reproduced. A thread not yet on disk is materialised, its
settings recorded (``thread_settings_applied``) before the items.
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.api import decode as d
from threadloom.errors import InvalidRequest
from threadloom.ids import parse_thread_id
from threadloom.live.metadata import now_ms
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.events import RAW_FIELD
from threadloom.protocol.items import RESPONSE_ITEM_TYPES, Malformed, UnknownItem, parse_payload
from threadloom.protocol.policy import PERSISTED_RESPONSE_ITEMS
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, RolloutLine
from threadloom.runtime.forking import with_item_id
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.views import effective_settings

_params = d.struct(
    "ThreadInjectItemsParams",
    {"threadId": d.Field(d.string, True), "items": d.Field(d.array(d.any_value), True)},
)


def _required(kind: str) -> list[str]:
    cls = RESPONSE_ITEM_TYPES[kind]
    return [
        f.encode_name
        for f in msgspec.structs.fields(cls)
        if f.required and f.encode_name not in (RAW_FIELD, "type")
    ]


def response_item(index: int, item: Any) -> dict[str, Any] | None:
    """The canonical payload of item ``index`` (None: a type Codex accepts and drops)."""
    prefix = f"items[{index}] is not a valid response item: "
    if not isinstance(item, dict):
        kind = d.type_name(item)
        raise InvalidRequest(
            f"{prefix}invalid type: {kind}, expected internally tagged enum ResponseItem"
        )
    if "type" not in item:
        raise InvalidRequest(f"{prefix}missing field `type`")
    kind = item["type"]
    if not isinstance(kind, str):
        raise InvalidRequest(
            f"{prefix}invalid type: {d.type_name(kind)}, expected variant identifier"
        )
    if kind not in RESPONSE_ITEM_TYPES:
        return None
    for name in _required(kind):
        if name not in item:
            raise InvalidRequest(f"{prefix}missing field `{name}`")
    parsed = parse_payload(RESPONSE_ITEM, item)
    if isinstance(parsed, Malformed):
        raise InvalidRequest(f"{prefix}{parsed.error}")
    if isinstance(parsed, UnknownItem) or kind not in PERSISTED_RESPONSE_ITEMS:
        return None
    payload = parsed.to_payload()
    assert isinstance(payload, dict)
    return with_item_id(payload)


@decodes(_params)
async def thread_inject_items(call: Call) -> dict[str, Any]:
    params = _params(call.params)
    thread_id = parse_thread_id(params["threadId"])
    loaded = call.server.manager.get(thread_id)
    if loaded is None:
        raise InvalidRequest(f"thread not found: {thread_id}")
    items = params["items"]
    if not items:
        raise InvalidRequest("items must not be empty")
    payloads = [response_item(i, item) for i, item in enumerate(items)]
    stamp = format_timestamp(now_ms())
    lines = [
        RolloutLine(timestamp=stamp, type=RESPONSE_ITEM, payload=payload)
        for payload in payloads
        if payload is not None
    ]
    if not lines:
        return {}
    live = loaded.live
    if not live.materialized and not live.ephemeral:
        settings = effective_settings(loaded, call.server.config)
        applied = settings.applied_event(thread_id)
        lines.insert(0, RolloutLine(timestamp=stamp, type=EVENT_MSG, payload=applied))
    await live.append(lines)
    await live.flush()
    return {}


HANDLERS: dict[str, Handler] = {"thread/inject_items": thread_inject_items}

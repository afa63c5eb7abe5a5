"""``thread/name/set`` and ``thread/metadata/update`` (app-server-threads 4.10, 4.11)."""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.api.thread import read_result_json
from threadloom.errors import InvalidRequest
from threadloom.ids import parse_thread_id
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.views import loaded_thread_json
from threadloom.store.params import (
    UNSET,
    GitInfoPatch,
    SetThreadNameParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
)

_name_params = d.struct(
    "ThreadSetNameParams", {"threadId": d.Field(d.string, True), "name": d.Field(d.string, True)}
)


@decodes(_name_params)
async def thread_name_set(call: Call) -> dict[str, Any]:
    params = _name_params(call.params)
    thread_id = parse_thread_id(params["threadId"])
    name = params["name"].strip()
    if not name:
        raise InvalidRequest("thread name must not be empty")
    loaded = call.server.manager.get(thread_id)
    if loaded is not None:
        await loaded.live.set_name(name)
    else:
        await call.server.store.set_thread_name(SetThreadNameParams(thread_id=thread_id, name=name))
    update = {"threadId": thread_id, "threadName": name}
    call.notify_after_reply("thread/name/updated", update)
    if loaded is not None:
        loaded.subscribers.discard(call.conn.id)
        try:
            await call.server.notify_subscribers(loaded, "thread/name/updated", update)
        finally:
            loaded.subscribers.add(call.conn.id)
    return {}


_GIT_KEYS = {"sha": "sha", "branch": "branch", "originUrl": "origin_url"}


def _nullable_string(value: Any) -> str | None:
    return None if value is None else d.string(value)


_metadata_params = d.struct(
    "ThreadMetadataUpdateParams",
    {"threadId": d.Field(d.string, True), "gitInfo": d.Field(d.any_value)},
)


def _git_patch(raw: Any) -> GitInfoPatch:
    """Three states per key: omitted keeps, null clears, a string sets."""
    if not isinstance(raw, dict):
        raise d.invalid_type(raw, "struct ThreadMetadataGitInfoUpdateParams")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _GIT_KEYS:
            values[_GIT_KEYS[key]] = _nullable_string(value)
    return GitInfoPatch(**values)


def _decode_metadata(raw: Any) -> tuple[str, GitInfoPatch | None]:
    params = _metadata_params(raw)
    raw_git = params.get("gitInfo")
    return params["threadId"], None if raw_git is None else _git_patch(raw_git)


@decodes(_decode_metadata)
async def thread_metadata_update(call: Call) -> dict[str, Any]:
    raw_id, git = _decode_metadata(call.params)
    thread_id = parse_thread_id(raw_id)
    if git is None:
        raise InvalidRequest("thread metadata update must include at least one field")
    if git.is_empty:
        raise InvalidRequest("gitInfo must include at least one field")
    patch = ThreadMetadataPatch(name=UNSET, git=git)
    loaded = call.server.manager.get(thread_id)
    if loaded is not None:
        await loaded.live.update_metadata(patch)
        return {"thread": loaded_thread_json(loaded, call.server.config)}
    stored = await call.server.store.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=thread_id, patch=patch)
    )
    return {"thread": read_result_json(stored)["thread"]}


HANDLERS: dict[str, Handler] = {
    "thread/name/set": thread_name_set,
    "thread/metadata/update": thread_metadata_update,
}

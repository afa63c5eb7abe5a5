"""``thread/start``, ``thread/resume``, ``thread/fork`` (app-server-threads 4.2-4.4).

Replies and notifications as Codex 0.169.0 sends them (observed; ``tests/server``):

* ``thread/start`` → the thread and its settings; then ``thread/started``. Nothing is written
  until the thread has something to keep. ``historyMode`` (experimental) is honoured exactly;
  without it the thread is written in the server's default mode (``ServerConfig`` extra
  ``history_mode``, legacy unless configured: README "History modes").
* ``thread/resume`` → the stored thread (times as ``thread/read`` reports them) with its
  rebuilt turns and settings; before the reply ``deprecationNotice`` (paginated thread with
  turns), ``warning`` (a model other than the recorded one), ``thread/status/changed`` (first
  load); after it ``thread/tokenUsage/updated`` (with turns, or a paginated thread's first
  load) and ``thread/goal/cleared``. A paginated thread's result carries cursors back from
  its newest turn and item; a loaded thread without a preview resumed with its turns is
  reported without its name (Codex's rebuilt summary has none).
* ``thread/fork`` → the new thread with the copied turns; before the reply
  ``deprecationNotice`` (paginated with turns), after it ``thread/tokenUsage/updated`` (with
  turns) and ``thread/started``.

Settings (model, cwd, approval policy…) come from the request, what the thread's history
recorded and the server's configuration, resolved by ``runtime.config``.
"""

from __future__ import annotations

import json
from typing import Any

from threadloom.api import decode as d
from threadloom.errors import InvalidRequest
from threadloom.ids import (
    SESSION_ID_ERROR_PREFIX,
    ThreadId,
    new_thread_id,
    new_uuid7,
    parse_thread_id,
)
from threadloom.live.metadata import now_ms
from threadloom.protocol.rollout import HistoryMode
from threadloom.runtime import LoadedThread
from threadloom.runtime.config import (
    Defaults,
    Overrides,
    RecordedSettings,
    fork_settings,
    resume_settings,
    start_settings,
)
from threadloom.runtime.manager import Loaded
from threadloom.runtime.settings import (
    APPROVAL_POLICIES,
    DEFAULT_MODEL,
    SANDBOX_MODES,
    ThreadSettings,
    configured_effort,
    configured_providers,
)
from threadloom.server.app import Call, Handler, decodes
from threadloom.server.history.cursors import Scope, position_cursor
from threadloom.server.views import (
    MULTI_AGENT_MODE,
    loaded_thread_json,
    resumed_thread_json,
    settings_json,
)
from threadloom.store.params import CreateThreadParams
from threadloom.store.records import StoredThread

PAGINATED_RESUME_NOTICE = (
    "Full-history hydration is deprecated for paginated threads; use `excludeTurns: true`, "
    "then page with `thread/turns/list` and `thread/items/list`."
)
DEFAULT_TURNS_PAGE = 25
MAX_TURNS_PAGE = 100


# --- params --------------------------------------------------------------------------------------
def _approval(value: Any) -> str:
    policy = str(d.variant(*APPROVAL_POLICIES)(value))
    if policy == "granular":
        raise InvalidRequest("Invalid request: invalid type: unit variant, expected struct variant")
    return policy


_OVERRIDES: dict[str, d.Field] = {
    "model": d.Field(d.string),
    "modelProvider": d.Field(d.string),
    "cwd": d.Field(d.string),
    "approvalPolicy": d.Field(_approval),
    "approvalsReviewer": d.Field(d.any_value),
    "sandbox": d.Field(d.variant(*SANDBOX_MODES)),
    "config": d.Field(d.any_value),
    "baseInstructions": d.Field(d.string),
    "developerInstructions": d.Field(d.string),
    "personality": d.Field(d.any_value),
    "serviceTier": d.Field(d.any_value),
}
_HISTORY_MODE = d.variant("legacy", "paginated")
_turns_page = d.nested(
    "ThreadTurnsPageParams",
    {
        "cursor": d.Field(d.string),
        "limit": d.Field(d.u32),
        "sortDirection": d.Field(d.variant("asc", "desc")),
        "itemsView": d.Field(d.variant("notLoaded", "summary", "full")),
    },
)
_start_params = d.struct(
    "ThreadStartParams",
    {
        **_OVERRIDES,
        "ephemeral": d.Field(d.boolean),
        "serviceName": d.Field(d.string),
        "sessionStartSource": d.Field(d.variant("startup", "clear")),
        "threadSource": d.Field(d.any_value),
        "historyMode": d.Field(_HISTORY_MODE),
        "dynamicTools": d.Field(d.any_value),
        "environments": d.Field(d.any_value),
        "permissions": d.Field(d.any_value),
        "projectId": d.Field(d.any_value),
    },
)
_resume_params = d.struct(
    "ThreadResumeParams",
    {
        "threadId": d.Field(d.string, True),
        **_OVERRIDES,
        "excludeTurns": d.Field(d.boolean),
        "initialTurnsPage": d.Field(_turns_page),
        "path": d.Field(d.any_value),
        "history": d.Field(d.any_value),
    },
)
_fork_params = d.struct(
    "ThreadForkParams",
    {
        "threadId": d.Field(d.string, True),
        **_OVERRIDES,
        "ephemeral": d.Field(d.boolean),
        "excludeTurns": d.Field(d.boolean),
        "lastTurnId": d.Field(d.string),
        "threadSource": d.Field(d.any_value),
        "beforeTurnId": d.Field(d.string),
        "attachToSource": d.Field(d.boolean),
        "path": d.Field(d.any_value),
    },
)
_EXPERIMENTAL = {
    "thread/start": ("historyMode", "dynamicTools", "environments", "permissions", "projectId"),
    "thread/resume": ("initialTurnsPage", "path", "history"),
    "thread/fork": ("beforeTurnId", "attachToSource", "path"),
}


def _experimental(call: Call, method: str, params: dict[str, Any]) -> None:
    if call.conn.experimental_api:
        return
    for name in _EXPERIMENTAL[method]:
        if name in params:
            raise InvalidRequest(f"{method}.{name} requires experimentalApi capability")


def _defaults(call: Call) -> Defaults:
    """The server's configuration as the settings resolvers see it."""
    config = call.server.config
    return Defaults(
        model=config.model or DEFAULT_MODEL,
        model_provider=config.model_provider,
        providers=configured_providers(config.codex_home),
        reasoning_effort=configured_effort(config.codex_home),
    )


def _default_history_mode(call: Call) -> HistoryMode:
    mode = call.server.config.extra.get("history_mode", HistoryMode.LEGACY)
    return HistoryMode(mode)


# --- thread/start --------------------------------------------------------------------------------
@decodes(_start_params)
async def thread_start(call: Call) -> dict[str, Any]:
    params = _start_params(call.params)
    _experimental(call, "thread/start", params)
    config = call.server.config
    settings = start_settings(Overrides.from_params(params), _defaults(call))
    provider = settings.model_provider
    now = now_ms()
    mode = params.get("historyMode")
    create = CreateThreadParams(
        thread_id=new_thread_id(now),
        cwd=settings.cwd,
        originator=call.conn.client_name,
        cli_version=config.cli_version,
        created_at_ms=now,
        source="vscode",
        model_provider=provider,
        history_mode=HistoryMode(mode) if mode is not None else _default_history_mode(call),
        extra={
            "account_scoped": True,
            "runtime_workspace_roots": [settings.cwd],
            "context_window": {"window_id": new_uuid7(now)},
        },
    )
    loaded = await call.server.manager.start(
        create, settings, ephemeral=params.get("ephemeral", False), subscriber=call.conn.id
    )
    thread = loaded_thread_json(loaded, config)
    call.notify_after_reply("thread/started", {"thread": thread})
    return {"thread": thread, **settings_json(loaded, config), "multiAgentMode": MULTI_AGENT_MODE}


# --- thread/resume -------------------------------------------------------------------------------
@decodes(_resume_params)
async def thread_resume(call: Call) -> dict[str, Any]:
    params = _resume_params(call.params)
    thread_id = parse_session_id(params["threadId"])
    _experimental(call, "thread/resume", params)
    config = call.server.config
    overrides, defaults = Overrides.from_params(params), _defaults(call)

    def settings_for(stored: StoredThread, recorded: RecordedSettings) -> ThreadSettings:
        return resume_settings(
            overrides,
            provider=stored.model_provider,
            cwd=stored.cwd,
            model=stored.model,
            recorded=recorded,
            defaults=defaults,
        )

    result = await call.server.manager.resume(thread_id, settings_for, subscriber=call.conn.id)
    loaded, stored = result.thread, result.stored
    assert stored is not None
    exclude = params.get("excludeTurns", False)
    paginated = stored.history_mode == HistoryMode.PAGINATED
    if paginated and not exclude:
        await call.conn.notify(
            "deprecationNotice", {"summary": PAGINATED_RESUME_NOTICE, "details": None}
        )
    settings = loaded.settings
    if result.first_load:
        recorded = result.context_model
        if settings is not None and recorded is not None and settings.model != recorded:
            await call.conn.notify(
                "warning", {"threadId": thread_id, "message": _model_warning(recorded, settings)}
            )
        await call.conn.notify("thread/status/changed", {"threadId": thread_id, "status": IDLE})
    _after_resume(call, result, exclude=exclude, paginated=paginated)
    thread = resumed_thread_json(stored, loaded, config, [] if exclude else result.turns)
    if not result.first_load and not exclude and not thread["preview"]:
        thread["name"] = None  # Codex's rebuilt summary of a loaded thread without a preview
    page = params.get("initialTurnsPage")
    turns_cursor = items_cursor = None
    if paginated:
        turns_cursor = _backwards(thread_id, Scope.TURNS, result.last_turn_ordinal)
        items_cursor = _backwards(thread_id, Scope.ITEMS, result.last_item_ordinal)
    return {
        "thread": thread,
        **settings_json(loaded, config),
        "collaborationMode": _collaboration_mode(loaded, call),
        "multiAgentMode": MULTI_AGENT_MODE,
        "initialTurnsPage": None if page is None else turns_page(result.turns, page),
        "turnsBackwardsCursor": turns_cursor,
        "itemsBackwardsCursor": items_cursor,
    }


def _backwards(thread_id: str, scope: Scope, ordinal: int | None) -> str | None:
    """A paginated resume's cursor back from its newest turn or item (anchor included)."""
    return None if ordinal is None else position_cursor(thread_id, scope, ordinal, True)


IDLE = {"type": "idle"}


def parse_session_id(raw: Any) -> ThreadId:
    """Resume and fork name their thread a session in id errors (1.4)."""
    return parse_thread_id(raw, SESSION_ID_ERROR_PREFIX)


def _model_warning(recorded: str, settings: ThreadSettings) -> str:
    return (
        f"This session was recorded with model `{recorded}` but is resuming with "
        f"`{settings.model}`. Consider switching back to `{recorded}` as it may affect "
        "Codex performance."
    )


def _collaboration_mode(loaded: LoadedThread, call: Call) -> dict[str, Any]:
    settings = loaded.settings
    if settings is None:
        model = call.server.config.model or DEFAULT_MODEL
        settings = ThreadSettings(model=model, model_provider="", cwd="")
    return settings.collaboration_mode()


def _after_resume(call: Call, result: Loaded, *, exclude: bool, paginated: bool) -> None:
    thread_id = result.thread.thread_id
    if result.token_usage is not None and (not exclude or (paginated and result.first_load)):
        call.notify_after_reply("thread/tokenUsage/updated", result.token_usage)
    call.notify_after_reply("thread/goal/cleared", {"threadId": thread_id})


# --- initialTurnsPage ----------------------------------------------------------------------------
def _summary_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first user message and the last agent message, in that order (4.8)."""
    first_user = next((i for i in items if i.get("type") == "userMessage"), None)
    last_agent = next((i for i in reversed(items) if i.get("type") == "agentMessage"), None)
    return [i for i in (first_user, last_agent) if i is not None]


def _cursor(turn_id: str, anchor: bool) -> str:
    return json.dumps({"turnId": turn_id, "includeAnchor": anchor}, separators=(",", ":"))


def turns_page(turns: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """A ``thread/turns/list`` page of ``turns`` (legacy cursors), as ``initialTurnsPage``."""
    view = params.get("itemsView", "summary")
    limit = min(max(params.get("limit", DEFAULT_TURNS_PAGE), 1), MAX_TURNS_PAGE)
    ordered = turns if params.get("sortDirection") == "asc" else list(reversed(turns))
    start = 0
    cursor = params.get("cursor")
    if cursor is not None:
        try:
            anchor = json.loads(cursor)
            position = [t["id"] for t in ordered].index(anchor["turnId"])
        except (ValueError, KeyError, TypeError):
            raise InvalidRequest(f"invalid cursor: {cursor}") from None
        start = position if anchor.get("includeAnchor") else position + 1
    page = ordered[start : start + limit]
    data = []
    for turn in page:
        items = turn["items"]
        if view == "summary":
            items = _summary_items(items)
        elif view == "notLoaded":
            items = []
        data.append({**turn, "items": items, "itemsView": view})
    more = start + limit < len(ordered)
    return {
        "data": data,
        "nextCursor": _cursor(page[-1]["id"], False) if page and more else None,
        "backwardsCursor": _cursor(page[0]["id"], True) if page else None,
    }


# --- thread/fork ---------------------------------------------------------------------------------
@decodes(_fork_params)
async def thread_fork(call: Call) -> dict[str, Any]:
    params = _fork_params(call.params)
    source_id = parse_session_id(params["threadId"])
    _experimental(call, "thread/fork", params)
    last_turn_id, before_turn_id = params.get("lastTurnId"), params.get("beforeTurnId")
    if last_turn_id is not None and before_turn_id is not None:
        raise InvalidRequest("`beforeTurnId` cannot be combined with `lastTurnId`")
    config = call.server.config
    overrides, defaults = Overrides.from_params(params), _defaults(call)
    start_settings(overrides, defaults)  # an unknown provider is refused before anything

    def settings_for(stored: StoredThread, recorded: RecordedSettings) -> ThreadSettings:
        return fork_settings(overrides, stored.cwd, recorded, defaults)

    exclude = params.get("excludeTurns", False)
    result = await call.server.manager.fork(
        source_id,
        settings_for,
        cli_version=config.cli_version,
        ephemeral=params.get("ephemeral", False),
        last_turn_id=last_turn_id,
        before_turn_id=before_turn_id,
        subscriber=call.conn.id,
    )
    loaded = result.thread
    if loaded.live.metadata.history_mode == HistoryMode.PAGINATED and not exclude:
        await call.conn.notify(
            "deprecationNotice", {"summary": PAGINATED_RESUME_NOTICE, "details": None}
        )
    if result.token_usage is not None and not exclude:
        call.notify_after_reply("thread/tokenUsage/updated", result.token_usage)
    started = loaded_thread_json(loaded, config)
    call.notify_after_reply("thread/started", {"thread": started})
    thread = loaded_thread_json(loaded, config, [] if exclude else result.turns)
    return {"thread": thread, **settings_json(loaded, config), "multiAgentMode": MULTI_AGENT_MODE}


HANDLERS: dict[str, Handler] = {
    "thread/start": thread_start,
    "thread/resume": thread_resume,
    "thread/fork": thread_fork,
}

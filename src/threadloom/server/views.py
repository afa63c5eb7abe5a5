"""Thread objects of loaded threads, and the settings part of start/resume/fork results."""

from __future__ import annotations

import os
from typing import Any

import msgspec

from threadloom.api.thread import thread_json
from threadloom.runtime import LoadedThread
from threadloom.runtime.settings import DEFAULT_MODEL, ThreadSettings
from threadloom.server.app import ServerConfig
from threadloom.store.records import StoredThread

MULTI_AGENT_MODE = "explicitRequestOnly"


def environments(cwd: str) -> list[dict[str, Any]]:
    return [{"environmentId": "local", "cwd": cwd, "runtimeWorkspaceRoots": [cwd]}]


def effective_settings(loaded: LoadedThread, config: ServerConfig) -> ThreadSettings:
    """The thread's settings; the server's defaults for a thread loaded without any."""
    if loaded.settings is not None:
        return loaded.settings
    stored = loaded.live.metadata
    return ThreadSettings(
        model=config.model or DEFAULT_MODEL,
        model_provider=stored.model_provider,
        cwd=stored.cwd or os.getcwd(),
    )


def _loaded_overlay(
    out: dict[str, Any], loaded: LoadedThread, settings: ThreadSettings
) -> dict[str, Any]:
    out["environments"] = environments(settings.cwd)
    out["ephemeral"] = loaded.live.ephemeral
    out["path"] = None if loaded.live.ephemeral else out["path"]
    out["model"] = settings.model
    out["reasoningEffort"] = settings.reasoning_effort
    out["status"] = loaded.status
    out["cwd"] = settings.cwd
    out["canAcceptDirectInput"] = True
    return out


def loaded_thread_json(
    loaded: LoadedThread, config: ServerConfig, turns: list[Any] | None = None
) -> dict[str, Any]:
    """The Thread object of a thread loaded in this process: described as ``thread/read``
    describes a stored one (``updatedAt`` is the time of the last write, or the creation
    time of a legacy thread with a preview; ``recencyAt`` the start of the last user turn),
    with the settings it runs with."""
    stored = loaded.live.metadata
    out = thread_json(stored, listing=False, status=loaded.status, turns=turns)
    if not out["preview"] and loaded.preview:
        out["preview"] = loaded.preview
    return _loaded_overlay(out, loaded, effective_settings(loaded, config))


def resumed_thread_json(
    stored: StoredThread, loaded: LoadedThread, config: ServerConfig, turns: list[Any] | None
) -> dict[str, Any]:
    """The Thread object ``thread/resume`` returns: the stored record as ``thread/read``
    reports it, with what loading the thread set (the settings it recorded are a write: a
    thread described from its row shows its time)."""
    written = max(stored.updated_at_ms, loaded.live.metadata.updated_at_ms)
    stored = msgspec.structs.replace(stored, updated_at_ms=written)
    out = thread_json(stored, listing=False, turns=turns)
    if not out["preview"] and loaded.preview:
        out["preview"] = loaded.preview
    return _loaded_overlay(out, loaded, effective_settings(loaded, config))


def settings_json(loaded: LoadedThread, config: ServerConfig) -> dict[str, Any]:
    """The fields a ``thread/start`` result carries beside the thread."""
    settings = effective_settings(loaded, config)
    return {
        "model": settings.model,
        "modelProvider": settings.model_provider,
        "serviceTier": None,
        "disabledPluginIds": [],
        "cwd": settings.cwd,
        "runtimeWorkspaceRoots": [settings.cwd],
        "instructionSources": [],
        "approvalPolicy": settings.approval_policy,
        "approvalsReviewer": "user",
        "sandbox": settings.sandbox_json(),
        "activePermissionProfile": settings.active_permission_profile_json(),
        "reasoningEffort": settings.reasoning_effort,
    }

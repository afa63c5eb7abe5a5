"""Thread objects of loaded threads, and the settings part of start/resume/fork results."""

from __future__ import annotations

from typing import Any

from threadloom.api.thread import thread_json
from threadloom.runtime import LoadedThread
from threadloom.server.app import ServerConfig


def environments(cwd: str) -> list[dict[str, Any]]:
    return [{"environmentId": "local", "cwd": cwd, "runtimeWorkspaceRoots": [cwd]}]


def loaded_thread_json(
    loaded: LoadedThread, config: ServerConfig, turns: list[Any] | None = None
) -> dict[str, Any]:
    """The Thread object of a thread loaded in this process."""
    stored = loaded.live.metadata
    out = thread_json(stored, listing=False, status=loaded.status, turns=turns)
    cwd = stored.cwd
    out["environments"] = environments(cwd)
    out["ephemeral"] = loaded.live.ephemeral
    out["path"] = None if loaded.live.ephemeral else out["path"]
    out["model"] = loaded.settings.get("model", config.model)
    out["reasoningEffort"] = loaded.settings.get("reasoningEffort")
    out["canAcceptDirectInput"] = True
    out["updatedAt"] = stored.updated_at_ms // 1000
    return out


def settings_json(loaded: LoadedThread, config: ServerConfig) -> dict[str, Any]:
    """The fields a ``thread/start`` result carries beside the thread."""
    cwd = loaded.live.metadata.cwd
    return {
        "model": loaded.settings.get("model", config.model),
        "modelProvider": loaded.live.metadata.model_provider,
        "serviceTier": None,
        "disabledPluginIds": [],
        "cwd": cwd,
        "runtimeWorkspaceRoots": [cwd],
        "instructionSources": [],
        "approvalPolicy": "on-request",
        "approvalsReviewer": "user",
        "sandbox": {"type": "readOnly", "networkAccess": False},
        "activePermissionProfile": {"id": ":read-only", "extends": None},
        "reasoningEffort": loaded.settings.get("reasoningEffort"),
    }

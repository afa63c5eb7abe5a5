"""What a loaded thread runs with, and how Codex 0.169.0 reports and records it.

``ThreadSettings`` is the effective configuration of one loaded thread (model, provider, cwd,
approval policy, sandbox, reasoning effort). It gives the ``thread_settings_applied`` event
Codex writes when it loads or configures a thread, and the members of the app server's
``thread/start`` / ``thread/resume`` / ``thread/fork`` results that describe the settings.
Every shape here was observed on the binary (``tests/server/test_lifecycle*.py``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "gpt-6.1-sol"
"""The model Codex 0.169.0 configures when ``config.toml`` names none."""
BUILT_IN_PROVIDERS = ("openai", "ollama", "lmstudio")
"""Providers Codex 0.169.0 knows without a ``[model_providers.<id>]`` table."""
APPROVAL_POLICIES = ("untrusted", "on-request", "granular", "never")
"""The ``approvalPolicy`` variants, in the order Codex's error text lists them."""
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
READ_ONLY = "read-only"
WORKSPACE_WRITE = "workspace-write"
DANGER_FULL_ACCESS = "danger-full-access"
READ_ONLY_PROFILE_ID = ":read-only"
_WORKSPACE_PROTECTED = (".git", ".agents", ".codex", ".aws")
"""Folders of the workspace a ``workspace-write`` sandbox keeps read-only."""


@dataclass(frozen=True, slots=True)
class ThreadSettings:
    """The effective settings of a loaded thread."""

    model: str
    model_provider: str
    cwd: str
    approval_policy: str = "on-request"
    sandbox: str = READ_ONLY
    reasoning_effort: str | None = None

    def collaboration_mode(self) -> dict[str, Any]:
        """``collaborationMode`` (result) and ``collaboration_mode`` (rollout): the same."""
        return {
            "mode": "default",
            "settings": {
                "model": self.model,
                "reasoning_effort": self.reasoning_effort,
                "developer_instructions": None,
            },
        }

    def permission_profile(self) -> dict[str, Any]:
        """The permission profile Codex derives from the sandbox mode (rollout form)."""
        if self.sandbox == DANGER_FULL_ACCESS:
            return {"type": "disabled"}
        entries: list[dict[str, Any]] = [
            {"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"}
        ]
        if self.sandbox == WORKSPACE_WRITE:
            entries += [
                {"path": {"type": "path", "path": self.cwd}, "access": "write"},
                {"path": {"type": "special", "value": {"kind": "slash_tmp"}}, "access": "write"},
                {"path": {"type": "special", "value": {"kind": "tmpdir"}}, "access": "write"},
            ]
            entries += [
                {
                    "path": {"type": "path", "path": os.path.join(self.cwd, name)},
                    "access": "read",
                    "missing_path_behavior": "skip",
                }
                for name in _WORKSPACE_PROTECTED
            ]
        return {
            "type": "managed",
            "file_system": {"type": "restricted", "entries": entries},
            "network": "restricted",
        }

    def thread_settings(self) -> dict[str, Any]:
        """``thread_settings`` of the ``thread_settings_applied`` event, in Codex's order."""
        out: dict[str, Any] = {
            "model": self.model,
            "model_provider_id": self.model_provider,
            "approval_policy": self.approval_policy,
            "approvals_reviewer": "user",
            "requested_approvals_reviewer": "user",
            "permission_profile": self.permission_profile(),
        }
        if self.sandbox == READ_ONLY:
            out["active_permission_profile"] = {"id": READ_ONLY_PROFILE_ID}
        out["cwd"] = self.cwd
        out["runtime_workspace_roots"] = [self.cwd]
        if self.reasoning_effort is not None:
            out["reasoning_effort"] = self.reasoning_effort
        out["collaboration_mode"] = self.collaboration_mode()
        out["disabled_plugin_ids"] = []
        return out

    def applied_event(self, thread_id: str) -> dict[str, Any]:
        """The ``thread_settings_applied`` event payload for ``thread_id``."""
        return {
            "type": "thread_settings_applied",
            "thread_id": thread_id,
            "thread_settings": self.thread_settings(),
        }

    def sandbox_json(self) -> dict[str, Any]:
        """The result's ``sandbox`` member."""
        if self.sandbox == DANGER_FULL_ACCESS:
            return {"type": "dangerFullAccess"}
        if self.sandbox == WORKSPACE_WRITE:
            return {
                "type": "workspaceWrite",
                "writableRoots": [],
                "networkAccess": False,
                "excludeTmpdirEnvVar": False,
                "excludeSlashTmp": False,
            }
        return {"type": "readOnly", "networkAccess": False}

    def active_permission_profile_json(self) -> dict[str, Any] | None:
        if self.sandbox == READ_ONLY:
            return {"id": READ_ONLY_PROFILE_ID, "extends": None}
        return None


def resolve_cwd(cwd: str, base: str | None = None) -> str:
    """A requested ``cwd`` as Codex resolves it: joined to ``base`` (the server's working
    folder) when relative, then normalised lexically (no file system access)."""
    joined = os.path.join(base if base is not None else os.getcwd(), cwd)
    return os.path.normpath(joined)


def configured_providers(home: Path | None) -> frozenset[str]:
    """The built-in providers plus the ``[model_providers]`` tables of ``config.toml``."""
    names = set(BUILT_IN_PROVIDERS)
    if home is not None:
        try:
            with open(home / "config.toml", "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        tables = data.get("model_providers")
        if isinstance(tables, dict):
            names.update(str(name) for name in tables)
    return frozenset(names)


def configured_effort(home: Path | None) -> str | None:
    """``model_reasoning_effort`` of ``config.toml``, if any."""
    if home is None:
        return None
    try:
        with open(home / "config.toml", "rb") as f:
            value = tomllib.load(f).get("model_reasoning_effort")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return value if isinstance(value, str) else None

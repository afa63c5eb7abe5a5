"""The settings a started, resumed or forked thread runs with, resolved as Codex 0.169.0 does.

Three inputs, in decreasing priority:

* the request (``Overrides``): its typed members (``model``, ``cwd``, ``approvalPolicy``…)
  and its ``config`` object (the keys ``model``, ``model_provider``,
  ``model_reasoning_effort``, ``approval_policy``, ``sandbox_mode``);
* what the thread's history recorded (``RecordedSettings``, resume and fork only): its last
  ``thread_settings_applied`` and ``turn_context`` lines;
* the server's configuration (``Defaults``).

Observed on the binary (``tests/runtime/test_config.py`` states each rule):

* resume and fork take ``cwd`` from the last ``thread_settings_applied`` (else the session's),
  and the approval policy from the last ``thread_settings_applied``, else the last
  ``turn_context``; never the sandbox;
* resume also takes the model and reasoning effort of the last of those lines, unless the
  request names a model, a provider or an effort; fork never does;
* resume refuses a provider that is not configured (the thread's first, then the requested
  one: ``ProviderNotConfigured``) and a provider other than the thread's (``Cannot change…``);
  start and fork refuse an unknown requested provider (``Model provider `p` not found``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from threadloom.api.decode import type_name
from threadloom.errors import InvalidRequest
from threadloom.runtime.settings import APPROVAL_POLICIES, READ_ONLY, SANDBOX_MODES, ThreadSettings

CONFIG_KEYS = (
    "model",
    "model_provider",
    "model_reasoning_effort",
    "approval_policy",
    "sandbox_mode",
)
"""The ``config`` override keys threadloom applies (every one a string)."""
MODEL_KEYS = ("model", "model_provider", "model_reasoning_effort")
"""Naming any of these (typed member or ``config`` key) keeps resume from the recorded model."""


class ProviderNotConfigured(InvalidRequest):
    """A provider missing from the configuration (``data`` says which; resume only)."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"This chat uses model provider \u201c{provider}\u201d, which is no longer "
            "configured. Restore this provider\u2019s configuration to continue."
        )
        self.data = {"type": "modelProviderNotConfigured", "modelProvider": provider}


def config_error(text: str) -> InvalidRequest:
    return InvalidRequest(f"failed to load configuration: {text}")


@dataclass(frozen=True, slots=True)
class Defaults:
    """The server's configuration: what a thread gets when nothing else says."""

    model: str
    model_provider: str
    providers: frozenset[str]
    """Every configured provider (built-in ones included)."""
    reasoning_effort: str | None = None
    cwd: str = field(default_factory=os.getcwd)
    """The folder a relative ``cwd`` is joined to (the server's working folder)."""


@dataclass(frozen=True, slots=True)
class Overrides:
    """What one request asks for (None: not asked)."""

    model: str | None = None
    model_provider: str | None = None
    reasoning_effort: str | None = None
    cwd: str | None = None
    approval_policy: str | None = None
    sandbox: str | None = None
    names_model: bool = False
    """The request names a model, a provider or an effort."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Overrides:
        """The overrides of decoded start/resume/fork params (``config`` checked here)."""
        config = params.get("config")
        values = _config_values(config if isinstance(config, dict) else {})
        typed = {
            "model": "model",
            "modelProvider": "model_provider",
            "approvalPolicy": "approval_policy",
            "sandbox": "sandbox_mode",
        }
        for member, key in typed.items():
            if params.get(member) is not None:
                values[key] = params[member]
        named = any(k in values for k in MODEL_KEYS)
        return cls(
            model=values.get("model"),
            model_provider=values.get("model_provider"),
            reasoning_effort=values.get("model_reasoning_effort"),
            cwd=params.get("cwd"),
            approval_policy=values.get("approval_policy"),
            sandbox=values.get("sandbox_mode"),
            names_model=named,
        )


def _config_values(config: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in CONFIG_KEYS:
        if key not in config:
            continue
        value = config[key]
        if not isinstance(value, str):
            raise config_error(f"invalid type: {type_name(value)}, expected a string\nin `{key}`\n")
        out[key] = value
    for key, allowed in (("approval_policy", APPROVAL_POLICIES), ("sandbox_mode", SANDBOX_MODES)):
        if key in out and out[key] not in allowed:
            expected = ", ".join(f"`{v}`" for v in allowed)
            raise config_error(
                f"unknown variant `{out[key]}`, expected one of {expected}\nin `{key}`\n"
            )
    return out


@dataclass(slots=True)
class RecordedSettings:
    """What a history says about its thread's settings (fed its lines in file order)."""

    cwd: str | None = None
    """``cwd`` of the last ``thread_settings_applied``."""
    model_provider: str | None = None
    """``model_provider_id`` of the last ``thread_settings_applied``."""
    model: str | None = None
    reasoning_effort: str | None = None
    seen_model: bool = False
    """A line recorded a model (then ``model`` / ``reasoning_effort`` are that line's)."""
    _applied_approval: str | None = None
    _context_approval: str | None = None

    @property
    def approval_policy(self) -> str | None:
        """The last ``thread_settings_applied``'s, else the last ``turn_context``'s."""
        return self._applied_approval or self._context_approval

    def applied(self, settings: Mapping[str, Any]) -> None:
        """A ``thread_settings_applied`` event's ``thread_settings``."""
        self.cwd = _text(settings.get("cwd")) or self.cwd
        self.model_provider = _text(settings.get("model_provider_id")) or self.model_provider
        self._applied_approval = _text(settings.get("approval_policy")) or self._applied_approval
        self._model(settings.get("model"), settings.get("reasoning_effort"))

    def turn_context(self, payload: Mapping[str, Any]) -> None:
        """A ``turn_context`` line's payload."""
        self._context_approval = _text(payload.get("approval_policy")) or self._context_approval
        self._model(payload.get("model"), payload.get("effort"))

    def _model(self, model: Any, effort: Any) -> None:
        if isinstance(model, str):
            self.model, self.reasoning_effort = model, _text(effort)
            self.seen_model = True

    def backfill(self, earlier: RecordedSettings) -> None:
        """Add what an earlier part of the history recorded where this later part recorded
        nothing: the same as feeding both parts in order."""
        self.cwd = self.cwd or earlier.cwd
        self.model_provider = self.model_provider or earlier.model_provider
        self._applied_approval = self._applied_approval or earlier._applied_approval
        self._context_approval = self._context_approval or earlier._context_approval
        if not self.seen_model:
            self.model, self.reasoning_effort = earlier.model, earlier.reasoning_effort
            self.seen_model = earlier.seen_model

    @property
    def needs_context(self) -> bool:
        """Could an earlier ``turn_context`` still change this?"""
        return not (self.seen_model and self._context_approval)

    @property
    def complete(self) -> bool:
        """Could no earlier line change this any more?"""
        settled = self.cwd and self.model_provider and self._applied_approval
        return bool(settled) and not self.needs_context


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _resolved_cwd(requested: str | None, fallback: str, defaults: Defaults) -> str:
    if requested is None:
        return fallback
    return os.path.normpath(os.path.join(defaults.cwd, requested))


def _known_provider(name: str | None, defaults: Defaults) -> str:
    if name is None:
        return defaults.model_provider
    if name not in defaults.providers:
        raise config_error(f"Model provider `{name}` not found")
    return name


def start_settings(overrides: Overrides, defaults: Defaults) -> ThreadSettings:
    """``thread/start``: the request over the configuration."""
    return ThreadSettings(
        model=overrides.model or defaults.model,
        model_provider=_known_provider(overrides.model_provider, defaults),
        cwd=_resolved_cwd(overrides.cwd, defaults.cwd, defaults),
        approval_policy=overrides.approval_policy or "on-request",
        sandbox=overrides.sandbox or READ_ONLY,
        reasoning_effort=overrides.reasoning_effort or defaults.reasoning_effort,
    )


def fork_settings(
    overrides: Overrides, source_cwd: str, recorded: RecordedSettings, defaults: Defaults
) -> ThreadSettings:
    """``thread/fork``: the source's recorded cwd and approval policy, else as a start."""
    return ThreadSettings(
        model=overrides.model or defaults.model,
        model_provider=_known_provider(overrides.model_provider, defaults),
        cwd=_resolved_cwd(overrides.cwd, recorded.cwd or source_cwd, defaults),
        approval_policy=overrides.approval_policy or recorded.approval_policy or "on-request",
        sandbox=overrides.sandbox or READ_ONLY,
        reasoning_effort=overrides.reasoning_effort or defaults.reasoning_effort,
    )


def resume_settings(
    overrides: Overrides,
    *,
    provider: str,
    cwd: str,
    model: str | None,
    recorded: RecordedSettings,
    defaults: Defaults,
) -> ThreadSettings:
    """``thread/resume`` of a thread recorded with ``provider`` and ``cwd`` (``model``: the
    stored record's, used when no line recorded one)."""
    if provider not in defaults.providers:
        raise ProviderNotConfigured(provider)
    requested = overrides.model_provider or recorded.model_provider
    if requested is not None:
        if requested not in defaults.providers:
            raise ProviderNotConfigured(requested)
        if requested != provider:
            raise config_error(
                f"Cannot change this thread's model provider from `{provider}` to "
                f"`{requested}` on resume."
            )
    persisted_model, persisted_effort = None, defaults.reasoning_effort
    if not overrides.names_model:
        persisted_model = recorded.model if recorded.seen_model else model
        if recorded.seen_model:
            persisted_effort = recorded.reasoning_effort
    return ThreadSettings(
        model=overrides.model or persisted_model or defaults.model,
        model_provider=provider,
        cwd=_resolved_cwd(overrides.cwd, recorded.cwd or cwd, defaults),
        approval_policy=overrides.approval_policy or recorded.approval_policy or "on-request",
        sandbox=overrides.sandbox or READ_ONLY,
        reasoning_effort=overrides.reasoning_effort or persisted_effort,
    )

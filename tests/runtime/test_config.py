"""Settings of started, resumed and forked threads (runtime.config), each rule as observed on
Codex 0.169.0 (the differential tests in tests/server/test_lifecycle_compat.py run the same
cases on the binary)."""

from __future__ import annotations

from typing import Any

import pytest

from threadloom.errors import InvalidRequest
from threadloom.runtime.config import (
    Defaults,
    Overrides,
    ProviderNotConfigured,
    RecordedSettings,
    fork_settings,
    resume_settings,
    start_settings,
)

DEFAULTS = Defaults(
    model="default-model",
    model_provider="openai",
    providers=frozenset({"openai", "ollama"}),
    cwd="/server",
)


def applied(cwd: str, approval: str, model: str = "m2", effort: str | None = None) -> Any:
    out: dict[str, Any] = {"model": model, "model_provider_id": "openai"}
    out |= {"approval_policy": approval, "cwd": cwd}
    if effort is not None:
        out["reasoning_effort"] = effort
    return out


def context(approval: str, model: str, effort: str | None = None) -> dict[str, Any]:
    return {"cwd": "/ignored", "approval_policy": approval, "model": model, "effort": effort}


def recorded(*lines: tuple[str, dict[str, Any]]) -> RecordedSettings:
    out = RecordedSettings()
    for kind, payload in lines:
        out.applied(payload) if kind == "applied" else out.turn_context(payload)
    return out


def resume(overrides: Overrides, history: RecordedSettings, provider: str = "openai") -> Any:
    return resume_settings(
        overrides, provider=provider, cwd="/a", model="stored", recorded=history, defaults=DEFAULTS
    )


def test_the_last_settings_applied_win_over_any_turn_context_for_cwd_and_approval() -> None:
    history = recorded(("applied", applied("/c", "untrusted")), ("context", context("never", "m1")))
    for settings in (
        resume(Overrides(), history),
        fork_settings(Overrides(), "/a", history, DEFAULTS),
    ):
        assert (settings.cwd, settings.approval_policy) == ("/c", "untrusted")
        assert settings.sandbox == "read-only"


def test_without_settings_applied_the_approval_is_the_last_turn_context_s() -> None:
    history = recorded(("context", context("never", "m1")), ("context", context("untrusted", "m1")))
    settings = fork_settings(Overrides(), "/a", history, DEFAULTS)
    assert (settings.cwd, settings.approval_policy) == ("/a", "untrusted")
    assert (settings.model, settings.reasoning_effort) == ("default-model", None)


def test_resume_takes_the_model_and_effort_of_the_last_line_recording_one() -> None:
    late_context = recorded(
        ("applied", applied("/c", "untrusted", effort="high")), ("context", context("never", "m1"))
    )
    assert (
        resume(Overrides(), late_context).model,
        resume(Overrides(), late_context).reasoning_effort,
    ) == ("m1", None)
    late_applied = recorded(
        ("context", context("never", "m1", "medium")),
        ("applied", applied("/c", "never", effort="low")),
    )
    settings = resume(Overrides(), late_applied)
    assert (settings.model, settings.reasoning_effort) == ("m2", "low")
    assert resume(Overrides(), RecordedSettings()).model == "stored"


@pytest.mark.parametrize(
    "params",
    [
        {"model": "o3"},
        {"modelProvider": "openai"},
        {"config": {"model_reasoning_effort": "minimal"}},
        {"config": {"model": "o4"}},
    ],
)
def test_naming_a_model_provider_or_effort_drops_the_recorded_model(params: dict[str, Any]) -> None:
    history = recorded(("context", context("never", "m1", "high")))
    settings = resume(Overrides.from_params(params), history)
    assert settings.model == params.get(
        "model", params.get("config", {}).get("model", "default-model")
    )
    assert settings.reasoning_effort == params.get("config", {}).get("model_reasoning_effort")
    assert settings.approval_policy == "never"


def test_resume_refuses_a_provider_missing_or_other_than_the_thread_s() -> None:
    with pytest.raises(ProviderNotConfigured) as gone:
        resume(Overrides(model_provider="openai"), RecordedSettings(), provider="gone")
    assert gone.value.data == {"type": "modelProviderNotConfigured", "modelProvider": "gone"}
    with pytest.raises(ProviderNotConfigured) as nope:
        resume(Overrides(model_provider="nope"), RecordedSettings())
    assert nope.value.data["modelProvider"] == "nope"
    with pytest.raises(InvalidRequest, match="from `openai` to `ollama` on resume"):
        resume(Overrides(model_provider="ollama"), RecordedSettings())
    history = recorded(("applied", {**applied("/c", "never"), "model_provider_id": "ollama"}))
    with pytest.raises(InvalidRequest, match="from `openai` to `ollama` on resume"):
        resume(Overrides(), history)


def test_start_applies_the_request_and_its_config_over_the_defaults() -> None:
    params = {
        "cwd": "rel/../dir",
        "approvalPolicy": "untrusted",
        "config": {"model": "o4", "approval_policy": "never", "sandbox_mode": "workspace-write"},
    }
    settings = start_settings(Overrides.from_params(params), DEFAULTS)
    assert (settings.model, settings.cwd) == ("o4", "/server/dir")
    assert (settings.approval_policy, settings.sandbox) == ("untrusted", "workspace-write")
    with pytest.raises(InvalidRequest, match="Model provider `nope` not found"):
        start_settings(Overrides(model_provider="nope"), DEFAULTS)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"model": 5}, "invalid type: integer `5`, expected a string\nin `model`\n"),
        ({"sandbox_mode": True}, "invalid type: boolean `true`, expected a string"),
        ({"approval_policy": "bogus"}, "unknown variant `bogus`"),
    ],
)
def test_a_bad_config_override_is_a_configuration_error(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Overrides.from_params({"config": config})
    assert caught.value.message.startswith("failed to load configuration: ")
    assert message in caught.value.message

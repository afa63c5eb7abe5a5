"""SessionSource: where a thread came from, in its on-disk, API and filter forms.

On disk a source is a bare string (``"cli"``) or a one-key object (``{"subagent": "review"}``).
An unknown string degrades to ``unknown``; an object with an unknown key makes the session
metadata unreadable (rollout-format 6.3).
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.protocol.codec_json import compact

_SIMPLE = ("cli", "vscode", "exec", "mcp", "unknown")
_OBJECT_KEYS = ("custom", "internal", "subagent")
_SIMPLE_SUBAGENTS = ("review", "compact", "memory_consolidation")
_SPAWN_KEYS = ("parent_thread_id", "depth", "agent_path", "agent_nickname", "agent_role")

SOURCE_KINDS = (
    "cli",
    "vscode",
    "exec",
    "appServer",
    "subAgent",
    "subAgentReview",
    "subAgentCompact",
    "subAgentThreadSpawn",
    "subAgentOther",
    "unknown",
)
"""The ``sourceKinds`` filter values of ``thread/list``."""

INTERACTIVE_CUSTOM = ("atlas", "chatgpt")


class InvalidSource(ValueError):
    """An object-valued source with an unknown shape."""


class SessionSource(msgspec.Struct, frozen=True):
    """A parsed source; ``raw`` is the value exactly as it appeared on disk."""

    raw: Any

    @classmethod
    def parse(cls, value: Any) -> SessionSource:
        """Accept any string, or a one-key object whose key Codex knows."""
        if value is None:
            return cls("vscode")
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and len(value) == 1:
            key, inner = next(iter(value.items()))
            if key in ("custom", "internal") and isinstance(inner, str):
                return cls(value)
            if key == "subagent" and _valid_subagent(inner):
                return cls(value)
        raise InvalidSource(f"unknown session source {compact(value)}")

    @property
    def kind(self) -> str:
        """The most specific ``sourceKinds`` value this source matches (custom/internal: their
        own names, which no filter value matches; ``subAgent`` for a sub-agent kind without a
        value of its own, such as ``memory_consolidation``)."""
        raw = self.raw
        if isinstance(raw, str):
            if raw == "mcp":
                return "appServer"
            return raw if raw in ("cli", "vscode", "exec") else "unknown"
        key, inner = next(iter(raw.items()))
        if key != "subagent":
            return str(key)
        if inner == "review":
            return "subAgentReview"
        if inner == "compact":
            return "subAgentCompact"
        if isinstance(inner, dict) and "thread_spawn" in inner:
            return "subAgentThreadSpawn"
        if isinstance(inner, dict):
            return "subAgentOther"
        return "subAgent"  # e.g. memory_consolidation: matched by ``subAgent`` only

    def matches(self, kinds: list[str]) -> bool:
        """Does this source pass a ``sourceKinds`` filter (empty = interactive only)?"""
        if not kinds:
            return self.is_interactive
        kind = self.kind
        if kind in kinds:
            return True
        return kind.startswith("subAgent") and "subAgent" in kinds

    @property
    def is_interactive(self) -> bool:
        """Listed by default: cli, vscode and the interactive custom surfaces."""
        raw = self.raw
        if isinstance(raw, str):
            return raw in ("cli", "vscode")
        return raw.get("custom") in INTERACTIVE_CUSTOM

    @property
    def is_subagent(self) -> bool:
        return isinstance(self.raw, dict) and "subagent" in self.raw

    def api(self) -> Any:
        """The app-server form: ``mcp`` becomes ``appServer``, ``subagent`` ``subAgent``;
        unknown strings and ``internal`` sources become ``unknown``."""
        raw = self.raw
        if isinstance(raw, str):
            if raw == "mcp":
                return "appServer"
            return raw if raw in _SIMPLE else "unknown"
        key, inner = next(iter(raw.items()))
        if key == "internal":
            return "unknown"  # observed: {"internal": "memory_consolidation"} reads as unknown
        if key != "subagent":
            return {key: inner}
        if isinstance(inner, dict) and "thread_spawn" in inner:
            spawn = inner["thread_spawn"] or {}
            return {"subAgent": {"thread_spawn": {k: spawn.get(k) for k in _SPAWN_KEYS}}}
        return {"subAgent": inner}

    def db_text(self) -> str:
        """The text form Codex stores in its database (bare string or compact JSON)."""
        raw = self.raw
        return raw if isinstance(raw, str) else compact(raw)

    @property
    def spawn(self) -> dict[str, Any] | None:
        """The ``thread_spawn`` object of a spawned sub-agent, else None."""
        if isinstance(self.raw, dict):
            inner = self.raw.get("subagent")
            if isinstance(inner, dict) and isinstance(inner.get("thread_spawn"), dict):
                spawn: dict[str, Any] = inner["thread_spawn"]
                return spawn
        return None


def _valid_subagent(inner: Any) -> bool:
    if isinstance(inner, str):
        return inner in _SIMPLE_SUBAGENTS
    if isinstance(inner, dict) and len(inner) == 1:
        key, value = next(iter(inner.items()))
        if key == "thread_spawn":
            return isinstance(value, dict)
        return key == "other" and isinstance(value, str)
    return False

"""Test support: fake Codex rollouts, generated CODEX_HOMEs, and the real Codex as a peer.

Nothing here is used by threadloom itself; tests and benchmarks import it. Names load lazily,
so ``python -m threadloom.testing.home_gen`` runs without importing its module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadloom.testing.codex_peer import (
        ALL_SOURCE_KINDS,
        NOISE_NOTIFICATIONS,
        PEER_CONFIG,
        CodexPeer,
        CodexPeerError,
        CodexPeerTimeout,
        CompatHome,
        PaginatedThreads,
        build_compat_home,
        codex_paginated_threads,
        interrupted_user_turn,
        list_all_threads,
        shell_command,
        without_noise,
        write_peer_config,
    )
    from threadloom.testing.fake_rollouts import (
        LISTED_DAMAGE,
        SOURCE_FORMS,
        Damage,
        RolloutBuilder,
        ToolCall,
        append_session_index,
        damaged_builder,
        format_ts,
        format_ts_nanos,
        git_info,
        order_meta,
        rollout_path,
        set_mtime,
        to_ms,
        uuid4,
        uuid7,
        write_damaged_rollout,
        write_rollout,
    )
    from threadloom.testing.home_gen import (
        MANIFEST_NAME,
        MIN_VARIED_THREADS,
        TAGS,
        HomeManifest,
        SearchTerm,
        ThreadRecord,
        generate_home,
        source_kind,
        uses_database_path,
    )

__all__ = [
    "ALL_SOURCE_KINDS",
    "LISTED_DAMAGE",
    "MANIFEST_NAME",
    "MIN_VARIED_THREADS",
    "NOISE_NOTIFICATIONS",
    "PEER_CONFIG",
    "SOURCE_FORMS",
    "TAGS",
    "CodexPeer",
    "CodexPeerError",
    "CodexPeerTimeout",
    "CompatHome",
    "Damage",
    "HomeManifest",
    "PaginatedThreads",
    "RolloutBuilder",
    "SearchTerm",
    "ThreadRecord",
    "ToolCall",
    "append_session_index",
    "build_compat_home",
    "codex_paginated_threads",
    "damaged_builder",
    "format_ts",
    "format_ts_nanos",
    "generate_home",
    "git_info",
    "interrupted_user_turn",
    "list_all_threads",
    "order_meta",
    "rollout_path",
    "set_mtime",
    "shell_command",
    "source_kind",
    "to_ms",
    "uses_database_path",
    "uuid4",
    "uuid7",
    "without_noise",
    "write_damaged_rollout",
    "write_peer_config",
    "write_rollout",
]

_MODULES = {
    "ALL_SOURCE_KINDS": "codex_peer",
    "NOISE_NOTIFICATIONS": "codex_peer",
    "PEER_CONFIG": "codex_peer",
    "CodexPeer": "codex_peer",
    "CodexPeerError": "codex_peer",
    "CodexPeerTimeout": "codex_peer",
    "CompatHome": "codex_peer",
    "PaginatedThreads": "codex_peer",
    "build_compat_home": "codex_peer",
    "codex_paginated_threads": "codex_peer",
    "interrupted_user_turn": "codex_peer",
    "list_all_threads": "codex_peer",
    "shell_command": "codex_peer",
    "without_noise": "codex_peer",
    "write_peer_config": "codex_peer",
    "LISTED_DAMAGE": "fake_rollouts",
    "SOURCE_FORMS": "fake_rollouts",
    "Damage": "fake_rollouts",
    "RolloutBuilder": "fake_rollouts",
    "ToolCall": "fake_rollouts",
    "append_session_index": "fake_rollouts",
    "damaged_builder": "fake_rollouts",
    "format_ts": "fake_rollouts",
    "format_ts_nanos": "fake_rollouts",
    "git_info": "fake_rollouts",
    "order_meta": "fake_rollouts",
    "rollout_path": "fake_rollouts",
    "set_mtime": "fake_rollouts",
    "to_ms": "fake_rollouts",
    "uuid4": "fake_rollouts",
    "uuid7": "fake_rollouts",
    "write_damaged_rollout": "fake_rollouts",
    "write_rollout": "fake_rollouts",
    "MANIFEST_NAME": "home_gen",
    "MIN_VARIED_THREADS": "home_gen",
    "TAGS": "home_gen",
    "HomeManifest": "home_gen",
    "SearchTerm": "home_gen",
    "ThreadRecord": "home_gen",
    "generate_home": "home_gen",
    "source_kind": "home_gen",
    "uses_database_path": "home_gen",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

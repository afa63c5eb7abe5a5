"""Running an app server on a CODEX_HOME (the ``threadloom app-server`` command)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from threadloom.server.app import AppServer, ServerConfig
from threadloom.server.stdio import serve_stdio
from threadloom.store.local import LocalThreadStore


def config_for_home(home: Path) -> ServerConfig:
    """Model and provider defaults from ``config.toml``, as Codex reads them."""
    try:
        with open(home / "config.toml", "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    model = data.get("model")
    provider = data.get("model_provider")
    return ServerConfig(
        codex_home=home.absolute(),
        model=model if isinstance(model, str) else None,
        model_provider=provider if isinstance(provider, str) and provider else "openai",
    )


async def run_stdio(home: Path) -> None:
    """Serve one client on stdin/stdout with the local store of ``home``."""
    store = LocalThreadStore(home)
    server = AppServer(store, config_for_home(home))
    try:
        await serve_stdio(server)
    finally:
        await server.close()
        await store.close()

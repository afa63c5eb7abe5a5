"""Running an app server on a CODEX_HOME (the ``threadloom app-server`` command)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from threadloom.server.app import AppServer, ServerConfig
from threadloom.server.stdio import serve_stdio
from threadloom.server.websocket import ListenError, WebSocketServer, ws_url
from threadloom.store.local import LocalThreadStore

__all__ = [
    "Listen",
    "ListenError",
    "config_for_home",
    "parse_listen",
    "run_stdio",
    "run_websocket",
    "serve",
]

STDIO = "stdio://"
TOKEN_ENV = "THREADLOOM_APP_SERVER_TOKEN"


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


@dataclass(frozen=True, slots=True)
class Listen:
    """Where to serve: stdio (``host`` empty) or a WebSocket address."""

    host: str = ""
    port: int = 0

    @property
    def stdio(self) -> bool:
        return not self.host


def parse_listen(url: str) -> Listen:
    """``stdio://`` or ``ws://IP:PORT`` (an IP literal, IPv6 in brackets), as Codex accepts."""
    if url == STDIO:
        return Listen()
    if not url.startswith("ws://"):
        raise ListenError(
            f"unsupported --listen URL `{url}`; expected `stdio://` or `ws://IP:PORT`"
        )
    invalid = ListenError(f"invalid websocket --listen URL `{url}`; expected `ws://IP:PORT`")
    host, sep, port = url[len("ws://") :].rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise invalid
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise invalid from None
    if (address.version == 6) != bracketed:
        raise invalid
    return Listen(str(address), int(port))


async def run_stdio(home: Path) -> None:
    """Serve one client on stdin/stdout with the local store of ``home``."""
    store = LocalThreadStore(home)
    server = AppServer(store, config_for_home(home))
    try:
        await serve_stdio(server)
    finally:
        await server.close()
        await store.close()


async def run_websocket(home: Path, listen: str, token: str | None = None) -> None:
    """Serve WebSocket clients with the local store of ``home`` until SIGINT or SIGTERM.

    ``listen``: ``ws://IP:PORT`` (port 0 picks a free one). ``token``: clients must present
    it (``Authorization: Bearer <token>``); required to listen on a non-loopback address.
    Prints ``listening on ws://HOST:PORT`` (the real port) on stderr once accepting.
    """
    where = parse_listen(listen)
    if where.stdio:
        raise ListenError(f"invalid websocket --listen URL `{listen}`; expected `ws://IP:PORT`")
    store = LocalThreadStore(home)
    server = AppServer(store, config_for_home(home))
    try:
        async with WebSocketServer(server, token=token) as ws:
            try:
                await ws.start(where.host, where.port)
            except OSError as exc:
                url = ws_url(where.host, where.port)
                raise ListenError(f"cannot listen on {url}: {exc.strerror or exc}") from None
            note = " (clients must send: Authorization: Bearer <token>)" if token else ""
            print(f"threadloom app-server listening on {ws.url}{note}", file=sys.stderr, flush=True)
            await _until_stopped()
    finally:
        await server.close()
        await store.close()


async def serve(home: Path, listen: str = STDIO, token: str | None = None) -> None:
    """The ``app-server`` command: stdio by default, WebSocket for ``ws://IP:PORT``.

    Raises :class:`ListenError` (nothing served) for an unusable ``listen`` or a non-loopback
    address without ``token``. A token (empty counts as none) only applies to WebSocket.
    """
    token = token.strip() if token and token.strip() else None
    if parse_listen(listen).stdio:
        await run_stdio(home)
    else:
        await run_websocket(home, listen, token)


async def _until_stopped() -> None:
    """Return on SIGINT or SIGTERM (a clean shutdown: writers flushed, locks released)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)

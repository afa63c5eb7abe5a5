"""Running an app server (the ``threadloom app-server`` command): its store, its transport.

* ``--listen``: ``stdio://`` (the default: one client, JSON lines on stdin/stdout) or
  ``ws://IP:PORT`` (any number of WebSocket clients; loopback unless a token is set).
* ``--store``: the backend, a CODEX_HOME path (the local store; default the home) or a
  ``postgresql://`` URL (:class:`~threadloom.store.postgres.PostgresThreadStore`, for
  ``--owner``; needs the ``postgres`` extra).

The server's settings (model, default model provider) always come from the home's
``config.toml``, whatever the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import signal
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from threadloom.errors import InvalidRequest, Unsupported
from threadloom.server.app import AppServer, ServerConfig
from threadloom.server.stdio import serve_stdio
from threadloom.server.websocket import ListenError, WebSocketServer, ws_url
from threadloom.store.base import ThreadStore
from threadloom.store.local import LocalThreadStore

__all__ = [
    "DEFAULT_OWNER",
    "STDIO",
    "TOKEN_ENV",
    "Listen",
    "ListenError",
    "app_server",
    "config_for_home",
    "open_store",
    "parse_listen",
    "run_stdio",
    "run_websocket",
    "serve",
    "tune_gc",
]

STDIO = "stdio://"
GC_THRESHOLDS = (50_000, 20, 20)
"""The collector's thresholds in an app server process (Python's default: 700, 10, 10). A
request such as a big fork allocates millions of short-lived objects, almost none in cycles;
with the default, a young collection would run every 700 of them."""
TOKEN_ENV = "THREADLOOM_APP_SERVER_TOKEN"
DEFAULT_OWNER = "default"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_EXTRA = "pip install 'threadloom[postgres]'"


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


async def open_store(
    store: str | None, home: Path, *, owner: str | None = None, default_provider: str = "openai"
) -> ThreadStore:
    """The backend ``store`` names: None (the local store of ``home``), a CODEX_HOME path
    (``file://`` URLs too) or a ``postgresql://`` URL, whose threads are ``owner``'s
    (:data:`DEFAULT_OWNER` by default; the database is connected to and its schema brought up
    to date first).

    Raises :class:`~threadloom.errors.Unsupported` when the ``postgres`` extra is missing,
    :class:`~threadloom.errors.Unavailable` when the database is out of reach,
    :class:`~threadloom.errors.InvalidRequest` for an unknown scheme or an owner without a
    PostgreSQL store.
    """
    if store is not None and store.startswith(POSTGRES_SCHEMES):
        if owner is not None and not owner.strip():
            raise InvalidRequest("the owner must not be empty")
        try:
            from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415
        except ImportError as exc:
            raise Unsupported(
                "the PostgreSQL store",
                f"the PostgreSQL store needs the postgres extra ({POSTGRES_EXTRA}): {exc}",
            ) from None
        database = PostgresThreadStore(
            store, owner=owner or DEFAULT_OWNER, default_provider=default_provider
        )
        try:
            await database.db.open()  # out of reach: refuse to start, rather than fail each call
        except BaseException:
            await database.close()
            raise
        return database
    if owner is not None:
        raise InvalidRequest("an owner only applies to a postgresql:// store")
    if store is None:
        path = home
    elif store.startswith("file://"):
        path = Path(store.removeprefix("file://"))
    elif "://" in store:
        raise InvalidRequest(
            f"unsupported store `{store}`; expected a CODEX_HOME path or a postgresql:// URL"
        )
    else:
        path = Path(store).expanduser()
    return LocalThreadStore(path, default_provider=default_provider)


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


@contextlib.asynccontextmanager
async def app_server(
    home: Path, store: str | None = None, owner: str | None = None
) -> AsyncIterator[AppServer]:
    """An :class:`AppServer` configured by ``home`` on the backend ``store`` names
    (:func:`open_store`); closed, with its store, on exit."""
    config = config_for_home(home)
    backend = await open_store(store, home, owner=owner, default_provider=config.model_provider)
    server = AppServer(backend, config)
    try:
        yield server
    finally:
        try:
            await server.close()
        finally:
            await backend.close()


async def run_stdio(home: Path, store: str | None = None, owner: str | None = None) -> None:
    """Serve one client on stdin/stdout until stdin closes, SIGINT or SIGTERM."""
    async with _stop_signals() as stop, app_server(home, store, owner) as server:
        serving = asyncio.create_task(serve_stdio(server))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait((serving, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        else:
            serving.result()


async def run_websocket(
    home: Path,
    listen: str,
    token: str | None = None,
    store: str | None = None,
    owner: str | None = None,
) -> None:
    """Serve WebSocket clients until SIGINT or SIGTERM.

    ``listen``: ``ws://IP:PORT`` (port 0 picks a free one). ``token``: clients must present
    it (``Authorization: Bearer <token>``); required to listen on a non-loopback address.
    Prints ``threadloom app-server listening on ws://HOST:PORT`` (the real port) on stderr
    once accepting. Raises :class:`ListenError` when it cannot listen.
    """
    where = parse_listen(listen)
    if where.stdio:
        raise ListenError(f"invalid websocket --listen URL `{listen}`; expected `ws://IP:PORT`")
    WebSocketServer.check_address(where.host, token)  # refused before opening anything
    async with (
        _stop_signals() as stop,
        app_server(home, store, owner) as server,
        WebSocketServer(server, token=token) as ws,
    ):
        try:
            await ws.start(where.host, where.port)
        except OSError as exc:
            url = ws_url(where.host, where.port)
            raise ListenError(f"cannot listen on {url}: {exc.strerror or exc}") from None
        note = " (clients must send: Authorization: Bearer <token>)" if token else ""
        print(f"threadloom app-server listening on {ws.url}{note}", file=sys.stderr, flush=True)
        await stop.wait()


def tune_gc() -> None:
    """Set :data:`GC_THRESHOLDS` (for a process that is an app server and nothing else)."""
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(
    home: Path,
    listen: str = STDIO,
    token: str | None = None,
    store: str | None = None,
    owner: str | None = None,
) -> None:
    """The ``app-server`` command: stdio by default, WebSocket for ``ws://IP:PORT``.

    Raises :class:`ListenError` (nothing served) for an unusable ``listen`` or a non-loopback
    address without ``token``, and :func:`open_store`'s errors. A token (blank counts as
    none) only applies to WebSocket.
    """
    token = token.strip() if token and token.strip() else None
    if parse_listen(listen).stdio:
        await run_stdio(home, store, owner)
    else:
        await run_websocket(home, listen, token, store, owner)


@contextlib.asynccontextmanager
async def _stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while inside (for a clean shutdown: writers flushed,
    locks released)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        yield stop
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)

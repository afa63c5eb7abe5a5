"""AppServer: Codex's app-server thread API over any transport that carries JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from threadloom.errors import ThreadloomError
from threadloom.runtime import LoadedThread, ThreadManager
from threadloom.server import rpc
from threadloom.server.connection import Connection
from threadloom.store.base import ThreadStore

log = logging.getLogger(__name__)

CODEX_METHODS: tuple[str, ...] = tuple(
    json.loads(resources.files("threadloom.server").joinpath("codex_methods.json").read_text())
)
"""Every method Codex 0.169.0's app server knows, in its order (for its unknown-method text)."""

JSONRPC_NOT_SUPPORTED = -32601


@dataclass(slots=True)
class ServerConfig:
    """What a server reports about itself and uses for new threads."""

    codex_home: Path | None = None
    """The CODEX_HOME reported by ``initialize`` (None: a store without files)."""
    model: str | None = None
    model_provider: str = "openai"
    cli_version: str = "0.169.0"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """One request being handled: the server, the connection, the params."""

    server: AppServer
    conn: Connection
    params: Any
    after_reply: list[tuple[str, Any]] = field(default_factory=list)
    """Notifications for the caller, sent right after a successful reply (as Codex orders
    e.g. ``thread/archived`` after the ``thread/archive`` response)."""

    def notify_after_reply(self, method: str, params: Any) -> None:
        self.after_reply.append((method, params))


Handler = Callable[[Call], Awaitable[Any]]
Decoder = Callable[[Any], Any]

PARAMS_DECODERS: dict[Handler, Decoder] = {}
"""Handlers' params decoders (see :func:`decodes`)."""


def decodes(decoder: Decoder) -> Callable[[Handler], Handler]:
    """Declare the decorated handler's params decoder (raising Codex's decoding errors).

    Codex decodes a request's params before it checks the handshake: a request with bad params
    sent before ``initialize`` gets the decoding error, a well-formed one "Not initialized".
    """

    def register(handler: Handler) -> Handler:
        PARAMS_DECODERS[handler] = decoder
        return handler

    return register


class AppServer:
    """Dispatches requests of every connection to the method handlers."""

    def __init__(self, store: ThreadStore, config: ServerConfig | None = None) -> None:
        from threadloom.server.methods import HANDLERS  # noqa: PLC0415 - methods import app

        self.store = store
        self.config = config or ServerConfig()
        self.manager = ThreadManager(store)
        self.connections: dict[int, Connection] = {}
        self.handlers: dict[str, Handler] = HANDLERS
        self.manager.on_created(self._announce)

    def connect(self, send: Callable[[bytes], Awaitable[None]]) -> Connection:
        conn = Connection(send)
        self.connections[conn.id] = conn
        return conn

    async def disconnect(self, conn: Connection) -> None:
        conn.closed = True
        self.connections.pop(conn.id, None)
        for thread_id in self.manager.ids():
            loaded = self.manager.get(thread_id)
            if loaded is not None:
                loaded.subscribers.discard(conn.id)

    async def close(self) -> None:
        await self.manager.close()

    async def receive(self, conn: Connection, data: bytes | str) -> None:
        """Handle one incoming message (replies go out through the connection)."""
        await self.receive_parsed(conn, rpc.parse(data))

    async def receive_parsed(self, conn: Connection, message: rpc.Incoming | None) -> None:
        """Handle one message already parsed by :func:`rpc.parse` (None: ignored)."""
        if message is None or isinstance(message, rpc.Notification):
            return  # client notifications (``initialized``) need no answer
        call = Call(self, conn, message.params)
        reply = await self._reply(call, message)
        await conn.send(reply)
        for method, params in call.after_reply:
            await conn.notify(method, params)

    async def _reply(self, call: Call, request: rpc.Request) -> bytes:
        method = request.method
        if method not in CODEX_METHODS:
            listed = ", ".join(f"`{m}`" for m in CODEX_METHODS)
            return rpc.error(
                request.id,
                -32600,
                f"Invalid request: unknown variant `{method}`, expected one of {listed}",
            )
        initialized = method == "initialize" or call.conn.initialized
        handler = self.handlers.get(method)
        if handler is None:
            if not initialized:
                return rpc.error(request.id, -32600, "Not initialized")
            return rpc.error(
                request.id, JSONRPC_NOT_SUPPORTED, f"{method} is not supported by threadloom"
            )
        # Codex's order: params decoded (missing, wrong types), then the handshake checked.
        if request.params is rpc.MISSING or request.params is None:
            return rpc.error(request.id, -32600, "Invalid request: missing field `params`")
        if not initialized:
            decoder = PARAMS_DECODERS.get(handler)
            try:
                if decoder is not None:
                    decoder(request.params)
            except ThreadloomError as exc:
                return rpc.error_from(request.id, exc)
            return rpc.error(request.id, -32600, "Not initialized")
        try:
            result = await handler(call)
        except ThreadloomError as exc:
            call.after_reply.clear()
            return rpc.error_from(request.id, exc)
        except Exception as exc:
            call.after_reply.clear()
            log.exception("internal error in %s", method)
            return rpc.error(request.id, -32603, f"internal error: {exc}")
        return rpc.result(request.id, result)

    # --- notifications ------------------------------------------------------------------------
    async def notify_subscribers(self, loaded: LoadedThread, method: str, params: Any) -> None:
        for conn_id in list(loaded.subscribers):
            conn = self.connections.get(conn_id)
            if conn is not None:
                await conn.notify(method, params)

    async def _announce(self, loaded: LoadedThread) -> None:
        from threadloom.server.views import loaded_thread_json  # noqa: PLC0415

        thread = loaded_thread_json(loaded, self.config)
        await self.notify_subscribers(loaded, "thread/started", {"thread": thread})

"""The WebSocket transport (``threadloom app-server --listen ws://IP:PORT``), on ``websockets``.

As Codex's app server: one text message carries one JSON-RPC message, each way; binary
messages are ignored; ``GET /readyz`` and ``GET /healthz`` answer 200 (no upgrade, no token);
a handshake with an ``Origin`` header (a web page) is refused with 403. Security:

* a loopback address (127.0.0.0/8, ::1) is the default; :meth:`WebSocketServer.start`
  refuses any other address unless a token is set;
* with a token, every client must send ``Authorization: Bearer <token>`` in the handshake,
  whatever the address; otherwise 401 (Codex's texts). The token is compared in constant time.

Each connection runs like stdio (:class:`~threadloom.server.stdio.Dispatcher`): concurrent
requests, same-thread requests in order across all connections. A client that stops reading
while :data:`OUTBOX_LIMIT` messages wait for it is disconnected (close code 1008), as Codex
drops slow WebSocket clients, so it cannot stall notifications to the others. Messages over
``max_message`` bytes close that connection (1009); invalid UTF-8 in a text message closes it
(1007), as RFC 6455 requires.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Sequence
from http import HTTPStatus
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from threadloom import __version__
from threadloom.errors import InvalidRequest
from threadloom.server.app import AppServer
from threadloom.server.stdio import Dispatcher, Outbox, ThreadLanes

log = logging.getLogger(__name__)

MAX_MESSAGE = 64 << 20
"""Largest incoming message (bytes); as tungstenite's default, which Codex uses."""
OUTBOX_LIMIT = 1024
"""Messages waiting for a client before it is disconnected as too slow."""
HEALTH_PATHS = frozenset({"/readyz", "/healthz"})
CLOSE_TOO_SLOW = 1008


class ListenError(InvalidRequest):
    """A listen address or token setting the server refuses to run with."""


def is_loopback(host: str) -> bool:
    """True for an IP literal of the loopback network (names are never trusted)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ws_url(host: str, port: int) -> str:
    """The URL of ``host:port`` (an IPv6 address in brackets)."""
    host = host.strip("[]")
    return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class WebSocketServer:
    """Accepts WebSocket clients for one :class:`AppServer` (see the module docstring)."""

    def __init__(
        self,
        server: AppServer,
        *,
        token: str | None = None,
        max_message: int = MAX_MESSAGE,
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        if token is not None and not token.strip():
            raise ListenError("the token must not be empty")
        self.server = server
        self._token = None if token is None else _digest(token.strip())
        self.max_message = max_message
        self.outbox_limit = outbox_limit
        self.lanes = ThreadLanes()
        self._ws: Server | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self.host = ""
        self.port = 0

    @property
    def token_required(self) -> bool:
        return self._token is not None

    @property
    def url(self) -> str:
        return ws_url(self.host, self.port)

    @staticmethod
    def check_address(host: str, token: str | None, port: int = 0) -> None:
        """Raise :class:`ListenError` unless ``host`` is loopback or a token is set."""
        if token is None and not is_loopback(host):
            raise ListenError(
                f"refusing to listen on {ws_url(host, port)} without a token: only loopback "
                "addresses (127.0.0.1, ::1) are open without one; set --token or "
                "THREADLOOM_APP_SERVER_TOKEN (clients then send Authorization: Bearer <token>)"
            )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (``port`` 0: a free port, then in :attr:`port`)."""
        self.check_address(host, None if self._token is None else "set", port)
        self._ws = await serve(
            self._serve,
            host.strip("[]"),
            port,
            process_request=self._check_request,
            max_size=self.max_message,
            compression=None,
            server_header=f"threadloom/{__version__}",
        )
        bound = self._ws.sockets[0].getsockname()
        self.host, self.port = str(bound[0]), int(bound[1])

    async def close(self) -> None:
        """Stop listening, close every connection (1001), wait for their requests to end."""
        if self._ws is None:
            return
        self._ws.close()
        await self._ws.wait_closed()
        self._ws = None

    async def __aenter__(self) -> WebSocketServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- handshake ---------------------------------------------------------------------------
    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer health checks; refuse browsers and clients without the token."""
        if request.path.split("?", 1)[0] in HEALTH_PATHS:
            return connection.respond(HTTPStatus.OK, "")
        if "Origin" in request.headers:
            return connection.respond(HTTPStatus.FORBIDDEN, "origin not allowed\n")
        refusal = self._refusal(request.headers)
        if refusal is None:
            return None
        response = connection.respond(HTTPStatus.UNAUTHORIZED, refusal)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def _refusal(self, headers: Headers) -> str | None:
        """Why the handshake lacks the token (Codex's texts), or None when it is fine."""
        if self._token is None:
            return None
        values = headers.get_all("Authorization")
        if not values:
            return "missing websocket bearer token"
        scheme, _, token = values[0].partition(" ")
        token = token.strip()
        if len(values) > 1 or scheme.lower() != "bearer" or not token:
            return "invalid authorization header"
        if not hmac.compare_digest(_digest(token), self._token):
            return "invalid websocket bearer token"
        return None

    # --- connections -------------------------------------------------------------------------
    async def _serve(self, ws: ServerConnection) -> None:
        async def write(batch: Sequence[bytes]) -> None:
            for data in batch:
                await ws.send(data, text=True)

        outbox = Outbox(write, self.outbox_limit, on_overflow=lambda: self._too_slow(ws))
        conn = self.server.connect(outbox.send)
        dispatcher = Dispatcher(self.server, conn, self.lanes)
        try:
            async for message in ws:
                if isinstance(message, str):
                    await dispatcher.submit(message)
                # binary messages carry nothing for us (Codex drops them too)
        except ConnectionClosed:
            pass  # an abnormal close ends the connection like a normal one
        finally:
            await dispatcher.drain()  # requests already started finish (their replies dropped)
            outbox.abort()
            await self.server.disconnect(conn)

    def _too_slow(self, ws: ServerConnection) -> None:
        log.warning("disconnecting a WebSocket client that stopped reading: %s", ws.remote_address)
        task = asyncio.create_task(ws.close(CLOSE_TOO_SLOW, "outbound queue full"))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

"""One client connection: its handshake state, capabilities and outgoing messages."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from threadloom.server import rpc

Send = Callable[[bytes], Awaitable[None]]

_ids = itertools.count(1)


class Connection:
    """What the server knows of one client."""

    def __init__(self, send: Send) -> None:
        self.id = next(_ids)
        self._send = send
        self.initialized = False
        self.client_name = ""
        self.experimental_api = False
        self.opt_out: frozenset[str] = frozenset()
        self.closed = False

    async def send(self, data: bytes) -> None:
        if not self.closed:
            await self._send(data)

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification unless the client opted out of this method."""
        if method not in self.opt_out:
            await self.send(rpc.notification(method, params))

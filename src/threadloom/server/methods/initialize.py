"""``initialize`` (app-server-threads 4.1)."""

from __future__ import annotations

import os
import platform
from typing import Any

from threadloom import __version__
from threadloom.api import decode as d
from threadloom.errors import InvalidRequest
from threadloom.server.app import Call, Handler

_client_info = d.nested(
    "ClientInfo",
    {
        "name": d.Field(d.string, True),
        "title": d.Field(d.string),
        "version": d.Field(d.string, True),
    },
)
_capabilities = d.nested(
    "InitializeCapabilities",
    {
        "experimentalApi": d.Field(d.boolean, nullable=False),
        "optOutNotificationMethods": d.Field(d.array(d.string)),
    },
)
_params = d.struct(
    "InitializeParams",
    {"clientInfo": d.Field(_client_info, True), "capabilities": d.Field(_capabilities)},
)


async def initialize(call: Call) -> dict[str, Any]:
    params = _params(call.params)
    conn = call.conn
    if conn.initialized:
        raise InvalidRequest("Already initialized")
    client = params["clientInfo"]
    capabilities = params.get("capabilities", {})
    conn.initialized = True
    conn.client_name = client["name"]
    conn.experimental_api = bool(capabilities.get("experimentalApi", False))
    conn.opt_out = frozenset(capabilities.get("optOutNotificationMethods", ()))
    system = platform.system()
    agent = (
        f"threadloom/{__version__} ({system} {platform.release()}; {platform.machine()})"
        f" {os.environ.get('TERM_PROGRAM', 'unknown')} ({client['name']}; {client['version']})"
    )
    home = call.server.config.codex_home
    return {
        "userAgent": agent,
        "codexHome": None if home is None else str(home),
        "platformFamily": "unix" if os.name == "posix" else "windows",
        "platformOs": system.lower(),
    }


HANDLERS: dict[str, Handler] = {"initialize": initialize}

"""The app server: Codex's app-server v2 thread API over stdio and WebSocket."""

from threadloom.server.app import AppServer, ServerConfig

__all__ = ["AppServer", "ServerConfig"]

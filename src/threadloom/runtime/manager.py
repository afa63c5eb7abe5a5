"""ThreadManager: the threads this process has loaded, and who follows each.

A thread is loaded by starting, resuming or forking it; it stays loaded (its writer held)
until it is removed, even when its last subscriber leaves, as in Codex. Listeners hear of
every thread created, so a server can announce it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from threadloom.ids import ThreadId
from threadloom.live import LiveThread
from threadloom.store.base import ThreadStore


@dataclass(slots=True)
class LoadedThread:
    """One loaded thread: its persistence handle, its settings and its subscribers."""

    live: LiveThread
    settings: dict[str, Any] = field(default_factory=dict)
    """What the thread runs with (model, cwd, sandbox…), as the app server reports it."""
    subscribers: set[int] = field(default_factory=set)
    status: dict[str, Any] = field(default_factory=lambda: {"type": "idle"})

    @property
    def thread_id(self) -> ThreadId:
        return self.live.thread_id


CreatedListener = Callable[[LoadedThread], Awaitable[None]]


class ThreadManager:
    """Loaded threads by id; every method is safe to call from concurrent tasks."""

    def __init__(self, store: ThreadStore) -> None:
        self.store = store
        self._threads: dict[ThreadId, LoadedThread] = {}
        self._listeners: list[CreatedListener] = []
        self._lock = asyncio.Lock()

    def on_created(self, listener: CreatedListener) -> None:
        """Call ``listener`` for every thread started or forked from now on."""
        self._listeners.append(listener)

    def get(self, thread_id: ThreadId) -> LoadedThread | None:
        return self._threads.get(thread_id)

    def ids(self) -> list[ThreadId]:
        return sorted(self._threads)

    def add(self, loaded: LoadedThread) -> LoadedThread:
        """Register a thread this process just loaded (the first registration wins)."""
        return self._threads.setdefault(loaded.thread_id, loaded)

    async def announce(self, loaded: LoadedThread) -> None:
        """Tell the listeners a thread was created."""
        for listener in list(self._listeners):
            await listener(loaded)

    async def remove(self, thread_id: ThreadId) -> LoadedThread | None:
        """Unload a thread: shut its writer down (what is appended stays)."""
        loaded = self._threads.pop(thread_id, None)
        if loaded is not None:
            await loaded.live.shutdown()
        return loaded

    async def close(self) -> None:
        for thread_id in list(self._threads):
            await self.remove(thread_id)

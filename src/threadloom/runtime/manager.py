"""ThreadManager: the threads this process has loaded, and who follows each.

A thread is loaded by starting, resuming or forking it; it stays loaded (its writer held)
until it is removed, even when its last subscriber leaves, as in Codex. Listeners hear of
every thread created, so a server can announce it.

``start``, ``resume`` and ``fork`` load threads the way Codex 0.169.0's app server does
(app-server-threads 4.2-4.4, rollout-format 12, 16): a started thread writes nothing yet; a
resumed one records its settings (``thread_settings_applied``) only when they differ from the
last ones it recorded; a fork copies its source's history re-serialised (legacy) or points
into it (paginated), marks an unfinished last turn as interrupted and records its settings.
Resume and fork settings are resolved by the caller from what the history recorded
(``runtime.config.RecordedSettings``), read before anything is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadloom.errors import InvalidRequest, NotFound
from threadloom.ids import ThreadId, new_thread_id, new_uuid7
from threadloom.live import LiveThread
from threadloom.live.metadata import now_ms
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.policy import EventMode
from threadloom.protocol.rollout import (
    EVENT_MSG,
    HistoryMode,
    RolloutLine,
)
from threadloom.protocol.turns import load_line
from threadloom.runtime.config import RecordedSettings
from threadloom.runtime.fork_copy import ForkCopier, copy_into
from threadloom.runtime.forking import (
    fork_cut,
    interruption_lines,
    user_message_cut,
)
from threadloom.runtime.history import (
    HistoryScan,
    history_source,
    recorded_settings,
    recorded_settings_of_file,
)
from threadloom.runtime.settings import ThreadSettings
from threadloom.store.base import Capability, ThreadStore
from threadloom.store.create import session_meta_line
from threadloom.store.params import CreateThreadParams, ForkThreadParams, ReadThreadParams
from threadloom.store.records import StoredThread


@dataclass(slots=True)
class LoadedThread:
    """One loaded thread: its persistence handle, its settings and its subscribers."""

    live: LiveThread
    settings: ThreadSettings | None = None
    """What the thread runs with (model, cwd, sandbox…); None: the server's defaults."""
    subscribers: set[int] = field(default_factory=set)
    status: dict[str, Any] = field(default_factory=lambda: {"type": "idle"})
    preview: str | None = None
    """The preview the thread inherited (a paginated fork's), when its record has none."""

    @property
    def thread_id(self) -> ThreadId:
        return self.live.thread_id


@dataclass(slots=True)
class Loaded:
    """What loading a thread produced, beside the thread itself."""

    thread: LoadedThread
    first_load: bool = True
    """False: the thread was loaded already (``resume`` of a loaded thread)."""
    stored: StoredThread | None = None
    """The stored record read before loading (``resume``: what the result reports)."""
    turns: list[dict[str, Any]] = field(default_factory=list)
    token_usage: dict[str, Any] | None = None
    """``thread/tokenUsage/updated`` params for the thread's last token count."""
    last_turn_ordinal: int | None = None
    """Ordinal of the history's newest turn start (paginated threads)."""
    last_item_ordinal: int | None = None
    """Ordinal of the history's newest completed item (paginated threads)."""
    context_model: str | None = None
    """The model the history's newest turn recorded (``HistoryScan.context_model``)."""

    @classmethod
    def of(cls, thread: LoadedThread, scan: HistoryScan, *, loaded: bool, **kw: Any) -> Loaded:
        """The result of loading ``thread`` whose history ``scan`` read."""
        return cls(
            thread,
            turns=scan.finish(loaded=loaded),
            token_usage=scan.token_usage(thread.thread_id),
            last_turn_ordinal=scan.last_turn_ordinal,
            last_item_ordinal=scan.last_item_ordinal,
            context_model=scan.context_model,
            **kw,
        )


def archived_error(thread_id: str) -> InvalidRequest:
    return InvalidRequest(
        f"session {thread_id} is archived. Run `codex unarchive {thread_id}` to unarchive it first."
    )


def no_rollout(thread_id: str) -> NotFound:
    return NotFound(f"no rollout found for thread id {thread_id}", thread_id)


CreatedListener = Callable[[LoadedThread], Awaitable[None]]
SettingsFor = Callable[[StoredThread, RecordedSettings], ThreadSettings]
"""The settings a resumed or forked thread gets, from its (source's) record and history."""


class ThreadManager:
    """Loaded threads by id; every method is safe to call from concurrent tasks."""

    def __init__(self, store: ThreadStore, *, event_mode: EventMode = EventMode.LIMITED) -> None:
        self.store = store
        self.event_mode = event_mode
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

    # --- start ---------------------------------------------------------------------------------
    async def start(
        self,
        params: CreateThreadParams,
        settings: ThreadSettings,
        *,
        ephemeral: bool = False,
        subscriber: int | None = None,
    ) -> LoadedThread:
        """Create and load a new thread; nothing is written until it has something to keep."""
        live = await LiveThread.create(
            self.store, params, event_mode=self.event_mode, ephemeral=ephemeral
        )
        return self._register(live, settings, subscriber)

    def _register(
        self, live: LiveThread, settings: ThreadSettings, subscriber: int | None
    ) -> LoadedThread:
        loaded = LoadedThread(live, settings)
        if subscriber is not None:
            loaded.subscribers.add(subscriber)
        return self.add(loaded)

    # --- reading a stored thread ---------------------------------------------------------------
    async def stored(self, thread_id: ThreadId) -> StoredThread:
        """The stored record of a thread Codex could resume or fork (errors as Codex's)."""
        try:
            stored = await self.store.read_thread(
                ReadThreadParams(thread_id=thread_id, include_archived=True)
            )
        except NotFound:
            raise no_rollout(thread_id) from None
        if stored.archived:
            raise archived_error(thread_id)
        return stored

    async def _lines(self, stored: StoredThread) -> Iterator[RolloutLine]:
        loaded = self.get(ThreadId(stored.thread_id))
        if loaded is not None and loaded.live.materialized:
            await loaded.live.flush()
        return await history_source(self.store, stored)

    async def scan(self, stored: StoredThread, *, mode: str | None = None) -> HistoryScan:
        """One pass over a stored thread's history (in a worker thread)."""
        lines = await self._lines(stored)
        scan = HistoryScan(mode)

        def run() -> None:
            for line in lines:
                scan.feed(line, load_line(line))

        await asyncio.to_thread(run)
        return scan

    # --- resume --------------------------------------------------------------------------------
    async def resume(
        self,
        thread_id: ThreadId,
        settings_for: SettingsFor,
        *,
        subscriber: int | None = None,
    ) -> Loaded:
        """Load a stored thread for writing (or return it when it is loaded already).

        ``settings_for`` gives the settings from the stored record and what its history
        recorded; they are appended as ``thread_settings_applied`` when they differ from the
        last ones the thread recorded.
        """
        stored = await self.stored(thread_id)
        scan = await self.scan(stored)
        loaded = self.get(thread_id)
        if loaded is not None:
            if subscriber is not None:
                loaded.subscribers.add(subscriber)
            return Loaded.of(loaded, scan, loaded=False, first_load=False, stored=stored)
        settings = settings_for(stored, scan.recorded)
        live = await LiveThread.resume(self.store, thread_id, event_mode=self.event_mode)
        try:
            if scan.last_settings != settings.thread_settings():
                stamp = format_timestamp(now_ms())
                line = RolloutLine(
                    timestamp=stamp, type=EVENT_MSG, payload=settings.applied_event(thread_id)
                )
                await live.append([line])
                await live.flush()
        except BaseException:
            await live.shutdown()
            raise
        loaded = self._register(live, settings, subscriber)
        return Loaded.of(loaded, scan, loaded=False, stored=stored)

    async def recorded(self, stored: StoredThread) -> RecordedSettings:
        """What a stored thread's history recorded about its settings (a cheap pass: only
        the lines that record settings are decoded when the store keeps files)."""
        path = stored.rollout_path
        if (
            path is not None
            and stored.history_mode == HistoryMode.LEGACY
            and Capability.RESOLVE_LEGACY_PATH in self.store.capabilities
        ):
            loaded = self.get(ThreadId(stored.thread_id))
            if loaded is not None and loaded.live.materialized:
                await loaded.live.flush()
            return await asyncio.to_thread(recorded_settings_of_file, Path(path))
        lines = await self._lines(stored)
        return await asyncio.to_thread(recorded_settings, lines)

    # --- fork ----------------------------------------------------------------------------------
    async def fork(
        self,
        source_id: ThreadId,
        settings_for: SettingsFor,
        *,
        originator: str | None = None,
        cli_version: str = "0.169.0",
        ephemeral: bool = False,
        last_turn_id: str | None = None,
        before_turn_id: str | None = None,
        before_user_message: int | None = None,
        subscriber: int | None = None,
    ) -> Loaded:
        """A new loaded thread continuing ``source_id``'s history (rollout-format 16): all of
        it, through turn ``last_turn_id``, before turn ``before_turn_id`` or before the
        ``before_user_message``-th user message (at most one of the three)."""
        cuts = (last_turn_id, before_turn_id, before_user_message)
        if sum(c is not None for c in cuts) > 1:
            raise InvalidRequest("a fork is cut at one point at most")
        source = await self.stored(source_id)
        cut: int | None = None
        cut_ordinal: int | None = None
        if any(c is not None for c in cuts):
            whole = await self.scan(source)
            whole.finish(loaded=True)
            if before_user_message is not None:
                cut = user_message_cut(whole, before_user_message)
            else:
                cut = fork_cut(whole, last_turn_id=last_turn_id, before_turn_id=before_turn_id)
            if cut is not None:
                cut_ordinal = whole.ordinals.get(cut)
            recorded = whole.recorded
        else:
            recorded = await self.recorded(source)
        settings = settings_for(source, recorded)
        now = now_ms()
        paginated = source.history_mode == HistoryMode.PAGINATED
        child = CreateThreadParams(
            thread_id=new_thread_id(now),
            cwd=settings.cwd,
            originator=originator or source.originator,
            cli_version=cli_version,
            created_at_ms=now,
            source="vscode",
            model_provider=settings.model_provider,
            history_mode=source.history_mode,
            forked_from_id=ThreadId(source.thread_id),
            extra={
                "account_scoped": True,
                "runtime_workspace_roots": [settings.cwd],
                "multi_agent_version": "v2" if paginated else "v1",
                "context_window": {"window_id": new_uuid7(now)},
            },
        )
        if paginated and not ephemeral:
            result = await self._fork_paginated(source, child, settings, cut, cut_ordinal)
        else:
            # A cut fork of a loaded source copies that thread's live history, whose first
            # session_meta names its multi-agent version (observed: v1 even when the file's
            # has none); otherwise the file is copied as it is.
            live_copy = any(c is not None for c in cuts) and self.get(source_id) is not None
            result = await self._fork_copy(
                source, child, settings, cut, ephemeral=ephemeral, mark_meta=live_copy
            )
        if source.name and not ephemeral:
            await result.thread.live.set_name(source.name)
        if subscriber is not None:
            result.thread.subscribers.add(subscriber)
        return result

    async def _fork_copy(
        self,
        source: StoredThread,
        child: CreateThreadParams,
        settings: ThreadSettings,
        cut: int | None,
        *,
        ephemeral: bool,
        mark_meta: bool = False,
    ) -> Loaded:
        """Legacy fork (and ephemeral forks): the source's lines copied, streamed in batches
        (``mark_meta``: the first copied session_meta gets a ``multi_agent_version``)."""
        assert child.created_at_ms is not None
        stamp = format_timestamp(child.created_at_ms)
        paginated = child.history_mode == HistoryMode.PAGINATED
        lines = await self._lines(source)
        live = await LiveThread.create(
            self.store, child, event_mode=self.event_mode, ephemeral=ephemeral
        )
        try:
            meta = session_meta_line(child)
            scan = HistoryScan()
            scan.feed(meta, load_line(meta))
            copier = ForkCopier(lines, stamp, cut, scan, paginated=paginated, mark_meta=mark_meta)
            await copy_into(live, copier)
            tail: list[RolloutLine] = []
            open_turn = None if ephemeral else scan.open_turn()
            if open_turn is not None:
                tail += interruption_lines(open_turn, stamp, developer=False)
            tail.append(
                RolloutLine(
                    timestamp=stamp, type=EVENT_MSG, payload=settings.applied_event(child.thread_id)
                )
            )
            for line in tail:
                scan.feed(line, load_line(line))
            await live.append(tail)
            await live.persist()
        except BaseException:
            await live.discard()
            raise
        loaded = self._register(live, settings, None)
        return Loaded.of(loaded, scan, loaded=True)

    async def _fork_paginated(
        self,
        source: StoredThread,
        child: CreateThreadParams,
        settings: ThreadSettings,
        cut: int | None,
        cut_ordinal: int | None,
    ) -> Loaded:
        """Paginated fork: the child's ``history_base`` points into the source (16.2)."""
        assert child.created_at_ms is not None
        stamp = format_timestamp(child.created_at_ms)
        scan = HistoryScan()
        lines = await self._lines(source)

        def inherited() -> None:
            kept = 0
            for line in lines:
                parsed = load_line(line)
                if cut_ordinal is not None:
                    if line.ordinal is not None and line.ordinal >= cut_ordinal:
                        return
                elif cut is not None and parsed is not None and kept >= cut:
                    return
                scan.feed(line, parsed)
                kept += parsed is not None

        await asyncio.to_thread(inherited)
        open_turn = scan.open_turn()
        stored = await self.store.fork_thread(
            ForkThreadParams(
                source_thread_id=ThreadId(source.thread_id),
                thread=child,
                end_ordinal=cut_ordinal,
                include_archived=False,
            )
        )
        live = LiveThread(self.store, stored, event_mode=self.event_mode, materialized=True)
        try:
            tail = [
                RolloutLine(
                    timestamp=stamp, type=EVENT_MSG, payload=settings.applied_event(child.thread_id)
                )
            ]
            if open_turn is not None:
                tail += interruption_lines(open_turn, stamp, developer=True)
            for line in tail:
                scan.feed(line, load_line(line))
            await live.append(tail)
            await live.flush()
        except BaseException:
            await live.shutdown()
            raise
        loaded = self._register(live, settings, None)
        loaded.preview = scan.first_user_text
        return Loaded.of(loaded, scan, loaded=True)

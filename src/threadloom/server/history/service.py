"""The history pages of a server: one cached ``TurnIndex`` per thread, kept in step with its lines.

``HistoryService.run(stored, fn)`` finds the thread's lines (``source.py``: its rollout files
for the local store, ``load_history`` for any other), brings the thread's index up to date
(built on first use; extended from where it stopped when the file grew; rebuilt when the file
was replaced, moved or cut) and calls ``fn(index, source)``, in worker threads and under the
thread's lock, so concurrent requests never see an index half extended. An index that failed
to come up to date is dropped (rebuilt by the next request); ``fn``'s own errors (a bad cursor)
leave it in place.

The indexes of the most recently used threads are kept (``capacity``); an index costs a few
dozen bytes per turn, never the turns themselves. For a local store the indexes of big threads
are also saved under ``CODEX_HOME/threadloom/turns/`` (``cache.py``): a thread this process has
no index of starts from the saved one (``thread/read`` with ``includeTurns`` included), reading
only what was appended since.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from threadloom.errors import ThreadloomError
from threadloom.ids import ThreadId
from threadloom.protocol.rollout import SESSION_META, HistoryMode, RolloutLine
from threadloom.protocol.turns import HistoryBase, history_base
from threadloom.server.history.cache import IndexCache
from threadloom.server.history.index import TurnIndex, extend
from threadloom.server.history.pages import full_turns, normalize
from threadloom.server.history.source import (
    ListSource,
    SegmentInfo,
    Source,
    file_source,
    first_meta,
    inherited_lines,
    list_lineage,
)
from threadloom.store.base import Capability, ThreadStore
from threadloom.store.local.layout import CodexHome
from threadloom.store.params import LoadHistoryParams, ReadThreadParams
from threadloom.store.records import StoredThread

T = TypeVar("T")
MAX_LINEAGE = 64
"""Ancestors followed through ``history_base`` (a longer chain is cut there)."""


class HistoryService:
    """Turn indexes of the threads a server pages through (module docstring)."""

    def __init__(
        self, store: ThreadStore, *, capacity: int = 32, cache: IndexCache | None = None
    ) -> None:
        """``cache``: where indexes are saved (default: the local store's home; none for
        other stores)."""
        self.store = store
        self.capacity = capacity
        self.cache = cache if cache is not None else default_cache(store)
        self._indexes: OrderedDict[str, TurnIndex] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def run(self, stored: StoredThread, fn: Callable[[TurnIndex, Source], T]) -> T:
        """``fn(index, source)`` on the thread's up-to-date index (in a worker thread)."""
        async with self._lock(stored.thread_id):
            index, source = await self._index(stored)
            return await asyncio.to_thread(fn, index, source)

    async def full_turns(self, stored: StoredThread, *, active: bool) -> list[dict[str, Any]]:
        """Every turn of the thread, as ``thread/read`` with ``includeTurns`` shows them (one
        pass over the lines when the thread has no index yet: it is built on the way)."""
        thread_id, mode = stored.thread_id, stored.history_mode
        async with self._lock(thread_id):
            source = await self._source(stored)
            cached = self._indexes.pop(thread_id, None)
            index = await asyncio.to_thread(self._refresh_known, cached, thread_id, mode, source)
            if index is not None:
                self._keep(thread_id, index)
                return await asyncio.to_thread(full_turns, index, source, active)
            fresh = TurnIndex.empty(thread_id, mode, source)
            turns: list[dict[str, Any]] = []
            await asyncio.to_thread(self._build, fresh, source, turns)
            self._keep(thread_id, fresh)
            return normalize(turns, active)

    async def forget(self, thread_id: str) -> None:
        """Drop what is kept of a deleted thread: its index in memory and its saved file."""
        async with self._lock(thread_id):
            self._indexes.pop(thread_id, None)
            if self.cache is not None:
                await asyncio.to_thread(self.cache.remove, thread_id)

    def _lock(self, thread_id: str) -> asyncio.Lock:
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = asyncio.Lock()
        return lock

    async def _index(
        self, stored: StoredThread, source: Source | None = None
    ) -> tuple[TurnIndex, Source]:
        """The thread's index brought up to date (under its lock). While it changes it is out
        of the cache: if bringing it up to date fails, the next request builds a new one."""
        thread_id = stored.thread_id
        if source is None:
            source = await self._source(stored)
        cached = self._indexes.pop(thread_id, None)
        mode = stored.history_mode
        index = await asyncio.to_thread(self._refresh, cached, thread_id, mode, source)
        self._keep(thread_id, index)
        return index, source

    # -- indexes (in worker threads) --------------------------------------------------------------

    def _known(
        self, index: TurnIndex | None, thread_id: str, mode: HistoryMode, source: Source
    ) -> TurnIndex | None:
        """``index`` if it indexes ``source``, else the saved index of it, else None."""
        if index is not None and index.key == source.key and index.mode == mode:
            return index
        return None if self.cache is None else self.cache.load(thread_id, mode, source)

    def _refresh(
        self, cached: TurnIndex | None, thread_id: str, mode: HistoryMode, source: Source
    ) -> TurnIndex:
        """The index of ``source`` brought up to date: ``cached`` or the saved one extended,
        else a new one."""
        known = self._known(cached, thread_id, mode, source)
        return self._up_to_date(known, thread_id, mode, source)

    def _refresh_known(
        self, cached: TurnIndex | None, thread_id: str, mode: HistoryMode, source: Source
    ) -> TurnIndex | None:
        """As ``_refresh``, but None when neither ``cached`` nor a saved index is of
        ``source`` (the caller builds one on its own)."""
        known = self._known(cached, thread_id, mode, source)
        return None if known is None else self._up_to_date(known, thread_id, mode, source)

    def _up_to_date(
        self, index: TurnIndex | None, thread_id: str, mode: HistoryMode, source: Source
    ) -> TurnIndex:
        index = refreshed(index, thread_id, mode, source)
        if self.cache is not None:
            self.cache.save(index, source)
        return index

    def _build(self, index: TurnIndex, source: Source, turns: list[dict[str, Any]]) -> None:
        """Index every line into the empty ``index``, every turn into ``turns``."""
        extend(index, source, turns)
        if self.cache is not None:
            self.cache.save(index, source)

    def _keep(self, thread_id: str, index: TurnIndex) -> None:
        self._indexes[thread_id] = index
        self._indexes.move_to_end(thread_id)
        while len(self._indexes) > self.capacity:
            self._indexes.popitem(last=False)

    # -- sources ----------------------------------------------------------------------------------

    async def _source(self, stored: StoredThread) -> Source:
        path = stored.rollout_path
        if path is not None and Capability.RESOLVE_LEGACY_PATH in self.store.capabilities:
            return await self._file_source(Path(path))
        return await self._list_source(stored)

    async def _file_source(self, path: Path) -> Source:
        """The rollout's lines, after those its ``history_base`` chain inherits."""
        bases: dict[str, Path] = {}
        current = path
        for _ in range(MAX_LINEAGE):
            meta = await asyncio.to_thread(first_meta, current)
            base = history_base(meta) if meta is not None else None
            if base is None or base.thread_id in bases:
                break
            parent = await self._rollout_of(base.thread_id)
            if parent is None:
                break
            bases[base.thread_id] = current = parent

        def resolve(base: HistoryBase, _: Path) -> Path | None:
            return bases.get(base.thread_id)

        return await asyncio.to_thread(file_source, path, resolve)

    async def _rollout_of(self, thread_id: str) -> Path | None:
        try:
            parent = await self.store.read_thread(ReadThreadParams(thread_id=ThreadId(thread_id)))
        except ThreadloomError:  # an unreadable ancestor: its lines are left out
            return None
        return None if parent.rollout_path is None else Path(parent.rollout_path)

    async def _list_source(self, stored: StoredThread) -> Source:
        """Any store: the thread's lines through ``load_history``, inherited ones first."""
        own = await self._history(stored.thread_id)
        if own is None:
            own = []
        chain: list[tuple[list[RolloutLine], int | None]] = [(own, None)]
        seen: set[str] = {stored.thread_id}
        lines = own
        for _ in range(MAX_LINEAGE):
            meta = next((line for line in lines if line.type == SESSION_META), None)
            base = history_base(meta) if meta is not None else None
            if base is None or base.thread_id in seen:
                break
            parent = await self._history(base.thread_id)
            if parent is None:
                break
            seen.add(base.thread_id)
            lines = parent
            chain.append((inherited_lines(parent, base), base.end_ordinal_exclusive))
        chain.reverse()
        lineage: list[SegmentInfo] = []
        joined: list[RolloutLine] = []
        for segment, end_ordinal in chain:
            info = list_lineage(segment)
            lineage.append(SegmentInfo(info.meta_ordinal, end_ordinal))
            joined.extend(segment)
        return ListSource(stored.thread_id, joined, lineage)

    async def _history(self, thread_id: str) -> list[RolloutLine] | None:
        try:
            history = await self.store.load_history(
                LoadHistoryParams(thread_id=ThreadId(thread_id), include_archived=True)
            )
        except ThreadloomError:  # an unreadable ancestor: its lines are left out
            return None
        return history.items


def default_cache(store: ThreadStore) -> IndexCache | None:
    """The saved indexes of a local store's home (None for other stores)."""
    home = getattr(store, "home", None)
    if isinstance(home, CodexHome) and Capability.RESOLVE_LEGACY_PATH in store.capabilities:
        return IndexCache(home.turn_indexes)
    return None


def refreshed(
    index: TurnIndex | None, thread_id: str, mode: HistoryMode, source: Source
) -> TurnIndex:
    """``index`` brought up to date with ``source`` (a new one when it cannot be extended)."""
    if index is not None and index.key == source.key and index.mode == mode:
        if not source.grown_since(index.end.position, index.size_hint):
            return index
        if source.signature(index.end.position) == index.signature:
            extend(index, source)
            return index
    index = TurnIndex.empty(thread_id, mode, source)
    extend(index, source)
    return index

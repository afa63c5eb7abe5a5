"""LiveThread: the persistence handle of one running thread, on any ThreadStore backend."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from types import TracebackType

import msgspec

from threadloom.errors import Conflict, InvalidRequest
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.live.filter import PersistFilter
from threadloom.live.materialize import worth_keeping
from threadloom.live.metadata import LiveMetadata, now_ms
from threadloom.live.queue import DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_BYTES, WriteQueue
from threadloom.protocol.policy import EventMode
from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.summary import SummaryState
from threadloom.store.base import ThreadStore
from threadloom.store.create import session_meta_line
from threadloom.store.params import (
    AppendItemsParams,
    CreateThreadParams,
    ForkThreadParams,
    LoadHistoryParams,
    ResumeThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
)
from threadloom.store.records import StoredThread, StoredThreadHistory, stored_from_summary


class LiveState(enum.StrEnum):
    """Where a live thread is in its life."""

    STARTED = "started"
    """Created; nothing worth keeping yet, nothing on disk."""
    MATERIALIZED = "materialized"
    SHUT_DOWN = "shut down"
    DISCARDED = "discarded"


class LiveThread:
    """The handle through which a running thread persists itself.

    ``append`` filters lines through the thread's persistence policy and queues them; a
    background task writes them in order. A new thread stays in memory until a line worth
    keeping arrives (or ``persist``); an ephemeral one never reaches the store.
    """

    __slots__ = (
        "_buffer",
        "_buffer_encoded",
        "_filter",
        "_history",
        "_metadata",
        "_queue",
        "_state",
        "ephemeral",
        "event_mode",
        "store",
        "thread_id",
    )

    def __init__(
        self,
        store: ThreadStore,
        stored: StoredThread,
        *,
        event_mode: EventMode,
        materialized: bool,
        ephemeral: bool = False,
        history: list[RolloutLine] | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> None:
        """Use ``create``, ``resume`` or ``fork``.

        ``max_pending`` / ``max_pending_bytes`` bound what may wait for the store; beyond them
        ``append`` waits for the writer (back-pressure).
        """
        self.store = store
        self.thread_id = stored.thread_id
        self.event_mode = event_mode
        self.ephemeral = ephemeral
        self._filter = PersistFilter(event_mode, stored.history_mode)
        self._metadata = LiveMetadata(stored)
        self._state = LiveState.MATERIALIZED if materialized else LiveState.STARTED
        self._buffer: list[RolloutLine] = []
        self._buffer_encoded: list[bytes] = []
        self._history = history
        """Ephemeral and started threads: every line so far, session_meta first."""
        self._queue = WriteQueue(
            self.thread_id,
            self._write,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
        )

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    async def create(
        cls,
        store: ThreadStore,
        params: CreateThreadParams,
        *,
        event_mode: EventMode = EventMode.LIMITED,
        ephemeral: bool = False,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> LiveThread:
        """Start a new thread; nothing is written until it has something worth keeping.

        ``ephemeral``: the thread lives only in this object, never in the store.
        """
        parse_thread_id(params.thread_id)
        if params.created_at_ms is None:
            params = msgspec.structs.replace(params, created_at_ms=now_ms())
        meta_line = session_meta_line(params)
        if ephemeral:
            state = SummaryState()
            state.feed(meta_line.type, meta_line.payload)
            meta = state.meta()
            assert meta is not None
            stored = stored_from_summary(
                meta,
                state,
                default_provider=params.model_provider or "openai",
                updated_at_ms=params.created_at_ms,
                recency_at_ms=params.created_at_ms,
            )
        else:
            stored = await store.create_thread(params)
        return cls(
            store,
            stored,
            event_mode=event_mode,
            materialized=params.materialize and not ephemeral,
            ephemeral=ephemeral,
            history=[meta_line],
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
        )

    @classmethod
    async def resume(
        cls,
        store: ThreadStore,
        params: ResumeThreadParams | ThreadId | str,
        *,
        event_mode: EventMode = EventMode.LIMITED,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> LiveThread:
        """Reopen an existing thread for appending (Conflict if another writer has it)."""
        if not isinstance(params, ResumeThreadParams):
            params = ResumeThreadParams(thread_id=parse_thread_id(params))
        stored = await store.resume_thread(params)
        return cls(
            store,
            stored,
            event_mode=event_mode,
            materialized=True,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
        )

    @classmethod
    async def fork(
        cls,
        store: ThreadStore,
        source_thread_id: ThreadId | str,
        params: CreateThreadParams,
        *,
        keep_items: int | None = None,
        event_mode: EventMode = EventMode.LIMITED,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> LiveThread:
        """A new thread holding the first ``keep_items`` lines of another's history (all when
        None), written at once, open for appending."""
        source = parse_thread_id(source_thread_id)
        stored = await store.fork_thread(
            ForkThreadParams(source_thread_id=source, thread=params, keep_items=keep_items)
        )
        return cls(
            store,
            stored,
            event_mode=event_mode,
            materialized=True,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
        )

    # --- state ------------------------------------------------------------------------------
    @property
    def state(self) -> LiveState:
        return self._state

    @property
    def materialized(self) -> bool:
        return self._state is not LiveState.STARTED and not self.ephemeral

    @property
    def rollout_path(self) -> str | None:
        """The thread's file (None: ephemeral, or a store without files)."""
        return None if self.ephemeral else self._metadata.base.rollout_path

    @property
    def metadata(self) -> StoredThread:
        """The thread's current metadata, including what was appended but not yet written."""
        return self._metadata.current()

    @property
    def pending(self) -> int:
        """Lines accepted but not yet handed to the store."""
        return self._queue.pending + len(self._buffer)

    # --- writing ----------------------------------------------------------------------------
    async def append(
        self, items: Iterable[RolloutLine], *, encoded: Sequence[bytes] | None = None
    ) -> None:
        """Persist these lines after every line appended before them; does not wait for the
        disk (only, when the queue is full, for room in it). Raises the failure of an earlier
        background write, if nobody was told of it yet.

        ``encoded``: each line's bytes as ``codec.encode_line`` gives them, when the caller
        has them already (one per line; they are written as given)."""
        self._check_open()
        self._queue.check()
        if encoded is not None:
            items = list(items)
            if len(encoded) != len(items):
                raise InvalidRequest("one encoding per appended line is required")
        lines, kept_bytes = self._filter.apply(items, encoded)
        if not lines:
            return
        self._metadata.observe(lines)
        if self.ephemeral:
            assert self._history is not None
            self._history.extend(lines)
            return
        if self._state is LiveState.STARTED:
            assert self._history is not None
            self._history.extend(lines)
            if not any(worth_keeping(line) for line in lines):
                self._buffer.extend(lines)
                self._buffer_encoded.extend(kept_bytes)
                return
            lines = [*self._buffer, *lines]
            kept_bytes = [*self._buffer_encoded, *kept_bytes]
            self._materialize_state()
        await self._queue.put(lines, kept_bytes)

    async def persist(self) -> None:
        """Materialise now (session_meta, then what was buffered) and make it durable."""
        self._check_open()
        if self.ephemeral:
            return
        if self._state is LiveState.STARTED:
            lines, encoded = self._buffer, self._buffer_encoded
            self._materialize_state()
            await self._queue.put(lines, encoded)
            await self._queue.wait(durable=False)
            await self.store.persist_thread(ThreadIdParams(thread_id=self.thread_id))
        await self._queue.wait(durable=True)

    async def flush(self) -> None:
        """Return once every line appended before this call is durable and readable by
        other processes; raises a background write failure (after which the next call
        retries the kept lines)."""
        self._check_open()
        if self.materialized:
            await self._queue.wait(durable=True)

    async def shutdown(self) -> None:
        """Flush, then release the writer. Idempotent; a failed flush leaves it open."""
        if self._state in (LiveState.SHUT_DOWN, LiveState.DISCARDED):
            return
        if self.materialized:
            await self._queue.wait(durable=True)
        await self._queue.stop(LiveState.SHUT_DOWN.value)
        self._state = LiveState.SHUT_DOWN
        if not self.ephemeral:
            await self.store.shutdown_thread(ThreadIdParams(thread_id=self.thread_id))

    async def discard(self) -> None:
        """Give the thread up after a failed start: what is durable stays, nothing more is
        written, and nothing can be appended any more. Idempotent."""
        if self._state in (LiveState.SHUT_DOWN, LiveState.DISCARDED):
            return
        self._state = LiveState.DISCARDED
        self._buffer, self._buffer_encoded = [], []
        await self._queue.stop(LiveState.DISCARDED.value)
        if not self.ephemeral:
            await self.store.discard_thread(ThreadIdParams(thread_id=self.thread_id))

    async def __aenter__(self) -> LiveThread:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    # --- reading ----------------------------------------------------------------------------
    async def load_history(self, *, last: int | None = None) -> StoredThreadHistory:
        """The thread's persisted lines (the last ``last``), including every line appended
        before this call; before materialisation, the lines it would start with."""
        if last is not None and last < 0:
            raise InvalidRequest("last must not be negative")
        if self._history is not None and (self.ephemeral or self._state is LiveState.STARTED):
            items = self._history if last is None else self._history[-last:] if last else []
            return StoredThreadHistory(thread_id=self.thread_id, items=list(items))
        if self._state is LiveState.MATERIALIZED:
            await self._queue.wait(durable=False)
        return await self.store.load_history(LoadHistoryParams(thread_id=self.thread_id, last=last))

    # --- metadata ---------------------------------------------------------------------------
    async def set_name(self, name: str) -> None:
        """Name the thread (materialises a started thread, as Codex does)."""
        self._check_open()
        self._check_not_ephemeral()
        await self._written(materialize=True)
        await self.store.set_thread_name(SetThreadNameParams(thread_id=self.thread_id, name=name))
        self._metadata.replace_base(
            msgspec.structs.replace(self._metadata.base, name=name.strip() or None)
        )

    async def update_metadata(self, patch: ThreadMetadataPatch) -> StoredThread:
        """Apply a name / memory mode / git patch through the store; returns the new metadata.

        A started legacy thread materialises first; a started paginated one stays off disk
        (its metadata is kept aside, as Codex keeps it in its database).
        """
        self._check_open()
        self._check_not_ephemeral()
        legacy = self._metadata.base.history_mode.value == "legacy"
        await self._written(materialize=legacy)
        stored = await self.store.update_thread_metadata(
            UpdateThreadMetadataParams(thread_id=self.thread_id, patch=patch)
        )
        self._metadata.replace_base(stored)
        return self.metadata

    # --- internals --------------------------------------------------------------------------
    async def _write(self, batch: list[RolloutLine], encoded: list[bytes], sync: bool) -> None:
        params = ThreadIdParams(thread_id=self.thread_id)
        if batch:
            await self.store.append_items(
                AppendItemsParams(thread_id=self.thread_id, items=batch, sync=sync, encoded=encoded)
            )
        elif sync:
            await self.store.flush_thread(params)

    async def _written(self, *, materialize: bool) -> None:
        """Hand every queued line to the store (materialising a started thread if asked)."""
        if self._state is LiveState.STARTED and materialize:
            lines, encoded = self._buffer, self._buffer_encoded
            self._materialize_state()
            await self._queue.put(lines, encoded)
        if self._state is LiveState.MATERIALIZED:
            await self._queue.wait(durable=False)

    def _materialize_state(self) -> None:
        self._state = LiveState.MATERIALIZED
        self._buffer, self._buffer_encoded = [], []
        self._history = None

    def _check_open(self) -> None:
        if self._state in (LiveState.SHUT_DOWN, LiveState.DISCARDED):
            raise Conflict(f"thread {self.thread_id} was {self._state.value}", self.thread_id)

    def _check_not_ephemeral(self) -> None:
        if self.ephemeral:
            raise InvalidRequest("ephemeral thread does not support metadata updates")

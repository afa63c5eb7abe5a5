"""The copy a legacy (or ephemeral) fork makes of its source's lines (rollout-format 16.1).

``ForkCopier`` turns the source's lines into the child's, in batches: each kept line
re-serialised (``forking.canonical_line``), fed to the child's ``HistoryScan`` and encoded.
``copy_into`` runs it on a worker thread of its own, one batch ahead of the event loop, which
only hands each batch and its bytes to the child's ``LiveThread`` (``append(...,
encoded=...)``, written as they are). One thread for the whole copy keeps its memory in one
allocator arena, reused from batch to batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import msgspec

from threadloom.live import LiveThread
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import SESSION_META, RolloutLine, order_session_meta
from threadloom.runtime.forking import canonical_line
from threadloom.runtime.history import HistoryScan

COPY_BATCH = 4096
"""Lines re-serialised per batch, at most."""
COPY_BATCH_BYTES = 8 << 20
"""Encoded bytes per batch, at most (a single longer line makes a batch of its own)."""


class ForkCopier:
    """Re-serialises a source's lines in batches, feeding each copy to ``scan``.

    ``cut``: how many kept lines to copy (None: all); ``paginated``: the child numbers its
    lines itself (copies carry no ordinal); ``mark_meta``: the first copied session_meta
    gets a ``multi_agent_version``.
    """

    def __init__(
        self,
        lines: Iterator[RolloutLine],
        stamp: str,
        cut: int | None,
        scan: HistoryScan,
        *,
        paginated: bool,
        mark_meta: bool,
    ) -> None:
        self.lines = lines
        self.stamp = stamp
        self.remaining = cut
        self.scan = scan
        self.paginated = paginated
        self.mark_meta = mark_meta

    def batch(self) -> tuple[list[RolloutLine], list[bytes]]:
        """The next copies and their bytes (``codec.encode_line``); empty at the end."""
        out: list[RolloutLine] = []
        encoded: list[bytes] = []
        size = 0
        for line in self.lines:
            if self.remaining is not None and self.remaining <= 0:
                break
            copied = canonical_line(line, self.stamp)
            if copied is None:
                continue
            copy, parsed = copied
            if self.mark_meta and copy.type == SESSION_META and isinstance(copy.payload, dict):
                self.mark_meta = False
                payload = {"multi_agent_version": "v1", **copy.payload}
                copy = msgspec.structs.replace(copy, payload=order_session_meta(payload))
            if self.paginated:
                copy = msgspec.structs.replace(copy, ordinal=None)
            if self.remaining is not None:
                self.remaining -= 1
            self.scan.feed(copy, parsed)
            data = encode_line(copy)
            out.append(copy)
            encoded.append(data)
            size += len(data)
            if len(out) >= COPY_BATCH or size >= COPY_BATCH_BYTES:
                break
        return out, encoded


async def copy_into(live: LiveThread, copier: ForkCopier) -> None:
    """Append every batch of ``copier`` to ``live``, in order; the next batch is made (on the
    copy's own thread) while the previous one is handed over."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threadloom-fork-copy")
    pending = loop.run_in_executor(pool, copier.batch)
    try:
        while True:
            lines, encoded = await pending
            if not lines:
                return
            pending = loop.run_in_executor(pool, copier.batch)
            await live.append(lines, encoded=encoded)
    finally:
        pending.add_done_callback(_ignore)  # given up mid-copy: the batch in progress ends unheard
        pool.shutdown(wait=False, cancel_futures=True)


def _ignore(future: asyncio.Future[tuple[list[RolloutLine], list[bytes]]]) -> None:
    if not future.cancelled():
        future.exception()

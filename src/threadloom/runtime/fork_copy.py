"""The copy a legacy (or ephemeral) fork makes of its source's lines (rollout-format 16.1).

``ForkCopier`` turns the source's lines into the child's, in batches, in a worker thread:
each kept line re-serialised (``forking.canonical_line``), fed to the child's
``HistoryScan`` and encoded there, so the event loop only hands the batch and its bytes to
the child's ``LiveThread`` (``append(..., encoded=...)``), which writes them as they are.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

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

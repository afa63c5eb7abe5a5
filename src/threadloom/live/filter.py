"""What a live thread writes, and in what form (rollout-format 10 and 11)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from threadloom.errors import InvalidRequest
from threadloom.protocol.codec import encode_line
from threadloom.protocol.policy import EventMode, payload_types, persisted, sanitize_extended
from threadloom.protocol.rollout import HistoryMode, RolloutLine


class PersistFilter:
    """Drops what the thread's policy does not persist and sanitises what extended mode keeps.

    Every kept line is encoded here, so a bad item fails its own ``append`` instead of the
    background write, and the store writes these bytes without encoding again.
    """

    __slots__ = ("event_mode", "paginated")

    def __init__(self, event_mode: EventMode, history_mode: HistoryMode) -> None:
        self.event_mode = event_mode
        self.paginated = history_mode == HistoryMode.PAGINATED

    def apply(
        self, lines: Iterable[RolloutLine], given_bytes: Sequence[bytes] | None = None
    ) -> tuple[list[RolloutLine], list[bytes]]:
        """The kept lines and their encodings (``given_bytes``: each line's ``encode_line``
        bytes, computed by the caller; used unless the policy rewrites the line)."""
        kept: list[RolloutLine] = []
        encoded: list[bytes] = []
        for position, given in enumerate(lines):
            if not isinstance(given, RolloutLine):
                raise InvalidRequest(f"expected a RolloutLine, got {type(given).__name__}")
            line = given
            kind, item_type = payload_types(line)
            if not persisted(
                line.type,
                kind,
                paginated=self.paginated,
                mode=self.event_mode,
                item_type=item_type,
            ):
                continue
            if kind == "exec_command_end" and self.event_mode == EventMode.EXTENDED:
                line = msgspec.structs.replace(line, payload=sanitize_extended(line.payload))
            elif given_bytes is not None:
                encoded.append(given_bytes[position])
                kept.append(line)
                continue
            try:
                encoded.append(encode_line(line))
            except (TypeError, ValueError, msgspec.EncodeError) as exc:
                raise InvalidRequest(f"rollout line cannot be stored as JSON: {exc}") from None
            kept.append(line)
        return kept, encoded

"""``thread/list`` cursors (app-server-threads 5.3-5.4), shared by every store backend.

Items are ordered by ``(key in whole seconds, thread id)``. A cursor is an RFC 3339 time,
optionally followed by ``|<thread id>``:

* with an id: strict keyset continuation after ``(time, id)`` in the request's direction;
* without one: items whose whole-second key equals the cursor time are excluded, i.e.
  descending keeps ``key_s < t`` and ascending keeps ``key_s > t`` (``t`` exact, possibly
  fractional).

``nextCursor`` names the last item of a page in whole seconds (``2025-03-07T10:00:00Z|<id>``);
``backwardsCursor`` is the first item's precise key minus (descending) or plus (ascending)
one millisecond, with milliseconds and no id (``2025-03-07T09:59:59.999Z``).
"""

from __future__ import annotations

import msgspec

from threadloom.errors import InvalidRequest, InvalidThreadId
from threadloom.ids import parse_thread_id
from threadloom.protocol.codec import (
    format_rfc3339_seconds,
    format_timestamp,
    parse_timestamp_precise,
)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_NS = 1_000_000_000


class ListCursor(msgspec.Struct, frozen=True):
    """A parsed list cursor: whole seconds (floor), the sub-second rest, an optional id."""

    seconds: int
    nanos: int = 0
    thread_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> ListCursor:
        """Parse ``<RFC3339>[|<thread id>]``; InvalidRequest ``invalid cursor: <text>`` if not."""
        stamp, sep, raw_id = text.partition("|")
        precise = parse_timestamp_precise(stamp)
        if precise is None:
            raise InvalidRequest(f"invalid cursor: {text}")
        thread_id: str | None = None
        if sep:
            try:
                thread_id = parse_thread_id(raw_id)
            except InvalidThreadId:
                raise InvalidRequest(f"invalid cursor: {text}") from None
        seconds, nanos = precise
        return cls(seconds, nanos, thread_id)

    @classmethod
    def after_item(cls, key_ms: int, thread_id: str) -> ListCursor:
        """The cursor continuing after an item (whole seconds and its id)."""
        return cls(key_ms // 1000, 0, thread_id)

    def format(self) -> str:
        """The text form: whole seconds (``…Z``) or nanoseconds when fractional, then ``|id``."""
        if self.nanos:
            ms, rest = divmod(self.nanos, 1_000_000)
            stamp = (
                format_timestamp(self.seconds * 1000 + ms)
                if rest == 0
                else format_rfc3339_seconds(self.seconds)[:-1] + f".{self.nanos:09d}Z"
            )
        else:
            stamp = format_rfc3339_seconds(self.seconds)
        return stamp if self.thread_id is None else f"{stamp}|{self.thread_id}"

    @property
    def exact_ns(self) -> int:
        """The cursor time in nanoseconds since the epoch."""
        return self.seconds * _NS + self.nanos

    def keyset(self, descending: bool) -> tuple[int, str | None]:
        """An integer-seconds bound ``(b, id)`` equivalent to this cursor, for SQL.

        An item (``key_s``, ``tid``) comes after the cursor iff ``key_s OP b`` or, when ``id``
        is not None, ``key_s == b and tid OP id``, where OP is ``<`` descending, ``>``
        ascending. A fractional cursor time never equals a whole second, so its id is moot.
        """
        if self.nanos == 0:
            return self.seconds, self.thread_id
        return (self.seconds + 1 if descending else self.seconds), None

    def admits(self, key_ms: int, thread_id: str, descending: bool) -> bool:
        """Does an item with this precise key (ms) and id come strictly after the cursor?"""
        return after_cursor(self, key_ms, thread_id, descending)


def parse_list_cursor(text: str) -> ListCursor:
    """``ListCursor.parse``; raises InvalidRequest ``invalid cursor: <text>``."""
    return ListCursor.parse(text)


def clamp_limit(limit: int) -> int:
    """Page size rule of ``thread/list``: at most 100, and 0 (or less) behaves as 1."""
    return min(max(limit, 1), MAX_LIMIT)


def sort_tuple(key_ms: int, thread_id: str) -> tuple[int, str]:
    """The ordering key of an item: ``(key in whole seconds, thread id)``."""
    return key_ms // 1000, thread_id


def after_cursor(cursor: ListCursor, key_ms: int, thread_id: str, descending: bool) -> bool:
    """Strictly after ``cursor`` in the direction of the listing (see the module docstring)."""
    key_ns = (key_ms // 1000) * _NS
    target = cursor.exact_ns
    if descending:
        if key_ns != target or cursor.thread_id is None:
            return key_ns < target
        return thread_id < cursor.thread_id
    if key_ns != target or cursor.thread_id is None:
        return key_ns > target
    return thread_id > cursor.thread_id


def next_cursor(last_key_ms: int, last_thread_id: str) -> str:
    """``nextCursor`` for a page whose last item has this precise key (ms) and id."""
    return f"{format_rfc3339_seconds(last_key_ms // 1000)}|{last_thread_id}"


def backwards_cursor(first_key_ms: int, descending: bool) -> str:
    """``backwardsCursor`` for a page whose first item has this precise key (ms)."""
    return format_timestamp(first_key_ms - 1 if descending else first_key_ms + 1)

"""A saved index, decoded, answers every range of turns as the index it was saved from, and
bytes of another format, code, thread, source or corrupt ones decode to nothing."""

from __future__ import annotations

import zlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.protocol.turns import build_turns
from threadloom.server.history import persisted
from threadloom.server.history.index import extend
from threadloom.server.history.items import ItemsQuery, items_page
from threadloom.server.history.pages import TurnsQuery, full_turns, turns, turns_page
from threadloom.server.history.persisted import MAGIC, decode, encode
from threadloom.server.history.source import ListSource, list_lineage

from ...protocol.test_turns_props import THREAD, ev, meta, threads
from .test_index import indexed, numbered


@settings(max_examples=150, deadline=None)
@given(threads, st.sampled_from([1, 2]), st.data())
def test_a_decoded_index_answers_as_the_saved_one(
    lines: list[RolloutLine], mark_every: int, data: st.DataObject
) -> None:
    lines = numbered(lines)
    cut = data.draw(st.integers(1, len(lines)))
    index, source = indexed(lines[:cut], mark_every)
    mode = index.mode
    loaded = decode(encode(index), THREAD, mode, source)
    assert loaded is not None
    assert (loaded.ids, loaded.released_at, loaded.item_counts, loaded.marks) == (
        index.ids,
        index.released_at,
        index.item_counts,
        index.marks,
    )
    assert loaded.late == index.late
    assert loaded.tail == index.tail
    assert loaded.first == index.first
    assert full_turns(loaded, source, active=False) == full_turns(index, source, active=False)
    for _ in range(3):
        a = data.draw(st.integers(0, index.count))
        b = data.draw(st.integers(a, index.count))
        assert turns(loaded, source, a, b) == turns(index, source, a, b)
    assert turns_page(loaded, source, TurnsQuery(limit=2)) == turns_page(
        index, source, TurnsQuery(limit=2)
    )
    if mode == HistoryMode.PAGINATED:
        assert loaded.projection is not None
        assert index.projection is not None
        assert loaded.projection.item_keys == index.projection.item_keys
        assert loaded.projection.turn_items == index.projection.turn_items
    query = ItemsQuery(limit=3)
    assert items_page(loaded, source, query) == items_page(index, source, query)
    # the loaded index goes on from where the saved one stopped, as a fresh one would
    source._lines.extend(lines[cut:])
    extend(loaded, source)
    assert full_turns(loaded, source, active=True) == build_turns(lines, loaded=True)
    fresh, _ = indexed(lines, mark_every)
    for descending in (True, False):
        page = TurnsQuery(limit=100, descending=descending)
        assert turns_page(loaded, source, page) == turns_page(fresh, source, page)


def _saved() -> tuple[bytes, ListSource]:
    lines = [meta("legacy")]
    for n in range(5):
        lines += [
            ev({"type": "user_message", "message": f"question {n}"}),
            ev({"type": "agent_message", "message": f"answer {n}"}),
        ]
    index, source = indexed(lines, 2)
    return encode(index), source


def framed(body: bytes) -> bytes:
    return MAGIC + zlib.crc32(body).to_bytes(4, "big") + body


def test_other_or_damaged_bytes_decode_to_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    data, source = _saved()
    mode = HistoryMode.LEGACY
    assert decode(data, THREAD, mode, source) is not None
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    other_source = ListSource("another", source._lines, [list_lineage(source._lines)])
    for bad in (
        b"",
        data[: len(data) - 1],
        bytes(flipped),
        MAGIC[:-2] + bytes([MAGIC[-2] + 1, MAGIC[-1]]) + data[len(MAGIC) :],  # another version
        data[: len(MAGIC)] + b"\0\0\0\0" + data[len(MAGIC) + 4 :],  # wrong checksum
        framed(msgspec.msgpack.encode([1, 2])),  # not an index
        framed(msgspec.msgpack.encode({"code": 1})),
    ):
        assert decode(bad, THREAD, mode, source) is None
    assert decode(data, "another-thread", mode, source) is None
    assert decode(data, THREAD, HistoryMode.PAGINATED, source) is None
    assert decode(data, THREAD, mode, other_source) is None
    # built by other code (another version, a changed reducer): never trusted
    monkeypatch.setattr(persisted, "code_fingerprint", lambda: "other code")
    assert decode(data, THREAD, mode, source) is None

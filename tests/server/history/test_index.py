"""The turn index: any range of turns rebuilt from checkpoints equals the one-pass result, also
after the file grew, and a page costs one page of lines, whatever the thread's length."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.protocol.turns import build_turns
from threadloom.server.history.index import MARK_EVERY, TurnIndex, extend
from threadloom.server.history.pages import TurnsQuery, full_turns, turns, turns_page
from threadloom.server.history.source import (
    FileSource,
    Line,
    ListSource,
    Source,
    file_source,
    list_lineage,
)

from ...protocol.test_turns_props import THREAD, ev, meta, threads


def numbered(lines: list[RolloutLine]) -> list[RolloutLine]:
    """Paginated lines get increasing ordinals (the projection skips lines without one)."""
    if lines[0].payload.get("history_mode") != "paginated":
        return lines
    return [
        RolloutLine(line.timestamp, line.type, line.payload, ordinal=n)
        for n, line in enumerate(lines)
    ]


def indexed(lines: list[RolloutLine], mark_every: int) -> tuple[TurnIndex, ListSource]:
    source = ListSource(THREAD, lines, [list_lineage(lines)])
    mode = HistoryMode(lines[0].payload.get("history_mode", "legacy"))
    index = TurnIndex.empty(THREAD, mode, source, mark_every=mark_every)
    extend(index, source)
    return index, source


@settings(max_examples=300, deadline=None)
@given(threads, st.sampled_from([1, 2, 3]), st.data())
def test_every_range_of_turns_equals_the_one_pass_result(
    lines: list[RolloutLine], mark_every: int, data: st.DataObject
) -> None:
    lines = numbered(lines)
    index, source = indexed(lines, mark_every)
    expected = build_turns(lines, loaded=True)
    assert index.count == len(expected)
    assert full_turns(index, source, active=False) == build_turns(lines)
    for _ in range(4):
        a = data.draw(st.integers(0, index.count))
        b = data.draw(st.integers(a, index.count))
        assert turns(index, source, a, b) == expected[a:b]


@settings(max_examples=200, deadline=None)
@given(threads, st.sampled_from([1, 2]), st.data())
def test_an_index_extended_as_the_thread_grows_equals_a_fresh_one(
    lines: list[RolloutLine], mark_every: int, data: st.DataObject
) -> None:
    lines = numbered(lines)
    cut = data.draw(st.integers(1, len(lines)))
    grown = ListSource(THREAD, lines[:cut], [list_lineage(lines)])
    mode = HistoryMode(lines[0].payload.get("history_mode", "legacy"))
    index = TurnIndex.empty(THREAD, mode, grown, mark_every=mark_every)
    extend(index, grown)
    grown._lines.extend(lines[cut:])
    extend(index, grown)
    assert full_turns(index, grown, active=True) == build_turns(lines, loaded=True)
    fresh, _ = indexed(lines, mark_every)
    assert (index.ids, index.item_counts, index.released_at) == (
        fresh.ids,
        fresh.item_counts,
        fresh.released_at,
    )


# -- a page's cost ---------------------------------------------------------------------------------


class Counting(Source):
    """A source that counts the lines it yields."""

    def __init__(self, inner: FileSource) -> None:
        self.inner = inner
        self.lineage = inner.lineage
        self.key = inner.key
        self.read = 0

    def lines(self, start: int) -> Iterator[Line]:
        for line in self.inner.lines(start):
            self.read += 1
            yield line

    def read_at(self, start: int) -> RolloutLine | None:
        self.read += 1
        return self.inner.read_at(start)

    def signature(self, end: int) -> bytes:
        return self.inner.signature(end)


def long_thread(path: Path, turns_count: int) -> Path:
    """Explicit turns of four lines, every fifth implicit, a rollback every 500 turns."""
    out = [meta("legacy")]
    for n in range(turns_count):
        turn = f"019a0000-0000-7000-8000-{n:012d}"
        if n % 5 == 4:
            out += [
                ev({"type": "user_message", "message": f"q{n}"}),
                ev({"type": "agent_message", "message": "a"}),
            ]
            continue
        out += [
            ev({"type": "task_started", "turn_id": turn}),
            ev({"type": "user_message", "message": f"question {n}"}),
            ev({"type": "agent_message", "message": f"answer {n}"}),
            ev({"type": "task_complete", "turn_id": turn}),
        ]
        if n % 500 == 499:
            out.append(ev({"type": "thread_rolled_back", "num_turns": 1}))
    path.write_bytes(b"".join(encode_line(line) + b"\n" for line in out))
    return path


def page_cost(path: Path) -> tuple[int, int, int]:
    """(turns, most lines read for a page, peak bytes a page allocated) over the newest page,
    the oldest, and four pages walked from the middle, with a warm index."""
    source = Counting(file_source(path, lambda base, current: None))
    index = TurnIndex.empty(THREAD, HistoryMode.LEGACY, source)
    extend(index, source)
    middle = json.dumps({"turnId": index.turn_id(index.count // 2), "includeAnchor": False})
    queries = [TurnsQuery(limit=25), TurnsQuery(limit=25, descending=False)]
    most, peak, cursor = 0, 0, middle
    for n in range(6):
        query = queries[n] if n < 2 else TurnsQuery(cursor=cursor, limit=25)
        source.read = 0
        tracemalloc.start()
        page: dict[str, Any] = turns_page(index, source, query)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        most = max(most, source.read)
        assert len(page["data"]) == 25
        if n >= 2:
            cursor = page["nextCursor"]
    return index.count, most, peak


def test_a_page_reads_one_page_of_lines_whatever_the_thread_s_length(tmp_path: Path) -> None:
    small, small_lines, small_peak = page_cost(long_thread(tmp_path / "small.jsonl", 200))
    big, big_lines, big_peak = page_cost(long_thread(tmp_path / "big.jsonl", 6000))
    assert big > 25 * small
    bound = (MARK_EVERY + 25 + 1) * 5  # a checkpoint's distance plus the page, 5 lines a turn
    assert small_lines <= bound
    assert big_lines <= bound
    # A page allocates about the same for 200 turns and 6000 (handing every released turn's
    # record to the resumed reducer, or rebuilding the thread, would cost megabytes here).
    assert big_peak < small_peak + 128 * 1024, (small_peak, big_peak)

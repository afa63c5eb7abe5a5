"""Items pages of legacy threads (threadloom's rule: ``thread/read``'s items in order, ranked
from 1) walked in both directions hold every item once, and filters and anchors pick the
right ones. Paginated threads are compared with Codex in ``test_differential_history``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadloom.protocol.rollout import RolloutLine
from threadloom.protocol.turns import build_turns
from threadloom.server.history.cursors import Scope, parse_position_cursor
from threadloom.server.history.items import ItemsQuery, items_page
from threadloom.server.history.pages import InvalidParams

from ...protocol.test_turns_props import THREAD, legacy_threads
from .test_index import indexed


def entries(lines: list[RolloutLine]) -> list[tuple[str, str]]:
    return [(t["id"], i["id"]) for t in build_turns(lines, loaded=True) for i in t["items"]]


def walk(lines: list[RolloutLine], size: int, descending: bool, **query: Any) -> list[Any]:
    index, source = indexed(lines, 2)
    out: list[tuple[str, str]] = []
    cursor = None
    for _ in range(200):
        page = items_page(
            index,
            source,
            ItemsQuery(cursor=cursor, limit=size, descending=descending, **query),
        )
        out += [(e["turnId"], e["item"]["id"]) for e in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return out
    raise AssertionError("the walk never ended")


@settings(max_examples=200, deadline=None)
@given(legacy_threads, st.integers(1, 4))
def test_walking_the_items_of_a_legacy_thread_holds_each_once(
    lines: list[RolloutLine], size: int
) -> None:
    expected = entries(lines)
    assert walk(lines, size, False) == expected
    assert walk(lines, size, True) == expected[::-1]
    if expected:
        turn_id = expected[-1][0]
        assert walk(lines, size, False, turn_id=turn_id) == [e for e in expected if e[0] == turn_id]


@settings(max_examples=100, deadline=None)
@given(legacy_threads, st.data())
def test_an_item_anchor_lists_the_items_around_it_in_its_turn(
    lines: list[RolloutLine], data: st.DataObject
) -> None:
    expected = entries(lines)
    index, source = indexed(lines, 1)
    if not expected:
        with pytest.raises(InvalidParams):
            items_page(index, source, ItemsQuery(turn_id="T1", anchor_item="item-1"))
        return
    turn_id = data.draw(st.sampled_from([t for t, _ in expected]))
    scope = [e for e in expected if e[0] == turn_id]
    at = data.draw(st.integers(0, len(scope) - 1))
    anchor = scope[at][1]
    if [e[1] for e in scope].index(anchor) != at:
        return  # an item id twice in a turn: the first one anchors
    after = items_page(index, source, ItemsQuery(turn_id=turn_id, anchor_item=anchor, limit=100))
    assert [(e["turnId"], e["item"]["id"]) for e in after["data"]] == scope[at + 1 :]
    before = items_page(
        index, source, ItemsQuery(turn_id=turn_id, anchor_item=anchor, descending=True, limit=100)
    )
    assert [(e["turnId"], e["item"]["id"]) for e in before["data"]] == scope[:at][::-1]
    if before["data"]:
        ranks = [r for r, e in enumerate(expected, start=1) if e[0] == turn_id]
        rank, include = parse_position_cursor(before["backwardsCursor"], THREAD, Scope.ITEMS)
        assert include
        assert rank == ranks[at - 1]

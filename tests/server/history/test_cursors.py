"""Cursor texts as Codex writes and reads them; anything else is ``invalid cursor: <text>``."""

from __future__ import annotations

import json

import pytest

from threadloom.errors import InvalidRequest
from threadloom.server.history.cursors import (
    Scope,
    parse_position_cursor,
    parse_turn_cursor,
    position_cursor,
    turn_cursor,
)

THREAD = "019a0000-0000-7000-9000-00000000c001"


def test_cursors_round_trip_in_codex_s_spelling() -> None:
    assert turn_cursor("T1", False) == '{"turnId":"T1","includeAnchor":false}'
    assert parse_turn_cursor('{"includeAnchor":true,"turnId":"T1","more":[]}') == ("T1", True)
    text = position_cursor(THREAD, Scope.ITEMS, 7, True)
    assert json.loads(text) == {
        "requestedThreadId": THREAD,
        "rolloutOrdinal": 7,
        "includeAnchor": True,
        "scope": {"kind": "itemsByCreatedAtOrdinal"},
    }
    assert parse_position_cursor(text, THREAD, Scope.ITEMS) == (7, True)
    upper = text.replace(THREAD, THREAD.upper())
    assert parse_position_cursor(upper, THREAD, Scope.ITEMS) == (7, True)


@pytest.mark.parametrize(
    "text",
    [
        "junk",
        "",
        "[]",
        '{"turnId":"T1"}',
        '{"turnId":1,"includeAnchor":false}',
        '{"turnId":"T1","includeAnchor":0}',
        '{"turnId":"a","turnId":"b","includeAnchor":false}',
    ],
)
def test_bad_turn_cursors_are_refused_with_their_text(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_turn_cursor(text)
    assert caught.value.message == f"invalid cursor: {text}"


@pytest.mark.parametrize(
    "change",
    [
        {"requestedThreadId": "019a0000-0000-7000-9000-00000000c002"},
        {"requestedThreadId": "bad"},
        {"rolloutOrdinal": -1},
        {"rolloutOrdinal": 1 << 64},
        {"rolloutOrdinal": True},
        {"rolloutOrdinal": 1.0},
        {"includeAnchor": None},
        {"scope": {"kind": "turns"}},
        {"scope": {"kind": "other"}},
        {"scope": "itemsByCreatedAtOrdinal"},
    ],
)
def test_bad_position_cursors_are_refused_with_their_text(change: dict[str, object]) -> None:
    good = json.loads(position_cursor(THREAD, Scope.ITEMS, 3, False))
    text = json.dumps({**good, **change})
    with pytest.raises(InvalidRequest) as caught:
        parse_position_cursor(text, THREAD, Scope.ITEMS)
    assert caught.value.message == f"invalid cursor: {text}"

"""Ranking threads by their messages' matches."""

from __future__ import annotations

from threadloom.protocol.texts import SearchText
from threadloom.store.search_rank import rank_threads


def _msg(body: str) -> SearchText:
    return SearchText("user", "turn", body)


def test_threads_rank_by_score_then_last_update_then_id() -> None:
    messages = [
        ("a", _msg("apple"), (5, "id-a")),
        ("b", _msg("apple pie"), (1, "id-b")),
        ("c", _msg("apple"), (5, "id-c")),
        ("d", _msg("nothing here"), (9, "id-d")),
        ("a", _msg("more text"), (5, "id-a")),
    ]
    ranked = rank_threads(messages, ["apple", "pie"])
    assert [key for _, key in ranked] == ["b", "c", "a"]
    (score, best, _), _ = ranked[0]
    assert best.text == "apple pie"
    assert score > ranked[1][0][0]

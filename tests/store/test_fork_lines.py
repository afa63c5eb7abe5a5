"""The prefix a paginated fork inherits, computed from its parent's lines."""

from __future__ import annotations

from threadloom.store.fork_lines import inherited_end, line_ordinal

LINES = [(None, 10), (0, 5), (1, 7), (None, 3), (2, 4)]
"""(ordinal, length) of a parent: a session_meta, then ordinals 0..2 around a line without."""


def test_every_line_is_inherited_up_to_the_next_ordinal() -> None:
    assert inherited_end(LINES, None) == (3, 11 + 6 + 8 + 4 + 5)


def test_the_prefix_ends_before_the_line_of_the_given_ordinal() -> None:
    assert inherited_end(LINES, 0) == (0, 11)
    assert inherited_end(LINES, 2) == (2, 11 + 6 + 8 + 4)


def test_an_ordinal_that_is_no_line_gives_none() -> None:
    assert inherited_end(LINES, 3) is None
    assert inherited_end([(0, 1), (2, 1)], 1) is None


def test_a_line_ordinal_is_read_from_json_and_none_otherwise() -> None:
    assert line_ordinal(b'{"timestamp":"t","ordinal":4,"type":"x","payload":{}}') == 4
    assert line_ordinal(b'{"timestamp":"t","type":"x","payload":{}}') is None
    assert line_ordinal(b"not json") is None

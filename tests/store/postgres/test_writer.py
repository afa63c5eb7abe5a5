"""The words a message is indexed under: the fast ASCII path gives the reference's words."""

from __future__ import annotations

import random
import string

import pytest

from threadloom.store.postgres.writer import MAX_LEXEME_BYTES, indexed_words, words

TEXTS = [
    "",
    "Fix the FLAKY test_writer_2 (see #42): retry-after=30s; don't panic!",
    "tabs\tand\nnewlines\x00NUL\x1fcontrol chars, under_scores and CamelCase9",
    "x" * (MAX_LEXEME_BYTES + 1) + " kept " + "y" * MAX_LEXEME_BYTES,
    "naïve Ærø café: accents fold, ß and ﬁ ligatures too",
    "mixed ascii and émoji 🚀 words",
]


def indexed(text: str) -> list[str]:
    joined = indexed_words(text)
    return joined.split(" ") if joined else []


@pytest.mark.parametrize("text", TEXTS)
def test_indexed_words_are_the_distinct_folded_words(text: str) -> None:
    assert indexed(text) == words(text)


def test_indexed_words_agree_with_the_reference_on_random_ascii() -> None:
    rng = random.Random(7)
    alphabet = string.printable + "\x00\x01\x7f"
    for _ in range(300):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 200)))
        assert indexed(text) == words(text)

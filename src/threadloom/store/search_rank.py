"""Full-text search ranking shared by every backend.

Words are compared case- and accent-insensitively (like FTS5's ``unicode61 remove_diacritics``);
a message matches when it contains any query word. A thread ranks by the number of distinct
query words it contains, then by how often they occur; its best message gives the snippet.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from typing import TypeVar

from threadloom.protocol.texts import SearchText

K = TypeVar("K", bound=Hashable)
Match = tuple[float, SearchText, tuple[int, int]]
"""A thread's match: (score, best message, span of its first match)."""

SNIPPET_WIDTH = 100
WORD = re.compile(r"[^\W_]+")


_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
"""The combining diacritical-mark blocks (what FTS5's ``remove_diacritics`` strips)."""


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text (like FTS5 ``unicode61 remove_diacritics``)."""
    return _DIACRITICS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def terms_pattern(terms: list[str], flags: int = 0) -> re.Pattern[str]:
    """Whole-word occurrences of any of ``terms``."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", flags)


def search_terms(query: str) -> list[str]:
    """The distinct folded words of a query, in order."""
    return list(dict.fromkeys(fold(word) for word in WORD.findall(query)))


def _count_terms(
    text: str, folded_terms: re.Pattern[str], original_terms: re.Pattern[str]
) -> tuple[Counter[str], tuple[int, int] | None]:
    """Occurrences of each wanted (folded) word in ``text``, and the span of the first one."""
    folded = text.lower() if text.isascii() else fold(text)
    found = folded_terms.findall(folded)
    if not found:
        return Counter(), None
    # folding moves offsets: a non-ASCII text's first match is located in the original
    match = folded_terms.search(folded) if text.isascii() else original_terms.search(text)
    return Counter(found), (match.span() if match is not None else (0, 0))


def score_thread(texts: list[SearchText], terms: list[str]) -> Match | None:
    """(score, best message, span of its first match), or None when nothing matches.

    Score = distinct terms matched + occurrences / (occurrences + 1): more terms always win,
    then more occurrences. The best message ranks the same way; the first one wins ties.
    """
    folded_terms = terms_pattern(terms)
    original_terms = terms_pattern(terms, re.IGNORECASE)
    matched: set[str] = set()
    total = 0
    best: tuple[int, int, SearchText, tuple[int, int]] | None = None
    for text in texts:
        counts, first = _count_terms(text.text, folded_terms, original_terms)
        if first is None:
            continue
        occurrences = sum(counts.values())
        matched.update(counts)
        total += occurrences
        if best is None or (len(counts), occurrences) > (best[0], best[1]):
            best = (len(counts), occurrences, text, first)
    if best is None:
        return None
    return len(matched) + total / (total + 1), best[2], best[3]


def make_snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About ``width`` characters of ``text`` around ``[start, end)``, ``…`` where cut."""
    if len(text) <= width:
        return " ".join(text.split())
    left = max(0, start - max(0, width - (end - start)) // 2)
    right = min(len(text), left + width)
    left = max(0, right - width)
    body = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


def rank_threads(
    messages: Iterable[tuple[K, SearchText, tuple[int, str]]], terms: list[str]
) -> list[tuple[Match, K]]:
    """The threads that match, best first (score, then last update, then thread id), from
    their messages in order as ``(thread key, message, (updated ms, thread id))``."""
    by_thread: dict[K, list[SearchText]] = defaultdict(list)
    order: dict[K, tuple[int, str]] = {}
    for key, text, recency in messages:
        by_thread[key].append(text)
        order[key] = recency
    scored: list[tuple[Match, K]] = []
    for key, texts in by_thread.items():
        found = score_thread(texts, terms)
        if found is not None:
            scored.append((found, key))
    scored.sort(key=lambda hit: (hit[0][0], *order[hit[1]]), reverse=True)
    return scored

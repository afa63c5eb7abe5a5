"""Full-text search ranking shared by every backend.

Words are compared case- and accent-insensitively (like FTS5's ``unicode61 remove_diacritics``);
a message matches when it contains any query word. A thread ranks by the number of distinct
query words it contains, then by how often they occur; its best message gives the snippet.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from threadloom.protocol.texts import SearchText

SNIPPET_WIDTH = 100
WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a word (like FTS5 ``unicode61 remove_diacritics``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_terms(query: str) -> list[str]:
    """The distinct folded words of a query, in order."""
    return list(dict.fromkeys(fold(word) for word in WORD.findall(query)))


def score_thread(
    texts: list[SearchText], terms: list[str]
) -> tuple[float, SearchText, tuple[int, int]] | None:
    """(score, best message, span of its first match), or None when nothing matches.

    Score = distinct terms matched + occurrences / (occurrences + 1): more terms always win,
    then more occurrences. The best message ranks the same way; the first one wins ties.
    """
    wanted = set(terms)
    matched: set[str] = set()
    total = 0
    best: tuple[int, int, SearchText, tuple[int, int]] | None = None
    for text in texts:
        counts: Counter[str] = Counter()
        first: tuple[int, int] | None = None
        for match in WORD.finditer(text.text):
            word = fold(match.group())
            if word in wanted:
                counts[word] += 1
                if first is None:
                    first = match.span()
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

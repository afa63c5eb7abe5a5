"""``thread/read`` without turns (spec 4.7, 3, and its rows of 1.3, 1.4, 1.5): threadloom's
app server answers every read exactly as Codex 0.169.0 does.

The home is the varied home (``corpus_home``, keeping the files only Codex lists: they are
unreadable, good error material) plus four more unreadable rollouts. One script reads a
thread of every tag and every source form, each paginated thread Codex wrote, every
unreadable file (``-32603``), an unknown id, every accepted id spelling, every invalid id of
spec 1.4 (prefix ``invalid thread id``) and every malformed parameter. Turns
(``includeTurns: true``) are compared elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import SOURCE_FORMS, TAGS, CompatHome
from threadloom.testing.differential import (
    INVALID_THREAD_IDS,
    DifferentialResult,
    id_spellings,
)

from ..compat.unreadable import UNREADABLE_ROLLOUTS
from .conftest import OK, Corpus, Differential, Expect, check_exchange, corpus_home, invalid

pytestmark = pytest.mark.compat

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"
EXTRA_UNREADABLE = UNREADABLE_ROLLOUTS
UNREADABLE_TAGS = ("missing_meta", "foreign_history_mode", "unknown_source_object")
READ_FAILED = Expect(-32603, "failed to read thread: thread-store internal error: ", prefix=True)
PAGINATED = ("conversation", "shell_only", "injected", "fork")


@dataclass(frozen=True, slots=True)
class Picks:
    """Thread ids the script reads (placeholders when the home is not known yet)."""

    typical: str
    by_tag: dict[str, str]
    by_source: list[str]
    paginated: dict[str, str]


def dummy_picks() -> Picks:
    return Picks(
        typical=UNKNOWN,
        by_tag=dict.fromkeys(TAGS, UNKNOWN),
        by_source=[UNKNOWN] * len(SOURCE_FORMS),
        paginated=dict.fromkeys(PAGINATED, UNKNOWN),
    )


def picks_of(varied: CompatHome) -> Picks:
    threads = varied.manifest.threads
    by_tag = {tag: next(r.id for r in threads if tag in r.tags) for tag in TAGS}
    by_source = [
        next(r.id for r in threads if r.readable and r.source == form) for form in SOURCE_FORMS
    ]
    paginated = {name: getattr(varied.paginated, name) for name in PAGINATED}
    return Picks(varied.manifest.typical_thread, by_tag, by_source, paginated)


def read(c: Corpus, label: str, params: Any, expect: Expect | None) -> None:
    if params is ...:
        c.request(label, "thread/read", expect=expect)
    else:
        c.request(label, "thread/read", params, expect)


def build(p: Picks) -> Corpus:
    c = Corpus().initialize()
    read(c, "typical thread", {"threadId": p.typical}, OK)
    read(c, "includeTurns false", {"threadId": p.typical, "includeTurns": False}, OK)
    read(c, "unknown members", {"threadId": p.typical, "bogus": [1]}, OK)
    for tag in TAGS:
        expect = READ_FAILED if tag in UNREADABLE_TAGS else OK
        read(c, f"tag {tag}", {"threadId": p.by_tag[tag]}, expect)
    for i, thread_id in enumerate(p.by_source):
        read(c, f"source {json.dumps(SOURCE_FORMS[i])}", {"threadId": thread_id}, OK)
    for name, thread_id in p.paginated.items():
        read(c, f"paginated {name}", {"threadId": thread_id}, OK)
    for label, (thread_id, _) in EXTRA_UNREADABLE.items():
        read(c, f"unreadable: {label}", {"threadId": thread_id}, READ_FAILED)
    read(c, "unknown id", {"threadId": UNKNOWN}, invalid(f"thread not loaded: {UNKNOWN}"))
    for label, spelled in id_spellings(p.typical):
        read(c, f"spelling: {label}", {"threadId": spelled}, OK)
    for label, raw, text in INVALID_THREAD_IDS:
        read(c, f"invalid id: {label}", {"threadId": raw}, invalid(f"invalid thread id: {text}"))
    struct = "expected struct ThreadReadParams"
    cases: list[tuple[str, Any, Expect]] = [
        ("params missing", ..., invalid("Invalid request: missing field `params`")),
        ("params null", None, invalid("Invalid request: missing field `params`")),
        ("params empty", {}, invalid("Invalid request: missing field `threadId`")),
        ("params integer", 5, invalid(f"Invalid request: invalid type: integer `5`, {struct}")),
        ("params string", "x", invalid(f'Invalid request: invalid type: string "x", {struct}')),
        (
            "threadId integer",
            {"threadId": 5},
            invalid("Invalid request: invalid type: integer `5`, expected a string"),
        ),
        (
            "threadId null",
            {"threadId": None},
            invalid("Invalid request: invalid type: null, expected a string"),
        ),
        (
            "threadId object",
            {"threadId": {}},
            invalid("Invalid request: invalid type: map, expected a string"),
        ),
        (
            "includeTurns string",
            {"threadId": p.typical, "includeTurns": "yes"},
            invalid('Invalid request: invalid type: string "yes", expected a boolean'),
        ),
        (
            "includeTurns null",  # a plain bool in Codex (serde default), not an Option
            {"threadId": p.typical, "includeTurns": None},
            invalid("Invalid request: invalid type: null, expected a boolean"),
        ),
        (
            "includeTurns integer",
            {"threadId": p.typical, "includeTurns": 1},
            invalid("Invalid request: invalid type: integer `1`, expected a boolean"),
        ),
        (
            "bad includeTurns before missing threadId",
            {"includeTurns": "yes"},
            invalid('Invalid request: invalid type: string "yes", expected a boolean'),
        ),
        (
            "bad includeTurns and bad id",
            {"threadId": "bad", "includeTurns": 1},
            invalid("Invalid request: invalid type: integer `1`, expected a boolean"),
        ),
    ]
    for label, params, expect in cases:
        read(c, label, params, expect)
    return c


LABELS = build(dummy_picks()).labels


def home(varied: CompatHome, folder: Path) -> Path:
    path = corpus_home(varied, folder / "home", listable_only=False)
    day = path / "sessions" / "2025" / "01" / "03"
    day.mkdir(parents=True, exist_ok=True)
    for n, (thread_id, data) in enumerate(EXTRA_UNREADABLE.values()):
        (day / f"rollout-2025-01-03T12-00-0{n}-{thread_id}.jsonl").write_bytes(data)
    return path


@pytest.fixture(scope="module")
def run(differential: Differential, varied_home: CompatHome) -> tuple[DifferentialResult, Corpus]:
    corpus = build(picks_of(varied_home))
    assert corpus.labels == LABELS
    result = differential.run("reading", lambda folder: (home(varied_home, folder), corpus.script))
    return result, corpus


@pytest.mark.parametrize("label", LABELS)
def test_every_read_gets_the_answer_codex_gives(
    run: tuple[DifferentialResult, Corpus], label: str
) -> None:
    result, corpus = run
    check_exchange(result, label, corpus.expect.get(label))


def test_reads_return_stored_threads_and_change_no_file(
    run: tuple[DifferentialResult, Corpus], varied_home: CompatHome
) -> None:
    result, _ = run
    thread = result.reply("typical thread")["result"]["thread"]
    assert thread["id"] == varied_home.manifest.typical_thread
    assert thread["status"] == {"type": "notLoaded"}
    assert thread["path"].startswith("$CODEX_HOME/sessions/")
    assert thread["turns"] == []
    assert result.reference.files == result.candidate.files == {}

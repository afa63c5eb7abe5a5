"""``thread/list`` answered from Codex's database alone, and ``excludedThreadIds`` (spec 5):
threadloom's app server answers every request exactly as Codex 0.169.0 does.

The home is the listing home (``corpus_home`` without the paginated threads Codex wrote). The
script lists three filters in full, then sends database-only listings (``useStateDbOnly``,
``sectionId``, section-ordered cursors) and exclusions, whose ids each side takes from its
own replies to the first three listings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from threadloom.testing import CompatHome
from threadloom.testing.differential import DifferentialResult, Replies

from .conftest import (
    OK,
    Corpus,
    Differential,
    Expect,
    check_exchange,
    invalid,
    run_on_varied_home,
)
from .test_differential_listing import CWD, DB_PATH, follow

pytestmark = pytest.mark.compat


@dataclass(frozen=True, slots=True)
class Picks:
    """A listed thread's id, and the title of a thread whose first message is an image (its
    listed name, not its preview)."""

    thread_id: str
    image_title: str


DUMMY = Picks("00000000-0000-4000-8000-000000000001", "title")


def picks_of(varied: CompatHome) -> Picks:
    listed = [r for r in varied.manifest.threads if r.listable and not r.archived]
    images = [r for r in varied.manifest.tagged("image_only") if r.listable and not r.archived]
    return Picks(listed[0].id, next(r.name for r in images if r.name))


BASE: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {"limit": 100}),
    ("every kind", {**DB_PATH, "limit": 100}),
    ("cwd", {"cwd": CWD, "limit": 100}),
]


def derived(label: str, make: Callable[[list[str]], dict[str, Any]]) -> Callable[[Replies], Any]:
    """Params made from the ids ``label`` listed (on each side, its own reply)."""

    def build(replies: Replies) -> Any:
        return make([t["id"] for t in replies[label]["result"]["data"]])

    return build


def continued(label: str, params: Callable[[Replies], Any]) -> Callable[[Replies], Any]:
    """``params`` continuing from the ``nextCursor`` of ``label``."""

    def build(replies: Replies) -> Any:
        return {**params(replies), "cursor": replies[label]["result"]["nextCursor"]}

    return build


UNLISTED_ID = "00000000-0000-4000-8000-00000000ffff"
EXCLUDED_INVALID = "invalid excluded thread id: "
SPELLINGS: list[tuple[str, Callable[[str], str]]] = [
    ("capitals", str.upper),
    ("braces", lambda i: "{" + i + "}"),
    ("urn", lambda i: "urn:uuid:" + i),
    ("simple", lambda i: i.replace("-", "")),
]


def database_only(c: Corpus, p: Picks) -> None:
    """``useStateDbOnly`` and ``sectionId``: Codex's database alone answers (millisecond
    order whatever the filters; a search on previews and titles, not the index's names)."""
    cases: list[tuple[str, dict[str, Any]]] = [
        ("defaults", {"limit": 45}),
        ("cwd", {"cwd": CWD, "limit": 100}),
        ("cwd, ascending", {"cwd": CWD, "sortDirection": "asc", "limit": 100}),
        ("a source filter", {"sourceKinds": ["cli", "exec"], "modelProviders": []}),
        ("archived", {"archived": True, **DB_PATH}),
        ("search a title", {"searchTerm": p.image_title, **DB_PATH}),
        ("search image previews", {"searchTerm": "[Image]", **DB_PATH}),
        ("search names", {"searchTerm": "name", **DB_PATH}),
        ("empty search", {"searchTerm": "", "limit": 5}),
        ("recency", {"sortKey": "recency_at", "limit": 5}),
        ("empty cwd list", {"cwd": []}),
    ]
    for label, params in cases:
        c.request(f"state db only: {label}", "thread/list", {"useStateDbOnly": True, **params}, OK)
    c.request(
        "state db only: page 2",
        "thread/list",
        follow("state db only: defaults", "nextCursor", {"useStateDbOnly": True}),
        OK,
    )
    c.request(
        "state db only: back from page 2",
        "thread/list",
        follow(
            "state db only: page 2",
            "backwardsCursor",
            {"useStateDbOnly": True, "sortDirection": "asc"},
        ),
        OK,
    )
    c.request(
        "sectionId null: a source filter",
        "thread/list",
        {"sectionId": None, "sourceKinds": ["cli", "exec"]},
        OK,
    )
    c.request(
        "sectionId null and useStateDbOnly false",
        "thread/list",
        {"sectionId": None, "useStateDbOnly": False, "cwd": CWD},
        OK,
    )
    section = {"sortKey": "section_position", "sectionId": "s"}
    tid = p.thread_id
    for label, cursor, valid in [
        ("position and id", f"123|{tid}", True),
        ("signed position and capital id", f"+5|{tid.upper()}", True),
        ("negative position", f"-5|{tid}", True),
        ("largest position", f"8210266876799999|{tid}", True),
        ("position too large", f"8210266876800000|{tid}", False),
        ("smallest position", f"-8334601228800000|{tid}", True),
        ("position too small", f"-8334601228800001|{tid}", False),
        ("a time", f"2025-01-01T00:00:00Z|{tid}", False),
        ("no id", "123", False),
        ("bad id", "123|x", False),
        ("spaced", f" 5|{tid}", False),
    ]:
        expect = OK if valid else invalid(f"invalid cursor: {cursor}")
        c.request(f"section cursor: {label}", "thread/list", {**section, "cursor": cursor}, expect)


def excluding(
    label: str, params: dict[str, Any], pick: Callable[[list[str]], list[str]]
) -> Callable[[Replies], Any]:
    """``params`` excluding the ids ``pick`` takes from what ``label`` listed."""
    return derived(label, lambda listed: {**params, "excludedThreadIds": pick(listed)})


def first_spelled(spell: Callable[[str], str]) -> Callable[[list[str]], list[str]]:
    return lambda listed: [spell(listed[0])]


def exclusions(c: Corpus) -> None:
    """``excludedThreadIds``: left out before the limit, every spelling of an id; the next
    cursor is still there when only excluded threads follow."""
    defaults, every, cwd = "list: defaults", "list: every kind", "list: cwd"
    inside_a_page = excluding(every, {**DB_PATH, "limit": 5}, lambda i: [i[1], i[6]])
    cases: list[tuple[str, Callable[[Replies], Any]]] = [
        ("the first two of a page", excluding(defaults, {"limit": 5}, lambda i: i[:2])),
        ("inside a page (database)", inside_a_page),
        (
            "only excluded threads follow",
            derived(cwd, lambda i: {"cwd": CWD, "limit": len(i) - 1, "excludedThreadIds": i[-1:]}),
        ),
        (
            "the first of a short listing",
            derived(cwd, lambda i: {"cwd": CWD, "limit": len(i) - 1, "excludedThreadIds": i[:1]}),
        ),
        ("every thread of a listing", excluding(cwd, {"cwd": CWD}, lambda i: i)),
        (
            "with useStateDbOnly",
            excluding(cwd, {"cwd": CWD, "useStateDbOnly": True, "limit": 3}, lambda i: i[1:3]),
        ),
        ("an unlisted id", excluding(defaults, {"limit": 2}, lambda _: [UNLISTED_ID])),
        ("100 entries", excluding(defaults, {"limit": 3}, lambda i: i[:1] * 100)),
        *[
            (f"spelled in {label}", excluding(defaults, {"limit": 3}, first_spelled(spell)))
            for label, spell in SPELLINGS
        ],
        ("the next page", continued("exclude: inside a page (database)", inside_a_page)),
    ]
    for label, build_params in cases:
        c.request(f"exclude: {label}", "thread/list", build_params, OK)
    too_many = "excludedThreadIds accepts at most 100 entries"
    empty = EXCLUDED_INVALID + "invalid length: expected length 32 for simple format, found 0"
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("101 entries", {"excludedThreadIds": [UNLISTED_ID] * 101}, too_many),
        ("101 entries, one bad", {"excludedThreadIds": ["x"] + [UNLISTED_ID] * 100}, too_many),
        ("an empty id", {"excludedThreadIds": [""]}, empty),
        ("a bad id after a good one", {"excludedThreadIds": [UNLISTED_ID, "0000"]}, ""),
        ("before originators", {"originators": ["x"], "excludedThreadIds": ["x"]}, ""),
        ("before section sorting", {"sortKey": "section_position", "excludedThreadIds": ["x"]}, ""),
        ("before a bad cursor", {"cursor": "garbage", "excludedThreadIds": ["x"]}, ""),
    ]
    for label, params, message in refused:
        expect = Expect(-32602, message or EXCLUDED_INVALID, prefix=not message)
        c.request(f"exclude refused: {label}", "thread/list", params, expect)


def build(p: Picks) -> Corpus:
    c = Corpus().initialize()
    for label, params in BASE:
        c.request(f"list: {label}", "thread/list", params, OK)
    database_only(c, p)
    exclusions(c)
    return c


LABELS = build(DUMMY).labels


@pytest.fixture(scope="module")
def run(differential: Differential, varied_home: CompatHome) -> tuple[DifferentialResult, Corpus]:
    corpus = build(picks_of(varied_home))
    assert corpus.labels == LABELS
    return run_on_varied_home(differential, varied_home, "listing-scope", corpus), corpus


@pytest.mark.parametrize("label", LABELS)
def test_every_request_gets_the_answer_codex_gives(
    run: tuple[DifferentialResult, Corpus], label: str
) -> None:
    result, corpus = run
    check_exchange(result, label, corpus.expect.get(label))


def test_excluded_threads_are_left_out_before_the_limit_and_the_database_alone_answers(
    run: tuple[DifferentialResult, Corpus], varied_home: CompatHome
) -> None:
    result, _ = run

    def listed(label: str) -> list[str]:
        return [t["id"] for t in result.reply(label)["result"]["data"]]

    defaults, in_cwd = listed("list: defaults"), listed("list: cwd")
    only_excluded_follow = result.reply("exclude: only excluded threads follow")["result"]
    assert listed("exclude: the first two of a page") == defaults[2:7]
    assert listed("exclude: every thread of a listing") == []
    assert only_excluded_follow["data"] == result.reply("list: cwd")["result"]["data"][:-1]
    assert only_excluded_follow["nextCursor"] is not None
    assert all(listed(f"exclude: spelled in {label}") == defaults[1:4] for label, _ in SPELLINGS)
    assert sorted(listed("state db only: cwd")) == sorted(in_cwd)
    assert listed("state db only: cwd") != in_cwd  # milliseconds order ties of one second
    by_title = result.reply("state db only: search a title")["result"]["data"]
    assert [t["name"] for t in by_title] == [picks_of(varied_home).image_title]
    assert listed("state db only: search names") == []

"""History views (spec 4.7-4.9, 6, 7): ``thread/read {includeTurns:true}``, ``thread/turns/list``
and ``thread/items/list`` answer exactly as Codex 0.169.0 does, field for field.

The home (``history_corpus``) holds the worked examples E1-E7, every turn rule case (E8's rows
among them), generated legacy threads of every kind, a 130-turn legacy thread, and paginated
threads Codex wrote itself (a conversation, and a fork of it with turns of its own). One
script, grouped by thread, reads every thread whole and pages through it: both directions,
every ``itemsView``, page sizes (default 25, at most 100, ``0`` acting as 1), ``nextCursor``
followed to the end and the last ``backwardsCursor`` followed back. Then malformed cursors and
params, bad and unknown ids, loaded threads, and ``thread/items/list`` on paginated threads
(``turnId``, item anchors, directions, ``deferOutput``). Groups are compared one by one.

Deliberate differences (README "Compatibility with Codex"), asserted as threadloom's rules:

* ``thread/items/list`` on a legacy thread: Codex answers ``-32601 "thread/items/list is not
  supported yet"``; threadloom lists the items of ``thread/read``'s turns in that order, in
  the shape of Codex's paginated answer, keyed by rank (1 = the thread's first item).
  ``test_legacy_items_follow_threadloom_s_rule`` checks each such answer against that rule.
* Paginated threads in a home without Codex's ``thread_history_1.sqlite``: Codex shows no
  turns and no items; threadloom reads the rollouts alone. A second run on such a copy must
  give, from threadloom, Codex's answers of the first run (where Codex has its projection).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing.differential import (
    INVALID_THREAD_IDS,
    DifferentialResult,
    Replies,
    id_spellings,
    json_diff,
)

from .conftest import OK, Corpus, Differential, Expect, check_exchange, invalid
from .history_corpus import (
    UNREADABLE_TAGS,
    HistoryPicks,
    dummy_picks,
    legacy_names,
    paginated_names,
    shared_home,
    without_projection,
)

pytestmark = pytest.mark.compat

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"
EXPERIMENTAL = {"experimentalApi": True}
TURNS, ITEMS, READ = "thread/turns/list", "thread/items/list", "thread/read"
NOT_SUPPORTED = Expect(-32601, "thread/items/list is not supported yet")
LIST_TURNS_UNSUPPORTED = Expect(-32601, "list_turns is not supported yet")
ANCHOR_GONE = invalid("invalid cursor: anchor turn is no longer present")
OUTSIDE_LINEAGE = invalid("invalid cursor: position outside thread lineage")
TURN_REQUIRED = Expect(-32602, "turnId is required when cursor is an item anchor")
NOT_IN_SCOPE = Expect(
    -32602, "cursor.itemId does not identify an item in the requested history scope"
)
READ_FAILED = Expect(-32603, "failed to read thread: ", prefix=True)
LEGACY_ITEM_THREADS = ("E1", "E4", "E6", "long", "generated plain 0", "duplicate_turn_ids")
"""Legacy threads whose items are listed (threadloom's rule, module docstring)."""
SMALL_WALKS = ("duplicate_turn_ids", "superseded_turn", "rollback_two_renumbers", "E3", "E4")
"""Legacy threads also paged one turn at a time, newest first."""
CODEX_THREADS = ("codex conversation", "codex fork")
METADATA_GAPS: dict[str, tuple[str, ...]] = {
    **{name: ("model",) for name in paginated_names() if name not in CODEX_THREADS},
}
"""Thread metadata threadloom's ``thread/read`` still gets wrong, outside this module's subject
(the turns): Codex 0.169.0 takes ``model`` from the latest ``thread_settings_applied`` line
(the hand-made paginated cases have one, written when Codex resumed them to project them).
Each listed field must still differ (remove the entry when it is fixed); all else is compared."""


class HistoryCorpus(Corpus):
    """A corpus that knows which steps follow threadloom's rule instead of Codex's."""

    def __init__(self, *, experimental: bool = True) -> None:
        super().__init__()
        self.initialize(capabilities=EXPERIMENTAL if experimental else None)
        self.rule: set[str] = set()
        """Legacy ``thread/items/list`` steps (threadloom's rule)."""
        self.unchecked: set[str] = set()
        """Steps only used to set something up (e.g. ``thread/start``, compared elsewhere)."""
        self.replies_only: set[str] = set()
        """Steps whose notifications are not compared (Codex sends a loaded thread's late
        ``thread/goal/cleared`` at no fixed point; ``test_lifecycle_compat`` covers them)."""

    def groups(self) -> list[str]:
        return list(dict.fromkeys(group_of(label) for label in self.labels if ": " in label))


def group_of(label: str) -> str:
    return label.split(": ", 1)[0]


# --- replies ---------------------------------------------------------------------------------------
def result(replies: Replies, label: str) -> dict[str, Any]:
    value = (replies.get(label) or {}).get("result")
    return value if isinstance(value, dict) else {}


def read_turns(replies: Replies, label: str) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = result(replies, label).get("thread", {}).get("turns", [])
    return turns


def with_cursor(params: dict[str, Any], cursor: Any) -> dict[str, Any]:
    return params if cursor is None else {**params, "cursor": cursor}


def after(label: str, params: dict[str, Any], key: str = "nextCursor") -> Callable[..., Any]:
    """``params`` plus the cursor (``key``) step ``label`` answered (each side its own)."""
    return lambda replies: with_cursor(params, result(replies, label).get(key))


def edited(label: str, params: dict[str, Any], **changes: Any) -> Callable[..., Any]:
    """``params`` with step ``label``'s ``nextCursor`` changed (keyset members replaced)."""

    def build(replies: Replies) -> dict[str, Any]:
        text = result(replies, label).get("nextCursor")
        if not isinstance(text, str):
            return params
        return {**params, "cursor": json.dumps({**json.loads(text), **changes})}

    return build


def pages_of(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


# --- the script --------------------------------------------------------------------------------
def walk(c: Corpus, group: str, method: str, params: dict[str, Any], pages: int, name: str) -> None:
    """``pages`` pages following ``nextCursor`` (past the end: the first page again), then the
    last page's ``backwardsCursor`` followed in the other direction."""
    labels = [f"{group}: {name} page 1"]
    c.request(labels[0], method, params, OK)
    for n in range(2, pages + 1):
        labels.append(f"{group}: {name} page {n}")
        c.request(labels[-1], method, after(labels[-2], params), OK)
    desc = params.get("sortDirection", "desc" if method == TURNS else "asc") == "desc"
    back = {**params, "sortDirection": "asc" if desc else "desc"}
    c.request(f"{group}: {name} back", method, after(labels[-1], back, "backwardsCursor"), OK)


def legacy_steps(c: HistoryCorpus, name: str, thread_id: str, turns: int) -> None:
    base = {"threadId": thread_id}
    c.request(f"{name}: read", READ, {**base, "includeTurns": True}, OK)
    c.request(f"{name}: defaults", TURNS, base, OK)
    size = 2 if turns < 40 else 25
    full = {**base, "sortDirection": "asc", "itemsView": "full", "limit": size}
    walk(c, name, TURNS, full, pages_of(turns, size), "asc full")
    if name in SMALL_WALKS:
        walk(c, name, TURNS, {**base, "limit": 1}, turns, "desc summary by one")
        c.request(f"{name}: not loaded view", TURNS, {**base, "itemsView": "notLoaded"}, OK)
    if name in LEGACY_ITEM_THREADS:
        item_steps(c, name, base, expect=NOT_SUPPORTED)


def item_steps(c: HistoryCorpus, name: str, base: dict[str, Any], *, expect: Expect) -> None:
    """Every item, paged by two and back, newest first, one turn's, around an anchor."""
    before = set(c.labels)
    read = f"{name}: read"
    c.request(f"{name}: items", ITEMS, {**base, "limit": 100}, expect)
    by_two = {**base, "limit": 2}
    c.request(f"{name}: items by two page 1", ITEMS, by_two, expect)
    for n in (2, 3):
        c.request(
            f"{name}: items by two page {n}",
            ITEMS,
            after(f"{name}: items by two page {n - 1}", by_two),
            expect,
        )
    back = {**base, "limit": 3, "sortDirection": "desc"}
    c.request(
        f"{name}: items back",
        ITEMS,
        after(f"{name}: items by two page 3", back, "backwardsCursor"),
        expect,
    )
    c.request(f"{name}: items newest", ITEMS, {**base, "sortDirection": "desc", "limit": 3}, expect)
    c.request(f"{name}: items limit 0", ITEMS, {**base, "limit": 0}, expect)

    def in_turn(replies: Replies, anchor: int | None = None, **more: Any) -> dict[str, Any]:
        turns = [t for t in read_turns(replies, read) if t["items"]]
        if not turns:
            return {**base, "turnId": "none", **more}
        turn = turns[-1] if len(turns) < 2 else turns[-2]
        params = {**base, "turnId": turn["id"], **more}
        if anchor is not None:
            item = turn["items"][min(anchor, len(turn["items"]) - 1)]
            params["cursor"] = {"type": "item", "itemId": item["id"]}
        return params

    c.request(f"{name}: items of a turn", ITEMS, in_turn, expect)
    c.request(f"{name}: items after an anchor", ITEMS, lambda r: in_turn(r, 0), expect)
    c.request(
        f"{name}: items before an anchor",
        ITEMS,
        lambda r: in_turn(r, 1, sortDirection="desc"),
        expect,
    )
    unknown = {"type": "item", "itemId": "no-such-item"}
    c.request(
        f"{name}: items unknown anchor",
        ITEMS,
        lambda r: in_turn(r, cursor=unknown),
        NOT_IN_SCOPE if expect is OK else expect,
    )
    c.request(
        f"{name}: items of an unknown turn", ITEMS, {**base, "turnId": "no-such-turn"}, expect
    )
    if expect is NOT_SUPPORTED:
        c.rule.update(set(c.labels) - before)


def paginated_steps(c: HistoryCorpus, name: str, thread_id: str, turns: int) -> None:
    base = {"threadId": thread_id}
    c.request(f"{name}: read", READ, {**base, "includeTurns": True}, OK)
    c.request(f"{name}: defaults", TURNS, base, OK)
    full = {**base, "sortDirection": "asc", "itemsView": "full", "limit": 2}
    walk(c, name, TURNS, full, pages_of(turns, 2), "asc full")
    if name in CODEX_THREADS:
        walk(c, name, TURNS, {**base, "limit": 1}, turns, "desc summary by one")
        c.request(f"{name}: not loaded view", TURNS, {**base, "itemsView": "notLoaded"}, OK)
        c.request(f"{name}: limit 0", TURNS, {**base, "limit": 0, "itemsView": "full"}, OK)
    item_steps(c, name, base, expect=OK)
    if name in CODEX_THREADS:
        defer_steps(c, name, base)


def defer_steps(c: HistoryCorpus, name: str, base: dict[str, Any]) -> None:
    """``deferOutput`` on a shell turn (one turn only) and on the whole thread."""

    def shell_turn(replies: Replies, **more: Any) -> dict[str, Any]:
        turns = read_turns(replies, f"{name}: read")
        shell = [t for t in turns if any(i["type"] == "commandExecution" for i in t["items"])]
        return {**base, "turnId": shell[0]["id"] if shell else "none", **more}

    commands = {"commandExecution": True}
    c.request(
        f"{name}: deferred commands", ITEMS, lambda r: shell_turn(r, deferOutput=commands), OK
    )
    c.request(
        f"{name}: deferred mcp",
        ITEMS,
        lambda r: shell_turn(r, deferOutput={"mcpToolCall": True}),
        OK,
    )
    c.request(f"{name}: deferred nothing", ITEMS, lambda r: shell_turn(r, deferOutput={}), OK)
    c.request(f"{name}: deferred without a turn", ITEMS, {**base, "deferOutput": commands}, OK)


def long_steps(c: HistoryCorpus, thread_id: str) -> None:
    """Page sizes and views on the 130-turn thread, newest first to the end and back."""
    base = {"threadId": thread_id}
    for limit in (0, 1, 24, 25, 100, 101, 1000, 4294967295, None):
        for view in ("notLoaded", "summary", "full"):
            params = {**base, "limit": limit, "itemsView": view}
            c.request(f"long: limit {limit} {view}", TURNS, params, OK)
    walk(c, "long", TURNS, base, pages_of(130, 25), "desc summary")
    first = {**base, "sortDirection": "asc", "itemsView": "notLoaded"}
    c.request(
        "long: back from the first page",
        TURNS,
        after("long: desc summary page 1", first, "backwardsCursor"),
        OK,
    )
    walk(c, "long", TURNS, {**base, "limit": 100, "sortDirection": "asc"}, 2, "asc by 100")


def legacy_cursor_steps(c: HistoryCorpus, thread_id: str, empty_id: str) -> None:
    base = {"threadId": thread_id, "itemsView": "notLoaded", "limit": 3}
    bad = [
        "junk",
        "",
        "{}",
        "[]",
        "null",
        "5",
        '{"turnId":5,"includeAnchor":false}',
        '{"turnId":"x"}',
        '{"includeAnchor":true}',
        '{"turnId":"x","includeAnchor":"yes"}',
        '{"turnId":null,"includeAnchor":false}',
    ]
    for n, cursor in enumerate(bad):
        c.request(
            f"legacy cursors: bad {n}",
            TURNS,
            {**base, "cursor": cursor},
            invalid(f"invalid cursor: {cursor}"),
        )
    gone = '{"turnId":"no-such-turn","includeAnchor":false}'
    c.request("legacy cursors: unknown turn", TURNS, {**base, "cursor": gone}, ANCHOR_GONE)
    c.request(
        "legacy cursors: unknown turn, empty thread",
        TURNS,
        {"threadId": empty_id, "cursor": gone},
        OK,
    )
    c.request(
        "legacy cursors: junk, empty thread", TURNS, {"threadId": empty_id, "cursor": "junk"}, OK
    )
    c.request("legacy cursors: page", TURNS, base, OK)
    for desc in ("asc", "desc"):
        for include in (True, False):
            label = f"legacy cursors: {desc} include {include}"
            c.request(
                label,
                TURNS,
                edited(
                    "legacy cursors: page", {**base, "sortDirection": desc}, includeAnchor=include
                ),
                OK,
            )
    c.request(
        "legacy cursors: extra member", TURNS, edited("legacy cursors: page", base, extra=[1]), OK
    )
    c.request(
        "legacy cursors: duplicate member",
        TURNS,
        lambda r: with_cursor(
            base, _duplicated(result(r, "legacy cursors: page").get("nextCursor"))
        ),
        None,
    )
    keyset = json.dumps(
        {
            "requestedThreadId": thread_id,
            "rolloutOrdinal": 5,
            "includeAnchor": False,
            "scope": {"kind": "turns"},
        }
    )
    c.request("legacy cursors: keyset cursor", TURNS, {**base, "cursor": keyset}, None)

    def implicit(replies: Replies) -> dict[str, Any]:
        ids = [t["id"] for t in read_turns(replies, "long: read") if t["id"].startswith("rollout-")]
        cursor = json.dumps({"turnId": ids[0] if ids else "rollout-1", "includeAnchor": True})
        return {**base, "cursor": cursor}

    c.request("legacy cursors: implicit turn id", TURNS, implicit, OK)


def _duplicated(cursor: Any) -> Any:
    if not isinstance(cursor, str):
        return cursor
    return cursor.replace('{"turnId":', '{"turnId":"shadowed","turnId":', 1)


def paginated_cursor_steps(c: HistoryCorpus, p: HistoryPicks) -> None:
    conversation, fork = p.paginated["codex conversation"], p.paginated["codex fork"]
    base = {"threadId": conversation, "itemsView": "notLoaded", "limit": 2}
    c.request("paginated cursors: page", TURNS, base, OK)
    c.request("paginated cursors: items page", ITEMS, {"threadId": conversation, "limit": 2}, OK)
    page = "paginated cursors: page"
    legacy = '{"turnId":"x","includeAnchor":false}'
    for n, cursor in enumerate(["junk", "", "{}", legacy]):
        c.request(
            f"paginated cursors: bad {n}",
            TURNS,
            {**base, "cursor": cursor},
            invalid(f"invalid cursor: {cursor}"),
        )
        c.request(
            f"paginated cursors: bad items {n}",
            ITEMS,
            {"threadId": conversation, "cursor": cursor},
            invalid(f"invalid cursor: {cursor}"),
        )
    changes: list[tuple[str, dict[str, Any], Expect | None]] = [
        ("other thread", {"requestedThreadId": fork}, None),
        ("thread upper case", {"requestedThreadId": conversation.upper()}, None),
        ("bad thread", {"requestedThreadId": "bad"}, None),
        ("items scope", {"scope": {"kind": "itemsByCreatedAtOrdinal"}}, None),
        ("update scope", {"scope": {"kind": "itemsByUpdatedAtOrdinal"}}, None),
        ("unknown scope", {"scope": {"kind": "bogus"}}, None),
        ("ordinal 0", {"rolloutOrdinal": 0}, None),
        ("ordinal 1", {"rolloutOrdinal": 1}, OK),
        ("ordinal huge", {"rolloutOrdinal": 10**9}, None),
        ("ordinal i64 max", {"rolloutOrdinal": 2**63 - 1}, None),
        ("ordinal above i64", {"rolloutOrdinal": 2**63}, None),
        ("ordinal u64 max", {"rolloutOrdinal": 2**64 - 1}, None),
        ("ordinal overflow", {"rolloutOrdinal": 2**64}, None),
        ("ordinal negative", {"rolloutOrdinal": -1}, None),
        ("ordinal string", {"rolloutOrdinal": "5"}, None),
        ("include anchor", {"includeAnchor": True}, OK),
        ("include anchor string", {"includeAnchor": "yes"}, None),
    ]
    for what, change, expect in changes:
        c.request(f"paginated cursors: {what}", TURNS, edited(page, base, **change), expect)
        for desc in ("asc", "desc"):
            items = {"threadId": conversation, "limit": 2, "sortDirection": desc}
            c.request(
                f"paginated cursors: items {what} {desc}",
                ITEMS,
                edited("paginated cursors: items page", items, **change),
                None,
            )
    c.request(
        "paginated cursors: items cursor on turns",
        TURNS,
        after("paginated cursors: items page", base),
        None,
    )
    c.request(
        "paginated cursors: turns cursor on items",
        ITEMS,
        after(page, {"threadId": conversation}),
        None,
    )
    fork_base = {"threadId": fork, "itemsView": "notLoaded"}
    c.request("paginated cursors: parent cursor on the fork", TURNS, after(page, fork_base), None)
    c.request(
        "paginated cursors: parent items cursor on the fork",
        ITEMS,
        after("paginated cursors: items page", {"threadId": fork}),
        None,
    )
    for ordinal in (1, 3, 30, 60, 200, 2**63):
        cursor = {
            "requestedThreadId": fork,
            "rolloutOrdinal": ordinal,
            "includeAnchor": False,
            "scope": {"kind": "turns"},
        }
        c.request(
            f"paginated cursors: fork ordinal {ordinal}",
            TURNS,
            {**fork_base, "cursor": json.dumps(cursor)},
            None,
        )
    c.request(
        "paginated cursors: anchor without a turn",
        ITEMS,
        {"threadId": conversation, "cursor": {"type": "item", "itemId": "x"}},
        TURN_REQUIRED,
    )


def id_steps(c: HistoryCorpus, p: HistoryPicks) -> None:
    legacy, paginated = p.legacy["E2"], p.paginated["codex conversation"]
    for label, raw, text in INVALID_THREAD_IDS:
        c.request(
            f"ids: turns {label}", TURNS, {"threadId": raw}, invalid(f"invalid thread id: {text}")
        )
        c.request(
            f"ids: items {label}", ITEMS, {"threadId": raw}, invalid(f"invalid thread id: {text}")
        )
    for label, spelled in id_spellings(legacy):
        c.request(f"ids: turns {label}", TURNS, {"threadId": spelled}, OK)
    for label, spelled in id_spellings(paginated):
        c.request(f"ids: items {label}", ITEMS, {"threadId": spelled, "limit": 2}, OK)
        c.request(f"ids: read {label}", READ, {"threadId": spelled, "includeTurns": True}, OK)
    c.request(
        "ids: turns unknown", TURNS, {"threadId": UNKNOWN}, invalid(f"thread not loaded: {UNKNOWN}")
    )
    c.request("ids: items unknown", ITEMS, {"threadId": UNKNOWN}, NOT_SUPPORTED)
    c.request(
        "ids: read unknown",
        READ,
        {"threadId": UNKNOWN, "includeTurns": True},
        invalid(f"thread not loaded: {UNKNOWN}"),
    )
    anchor = {"type": "item", "itemId": "x"}
    c.request(
        "ids: items anchor before the id",
        ITEMS,
        {"threadId": "bad", "cursor": anchor},
        TURN_REQUIRED,
    )
    for tag, thread_id in p.unreadable.items():
        c.request(f"ids: turns of unreadable {tag}", TURNS, {"threadId": thread_id}, None)
        c.request(
            f"ids: read turns of unreadable {tag}",
            READ,
            {"threadId": thread_id, "includeTurns": True},
            READ_FAILED,
        )


BAD_PARAMS: list[tuple[str, str, Any, Expect | None]] = [
    (method, f"{short} {what}", params, expect)
    for method, short in ((TURNS, "turns"), (ITEMS, "items"))
    for what, params, expect in [
        ("params missing", ..., invalid("Invalid request: missing field `params`")),
        ("params null", None, invalid("Invalid request: missing field `params`")),
        ("params empty", {}, invalid("Invalid request: missing field `threadId`")),
        ("params integer", 5, None),
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
            "limit negative",
            {"threadId": UNKNOWN, "limit": -1},
            invalid("Invalid request: invalid value: integer `-1`, expected u32"),
        ),
        ("limit above u32", {"threadId": UNKNOWN, "limit": 4294967296}, None),
        ("limit string", {"threadId": UNKNOWN, "limit": "5"}, None),
        ("limit float", {"threadId": UNKNOWN, "limit": 1.5}, None),
        (
            "sortDirection up",
            {"threadId": UNKNOWN, "sortDirection": "up"},
            invalid("Invalid request: unknown variant `up`, expected `asc` or `desc`"),
        ),
        ("sortDirection boolean", {"threadId": UNKNOWN, "sortDirection": True}, None),
        ("cursor integer", {"threadId": UNKNOWN, "cursor": 5}, None),
        ("cursor list", {"threadId": UNKNOWN, "cursor": []}, None),
        ("bad limit before missing threadId", {"limit": "x"}, None),
        ("unknown members", {"threadId": UNKNOWN, "bogus": [1]}, None),
        (
            "nulls",
            {"threadId": UNKNOWN, "cursor": None, "limit": None, "sortDirection": None},
            None,
        ),
    ]
] + [
    (
        TURNS,
        "turns itemsView bogus",
        {"threadId": UNKNOWN, "itemsView": "bogus"},
        invalid(
            "Invalid request: unknown variant `bogus`, expected one of `notLoaded`, `summary`, `full`"
        ),
    ),
    (TURNS, "turns itemsView integer", {"threadId": UNKNOWN, "itemsView": 5}, None),
    (TURNS, "turns itemsView null", {"threadId": UNKNOWN, "itemsView": None}, None),
    (
        ITEMS,
        "items turnId integer",
        {"threadId": UNKNOWN, "turnId": 5},
        invalid("Invalid request: invalid type: integer `5`, expected a string"),
    ),
    (ITEMS, "items anchor without itemId", {"threadId": UNKNOWN, "cursor": {"type": "item"}}, None),
    (
        ITEMS,
        "items anchor of another type",
        {"threadId": UNKNOWN, "cursor": {"type": "turn", "itemId": "x"}},
        None,
    ),
    (
        ITEMS,
        "items anchor itemId integer",
        {"threadId": UNKNOWN, "cursor": {"type": "item", "itemId": 5}},
        None,
    ),
    (
        ITEMS,
        "items anchor extra member",
        {"threadId": UNKNOWN, "turnId": "t", "cursor": {"type": "item", "itemId": "x", "more": 1}},
        None,
    ),
    (ITEMS, "items deferOutput boolean", {"threadId": UNKNOWN, "deferOutput": True}, None),
    (
        ITEMS,
        "items deferOutput member string",
        {"threadId": UNKNOWN, "deferOutput": {"commandExecution": "yes"}},
        None,
    ),
    (
        ITEMS,
        "items deferOutput member null",
        {"threadId": UNKNOWN, "deferOutput": {"mcpToolCall": None}},
        None,
    ),
    (ITEMS, "items deferOutput null", {"threadId": UNKNOWN, "deferOutput": None}, None),
]


def param_steps(c: HistoryCorpus) -> None:
    for method, label, params, expect in BAD_PARAMS:
        if params is ...:
            c.request(f"params: {label}", method, expect=expect)
        else:
            c.request(f"params: {label}", method, params, expect)


def loaded_steps(c: HistoryCorpus, p: HistoryPicks) -> None:
    """Threads loaded in the server: started (nothing written yet) and resumed."""

    def thread_of(label: str, **more: Any) -> Callable[[Replies], dict[str, Any]]:
        return lambda replies: {
            "threadId": result(replies, label).get("thread", {}).get("id", UNKNOWN),
            **more,
        }

    unwritten = Expect(-32600, "thread ", prefix=True)
    """``thread <id> is not materialized yet; <what> is unavailable before first user message``"""
    for mode in ("paginated", "legacy"):
        start = f"loaded: start {mode}"
        c.request(start, "thread/start", {"historyMode": mode, "cwd": "/proj"}, OK)
        c.script.probe(f"loaded: after start {mode}")
        c.unchecked.update({start, f"loaded: after start {mode}"})
        with_turns = LIST_TURNS_UNSUPPORTED if mode == "paginated" else unwritten
        c.request(f"loaded: turns of unwritten {mode}", TURNS, thread_of(start), unwritten)
        c.request(f"loaded: items of unwritten {mode}", ITEMS, thread_of(start), NOT_SUPPORTED)
        read = thread_of(start, includeTurns=True)
        c.request(f"loaded: read turns of unwritten {mode}", READ, read, with_turns)
    for name, thread_id in (
        ("legacy", p.legacy["E2"]),
        ("paginated", p.paginated["codex conversation"]),
    ):
        resume = f"loaded: resume {name}"
        c.request(resume, "thread/resume", {"threadId": thread_id, "excludeTurns": True}, OK)
        c.script.probe(f"loaded: after resume {name}")
        c.unchecked.update({resume, f"loaded: after resume {name}"})
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (f"loaded: turns of resumed {name}", TURNS, {"itemsView": "full"}),
            (f"loaded: read of resumed {name}", READ, {}),
            (f"loaded: read turns of resumed {name}", READ, {"includeTurns": True}),
            (f"loaded: items of resumed {name}", ITEMS, {}),
        ]
        for label, method, params in steps:
            expect = NOT_SUPPORTED if method == ITEMS and name == "legacy" else OK
            c.request(label, method, {"threadId": thread_id, **params}, expect)
            c.replies_only.add(label)
        c.rule.add(f"loaded: items of resumed legacy")


def build(p: HistoryPicks) -> HistoryCorpus:
    c = HistoryCorpus()
    paginated_part(c, p)
    for name in legacy_names():
        legacy_steps(c, name, p.legacy[name], p.turns[name])
    long_steps(c, p.legacy["long"])
    legacy_cursor_steps(c, p.legacy["long"], p.legacy["only_response_items"])
    paginated_cursor_steps(c, p)
    id_steps(c, p)
    param_steps(c)
    loaded_steps(c, p)
    return c


def paginated_part(c: HistoryCorpus, p: HistoryPicks) -> HistoryCorpus:
    for name in paginated_names():
        paginated_steps(c, name, p.paginated[name], p.turns[name])
    return c


def plain_client_script(p: HistoryPicks) -> HistoryCorpus:
    """``deferOutput`` members are experimental: a client without the capability."""
    c = HistoryCorpus(experimental=False)
    base = {"threadId": p.paginated["codex conversation"]}
    for what in ({"commandExecution": True}, {"mcpToolCall": False}, {}, {"other": 1}):
        c.request(
            f"plain client: deferOutput {json.dumps(what)}",
            ITEMS,
            {**base, "deferOutput": what},
            None,
        )
    c.request("plain client: items", ITEMS, base, OK)
    return c


DUMMY = dummy_picks()
GROUPS = build(DUMMY).groups()
PAGINATED_GROUPS = paginated_part(HistoryCorpus(), DUMMY).groups()


# --- runs ------------------------------------------------------------------------------------------
Run = tuple[DifferentialResult, HistoryCorpus]


@pytest.fixture(scope="module")
def home(differential: Differential, codex_bin: Path) -> tuple[Path, HistoryPicks]:
    return shared_home(differential.shared or differential.workdir, codex_bin)


@pytest.fixture(scope="module")
def run(differential: Differential, home: tuple[Path, HistoryPicks]) -> Run:
    path, picks = home
    corpus = build(picks)
    assert corpus.groups() == GROUPS
    return differential.run("history", lambda _: (path, corpus.script)), corpus


@pytest.fixture(scope="module")
def rollouts_alone(differential: Differential, home: tuple[Path, HistoryPicks]) -> Run:
    path, picks = home
    corpus = paginated_part(HistoryCorpus(), picks)
    copy = without_projection(path, path.parent / "history-home-without-projection")
    return differential.run("history-rollouts-alone", lambda _: (copy, corpus.script)), corpus


# --- tests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", GROUPS)
def test_every_history_request_gets_the_answer_codex_gives(run: Run, group: str) -> None:
    result, corpus = run
    labels = [label for label in corpus.labels if group_of(label) == group]
    assert labels
    for label in labels:
        if label in corpus.unchecked:
            assert "result" in result.reply(label, candidate=True), label
        elif label in corpus.rule:
            continue
        elif label in corpus.replies_only:
            expect = corpus.expect.get(label)
            if expect is not None:
                expect.check([result.reply(label)], result.reply(label))
            theirs, ours = result.reply(label), result.reply(label, candidate=True)
            assert not json_diff(theirs, ours, "codex", "threadloom"), label
        elif label == f"{group}: read" and group in METADATA_GAPS:
            theirs, ours = without_gaps(result.exchange(label), METADATA_GAPS[group])
            assert not json_diff(theirs, ours, "codex", "threadloom"), label
        else:
            check_exchange(result, label, corpus.expect.get(label))


def without_gaps(
    exchanges: tuple[list[dict[str, Any]], list[dict[str, Any]]], fields: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both exchanges without the ``fields`` of their thread (which must differ)."""
    out: list[list[dict[str, Any]]] = []
    threads = []
    for exchange in exchanges:
        copied = json.loads(json.dumps(exchange))
        thread = next(m["result"]["thread"] for m in copied if "thread" in m.get("result", {}))
        threads.append({f: thread.pop(f) for f in fields})
        out.append(copied)
    for field in fields:
        assert threads[0][field] != threads[1][field], f"{field} agrees now: drop the gap"
    return out[0], out[1]


def entries_of(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of ``turns`` in order, as ``thread/items/list`` entries."""
    return [
        {
            "turnId": turn["id"],
            "item": item,
            "startedAtMs": item["startedAtMs"],
            "completedAtMs": item["completedAtMs"],
        }
        for turn in turns
        for item in turn["items"]
    ]


def keyset(thread_id: str, rank: int, include: bool) -> str:
    cursor = {
        "requestedThreadId": thread_id,
        "rolloutOrdinal": rank,
        "includeAnchor": include,
        "scope": {"kind": "itemsByCreatedAtOrdinal"},
    }
    return json.dumps(cursor, separators=(",", ":"))


def rule_page(entries: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """threadloom's answer for a legacy thread: ``entries`` ranked from 1, filtered by turn,
    after (or before, newest first) the cursor's rank or the anchor item; 25 by default."""
    limit = params.get("limit")
    size = min(max(25 if limit is None else limit, 1), 100)
    desc = params.get("sortDirection") == "desc"
    ranked = list(enumerate(entries, start=1))
    if params.get("turnId") is not None:
        ranked = [(r, e) for r, e in ranked if e["turnId"] == params["turnId"]]
    cursor = params.get("cursor")
    if isinstance(cursor, dict):
        ids = [e["item"]["id"] for _, e in ranked]
        if cursor["itemId"] not in ids:
            return {"error": {"code": NOT_IN_SCOPE.code, "message": NOT_IN_SCOPE.message}}
        at = ids.index(cursor["itemId"])
        chosen = ranked[:at] if desc else ranked[at + 1 :]
    elif isinstance(cursor, str):
        value = json.loads(cursor)
        rank, include = value["rolloutOrdinal"], value["includeAnchor"]
        if desc:
            chosen = [(r, e) for r, e in ranked if r < rank or (include and r == rank)]
        else:
            chosen = [(r, e) for r, e in ranked if r > rank or (include and r == rank)]
    else:
        chosen = ranked
    page = chosen[-size:][::-1] if desc else chosen[:size]
    if not page:
        return {"result": {"data": [], "nextCursor": None, "backwardsCursor": None}}
    thread_id = params["threadId"]
    more = len(chosen) > size
    return {
        "result": {
            "data": [e for _, e in page],
            "nextCursor": keyset(thread_id, page[-1][0], False) if more else None,
            "backwardsCursor": keyset(thread_id, page[0][0], True),
        }
    }


def sent_params(corpus: HistoryCorpus, result: DifferentialResult, label: str) -> dict[str, Any]:
    """The params threadloom's side of the run sent for step ``label``."""
    replies = {
        other: result.reply(other, candidate=True)
        for other in corpus.labels
        if other != "<end>" and result.candidate.exchanges.get(other)
    }
    step = next(s for s in corpus.script.steps if s.label == label)
    params: dict[str, Any] = json.loads(step.line(replies))["params"]
    return params


@pytest.mark.parametrize("name", LEGACY_ITEM_THREADS)
def test_legacy_items_follow_threadloom_s_rule(run: Run, name: str) -> None:
    result, corpus = run
    entries = entries_of(result.reply(f"{name}: read")["result"]["thread"]["turns"])
    assert entries
    labels = [label for label in corpus.labels if label in corpus.rule and group_of(label) == name]
    assert len(labels) >= 10
    for label in labels:
        NOT_SUPPORTED.check(result.reference.exchanges[label], result.reply(label))
        reply = result.reply(label, candidate=True)
        expected = rule_page(entries, sent_params(corpus, result, label))
        assert {k: v for k, v in reply.items() if k != "id"} == expected, label

"""Edge steps of ``test_differential_history``: malformed cursors (legacy and keyset), bad and
unknown ids, malformed params, loaded threads; and ``build``, the whole script."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from threadloom.testing.differential import INVALID_THREAD_IDS, Replies, id_spellings

from .conftest import OK, Expect, invalid
from .history_corpus import HistoryPicks, legacy_names
from .history_script import (
    ANCHOR_GONE,
    ITEMS,
    LIST_TURNS_UNSUPPORTED,
    NOT_SUPPORTED,
    READ,
    READ_FAILED,
    TURN_REQUIRED,
    TURNS,
    UNKNOWN,
    HistoryCorpus,
    after,
    edited,
    legacy_steps,
    long_steps,
    paginated_part,
    read_turns,
    result,
    with_cursor,
)


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
        keyset: dict[str, Any] = {
            "requestedThreadId": fork,
            "rolloutOrdinal": ordinal,
            "includeAnchor": False,
            "scope": {"kind": "turns"},
        }
        c.request(
            f"paginated cursors: fork ordinal {ordinal}",
            TURNS,
            {**fork_base, "cursor": json.dumps(keyset)},
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
        c.request(f"ids: items of unreadable {tag}", ITEMS, {"threadId": thread_id}, NOT_SUPPORTED)
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
            "Invalid request: unknown variant `bogus`, expected one of "
            "`notLoaded`, `summary`, `full`"
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
        c.rule.add("loaded: items of resumed legacy")


def build(p: HistoryPicks) -> HistoryCorpus:
    c = HistoryCorpus()
    paginated_part(c, p)
    for name in legacy_names():
        legacy_steps(c, name, p.legacy[name], p.turns[name])
    long_steps(c, p.legacy["long"], p.turns["long"])
    legacy_cursor_steps(c, p.legacy["long"], p.legacy["only_response_items"])
    paginated_cursor_steps(c, p)
    id_steps(c, p)
    param_steps(c)
    loaded_steps(c, p)
    return c

"""The requests of ``test_differential_history``, grouped by thread: reads, walks through
pages in both directions and every view, and the items of each thread.

Steps are labelled ``<group>: <what>``; a group is a thread (or a theme such as ``params``) and
is compared as one test. Params may depend on earlier replies (cursors, ids), each side using
its own; a reply without the expected member yields a request without it (a valid request,
still compared), so one side's mistake never breaks the other's script.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from threadloom.testing.differential import Replies

from .conftest import OK, Corpus, Expect, invalid
from .history_corpus import HistoryPicks, paginated_names

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


# --- replies -------------------------------------------------------------------------------------
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


# --- the script ----------------------------------------------------------------------------------
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


def size_steps(c: HistoryCorpus, group: str, thread_id: str, method: str) -> None:
    """Every page size in every view (items: the sizes only)."""
    views = ("notLoaded", "summary", "full") if method == TURNS else (None,)
    for limit in (0, 1, 24, 25, 100, 101, 1000, 4294967295, None):
        for view in views:
            params: dict[str, Any] = {"threadId": thread_id, "limit": limit}
            if view is not None:
                params["itemsView"] = view
            what = "items size" if method == ITEMS else "limit"
            c.request(f"{group}: {what} {limit} {view or ''}".rstrip(), method, params, OK)


def paginated_long_steps(c: HistoryCorpus, thread_id: str, turns: int) -> None:
    """Page sizes of turns and items on the long paginated thread; walks by default pages."""
    size_steps(c, "paginated long", thread_id, TURNS)
    size_steps(c, "paginated long", thread_id, ITEMS)
    base = {"threadId": thread_id}
    walk(c, "paginated long", TURNS, base, pages_of(turns, 25), "desc summary")
    walk(c, "paginated long", ITEMS, base, pages_of(2 * turns, 25), "items by default pages")


def long_steps(c: HistoryCorpus, thread_id: str, turns: int) -> None:
    """Page sizes and views on the long thread, newest first to the end and back."""
    base = {"threadId": thread_id}
    size_steps(c, "long", thread_id, TURNS)
    walk(c, "long", TURNS, base, pages_of(turns, 25), "desc summary")
    first = {**base, "sortDirection": "asc", "itemsView": "notLoaded"}
    c.request(
        "long: back from the first page",
        TURNS,
        after("long: desc summary page 1", first, "backwardsCursor"),
        OK,
    )
    walk(c, "long", TURNS, {**base, "limit": 100, "sortDirection": "asc"}, 2, "asc by 100")


def paginated_part(c: HistoryCorpus, p: HistoryPicks) -> HistoryCorpus:
    for name in paginated_names():
        paginated_steps(c, name, p.paginated[name], p.turns[name])
    paginated_long_steps(c, p.paginated["paginated long"], p.turns["paginated long"])
    return c


def plain_client_script(p: HistoryPicks) -> HistoryCorpus:
    """``deferOutput`` members are experimental: a client without the capability."""
    c = HistoryCorpus(experimental=False)
    base = {"threadId": p.paginated["codex conversation"]}
    both = {"mcpToolCall": True, "commandExecution": True}
    for what in ({"commandExecution": True}, {"mcpToolCall": False}, both, {}, {"other": 1}):
        c.request(
            f"plain client: deferOutput {json.dumps(what)}",
            ITEMS,
            {**base, "deferOutput": what},
            None,
        )
    c.request("plain client: items", ITEMS, base, OK)
    return c

"""``thread/list`` and ``thread/loaded/list`` (spec 4.5, 4.6, 5, and their rows of 1.3 and 1.5):
threadloom's app server answers every request exactly as Codex 0.169.0 does.

The home is the varied home (300 generated threads of every source, provider, cwd, name and
damage kind) without the documented deliberate differences (``corpus_home``) and without the
paginated threads Codex wrote: Codex lists those from its database rows, whose update times
drift up to a second past the files' mtimes depending on earlier requests
(``tests/compat/test_list_compat.py`` checks them with that tolerance). One script walks every
filter, sort order, page size and cursor spelling, follows ``nextCursor`` and
``backwardsCursor`` (each side its own), and sends every malformed parameter. No thread is
loaded, so ``thread/loaded/list`` is always empty here; its decoding and cursor rules are
still compared. Database-only listings and excluded ids: ``test_differential_listing_scope``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from threadloom.protocol.codec import format_rfc3339_seconds
from threadloom.testing import ALL_SOURCE_KINDS, CompatHome
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

pytestmark = pytest.mark.compat

KINDS = list(ALL_SOURCE_KINDS)
DB_PATH: dict[str, Any] = {"sourceKinds": KINDS, "modelProviders": []}
"""A request Codex answers from its database (no metadata filter at all)."""
SCAN_PATH: dict[str, Any] = {"modelProviders": []}
"""A request Codex answers by scanning files (interactive sources only)."""
CWD = "/home/dev/src/webshop"
"""A cwd of about thirty listed threads."""

FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    ("archived", {"archived": True}),
    ("explicit defaults", {"archived": False, "modelProviders": None, "cursor": None}),
    ("every provider", {"modelProviders": []}),
    ("provider anthropic", {"modelProviders": ["anthropic"]}),
    ("two providers", {"modelProviders": ["openai", "anthropic"]}),
    ("unknown provider", {"modelProviders": ["nope"]}),
    *[(f"kind {k}", {"sourceKinds": [k], "modelProviders": []}) for k in KINDS],
    *[(f"kind {k}, default provider", {"sourceKinds": [k]}) for k in KINDS],
    ("no kinds", {"sourceKinds": []}),
    ("kinds cli and vscode", {"sourceKinds": ["cli", "vscode"], "modelProviders": []}),
    ("mixed kinds", {"sourceKinds": ["cli", "exec", "subAgentReview"], "modelProviders": []}),
    ("sub-agent kinds", {"sourceKinds": ["subAgent", "subAgentOther"]}),
    ("every kind", DB_PATH),
    ("every kind, archived", {**DB_PATH, "archived": True}),
    ("cwd string", {"cwd": CWD}),
    ("cwd list", {"cwd": ["/home/dev/src/webshop", "/srv/projects/api-gateway"]}),
    ("cwd unicode, every kind", {"cwd": "/home/dev/src/données-été", **DB_PATH}),
    ("cwd empty list", {"cwd": []}),
    ("cwd relative", {"cwd": "src/threadloom"}),
    ("search in previews", {"searchTerm": "quokka", "modelProviders": []}),
    ("search case, every kind", {"searchTerm": "Zeppelin", **DB_PATH}),
    ("search other case", {"searchTerm": "zeppelin", **DB_PATH}),
    ("search in names", {"searchTerm": "name"}),
    ("search archived", {"searchTerm": "name", "archived": True}),
    ("search empty", {"searchTerm": ""}),
    ("search finds nothing", {"searchTerm": "no such words anywhere"}),
    ("unknown members ignored", {"bogus": 1, "limit": 3}),
]

ORDERS: list[tuple[str, dict[str, Any]]] = [
    (f"{key} {direction} ({path})", {**params, "sortKey": key, "sortDirection": direction})
    for key in ("created_at", "updated_at", "recency_at")
    for direction in ("desc", "asc")
    for path, params in (("scan", SCAN_PATH), ("database", DB_PATH))
    if key != "recency_at" or path == "database"  # recency_at always uses Codex's database
]

BAD_CURSORS = [
    "garbage",
    "",
    "2025-02-30T00:00:00Z",
    "2025-03-01 10:00:00",
    "2025-03-01T10:00:00",
    "2025-03-01T10:00:00Z|",
    "2025-03-01T10:00:00Z|not-a-thread-id",
    "|019a0000-0000-7000-9000-000000000001",
    "1741000000",
]

SORT_KEYS = "`created_at`, `updated_at`, `recency_at`, `section_position`"
ORIGINATORS = "originator filtering is not supported by the local app-server"
BAD_PARAMS: list[tuple[str, Any, Expect | None]] = [
    ("params missing", ..., invalid("Invalid request: missing field `params`")),
    ("params null", None, invalid("Invalid request: missing field `params`")),
    (
        "params integer",
        5,
        invalid("Invalid request: invalid type: integer `5`, expected struct ThreadListParams"),
    ),
    (
        "sortKey bogus",
        {"sortKey": "bogus"},
        invalid(f"Invalid request: unknown variant `bogus`, expected one of {SORT_KEYS}"),
    ),
    (
        "sortDirection up",
        {"sortDirection": "up"},
        invalid("Invalid request: unknown variant `up`, expected `asc` or `desc`"),
    ),
    (
        "sortKey integer",
        {"sortKey": 1},
        invalid("Invalid request: invalid type: integer `1`, expected string or map"),
    ),
    (
        "sortDirection boolean",
        {"sortDirection": True},
        invalid("Invalid request: invalid type: boolean `true`, expected string or map"),
    ),
    (
        "sourceKinds of integers",
        {"sourceKinds": [5]},
        invalid("Invalid request: invalid type: integer `5`, expected string or map"),
    ),
    (
        "limit negative",
        {"limit": -1},
        invalid("Invalid request: invalid value: integer `-1`, expected u32"),
    ),
    (
        "limit above u32",
        {"limit": 4294967296},
        invalid("Invalid request: invalid value: integer `4294967296`, expected u32"),
    ),
    (
        "limit string",
        {"limit": "5"},
        invalid('Invalid request: invalid type: string "5", expected u32'),
    ),
    (
        "limit float",
        {"limit": 1.5},
        invalid("Invalid request: invalid type: floating point `1.5`, expected u32"),
    ),
    (
        "cwd integer",
        {"cwd": 5},
        invalid(
            "Invalid request: data did not match any variant of untagged enum ThreadListCwdFilter"
        ),
    ),
    (
        "cwd list of integers",
        {"cwd": [5]},
        invalid(
            "Invalid request: data did not match any variant of untagged enum ThreadListCwdFilter"
        ),
    ),
    (
        "archived string",
        {"archived": "yes"},
        invalid('Invalid request: invalid type: string "yes", expected a boolean'),
    ),
    (
        "searchTerm integer",
        {"searchTerm": 5},
        invalid("Invalid request: invalid type: integer `5`, expected a string"),
    ),
    (
        "cursor integer",
        {"cursor": 5},
        invalid("Invalid request: invalid type: integer `5`, expected a string"),
    ),
    (
        "modelProviders string",
        {"modelProviders": "openai"},
        invalid('Invalid request: invalid type: string "openai", expected a sequence'),
    ),
    (
        "modelProviders of integers",
        {"modelProviders": [1]},
        invalid("Invalid request: invalid type: integer `1`, expected a string"),
    ),
    ("sourceKinds bogus", {"sourceKinds": ["bogus"]}, invalid("Invalid request: ", prefix=True)),
    (
        "sourceKinds string",
        {"sourceKinds": "cli"},
        invalid('Invalid request: invalid type: string "cli", expected a sequence'),
    ),
    ("sectionId integer", {"sectionId": 5}, None),
    ("sectionId", {"sectionId": "some-section"}, None),
    ("sectionId empty", {"sectionId": ""}, None),
    ("sortKey section_position", {"sortKey": "section_position"}, None),
    (
        "sortKey section_position with sectionId",
        {"sortKey": "section_position", "sectionId": "some-section"},
        None,
    ),
    ("originators", {"originators": ["codex_cli_rs"]}, Expect(-32602, ORIGINATORS)),
    ("originators empty", {"originators": []}, OK),
    ("originators before a bad cursor", {"originators": ["x"], "cursor": "garbage"}, None),
    ("sectionId before a bad cursor", {"sectionId": "x", "cursor": "garbage"}, None),
    *[
        (f"{member} null", {member: None, "limit": 2}, None)
        for member in (
            "cursor",
            "limit",
            "sortKey",
            "sortDirection",
            "modelProviders",
            "sourceKinds",
            "archived",
            "cwd",
            "searchTerm",
            "sectionId",
            "originators",
            "excludedThreadIds",
            "useStateDbOnly",
            "currentAccountOnly",
        )
    ],
    ("useStateDbOnly true", {"useStateDbOnly": True, "limit": 2}, OK),
    ("useStateDbOnly false", {"useStateDbOnly": False, "limit": 2}, OK),
    ("useStateDbOnly string", {"useStateDbOnly": "yes", "limit": 2}, None),
    ("currentAccountOnly true", {"currentAccountOnly": True, "limit": 2}, OK),
    ("currentAccountOnly integer", {"currentAccountOnly": 1, "limit": 2}, None),
    ("excludedThreadIds empty", {"excludedThreadIds": [], "limit": 2}, OK),
    ("excludedThreadIds unknown", {"excludedThreadIds": ["x"], "limit": 2}, None),
    ("excludedThreadIds integer", {"excludedThreadIds": 5, "limit": 2}, None),
    ("excludedThreadIds of integers", {"excludedThreadIds": [5], "limit": 2}, None),
    ("sectionId null and a search", {"sectionId": None, "searchTerm": "name"}, OK),
    ("sectionId null and cwd", {"sectionId": None, "cwd": "/home/dev/src/webshop"}, OK),
    (
        "first bad member wins",
        {"limit": "x", "sortKey": "bogus"},
        invalid('Invalid request: invalid type: string "x", expected u32'),
    ),
]

LOADED: list[tuple[str, Any, Expect | None]] = [
    ("loaded: empty params", {}, OK),
    ("loaded: limit 0", {"limit": 0}, OK),
    ("loaded: limit 1", {"limit": 1}, OK),
    ("loaded: cursor", {"cursor": "zzz"}, OK),
    ("loaded: empty cursor", {"cursor": "", "limit": 5}, OK),
    ("loaded: unknown member", {"bogus": True}, OK),
    ("loaded: cursor null", {"cursor": None}, None),
    ("loaded: limit null", {"limit": None}, None),
    ("loaded: params missing", ..., invalid("Invalid request: missing field `params`")),
    ("loaded: params null", None, invalid("Invalid request: missing field `params`")),
    (
        "loaded: limit negative",
        {"limit": -1},
        invalid("Invalid request: invalid value: integer `-1`, expected u32"),
    ),
    (
        "loaded: limit above u32",
        {"limit": 4294967296},
        invalid("Invalid request: invalid value: integer `4294967296`, expected u32"),
    ),
    (
        "loaded: limit string",
        {"limit": "x"},
        invalid('Invalid request: invalid type: string "x", expected u32'),
    ),
    (
        "loaded: cursor integer",
        {"cursor": 5},
        invalid("Invalid request: invalid type: integer `5`, expected a string"),
    ),
    (
        "loaded: params string",
        "x",
        invalid(
            'Invalid request: invalid type: string "x", expected struct ThreadLoadedListParams'
        ),
    ),
]


@dataclass(frozen=True, slots=True)
class Picks:
    """What the script needs from the home: a second holding several listed threads."""

    second: int
    ids: tuple[str, ...]


DUMMY = Picks(1_740_000_000, ("a", "b", "c"))


def picks_of(varied: CompatHome) -> Picks:
    groups: dict[int, list[str]] = {}
    for record in varied.manifest.threads:
        if "duplicate_second" in record.tags and record.listable and not record.archived:
            groups.setdefault(record.created_ms // 1000, []).append(record.id)
    second, ids = max(groups.items(), key=lambda item: len(item[1]))
    assert len(ids) >= 3
    return Picks(second, tuple(sorted(ids)))


def rfc3339(seconds: int, fraction: str = "") -> str:
    return format_rfc3339_seconds(seconds)[:-1] + fraction + "Z"


def probe_cursors(p: Picks) -> list[tuple[str, str]]:
    """Cursors around a second holding several threads, in every accepted spelling."""
    s = p.second
    return [
        ("whole second", rfc3339(s)),
        ("half second", rfc3339(s, ".5")),
        ("nanoseconds", rfc3339(s, ".123456789")),
        ("next second", rfc3339(s + 1)),
        ("second and id", f"{rfc3339(s)}|{p.ids[1]}"),
        ("second and upper-case id", f"{rfc3339(s)}|{p.ids[1].upper()}"),
        ("fraction and first id", f"{rfc3339(s, '.5')}|{p.ids[0]}"),
        ("fraction and last id", f"{rfc3339(s, '.9')}|{p.ids[-1]}"),
        ("lower-case t and z", rfc3339(s).replace("T", "t").replace("Z", "z")),
        ("offset", format_rfc3339_seconds(s - 7200)[:-1] + "-02:00"),
        ("far future", "2100-01-01T00:00:00Z"),
        ("epoch", "1970-01-01T00:00:00Z"),
    ]


def follow(label: str, member: str, params: dict[str, Any]) -> Callable[[Replies], Any]:
    """Params continuing from the reply of ``label`` (its ``nextCursor`` or
    ``backwardsCursor``): each side follows its own reply."""

    def build(replies: Replies) -> Any:
        return {**params, "cursor": replies[label]["result"][member]}

    return build


def build(p: Picks) -> Corpus:
    c = Corpus().initialize()
    for label, params in ORDERS:
        first = f"order: {label}, page 1"
        c.request(first, "thread/list", {**params, "limit": 45}, OK)
        previous = first
        for page in (2, 3):
            label_n = f"order: {label}, page {page}"
            c.request(label_n, "thread/list", follow(previous, "nextCursor", {**params}), OK)
            previous = label_n
        back = {**params, "sortDirection": "asc" if params["sortDirection"] == "desc" else "desc"}
        c.request(
            f"order: {label}, back from page 3",
            "thread/list",
            follow(previous, "backwardsCursor", back),
            OK,
        )
    for path, params in (("scan", SCAN_PATH), ("database", DB_PATH)):
        for limit in (0, 1, 7, 25, 150):
            c.request(f"limit {limit} ({path})", "thread/list", {**params, "limit": limit}, OK)
        for direction in ("desc", "asc"):
            for label, cursor in probe_cursors(p):
                params_c = {**params, "limit": 7, "sortDirection": direction, "cursor": cursor}
                c.request(f"cursor {label}, {direction} ({path})", "thread/list", params_c, OK)
            start = rfc3339(p.second + 1 if direction == "desc" else p.second - 1)
            one = {**params, "limit": 1, "sortDirection": direction}
            previous = f"single steps through one second, {direction} ({path})"
            c.request(previous, "thread/list", {**one, "cursor": start}, OK)
            for step in (2, 3, 4):
                label_n = f"single steps through one second, {direction} ({path}), {step}"
                c.request(label_n, "thread/list", follow(previous, "nextCursor", one), OK)
                previous = label_n
        for cursor in BAD_CURSORS:
            c.request(
                f"bad cursor {cursor!r} ({path})",
                "thread/list",
                {**params, "cursor": cursor},
                invalid(f"invalid cursor: {cursor}"),
            )
    c.request(
        "scan cursor on the database path",
        "thread/list",
        follow("limit 25 (scan)", "nextCursor", {**DB_PATH, "limit": 25}),
        OK,
    )
    c.request(
        "database cursor on the scan path",
        "thread/list",
        follow("limit 25 (database)", "nextCursor", {**SCAN_PATH, "limit": 25}),
        OK,
    )
    # After the paging: a search listing makes Codex reconcile its database rows, which can
    # move a row's update time by a millisecond (backwardsCursor of updated_at pages).
    for label, params in FILTERS:
        c.request(f"filter: {label}", "thread/list", {**params, "limit": 100}, OK)
    for label, params, expect in BAD_PARAMS:
        if params is ...:
            c.request(f"bad: {label}", "thread/list", expect=expect)
        else:
            c.request(f"bad: {label}", "thread/list", params, expect)
    for label, params, expect in LOADED:
        if params is ...:
            c.request(label, "thread/loaded/list", expect=expect)
        else:
            c.request(label, "thread/loaded/list", params, expect)
    return c


LABELS = build(DUMMY).labels


@pytest.fixture(scope="module")
def run(differential: Differential, varied_home: CompatHome) -> tuple[DifferentialResult, Corpus]:
    corpus = build(picks_of(varied_home))
    assert corpus.labels == LABELS
    return run_on_varied_home(differential, varied_home, "listing", corpus), corpus


@pytest.mark.parametrize("label", LABELS)
def test_every_listing_request_gets_the_answer_codex_gives(
    run: tuple[DifferentialResult, Corpus], label: str
) -> None:
    result, corpus = run
    check_exchange(result, label, corpus.expect.get(label))


def test_listing_pages_hold_threads_and_lists_change_no_file(
    run: tuple[DifferentialResult, Corpus],
) -> None:
    result, _ = run
    page = result.reply("filter: every kind")["result"]
    assert len(page["data"]) == 100
    assert page["nextCursor"] is not None
    assert result.reference.files == result.candidate.files == {}

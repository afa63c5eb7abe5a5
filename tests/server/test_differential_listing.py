"""``thread/list`` and ``thread/loaded/list`` (spec 4.5, 4.6, 5, and their rows of 1.3 and 1.5):
threadloom's app server answers every request exactly as Codex 0.169.0 does.

The home is the varied home (300 generated threads of every source, provider, cwd, name and
damage kind) without the documented deliberate differences (``corpus_home``) and without the
paginated threads Codex wrote: Codex lists those from its database rows, whose update times
drift up to a second past the files' mtimes depending on earlier requests
(``tests/compat/test_list_compat.py`` checks them with that tolerance). One script walks every
filter, sort order, page size and cursor spelling, follows ``nextCursor`` and
``backwardsCursor`` (each side its own), and sends every malformed parameter. Then the
database-only listings (``useStateDbOnly``, ``sectionId``) and ``excludedThreadIds``, whose
ids each side takes from its own earlier replies. No thread is loaded, so
``thread/loaded/list`` is always empty here; its decoding and cursor rules are still compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from threadloom.protocol.codec import format_rfc3339_seconds
from threadloom.testing import ALL_SOURCE_KINDS, CompatHome
from threadloom.testing.differential import DifferentialResult, Replies

from .conftest import OK, Corpus, Differential, Expect, check_exchange, corpus_home, invalid

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
    """What the script needs from the home: a second holding several listed threads, and the
    title of a thread whose first message is an image (shown as its name, not its preview)."""

    second: int
    ids: tuple[str, ...]
    image_title: str


DUMMY = Picks(1_740_000_000, ("a", "b", "c"), "title")


def picks_of(varied: CompatHome) -> Picks:
    groups: dict[int, list[str]] = {}
    for record in varied.manifest.threads:
        if "duplicate_second" in record.tags and record.listable and not record.archived:
            groups.setdefault(record.created_ms // 1000, []).append(record.id)
    second, ids = max(groups.items(), key=lambda item: len(item[1]))
    assert len(ids) >= 3
    image_title = next(
        r.name
        for r in varied.manifest.tagged("image_only")
        if r.listable and not r.archived and r.name
    )
    return Picks(second, tuple(sorted(ids)), image_title)


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
    tid = p.ids[0]
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
    defaults, every, cwd = "filter: defaults", "filter: every kind", "filter: cwd string"
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
    database_only(c, p)
    exclusions(c)
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
    result = differential.run(
        "listing",
        lambda folder: (
            corpus_home(varied_home, folder / "home", paginated=False),
            corpus.script,
        ),
    )
    return result, corpus


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

"""Framing, handshake and request decoding (spec 1.1, 1.2, 1.3, 1.5): threadloom's app server
answers every line exactly as Codex 0.169.0 does.

One script, one connection per server: lines that must be ignored before and after the
handshake (each followed by a probe request whose exchange must hold only the probe's reply),
requests before ``initialize``, ``initialize`` with every kind of bad params, the handshake,
a second ``initialize``, request ids of every accepted kind (echoed verbatim), ids and methods
that make a message invalid (ignored), unknown methods and params of the wrong type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import write_rollout
from threadloom.testing.differential import DifferentialResult

from .conftest import OK, Corpus, Differential, Expect, check_exchange, invalid

pytestmark = pytest.mark.compat

NOT_INITIALIZED = invalid("Not initialized")
CLIENT = {"name": "differential-client", "version": "2.3.4"}
READ_ID = "019a0000-0000-7000-9000-00000000c0de"


def unknown_method(method: str) -> Expect:
    return invalid(
        f"Invalid request: unknown variant `{method}`, expected one of `initialize`, ", prefix=True
    )


def bad_params(text: str) -> Expect:
    return invalid(f"Invalid request: {text}")


# Lines every server must ignore: not JSON, not an object, not a request or a notification.
IGNORED_LINES: list[tuple[str, bytes | dict[str, Any]]] = [
    ("not JSON", b"this line is {not json"),
    ("JSON array", b"[1, 2, 3]"),
    ("JSON number", b"42"),
    ("JSON string", b'"thread/list"'),
    ("JSON null", b"null"),
    ("empty line", b""),
    ("blank line", b" \t "),
    ("two objects on one line", b'{"id":81,"method":"thread/list","params":{}}{"id":82}'),
    ("byte order mark", b'\xef\xbb\xbf{"id":83,"method":"thread/list","params":{}}'),
    ("object without id or method", {"foo": 1}),
    ("id without method", {"id": 84, "params": {}}),
    ("a response from the client", {"id": 85, "result": {}}),
    ("an error from the client", {"id": 86, "error": {"code": 1, "message": "x"}}),
    ("unknown notification", {"method": "bogus/notification", "params": {}}),
    ("null id", {"id": None, "method": "thread/list", "params": {}}),
    ("fractional id", {"id": 1.5, "method": "thread/list", "params": {}}),
    ("integral float id", {"id": 1.0, "method": "thread/list", "params": {}}),
    ("boolean id", {"id": True, "method": "thread/list", "params": {}}),
    ("array id", {"id": [1], "method": "thread/list", "params": {}}),
    ("object id", {"id": {}, "method": "thread/list", "params": {}}),
    ("id above i64", {"id": 2**63, "method": "thread/list", "params": {}}),
    ("id below i64", {"id": -(2**63) - 1, "method": "thread/list", "params": {}}),
    ("null method", {"id": 87, "method": None, "params": {}}),
    ("numeric method", {"id": 88, "method": 5, "params": {}}),
    ("object method", {"id": 89, "method": {}, "params": {}}),
]

BAD_INITIALIZE: list[tuple[str, Any, Expect]] = [
    ("params missing", ..., bad_params("missing field `params`")),
    ("params null", None, bad_params("missing field `params`")),
    (
        "params integer",
        5,
        bad_params("invalid type: integer `5`, expected struct InitializeParams"),
    ),
    ("params empty", {}, bad_params("missing field `clientInfo`")),
    (
        "clientInfo string",
        {"clientInfo": "x"},
        bad_params('invalid type: string "x", expected struct ClientInfo'),
    ),
    ("clientInfo empty", {"clientInfo": {}}, bad_params("missing field `name`")),
    (
        "clientInfo without version",
        {"clientInfo": {"name": "x"}},
        bad_params("missing field `version`"),
    ),
    (
        "clientInfo name integer",
        {"clientInfo": {"name": 5, "version": "1"}},
        bad_params("invalid type: integer `5`, expected a string"),
    ),
    (
        "clientInfo title integer",
        {"clientInfo": {**CLIENT, "title": 5}},
        bad_params("invalid type: integer `5`, expected a string"),
    ),
    (
        "capabilities integer",
        {"clientInfo": CLIENT, "capabilities": 5},
        bad_params("invalid type: integer `5`, expected struct InitializeCapabilities"),
    ),
    (
        "experimentalApi string",
        {"clientInfo": CLIENT, "capabilities": {"experimentalApi": "yes"}},
        bad_params('invalid type: string "yes", expected a boolean'),
    ),
    (
        "optOutNotificationMethods string",
        {"clientInfo": CLIENT, "capabilities": {"optOutNotificationMethods": "x"}},
        bad_params('invalid type: string "x", expected a sequence'),
    ),
    (
        "optOutNotificationMethods of integers",
        {"clientInfo": CLIENT, "capabilities": {"optOutNotificationMethods": [5]}},
        bad_params("invalid type: integer `5`, expected a string"),
    ),
]
"""``initialize`` params that fail (the connection stays uninitialized)."""

ECHOED_IDS: list[tuple[str, Any]] = [
    ("id zero", 0),
    ("negative id", -1),
    ("largest i64 id", 2**63 - 1),
    ("smallest i64 id", -(2**63)),
    ("empty string id", ""),
    ("numeric string id", "7"),
    ("unicode string id", "ünïcödé id ✓"),
    ("string id with quotes", 'say "hi"\\n'),
]


def build() -> Corpus:
    c = Corpus()
    # 1.1 + 1.2: before initialize
    for label, line in IGNORED_LINES:
        c.ignored(f"before initialize, ignored: {label}", line, NOT_INITIALIZED)
    c.ignored("initialized before initialize", {"method": "initialized"}, NOT_INITIALIZED)
    c.request("thread/list before initialize", "thread/list", {}, NOT_INITIALIZED)
    c.request(
        "string id before initialize",
        "thread/read",
        {"threadId": READ_ID},
        NOT_INITIALIZED,
        id="before-init",
    )
    # Codex decodes params before it checks the handshake; ids are checked after it.
    c.request(
        "bad params before initialize",
        "thread/read",
        {"threadId": 5},
        bad_params("invalid type: integer `5`, expected a string"),
    )
    c.request(
        "params missing before initialize",
        "thread/list",
        expect=bad_params("missing field `params`"),
    )
    c.request(
        "invalid thread id before initialize",
        "thread/read",
        {"threadId": "not-a-uuid"},
        NOT_INITIALIZED,
    )
    c.request(
        "originators before initialize", "thread/list", {"originators": ["x"]}, NOT_INITIALIZED
    )
    c.request(
        "unknown method before initialize",
        "thread/nonexistent",
        {},
        unknown_method("thread/nonexistent"),
    )
    c.request("initialized as a request", "initialized", {}, unknown_method("initialized"))
    # 1.3 on initialize: every failure leaves the connection uninitialized
    for label, params, expect in BAD_INITIALIZE:
        if params is ...:
            c.request(f"initialize: {label}", "initialize", expect=expect)
        else:
            c.request(f"initialize: {label}", "initialize", params, expect)
    c.request("still not initialized", "thread/loaded/list", {}, NOT_INITIALIZED)
    # the handshake, with unknown members everywhere (ignored)
    c.request(
        "initialize",
        "initialize",
        {
            "clientInfo": {**CLIENT, "title": "Differential client", "unknown": 1},
            "capabilities": {"experimentalApi": False, "optOutNotificationMethods": []},
            "unknown": {"x": [1, 2]},
        },
        OK,
        id="init",
        jsonrpc=True,
    )
    c.script.notify("initialized")
    c.request(
        "initialize again", "initialize", {"clientInfo": CLIENT}, invalid("Already initialized")
    )
    # decoding comes first here too
    c.request(
        "initialize again with bad params",
        "initialize",
        {},
        bad_params("missing field `clientInfo`"),
    )
    c.request(
        "initialize again without params",
        "initialize",
        expect=bad_params("missing field `params`"),
    )
    # which members may be null: decoding comes before "Already initialized"
    for label, params in [
        ("title null", {"clientInfo": {**CLIENT, "title": None}}),
        ("capabilities null", {"clientInfo": CLIENT, "capabilities": None}),
        ("experimentalApi null", {"clientInfo": CLIENT, "capabilities": {"experimentalApi": None}}),
        (
            "optOutNotificationMethods null",
            {"clientInfo": CLIENT, "capabilities": {"optOutNotificationMethods": None}},
        ),
        ("clientInfo null", {"clientInfo": None}),
        ("name null", {"clientInfo": {"name": None, "version": "1"}}),
    ]:
        c.request(f"initialize again, {label}", "initialize", params, None)
    # after the handshake
    for label, line in IGNORED_LINES:
        c.ignored(f"after initialize, ignored: {label}", line, OK)
    for label, request_id in ECHOED_IDS:
        c.request(label, "thread/loaded/list", {}, OK, id=request_id)
    c.request("jsonrpc 2.0", "thread/loaded/list", {}, OK, jsonrpc=True)
    c.script.message(
        {"jsonrpc": "1.0", "id": "jsonrpc-1.0", "method": "thread/loaded/list", "params": {}},
        label="jsonrpc 1.0",
        reply_id="jsonrpc-1.0",
    )
    c.expect["jsonrpc 1.0"] = OK
    c.script.message(
        {"jsonrpc": 5, "id": "jsonrpc-5", "method": "thread/loaded/list", "params": {}},
        label="jsonrpc integer",
        reply_id="jsonrpc-5",
    )
    c.expect["jsonrpc integer"] = OK
    c.script.message(
        {"id": "extra", "method": "thread/loaded/list", "params": {}, "result": 5, "x": None},
        label="extra members",
        reply_id="extra",
    )
    c.expect["extra members"] = OK
    c.request("empty method", "", {}, unknown_method(""))
    c.request("method in another case", "Thread/List", {}, unknown_method("Thread/List"))
    c.request("unknown method", "thread/nonexistent", {}, unknown_method("thread/nonexistent"))
    c.request(
        "unknown method without params",
        "thread/nonexistent",
        expect=unknown_method("thread/nonexistent"),
    )
    c.request(
        "initialized as a request after initialize",
        "initialized",
        {},
        unknown_method("initialized"),
    )
    struct = "expected struct ThreadLoadedListParams"
    c.request("params missing", "thread/loaded/list", expect=bad_params("missing field `params`"))
    c.request("params null", "thread/loaded/list", None, bad_params("missing field `params`"))
    c.request(
        "params integer",
        "thread/loaded/list",
        5,
        bad_params(f"invalid type: integer `5`, {struct}"),
    )
    c.request(
        "params string",
        "thread/loaded/list",
        "x",
        bad_params(f'invalid type: string "x", {struct}'),
    )
    c.request(
        "params boolean",
        "thread/loaded/list",
        True,
        bad_params(f"invalid type: boolean `true`, {struct}"),
    )
    c.request(
        "params float",
        "thread/loaded/list",
        1.5,
        bad_params(f"invalid type: floating point `1.5`, {struct}"),
    )
    c.request("still served", "thread/list", {"limit": 1}, OK)
    return c


CORPUS = build()


def home(folder: Path) -> Path:
    """Two stored threads: enough for the requests that need a home."""
    path = folder / "home"
    write_rollout(path, READ_ID, created="2025-03-01T10:00:00Z", messages=["hello there"])
    write_rollout(
        path,
        "019a0000-0000-7000-9000-00000000beef",
        created="2025-03-02T10:00:00Z",
        messages=[("second thread", "second answer")],
        name="Second",
    )
    return path


@pytest.fixture(scope="module")
def result(differential: Differential) -> DifferentialResult:
    return differential.run("protocol", lambda folder: (home(folder), build().script))


@pytest.mark.parametrize("label", CORPUS.labels)
def test_every_line_gets_the_answer_codex_gives(result: DifferentialResult, label: str) -> None:
    check_exchange(result, label, CORPUS.expect.get(label))


def test_initialize_reports_the_home_the_platform_and_the_client(
    result: DifferentialResult,
) -> None:
    for candidate in (False, True):
        reply = result.reply("initialize", candidate=candidate)
        assert reply["id"] == "init"
        assert reply["result"] == {
            "userAgent": "<userAgent> (differential-client; 2.3.4)",
            "codexHome": "$CODEX_HOME",
            "platformFamily": "unix",
            "platformOs": "linux",
        }


def test_no_notification_and_no_file_change_comes_of_it(result: DifferentialResult) -> None:
    for side in (result.reference, result.candidate):
        notes = [m for ms in side.exchanges.values() for m in ms if "method" in m]
        assert notes == [], side.server
    assert result.reference.files == result.candidate.files == {}

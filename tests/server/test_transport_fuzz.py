"""Malformed input thrown at a real app server, over stdio and over WebSocket.

Random and truncated JSON, wrong types, bad ids, invalid UTF-8, deep nesting, messages of
several MB: every reply must be a client error (-32600 / -32601) or nothing at all, the server
must keep serving (a valid request afterwards gets its answer), must log no traceback, and the
stored home must stay byte for byte as it was. Requests are built so that none can succeed
(unknown methods, params of the wrong type, a ``threadId`` that is not a string).

Over WebSocket, a text message that is not UTF-8 closes its connection (1007, RFC 6455) and a
binary message is ignored; the server goes on serving new connections.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from threadloom.server.app import CODEX_METHODS
from threadloom.testing import write_rollout

from .app_server_process import (
    INITIALIZE,
    ServerProcess,
    StdioClient,
    home_digest,
    is_error_reply,
)

A = "019a0000-0000-7000-8000-0000000000a1"
B = "019a0000-0000-7000-8000-0000000000b2"
TIMEOUT = 30.0
MB = 1 << 20
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

THREAD_ID_METHODS = (
    "thread/resume",
    "thread/fork",
    "thread/read",
    "thread/turns/list",
    "thread/name/set",
    "thread/metadata/update",
    "thread/archive",
    "thread/unarchive",
    "thread/delete",
    "thread/unsubscribe",
    "thread/inject_items",
    "turn/start",
    "turn/interrupt",
)
"""Methods whose params require a string ``threadId``."""


# --- what is thrown ------------------------------------------------------------------------------
MISSING = object()

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
ids = (
    st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=12).filter(lambda s: not s.startswith("probe:"))
    | scalars  # null, booleans, fractions, out-of-range integers: the message is ignored
)
unknown_methods = st.text(max_size=24).filter(lambda m: m not in CODEX_METHODS)
not_a_struct = st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=16)


def request(request_id: Any, method: str, params: Any, jsonrpc: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"id": request_id, "method": method}
    if params is not MISSING:
        message["params"] = params
    if jsonrpc:
        message["jsonrpc"] = "2.0"
    return message


requests = st.one_of(
    st.builds(request, ids, unknown_methods, json_values | st.just(MISSING), st.booleans()),
    st.builds(
        request,
        ids,
        st.sampled_from(CODEX_METHODS),
        not_a_struct | st.none() | st.just(MISSING),
        st.booleans(),
    ),
    st.builds(
        request,
        ids,
        st.sampled_from(THREAD_ID_METHODS),
        st.builds(
            lambda thread_id, rest: {"threadId": thread_id, **rest},
            json_values.filter(lambda v: not isinstance(v, str)),
            st.dictionaries(st.sampled_from(["name", "path", "limit", "cursor"]), json_values),
        ),
        st.booleans(),
    ),
)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def truncated(data: bytes, at: int) -> bytes:
    return data[: max(1, at % len(data))]


def spliced(data: bytes, at: int, junk: bytes) -> bytes:
    at %= len(data) + 1
    return data[:at] + junk + data[at:]


def nested(depth: int, opener: bytes) -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    inner = (
        (b'{"a":' * depth + b"1" + closer * depth)
        if opener == b"{"
        else b"[" * depth + closer * depth
    )
    return b'{"id":"deep","method":"thread/read","params":{"threadId":' + inner + b"}}"


encoded_requests = requests.map(encode)
payloads = st.one_of(
    encoded_requests,
    json_values.map(encode),
    st.builds(truncated, encoded_requests, st.integers(0, 10_000)),
    st.builds(
        spliced,
        encoded_requests,
        st.integers(0, 10_000),
        st.sampled_from([b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00", b"\x1b"]),
    ),
    st.binary(max_size=64),
    st.builds(nested, st.integers(100, 3000), st.sampled_from([b"[", b"{"])),
)


def hostile(size: int = 5 * MB) -> dict[str, bytes]:
    """Hand-picked cases, several MB ones included."""
    return {
        "huge thread id": encode(
            {"id": "h1", "method": "thread/read", "params": {"threadId": "x" * size}}
        ),
        "huge array of the wrong type": encode(
            {"id": "h2", "method": "thread/list", "params": {"limit": [0] * (size // 2)}}
        ),
        "huge unknown method": encode({"id": "h3", "method": "m" * size, "params": {}}),
        "huge id of an ignored message": encode({"id": [1] * (size // 3), "method": "x"}),
        "huge garbage": b"x" * size,
        "huge truncated request": encode(
            {"id": "h4", "method": "thread/list", "params": {"cursor": "c" * size}}
        )[:-2],
        "deep arrays": b"[" * 100_000,
        "deep request": nested(100_000, b"["),
        "deep objects": nested(50_000, b"{"),
        "just too deep": nested(126, b"["),
        "deep but allowed": nested(125, b"["),
        "invalid utf-8 method": b'{"id":"u1","method":"thread/re\xffad","params":{}}',
        "overlong utf-8": b'{"id":"u2","method":"thread/read","params":{"threadId":"\xc0\xaf"}}',
        "surrogate bytes": b'{"id":"u3","method":"\xed\xa0\x80","params":{}}',
        "lone surrogate escape": (
            b'{"id":"u4","method":"thread/list","params":{"cursor":"\\ud800"}}'
        ),
        "nul": b'{"id":"u5",\x00"method":"thread/list","params":{}}',
        "bom": b'\xef\xbb\xbf{"id":"u6","method":"thread/list","params":{}}',
        "utf-16": '{"id":"u7","method":"thread/list","params":{}}'.encode("utf-16"),
        "trailing garbage": b'{"id":"u8","method":"thread/list","params":{}}}',
        "infinite number": b'{"id":"n1","method":"thread/list","params":{"limit":1e999}}',
        "nan": b'{"id":"n2","method":"thread/list","params":{"limit":NaN}}',
        "id out of range": b'{"id":99999999999999999999,"method":"thread/list","params":{}}',
        "fractional id": b'{"id":1.5,"method":"thread/list","params":{}}',
        "null params": b'{"id":"p1","method":"thread/list","params":null}',
        "string params": b'{"id":"p2","method":"thread/start","params":"go"}',
        "array": b"[1,2,3]",
        "number": b"42",
        "empty object": b"{}",
        "spaces": b"   \t ",
    }


HOSTILE = hostile()


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fuzz-home")
    write_rollout(home, A, created=1_760_000_000_000, messages=("fix the flaky test",), name="A")
    write_rollout(home, B, created=1_760_000_100_000, archived=True)
    return home


@pytest.fixture(scope="module")
def stored(home: Path) -> dict[str, str]:
    return home_digest(home)


@pytest.fixture(scope="module")
def stdio_server(home: Path, stored: dict[str, str]) -> Iterator[ServerProcess]:
    with ServerProcess(home) as process:
        yield process
    assert "Traceback" not in process.stderr, process.stderr


@pytest.fixture(scope="module")
def stdio(stdio_server: ServerProcess) -> StdioClient:
    client = StdioClient(stdio_server)
    client.initialize()
    return client


@pytest.fixture(scope="module")
def ws_server(home: Path, stored: dict[str, str]) -> Iterator[ServerProcess]:
    with ServerProcess(home, "--listen", "ws://127.0.0.1:0") as process:
        process.wait_listening()
        yield process
    assert "Traceback" not in process.stderr, process.stderr


# --- stdio ---------------------------------------------------------------------------------------
class Prober:
    """Numbered probe requests (a valid ``thread/list``) and the check of what came before."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> dict[str, Any]:
        self.count += 1
        return {"id": f"probe:{self.count}", "method": "thread/list", "params": {"limit": 1}}

    @staticmethod
    def check(reply: dict[str, Any], others: list[dict[str, Any]]) -> None:
        assert [t["id"] for t in reply["result"]["data"]] == [A], reply
        for message in others:
            assert is_error_reply(message), message


def stdio_round(client: StdioClient, prober: Prober, payload: bytes) -> None:
    client.send_raw(payload + b"\n")
    probe = prober.next()
    client.send(probe)
    prober.check(*client.until_reply(probe["id"]))


stdio_prober = Prober()


@FUZZ
@given(payload=payloads)
def test_stdio_random_input(stdio: StdioClient, payload: bytes) -> None:
    stdio_round(stdio, stdio_prober, payload)


def test_stdio_hostile_input(stdio: StdioClient, home: Path, stored: dict[str, str]) -> None:
    for label, payload in HOSTILE.items():
        try:
            stdio_round(stdio, stdio_prober, payload)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from exc
    assert home_digest(home) == stored


def test_stdio_hostile_input_before_initialize(home: Path, stored: dict[str, str]) -> None:
    with ServerProcess(home) as server:
        client = StdioClient(server)
        client.send_raw(b"\n".join(HOSTILE.values()) + b"\n")
        client.initialize()  # its reply comes after every other: the handshake is in order
        prober = Prober()
        probe = prober.next()
        client.send(probe)
        reply, others = client.until_reply(probe["id"])
        prober.check(reply, others)
        assert server.stop() == 0
    assert "Traceback" not in server.stderr, server.stderr
    assert home_digest(home) == stored


# --- WebSocket -----------------------------------------------------------------------------------
class WsClient:
    """A blocking WebSocket client that reconnects (and shakes hands again) when closed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connections = contextlib.ExitStack()
        self.ws = self._connect()

    def _connect(self) -> ClientConnection:
        ws = self._connections.enter_context(
            ws_connect(self.url, max_size=None, open_timeout=TIMEOUT)
        )
        ws.send(json.dumps({"id": "init", "method": "initialize", "params": INITIALIZE}))
        assert "result" in json.loads(ws.recv(TIMEOUT))
        return ws

    def until_reply(self, request_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        others: list[dict[str, Any]] = []
        while True:
            message = json.loads(self.ws.recv(TIMEOUT))
            assert isinstance(message, dict), message
            if "method" not in message and message.get("id") == request_id:
                return message, others
            others.append(message)

    def round(self, prober: Prober, payload: bytes, *, binary: bool = False) -> None:
        """Send ``payload`` (a text message unless ``binary``), then a probe."""
        self.ws.send(payload, text=not binary)
        if not binary and not is_utf8(payload):
            self.expect_close(1007)  # invalid frame payload data
            self.ws = self._connect()
        probe = prober.next()
        self.ws.send(json.dumps(probe))
        prober.check(*self.until_reply(probe["id"]))

    def expect_close(self, code: int) -> None:
        with pytest.raises(ConnectionClosed) as closed:
            self._errors_until_closed()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code

    def _errors_until_closed(self) -> None:
        """Replies to earlier messages may still come first: errors only."""
        while True:
            message = json.loads(self.ws.recv(TIMEOUT))
            assert is_error_reply(message), message

    def close(self) -> None:
        self._connections.close()


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture(scope="module")
def ws(ws_server: ServerProcess) -> Iterator[WsClient]:
    client = WsClient(ws_server.url)
    yield client
    client.close()


ws_prober = Prober()


@FUZZ
@given(payload=payloads, binary=st.booleans())
def test_websocket_random_input(ws: WsClient, payload: bytes, binary: bool) -> None:
    ws.round(ws_prober, payload, binary=binary)


def test_websocket_hostile_input(ws: WsClient, home: Path, stored: dict[str, str]) -> None:
    for label, payload in HOSTILE.items():
        for binary in (False, True):
            try:
                ws.round(ws_prober, payload, binary=binary)
            except AssertionError as exc:
                raise AssertionError(f"{label} (binary={binary}): {exc}") from exc
    assert home_digest(home) == stored


def test_websocket_hostile_input_before_initialize(
    ws_server: ServerProcess, home: Path, stored: dict[str, str]
) -> None:
    for label, payload in HOSTILE.items():
        if not is_utf8(payload):
            continue  # closes the connection: covered above
        with ws_connect(ws_server.url, max_size=None, open_timeout=TIMEOUT) as ws:
            ws.send(payload, text=True)
            ws.send(json.dumps({"id": "init", "method": "initialize", "params": INITIALIZE}))
            while True:
                message = json.loads(ws.recv(TIMEOUT))
                if message.get("id") == "init":
                    assert "result" in message, (label, message)
                    break
                assert is_error_reply(message), (label, message)
    assert home_digest(home) == stored


def test_the_home_is_unchanged(
    stdio: StdioClient, ws: WsClient, home: Path, stored: dict[str, str]
) -> None:
    """After everything above (run last in this module)."""
    assert home_digest(home) == stored

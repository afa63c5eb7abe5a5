"""``threadloom app-server --listen ws://…``: a real server process, real WebSocket clients."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as sync_connect
from websockets.typing import Origin

from threadloom.api.thread import list_result_json
from threadloom.server.app import AppServer, ServerConfig
from threadloom.server.websocket import MAX_MESSAGE, WebSocketServer
from threadloom.store.local import LocalThreadStore
from threadloom.store.memory import InMemoryThreadStore
from threadloom.store.params import ListThreadsParams
from threadloom.testing import write_rollout

from .app_server_process import INITIALIZE, ServerProcess, is_error_reply

A = "019a0000-0000-7000-8000-0000000000a1"
B = "019a0000-0000-7000-8000-0000000000b2"
TOKEN = "s3cret-token"
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ws-home")
    write_rollout(home, A, created=1_760_000_000_000, messages=("fix the flaky test",))
    write_rollout(home, B, created=1_760_000_100_000, messages=("write the changelog",))
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    with ServerProcess(home, "--listen", "ws://127.0.0.1:0") as process:
        process.wait_listening()
        yield process


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose clients must present :data:`TOKEN` (given through the environment)."""
    home = tmp_path_factory.mktemp("ws-token-home")
    write_rollout(home, A, created=1_760_000_000_000)
    env = {"THREADLOOM_APP_SERVER_TOKEN": TOKEN}
    with ServerProcess(home, "--listen", "ws://127.0.0.1:0", env=env) as process:
        process.wait_listening()
        yield process


# --- a small client ------------------------------------------------------------------------------
def client(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    return connect(url, additional_headers=headers, max_size=None, open_timeout=TIMEOUT)


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert isinstance(message, dict), message
    return message


async def call(
    ws: ClientConnection, request_id: Any, method: str, params: Any = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send a request; its reply and the messages received before it."""
    await ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
    others: list[dict[str, Any]] = []
    while True:
        message = await receive(ws)
        if "method" not in message and message.get("id") == request_id:
            return message, others
        others.append(message)


async def notification(ws: ClientConnection, method: str) -> dict[str, Any]:
    """The next notification ``method`` (other notifications skipped; a reply fails)."""
    while True:
        message = await receive(ws)
        assert "method" in message, message
        if message["method"] == method:
            return message


async def initialize(ws: ClientConnection) -> dict[str, Any]:
    reply, _ = await call(ws, 0, "initialize", INITIALIZE)
    assert "result" in reply, reply
    await ws.send(json.dumps({"method": "initialized"}))
    result: dict[str, Any] = reply["result"]
    return result


async def library_list(home: Path, params: ListThreadsParams) -> dict[str, Any]:
    store = LocalThreadStore(home, watch=False)
    try:
        return list_result_json(await store.list_threads(params))
    finally:
        await store.close()


def http_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- the tests -----------------------------------------------------------------------------------
async def test_listens_on_a_free_loopback_port_and_shakes_hands(
    server: ServerProcess, home: Path
) -> None:
    assert server.url.startswith("ws://127.0.0.1:")
    assert int(server.url.rsplit(":", 1)[1]) > 0
    assert "Authorization" not in server.stderr  # no token, no instructions
    async with client(server.url) as ws:
        early, _ = await call(ws, 1, "thread/list", {})
        assert early == {"error": {"code": -32600, "message": "Not initialized"}, "id": 1}
        result = await initialize(ws)
        assert result["codexHome"] == str(home)
        again, _ = await call(ws, 2, "initialize", INITIALIZE)
        assert again == {"error": {"code": -32600, "message": "Already initialized"}, "id": 2}


async def test_thread_list_is_the_library_answer(server: ServerProcess, home: Path) -> None:
    async with client(server.url) as ws:
        await initialize(ws)
        reply, _ = await call(ws, "list", "thread/list", {"limit": 1})
        first = await library_list(home, ListThreadsParams(limit=1))
        assert reply == {"id": "list", "result": first}
        assert [t["id"] for t in first["data"]] == [B]
        cursor = first["nextCursor"]
        reply, _ = await call(ws, "next", "thread/list", {"limit": 5, "cursor": cursor})
        assert [t["id"] for t in reply["result"]["data"]] == [A]


async def test_notifications_reach_every_subscribed_client(server: ServerProcess) -> None:
    async with client(server.url) as watcher, client(server.url) as renamer:
        await initialize(watcher)
        await initialize(renamer)
        resumed, _ = await call(watcher, 1, "thread/resume", {"threadId": A})
        assert resumed["result"]["thread"]["id"] == A
        reply, _ = await call(renamer, 1, "thread/name/set", {"threadId": A, "name": "renamed"})
        assert reply == {"id": 1, "result": {}}
        update = {"threadId": A, "threadName": "renamed"}
        told = await notification(renamer, "thread/name/updated")  # after its reply
        assert told["params"] == update
        heard = await notification(watcher, "thread/name/updated")  # it loaded the thread
        assert heard["params"] == update
        assert isinstance(heard["emittedAtMs"], int)

        started, _ = await call(renamer, 2, "thread/start", {"cwd": "/proj"})
        thread = started["result"]["thread"]
        note = await notification(renamer, "thread/started")
        assert note["params"]["thread"]["id"] == thread["id"]


async def test_two_clients_are_answered_independently(server: ServerProcess) -> None:
    async with client(server.url) as first, client(server.url) as second:
        await initialize(first)
        early, _ = await call(second, 7, "thread/read", {"threadId": A})
        assert early["error"]["message"] == "Not initialized"  # its own handshake state
        await initialize(second)
        # the same request id on both connections: each gets its own reply
        await first.send(json.dumps({"id": 7, "method": "thread/read", "params": {"threadId": B}}))
        await second.send(json.dumps({"id": 7, "method": "thread/read", "params": {"threadId": A}}))
        first_reply, second_reply = await receive(first), await receive(second)
        assert first_reply["result"]["thread"]["id"] == B
        assert second_reply["result"]["thread"]["id"] == A
        await first.close()
        reply, _ = await call(second, 8, "thread/loaded/list", {})
        assert "result" in reply, reply


async def test_health_endpoints_answer_without_upgrade_or_token(
    server: ServerProcess, token_server: ServerProcess
) -> None:
    for url in (server.url, token_server.url):
        for path in ("/readyz", "/healthz"):
            status, _ = await asyncio.to_thread(http_get, url, path)
            assert status == 200, (url, path)


async def test_a_browser_origin_is_refused(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.url, origin=Origin("http://evil.example"), open_timeout=TIMEOUT):
            pass
    assert refused.value.response.status_code == 403


def send_too_large(url: str) -> int:
    """Send one message over the limit; the close code the server answers with."""
    with sync_connect(url, max_size=None, open_timeout=TIMEOUT) as ws:
        ws.send(json.dumps({"id": 0, "method": "initialize", "params": INITIALIZE}))
        assert "result" in json.loads(ws.recv(TIMEOUT))
        ws.send("x" * (MAX_MESSAGE + 1))  # sent whole: the server reads and drops the rest
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(TIMEOUT)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


async def test_a_too_large_message_closes_only_its_connection(server: ServerProcess) -> None:
    async with client(server.url) as bystander:
        await initialize(bystander)
        # (the blocking client: asyncio's cannot close a connection cut mid-send)
        assert await asyncio.to_thread(send_too_large, server.url) == 1009  # message too big
        reply, _ = await call(bystander, 1, "thread/read", {"threadId": A})
        assert reply["result"]["thread"]["id"] == A
    async with client(server.url) as newcomer:  # and new clients are welcome
        await initialize(newcomer)


@pytest.mark.parametrize(
    ("headers", "refusal"),
    [
        ({}, "missing websocket bearer token"),
        ({"Authorization": "Bearer wrong"}, "invalid websocket bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "invalid authorization header"),
        ({"Authorization": "Bearer"}, "invalid authorization header"),
    ],
)
async def test_a_token_server_refuses_clients_without_it(
    token_server: ServerProcess, headers: dict[str, str], refusal: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(token_server.url, additional_headers=headers, open_timeout=TIMEOUT):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert response.body is not None
    assert response.body.decode().strip() == refusal
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_token_server_serves_clients_with_it(token_server: ServerProcess) -> None:
    assert "Authorization: Bearer" in token_server.stderr  # it says what clients must send
    async with client(token_server.url, TOKEN) as ws:
        await initialize(ws)
        reply, _ = await call(ws, 1, "thread/read", {"threadId": A})
        assert reply["result"]["thread"]["id"] == A
        bad, others = await call(ws, 2, "thread/read", {"threadId": "nope"})
        assert is_error_reply(bad)
        assert others == []


@pytest.mark.parametrize("address", ["0.0.0.0", "[::]"])
def test_a_non_loopback_address_needs_a_token(tmp_path: Path, address: str) -> None:
    """Refused before anything is bound (the check precedes listening)."""
    process = ServerProcess(tmp_path, "--listen", f"ws://{address}:0")
    assert process.wait_exit() != 0
    assert "without a token" in process.stderr
    assert "listening on" not in process.stderr
    process.stop()


def test_a_port_in_use_is_a_clear_error(server: ServerProcess, tmp_path: Path) -> None:
    second = ServerProcess(tmp_path, "--listen", server.url)
    assert second.wait_exit() == 1
    assert f"cannot listen on {server.url}" in " ".join(second.stderr.split())
    second.stop()


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, "--listen", "ws://127.0.0.1:0") as process:
        process.wait_listening()
        assert process.stop() == 0


async def test_a_client_that_stops_reading_is_disconnected() -> None:
    """In process, with a small outbox: a client that lets 1 MB replies pile up unread is
    closed (1008) before they are all sent; other clients are unaffected."""
    app = AppServer(InMemoryThreadStore(), ServerConfig())
    try:
        async with WebSocketServer(app, outbox_limit=4) as ws_server:
            await ws_server.start("127.0.0.1", 0)
            async with client(ws_server.url) as other:
                await initialize(other)
                slow_client = connect(ws_server.url, max_size=None, max_queue=1)
                async with slow_client as slow:
                    await initialize(slow)
                    method = "m" * (1 << 20)  # echoed in each unknown-method error
                    for request_id in range(64):
                        await slow.send(json.dumps({"id": request_id, "method": method}))
                    replies, code = await drain(slow)
                assert code == 1008
                assert replies < 64
                reply, _ = await call(other, 1, "thread/loaded/list", {})
                assert "result" in reply, reply
    finally:
        await app.close()


async def drain(ws: ClientConnection) -> tuple[int, int | None]:
    """Read until the connection closes: how many messages, and the close code received."""
    count = 0
    while True:
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed as closed:
            return count, None if closed.rcvd is None else closed.rcvd.code
        count += 1

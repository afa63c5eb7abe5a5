"""Setting an app server up: --listen URLs, the store it serves, its settings, the bind check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from threadloom.errors import InvalidRequest, Unsupported
from threadloom.server.main import (
    DEFAULT_OWNER,
    Listen,
    ListenError,
    config_for_home,
    open_store,
    parse_listen,
    serve,
)
from threadloom.server.websocket import WebSocketServer, is_loopback, ws_url
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import ListThreadsParams
from threadloom.testing import write_rollout

from .app_server_process import postgres_store_url

A = "019a0000-0000-7000-8000-0000000000a1"


@pytest.mark.parametrize(
    ("url", "listen"),
    [
        ("stdio://", Listen()),
        ("ws://127.0.0.1:0", Listen("127.0.0.1", 0)),
        ("ws://127.0.0.1:8765", Listen("127.0.0.1", 8765)),
        ("ws://[::1]:65535", Listen("::1", 65535)),
        ("ws://0.0.0.0:80", Listen("0.0.0.0", 80)),
    ],
)
def test_listen_urls_codex_accepts(url: str, listen: Listen) -> None:
    assert parse_listen(url) == listen
    assert parse_listen(url).stdio == (url == "stdio://")


@pytest.mark.parametrize(
    "url",
    [
        "ws://localhost:8765",  # a name, not an IP literal
        "ws://127.0.0.1",
        "ws://127.0.0.1:",
        "ws://127.0.0.1:65536",
        "ws://127.0.0.1:-1",
        "ws://127.0.0.1:８０",  # non-ASCII digits
        "ws://::1:80",  # IPv6 without brackets
        "ws://[127.0.0.1]:80",  # IPv4 in brackets
        "http://127.0.0.1:80",
        "wss://127.0.0.1:80",
        "stdio",
        "",
    ],
)
def test_listen_urls_refused(url: str) -> None:
    with pytest.raises(ListenError) as refused:
        parse_listen(url)
    assert f"`{url}`" in refused.value.message
    assert isinstance(refused.value, InvalidRequest)


def test_only_loopback_is_open_without_a_token() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]"):
        assert is_loopback(host)
        WebSocketServer.check_address(host, None)
    for host in ("0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "localhost", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(ListenError, match="without a token"):
            WebSocketServer.check_address(host, None)
        WebSocketServer.check_address(host, "a token")  # allowed with one
    assert ws_url("::1", 80) == ws_url("[::1]", 80) == "ws://[::1]:80"


async def test_a_non_loopback_address_is_refused_before_anything_is_opened(
    tmp_path: Path,
) -> None:
    with pytest.raises(ListenError, match="without a token"):
        await serve(tmp_path, "ws://0.0.0.0:0")
    with pytest.raises(ListenError, match="without a token"):
        await serve(tmp_path, "ws://0.0.0.0:0", token="   ")  # blank is no token
    assert list(tmp_path.iterdir()) == []  # not even the store's index was created


def test_settings_come_from_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('model = "gpt-5"\nmodel_provider = "mine"\n')
    config = config_for_home(tmp_path)
    assert (config.codex_home, config.model, config.model_provider) == (tmp_path, "gpt-5", "mine")
    (tmp_path / "config.toml").write_text("model = [unclosed\n")
    broken = config_for_home(tmp_path)
    assert (broken.model, broken.model_provider) == (None, "openai")


async def test_the_local_store_of_the_home_or_of_a_path(tmp_path: Path) -> None:
    home, other = tmp_path / "home", tmp_path / "other"
    write_rollout(other, A, created=1_760_000_000_000)
    for spec, root in [(None, home), (str(other), other), (f"file://{other}", other)]:
        store = await open_store(spec, home, default_provider="openai")
        try:
            assert isinstance(store, LocalThreadStore)
            assert store.home.root == root
            page = await store.list_threads(ListThreadsParams())
            assert [t.thread_id for t in page.items] == ([A] if root == other else [])
        finally:
            await store.close()


async def test_the_default_provider_is_the_servers(tmp_path: Path) -> None:
    write_rollout(tmp_path, A, created=1_760_000_000_000, model_provider="openai")
    store = await open_store(str(tmp_path), tmp_path / "home", default_provider="mine")
    try:
        assert (await store.list_threads(ListThreadsParams())).items == []
        everyone = await store.list_threads(ListThreadsParams(model_providers=[]))
        assert [t.thread_id for t in everyone.items] == [A]
    finally:
        await store.close()


async def test_store_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequest, match="unsupported store `mysql://x`"):
        await open_store("mysql://x", tmp_path)
    with pytest.raises(InvalidRequest, match="only applies to a postgresql:// store"):
        await open_store(None, tmp_path, owner="alice")
    with pytest.raises(InvalidRequest, match="owner must not be empty"):
        await open_store("postgresql://127.0.0.1/x", tmp_path, owner=" ")
    monkeypatch.setitem(sys.modules, "threadloom.store.postgres", None)  # the extra is missing
    for url in ("postgresql://127.0.0.1/x", "postgres://127.0.0.1/x"):
        with pytest.raises(Unsupported) as missing:
            await open_store(url, tmp_path)
        assert "pip install 'threadloom[postgres]'" in missing.value.message
    assert list(tmp_path.iterdir()) == []


async def test_a_postgresql_store_for_an_owner(tmp_path: Path) -> None:
    url = postgres_store_url()
    from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415 - optional

    from ..store.postgres import server  # noqa: PLC0415

    owner = server.new_owner()
    store = await open_store(url, tmp_path, owner=owner, default_provider="mine")
    default = await open_store(url, tmp_path)
    try:
        assert isinstance(store, PostgresThreadStore)
        assert (store.owner, store.default_provider) == (owner, "mine")
        assert isinstance(default, PostgresThreadStore)
        assert default.owner == DEFAULT_OWNER
    finally:
        await store.close()
        await default.close()

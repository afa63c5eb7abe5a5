"""``threadloom app-server``: stdio by default, --listen, --token, --store, --owner."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from threadloom.cli.app import app
from threadloom.testing import write_rollout

from ..conformance.builders import make_thread
from ..server.app_server_process import (
    INITIALIZE,
    ServerProcess,
    StdioClient,
    postgres_store_url,
)

runner = CliRunner()
A = "019a0000-0000-7000-8000-0000000000a1"
B = "019a0000-0000-7000-8000-0000000000b2"


def words(output: str) -> str:
    """``output`` on one line (rich wraps long errors)."""
    return " ".join(output.split())


def listed_ids(client: StdioClient, request_id: str, **params: object) -> list[str]:
    reply, _ = client.request(request_id, "thread/list", params)
    assert "result" in reply, reply
    return [thread["id"] for thread in reply["result"]["data"]]


def test_without_options_it_serves_json_lines_on_stdio(tmp_path: Path) -> None:
    write_rollout(tmp_path, A, created=1_760_000_000_000)
    with ServerProcess(tmp_path) as server:
        client = StdioClient(server)
        assert client.initialize()["codexHome"] == str(tmp_path)
        assert listed_ids(client, "list") == [A]
        assert server.proc.stdin is not None
        server.proc.stdin.close()  # stdin closing ends the server
        assert server.wait_exit() == 0
    assert server.stderr == ""  # nothing said on stdio's side channel


def test_sigterm_ends_a_stdio_server_cleanly(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        StdioClient(server).initialize()
        assert server.stop() == 0


def test_store_path_serves_another_home_with_the_homes_settings(tmp_path: Path) -> None:
    home, other = tmp_path / "home", tmp_path / "other"
    home.mkdir()
    (home / "config.toml").write_text('model_provider = "mine"\n')
    write_rollout(other, A, created=1_760_000_000_000, model_provider="openai")
    write_rollout(other, B, created=1_760_000_100_000, model_provider="mine")
    with ServerProcess(home, "--store", str(other)) as server:
        client = StdioClient(server)
        assert client.initialize()["codexHome"] == str(home)
        assert listed_ids(client, "mine") == [B]  # the home's default provider
        assert listed_ids(client, "all", modelProviders=[]) == [B, A]
    assert not (home / "sessions").exists()


def test_store_postgresql_serves_one_owners_threads(tmp_path: Path) -> None:
    url = postgres_store_url()
    from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415 - optional

    from ..store.postgres.server import new_owner  # noqa: PLC0415

    alice, bob = new_owner(), new_owner()

    async def seed() -> str:
        store = PostgresThreadStore(url, owner=alice)
        try:
            return str(await make_thread(store, preview="hello from postgres"))
        finally:
            await store.close()

    thread_id = asyncio.run(seed())
    with ServerProcess(tmp_path, "--store", url, "--owner", alice) as server:
        client = StdioClient(server)
        client.initialize()
        assert listed_ids(client, "alice") == [thread_id]
        read, _ = client.request("read", "thread/read", {"threadId": thread_id})
        assert read["result"]["thread"]["preview"] == "hello from postgres"
    with ServerProcess(tmp_path, "--store", url, "--owner", bob) as server:
        client = StdioClient(server)
        client.initialize()
        assert listed_ids(client, "bob") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "http://127.0.0.1:1"], "unsupported --listen URL"),
        (["--listen", "ws://localhost:1"], "invalid websocket --listen URL"),
        (["--listen", "ws://0.0.0.0:0"], "without a token"),
        (["--listen", "ws://0.0.0.0:0", "--token", " "], "without a token"),
        (["--owner", "alice"], "only applies to a postgresql:// store"),
        (["--store", "mysql://db"], "unsupported store"),
    ],
)
def test_refusals_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["app-server", "--home", str(tmp_path), *args])
    assert result.exit_code == 1
    assert message in words(result.output)
    assert list(tmp_path.iterdir()) == []  # refused before the store was opened


def test_a_missing_postgres_extra_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "threadloom.store.postgres", None)
    args = ["app-server", "--home", str(tmp_path), "--store", "postgresql://127.0.0.1/x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "needs the postgres extra (pip install 'threadloom[postgres]')" in words(result.output)


def test_token_option(tmp_path: Path) -> None:
    """(``THREADLOOM_APP_SERVER_TOKEN`` is tested in tests/server/test_websocket.py.)"""
    with ServerProcess(tmp_path, "--listen", "ws://127.0.0.1:0", "--token", "t1") as server:
        url = server.wait_listening()
        assert "Authorization: Bearer <token>" in server.stderr
        with pytest.raises(InvalidStatus) as refused, ws_connect(url, open_timeout=30):
            pass
        assert refused.value.response.status_code == 401
        with ws_connect(url, additional_headers={"Authorization": "Bearer t1"}) as ws:
            ws.send(json.dumps({"id": 1, "method": "initialize", "params": INITIALIZE}))
            assert "result" in json.loads(ws.recv(30))


def test_help_documents_the_options() -> None:
    result = runner.invoke(app, ["app-server", "--help"])
    assert result.exit_code == 0
    for option in ("--listen", "--token", "--store", "--owner", "THREADLOOM_APP_SERVER_TOKEN"):
        assert option in result.output


def test_scripts_run_without_arguments_serves_codex_home_over_websocket(tmp_path: Path) -> None:
    """The README's main job: ``scripts/run`` (here on a free port instead of 8765)."""
    write_rollout(tmp_path, A, created=1_760_000_000_000)
    script = Path(__file__).resolve().parents[2] / "scripts" / "run"
    env = {"CODEX_HOME": str(tmp_path), "THREADLOOM_PORT": "0"}
    with ServerProcess(tmp_path, env=env, argv=[str(script)]) as server:
        url = server.wait_listening(timeout=300)  # (bootstrap installs on a fresh checkout)
        assert url.startswith("ws://127.0.0.1:")
        with ws_connect(url, open_timeout=30) as ws:
            ws.send(json.dumps({"id": 1, "method": "initialize", "params": INITIALIZE}))
            assert json.loads(ws.recv(30))["result"]["codexHome"] == str(tmp_path)
            ws.send(json.dumps({"id": 2, "method": "thread/list", "params": {}}))
            assert [t["id"] for t in json.loads(ws.recv(30))["result"]["data"]] == [A]
        assert server.stop() == 0


def test_the_command_sets_the_servers_collector_thresholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc  # noqa: PLC0415 - this test only

    from threadloom.server import main as server_main  # noqa: PLC0415

    served: list[Path] = []

    async def serve(home: Path, *args: object) -> None:
        served.append(home)

    monkeypatch.setattr(server_main, "serve", serve)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's default (an earlier command may have run here)
    try:
        result = runner.invoke(app, ["app-server", "--home", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert gc.get_threshold() == server_main.GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)
    assert served == [tmp_path]

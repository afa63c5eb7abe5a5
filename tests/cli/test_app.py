"""The CLI is a thin layer over the library: same answers, readable output, clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadloom.api.thread import list_result_json
from threadloom.cli.app import app
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import ListThreadsParams, SortDirection, SortKey
from threadloom.testing import write_rollout

runner = CliRunner()
A = "019a0000-0000-7000-8000-0000000000a1"
B = "019a0000-0000-7000-8000-0000000000b2"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    write_rollout(tmp_path, A, created=1_760_000_000_000, messages=("fix the flaky test",))
    write_rollout(tmp_path, B, created=1_760_000_100_000, messages=("write the changelog",))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def library_list(home: Path, params: ListThreadsParams) -> dict[str, object]:
    async def go() -> dict[str, object]:
        store = LocalThreadStore(home, watch=False)
        try:
            return list_result_json(await store.list_threads(params))
        finally:
            await store.close()

    return asyncio.run(go())


def test_list_json_prints_exactly_the_thread_list_result(home: Path) -> None:
    code, output = invoke("list", "--home", str(home), "--json", "--limit", "1")
    assert code == 0
    assert json.loads(output) == library_list(home, ListThreadsParams(limit=1))
    assert json.loads(output)["nextCursor"] is not None


def test_list_flags_mirror_the_params(home: Path) -> None:
    args = [
        "list",
        "--home",
        str(home),
        "--json",
        "--all-providers",
        "--source",
        "cli",
        "--sort-key",
        "updated_at",
        "--sort-direction",
        "asc",
        "--search",
        "changelog",
    ]
    code, output = invoke(*args)
    assert code == 0
    expected = ListThreadsParams(
        model_providers=[],
        source_kinds=["cli"],
        sort_key=SortKey.UPDATED_AT,
        sort_direction=SortDirection.ASC,
        search_term="changelog",
    )
    assert json.loads(output) == library_list(home, expected)
    assert [t["id"] for t in json.loads(output)["data"]] == [B]


def test_list_shows_a_readable_table(home: Path) -> None:
    code, output = invoke("list", "--home", str(home))
    assert code == 0
    assert "flaky" in output
    assert "changelog" in output


def test_show_prints_metadata_and_the_conversation(home: Path) -> None:
    code, output = invoke("show", A, "--home", str(home))
    assert code == 0
    assert "fix the flaky test" in output
    code, output = invoke("show", A, "--home", str(home), "--json")
    assert json.loads(output)["thread"]["id"] == A


def test_search_finds_what_was_said(home: Path) -> None:
    code, output = invoke("search", "changelog", "--home", str(home), "--json")
    assert code == 0
    data = json.loads(output)["data"]
    assert [hit["thread"]["id"] for hit in data] == [B]
    assert "changelog" in data[0]["snippet"]


def test_rename_archive_unarchive_delete_round_trip(home: Path) -> None:
    assert invoke("rename", A, "Flaky", "--home", str(home))[0] == 0
    listed = json.loads(invoke("list", "--home", str(home), "--json")[1])
    assert {t["id"]: t["name"] for t in listed["data"]}[A] == "Flaky"
    assert invoke("archive", A, "--home", str(home))[0] == 0
    archived = json.loads(invoke("list", "--home", str(home), "--json", "--archived")[1])
    assert [t["id"] for t in archived["data"]] == [A]
    assert invoke("unarchive", A, "--home", str(home))[0] == 0
    assert invoke("delete", A, "--home", str(home), "--yes")[0] == 0
    listed = json.loads(invoke("list", "--home", str(home), "--json")[1])
    assert [t["id"] for t in listed["data"]] == [B]


def test_delete_asks_first(home: Path) -> None:
    result = runner.invoke(app, ["delete", A, "--home", str(home)], input="n\n")
    assert result.exit_code == 1
    listed = json.loads(invoke("list", "--home", str(home), "--json")[1])
    assert A in [t["id"] for t in listed["data"]]


def test_bad_ids_and_unknown_threads_are_clear_errors(home: Path) -> None:
    code, output = invoke("show", "../../etc/passwd", "--home", str(home))
    assert code == 2
    assert "invalid thread id" in output
    code, output = invoke("archive", "019a0000-0000-7000-8000-0000000000ff", "--home", str(home))
    assert code == 1
    assert "no rollout found" in output


def test_index_refreshes_and_rebuilds(home: Path) -> None:
    code, output = invoke("index", "--home", str(home))
    assert code == 0
    assert "2 threads indexed" in output
    code, output = invoke("index", "--home", str(home), "--rebuild")
    assert code == 0
    assert "2 threads indexed" in output


def test_codex_home_environment_variable_is_honoured(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(home))
    code, output = invoke("list", "--json")
    assert code == 0
    assert len(json.loads(output)["data"]) == 2

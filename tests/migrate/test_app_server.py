"""``threadloom app-server`` answers the same from a home and from PostgreSQL (after migrating
the home), except the fields that name files."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from threadloom.migrate import migrate_home_to_postgres

from ..server.app_server_process import ServerProcess, StdioClient, postgres_store_url
from .homes import make_home, thread_ids

pytestmark = pytest.mark.process

LISTINGS: list[dict[str, Any]] = [
    {},
    {"limit": 40, "modelProviders": [], "sourceKinds": []},
    {"limit": 40, "sortKey": "updated_at", "sortDirection": "asc", "modelProviders": []},
    {"limit": 40, "sortKey": "recency_at", "modelProviders": [], "sourceKinds": ["exec"]},
    {"archived": True, "modelProviders": []},
    {"searchTerm": "quokka", "modelProviders": []},
]


def without_paths(value: Any) -> Any:
    """A reply with every ``path`` member left out (it names a file of one store)."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items() if k != "path"}
    if isinstance(value, list):
        return [without_paths(v) for v in value]
    return value


def answers(client: StdioClient, ids: Sequence[str]) -> list[Any]:
    """Every page of each listing, then every thread read with its turns."""
    out: list[Any] = []
    for n, params in enumerate(LISTINGS):
        cursor = None
        for page in range(20):
            request = params if cursor is None else {**params, "cursor": cursor}
            reply, _ = client.request(f"list-{n}-{page}", "thread/list", request)
            out.append(without_paths(reply))
            cursor = reply.get("result", {}).get("nextCursor")
            if cursor is None:
                break
    for tid in ids:
        reply, _ = client.request(f"read-{tid}", "thread/read", {"threadId": tid})
        out.append(without_paths(reply))
        reply, _ = client.request(
            f"turns-{tid}", "thread/read", {"threadId": tid, "includeTurns": True}
        )
        out.append(without_paths(reply))
    return out


def test_the_app_server_answers_the_same_from_postgres_as_from_the_home(
    tmp_path: Path,
) -> None:
    url = postgres_store_url()
    from ..store.postgres import server  # noqa: PLC0415 - after the skip above

    owner = server.new_owner()
    home = asyncio.run(make_home(tmp_path / "home"))
    ids = asyncio.run(thread_ids(home))
    report = asyncio.run(migrate_home_to_postgres(home, url, owner=owner))
    assert report.verified, report.mismatches()

    with ServerProcess(home) as local:
        client = StdioClient(local)
        client.initialize()
        expected = answers(client, ids)
    with ServerProcess(home, "--store", url, "--owner", owner) as postgres:
        client = StdioClient(postgres)
        client.initialize()
        found = answers(client, ids)

    assert sum("result" in reply for reply in expected) > len(ids)
    for want, got in zip(expected, found, strict=True):
        assert got == want

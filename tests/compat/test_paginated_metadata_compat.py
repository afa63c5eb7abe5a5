"""Git and memory mode of paginated threads live in Codex's database: both sides see alike."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from threadloom.api.thread import git_info_json
from threadloom.ids import ThreadId
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import (
    GitInfoPatch,
    ReadThreadParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
)
from threadloom.testing import CompatHome

pytestmark = pytest.mark.compat


def read_local(home: Path, thread_id: str) -> tuple[dict[str, Any] | None, str]:
    async def go() -> tuple[dict[str, Any] | None, str]:
        store = LocalThreadStore(home, watch=False)
        try:
            got = await store.read_thread(ReadThreadParams(thread_id=ThreadId(thread_id)))
        finally:
            await store.close()
        return git_info_json(got), got.memory_mode

    return asyncio.run(go())


def test_threadloom_reads_what_codex_set_on_a_paginated_thread(
    varied_home: CompatHome, codex_peer_factory: Any, tmp_path: Path
) -> None:
    home = varied_home.copy_to(tmp_path / "home")
    thread_id = varied_home.paginated.conversation
    peer = codex_peer_factory(home)
    git = {"sha": "0123abc", "branch": "codex-branch", "originUrl": "https://example.com/r.git"}
    peer.call("thread/metadata/update", {"threadId": thread_id, "gitInfo": git})
    theirs = peer.call("thread/read", {"threadId": thread_id})["thread"]
    assert theirs["gitInfo"] == git
    mine, _ = read_local(home, thread_id)
    assert mine == theirs["gitInfo"]


def test_codex_reads_what_threadloom_set_on_a_paginated_thread(
    varied_home: CompatHome, codex_peer_factory: Any, tmp_path: Path
) -> None:
    home = varied_home.copy_to(tmp_path / "home")
    thread_id = varied_home.paginated.conversation
    peer = codex_peer_factory(home)
    peer.call("thread/list", {"limit": 5})  # Codex has built its rows

    async def update() -> None:
        store = LocalThreadStore(home, watch=False)
        try:
            patch = ThreadMetadataPatch(git=GitInfoPatch(branch="from-threadloom"))
            await store.update_thread_metadata(
                UpdateThreadMetadataParams(thread_id=ThreadId(thread_id), patch=patch)
            )
        finally:
            await store.close()

    asyncio.run(update())
    theirs = peer.call("thread/read", {"threadId": thread_id})["thread"]
    mine, _ = read_local(home, thread_id)
    assert theirs["gitInfo"] is not None
    assert theirs["gitInfo"]["branch"] == "from-threadloom"
    assert mine == theirs["gitInfo"]

"""The Codex peer starts, answers, lists the varied home as predicted, and stops."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import (
    ALL_SOURCE_KINDS,
    CodexPeer,
    CompatHome,
    list_all_threads,
    without_noise,
)

pytestmark = pytest.mark.compat

PeerFactory = Callable[..., CodexPeer]


def _first_line(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        value = json.loads(fh.readline())
    assert isinstance(value, dict)
    return value


def test_peer_handshake_answers_requests_and_hides_startup_noise(
    codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    peer = codex_peer_factory(tmp_path / "home")
    assert peer.initialize_result["codexHome"] == str(tmp_path / "home")
    assert (tmp_path / "home" / "config.toml").is_file()

    reply = peer.request("thread/nonexistent", {})
    assert reply["error"]["code"] == -32600
    assert "result" not in reply

    everything = peer.notifications(include_noise=True)
    assert without_noise(everything) == peer.notifications()
    assert all(n.get("method") != "configWarning" for n in peer.notifications())

    started = peer.call("thread/start", {"cwd": str(tmp_path)})
    thread_id = started["thread"]["id"]
    note = peer.wait_for("thread/started")
    assert note["params"]["thread"]["id"] == thread_id
    taken = peer.take_notifications()
    assert any(n.get("method") == "thread/started" for n in taken)
    assert peer.take_notifications() == []

    assert peer.close() is not None
    assert peer.proc.poll() is not None


def test_peer_lists_every_listable_thread_of_the_varied_home(
    varied_home: CompatHome, codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    home = varied_home.copy_to(tmp_path / "home")
    peer = codex_peer_factory(home)

    listed = list_all_threads(
        peer, {"modelProviders": [], "sourceKinds": list(ALL_SOURCE_KINDS)}, limit=50
    )

    expected = varied_home.expected_list_ids(source_kinds=ALL_SOURCE_KINDS, model_providers=[])
    assert len(listed) == len(expected) >= 250
    assert [t["id"] for t in listed] == expected


def test_peer_scanning_list_matches_previews_names_and_times(
    varied_home: CompatHome, codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    home = varied_home.copy_to(tmp_path / "home")
    peer = codex_peer_factory(home)

    listed = list_all_threads(peer, {"modelProviders": []})

    assert [t["id"] for t in listed] == varied_home.expected_list_ids(
        source_kinds=None, model_providers=[]
    )
    manifest = varied_home.manifest
    generated = {r.id: r for r in manifest.threads}
    for thread in listed:
        record = generated.get(thread["id"])
        if record is None:
            continue
        assert thread["preview"] == record.preview
        assert thread["name"] == record.name
        assert thread["createdAt"] == record.created_ms // 1000
        assert thread["updatedAt"] == record.updated_ms // 1000
        assert thread["cwd"] == record.cwd
        assert thread["model"] == record.model


def test_archived_listing_matches_the_manifest(
    varied_home: CompatHome, codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    home = varied_home.copy_to(tmp_path / "home")
    peer = codex_peer_factory(home)

    listed = list_all_threads(
        peer, {"archived": True, "modelProviders": [], "sourceKinds": list(ALL_SOURCE_KINDS)}
    )

    expected = varied_home.expected_list_ids(archived=True)
    assert [t["id"] for t in listed] == expected
    assert all("/archived_sessions/" in t["path"] for t in listed)


def test_codex_wrote_paginated_threads_and_a_fork_based_on_the_parent_file(
    varied_home: CompatHome,
) -> None:
    paths = {
        _first_line(p)["payload"]["id"]: p
        for p in (varied_home.path / "sessions").rglob("*.jsonl")
        if _first_line(p).get("type") == "session_meta"
    }
    threads = varied_home.paginated
    for thread_id in threads.all_ids:
        first = _first_line(paths[thread_id])
        assert first["payload"]["history_mode"] == "paginated"
        assert "ordinal" in first

    fork_meta = _first_line(paths[threads.fork])["payload"]
    assert fork_meta["forked_from_id"] == threads.conversation
    base = fork_meta["history_base"]
    assert base["thread_id"] == threads.conversation
    assert base["end_byte_offset"] <= paths[threads.conversation].stat().st_size
    assert (varied_home.path / "thread_history_1.sqlite").is_file()
    assert not (varied_home.path / "state_5.sqlite").exists()

"""Turn reconstruction: ``build_turns`` gives field for field the ``turns`` Codex returns.

Codex 0.169.0 runs as a peer on a copy of the varied home, plus one hand-made rollout per
reconstruction rule (``tests/protocol/data/turn_cases.json``: legacy and paginated). For each
thread, ``thread/read {includeTurns: true}`` is compared whole (key order included) with
``build_turns`` over the same file read by ``store.local.reader``; paginated forks get their
parent's lines below ``history_base`` first. Codex answers paginated threads from its
projection database, so the hand-made paginated rollouts are projected by ``thread/resume``
first (the varied home's paginated threads were projected when Codex wrote them).

Also checked: every case's turns are still the ones recorded in the fixture (so the unit
tests stay true to the binary); ``thread/turns/list`` paged in both directions holds the same
turns; forks Codex writes (re-serialised lines, interruption markers) rebuild as Codex reads
them. Nothing is normalised except the random id Codex gives an id-less hook prompt message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadloom.protocol.codec import LineError, decode_line, encode_json
from threadloom.protocol.rollout import SESSION_META, RolloutLine
from threadloom.protocol.turns import build_turns, history_base
from threadloom.store.local.reader import iter_lines, iter_raw_lines, open_rollout
from threadloom.testing import CodexPeer, CompatHome

pytestmark = pytest.mark.compat

DATA = Path(__file__).parents[1] / "protocol" / "data" / "turn_cases.json"
CASES: dict[str, dict[str, Any]] = json.loads(DATA.read_text("utf-8"))["cases"]
CASE_DAY = Path("sessions", "2025", "01", "01")
HOOK_THREAD = "019a0000-0000-7000-9000-00000000f00d"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FORKED_CASES = ("superseded_turn", "rollback_two_renumbers", "hook_prompts")


class Home:
    """A home copy served by one Codex peer; rollouts found by thread id."""

    def __init__(self, root: Path, peer: CodexPeer) -> None:
        self.root = root
        self.peer = peer
        self.paths: dict[str, Path] = {}
        for path in [*root.glob("sessions/**/rollout-*"), *root.glob("archived_sessions/*")]:
            thread_id = meta_id(path)
            if thread_id is not None:
                self.paths.setdefault(thread_id, path)

    def codex_turns(self, thread_id: str) -> list[dict[str, Any]] | None:
        reply = self.peer.request("thread/read", {"threadId": thread_id, "includeTurns": True})
        if "result" not in reply:
            return None
        turns: list[dict[str, Any]] = reply["result"]["thread"]["turns"]
        return turns

    def lines(self, path: Path, end: int | None = None) -> list[RolloutLine]:
        """A rollout's lines, inherited parent lines first; only those before ``end``."""
        lines = list(iter_lines(path)) if end is None else _prefix(path, end)
        first = next((line for line in lines if line.type == SESSION_META), None)
        base = None if first is None else history_base(first)
        if base is None:
            return lines
        return self.lines(self.paths[base.thread_id], base.end_byte_offset) + lines

    def our_turns(self, thread_id: str) -> list[dict[str, Any]]:
        return build_turns(self.lines(self.paths[thread_id]))


def meta_id(path: Path) -> str | None:
    for line in iter_lines(path):
        if line.type == SESSION_META and isinstance(line.payload, dict):
            value = line.payload.get("id")
            return value.lower() if isinstance(value, str) else None
    return None


def _prefix(path: Path, end: int) -> list[RolloutLine]:
    out: list[RolloutLine] = []
    with open_rollout(path) as stream:
        for offset, raw, complete in iter_raw_lines(stream):
            if offset >= end:
                break
            if complete and raw.strip():
                try:
                    out.append(decode_line(raw))
                except LineError:
                    continue
    return out


def write_rollout(root: Path, thread_id: str, entries: list[Any]) -> None:
    folder = root / CASE_DAY
    folder.mkdir(parents=True, exist_ok=True)
    data = b"".join(
        (entry.encode() if isinstance(entry, str) else encode_json(entry)) + b"\n"
        for entry in entries
    )
    (folder / f"rollout-2025-01-01T00-00-00-{thread_id}.jsonl").write_bytes(data)


def hook_rollout() -> list[dict[str, Any]]:
    ts = "2025-01-01T00:00:00.000Z"
    meta = {"id": HOOK_THREAD, "timestamp": ts, "cwd": "/p", "originator": "o", "cli_version": "0"}
    text = '<hook_prompt hook_run_id="run-1">no id</hook_prompt>'
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return [
        {"timestamp": ts, "type": "session_meta", "payload": meta},
        {"timestamp": ts, "type": "event_msg", "payload": {"type": "user_message", "message": "q"}},
        {"timestamp": ts, "type": "response_item", "payload": message},
    ]


@pytest.fixture(scope="module")
def home(
    varied_home: CompatHome, codex_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Home]:
    root = varied_home.copy_to(tmp_path_factory.mktemp("turns") / "home")
    for case in CASES.values():
        write_rollout(root, case["thread"], case["rollout"])
    write_rollout(root, HOOK_THREAD, hook_rollout())
    with CodexPeer(root, binary=codex_bin) as peer:
        for case in CASES.values():
            if case["mode"] == "paginated":
                reply = peer.request(
                    "thread/resume", {"threadId": case["thread"], "excludeTurns": True}
                )
                assert "result" in reply, reply
        yield Home(root, peer)


def test_every_thread_of_the_varied_home_has_the_turns_codex_shows(
    home: Home, varied_home: CompatHome
) -> None:
    ids = [r.id for r in varied_home.manifest.threads if r.readable]
    ids += varied_home.paginated.all_ids
    compared = with_turns = 0
    for thread_id in ids:
        theirs = home.codex_turns(thread_id)
        assert theirs is not None, thread_id
        mine = home.our_turns(thread_id)
        assert mine == theirs, thread_id
        assert json.dumps(mine) == json.dumps(theirs), f"key order in {thread_id}"
        compared += 1
        with_turns += bool(theirs)
    assert compared >= 300
    assert with_turns >= 250
    fork = home.codex_turns(varied_home.paginated.fork)
    assert fork
    assert fork == home.codex_turns(varied_home.paginated.conversation)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_rule_case_has_the_turns_codex_shows(home: Home, name: str) -> None:
    case = CASES[name]
    theirs = home.codex_turns(case["thread"])
    assert theirs is not None
    mine = home.our_turns(case["thread"])
    assert json.dumps(mine) == json.dumps(theirs)
    assert json.dumps(theirs) == json.dumps(case["turns"]), "fixture out of date"


def turns_list(peer: CodexPeer, thread_id: str, direction: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "threadId": thread_id,
        "itemsView": "full",
        "sortDirection": direction,
        "limit": 2,
    }
    while True:
        result = peer.call("thread/turns/list", params)
        out.extend(result["data"])
        if result["nextCursor"] is None:
            return out
        params["cursor"] = result["nextCursor"]


def test_turns_list_pages_hold_the_same_turns(home: Home, varied_home: CompatHome) -> None:
    names = [n for n, c in CASES.items() if c["mode"] == "paginated"]
    names += ["superseded_turn", "many_implicit_turns", "rollback_two_renumbers"]
    ids = [CASES[n]["thread"] for n in names] + list(varied_home.paginated.all_ids)
    for thread_id in ids:
        mine = home.our_turns(thread_id)
        assert turns_list(home.peer, thread_id, "asc") == mine, thread_id
        assert turns_list(home.peer, thread_id, "desc") == mine[::-1], thread_id


def test_forks_written_by_codex_rebuild_as_codex_reads_them(home: Home) -> None:
    """Also: the fork reply's turns are the loaded view (``loaded=True``): a superseded turn
    of the source that never completed is still ``inProgress`` there, ``interrupted`` when
    the fork is read."""
    for name in FORKED_CASES:
        thread = home.peer.call("thread/fork", {"threadId": CASES[name]["thread"]})["thread"]
        path = home.paths[thread["id"]] = Path(thread["path"])
        theirs = home.codex_turns(thread["id"])
        assert theirs, name
        assert json.dumps(home.our_turns(thread["id"])) == json.dumps(theirs), name
        loaded = build_turns(home.lines(path), loaded=True)
        assert json.dumps(loaded) == json.dumps(thread["turns"]), name
        if name == "superseded_turn":
            assert [t["status"] for t in thread["turns"]] == ["inProgress", "completed"]
            assert [t["status"] for t in theirs] == ["interrupted", "completed"]


def test_an_id_less_hook_prompt_gets_a_fresh_uuid_in_both(home: Home) -> None:
    theirs = home.codex_turns(HOOK_THREAD)
    mine = home.our_turns(HOOK_THREAD)
    assert theirs is not None
    hook_ids = [turns[0]["items"][1]["id"] for turns in (mine, theirs)]
    assert all(UUID.fullmatch(value) for value in hook_ids)
    assert hook_ids[0] != hook_ids[1]
    mine[0]["items"][1]["id"] = hook_ids[1]
    assert json.dumps(mine) == json.dumps(theirs)

"""Every line the real Codex 0.169.0 writes round-trips through the codec and the typed models.

One module-scoped run of the binary makes it write: a legacy and a paginated thread (name,
shell command, interrupted user turn, injected response items of many kinds, git metadata
update, fork each), a fork of a planted legacy rollout full of old and odd shapes (Codex's copy
of each planted line is its canonical rewrite, or nothing when it refuses the line), and a
``codex migrate-rollouts`` conversion of planted legacy events into paginated turn items.
"""
# ruff: noqa: E501 - the planted payload table holds one compact JSON document per line

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from threadloom.protocol.codec import (
    decode_line,
    encode_json,
    encode_line,
    format_timestamp,
    parse_timestamp_ms,
)
from threadloom.protocol.items import (
    GhostSnapshot,
    ItemCompleted,
    Malformed,
    RawTurnItem,
    UnknownItem,
    parse_item,
    parse_payload,
)
from threadloom.protocol.policy import kept_on_read
from threadloom.testing import CodexPeer
from threadloom.testing.codex_peer import interrupted_user_turn, shell_command, write_peer_config
from threadloom.testing.fake_rollouts import rollout_path

pytestmark = pytest.mark.compat

PLANTED_ID = "019a0000-0000-7000-9000-000000000010"
MIGRATED_ID = "019a0000-0000-7000-9000-000000000011"
OLD_TS = "2025-03-01T10:00:00.000Z"
MARK = "MARK "
SPECIAL_TEXT = 'caf\u00e9 \u2028 \x07 \x7f / "q" \\ \U0001d11e'

INJECTED: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": SPECIAL_TEXT}]},
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "reply"}],
        "phase": "final_answer",
    },
    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
    {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "s"}],
        "content": [{"type": "reasoning_text", "text": "r"}],
        "encrypted_content": None,
    },
    {"type": "reasoning", "summary": []},
    {"type": "function_call", "name": "f", "namespace": "ns", "arguments": "{}", "call_id": "c1"},
    {"type": "function_call_output", "call_id": "c1", "output": "ok"},
    {
        "type": "function_call_output",
        "call_id": "c1",
        "name": "f",
        "output": [{"type": "input_text", "text": "x"}],
    },
    {
        "type": "custom_tool_call",
        "status": "completed",
        "call_id": "c2",
        "name": "apply_patch",
        "input": "*** Begin",
    },
    {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"},
    {
        "type": "local_shell_call",
        "call_id": "c3",
        "status": "completed",
        "action": {"type": "exec", "command": ["ls"], "env": {"A": "b"}},
    },
    {
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "q", "queries": ["q"]},
    },
    {
        "type": "web_search_call",
        "id": "ws_2",
        "action": {"type": "find_in_page", "url": "https://x"},
    },
    {
        "type": "image_generation_call",
        "status": "completed",
        "revised_prompt": "cat",
        "result": "Zm9v",
    },
    {"type": "tool_search_call", "call_id": "c4", "execution": "client", "arguments": {"q": 1}},
    {
        "type": "tool_search_output",
        "call_id": "c4",
        "status": "completed",
        "execution": "client",
        "tools": [],
    },
    {"type": "compaction", "encrypted_content": "enc"},
    {"type": "context_compaction"},
    {"type": "additional_tools", "role": "developer", "tools": [{"type": "function", "name": "t"}]},
    {
        "type": "agent_message",
        "author": "/root",
        "recipient": "/root/a",
        "content": [{"type": "input_text", "text": "hi"}],
    },
    {"type": "configuration_update", "reasoning": {"effort": "low"}},
]

# Planted after a minimal session_meta; "-" marks lines Codex refuses or drops by policy.
PLANTED = r"""
event_msg {"type":"turn_started","turn_id":"t1","model_context_window":200000}
turn_context {"turn_id":"t1","cwd":"/w","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"auto","personality":"x"}
turn_context {"cwd":"/w","approval_policy":"never","sandbox_policy":{"type":"danger-full-access"},"model":"m","summary":"none","effort":null,"comp_hash":"3000"}
turn_context {"turn_id":"t","cwd":"/w","approval_policy":"untrusted","sandbox_policy":{"type":"read-only"},"model":"m","summary":"auto","permission_profile":{"type":"disabled"}}
response_item {"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}
response_item {"type":"message","id":"m1","role":"assistant","content":[{"type":"output_text","text":"a","annotations":[]}],"end_turn":true,"phase":null}
response_item {"type":"message","id":"m2","role":"user","content":[{"type":"input_audio","audio_url":"data:x","format":"wav"},{"type":"input_image","image_url":"https://x","detail":"high"}]}
response_item {"type":"reasoning","id":"r1","summary":[{"type":"summary_text","text":"s"}],"encrypted_content":"x"}
response_item {"type":"reasoning","id":"r2","summary":[],"content":[{"type":"text","text":"x"},{"type":"reasoning_text","text":"y"}]}
response_item {"type":"function_call","id":"f1","name":"shell","arguments":"{}","call_id":"c1","extra":1}
response_item {"type":"local_shell_call","id":"l1","status":"incomplete","action":{"type":"exec","command":[]}}
response_item {"type":"web_search_call","id":"w1","status":null,"action":{"type":"bogus"}}
response_item {"type":"image_generation_call","id":"i1","status":"s","revised_prompt":null,"result":"x"}
response_item {"type":"configuration_update","id":"x","reasoning":{"effort":"medium","summary":"auto"}}
event_msg {"type":"user_message","message":"hello","kind":"plain","images":null}
event_msg {"type":"user_message","message":"m","images":["https://x"],"local_images":["/a.png"],"audio":[],"text_elements":[{"byte_range":{"start":0,"end":1}}],"client_id":"cid"}
event_msg {"type":"agent_reasoning","text":"s"}
event_msg {"type":"agent_reasoning_raw_content","text":"r","x":1}
event_msg {"type":"agent_message","message":"answer"}
event_msg {"type":"token_count","info":{"total_token_usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2},"last_token_usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2}}}
event_msg {"type":"token_count","rate_limits":{"primary":{"used_percent":1},"credits":{"has_credits":true,"unlimited":false,"balance":"5"}}}
event_msg {"type":"turn_complete","turn_id":"t1","last_agent_message":"answer"}
event_msg {"type":"task_started","turn_id":"t2","collaboration_mode_kind":"execute","turn_attribution":{"turn_id":"t2"}}
event_msg {"type":"context_compacted"}
compacted {"message":"sum","window_id":3}
compacted {"message":"m","replacement_history":[{"type":"bogus_item"},{"type":"reasoning","summary":[]},{"type":"ghost_snapshot","ghost_commit":{}}],"first_window_id":"a"}
event_msg {"type":"entered_review_mode","target":{"type":"baseBranch","branch":"main"},"user_facing_hint":null}
event_msg {"type":"exited_review_mode"}
event_msg {"type":"patch_apply_end","call_id":"p1","stdout":"","stderr":"","success":true,"changes":{"/a":{"type":"update","unified_diff":"d"}},"status":"completed"}
event_msg {"type":"mcp_tool_call_end","call_id":"m1","invocation":{"server":"s","tool":"t"},"duration":{"secs":0,"nanos":1000000},"result":{"Ok":{"content":[],"structuredContent":null,"isError":false}}}
event_msg {"type":"web_search_end","call_id":"w1","query":"q","action":{"type":"open_page","url":null}}
event_msg {"type":"image_generation_end","call_id":"i1","status":"completed","result":"Zm9v","saved_path":null}
event_msg {"type":"item_completed","thread_id":"$PLANTED","turn_id":"t2","item":{"type":"Plan","id":"p1","text":"p","x":1}}
event_msg {"type":"thread_goal_updated","threadId":"$PLANTED","turnId":null,"goal":{"threadId":"$PLANTED","objective":"o","status":"budgetLimited","tokenBudget":null,"tokensUsed":1,"timeUsedSeconds":2,"createdAt":3,"updatedAt":4}}
event_msg {"type":"thread_rolled_back","num_turns":1,"rollback_start_index":3}
event_msg {"type":"turn_aborted","turn_id":"t2","reason":"budget_limited","started_at":null}
world_state {"full":true,"state":{}}
inter_agent_communication_metadata {"trigger_turn":true}
event_msg {"type":"task_complete","turn_id":"t3","error":{"message":"bad"}}
- event_msg {"type":"thread_name_updated","thread_id":"$PLANTED","thread_name":"x"}
- event_msg {"type":"undo_completed","success":true}
- event_msg {"type":"error","message":"boom"}
- event_msg {"type":"exec_command_end","call_id":"e","turn_id":"t","command":["ls"],"cwd":"/","parsed_cmd":[],"source":"agent","stdout":"","stderr":"","aggregated_output":"","exit_code":0,"duration":{"secs":0,"nanos":0},"formatted_output":"","status":"completed"}
- event_msg {"type":"item_completed","thread_id":"$PLANTED","turn_id":"t","item":{"type":"AgentMessage","id":"a","content":[{"type":"Text","text":"x"}]}}
- event_msg {"type":"user_message","images":[]}
- event_msg {"type":"turn_aborted","reason":"bogus"}
- event_msg {"type":"context_compacted","x":1}
- event_msg {"type":"thread_goal_updated","threadId":"x","goal":{"threadId":"y","objective":"o","status":"active","tokensUsed":1,"timeUsedSeconds":2,"createdAt":3,"updatedAt":4}}
- event_msg {"type":"item_completed","thread_id":"not-a-uuid","turn_id":"t","item":{"type":"Plan","id":"p","text":"t"}}
- event_msg {"type":"task_started","turn_id":"t","turn_attribution":{}}
- event_msg {"type":"mcp_tool_call_end","call_id":"m","invocation":{"server":"s","tool":"t"},"duration":{"secs":1,"nanos":2},"result":{"Ok":{}}}
- response_item {"type":"ghost_snapshot","ghost_commit":{"id":"x"}}
- response_item {"type":"compaction_trigger"}
- response_item {"type":"message","id":"m","role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA"}}]}
- response_item {"type":"reasoning","id":"r","summary":[{"type":"bogus","text":"x"}]}
- response_item {"type":"function_call_output","id":"f","call_id":"c","output":[{"type":"output_text","text":"y"}]}
- turn_context {"turn_id":"t","cwd":"/w","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"bogus"}
- compacted {}
- future_kind {"a":1}
"""

# Legacy events that ``codex migrate-rollouts`` turns into paginated turn items.
MIGRATED = r"""
{"type":"task_started","turn_id":"t1"}
{"type":"user_message","message":"q","images":["https://x/i.png"],"local_images":["/l.png"],"text_elements":[{"byte_range":{"start":0,"end":1},"placeholder":"p"}]}
{"type":"agent_reasoning","text":"s"}
{"type":"agent_reasoning_raw_content","text":"raw"}
{"type":"agent_message","message":"a","phase":"final_answer"}
{"type":"web_search_end","call_id":"w","query":"q","action":{"type":"search","query":"q"}}
{"type":"mcp_tool_call_end","call_id":"m","invocation":{"server":"s","tool":"t"},"duration":{"secs":1,"nanos":2},"result":{"Ok":{"content":[]}}}
{"type":"patch_apply_end","call_id":"p","turn_id":"t1","stdout":"","stderr":"","success":true,"changes":{"/a":{"type":"add","content":"x"}},"status":"completed"}
{"type":"image_generation_end","call_id":"i","status":"completed","result":"Zm9v"}
{"type":"context_compacted"}
{"type":"entered_review_mode","target":{"type":"uncommittedChanges"},"user_facing_hint":"h"}
{"type":"exited_review_mode","review_output":null}
{"type":"task_complete","turn_id":"t1","last_agent_message":"a"}
"""


@dataclass(frozen=True)
class Planted:
    kind: str
    payload: dict[str, Any]
    refused: bool


@dataclass(frozen=True)
class CodexWritten:
    files: list[Path]
    """Every rollout file the binary wrote."""
    planted: list[Planted]
    copies: dict[int, list[tuple[str, Any]]]
    """What Codex's fork wrote for each planted line (by index; empty when dropped)."""
    migrated: Path


def _planted() -> list[Planted]:
    out = []
    for row in PLANTED.strip().splitlines():
        refused = row.startswith("- ")
        kind, _, text = row.removeprefix("- ").partition(" ")
        out.append(Planted(kind, json.loads(text.replace("$PLANTED", PLANTED_ID)), refused))
    return out


def _write_legacy(home: Path, thread_id: str, lines: list[tuple[str, Any]]) -> Path:
    meta = {
        "id": thread_id,
        "timestamp": OLD_TS,
        "cwd": "/proj",
        "originator": "codex_cli_rs",
        "cli_version": "0.50.0",
        "source": "cli",
        "model_provider": "openai",
    }
    records = [{"timestamp": OLD_TS, "type": "session_meta", "payload": meta}]
    records += [{"timestamp": OLD_TS, "type": kind, "payload": payload} for kind, payload in lines]
    path = rollout_path(home, thread_id, OLD_TS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(encode_json(r) + b"\n" for r in records))
    return path


def _codex_threads(peer: CodexPeer, cwd: Path) -> None:
    for mode in ("legacy", "paginated"):
        params: dict[str, Any] = {"cwd": str(cwd)}
        if mode == "legacy":
            params["historyMode"] = "legacy"
        thread_id = str(peer.call("thread/start", params)["thread"]["id"])
        peer.call("thread/name/set", {"threadId": thread_id, "name": f"{mode} \u2713"})
        shell_command(peer, thread_id, r"printf 'caf\303\251 \a \177 \342\200\250 /\n'")
        interrupted_user_turn(peer, thread_id, SPECIAL_TEXT)
        peer.call("thread/inject_items", {"threadId": thread_id, "items": INJECTED})
        git = {
            "sha": "746c1cb455013a6c48f027ac38be0baf7866d0df",
            "branch": "main",
            "originUrl": None,
        }
        peer.call("thread/metadata/update", {"threadId": thread_id, "gitInfo": git})
        peer.call("thread/fork", {"threadId": thread_id})


@pytest.fixture(scope="module")
def codex_written(codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> CodexWritten:
    base = tmp_path_factory.mktemp("codex-lines")
    home, migrate_home = base / "home", base / "migrate"
    planted = _planted()
    lines: list[tuple[str, Any]] = []
    for index, item in enumerate(planted):
        lines.append(("event_msg", {"type": "agent_reasoning", "text": f"{MARK}{index}"}))
        lines.append((item.kind, item.payload))
    lines.append(("event_msg", {"type": "agent_reasoning", "text": f"{MARK}end"}))
    parent = _write_legacy(home, PLANTED_ID, lines)
    with CodexPeer(home, binary=codex_bin) as peer:
        _codex_threads(peer, base)
        fork = Path(peer.call("thread/fork", {"threadId": PLANTED_ID})["thread"]["path"])

    events = [("event_msg", json.loads(row)) for row in MIGRATED.strip().splitlines()]
    migrated = _write_legacy(migrate_home, MIGRATED_ID, events)
    write_peer_config(migrate_home)
    subprocess.run(
        [str(codex_bin), "migrate-rollouts", "--apply"],
        env={**os.environ, "CODEX_HOME": str(migrate_home)},
        capture_output=True,
        check=True,
        timeout=60,
    )
    files = [p for p in home.rglob("*.jsonl") if p.name.startswith("rollout-") and p != parent]
    return CodexWritten([*files, migrated], planted, _copies(fork), migrated)


def _copies(fork: Path) -> dict[int, list[tuple[str, Any]]]:
    copies: dict[int, list[tuple[str, Any]]] = {}
    current: list[tuple[str, Any]] | None = None
    for raw in fork.read_bytes().splitlines():
        line = decode_line(raw)
        text = line.payload.get("text") if line.event_type == "agent_reasoning" else None
        if isinstance(text, str) and text.startswith(MARK):
            label = text.removeprefix(MARK)
            current = None if label == "end" else copies.setdefault(int(label), [])
        elif current is not None:
            current.append((line.type, line.payload))
    return copies


def _raw_lines(files: list[Path]) -> Iterator[bytes]:
    for path in files:
        yield from path.read_bytes().splitlines()


def test_codex_wrote_legacy_paginated_forked_and_migrated_rollouts(
    codex_written: CodexWritten,
) -> None:
    modes = set()
    for path in codex_written.files:
        with path.open("rb") as fh:
            meta = decode_line(fh.readline()).payload
        modes.add((meta["history_mode"], "forked_from_id" in meta))
    assert modes == {("legacy", False), ("legacy", True), ("paginated", False), ("paginated", True)}
    assert len(codex_written.files) == 6


def test_every_line_codex_wrote_reencodes_to_the_same_bytes(codex_written: CodexWritten) -> None:
    count = 0
    for raw in _raw_lines(codex_written.files):
        assert encode_line(decode_line(raw)) == raw
        count += 1
    assert count > 150


def test_every_line_codex_wrote_is_python_json_without_ascii_escaping(
    codex_written: CodexWritten,
) -> None:
    raws = list(_raw_lines(codex_written.files))
    for raw in raws:
        value = json.loads(raw)
        assert json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() == raw
    special = [raw for raw in raws if b"\\u0007" in raw]
    assert special
    assert all(b"\x7f" in raw and "\u2028".encode() in raw for raw in special)


def test_every_line_codex_wrote_has_a_model_that_serialises_it_unchanged(
    codex_written: CodexWritten,
) -> None:
    seen: set[str] = set()
    for raw in _raw_lines(codex_written.files):
        line = decode_line(raw)
        item = parse_item(line)
        assert not isinstance(item, UnknownItem | Malformed), raw[:300]
        assert encode_json(item.to_payload()) == encode_json(line.payload), raw[:300]
        seen.add(line.event_type or line.type)
    expected = {
        "session_meta", "turn_context", "world_state", "task_started", "task_complete",
        "turn_aborted", "user_message", "item_completed", "thread_settings_applied",
        "agent_reasoning", "agent_message", "context_compacted", "web_search_end",
        "mcp_tool_call_end", "patch_apply_end", "entered_review_mode", "exited_review_mode",
    }  # fmt: skip
    assert expected <= seen
    assert {str(item["type"]) for item in INJECTED} <= seen


def test_line_timestamps_codex_wrote_are_utc_with_milliseconds(
    codex_written: CodexWritten,
) -> None:
    for raw in _raw_lines(codex_written.files):
        stamp = decode_line(raw).timestamp
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
        ms = parse_timestamp_ms(stamp)
        assert ms is not None
        assert format_timestamp(ms) == stamp


def _with_id_from(mine: dict[str, Any], codex: dict[str, Any]) -> dict[str, Any]:
    """Codex invents ids for id-less items: take its id, keep everything else ours."""
    if "id" in mine or "id" not in codex:
        return mine
    return {
        "type": mine["type"],
        "id": codex["id"],
        **{k: v for k, v in mine.items() if k != "type"},
    }


def test_codex_rewrites_each_accepted_planted_line_as_to_payload_does(
    codex_written: CodexWritten,
) -> None:
    for index, planted in enumerate(codex_written.planted):
        if planted.refused:
            continue
        copy = codex_written.copies.get(index)
        assert copy is not None, planted
        [(kind, written)] = copy
        item = parse_payload(planted.kind, planted.payload)
        assert kind == planted.kind
        assert not isinstance(item, UnknownItem | Malformed), item
        mine = item.to_payload()
        if isinstance(mine, dict) and isinstance(written, dict):
            mine = _with_id_from(mine, written)
        assert encode_json(mine) == encode_json(written), planted


def test_planted_lines_codex_drops_are_unknown_malformed_or_dropped_by_policy(
    codex_written: CodexWritten,
) -> None:
    for index, planted in enumerate(codex_written.planted):
        if not planted.refused:
            continue
        assert codex_written.copies.get(index) == [], planted
        item = parse_payload(planted.kind, planted.payload)
        payload = planted.payload
        turn_item = payload.get("item")
        by_policy = not kept_on_read(
            planted.kind,
            payload.get("type"),
            turn_item.get("type") if isinstance(turn_item, dict) else None,
        )
        assert isinstance(item, UnknownItem | Malformed | GhostSnapshot) or by_policy, planted


def test_migrated_events_become_typed_turn_items(codex_written: CodexWritten) -> None:
    kinds: dict[str, bool] = {}
    for raw in codex_written.migrated.read_bytes().splitlines():
        item = parse_item(decode_line(raw))
        if isinstance(item, ItemCompleted):
            kinds[str(item.item_type)] = not isinstance(item.item, RawTurnItem)
    assert kinds == {
        "UserMessage": True,
        "Reasoning": True,
        "AgentMessage": True,
        "WebSearch": True,
        "McpToolCall": True,
        "FileChange": True,
        "Extension": False,
        "ContextCompaction": True,
        "EnteredReviewMode": True,
        "ExitedReviewMode": True,
    }

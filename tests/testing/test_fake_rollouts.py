"""Fake rollouts are byte-compatible with Codex and every damage kind is what it says."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard

from threadloom.protocol.paths import parse_rollout_name, rollout_relative_path
from threadloom.testing import (
    SOURCE_FORMS,
    Damage,
    RolloutBuilder,
    ToolCall,
    append_session_index,
    format_ts,
    git_info,
    rollout_path,
    to_ms,
    uuid4,
    uuid7,
    write_damaged_rollout,
    write_rollout,
)
from threadloom.testing.fake_rollouts import META_KEY_ORDER

TID = "01955126-0000-7000-8000-00000000abcd"
CREATED = "2025-03-01T10:00:00.250Z"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def lines_of(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def codex_bytes(obj: Any) -> bytes:
    """How Codex (serde_json) writes a value: compact, raw UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def full_turn_builder() -> RolloutBuilder:
    b = RolloutBuilder(TID, created=CREATED, git=git_info("ab" * 20, "main", "https://x/r.git"))
    b.turn(
        'naïve question ✓ "quoted" \\ tab\t',
        "answer",
        effort="high",
        reasoning="thinking",
        tool_calls=[ToolCall("exec_command", '{"cmd":"ls"}', "a\nb\n")],
        tokens=(100, 10),
    )
    b.turn("second", "answer 2", model="gpt-5", tokens=(200, 20))
    return b


def test_every_line_is_compact_raw_utf8_json_with_codex_timestamps() -> None:
    data = full_turn_builder().to_bytes()

    assert data.endswith(b"\n")
    assert "naïve question ✓".encode() in data
    for raw in data.split(b"\n")[:-1]:
        obj = json.loads(raw)
        assert codex_bytes(obj) == raw
        assert TIMESTAMP.fullmatch(obj["timestamp"])
        assert list(obj)[:3] == ["timestamp", "type", "payload"]


def test_session_meta_has_codex_key_order_with_git_last() -> None:
    b = RolloutBuilder(
        TID,
        created=CREATED,
        source="exec",
        git=git_info("c" * 40, "main"),
        forked_from_id=uuid4(random.Random(1)),
        agent_nickname="Bob",
        memory_mode="disabled",
        meta_extra={"dynamic_tools": []},
    )
    meta = lines_of(b.to_bytes())[0]

    assert meta["type"] == "session_meta"
    keys = list(meta["payload"])
    assert keys[-1] == "git"
    known = [k for k in keys if k in META_KEY_ORDER]
    assert known == sorted(known, key=META_KEY_ORDER.index)
    payload = meta["payload"]
    assert payload["id"] == payload["session_id"] == TID
    assert payload["timestamp"] == "2025-03-01T10:00:00.250Z"
    assert payload["history_mode"] == "legacy"
    assert payload["base_instructions"] is None
    assert payload["git"] == {"commit_hash": "c" * 40, "branch": "main"}


def test_optional_meta_fields_can_be_left_out_like_old_writers() -> None:
    b = RolloutBuilder(
        TID,
        created=CREATED,
        model_provider=None,
        history_mode=None,
        session_id=False,
        account_scoped=False,
        source=None,
        cli_version="0.50.0",
    )
    payload = lines_of(b.to_bytes())[0]["payload"]

    for key in ("model_provider", "history_mode", "session_id", "account_scoped", "source"):
        assert key not in payload
    assert payload["cli_version"] == "0.50.0"


@pytest.mark.parametrize("source", SOURCE_FORMS, ids=lambda s: json.dumps(s)[:40])
def test_every_source_form_is_written_verbatim(source: Any) -> None:
    payload = lines_of(RolloutBuilder(TID, created=CREATED, source=source).to_bytes())[0]
    assert payload["payload"]["source"] == source


def test_turn_records_codex_events_in_order() -> None:
    rows = lines_of(full_turn_builder().to_bytes())
    kinds = [(r["type"], r["payload"].get("type")) for r in rows]

    assert kinds[:12] == [
        ("session_meta", None),
        ("event_msg", "task_started"),
        ("turn_context", None),
        ("response_item", "message"),
        ("event_msg", "user_message"),
        ("event_msg", "agent_reasoning"),
        ("response_item", "reasoning"),
        ("response_item", "function_call"),
        ("response_item", "function_call_output"),
        ("response_item", "message"),
        ("event_msg", "agent_message"),
        ("event_msg", "token_count"),
    ]
    assert kinds[12] == ("event_msg", "task_complete")
    started, complete = rows[1]["payload"], rows[12]["payload"]
    assert started["turn_id"] == complete["turn_id"]
    assert UUID.fullmatch(started["turn_id"])
    call, output = rows[7]["payload"], rows[8]["payload"]
    assert call["call_id"] == output["call_id"]
    assert call["id"].startswith("fc_")
    assert output["id"].startswith("fco_")
    context = rows[2]["payload"]
    assert context["effort"] == "high"
    assert list(context)[-2:] == ["summary", "sandbox_policy"]


def test_token_counts_accumulate_and_turn_context_tracks_the_model() -> None:
    b = full_turn_builder()
    rows = lines_of(b.to_bytes())
    counts = [r["payload"]["info"] for r in rows if r["payload"].get("type") == "token_count"]
    contexts = [r["payload"] for r in rows if r["type"] == "turn_context"]

    assert [c["total_token_usage"]["total_tokens"] for c in counts] == [110, 330]
    assert counts[-1]["last_token_usage"]["input_tokens"] == 200
    assert b.total_tokens == 330
    assert [c["model"] for c in contexts] == ["gpt-5.1-codex", "gpt-5"]
    assert "effort" not in contexts[1]


def test_user_message_carries_images_and_text_elements() -> None:
    b = RolloutBuilder(TID, created=CREATED)
    elements = [{"byte_range": {"start": 0, "end": 4}, "placeholder": "look"}]
    b.user_message(
        "look here",
        images=["data:image/png;base64,AAAA"],
        local_images=["/w/a.png"],
        text_elements=elements,
    )
    rows = lines_of(b.to_bytes())
    item, event = rows[1]["payload"], rows[2]["payload"]

    assert item["content"] == [
        {"type": "input_text", "text": "look here"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
    ]
    assert event == {
        "type": "user_message",
        "message": "look here",
        "images": ["data:image/png;base64,AAAA"],
        "local_images": ["/w/a.png"],
        "local_audio": [],
        "text_elements": elements,
    }


def test_update_meta_appends_a_full_copy_with_new_git_and_memory_mode() -> None:
    b = RolloutBuilder(TID, created=CREATED, git=git_info("a" * 40, "main"))
    b.turn("hi", "hello")
    b.update_meta(git=git_info("b" * 40))
    b.update_meta(memory_mode="disabled")
    metas = [r["payload"] for r in lines_of(b.to_bytes()) if r["type"] == "session_meta"]

    assert len(metas) == 3
    assert all(m["id"] == TID for m in metas)
    assert metas[1]["git"] == {"commit_hash": "b" * 40}
    assert metas[1]["memory_mode"] == "enabled"
    assert "git" not in metas[2]
    assert metas[2]["memory_mode"] == "disabled"
    assert list(metas[2]).index("memory_mode") < list(metas[2]).index("history_mode")
    assert [m["id"] for m in b.metas] == [TID] * 3


def test_paginated_builder_numbers_lines_with_ordinals() -> None:
    b = RolloutBuilder(TID, created=CREATED, history_mode="paginated")
    b.task_started("t1").task_complete()
    rows = lines_of(b.to_bytes())

    assert [r["ordinal"] for r in rows] == [0, 1, 2]
    assert list(rows[0])[:3] == ["timestamp", "ordinal", "type"]


def test_write_places_files_like_codex(tmp_path: Path) -> None:
    b = full_turn_builder()
    live = b.write(tmp_path)
    archived = b.write(tmp_path, archived=True)

    assert live == tmp_path / rollout_relative_path(TID, to_ms(CREATED))
    assert live == rollout_path(tmp_path, TID, CREATED)
    assert archived == tmp_path / "archived_sessions" / live.name
    name = parse_rollout_name(live.name)
    assert name is not None
    assert name.thread_uuid == TID
    assert live.stat().st_mtime_ns == b.now_ms * 1_000_000
    assert live.read_bytes() == archived.read_bytes() == b.to_bytes()


def test_builders_are_deterministic_per_thread_id() -> None:
    assert full_turn_builder().to_bytes() == full_turn_builder().to_bytes()


def test_write_rollout_makes_turns_and_names(tmp_path: Path) -> None:
    path = write_rollout(
        tmp_path,
        TID,
        created=CREATED,
        messages=["first", ("second", "reply")],
        source={"subagent": "review"},
        model_provider="anthropic",
        cwd="/w/x",
        name="My thread",
        mtime="2025-03-02T00:00:00Z",
    )
    rows = lines_of(path.read_bytes())
    users = [r["payload"]["message"] for r in rows if r["payload"].get("type") == "user_message"]

    assert users == ["first", "second"]
    assert rows[0]["payload"]["model_provider"] == "anthropic"
    assert rows[0]["payload"]["cwd"] == "/w/x"
    assert path.stat().st_mtime_ns == to_ms("2025-03-02T00:00:00Z") * 1_000_000
    index = lines_of((tmp_path / "session_index.jsonl").read_bytes())
    assert index[0]["id"] == TID
    assert index[0]["thread_name"] == "My thread"


def test_write_rollout_without_messages_has_no_user_message(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, TID, created=CREATED, messages=[])
    assert b"user_message" not in path.read_bytes()


def test_session_index_lines_have_nanosecond_timestamps(tmp_path: Path) -> None:
    append_session_index(tmp_path, TID, "name ✓", updated_at=1_700_000_000_123)
    raw = (tmp_path / "session_index.jsonl").read_bytes()

    assert (
        raw
        == codex_bytes(
            {"id": TID, "thread_name": "name ✓", "updated_at": "2023-11-14T22:13:20.123000000Z"}
        )
        + b"\n"
    )


def test_time_helpers() -> None:
    assert to_ms("2025-03-01T10:00:00Z") == 1_740_823_200_000
    assert to_ms("2025-03-01T11:00:00.5+01:00") == 1_740_823_200_500
    assert format_ts(1_740_823_200_007) == "2025-03-01T10:00:00.007Z"
    rng = random.Random(3)
    value = uuid7(1_740_823_200_000, rng)
    assert UUID.fullmatch(value)
    assert value[14] == "7"
    assert value.startswith("01955126-0100")
    assert uuid4(rng)[14] == "4"
    with pytest.raises(ValueError, match="naive"):
        to_ms(datetime(2025, 1, 1))


def _write(tmp_path: Path, damage: Damage) -> tuple[Path, bytes]:
    path = write_damaged_rollout(tmp_path, damage, thread_id=TID, created=CREATED, text="broken")
    return path, path.read_bytes()


def test_torn_last_line_has_no_newline_and_is_not_json(tmp_path: Path) -> None:
    _, data = _write(tmp_path, Damage.TORN_LAST_LINE)
    *whole, torn = data.split(b"\n")

    assert not data.endswith(b"\n")
    assert all(json.loads(line) for line in whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(torn)


def test_garbage_and_blank_lines_sit_between_valid_lines(tmp_path: Path) -> None:
    _, garbage = _write(tmp_path / "g", Damage.GARBAGE_LINES)
    _, blank = _write(tmp_path / "b", Damage.BLANK_LINES)

    bad = 0
    for line in garbage.splitlines():
        try:
            json.loads(line)
        except ValueError:
            bad += 1
    assert bad >= 3
    assert b"\n\n" in blank
    assert lines_of(blank)[0]["type"] == "session_meta"


def test_foreign_history_mode_and_unknown_source_object(tmp_path: Path) -> None:
    _, foreign = _write(tmp_path / "f", Damage.FOREIGN_HISTORY_MODE)
    _, source = _write(tmp_path / "s", Damage.UNKNOWN_SOURCE_OBJECT)

    assert lines_of(foreign)[0]["payload"]["history_mode"] not in ("legacy", "paginated")
    assert lines_of(source)[0]["payload"]["source"] == {"future_kind": "x"}


def test_mismatched_id_names_the_file_after_another_uuid(tmp_path: Path) -> None:
    path, data = _write(tmp_path, Damage.MISMATCHED_ID)
    name = parse_rollout_name(path.name)

    assert name is not None
    assert name.thread_uuid != TID
    assert lines_of(data)[0]["payload"]["id"] == TID


def test_missing_meta_and_event_before_meta(tmp_path: Path) -> None:
    _, missing = _write(tmp_path / "m", Damage.MISSING_META)
    _, late = _write(tmp_path / "l", Damage.EVENT_BEFORE_META)

    assert all(r["type"] != "session_meta" for r in lines_of(missing))
    rows = lines_of(late)
    assert rows[0]["type"] == "event_msg"
    assert rows[1]["type"] == "session_meta"


def test_compressed_rollout_is_a_zstd_frame_of_the_plain_file(tmp_path: Path) -> None:
    path, data = _write(tmp_path, Damage.COMPRESSED)
    plain = write_damaged_rollout(
        tmp_path / "plain", Damage.GARBAGE_LINES, thread_id=TID, created=CREATED
    )

    assert path.name.endswith(".jsonl.zst")
    text = zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 24)
    assert lines_of(text)[0]["payload"]["id"] == TID
    assert plain.name + ".zst" == path.name

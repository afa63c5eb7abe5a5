"""Typed rollout payloads: decoding, tolerance (rollout-format 18) and Codex's serialisation."""
# ruff: noqa: E501 - payload tables hold one compact JSON document per line

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadloom.protocol.codec import decode_line, encode_json, encode_line
from threadloom.protocol.items import (
    CONTEXTUAL_FRAGMENTS,
    EVENT_TYPES,
    RESPONSE_ITEM_TYPES,
    ByteRange,
    CallToolResult,
    Compacted,
    Duration,
    GhostSnapshot,
    InputImage,
    InputText,
    ItemCompleted,
    Malformed,
    McpToolCallEnd,
    Message,
    OpaqueItem,
    OtherAction,
    RawTurnItem,
    SessionMetaItem,
    TaskComplete,
    TaskStarted,
    TextElement,
    TurnAgentMessage,
    TurnCommandExecution,
    TurnContext,
    TurnPlan,
    TurnUserMessage,
    UnknownItem,
    UserMessageEvent,
    WebSearchEnd,
    is_contextual_fragment,
    is_user_message,
    parse_item,
)
from threadloom.protocol.rollout import RolloutLine

THREAD = "019a0000-0000-7000-9000-000000000010"
TS = "2026-11-21T23:01:49.328Z"


def _line(kind: str, payload: Any) -> RolloutLine:
    return RolloutLine(timestamp=TS, type=kind, payload=payload)


def _parse(kind: str, payload: Any) -> Any:
    return parse_item(_line(kind, payload))


def _canonical(kind: str, payload: Any) -> bytes:
    item = _parse(kind, payload)
    assert not isinstance(item, UnknownItem | Malformed), item
    return encode_json(item.to_payload())


# Payloads exactly as 0.169.0 writes them (spec examples and lines the binary wrote), one per
# line after the line kind: each decodes to its model and serialises back to the same bytes.
CANONICAL = r"""
event_msg {"type":"task_started","turn_attribution":{"turn_id":"T","turn_trigger":null,"parent_turn_id":null,"initiating_agent_path":null,"root_turn_id":"T"},"turn_id":"T","root_turn_id":"T","started_at":1795302108,"model_context_window":258400,"collaboration_mode_kind":"default"}
event_msg {"type":"task_complete","root_turn_id":"T","turn_id":"T","last_agent_message":null,"started_at":1795302108,"completed_at":1795302109,"duration_ms":705}
event_msg {"type":"turn_aborted","root_turn_id":"T","turn_id":"T","reason":"interrupted","started_at":1795302976,"completed_at":1795302978,"duration_ms":2007}
event_msg {"type":"user_message","message":"first question","images":[],"local_images":[],"audio":[],"local_audio":[],"text_elements":[]}
event_msg {"type":"agent_message","message":"first answer","phase":null,"memory_citation":null}
event_msg {"type":"agent_reasoning","text":"summary text"}
event_msg {"type":"agent_reasoning_raw_content","text":"raw"}
event_msg {"type":"token_count","info":{"total_token_usage":{"input_tokens":200,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_tokens":210},"last_token_usage":{"input_tokens":200,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_tokens":210},"model_context_window":200000},"rate_limits":null}
event_msg {"type":"token_count","info":null,"rate_limits":{"limit_id":"codex","limit_name":null,"primary":{"used_percent":1.5,"window_minutes":300,"resets_at":123},"secondary":null,"credits":null,"individual_limit":null,"spend_control_reached":null,"plan_type":null,"rate_limit_reached_type":null}}
event_msg {"type":"thread_rolled_back","num_turns":1}
event_msg {"type":"context_compacted"}
event_msg {"type":"thread_goal_updated","threadId":"$THREAD","turnId":"t","goal":{"threadId":"$THREAD","objective":"Ship the spec","status":"active","tokenBudget":123,"tokensUsed":0,"timeUsedSeconds":0,"createdAt":1795302976,"updatedAt":1795302976}}
event_msg {"type":"thread_settings_applied","thread_id":"$THREAD","thread_settings":{"model":"gpt-6.1-sol","model_provider_id":"openai","approval_policy":"on-request","approvals_reviewer":"user","requested_approvals_reviewer":"user","permission_profile":{"type":"managed"},"active_permission_profile":{"id":":read-only"},"cwd":"/w","runtime_workspace_roots":["/w"],"collaboration_mode":{"mode":"default","settings":{"model":"gpt-6.1-sol","reasoning_effort":null,"developer_instructions":null}},"disabled_plugin_ids":[]}}
event_msg {"type":"item_completed","thread_id":"$THREAD","turn_id":"T","item":{"type":"CommandExecution","id":"c4","command":["/bin/bash","-lc","echo one"],"cwd":"file:///home/user/project","parsed_cmd":[{"type":"unknown","cmd":"echo one"}],"source":"user_shell","status":"completed","aggregated_output":"one\n","exit_code":0,"duration":{"secs":0,"nanos":541872816}},"started_at_ms":1795302221723,"completed_at_ms":1795302222265}
event_msg {"type":"entered_review_mode","target":{"type":"commit","sha":"abc","title":"t"},"user_facing_hint":"h"}
event_msg {"type":"exited_review_mode","review_output":{"findings":[],"overall_correctness":"ok","overall_explanation":"e","overall_confidence_score":0.5}}
event_msg {"type":"patch_apply_end","call_id":"p","turn_id":"t","stdout":"","stderr":"","success":false,"changes":{"/b":{"type":"update","unified_diff":"d","move_path":null}},"status":"failed"}
event_msg {"type":"mcp_tool_call_end","call_id":"m","turn_id":"t","invocation":{"server":"s","tool":"t","arguments":null},"mcp_app_resource_uri":"u","duration":{"secs":1,"nanos":2},"result":{"Err":"boom"}}
event_msg {"type":"web_search_end","call_id":"w","query":"q","action":{"type":"open_page","url":"u"}}
event_msg {"type":"image_generation_end","call_id":"i","status":"completed","revised_prompt":"r","result":"Zm9v","saved_path":"/p.png"}
event_msg {"type":"error","message":"boom","codex_error_info":"internal_server_error"}
response_item {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"reply"}],"phase":"final_answer","internal_chat_message_metadata_passthrough":{"turn_id":"auto-compact-1","content_item_kinds":["unknown"]}}
response_item {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"sum"}],"content":[{"type":"reasoning_text","text":"raw"}],"encrypted_content":null}
response_item {"type":"reasoning","id":"rs_2","summary":[],"content":null,"encrypted_content":null}
response_item {"type":"function_call","id":"fc_1","name":"f","namespace":"ns","arguments":"{}","call_id":"c1"}
response_item {"type":"function_call_output","id":"fco_1","call_id":"x","name":"n","namespace":"ns","output":[{"type":"input_text","text":"x"},{"type":"input_image","image_url":"data:,","detail":"auto"}]}
response_item {"type":"custom_tool_call","id":"ctc_1","status":"completed","call_id":"c2","name":"apply_patch","input":"*** Begin"}
response_item {"type":"custom_tool_call_output","id":"ctco_1","call_id":"c2","name":"n","output":"done"}
response_item {"type":"local_shell_call","id":"lsh_1","call_id":"c3","status":"completed","action":{"type":"exec","command":["ls","-l"],"timeout_ms":1000,"working_directory":"/tmp","env":{"A":"b"},"user":null}}
response_item {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q","queries":["a","b"]}}
response_item {"type":"image_generation_call","id":"ig_1","status":"completed","revised_prompt":"cat","result":"Zm9v"}
response_item {"type":"tool_search_call","id":"tsc_1","call_id":null,"status":"completed","execution":"client","arguments":{"q":1}}
response_item {"type":"tool_search_output","id":"tso_1","call_id":"c","status":"completed","execution":"client","tools":[]}
response_item {"type":"compaction","id":"cmp_1","encrypted_content":"enc"}
response_item {"type":"context_compaction","id":"cmp_2","encrypted_content":"e"}
response_item {"type":"additional_tools","id":"at_1","role":"developer","tools":[{"type":"function","name":"x"}]}
response_item {"type":"agent_message","id":"amsg_1","author":"/root","recipient":"/root/a","content":[{"type":"input_text","text":"hi"},{"type":"encrypted_content","encrypted_content":"e"}]}
response_item {"type":"configuration_update","reasoning":{"effort":"low"}}
turn_context {"turn_id":"T","root_turn_id":"T","disabled_plugin_ids":[],"cwd":"/home/user/project","approval_policy":"on-request","approvals_reviewer":"user","permission_profile":{"type":"managed","file_system":{"type":"restricted","entries":[{"path":{"type":"special","value":{"kind":"root"}},"access":"read"}]},"network":"restricted"},"active_permission_profile":{"id":":read-only"},"model":"gpt-6.1-sol","comp_hash":"3000","collaboration_mode":{"mode":"default","settings":{"model":"gpt-6.1-sol","reasoning_effort":null,"developer_instructions":null}},"multi_agent_version":"v2","realtime_active":false,"summary":"none","sandbox_policy":{"type":"read-only"}}
compacted {"message":"m","replacement_history":[{"type":"message","role":"user","content":[]}],"window_number":1,"first_window_id":"a","previous_window_id":"b","window_id":"c","compaction_response_id":null,"latest_token_usage_record":null}
"""

# Old or minimal shapes 0.169.0 accepts, each followed by the line Codex writes when it copies
# it (observed on thread/fork of a planted legacy rollout).
REWRITES = r"""
event_msg {"type":"turn_started","turn_id":"t1","model_context_window":200000}
{"type":"task_started","turn_id":"t1","model_context_window":200000,"collaboration_mode_kind":"default"}

event_msg {"type":"task_started","turn_id":"t","started_at":null,"collaboration_mode_kind":"pair_programming"}
{"type":"task_started","turn_id":"t","model_context_window":null,"collaboration_mode_kind":"default"}

event_msg {"type":"task_started","turn_id":"t","turn_attribution":{"turn_id":"t"}}
{"type":"task_started","turn_attribution":{"turn_id":"t","turn_trigger":null,"parent_turn_id":null,"initiating_agent_path":null,"root_turn_id":null},"turn_id":"t","model_context_window":null,"collaboration_mode_kind":"default"}

event_msg {"type":"turn_complete","turn_id":"t1"}
{"type":"task_complete","turn_id":"t1","last_agent_message":null}

event_msg {"type":"task_complete","turn_id":"t","time_to_first_token_ms":4,"error":{"message":"m"},"root_turn_id":"r"}
{"type":"task_complete","root_turn_id":"r","turn_id":"t","last_agent_message":null,"error":{"message":"m","codex_error_info":null},"time_to_first_token_ms":4}

event_msg {"type":"turn_aborted","reason":"review_ended"}
{"type":"turn_aborted","turn_id":null,"reason":"review_ended"}

event_msg {"type":"user_message","message":"hello","kind":"plain","images":null}
{"type":"user_message","message":"hello","local_images":[],"local_audio":[],"text_elements":[]}

event_msg {"type":"user_message","message":"m","text_elements":[{"byte_range":{"start":0,"end":1}}],"client_id":"cid"}
{"type":"user_message","client_id":"cid","message":"m","local_images":[],"local_audio":[],"text_elements":[{"byte_range":{"start":0,"end":1},"placeholder":null}]}

event_msg {"type":"agent_message","message":"answer"}
{"type":"agent_message","message":"answer","phase":null,"memory_citation":null}

event_msg {"type":"token_count","info":{"total_token_usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2},"last_token_usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2}}}
{"type":"token_count","info":{"total_token_usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2},"last_token_usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":2},"model_context_window":null},"rate_limits":null}

event_msg {"type":"token_count","rate_limits":{"primary":{"used_percent":1}}}
{"type":"token_count","info":null,"rate_limits":{"limit_id":null,"limit_name":null,"primary":{"used_percent":1.0,"window_minutes":null,"resets_at":null},"secondary":null,"credits":null,"individual_limit":null,"spend_control_reached":null,"plan_type":null,"rate_limit_reached_type":null}}

event_msg {"type":"thread_rolled_back","num_turns":2,"rollback_start_index":3}
{"type":"thread_rolled_back","num_turns":2}

event_msg {"type":"thread_goal_updated","threadId":"$THREAD","turnId":null,"goal":{"threadId":"$THREAD","objective":"o","status":"paused","tokenBudget":null,"tokensUsed":1,"timeUsedSeconds":2,"createdAt":3,"updatedAt":4}}
{"type":"thread_goal_updated","threadId":"$THREAD","goal":{"threadId":"$THREAD","objective":"o","status":"paused","tokensUsed":1,"timeUsedSeconds":2,"createdAt":3,"updatedAt":4}}

event_msg {"type":"exited_review_mode"}
{"type":"exited_review_mode","review_output":null}

event_msg {"type":"patch_apply_end","call_id":"p","stdout":"","stderr":"","success":true,"status":"declined"}
{"type":"patch_apply_end","call_id":"p","turn_id":"","stdout":"","stderr":"","success":true,"changes":{},"status":"declined"}

event_msg {"type":"mcp_tool_call_end","call_id":"m","invocation":{"server":"s","tool":"t"},"duration":{"secs":1,"nanos":2},"result":{"Ok":{"content":[],"structuredContent":null,"isError":null,"_meta":{"b":2}}}}
{"type":"mcp_tool_call_end","call_id":"m","turn_id":"","invocation":{"server":"s","tool":"t","arguments":null},"duration":{"secs":1,"nanos":2},"result":{"Ok":{"content":[],"_meta":{"b":2}}}}

event_msg {"type":"image_generation_end","call_id":"i","status":"completed","revised_prompt":null,"result":"Zm9v","saved_path":null}
{"type":"image_generation_end","call_id":"i","status":"completed","result":"Zm9v"}

event_msg {"type":"item_completed","thread_id":"$THREAD","turn_id":"t","item":{"type":"Plan","id":"p","text":"t","x":1},"started_at_ms":null}
{"type":"item_completed","thread_id":"$THREAD","turn_id":"t","item":{"type":"Plan","id":"p","text":"t"},"completed_at_ms":0}

response_item {"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":"answer"}],"end_turn":true,"phase":null}
{"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":"answer"}]}

response_item {"type":"message","id":"m","role":"user","content":[{"type":"input_audio","audio_url":"data:x","format":"wav"}]}
{"type":"message","id":"m","role":"user","content":[{"type":"input_audio","audio_url":"data:x"}]}

response_item {"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":"x"}]}
{"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":"x"}],"content":null,"encrypted_content":null}

response_item {"type":"reasoning","id":"r","summary":[],"content":[]}
{"type":"reasoning","id":"r","summary":[],"encrypted_content":null}

response_item {"type":"reasoning","id":"r","summary":[],"content":[{"type":"text","text":"x"},{"type":"reasoning_text","text":"y"}]}
{"type":"reasoning","id":"r","summary":[],"content":[{"type":"text","text":"x"},{"type":"reasoning_text","text":"y"}],"encrypted_content":null}

response_item {"type":"function_call","id":"f","name":"shell","arguments":"{}","call_id":"c1","extra_unknown":1}
{"type":"function_call","id":"f","name":"shell","arguments":"{}","call_id":"c1"}

response_item {"type":"local_shell_call","id":"l","status":"completed","action":{"type":"exec","command":[]}}
{"type":"local_shell_call","id":"l","call_id":null,"status":"completed","action":{"type":"exec","command":[],"timeout_ms":null,"working_directory":null,"env":null,"user":null}}

response_item {"type":"web_search_call","id":"w","status":null,"action":{"type":"find_in_page","url":null,"pattern":"p"}}
{"type":"web_search_call","id":"w","action":{"type":"find_in_page","pattern":"p"}}

response_item {"type":"web_search_call","id":"w","action":{"type":"bogus","x":1}}
{"type":"web_search_call","id":"w","action":{"type":"other"}}

response_item {"type":"custom_tool_call","id":"c","call_id":"c","name":"n","input":"i","status":null}
{"type":"custom_tool_call","id":"c","call_id":"c","name":"n","input":"i"}

response_item {"type":"configuration_update","id":"x","reasoning":{"effort":"medium","summary":"auto"}}
{"type":"configuration_update","reasoning":{"effort":"medium"}}

turn_context {"turn_id":"t1","cwd":"/w","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"auto","current_date":"2025-01-01","personality":"friendly"}
{"turn_id":"t1","cwd":"/w","approval_policy":"on-request","permission_profile":{"type":"managed","file_system":{"type":"restricted","entries":[{"path":{"type":"special","value":{"kind":"root"}},"access":"read"}]},"network":"restricted"},"model":"gpt-5","summary":"auto","sandbox_policy":{"type":"read-only"}}

turn_context {"cwd":"/w","approval_policy":"never","approvals_reviewer":"user","sandbox_policy":{"type":"danger-full-access"},"model":"m","summary":"auto","effort":null}
{"cwd":"/w","approval_policy":"never","approvals_reviewer":"user","permission_profile":{"type":"disabled"},"model":"m","summary":"auto","sandbox_policy":{"type":"danger-full-access"}}

turn_context {"turn_id":"t","cwd":"/w","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"auto","permission_profile":{"type":"disabled"}}
{"turn_id":"t","cwd":"/w","approval_policy":"on-request","permission_profile":{"type":"disabled"},"model":"gpt-5","summary":"auto","sandbox_policy":{"type":"danger-full-access"}}

compacted {"message":"sum","window_id":3}
{"message":"sum","window_number":3,"compaction_response_id":null,"latest_token_usage_record":null}

compacted {"message":"m","window_id":3,"window_number":5}
{"message":"m","window_number":5,"compaction_response_id":null,"latest_token_usage_record":null}

compacted {"message":"m","replacement_history":[{"type":"bogus_item"},{"type":"reasoning","summary":[]},{"type":"message","role":"assistant","content":[],"end_turn":true},{"type":"ghost_snapshot","ghost_commit":{}}]}
{"message":"m","replacement_history":[{"type":"other"},{"type":"reasoning","summary":[],"content":null,"encrypted_content":null},{"type":"message","role":"assistant","content":[]}],"compaction_response_id":null,"latest_token_usage_record":null}
"""

# Payloads of known kinds and types that 0.169.0 refuses (dropped when it forks the file).
REFUSED = r"""
event_msg {"message":"no type"}
response_item {"role":"user","content":[]}
event_msg {"type":"user_message"}
event_msg {"type":"user_message","message":"m","images":[1]}
event_msg {"type":"user_message","message":"m","text_elements":[{"byte_range":{"start":0}}]}
event_msg {"type":"agent_message","message":"m","phase":"bogus"}
event_msg {"type":"agent_reasoning"}
event_msg {"type":"task_started"}
event_msg {"type":"task_started","turn_id":"t","collaboration_mode_kind":"bogus"}
event_msg {"type":"task_started","turn_id":"t","turn_attribution":{}}
event_msg {"type":"task_complete"}
event_msg {"type":"turn_aborted","reason":"bogus"}
event_msg {"type":"token_count","info":{"total_token_usage":{"total_tokens":1},"last_token_usage":{}}}
event_msg {"type":"thread_rolled_back"}
event_msg {"type":"context_compacted","x":1}
event_msg {"type":"thread_goal_updated","threadId":"x","goal":{"threadId":"y","objective":"o","status":"active","tokensUsed":1,"timeUsedSeconds":2,"createdAt":3,"updatedAt":4}}
event_msg {"type":"thread_goal_updated","threadId":"$THREAD","goal":{"threadId":"$THREAD","objective":"o","status":"complete"}}
event_msg {"type":"thread_settings_applied","thread_id":"$THREAD","thread_settings":{"model":"m"}}
event_msg {"type":"item_completed","turn_id":"t","item":{"type":"Plan","id":"p","text":"t"}}
event_msg {"type":"item_completed","thread_id":"not-a-uuid","turn_id":"t","item":{"type":"Plan","id":"p","text":"t"}}
event_msg {"type":"entered_review_mode","target":{"type":"bogus"}}
event_msg {"type":"exited_review_mode","review_output":{"findings":[]}}
event_msg {"type":"patch_apply_end","call_id":"p","stdout":"","stderr":"","success":true,"status":"bogus"}
event_msg {"type":"patch_apply_end","call_id":"p","stdout":"","stderr":"","success":true,"status":"completed","changes":{"/a":{"type":"bogus"}}}
event_msg {"type":"mcp_tool_call_end","call_id":"m","invocation":{"server":"s","tool":"t"},"duration":{"secs":1,"nanos":2},"result":{"Ok":{}}}
event_msg {"type":"mcp_tool_call_end","call_id":"m","invocation":{"server":"s","tool":"t"},"duration":{"secs":1,"nanos":2},"result":{}}
event_msg {"type":"web_search_end","call_id":"w","query":"q"}
event_msg {"type":"image_generation_end","call_id":"i","status":"completed"}
response_item {"type":"message","role":"user","content":[{"type":"bogus"}]}
response_item {"type":"message","role":"user","content":[],"phase":"bogus"}
response_item {"type":"message","role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA"}}]}
response_item {"type":"reasoning","id":"r","summary":[{"type":"bogus","text":"x"}]}
response_item {"type":"reasoning","id":"r","summary":[],"content":[{"type":"bogus"}]}
response_item {"type":"function_call_output","call_id":"c","output":{"content":"x"}}
response_item {"type":"function_call_output","call_id":"c","output":[{"type":"output_text","text":"y"}]}
response_item {"type":"local_shell_call","status":"s","action":{"type":"exec","command":[]}}
response_item {"type":"tool_search_call","call_id":"c","execution":"e"}
response_item {"type":"agent_message","author":"a","recipient":"b","content":[{"type":"bogus"}]}
response_item {"type":"compaction"}
turn_context {"turn_id":"t","cwd":"/w","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"bogus"}
turn_context {"turn_id":"t","cwd":"/w","approval_policy":"bogus","sandbox_policy":{"type":"read-only"},"model":"gpt-5","summary":"auto"}
turn_context {"turn_id":"t","cwd":"/w","approval_policy":"never","sandbox_policy":{"type":"bogus"},"model":"gpt-5","summary":"auto"}
compacted {}
compacted {"message":"m","replacement_history_metadata":[]}
compacted {"message":"m","replacement_history":[{"type":"message","role":"user","content":[{"type":"bogus"}]}]}
session_meta {"id":"not-a-uuid","timestamp":"$TS","cwd":"/","originator":"o","cli_version":"1"}
session_meta {"id":"$THREAD","timestamp":"$TS","cwd":"/","originator":"o","cli_version":"1","history_mode":"future"}
"""


def _json(text: str) -> Any:
    return json.loads(text.replace("$THREAD", THREAD).replace("$TS", TS))


def _records(block: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for row in block.strip().splitlines():
        if row:
            kind, _, text = row.partition(" ")
            out.append((kind, _json(text)))
    return out


def _rewrites() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    out = []
    for pair in REWRITES.strip().split("\n\n"):
        first, written = pair.splitlines()
        kind, _, text = first.partition(" ")
        out.append((kind, _json(text), _json(written)))
    return out


def _model(kind: str, payload: dict[str, Any]) -> type[Any]:
    if kind == "response_item":
        return RESPONSE_ITEM_TYPES[payload["type"]]
    if kind == "event_msg":
        return EVENT_TYPES[payload["type"]]
    return {"turn_context": TurnContext, "compacted": Compacted}[kind]


@pytest.mark.parametrize(("kind", "payload"), _records(CANONICAL))
def test_codex_payloads_decode_to_their_model_and_serialise_back_unchanged(
    kind: str, payload: dict[str, Any]
) -> None:
    item: Any = _parse(kind, payload)

    assert type(item) is _model(kind, payload)
    assert item.raw is payload
    assert encode_json(item.to_payload()) == encode_json(payload)


@pytest.mark.parametrize(("kind", "payload", "written"), _rewrites())
def test_accepted_old_shapes_serialise_as_codex_rewrites_them(
    kind: str, payload: dict[str, Any], written: dict[str, Any]
) -> None:
    assert _canonical(kind, payload) == encode_json(written)


def test_alias_event_types_decode_to_the_canonical_model_and_keep_their_raw_name() -> None:
    started = _parse("event_msg", {"type": "turn_started", "turn_id": "t"})
    complete = _parse("event_msg", {"type": "turn_complete", "turn_id": "t"})

    assert isinstance(started, TaskStarted)
    assert isinstance(complete, TaskComplete)
    assert started.raw["type"] == "turn_started"


def test_unknown_members_are_kept_in_raw_and_in_the_line_bytes() -> None:
    raw = (
        b'{"timestamp":"2025-03-01T10:00:00Z","type":"event_msg","payload":{"type":"user_message",'
        b'"message":"hi","kind":"plain","future":{"z":1,"a":[]}}}'
    )
    line = decode_line(raw)

    item = parse_item(line)

    assert isinstance(item, UserMessageEvent)
    assert item.message == "hi"
    assert item.raw["future"] == {"z": 1, "a": []}
    assert encode_line(line) == raw
    assert "future" not in item.to_payload()


def test_to_payload_returns_fresh_containers() -> None:
    payload = {
        "type": "function_call_output",
        "call_id": "c",
        "output": [{"type": "input_text", "text": "x"}],
    }
    snapshot = copy.deepcopy(payload)
    item = _parse("response_item", payload)

    item.to_payload()["output"].append("junk")

    assert payload == snapshot


def test_to_payload_copies_json_members_deeply() -> None:
    passthrough = {"content_item_kinds": ["user.text"], "nested": {"list": [1, {"a": None}]}}
    payload = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "x"}],
        "internal_chat_message_metadata_passthrough": passthrough,
    }
    snapshot = copy.deepcopy(payload)
    item = _parse("response_item", payload)

    out = item.to_payload()
    copied = out["internal_chat_message_metadata_passthrough"]
    copied["nested"]["list"][1]["a"] = "junk"
    copied["content_item_kinds"].append("junk")

    assert payload == snapshot
    assert item.to_payload() == snapshot


def test_values_built_in_code_serialise_with_codex_defaults() -> None:
    event = UserMessageEvent(
        message="hi", text_elements=[TextElement(byte_range=ByteRange(start=0, end=2))]
    )
    message = Message(role="user", content=[InputText(text="a"), InputImage(image_url="data:,")])

    assert event.to_payload() == {
        "type": "user_message",
        "message": "hi",
        "local_images": [],
        "local_audio": [],
        "text_elements": [{"byte_range": {"start": 0, "end": 2}, "placeholder": None}],
    }
    assert encode_json(message.to_payload()) == (
        b'{"type":"message","role":"user","content":[{"type":"input_text","text":"a"},'
        b'{"type":"input_image","image_url":"data:,"}]}'
    )


@pytest.mark.parametrize(
    "kind",
    ["event_msg", "response_item"],
)
@pytest.mark.parametrize(
    "name", ["thread_name_updated", "undo_completed", "agent_message_delta", "compaction_trigger"]
)
def test_types_without_a_model_are_unknown_items_with_their_payload(kind: str, name: str) -> None:
    payload = {"type": name, "x": 1}

    item = _parse(kind, payload)

    assert item == UnknownItem(kind, name, payload)


def test_unknown_line_kinds_are_unknown_items() -> None:
    assert _parse("future_kind", {"a": 1}) == UnknownItem("future_kind", None, {"a": 1})


@pytest.mark.parametrize(
    "kind",
    [
        "world_state",
        "token_usage_record",
        "inter_agent_communication",
        "inter_agent_communication_metadata",
        "dynamic_tools_updated",
        "realtime_item",
        "security_risk_score",
    ],
)
def test_opaque_kinds_are_kept_verbatim(kind: str) -> None:
    payload = {"full": True, "state": {"b": 1, "a": None}}

    item = _parse(kind, payload)

    assert item == OpaqueItem(kind, payload)
    assert encode_json(item.to_payload()) == encode_json(payload)


@pytest.mark.parametrize(("kind", "payload"), _records(REFUSED))
def test_payloads_codex_refuses_are_malformed_with_a_reason(
    kind: str, payload: dict[str, Any]
) -> None:
    item = _parse(kind, payload)

    assert isinstance(item, Malformed)
    assert (item.kind, item.type, item.raw) == (kind, payload.get("type"), payload)
    assert item.error


@pytest.mark.parametrize("kind", ["event_msg", "response_item", "turn_context", "session_meta"])
@pytest.mark.parametrize("payload", [None, "text", 3, [1, 2]])
def test_payloads_that_are_not_objects_are_malformed(kind: str, payload: Any) -> None:
    assert isinstance(_parse(kind, payload), Malformed)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_kinds = st.sampled_from(
    ["event_msg", "response_item", "turn_context", "compacted", "session_meta", "world_state", "x"]
)
_types = st.sampled_from(sorted(EVENT_TYPES) + sorted(RESPONSE_ITEM_TYPES) + ["zzz"])


@given(_kinds, _types, st.dictionaries(st.text(max_size=12), _values, max_size=6))
def test_parsing_never_raises_whatever_the_payload(kind: str, name: str, body: Any) -> None:
    payload = {"type": name, **body}

    item = _parse(kind, payload)

    if not isinstance(item, UnknownItem | Malformed):
        encode_json(item.to_payload())


def test_item_completed_types_known_turn_items_and_keeps_others_raw() -> None:
    def item_of(turn_item: dict[str, Any]) -> Any:
        payload = {"type": "item_completed", "thread_id": THREAD, "turn_id": "t", "item": turn_item}
        parsed = _parse("event_msg", payload)
        assert isinstance(parsed, ItemCompleted)
        return parsed.item

    user = item_of(
        {
            "type": "UserMessage",
            "id": "u",
            "content": [
                {"type": "text", "text": "q", "text_elements": []},
                {"type": "image", "image_url": "https://x/i.png"},
                {"type": "local_image", "path": "/l.png"},
            ],
        }
    )
    agent = item_of(
        {
            "type": "AgentMessage",
            "id": "a",
            "content": [{"type": "Text", "text": "x"}, {"type": "Text", "text": "y"}],
            "phase": "final_answer",
        }
    )
    plan = item_of({"type": "Plan", "id": "p", "text": "do it"})
    extension = {
        "type": "Extension",
        "kind": "image_gen.generation",
        "id": "i",
        "revisedPrompt": None,
    }
    odd_plan = {"type": "Plan", "id": "p"}

    assert isinstance(user, TurnUserMessage)
    assert user.text == "q"
    assert isinstance(agent, TurnAgentMessage)
    assert agent.text == "xy"
    assert plan == TurnPlan(id="p", text="do it")
    assert item_of(extension) == RawTurnItem(raw=extension)
    assert item_of(extension).to_payload() == extension
    assert item_of(odd_plan) == RawTurnItem(raw=odd_plan)


def test_command_execution_turn_item_exposes_its_duration() -> None:
    payload = {
        "type": "item_completed",
        "thread_id": THREAD,
        "turn_id": "T",
        "item": {
            "type": "CommandExecution",
            "id": "c",
            "command": ["ls"],
            "cwd": "file:///w",
            "parsed_cmd": [],
            "source": "user_shell",
            "status": "completed",
            "duration": {"secs": 1, "nanos": 541872816},
        },
    }
    item = _parse("event_msg", payload).item

    assert isinstance(item, TurnCommandExecution)
    assert isinstance(item.duration, Duration)
    assert item.duration.ms == 1541


def test_compacted_exposes_its_replacement_history_typed() -> None:
    item = _parse(
        "compacted",
        {
            "message": "m",
            "replacement_history": [
                {"type": "message", "role": "user", "content": []},
                {"type": "ghost_snapshot"},
                {"type": "zzz"},
            ],
        },
    )

    assert isinstance(item, Compacted)
    kinds = [type(x) for x in item.replacement_items()]
    assert kinds == [Message, GhostSnapshot, UnknownItem]


def test_mcp_result_holds_ok_or_err() -> None:
    ok = _parse(
        "event_msg",
        {
            "type": "mcp_tool_call_end",
            "call_id": "m",
            "invocation": {"server": "s", "tool": "t"},
            "duration": {"secs": 1, "nanos": 2},
            "result": {"Ok": {"content": [{"type": "text", "text": "x"}]}},
        },
    )
    err = _parse(
        "event_msg",
        {
            "type": "mcp_tool_call_end",
            "call_id": "m",
            "invocation": {"server": "s", "tool": "t"},
            "duration": {"secs": 1, "nanos": 2},
            "result": {"Err": "boom"},
        },
    )

    assert isinstance(ok, McpToolCallEnd)
    assert isinstance(ok.result.ok, CallToolResult)
    assert ok.result.ok.content == [{"type": "text", "text": "x"}]
    assert ok.result.err is msgspec.UNSET
    assert isinstance(err, McpToolCallEnd)
    assert err.result.err == "boom"


def test_unknown_web_search_action_is_read_as_other() -> None:
    item = _parse(
        "event_msg",
        {"type": "web_search_end", "call_id": "w", "query": "q", "action": {"type": "new"}},
    )

    assert isinstance(item, WebSearchEnd)
    assert item.action == OtherAction()
    assert item.raw["action"] == {"type": "new"}


# -- session_meta --------------------------------------------------------------------------------


def test_session_meta_lines_give_the_typed_meta_and_codex_rewrite() -> None:
    payload = {
        "id": THREAD,
        "timestamp": TS,
        "cwd": "/p",
        "originator": "o",
        "cli_version": "0.1.0",
        "instructions": None,
        "agent_type": "worker",
        "git": {"branch": "b"},
        "bogus": 1,
    }

    item = _parse("session_meta", payload)

    assert isinstance(item, SessionMetaItem)
    assert item.meta.agent_role == "worker"
    assert item.to_payload() == {
        "session_id": THREAD,
        "id": THREAD,
        "timestamp": TS,
        "cwd": "/p",
        "originator": "o",
        "cli_version": "0.1.0",
        "source": "vscode",
        "agent_role": "worker",
        "model_provider": None,
        "base_instructions": None,
        "history_mode": "legacy",
        "git": {"branch": "b"},
    }


def test_session_meta_rewrite_orders_members_and_fills_spawn_source() -> None:
    spawn = {"parent_thread_id": THREAD, "depth": 1}
    payload = {
        "git": {},
        "parent_thread_id": THREAD,
        "account_scoped": False,
        "id": THREAD,
        "forked_from_id": THREAD,
        "timestamp": TS,
        "cwd": "/p",
        "originator": "o",
        "cli_version": "1",
        "source": {"subagent": {"thread_spawn": spawn}},
    }

    written = _parse("session_meta", payload).to_payload()

    assert list(written) == [
        "session_id", "id", "forked_from_id", "parent_thread_id", "timestamp", "cwd", "originator",
        "cli_version", "source", "model_provider", "base_instructions", "history_mode", "git",
    ]  # fmt: skip
    assert written["source"]["subagent"]["thread_spawn"] == {
        **spawn,
        "agent_path": None,
        "agent_nickname": None,
        "agent_role": None,
    }
    assert spawn == {"parent_thread_id": THREAD, "depth": 1}


# -- is_user_message (7.4) -----------------------------------------------------------------------


def _user(*texts: str, role: str = "user", kinds: list[str] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "message",
        "role": role,
        "content": [{"type": "input_text", "text": t} for t in texts],
    }
    if kinds is not None:
        payload["internal_chat_message_metadata_passthrough"] = {"content_item_kinds": kinds}
    return payload


CONTEXT_TEXTS = [
    "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nbe nice\n</INSTRUCTIONS>",
    "<user_instructions>old style</user_instructions>",
    "<environment_context>\n  <cwd>/w</cwd>\n</environment_context>",
    "<skill>\n<name>x</name>\n</skill>",
    "<user_shell_command>\n<command>ls</command>\n</user_shell_command>",
    "<turn_aborted>\nThe user interrupted.\n</turn_aborted>",
    "<subagent_notification>{}</subagent_notification>",
    '<hook_prompt hook_run_id="run-1">Please fix lint</hook_prompt>',
    "  \n<ENVIRONMENT_CONTEXT>x</Environment_Context>\u3000",
]


def _wrapped_in_a_marker(text: str) -> bool:
    """The rule spelled out: trimmed of Rust whitespace, starts and ends with a pair of
    markers, compared in ASCII lower case, without the two overlapping."""
    ws = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
        chr(c) for c in range(0x2000, 0x200B)
    )
    body = text.strip(ws)
    lower = "".join(c.lower() if c.isascii() else c for c in body)
    return any(
        len(body) >= len(a) + len(b) and lower.startswith(a) and lower.endswith(b)
        for a, b in CONTEXTUAL_FRAGMENTS
    )


_marker_parts = st.sampled_from(
    [p for pair in CONTEXTUAL_FRAGMENTS for p in pair]
    + [p.upper() for p, _ in CONTEXTUAL_FRAGMENTS]
)


@given(st.lists(_marker_parts | st.text(max_size=6), max_size=4).map("".join))
def test_context_fragments_follow_the_marker_rule(text: str) -> None:
    assert is_contextual_fragment(text) == _wrapped_in_a_marker(text)


def test_plain_user_text_is_a_user_message() -> None:
    assert is_user_message(_user("fix the flaky test"))
    assert is_user_message(_parse("response_item", _user("hi", "there")))


@pytest.mark.parametrize("text", CONTEXT_TEXTS)
def test_context_fragments_are_not_user_messages(text: str) -> None:
    assert not is_user_message(_user(text))
    assert not is_user_message(_user("real question", text))


@pytest.mark.parametrize(
    "text",
    [
        "<environment_context> but never closed",
        "please read <environment_context>x</environment_context>",
        "<s\u212aill>x</s\u212aill>",  # KELVIN SIGN lower-cases to "k" only outside ASCII rules
    ],
)
def test_texts_that_only_resemble_fragments_are_user_messages(text: str) -> None:
    assert is_user_message(_user(text))


@pytest.mark.parametrize("role", ["assistant", "developer", "system"])
def test_other_roles_are_never_user_messages(role: str) -> None:
    assert not is_user_message(_user("hello", role=role))


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["unknown"], True),
        (["unknown", "images.preparation_error"], True),
        (["user.input"], True),
        ([""], True),
        (["environments.environment_context"], False),
        (["shell.user_command"], False),
        (["generic.turn_aborted", "goal.internal_context"], False),
        ([], True),
    ],
)
def test_content_item_kinds_mark_context_messages(kinds: list[str], expected: bool) -> None:
    assert is_user_message(_user("text", kinds=kinds)) is expected


def test_non_messages_are_not_user_messages() -> None:
    assert not is_user_message(
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c"}
    )
    assert not is_user_message(_parse("event_msg", {"type": "user_message", "message": "hi"}))
    assert not is_user_message({"type": "message", "role": "user", "content": [{"type": "bogus"}]})

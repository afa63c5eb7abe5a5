"""Turn reconstruction pieces: error mapping, hook prompts, shell quoting, events, snapshots."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from threadloom.protocol.items import Malformed, parse_item
from threadloom.protocol.rollout import InvalidSessionMeta, RolloutLine
from threadloom.protocol.turns import (
    HistoryBase,
    InvalidTurnError,
    ItemUpserted,
    ReducerClosed,
    TurnAmended,
    TurnAppended,
    TurnReducer,
    TurnsDropped,
    apply_event,
    build_turns,
    codex_error_info_json,
    encode_snapshot,
    history_base,
    load_line,
    turn_error_json,
)
from threadloom.protocol.turns.hooks import parse_hook_fragment, parse_hook_prompt
from threadloom.protocol.turns.items import InvalidItem, review_text, rust_lines
from threadloom.protocol.turns.turn_items import path_from_uri, shell_join, shell_quote

TS = "2025-01-01T00:00:00.000Z"
THREAD = "019a0000-0000-7000-9000-000000000010"


def meta(**extra: Any) -> RolloutLine:
    payload = {"id": THREAD, "timestamp": TS, "cwd": "/p", "originator": "o", "cli_version": "0"}
    return RolloutLine(TS, "session_meta", {**payload, **extra})


def ev(payload: dict[str, Any]) -> RolloutLine:
    return RolloutLine(TS, "event_msg", payload)


def user(text: str) -> RolloutLine:
    return ev({"type": "user_message", "message": text})


def agent(text: str) -> RolloutLine:
    return ev({"type": "agent_message", "message": text})


def started(turn: str) -> RolloutLine:
    return ev({"type": "task_started", "turn_id": turn})


def complete(turn: str, **extra: Any) -> RolloutLine:
    return ev({"type": "task_complete", "turn_id": turn, **extra})


def ids(turns: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(t["id"], [i["id"] for i in t["items"]]) for t in turns]


# -- error mapping ----------------------------------------------------------------------------

ERROR_INFOS: list[tuple[Any, Any]] = [
    (None, None),
    ("context_window_exceeded", "contextWindowExceeded"),
    ("session_budget_exceeded", "sessionBudgetExceeded"),
    ("no_such_variant", "other"),
    ("ContextWindowExceeded", "other"),
    ({"usage_limit_exceeded": None}, "usageLimitExceeded"),
    (
        {"response_stream_disconnected": {"http_status_code": 502}},
        {"responseStreamDisconnected": {"httpStatusCode": 502}},
    ),
    ({"http_connection_failed": {}}, {"httpConnectionFailed": {"httpStatusCode": None}}),
    (
        {"http_connection_failed": {"http_status_code": 1, "x": 2}},
        {"httpConnectionFailed": {"httpStatusCode": 1}},
    ),
    (
        {"active_turn_not_steerable": {"turn_kind": "review"}},
        {"activeTurnNotSteerable": {"turnKind": "review"}},
    ),
    ({"model_cap": {"model": "m"}}, "other"),
    ({"bogus": 5}, "other"),
]


@pytest.mark.parametrize(("value", "expected"), ERROR_INFOS)
def test_codex_error_info_maps_to_the_api_form(value: Any, expected: Any) -> None:
    assert codex_error_info_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "http_connection_failed",
        "active_turn_not_steerable",
        {"http_connection_failed": {"http_status_code": 70000}},
        {"http_connection_failed": None},
        {"usage_limit_exceeded": {}},
        {"other": "why"},
        {"active_turn_not_steerable": {}},
        {"a": None, "b": None},
        5,
        [],
    ],
)
def test_unreadable_codex_error_info_is_refused(value: Any) -> None:
    with pytest.raises(InvalidTurnError):
        codex_error_info_json(value)


def test_turn_error_needs_a_message_and_gets_two_null_members() -> None:
    assert turn_error_json({"message": "m", "extra": 1}) == {
        "message": "m",
        "codexErrorInfo": None,
        "additionalDetails": None,
        "misalignment": None,
    }
    assert turn_error_json(None) is None
    with pytest.raises(InvalidTurnError):
        turn_error_json({"codex_error_info": "other"})


def test_an_unreadable_error_drops_the_whole_completion_line() -> None:
    bad = complete("T1", error={"message": "m", "codex_error_info": "http_connection_failed"})
    assert load_line(bad) is None
    turns = build_turns([meta(), started("T1"), user("q"), bad])
    assert turns[0]["status"] == "interrupted"


# -- hook prompts ------------------------------------------------------------------------------

HOOKS = [
    (
        '<hook_prompt hook_run_id="run-1">Please fix lint</hook_prompt>',
        ("Please fix lint", "run-1"),
    ),
    (' <x hook_run_id="r" other="o">a &amp; b &#65;&#x42;</x> ', ("a & b AB", "r")),
    ("<hook_prompt hook_run_id='r'>  spaced  </hook_prompt>", ("  spaced  ", "r")),
    ('<?xml version="1.0"?><h hook_run_id="r"><!-- c --><![CDATA[<y>]]>z</h>', ("<y>z", "r")),
    ('<h hook_run_id="r">a\r\nb<b>skip</b></h>trailing', ("a\nb", "r")),
    ('<h hook_run_id="r&amp;1">x</h><h hook_run_id="r2">y</h>', ("x", "r&1")),
    ('<h hook_run_id="  ">x</h>', None),
    ('<h hook_run_id="r"></h>', None),
    ('<h hook_run_id="r"/>', None),
    ("<h>x</h>", None),
    ('<h hook_run_id="r">x', None),
    ('<h hook_run_id="r">a & b</h>', None),
    ("plain text", None),
]


@pytest.mark.parametrize(("text", "expected"), HOOKS)
def test_hook_prompt_fragments_read_as_codex_reads_them(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert parse_hook_fragment(text) == expected


def test_a_hook_prompt_message_needs_every_text_to_be_a_fragment() -> None:
    one = '<h hook_run_id="a">x</h>'
    assert parse_hook_prompt([one, one]) == [{"text": "x", "hookRunId": "a"}] * 2
    assert parse_hook_prompt([one, "not a hook"]) is None
    assert parse_hook_prompt([]) is None


def test_an_id_less_hook_message_gets_a_new_id() -> None:
    message = RolloutLine(
        TS,
        "response_item",
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": '<h hook_run_id="r">x</h>'}],
        },
    )
    turns = build_turns([meta(), user("q"), message], new_id=lambda: "fresh-id")
    assert ids(turns) == [("rollout-1", ["item-1", "fresh-id"])]


# -- item helpers ------------------------------------------------------------------------------

QUOTES = [
    ("", "''"),
    ("plain-./:@]_+0", "plain-./:@]_+0"),
    ("hi there", "'hi there'"),
    ("it's", '"it\'s"'),
    ("x\\y", '"x\\\\y"'),
    ("$x", "'$x'"),
    ("é", "'é'"),
    ("^a", "'^a'"),
    ("caret^x", "caret'^x'"),
    ('a"b', "'a\"b'"),
]


@pytest.mark.parametrize(("arg", "quoted"), QUOTES)
def test_shell_quoting_matches_rust_shlex(arg: str, quoted: str) -> None:
    assert shell_quote(arg) == quoted


def test_a_command_is_its_quoted_arguments_joined_by_spaces() -> None:
    assert shell_join(["/bin/bash", "-lc", "echo hi"]) == "/bin/bash -lc 'echo hi'"


def test_paths_in_turn_items_are_file_uris() -> None:
    assert path_from_uri("file:///proj/sub%20dir") == "/proj/sub dir"
    assert path_from_uri("file://localhost/a") == "/a"
    for bad in ("/plain/path", "file://host/a", None):
        with pytest.raises(InvalidItem):
            path_from_uri(bad)


def test_review_text_is_the_explanation_and_the_findings_block() -> None:
    finding = {
        "title": "t",
        "body": "line 1\r\nline 2\n",
        "confidence_score": 0.5,
        "priority": 1,
        "code_location": {"absolute_file_path": "/a", "line_range": {"start": 1, "end": 2}},
    }
    output = {"findings": [finding, finding], "overall_explanation": " why "}
    block = "- t \u2014 /a:1-2\n  line 1\n  line 2"
    assert review_text(output) == f"why\n\nFull review comments:\n\n{block}\n\n{block}"
    assert review_text({"findings": [], "overall_explanation": " "}) == (
        "Reviewer failed to output a response."
    )
    with pytest.raises(InvalidItem):
        review_text({"findings": [{"title": "t"}], "overall_explanation": ""})


def test_rust_lines_splits_like_str_lines() -> None:
    assert rust_lines("a\r\nb\n") == ["a", "b"]
    assert rust_lines("a\n\nb") == ["a", "", "b"]
    assert rust_lines("") == []


# -- modes, history base -----------------------------------------------------------------------


def test_the_mode_comes_from_the_first_session_meta_line() -> None:
    reducer = TurnReducer()
    reducer.feed(meta(history_mode="paginated"))
    assert reducer.mode is not None
    assert reducer.mode.value == "paginated"
    legacy = TurnReducer()
    legacy.feed(user("no meta first"))
    assert legacy.mode is not None
    assert legacy.mode.value == "legacy"
    with pytest.raises(InvalidSessionMeta):
        TurnReducer().feed(meta(history_mode="future"))


def test_an_explicit_mode_wins_over_the_session_meta() -> None:
    lines = [meta(history_mode="paginated"), user("q")]
    assert build_turns(lines) == []
    assert ids(build_turns(lines, mode="legacy")) == [("rollout-1", ["item-1"])]


def test_history_base_names_the_inherited_parent_range() -> None:
    base = {"thread_id": THREAD, "end_ordinal_exclusive": 5, "end_byte_offset": 24718}
    assert history_base(meta(history_base=base)) == HistoryBase(THREAD, 5, 24718)
    assert history_base(meta()) is None
    assert history_base(meta(history_base={"thread_id": THREAD})) is None
    assert history_base(user("q")) is None


def test_a_finished_reducer_refuses_more_input() -> None:
    reducer = TurnReducer()
    reducer.feed(meta())
    reducer.finish()
    assert reducer.finished
    with pytest.raises(ReducerClosed):
        reducer.feed(user("late"))
    with pytest.raises(ReducerClosed):
        reducer.finish()
    with pytest.raises(ValueError, match="hold"):
        TurnReducer(hold=-1)


def test_loaded_threads_keep_their_running_turn_in_progress() -> None:
    lines = [meta(), started("T1"), user("running")]
    assert build_turns(lines, loaded=True)[0]["status"] == "inProgress"
    assert build_turns(lines)[0]["status"] == "interrupted"


# -- streaming events --------------------------------------------------------------------------


def feed(reducer: TurnReducer, lines: list[RolloutLine]) -> list[Any]:
    return [event for line in lines for event in reducer.feed(line)]


def test_turns_are_released_as_soon_as_they_finish_with_hold_zero() -> None:
    reducer = TurnReducer(hold=0)
    assert feed(reducer, [meta(), started("T1"), user("a")]) == []
    (event,) = reducer.feed(complete("T1", completed_at=5))
    assert isinstance(event, TurnAppended)
    assert (event.index, event.turn["id"], event.turn["status"]) == (0, "T1", "completed")
    assert reducer.released == 1


def test_hold_keeps_recent_turns_so_late_changes_apply_in_place() -> None:
    lines = [meta(), started("T1"), user("a"), complete("T1"), started("T2"), user("b")]
    late = complete("T1", error={"message": "late"})
    reducer = TurnReducer(hold=1)
    feed(reducer, lines)
    assert reducer.feed(late) == []
    appended = reducer.finish()
    assert [e.turn["status"] for e in appended if isinstance(e, TurnAppended)] == [
        "failed",
        "interrupted",
    ]


def test_a_late_completion_of_a_released_turn_is_an_amendment() -> None:
    reducer = TurnReducer(hold=0)
    feed(reducer, [meta(), started("T1"), user("a"), complete("T1"), started("T2")])
    events = reducer.feed(complete("T1", error={"message": "late"}, completed_at=9))
    error = {"message": "late", "codexErrorInfo": None, "additionalDetails": None}
    assert events == [
        TurnAmended(
            0,
            {
                "completedAt": 9,
                "durationMs": None,
                "status": "failed",
                "error": {**error, "misalignment": None},
            },
        )
    ]


def test_an_upsert_into_a_released_turn_is_an_item_event() -> None:
    patch = ev(
        {
            "type": "patch_apply_end",
            "call_id": "p",
            "turn_id": "T1",
            "stdout": "",
            "stderr": "",
            "success": True,
            "changes": {"/a": {"type": "add", "content": "x"}},
            "status": "completed",
        }
    )
    reducer = TurnReducer(hold=0)
    feed(reducer, [meta(), started("T1"), user("a"), complete("T1"), started("T2")])
    (event,) = reducer.feed(patch)
    assert isinstance(event, ItemUpserted)
    assert (event.index, event.item["id"], event.keep_times) == (0, "p", False)


def test_a_rollback_drops_released_turns_and_renumbers_items() -> None:
    reducer = TurnReducer(hold=0)
    turns: list[dict[str, Any]] = []
    lines = [meta(), user("one"), agent("1"), user("two"), agent("2"), user("three")]
    for event in feed(reducer, lines):
        apply_event(turns, event)
    assert [t["id"] for t in turns] == ["rollout-1", "rollout-3"]
    # The open turn ("three") is finished first, so it is the first one dropped.
    events = reducer.feed(ev({"type": "thread_rolled_back", "num_turns": 2}))
    assert events == [TurnsDropped(1)]
    events += feed(reducer, [user("four")]) + reducer.finish()
    for event in events:
        apply_event(turns, event)
    assert ids(turns) == [("rollout-1", ["item-1", "item-2"]), ("rollout-7", ["item-3"])]


def test_turns_still_in_progress_at_the_end_are_amended_to_interrupted() -> None:
    reducer = TurnReducer(hold=0)
    feed(reducer, [meta(), started("T1"), user("a"), started("T2"), user("b")])
    amended, appended = reducer.finish()
    assert amended == TurnAmended(0, {"status": "interrupted"})
    assert isinstance(appended, TurnAppended)
    assert (appended.index, appended.turn["id"], appended.turn["status"]) == (
        1,
        "T2",
        "interrupted",
    )


def test_a_snapshot_stays_small_when_turns_are_released() -> None:
    lines = [meta()]
    for n in range(200):
        lines += [user(f"question number {n} " + "x" * 200), agent("answer " + "y" * 200)]
    reducer = TurnReducer(hold=0)
    feed(reducer, lines)
    size = len(encode_snapshot(reducer.snapshot()))
    assert reducer.released == 199
    assert size < 40 * 200 + 2000
    assert len(encode_snapshot(TurnReducer(hold=None).snapshot())) < 300


def test_snapshots_are_copies() -> None:
    reducer = TurnReducer(hold=None)
    feed(reducer, [meta(), user("a")])
    snapshot = reducer.snapshot()
    reducer.feed(agent("b"))
    assert snapshot.current is not None
    assert len(snapshot.current.items) == 1
    assert msgspec.json.decode(encode_snapshot(snapshot))["next_item"] == 2


# -- what the shared parser lets through ---------------------------------------------------------


def test_parse_item_refuses_thread_settings_codex_cannot_read() -> None:
    """Codex 0.169.0 drops a ``thread_settings_applied`` whose ``collaboration_mode`` lacks
    ``mode``/``settings`` (observed: the line takes no rollout index); ``loading.py`` checks
    it, but ``items.parse_item`` (``events.ThreadSettings.collaboration_mode: Any``) does not
    report it as ``Malformed``."""
    line = ev(
        {
            "type": "thread_settings_applied",
            "thread_id": THREAD,
            "thread_settings": {
                "model": "m",
                "model_provider_id": "openai",
                "approval_policy": "never",
                "approvals_reviewer": "user",
                "permission_profile": {"type": "disabled"},
                "cwd": "/p",
                "collaboration_mode": {},
            },
        }
    )
    assert load_line(line) is None
    assert isinstance(parse_item(line), Malformed)

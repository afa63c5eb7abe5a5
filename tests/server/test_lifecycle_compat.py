"""``thread/start``, ``thread/resume``, ``thread/fork``, ``thread/inject_items``: threadloom's app
server answers, notifies and writes exactly as Codex 0.169.0 (app-server-threads 4.2-4.4, 4.16;
rollout-format 12, 16).

Two differential runs (:mod:`threadloom.testing.differential`), each one script on two copies
of one home: a legacy home (unfinished, finished, named, turn-less, archived, foreign-provider
and odd-shaped threads, threads whose recorded settings a resume or fork inherits) and a
paginated one (written as Codex writes them). Every reply is
compared whole; notifications thread by thread, in order; every file either server wrote or
changed, line by line.

Normalized beyond the harness's fresh ids and times, because they must differ:

* ``base_instructions`` of a new thread's ``session_meta``: Codex writes its model prompt
  (20 kB of its own text), threadloom ``null``, so a byte offset into such a file (the
  ``history_base`` of a fork of a fork) differs too; ``context_window.window_id``: a fresh id
  first seen in a file, whose number the harness cannot align (files of the other side
  take numbers too);
* ids Codex invents for id-less response items and markers (``msg_<uuid7>``, ``fc_…``): the
  harness leaves prefixed ids alone;
* Codex's internal bookkeeping on injected items (``internal_chat_message_metadata_passthrough``
  with its ``auto-compact-N`` turn id and creation time, the envelope ``metadata``), which
  threadloom does not write;
* notifications are compared per thread, not per request: Codex sends most of them after its
  reply, from other tasks, so they land in a later exchange at a time of their choosing.

Deliberate differences, asserted as threadloom's rule: a ``thread/start`` without
``historyMode`` creates a *legacy* thread (README "History modes"); Codex 0.169.0 a paginated
one. Every other start in the scripts names its mode.
"""

from __future__ import annotations

import copy
import random
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import HistoryMode
from threadloom.runtime.settings import ThreadSettings
from threadloom.store.create import session_meta_line
from threadloom.store.params import CreateThreadParams
from threadloom.testing import RolloutBuilder, append_session_index, rollout_path, uuid7
from threadloom.testing.differential import (
    DifferentialResult,
    Script,
    is_notification,
    is_response,
    json_diff,
)
from threadloom.testing.turns import Turn, TurnWriter, Usage

from .conftest import Differential

pytestmark = pytest.mark.compat

BASE_MS = 1_735_905_600_000  # 2025-01-03T12:00:00Z
CWD = "/proj"
FRESH_ITEM_ID = re.compile(
    r"^([a-z]+)_([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
FRESH_AFTER_MS = BASE_MS + 365 * 86_400_000
"""Item ids minted after this (a year after the homes' own times) were minted by a server."""
INJECTED_TEXT = "injected context"
ITEMS: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": INJECTED_TEXT}]},
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "injected answer"}],
        "phase": "final_answer",
    },
    {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c1"},
    {"type": "function_call_output", "call_id": "c1", "output": "ok"},
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "why"}]},
    {"type": "bogus_kind"},
]


# --- homes ---------------------------------------------------------------------------------------
class Ids:
    """The threads of the legacy home."""

    def __init__(self) -> None:
        rng = random.Random(41)
        self.unfinished, self.done, self.noturns, self.after_turns = (
            uuid7(BASE_MS + i * 1000, rng) for i in range(4)
        )
        self.archived, self.foreign, self.odd, self.resumed = (
            uuid7(BASE_MS + (4 + i) * 1000, rng) for i in range(4)
        )
        self.recorded, self.late_context = (uuid7(BASE_MS + (8 + i) * 1000, rng) for i in range(2))


IDS = Ids()


def _builder(thread_id: str, index: int, **kwargs: Any) -> RolloutBuilder:
    return RolloutBuilder(thread_id, created=BASE_MS + index * 1000, cwd=CWD, **kwargs)


def legacy_home(folder: Path) -> Path:
    """Threads of every shape a fork or resume treats differently."""
    home = folder / "home"
    home.mkdir(parents=True)
    b = _builder(IDS.unfinished, 0)
    b.turn("hello there", "hi back", turn_id="u1").turn("second", "answer 2", turn_id="u2")
    b.turn("third", None, turn_id="u3", complete=False)
    b.write(home)
    b = _builder(IDS.done, 1)
    b.turn("first question", "first answer", turn_id="d1", effort="high")
    b.turn("second question", "second answer", turn_id="d2", effort="high")
    b.turn("third question", "third answer", turn_id="d3", effort="high")
    b.write(home)
    append_session_index(home, IDS.done, "Named thread", updated_at=BASE_MS + 1000)
    b = _builder(IDS.noturns, 2)
    b.user_message("old style").agent_message("old answer").user_message("left hanging")
    b.write(home)
    b = _builder(IDS.after_turns, 3)
    b.turn("asked", "answered", turn_id="a1").user_message("a user message after the turn")
    b.write(home)
    # Far from the other files' times: Codex's backfill gives a live thread whose mtime lies
    # just under an archived file's mtime (within about a second) that file's recencyAt.
    _builder(IDS.archived, 4).turn("archived q", "archived a", turn_id="x1").write(
        home, archived=True, mtime_ms=BASE_MS + 60_000
    )
    _builder(IDS.foreign, 5, model_provider="gone").turn("q", "a", turn_id="g1").write(home)
    odd_thread(_builder(IDS.odd, 6)).write(home)
    _builder(IDS.resumed, 7).turn("to be continued", "sure", turn_id="r1").write(home)
    recorded_settings(_builder(IDS.recorded, 8), IDS.recorded).write(home)
    b = _builder(IDS.late_context, 9).turn("q1", "a1", turn_id="l1")
    settings_applied(b, IDS.late_context, cwd="/c", approval="untrusted", effort="low")
    b.turn("q2", "a2", turn_id="l2")
    b.line("turn_context", {**OLD_CONTEXT, "turn_id": "l2", "cwd": "/b", "model": "m1"})
    b.write(home)
    return home


OLD_CONTEXT: dict[str, Any] = {
    "cwd": CWD,
    "approval_policy": "never",
    "sandbox_policy": {"type": "danger-full-access"},
    "model": "gpt-5",
    "summary": "auto",
}
"""A ``turn_context`` of an older Codex (no permission profile)."""


def settings_applied(
    b: RolloutBuilder, thread_id: str, *, cwd: str, approval: str, effort: str | None = None
) -> RolloutBuilder:
    """A ``thread_settings_applied`` event as Codex writes it (model ``m2``)."""
    settings = ThreadSettings(
        model="m2",
        model_provider="openai",
        cwd=cwd,
        approval_policy=approval,
        sandbox="workspace-write",
        reasoning_effort=effort,
    )
    return b.event(settings.applied_event(thread_id))


def recorded_settings(b: RolloutBuilder, thread_id: str) -> RolloutBuilder:
    """Settings recorded twice, each time by a turn context then settings applied: what a
    resume or fork inherits from them."""
    b.turn("first", "one", turn_id="s1")
    b.line("turn_context", {**OLD_CONTEXT, "turn_id": "s1", "cwd": "/b"})
    settings_applied(b, thread_id, cwd="/c", approval="untrusted", effort="high")
    b.turn("second", "two", turn_id="s2")
    return settings_applied(b, thread_id, cwd="/c2", approval="on-request", effort="low")


def odd_thread(b: RolloutBuilder) -> RolloutBuilder:
    """Lines a fork re-serialises (old shapes, id-less items) or drops (bad or unknown)."""
    b.event({"type": "turn_started", "turn_id": "o1", "model_context_window": 200000})
    b.line(
        "turn_context",
        {
            "turn_id": "o1",
            "cwd": CWD,
            "approval_policy": "never",
            "sandbox_policy": {"type": "danger-full-access"},
            "model": "gpt-5",
            "summary": "auto",
        },
    )
    b.response_item(
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "odd"}]}
    )
    b.event({"type": "user_message", "message": "odd", "kind": "plain", "images": None})
    b.response_item({"type": "function_call", "name": "sh", "arguments": "{}", "call_id": "k1"})
    b.response_item({"type": "function_call_output", "call_id": "k1", "output": "done"})
    b.response_item({"type": "reasoning", "summary": [{"type": "summary_text", "text": "s"}]})
    b.event({"type": "agent_message", "message": "odd answer"})
    b.garbage()
    b.event({"type": "error", "message": "dropped by policy"})
    b.line("future_kind", {"a": 1})
    b.response_item({"type": "ghost_snapshot", "ghost_commit": {"id": "x"}})
    b.event({"type": "turn_complete", "turn_id": "o1", "last_agent_message": "odd answer"})
    b.torn()
    return b


class PagedIds:
    def __init__(self) -> None:
        rng = random.Random(43)
        self.whole, self.unfinished = (uuid7(BASE_MS + i * 1000, rng) for i in range(2))


PAGED = PagedIds()


def paginated_home(folder: Path) -> Path:
    """Two paginated threads as Codex writes them (ordinals, ``item_completed`` events)."""
    home = folder / "home"
    home.mkdir(parents=True)
    turns = [
        Turn(user="p1", agent="a1", usage=(Usage(100, 10),), turn_id="p1"),
        Turn(user="p2", agent="a2", usage=(Usage(100, 10),), turn_id="p2"),
    ]
    _write_paginated(home, PAGED.whole, 0, turns, drop_tail=0)
    turns = [
        Turn(user="q1", agent="b1", usage=(Usage(100, 10),), turn_id="q1"),
        Turn(user="q2", interrupted=True, turn_id="q2"),
    ]
    _write_paginated(home, PAGED.unfinished, 1, turns, drop_tail=2)
    return home


def _write_paginated(
    home: Path, thread_id: str, index: int, turns: list[Turn], *, drop_tail: int
) -> None:
    created = BASE_MS + index * 1000
    params = CreateThreadParams(
        thread_id=thread_id,  # type: ignore[arg-type]
        cwd=CWD,
        originator="codex_cli_rs",
        cli_version="0.169.0",
        created_at_ms=created,
        model_provider="openai",
        history_mode=HistoryMode.PAGINATED,
    )
    writer = TurnWriter(thread_id, cwd=CWD, start_ms=created, history_mode=HistoryMode.PAGINATED)
    lines = [session_meta_line(params), *writer.turns(turns)]
    if drop_tail:
        lines = lines[:-drop_tail]  # the turn never ended: no marker, no turn_aborted
    path = rollout_path(home, thread_id, created)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"".join(
            encode_line(msgspec.structs.replace(line, ordinal=n)) + b"\n"
            for n, line in enumerate(lines)
        )
    )


# --- scripts -------------------------------------------------------------------------------------
EXPERIMENTAL = {"experimentalApi": True}


def thread_of(label: str) -> Callable[[dict[str, Any]], str]:
    def get(replies: dict[str, Any]) -> str:
        return str(replies[label]["result"]["thread"]["id"])

    return get


class Steps:
    """A script whose every request is followed by a probe (so late notifications of a step
    land before the next step's reply)."""

    def __init__(self, *, experimental: bool = True) -> None:
        self.script = Script().initialize(capabilities=EXPERIMENTAL if experimental else None)
        self.labels: list[str] = []

    def __call__(self, label: str, method: str, params: Any) -> Steps:
        self.script.request(method, params, label=label)
        self.script.probe(f"{label}: probe")
        self.labels.append(label)
        return self


def on(label: str, **params: Any) -> Callable[[Any], dict[str, Any]]:
    """Params naming the thread that step ``label`` created."""

    def build(replies: Any) -> dict[str, Any]:
        return {"threadId": replies[label]["result"]["thread"]["id"], **params}

    return build


def legacy_script() -> Steps:
    s = Steps()
    # thread/start: every mode named, then what starting alone writes (name/set materialises)
    s("start legacy", "thread/start", {"historyMode": "legacy", "cwd": CWD})
    s("name started legacy", "thread/name/set", on("start legacy", name="started legacy"))
    s("start paginated", "thread/start", {"historyMode": "paginated", "cwd": "relative/dir"})
    s("name started paginated", "thread/name/set", on("start paginated", name="started paged"))
    s(
        "start overrides",
        "thread/start",
        {
            "historyMode": "legacy",
            "model": "o3",
            "modelProvider": "ollama",
            "cwd": "/tmp/../srv/./x/",
            "sandbox": "workspace-write",
            "approvalPolicy": "never",
        },
    )
    s(
        "start full access",
        "thread/start",
        {"historyMode": "legacy", "sandbox": "danger-full-access"},
    )
    s("start ephemeral", "thread/start", {"historyMode": "legacy", "ephemeral": True})
    s("start unknown provider", "thread/start", {"modelProvider": "nope"})
    s("start bad mode", "thread/start", {"historyMode": "bogus"})
    s("start bad sandbox", "thread/start", {"sandbox": "bogus"})
    s("start bad approval", "thread/start", {"approvalPolicy": "bogus"})
    s("start bad ephemeral", "thread/start", {"ephemeral": "yes"})
    s(
        "start with config",
        "thread/start",
        {
            "historyMode": "legacy",
            "config": {
                "model": "o4",
                "model_reasoning_effort": "low",
                "approval_policy": "never",
                "sandbox_mode": "workspace-write",
                "hide_agent_reasoning": True,
            },
        },
    )
    s(
        "start config provider",
        "thread/start",
        {"historyMode": "legacy", "config": {"model_provider": "ollama"}},
    )
    s("start config unknown provider", "thread/start", {"config": {"model_provider": "nope"}})
    s("start bad config", "thread/start", {"config": {"model": 5}})
    s("resume started", "thread/resume", on("start legacy"))
    s("fork started", "thread/fork", on("start legacy"))
    # thread/resume
    s("resume unfinished", "thread/resume", {"threadId": IDS.unfinished})
    s("resume loaded", "thread/resume", {"threadId": IDS.unfinished})
    s(
        "resume loaded without turns",
        "thread/resume",
        {"threadId": IDS.unfinished, "excludeTurns": True},
    )
    s(
        "resume with a page",
        "thread/resume",
        {"threadId": IDS.done, "excludeTurns": True, "initialTurnsPage": {"limit": 2}},
    )
    s("resume other model", "thread/resume", {"threadId": IDS.noturns, "model": "o3", "cwd": "/x"})
    s("resume archived", "thread/resume", {"threadId": IDS.archived})
    s("resume foreign provider", "thread/resume", {"threadId": IDS.foreign})
    s(
        "resume foreign as openai",
        "thread/resume",
        {"threadId": IDS.foreign, "modelProvider": "openai"},
    )
    s(
        "resume another provider",
        "thread/resume",
        {"threadId": IDS.after_turns, "modelProvider": "ollama"},
    )
    s(
        "resume unknown provider",
        "thread/resume",
        {"threadId": IDS.after_turns, "modelProvider": "nope"},
    )
    s(
        "resume same provider",
        "thread/resume",
        {"threadId": IDS.odd, "modelProvider": "openai", "excludeTurns": True},
    )
    s("resume recorded settings", "thread/resume", {"threadId": IDS.recorded})
    s(
        "resume late context",
        "thread/resume",
        {"threadId": IDS.late_context, "config": {"model_reasoning_effort": "minimal"}},
    )
    s("resume unknown", "thread/resume", {"threadId": "019a0000-0000-7000-9000-00000000dead"})
    s("resume bad id", "thread/resume", {"threadId": "not-a-uuid"})
    s("resume without id", "thread/resume", {})
    # thread/fork
    s("fork unfinished", "thread/fork", {"threadId": IDS.unfinished})
    s("fork last turn", "thread/fork", {"threadId": IDS.done, "lastTurnId": "d2"})
    s("fork before turn", "thread/fork", {"threadId": IDS.done, "beforeTurnId": "d2"})
    s("fork named", "thread/fork", {"threadId": IDS.done, "excludeTurns": True, "model": "o3"})
    s("fork of a fork", "thread/fork", on("fork named"))
    s("fork turn-less", "thread/fork", {"threadId": IDS.noturns})
    s("fork after turns", "thread/fork", {"threadId": IDS.after_turns, "cwd": "/elsewhere"})
    s("fork odd", "thread/fork", {"threadId": IDS.odd})
    s("fork recorded settings", "thread/fork", {"threadId": IDS.recorded, "lastTurnId": "s1"})
    s("fork late context", "thread/fork", {"threadId": IDS.late_context})
    s("fork config", "thread/fork", {"threadId": IDS.done, "config": {"model": "o4"}})
    s("fork at the last turn", "thread/fork", {"threadId": IDS.done, "lastTurnId": "d3"})
    s("fork ephemeral", "thread/fork", {"threadId": IDS.unfinished, "ephemeral": True})
    s("fork unknown turn", "thread/fork", {"threadId": IDS.done, "lastTurnId": "nope"})
    s("fork in-progress turn", "thread/fork", {"threadId": IDS.unfinished, "lastTurnId": "u3"})
    s("fork implicit turn", "thread/fork", {"threadId": IDS.noturns, "lastTurnId": "rollout-1"})
    s("fork unknown before", "thread/fork", {"threadId": IDS.done, "beforeTurnId": "nope"})
    s(
        "fork both cuts",
        "thread/fork",
        {"threadId": IDS.done, "lastTurnId": "d1", "beforeTurnId": "d2"},
    )
    s("fork archived", "thread/fork", {"threadId": IDS.archived})
    s("fork unknown", "thread/fork", {"threadId": "019a0000-0000-7000-9000-00000000dead"})
    # thread/inject_items
    s("resume for injection", "thread/resume", {"threadId": IDS.resumed, "excludeTurns": True})
    s("inject", "thread/inject_items", {"threadId": IDS.resumed, "items": ITEMS})
    s("inject not loaded", "thread/inject_items", {"threadId": IDS.after_turns, "items": ITEMS})
    s("inject nothing", "thread/inject_items", {"threadId": IDS.resumed, "items": []})
    s(
        "inject no type",
        "thread/inject_items",
        {"threadId": IDS.resumed, "items": [{"role": "user"}]},
    )
    s(
        "inject no role",
        "thread/inject_items",
        {"threadId": IDS.resumed, "items": [ITEMS[0], {"type": "message"}]},
    )
    s("inject a number", "thread/inject_items", {"threadId": IDS.resumed, "items": [5]})
    s("inject without items", "thread/inject_items", {"threadId": IDS.resumed})
    s("inject bad id", "thread/inject_items", {"threadId": "bad", "items": ITEMS})
    s("start for injection", "thread/start", {"historyMode": "legacy", "cwd": CWD})
    s("inject into started", "thread/inject_items", on("start for injection", items=ITEMS[:1]))
    return s


def paginated_script() -> Steps:
    s = Steps()
    s("resume", "thread/resume", {"threadId": PAGED.whole})
    # not last: Codex may send this resume's notifications after the next reply or two
    s("resume without turns", "thread/resume", {"threadId": PAGED.unfinished, "excludeTurns": True})
    s("fork", "thread/fork", {"threadId": PAGED.whole})
    s("fork last turn", "thread/fork", {"threadId": PAGED.whole, "lastTurnId": "p1"})
    s("fork unfinished", "thread/fork", {"threadId": PAGED.unfinished})
    s("fork without turns", "thread/fork", {"threadId": PAGED.unfinished, "excludeTurns": True})
    s("resume a fork", "thread/resume", on("fork last turn"))
    s("fork a fork", "thread/fork", on("fork unfinished"))
    return s


def plain_script() -> Steps:
    """A client without the experimental API."""
    s = Steps(experimental=False)
    s("start with a mode", "thread/start", {"historyMode": "legacy"})
    s("resume with a page", "thread/resume", {"threadId": IDS.done, "initialTurnsPage": {}})
    s("fork before turn", "thread/fork", {"threadId": IDS.done, "beforeTurnId": "d1"})
    s("start by default", "thread/start", {"cwd": CWD})
    return s


# --- normalization -------------------------------------------------------------------------------
def _fresh_item_id(value: str) -> str | None:
    match = FRESH_ITEM_ID.match(value)
    if match is None:
        return None
    ms = int(match.group(2) + match.group(3), 16)
    return f"{match.group(1)}_<fresh>" if ms > FRESH_AFTER_MS else None


def normalize(value: Any) -> Any:
    """The test's normalization on top of the harness's (module docstring)."""
    if isinstance(value, str):
        return _fresh_item_id(value) or value
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: normalize(v) for k, v in value.items()}
    passthrough = out.get("internal_chat_message_metadata_passthrough")
    if isinstance(passthrough, dict) and "turn_id" in passthrough:
        del out["internal_chat_message_metadata_passthrough"]
    metadata = out.get("metadata")
    if isinstance(metadata, dict) and "history_sequence" in metadata:
        del out["metadata"]
    base = out.get("history_base")
    if isinstance(base, dict) and str(base.get("thread_id")).startswith("<new-id-"):
        base["end_byte_offset"] = "<offset in a fresh file>"
    if out.get("cli_version") == "<cliVersion>" and "base_instructions" in out:
        out["base_instructions"] = "<base_instructions>"
        if "context_window" in out:
            out["context_window"] = {"window_id": "<window>"}
    return out


def replies(result: DifferentialResult, candidate: bool) -> dict[str, Any]:
    side = result.candidate if candidate else result.reference
    out = {}
    for label, messages in side.exchanges.items():
        for message in messages:
            if is_response(message) and not str(label).endswith(": probe"):
                out[label] = normalize(message)
    return out


def notifications_by_thread(result: DifferentialResult, candidate: bool) -> dict[str, list[Any]]:
    """Every notification, per thread it concerns, in arrival order."""
    side = result.candidate if candidate else result.reference
    out: dict[str, list[Any]] = defaultdict(list)
    for label in result.labels:
        for message in side.exchanges.get(label, []):
            if not is_notification(message):
                continue
            params = message.get("params") or {}
            thread = params.get("threadId") or (params.get("thread") or {}).get("id") or "-"
            out[str(thread)].append(normalize(message))
    return dict(out)


def own_files(result: DifferentialResult, candidate: bool) -> dict[str, Any]:
    side = result.candidate if candidate else result.reference
    return {path: normalize(f) for path, f in side.files.items() if f is not None}


@pytest.fixture(scope="module")
def legacy(differential: Differential) -> DifferentialResult:
    return differential.run("lifecycle-legacy", lambda f: (legacy_home(f), legacy_script().script))


@pytest.fixture(scope="module")
def paginated(differential: Differential) -> DifferentialResult:
    return differential.run(
        "lifecycle-paginated", lambda f: (paginated_home(f), paginated_script().script)
    )


@pytest.fixture(scope="module")
def plain(differential: Differential) -> DifferentialResult:
    return differential.run("lifecycle-plain", lambda f: (legacy_home(f), plain_script().script))


def assert_same_replies(result: DifferentialResult, labels: list[str]) -> None:
    result.assert_no_problems()
    codex, ours = replies(result, False), replies(result, True)
    for label in labels:
        found = json_diff(codex.get(label), ours.get(label), "codex", "threadloom")
        assert not found, f"{label}: " + "\n".join(found[:10])


# --- tests ---------------------------------------------------------------------------------------
LEGACY_LABELS = legacy_script().labels
LEGACY_START = [label for label in LEGACY_LABELS if label.startswith(("start", "name started"))]
LEGACY_RESUME = [label for label in LEGACY_LABELS if label.startswith("resume")]
LEGACY_FORK = [label for label in LEGACY_LABELS if label.startswith("fork")]
LEGACY_INJECT = [label for label in LEGACY_LABELS if "inject" in label]


@pytest.mark.parametrize("label", LEGACY_LABELS)
def test_every_reply_is_codex_s(legacy: DifferentialResult, label: str) -> None:
    assert_same_replies(legacy, [label])


def test_the_replies_are_the_ones_the_spec_describes(legacy: DifferentialResult) -> None:
    codex = replies(legacy, False)
    assert codex["start legacy"]["result"]["thread"]["historyMode"] == "legacy"
    assert codex["start paginated"]["result"]["thread"]["historyMode"] == "paginated"
    assert codex["start unknown provider"]["error"]["message"] == (
        "failed to load configuration: Model provider `nope` not found"
    )
    resumed = codex["resume unfinished"]["result"]["thread"]
    assert [(t["id"], t["status"]) for t in resumed["turns"]] == [
        ("u1", "completed"),
        ("u2", "completed"),
        ("u3", "interrupted"),
    ]
    forked = codex["fork unfinished"]["result"]["thread"]
    assert forked["forkedFromId"] == IDS.unfinished
    assert [t["status"] for t in forked["turns"]] == ["completed", "completed", "interrupted"]
    ephemeral = codex["fork ephemeral"]["result"]["thread"]
    assert ephemeral["path"] is None
    assert [t["status"] for t in ephemeral["turns"]][-1] == "inProgress"
    assert [t["id"] for t in codex["fork last turn"]["result"]["thread"]["turns"]] == ["d1", "d2"]
    assert [t["id"] for t in codex["fork before turn"]["result"]["thread"]["turns"]] == ["d1"]
    assert codex["fork named"]["result"]["thread"]["name"] == "Named thread"
    foreign = codex["resume foreign provider"]["error"]
    assert foreign["data"] == {"type": "modelProviderNotConfigured", "modelProvider": "gone"}
    page = codex["resume with a page"]["result"]["initialTurnsPage"]
    assert [t["id"] for t in page["data"]] == ["d3", "d2"]
    assert codex["inject"]["result"] == {}
    assert codex["inject not loaded"]["error"]["message"] == (
        f"thread not found: {IDS.after_turns}"  # forked from, never loaded
    )


def test_notifications_are_codex_s_thread_by_thread(legacy: DifferentialResult) -> None:
    legacy.assert_no_problems()
    codex = notifications_by_thread(legacy, False)
    ours = notifications_by_thread(legacy, True)
    assert set(ours) == set(codex)
    for thread, notes in codex.items():
        assert ours[thread] == notes, thread
    methods = [n["method"] for n in codex[IDS.unfinished]]
    assert methods[:3] == [
        "thread/status/changed",
        "thread/tokenUsage/updated",
        "thread/goal/cleared",
    ]


def test_every_file_is_codex_s(legacy: DifferentialResult) -> None:
    """Except the started thread injected into, whose model context only Codex writes
    (``test_injected_items_are_written_as_codex_writes_them`` compares the rest)."""
    legacy.assert_no_problems()
    codex, ours = own_files(legacy, False), own_files(legacy, True)
    assert sorted(ours) == sorted(codex)
    started = replies(legacy, False)["start for injection"]["result"]["thread"]["id"]
    for path, content in codex.items():
        if started in path:
            continue
        assert ours[path] == content, path


def test_the_files_are_what_rollout_format_describes(legacy: DifferentialResult) -> None:
    codex = own_files(legacy, False)
    unfinished = next(p for p in codex if IDS.unfinished in p)
    appended = codex[unfinished]["lines"][-1]["payload"]
    assert appended["type"] == "thread_settings_applied"  # the first resume recorded them
    rollouts = [f for path, f in codex.items() if path != "session_index.jsonl"]
    forks = [f for f in rollouts if f["lines"][0]["payload"].get("forked_from_id")]
    child = next(f for f in forks if f["lines"][0]["payload"]["forked_from_id"] == IDS.unfinished)
    kinds = [(line["type"], line["payload"].get("type")) for line in child["lines"]]
    assert kinds[:2] == [("session_meta", None), ("session_meta", None)]
    assert kinds[-3:] == [
        ("response_item", "message"),
        ("event_msg", "turn_aborted"),
        ("event_msg", "thread_settings_applied"),
    ]
    index = codex["session_index.jsonl"]["lines"]
    # the thread's own entry, then one per fork of it (last turn, before turn, named, config,
    # at the last turn) and the fork of a fork, which inherits the name its parent got
    assert [e["thread_name"] for e in index].count("Named thread") == 7


def test_injected_items_are_written_as_codex_writes_them(legacy: DifferentialResult) -> None:
    codex, ours = own_files(legacy, False), own_files(legacy, True)
    resumed = next(p for p in codex if IDS.resumed in p)
    assert ours[resumed] == codex[resumed]
    injected = [
        line["payload"]
        for line in codex[resumed]["lines"]
        if line["type"] == "response_item" and line["payload"].get("id") in ITEM_IDS
    ]
    assert [p["type"] for p in injected] == [item["type"] for item in ITEMS[:-1]]
    # A thread not yet on disk: Codex writes its model context first (instructions we do
    # not have); the injected items themselves are the same.
    started = replies(legacy, False)["start for injection"]["result"]["thread"]["path"]
    path = next(p for p in codex if started.endswith(p.split("/")[-1]))
    mine = [line for line in ours[path]["lines"] if _is_injected(line)]
    theirs = [line for line in codex[path]["lines"] if _is_injected(line)]
    assert mine == theirs
    assert len(mine) == 1


ITEM_IDS = {"msg_<fresh>", "fc_<fresh>", "fco_<fresh>", "rs_<fresh>"}


def _is_injected(line: dict[str, Any]) -> bool:
    content = line["payload"].get("content")
    return (
        line["type"] == "response_item"
        and isinstance(content, list)
        and any(c.get("text") == INJECTED_TEXT for c in content)
    )


def test_paginated_threads_resume_and_fork_as_codex_s(paginated: DifferentialResult) -> None:
    assert_same_replies(paginated, paginated_script().labels)
    codex = notifications_by_thread(paginated, False)
    assert notifications_by_thread(paginated, True) == codex
    found = json_diff(own_files(paginated, False), own_files(paginated, True), "codex", "ours")
    assert not found, "\n".join(found[:10])


def test_paginated_forks_point_into_their_parent(paginated: DifferentialResult) -> None:
    codex = own_files(paginated, False)
    heads = [f["lines"][0] for f in codex.values() if "history_base" in f["lines"][0]["payload"]]
    assert len(heads) == 5
    parents = [h["payload"]["history_base"]["thread_id"] for h in heads]
    assert parents.count(PAGED.whole) == 2
    assert parents.count(PAGED.unfinished) == 2  # and the fork of a fork points into its parent
    assert all(h["ordinal"] == h["payload"]["forked_from_ordinal_exclusive"] for h in heads)


def test_experimental_params_need_the_capability(plain: DifferentialResult) -> None:
    assert_same_replies(plain, ["start with a mode", "resume with a page", "fork before turn"])
    codex = replies(plain, False)
    assert codex["start with a mode"]["error"]["message"] == (
        "thread/start.historyMode requires experimentalApi capability"
    )


def test_a_start_without_a_mode_is_legacy_in_threadloom(plain: DifferentialResult) -> None:
    codex = copy.deepcopy(replies(plain, False)["start by default"])
    ours = copy.deepcopy(replies(plain, True)["start by default"])
    assert codex["result"]["thread"]["historyMode"] == "paginated"
    assert ours["result"]["thread"]["historyMode"] == "legacy"
    ours["result"]["thread"]["historyMode"] = "paginated"
    assert ours == codex

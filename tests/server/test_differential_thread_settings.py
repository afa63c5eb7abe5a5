"""Thread metadata that recorded settings, sources and loading change (spec 3, 3.1): threadloom
answers as Codex 0.169.0 does, field for field.

The home holds legacy and paginated threads with ``thread_settings_applied`` events before,
after and between turn contexts (accepted and not), sub-agent threads with and without a
preview, and a paginated thread with a ``thread_source``. The script lists them on the file
scan and on the database path, reads each, reads one with its turns, then resumes a legacy
and a paginated thread, injects items into one and reads and lists them while loaded.

What it pins down:

* ``model`` and ``reasoningEffort`` come from the latest of the last turn context and the
  last accepted settings event, in listings and reads alike; ``thread/read`` shows the
  settings' ``cwd``, and so do database listings;
* ``threadSource`` is null in listings; a read shows it when it describes the thread from
  its row (paginated, or legacy without a preview, or with its turns);
* a loaded thread keeps its stored ``updatedAt`` (a legacy one with a preview: its creation
  time) and ``recencyAt`` through a resume's recorded settings and injected items.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import ALL_SOURCE_KINDS, RolloutBuilder
from threadloom.testing.differential import DifferentialResult, json_diff

from .conftest import OK, Corpus, Differential, check_exchange

pytestmark = pytest.mark.compat

CREATED_MS = 1_735_905_600_000  # 2025-01-03T12:00:00Z


def _id(n: int) -> str:
    return f"0194{n:04x}-0000-7000-8000-0000000000{n:02x}"


def _settings(b: RolloutBuilder, model: str, *, cwd: str = "/elsewhere", **extra: Any) -> None:
    """A settings event as Codex records it (``extra``: ``reasoning_effort`` and the like)."""
    settings: dict[str, Any] = {
        "model": model,
        "model_provider_id": "openai",
        "approval_policy": "on-request",
        "approvals_reviewer": "user",
        "requested_approvals_reviewer": "user",
        "permission_profile": {"type": "disabled"},
        "cwd": cwd,
        "runtime_workspace_roots": [cwd],
        **extra,
        "collaboration_mode": {
            "mode": "default",
            "settings": {"model": model, "reasoning_effort": None, "developer_instructions": None},
        },
        "disabled_plugin_ids": [],
    }
    b.event(
        {"type": "thread_settings_applied", "thread_id": b.thread_id, "thread_settings": settings}
    )


def _after(b: RolloutBuilder) -> None:
    b.turn("settings after the turn", "ok", model="tc", effort="low")
    _settings(b, "ts", reasoning_effort="high")


def _before(b: RolloutBuilder) -> None:
    _settings(b, "ts", reasoning_effort="high")
    b.turn("settings before the turn", "ok", model="tc", effort="low")


def _without_effort(b: RolloutBuilder) -> None:
    b.turn("settings without an effort", "ok", model="tc", effort="low")
    _settings(b, "ts")


def _rejected(b: RolloutBuilder) -> None:
    b.turn("settings rejected last", "ok", model="tc", effort="low")
    _settings(b, "ts", reasoning_effort="high", cwd="/accepted")
    _settings(b, "bad", cwd="relative/dir")


def _only(b: RolloutBuilder) -> None:
    b.user_message("settings and no turn context")
    _settings(b, "ts", reasoning_effort="medium")


def _plain(b: RolloutBuilder) -> None:
    b.turn("a plain conversation", "ok", model="tc", effort="low")


def _no_preview(b: RolloutBuilder) -> None:
    b.turn_context(model="tc")


SPAWN = {
    "subagent": {
        "thread_spawn": {
            "parent_thread_id": _id(1),
            "depth": 1,
            "agent_nickname": "Ada",
            "agent_role": "explorer",
        }
    }
}
SUB_AGENT = {
    "source": SPAWN,
    "thread_source": "subagent",
    "agent_nickname": "Ada",
    "agent_role": "explorer",
}

THREADS: dict[str, tuple[int, Callable[[RolloutBuilder], None], dict[str, Any]]] = {
    "settings after the turn": (1, _after, {}),
    "settings before the turn": (2, _before, {}),
    "settings without an effort": (3, _without_effort, {}),
    "settings rejected last": (4, _rejected, {}),
    "settings only": (5, _only, {}),
    "paginated with settings": (6, _after, {"history_mode": "paginated"}),
    "paginated from a user": (7, _plain, {"history_mode": "paginated", "thread_source": "user"}),
    "legacy from a user": (8, _plain, {"thread_source": "user"}),
    "sub-agent": (9, _plain, SUB_AGENT),
    "sub-agent without a preview": (10, _no_preview, SUB_AGENT),
    "legacy to resume": (11, _plain, {"cwd": "/tmp"}),
    "paginated to resume": (12, _plain, {"cwd": "/tmp", "history_mode": "paginated"}),
}
IDS = {name: _id(n) for name, (n, _, _) in THREADS.items()}
DATABASE = {"limit": 50, "sourceKinds": list(ALL_SOURCE_KINDS), "modelProviders": []}
LOADED = ("legacy to resume", "paginated to resume")
INJECTED = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}]


def write_home(home: Path) -> Path:
    for name, (n, fill, options) in THREADS.items():
        b = RolloutBuilder(
            IDS[name], created=CREATED_MS + n * 60_000, **{"cwd": "/meta", **options}
        )
        fill(b)
        b.write(home, mtime_ms=CREATED_MS + 86_400_000 + n * 1000)
    return home


def build() -> tuple[Corpus, set[str]]:
    """The script, and the labels whose replies alone are compared (loaded threads: their
    notifications come from other tasks, compared in ``test_lifecycle_compat``)."""
    c = Corpus().initialize()
    replies_only: set[str] = set()
    c.request("list: file scan", "thread/list", {"limit": 50}, OK)
    c.request("list: database", "thread/list", DATABASE, OK)
    c.request("list: search", "thread/list", {**DATABASE, "searchTerm": "settings"}, OK)
    for name, thread_id in IDS.items():
        c.request(f"read: {name}", "thread/read", {"threadId": thread_id}, OK)
    for name in ("sub-agent without a preview", "legacy from a user"):
        params = {"threadId": IDS[name], "includeTurns": True}
        c.request(f"read with turns: {name}", "thread/read", params, OK)
    for name in LOADED:
        thread = {"threadId": IDS[name]}
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (f"resume: {name}", "thread/resume", {**thread, "excludeTurns": True}),
            (f"loaded read: {name}", "thread/read", thread),
            (f"loaded read with turns: {name}", "thread/read", {**thread, "includeTurns": True}),
            (f"inject: {name}", "thread/inject_items", {**thread, "items": INJECTED}),
            (f"loaded read after inject: {name}", "thread/read", thread),
        ]
        for label, method, params in steps:
            c.request(label, method, params, OK)
            replies_only.add(label)
    c.request("list: loaded, by recency", "thread/list", {**DATABASE, "sortKey": "recency_at"}, OK)
    replies_only.add("list: loaded, by recency")
    return c, replies_only


CORPUS, REPLIES_ONLY = build()
Run = tuple[DifferentialResult, Corpus]


@pytest.fixture(scope="module")
def run(differential: Differential) -> Run:
    corpus, _ = build()
    result = differential.run(
        "thread-settings", lambda folder: (write_home(folder / "home"), corpus.script)
    )
    return result, corpus


@pytest.mark.parametrize("label", CORPUS.labels)
def test_every_answer_is_the_one_codex_gives(run: Run, label: str) -> None:
    result, corpus = run
    if label not in REPLIES_ONLY:
        check_exchange(result, label, corpus.expect.get(label))
        return
    result.assert_no_problems()
    found = json_diff(result.reply(label), result.reply(label, candidate=True), "codex", "ours")
    assert not found, f"{label!r} differs:\n" + "\n".join(found[:20])


def test_the_corpus_shows_what_it_pins_down(run: Run) -> None:
    """Codex's own answers show the rules this module is about (so they cannot pass by both
    sides ignoring the settings)."""
    result, _ = run

    def thread(label: str) -> dict[str, Any]:
        found: dict[str, Any] = result.reply(label)["result"]["thread"]
        return found

    after = thread("read: settings after the turn")
    assert (after["model"], after["reasoningEffort"], after["cwd"]) == ("ts", "high", "/elsewhere")
    assert thread("read: settings before the turn")["model"] == "tc"
    assert thread("read: settings rejected last")["cwd"] == "/accepted"
    assert thread("read: sub-agent without a preview")["threadSource"] == "subagent"
    assert thread("read: sub-agent")["threadSource"] is None
    listed = result.reply("list: database")["result"]["data"]
    assert {t["threadSource"] for t in listed} == {None}
    resumed = thread("loaded read after inject: legacy to resume")
    assert resumed["updatedAt"] == resumed["createdAt"]
    assert resumed["recencyAt"] == (CREATED_MS + 86_400_000 + 11_000) // 1000

"""Codex reads what LiveThread wrote exactly as it reads a thread it wrote itself.

The reference is Codex's own writing. A module fixture serves a scripted model on 127.0.0.1
(the Responses API over SSE, :class:`MockModel`) and lets Codex 0.169.0 hold the conversation
``CONVERSATION`` with it, once in a legacy and once in a paginated thread: a turn with
reasoning, a function call (Codex answers the unknown tool itself: ``unsupported call: …``),
its output and an answer; a turn with reasoning and an answer; a turn interrupted while the
model is still thinking. Token counts come from the scripted usage. That peer runs without
network isolation (it must reach the loopback model); its configuration points at nothing but
127.0.0.1, and every other peer here is isolated as usual.

* ``threadloom.testing.turns`` writes the lines Codex wrote there: same kinds, order, members
  and values, but for times, the ids Codex draws itself, the machine's shell, date and time
  zone, and the envelope ``metadata`` of response items (Codex-internal bookkeeping it leaves
  out).
* threadloom writes the same conversation through ``LiveThread``, and Codex's answers for it
  are compared with its answers for its own thread, whole, after renaming thread and turn ids
  and blanking times and paths (:func:`normalized`): ``thread/list`` (file scan and database),
  its ``threads`` row (tokens, title, model, sandbox...), ``thread/read`` (``includeTurns``),
  ``thread/turns/list``, ``thread/resume`` and ``thread/fork``. They are also checked against
  what was written (turn ids, statuses, times, texts, preview, model, provider, tokens).
* Codex's own lines replayed through LiveThread give Codex's bytes and Codex's exact view.
* Paginated: LiveThread resumes the thread Codex wrote and appends one turn in paginated form
  (``item_completed`` events, ordinals from the store); Codex's bytes stay, ordinals continue
  (Codex's next line too), and Codex shows the turn after its own, exactly as it shows the
  same turn it ran itself.

Observed on the binary, and tested: ``thread/resume`` appends ``thread_settings_applied`` only
when the settings differ from the thread's last ones (a plain resume of these threads appends
nothing); Codex holds ``thread-writer-locks/<id>.lock`` while the thread is loaded, and
``thread/unsubscribe`` does not unload it (that takes 30 idle minutes), so LiveThread.resume
fails with Conflict until the Codex process ends, and then appends after Codex's lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from threadloom import (
    Conflict,
    CreateThreadParams,
    HistoryMode,
    LiveThread,
    LoadHistoryParams,
    LocalThreadStore,
    ReadThreadParams,
    RolloutLine,
    new_thread_id,
)
from threadloom.ids import ThreadId
from threadloom.live.metadata import now_ms
from threadloom.protocol.codec import decode_line
from threadloom.testing import ALL_SOURCE_KINDS, CodexPeer
from threadloom.testing.codex_peer import CLIENT_NAME, PEER_CONFIG
from threadloom.testing.turns import DEFAULT_MODEL, ToolCall, Turn, TurnWriter, Usage

pytestmark = pytest.mark.compat

PeerFactory = Callable[..., CodexPeer]

PROVIDER = "loopback-mock"
CLI_VERSION = "0.169.0"
WEATHER = ToolCall(
    name="lookup_weather",
    arguments='{"city":"Paris"}',
    output="unsupported call: lookup_weather",
    call_id="call_weather_1",
)
CONVERSATION = (
    Turn(
        user="What is the weather in Paris?",
        reasoning="The user wants the weather; try the weather tool.",
        tool_calls=(WEATHER,),
        agent="The tool is not available, but Paris is mild this time of year.",
        usage=(Usage(1200, 40), Usage(1310, 25)),
        reasoning_id="rs_weather",
        message_id="msg_weather",
    ),
    Turn(
        user="And in Rome?",
        reasoning="Answer from general knowledge.",
        agent="Rome is usually a few degrees warmer.",
        usage=(Usage(1400, 30),),
        reasoning_id="rs_rome",
        message_id="msg_rome",
    ),
    Turn(user="What about tomorrow?", interrupted=True),
)
"""What is said, identically, in Codex's threads and in threadloom's."""
CONVERSATION_USAGE = sum((u for turn in CONVERSATION for u in turn.usage), Usage(0, 0))


# --- the scripted model -------------------------------------------------------------------------
Response = list[dict[str, Any]] | None
"""The SSE events of one model response; None: never answer (the turn gets interrupted)."""


def model_responses(turn: Turn) -> list[Response]:
    """What the model sends for ``turn``, in the split ``Turn`` documents."""
    if turn.interrupted:
        return [None]
    out: list[Response] = []
    usage = iter(turn.usage)
    for index, call in enumerate(turn.tool_calls):
        items: list[dict[str, Any]] = []
        if index == 0 and turn.reasoning is not None:
            items.append(reasoning_item(turn))
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{call.call_id}",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
        out.append(sse_response(f"resp_{len(out)}", items, next(usage)))
    items = []
    if turn.reasoning is not None and not turn.tool_calls:
        items.append(reasoning_item(turn))
    if turn.agent is not None:
        items.append(
            {
                "type": "message",
                "role": "assistant",
                "id": turn.message_id,
                "content": [{"type": "output_text", "text": turn.agent}],
                "phase": "final_answer",
            }
        )
    out.append(sse_response(f"resp_{len(out)}", items, next(usage)))
    return out


def reasoning_item(turn: Turn) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": turn.reasoning_id,
        "summary": [{"type": "summary_text", "text": turn.reasoning}],
        "encrypted_content": "gAAAAB-scripted",
    }


def sse_response(response_id: str, items: list[dict[str, Any]], usage: Usage) -> Response:
    done = [{"type": "response.output_item.done", "item": item} for item in items]
    completed = {
        "type": "response.completed",
        "response": {
            "id": response_id,
            "usage": {
                "input_tokens": usage.input_tokens,
                "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
                "output_tokens": usage.output_tokens,
                "output_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
                "total_tokens": usage.total_tokens,
            },
        },
    }
    return [{"type": "response.created", "response": {"id": response_id}}, *done, completed]


class MockModel:
    """A Responses API on 127.0.0.1 answering each ``POST …/responses`` with the next script
    entry (a request beyond the script gets HTTP 500 and is counted in ``unexpected``).

    A None entry never answers: ``thinking`` is set while such a request waits.
    """

    def __init__(self, script: list[Response]) -> None:
        self.script = list(script)
        self.unexpected = 0
        self.thinking = threading.Event()
        self._release = threading.Event()
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.endswith("/responses") or not model.script:
                    model.unexpected += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                events = model.script.pop(0)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if events is None:
                    model.thinking.set()
                    model._release.wait(60)
                    return
                for event in events:
                    data = json.dumps(event)
                    self.wfile.write(f"event: {event['type']}\ndata: {data}\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def mock_config(base_url: str) -> str:
    """The peer configuration with the scripted model as the default provider (no retries,
    no websockets: one HTTP request per model response)."""
    return (
        f'model_provider = "{PROVIDER}"\n{PEER_CONFIG}\n'
        f"[model_providers.{PROVIDER}]\n"
        'name = "threadloom loopback mock"\n'
        f'base_url = "{base_url}"\n'
        'wire_api = "responses"\n'
        "supports_websockets = false\n"
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )


def run_turn(peer: CodexPeer, model: MockModel, thread_id: str, turn: Turn) -> str:
    """Let Codex run ``turn`` against the scripted model (interrupting it, once the model is
    thinking, if so); the turn's id."""
    peer.clear_notifications()
    started = peer.call(
        "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": turn.user}]}
    )
    turn_id = str(started["turn"]["id"])
    if turn.interrupted:
        assert model.thinking.wait(peer.timeout)
        model.thinking.clear()
        peer.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    done = peer.wait_for(
        "turn/completed",
        lambda n: n["params"]["threadId"] == thread_id and n["params"]["turn"]["id"] == turn_id,
    )
    expected = "interrupted" if turn.interrupted else "completed"
    assert done["params"]["turn"]["status"] == expected, done
    return turn_id


# --- the reference home -------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """A home in which Codex held ``CONVERSATION`` itself (peer closed, home read-only)."""

    home: Path
    cwd: str
    legacy: str
    paginated: str
    legacy_turns: list[str]
    paginated_turns: list[str]

    def rollout(self, thread_id: str, home: Path | None = None) -> Path:
        (path,) = (home or self.home).glob(f"sessions/*/*/*/rollout-*-{thread_id}.jsonl")
        return path

    def copy(self, dest: Path) -> Path:
        """A copy to change; without Codex's state database, which names absolute paths (it
        is rebuilt from the files), and without threadloom's index."""
        ignore = shutil.ignore_patterns("state_5.sqlite*", "threadloom")
        shutil.copytree(self.home, dest, symlinks=True, ignore=ignore)
        return dest


@pytest.fixture(scope="module")
def reference(codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("live-compat")
    home, cwd = base / "home", base / "project"
    home.mkdir()
    cwd.mkdir()
    script = [r for _ in range(2) for turn in CONVERSATION for r in model_responses(turn)]
    model = MockModel(script)
    try:
        (home / "config.toml").write_text(mock_config(model.base_url), encoding="utf-8")
        with CodexPeer(home, binary=codex_bin, isolate_network=False) as peer:
            ids: dict[str, tuple[str, list[str]]] = {}
            for mode in ("legacy", "paginated"):
                params = {"cwd": str(cwd), "historyMode": mode}
                thread_id = str(peer.call("thread/start", params)["thread"]["id"])
                ids[mode] = (thread_id, [run_turn(peer, model, thread_id, t) for t in CONVERSATION])
        assert model.unexpected == 0
        assert model.script == []
    finally:
        model.close()
    return Reference(
        home=home,
        cwd=str(cwd),
        legacy=ids["legacy"][0],
        paginated=ids["paginated"][0],
        legacy_turns=ids["legacy"][1],
        paginated_turns=ids["paginated"][1],
    )


# --- threadloom's side --------------------------------------------------------------------------
@dataclass
class Written:
    """A thread LiveThread wrote: its id, file, creation time and the lines appended."""

    thread_id: str
    path: Path
    created_ms: int
    lines: list[RolloutLine]
    turn_ids: list[str]


def create_params(reference: Reference, thread_id: str, created_ms: int) -> CreateThreadParams:
    """The thread as Codex's app server creates it (same cwd, originator, version, source)."""
    return CreateThreadParams(
        thread_id=ThreadId(thread_id),
        cwd=reference.cwd,
        originator=CLIENT_NAME,
        cli_version=CLI_VERSION,
        created_at_ms=created_ms,
        source="vscode",
        model_provider=PROVIDER,
    )


async def write_live(
    home: Path, reference: Reference, lines: list[RolloutLine] | None = None
) -> Written:
    """Create a legacy thread through LiveThread and append ``CONVERSATION`` (or ``lines``)."""
    created = now_ms()
    thread_id = new_thread_id(created)
    writer = TurnWriter(thread_id, cwd=reference.cwd, start_ms=created, model_provider=PROVIDER)
    if lines is None:
        lines = writer.turns(list(CONVERSATION))
    store = LocalThreadStore(home, watch=False)
    try:
        live = await LiveThread.create(store, create_params(reference, thread_id, created))
        for turn_lines in split_turns(lines):
            await live.append(turn_lines)
        await live.shutdown()
        assert live.rollout_path is not None
        path = Path(live.rollout_path)
    finally:
        await store.close()
    return Written(thread_id, path, created, lines, writer.turn_ids)


def split_turns(lines: list[RolloutLine]) -> list[list[RolloutLine]]:
    """The lines in one batch per turn (how a running agent appends them)."""
    out: list[list[RolloutLine]] = []
    for line in lines:
        if not out or line.event_type == "task_started":
            out.append([])
        out[-1].append(line)
    return out


def body(path: Path) -> bytes:
    """A rollout without its first line (the session_meta)."""
    return path.read_bytes().split(b"\n", 1)[1]


# --- comparing ----------------------------------------------------------------------------------
TIME_KEYS = frozenset(
    {"createdAt", "updatedAt", "recencyAt", "startedAt", "completedAt", "durationMs"}
    | {"startedAtMs", "completedAtMs"}
)


def renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with the ids in ``names`` renamed (also inside strings and keys)."""
    text = json.dumps(value)
    for old, new in names.items():
        text = text.replace(old, new)
    return json.loads(text)


def blanked(value: Any) -> Any:
    """``value`` with every non-null time replaced by ``"<time>"`` and path by ``"<path>"``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in TIME_KEYS and item is not None:
                out[key] = "<time>"
            elif key == "path" and isinstance(item, str):
                out[key] = "<path>"
            else:
                out[key] = blanked(item)
        return out
    if isinstance(value, list):
        return [blanked(item) for item in value]
    return value


def normalized(value: Any, names: Mapping[str, str]) -> Any:
    """What may differ between two threads holding the same conversation taken out: ids
    renamed by ``names``, times and paths blanked."""
    return blanked(renamed(value, names))


def names_for(thread_id: str, turn_ids: list[str]) -> dict[str, str]:
    """Placeholders for a thread's id and its turns' ids (by position)."""
    names = {thread_id: "<thread>"}
    names.update({turn_id: f"<turn-{n}>" for n, turn_id in enumerate(turn_ids)})
    return names


def item_ids(turns: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for turn in turns for item in turn["items"]]


def item_texts(turn: dict[str, Any]) -> list[tuple[str, str]]:
    """``(type, text)`` of each item of a turn as Codex shows it."""
    out = []
    for item in turn["items"]:
        if item["type"] == "userMessage":
            out.append((item["type"], "".join(c["text"] for c in item["content"])))
        elif item["type"] == "reasoning":
            out.append((item["type"], "".join(item["summary"])))
        else:
            out.append((item["type"], item["text"]))
    return out


def expected_texts(turn: Turn) -> list[tuple[str, str]]:
    out = [("userMessage", turn.user)]
    if turn.reasoning is not None:
        out.append(("reasoning", turn.reasoning))
    if turn.agent is not None:
        out.append(("agentMessage", turn.agent))
    return out


def written_timing(lines: list[RolloutLine]) -> list[tuple[int, int, int]]:
    """``(started_at, completed_at, duration_ms)`` of each turn written."""
    out = []
    started = 0
    for line in lines:
        payload = line.payload
        if line.event_type == "task_started":
            started = payload["started_at"]
        elif line.event_type in ("task_complete", "turn_aborted"):
            out.append((started, payload["completed_at"], payload["duration_ms"]))
    return out


def turn_view(turn: dict[str, Any]) -> tuple[Any, ...]:
    return (turn["id"], turn["status"], turn["startedAt"], turn["completedAt"], turn["durationMs"])


def assert_is_the_conversation(
    turns: list[dict[str, Any]], written: Written, conversation: tuple[Turn, ...] = CONVERSATION
) -> None:
    """Codex shows ``written``'s turns with the ids, statuses, times and texts written."""
    statuses = ["interrupted" if t.interrupted else "completed" for t in conversation]
    timing = written_timing(written.lines)
    expected = [
        (turn_id, status, *times)
        for turn_id, status, times in zip(written.turn_ids, statuses, timing, strict=True)
    ]
    assert [turn_view(t) for t in turns] == expected
    assert [item_texts(t) for t in turns] == [expected_texts(t) for t in conversation]
    assert all(t["error"] is None and t["itemsView"] == "full" for t in turns)


# --- the turn builder against Codex ------------------------------------------------------------
def shape(line: RolloutLine) -> tuple[Any, ...]:
    """A line's kind, payload type and member order (with the nested item's and usage's)."""
    payload = line.payload
    nested = []
    for key in ("item", "info", "thread_settings", "turn_attribution"):
        if isinstance(payload.get(key), dict):
            nested.append((key, list(payload[key])))
    return (line.type, line.event_type, list(payload), nested)


def model_context(line: RolloutLine) -> bool:
    """The first turn's instructions, tools and world state, which TurnWriter leaves out (and
    the harness' reasoning-effort update Codex may add)."""
    payload = line.payload
    if line.type == "world_state":
        return True
    kind = line.event_type
    if kind in ("additional_tools", "configuration_update"):
        return True
    return (
        kind == "message"
        and payload["role"] == "developer"
        and not any("<turn_aborted>" in c.get("text", "") for c in payload["content"])
    )


@pytest.mark.parametrize("mode", [HistoryMode.LEGACY, HistoryMode.PAGINATED])
def test_turn_writer_writes_the_lines_codex_writes(reference: Reference, mode: HistoryMode) -> None:
    thread_id = reference.legacy if mode == HistoryMode.LEGACY else reference.paginated
    raw = body(reference.rollout(thread_id)).splitlines()
    codex = [line for line in map(decode_line, raw) if not model_context(line)]
    # Codex repeats the last token counts before an abort only when the model request ran
    # for a while (a race with the interruption); TurnWriter writes the quick form.
    notice = next(i for i, line in enumerate(codex) if line.event_type == "turn_aborted") - 1
    if codex[notice - 1].event_type == "token_count":
        del codex[notice - 1]
    turn_ids = reference.legacy_turns if mode == HistoryMode.LEGACY else reference.paginated_turns
    writer = TurnWriter(thread_id, cwd=reference.cwd, history_mode=mode, model_provider=PROVIDER)
    turns = [dataclasses.replace(t, turn_id=i) for t, i in zip(CONVERSATION, turn_ids, strict=True)]
    ours = writer.turns(turns)

    assert [shape(line) for line in ours] == [shape(line) for line in codex]
    # The same values, but for times and the ids Codex draws itself.
    for mine, theirs in zip(ours, codex, strict=True):
        assert stable(mine.payload) == stable(theirs.payload)


VOLATILE_KEYS = frozenset(
    {"started_at", "completed_at", "duration_ms", "time_to_first_token_ms", "create_time"}
    | {"started_at_ms", "completed_at_ms", "encrypted_content", "response_id"}
)


MACHINE_TAGS = re.compile(r"  <(shell|current_date|timezone)>[^<]*</\1>\n")
"""Environment context entries that depend on the machine and the day."""
MODEL_IDS = frozenset(
    i for turn in CONVERSATION for i in (turn.reasoning_id, turn.message_id) if i is not None
)


def stable(payload: Any) -> Any:
    """``payload`` without times, encrypted blobs, the ids of items Codex creates (user
    messages, tool calls and outputs, the notice; the model's own ids are kept) and the
    machine's shell, date and time zone in the environment context."""
    if isinstance(payload, dict):
        drop_id = payload.get("id") not in MODEL_IDS
        return {
            key: stable(value)
            for key, value in payload.items()
            if key not in VOLATILE_KEYS and not (key == "id" and drop_id)
        }
    if isinstance(payload, list):
        return [stable(item) for item in payload]
    if isinstance(payload, str) and payload.startswith("<environment_context>"):
        return MACHINE_TAGS.sub("", payload)
    return payload


# --- legacy: list and read ----------------------------------------------------------------------
@pytest.fixture
def side_by_side(
    reference: Reference, codex_peer_factory: PeerFactory, tmp_path: Path
) -> tuple[Path, Written, CodexPeer]:
    """A copy of the reference home with LiveThread's conversation, and a peer on it."""
    home = reference.copy(tmp_path / "home")
    written = asyncio.run(write_live(home, reference))
    return home, written, codex_peer_factory(home)


LISTINGS = [
    pytest.param({}, id="file-scan"),
    pytest.param({"sourceKinds": list(ALL_SOURCE_KINDS)}, id="database"),
]


@pytest.mark.parametrize("params", LISTINGS)
def test_codex_lists_a_live_thread_as_it_lists_its_own(
    reference: Reference, side_by_side: tuple[Path, Written, CodexPeer], params: dict[str, Any]
) -> None:
    _, written, peer = side_by_side
    page = peer.call("thread/list", {**params, "limit": 10})

    by_id = {t["id"]: t for t in page["data"]}
    assert set(by_id) == {written.thread_id, reference.legacy, reference.paginated}
    mine, theirs = by_id[written.thread_id], by_id[reference.legacy]
    assert mine["preview"] == CONVERSATION[0].user
    assert (mine["historyMode"], mine["modelProvider"], mine["model"]) == (
        "legacy",
        PROVIDER,
        DEFAULT_MODEL,
    )
    assert (mine["cliVersion"], mine["originator"], mine["source"]) == (
        CLI_VERSION,
        CLIENT_NAME,
        "vscode",
    )
    assert (mine["cwd"], mine["path"], mine["status"]) == (
        reference.cwd,
        str(written.path),
        {"type": "notLoaded"},
    )
    assert mine["createdAt"] == written.created_ms // 1000
    mine_names, their_names = {written.thread_id: "<id>"}, {reference.legacy: "<id>"}
    assert normalized(mine, mine_names) == normalized(theirs, their_names)
    assert renamed(page["readStates"][written.thread_id], mine_names) == renamed(
        page["readStates"][reference.legacy], their_names
    )


ROW_TIMES = frozenset(
    {"created_at", "created_at_ms", "updated_at", "updated_at_ms", "recency_at", "recency_at_ms"}
)


def codex_rows(home: Path) -> dict[str, dict[str, Any]]:
    """Codex's ``threads`` rows (``state_5.sqlite``), by id."""
    uri = f"file:{home / 'state_5.sqlite'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM threads")}


def test_codex_indexes_a_live_thread_as_it_indexes_its_own(
    reference: Reference, side_by_side: tuple[Path, Written, CodexPeer]
) -> None:
    home, written, peer = side_by_side
    peer.call("thread/list", {"sourceKinds": list(ALL_SOURCE_KINDS)})  # backfilled by now

    rows = codex_rows(home)
    mine, theirs = rows[written.thread_id], rows[reference.legacy]
    tokens = CONVERSATION_USAGE.total_tokens
    assert (mine["tokens_used"], mine["model"], mine["title"], mine["preview"]) == (
        tokens,
        DEFAULT_MODEL,
        CONVERSATION[0].user,
        CONVERSATION[0].user,
    )
    assert mine["created_at_ms"] == written.created_ms
    assert mine["rollout_path"] == str(written.path)
    different = {"id", "rollout_path", *ROW_TIMES}
    assert {k: v for k, v in mine.items() if k not in different} == {
        k: v for k, v in theirs.items() if k not in different
    }


def test_codex_reads_the_turns_of_a_live_thread_as_it_reads_its_own(
    reference: Reference, side_by_side: tuple[Path, Written, CodexPeer]
) -> None:
    _, written, peer = side_by_side
    mine = peer.call("thread/read", {"threadId": written.thread_id, "includeTurns": True})
    theirs = peer.call("thread/read", {"threadId": reference.legacy, "includeTurns": True})

    thread = mine["thread"]
    assert_is_the_conversation(thread["turns"], written)
    count = sum(len(expected_texts(turn)) for turn in CONVERSATION)
    assert item_ids(thread["turns"]) == [f"item-{n}" for n in range(1, count + 1)]
    assert (thread["preview"], thread["model"], thread["path"]) == (
        CONVERSATION[0].user,
        DEFAULT_MODEL,
        str(written.path),
    )
    mine_names = names_for(written.thread_id, written.turn_ids)
    their_names = names_for(reference.legacy, reference.legacy_turns)
    assert normalized(mine, mine_names) == normalized(theirs, their_names)
    # Paged turns (newest first, summary view), cursors included.
    params = {"limit": 2, "itemsView": "summary"}
    mine_page = peer.call("thread/turns/list", {"threadId": written.thread_id, **params})
    their_page = peer.call("thread/turns/list", {"threadId": reference.legacy, **params})
    assert [t["id"] for t in mine_page["data"]] == written.turn_ids[:0:-1]
    assert normalized(mine_page, mine_names) == normalized(their_page, their_names)


def test_codex_lines_replayed_through_live_thread_are_codex_bytes_and_read_alike(
    reference: Reference, codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    home = reference.copy(tmp_path / "home")
    theirs_path = reference.rollout(reference.legacy, home)
    lines = [decode_line(raw) for raw in body(theirs_path).splitlines()]
    written = asyncio.run(write_live(home, reference, lines))

    assert body(written.path) == body(theirs_path)
    peer = codex_peer_factory(home)
    mine = peer.call("thread/read", {"threadId": written.thread_id, "includeTurns": True})
    theirs = peer.call("thread/read", {"threadId": reference.legacy, "includeTurns": True})
    # Only the thread differs: its id, its file (path, mtime: recencyAt) and its creation
    # time (also updatedAt here); turns, items and their times are Codex's own.
    for reply in (mine, theirs):
        thread = reply["thread"]
        for key in ("path", "createdAt", "updatedAt", "recencyAt"):
            thread[key] = "<thread>"
    assert renamed(mine, {written.thread_id: "<id>"}) == renamed(theirs, {reference.legacy: "<id>"})


# --- legacy: resume, fork, writer lock ----------------------------------------------------------
def assert_conflict(home: Path, thread_id: str) -> None:
    async def go() -> None:
        store = LocalThreadStore(home, watch=False)
        try:
            with pytest.raises(Conflict, match="already has an active writer"):
                await LiveThread.resume(store, thread_id)
        finally:
            await store.close()

    asyncio.run(go())


def test_codex_resumes_and_forks_a_live_thread_as_its_own(
    reference: Reference, side_by_side: tuple[Path, Written, CodexPeer]
) -> None:
    home, written, peer = side_by_side
    theirs_path = reference.rollout(reference.legacy, home)
    before = {path: path.read_bytes() for path in (written.path, theirs_path)}
    mine_names = names_for(written.thread_id, written.turn_ids)
    their_names = names_for(reference.legacy, reference.legacy_turns)

    mine = peer.call("thread/resume", {"threadId": written.thread_id})
    theirs = peer.call("thread/resume", {"threadId": reference.legacy})

    assert_is_the_conversation(mine["thread"]["turns"], written)
    assert mine["thread"]["status"] == {"type": "idle"}
    assert normalized(mine, mine_names) == normalized(theirs, their_names)
    # Both threads already carry these settings (first turn): Codex appends nothing to either.
    assert {path: path.read_bytes() for path in before} == before
    # Loaded in Codex: threadloom must not write.
    assert_conflict(home, written.thread_id)

    my_fork = peer.call("thread/fork", {"threadId": written.thread_id})
    their_fork = peer.call("thread/fork", {"threadId": reference.legacy})

    child = my_fork["thread"]
    assert child["forkedFromId"] == written.thread_id
    assert child["preview"] == CONVERSATION[0].user
    assert_is_the_conversation(child["turns"], written)
    child_lines = [decode_line(raw) for raw in Path(child["path"]).read_bytes().splitlines()]
    said = [
        line.payload.get("message")
        for line in child_lines
        if line.event_type in ("user_message", "agent_message")
    ]
    assert said == [text for turn in CONVERSATION for text in (turn.user, turn.agent) if text]
    mine_names[child["id"]] = "<child>"
    their_names[their_fork["thread"]["id"]] = "<child>"
    assert normalized(my_fork, mine_names) == normalized(their_fork, their_names)


def test_live_thread_writes_again_once_codex_let_the_thread_go(
    reference: Reference,
    side_by_side: tuple[Path, Written, CodexPeer],
    codex_peer_factory: PeerFactory,
) -> None:
    home, written, peer = side_by_side
    before = written.path.read_bytes()
    # Settings that differ from the thread's last ones: Codex appends them to our file.
    peer.call("thread/resume", {"threadId": written.thread_id, "approvalPolicy": "never"})
    after = written.path.read_bytes()
    assert after.startswith(before)
    (added,) = [decode_line(raw) for raw in after[len(before) :].splitlines()]
    assert added.event_type == "thread_settings_applied"
    assert added.payload["thread_id"] == written.thread_id
    assert added.payload["thread_settings"]["approval_policy"] == "never"
    assert peer.call("thread/unsubscribe", {"threadId": written.thread_id}) == {
        "status": "unsubscribed"
    }
    # Unsubscribing does not unload the thread: Codex keeps its writer lock.
    assert written.thread_id in peer.call("thread/loaded/list", {})["data"]
    assert_conflict(home, written.thread_id)
    peer.close()
    assert written.path.read_bytes() == after
    extra = Turn(
        user="Thanks, that is all.",
        agent="You are welcome.",
        usage=(Usage(1500, 8),),
        message_id="msg_thanks",
    )

    async def resume_and_append() -> tuple[TurnWriter, list[RolloutLine], list[RolloutLine]]:
        store = LocalThreadStore(home, watch=False)
        try:
            live = await LiveThread.resume(store, written.thread_id)
            writer = TurnWriter(
                written.thread_id,
                cwd=reference.cwd,
                start_ms=now_ms(),
                model_provider=PROVIDER,
                totals=CONVERSATION_USAGE,
            )
            lines = writer.turn(extra, context=False)
            await live.append(lines)
            await live.shutdown()
            history = await store.load_history(
                LoadHistoryParams(thread_id=ThreadId(written.thread_id))
            )
            stored = await store.read_thread(
                ReadThreadParams(thread_id=ThreadId(written.thread_id))
            )
            assert (stored.preview, stored.model) == (CONVERSATION[0].user, DEFAULT_MODEL)
            assert stored.tokens_used == writer.total_tokens == 4005 + 1508
        finally:
            await store.close()
        return writer, lines, history.items

    writer, lines, history = asyncio.run(resume_and_append())

    assert written.path.read_bytes().startswith(after)
    # session_meta, our conversation, Codex's settings, our new turn.
    assert history[1 : 1 + len(written.lines)] == written.lines
    assert history[1 + len(written.lines)] == added
    assert history[2 + len(written.lines) :] == lines
    read = codex_peer_factory(home).call(
        "thread/read", {"threadId": written.thread_id, "includeTurns": True}
    )
    turns = read["thread"]["turns"]
    assert_is_the_conversation(turns[:-1], written)
    both = Written(written.thread_id, written.path, written.created_ms, lines, writer.turn_ids)
    assert_is_the_conversation(turns[-1:], both, (extra,))


# --- paginated ----------------------------------------------------------------------------------
def test_live_thread_continues_a_paginated_thread_codex_wrote(
    reference: Reference, codex_peer_factory: PeerFactory, tmp_path: Path
) -> None:
    home = reference.copy(tmp_path / "home")
    path = reference.rollout(reference.paginated, home)
    codex_bytes = path.read_bytes()
    codex_ordinals = [decode_line(raw).ordinal for raw in codex_bytes.splitlines()]
    assert codex_ordinals == list(range(len(codex_ordinals)))
    # The tool turn once more, now written by threadloom (the model gives new item ids).
    again = dataclasses.replace(CONVERSATION[0], reasoning_id=None, message_id=None)

    async def resume_and_append() -> tuple[TurnWriter, list[RolloutLine]]:
        store = LocalThreadStore(home, watch=False)
        try:
            live = await LiveThread.resume(store, reference.paginated)
            writer = TurnWriter(
                reference.paginated,
                cwd=reference.cwd,
                start_ms=now_ms(),
                history_mode=HistoryMode.PAGINATED,
                model_provider=PROVIDER,
                totals=CONVERSATION_USAGE,
            )
            lines = writer.turn(again, context=False)
            await live.append(lines)
            await live.shutdown()
        finally:
            await store.close()
        return writer, lines

    writer, lines = asyncio.run(resume_and_append())

    data = path.read_bytes()
    assert data.startswith(codex_bytes)
    added = [decode_line(raw) for raw in data[len(codex_bytes) :].splitlines()]
    assert [line.ordinal for line in added] == list(
        range(len(codex_ordinals), len(codex_ordinals) + len(lines))
    )
    assert [(a.type, a.payload) for a in added] == [(b.type, b.payload) for b in lines]

    peer = codex_peer_factory(home)
    resumed = peer.call(
        "thread/resume",
        {"threadId": reference.paginated, "excludeTurns": True, "approvalPolicy": "never"},
    )
    assert resumed["thread"]["historyMode"] == "paginated"
    # Codex's own next line (its new settings) continues our ordinals.
    (settings,) = [decode_line(raw) for raw in path.read_bytes()[len(data) :].splitlines()]
    assert settings.event_type == "thread_settings_applied"
    assert settings.ordinal == len(codex_ordinals) + len(lines)
    row = codex_rows(home)[reference.paginated]
    assert (row["tokens_used"], row["preview"]) == (writer.total_tokens, CONVERSATION[0].user)
    page = peer.call(
        "thread/turns/list",
        {"threadId": reference.paginated, "sortDirection": "asc", "itemsView": "full"},
    )
    read = peer.call("thread/read", {"threadId": reference.paginated, "includeTurns": True})
    turns = page["data"]
    assert read["thread"]["turns"] == turns
    assert [t["id"] for t in turns] == [*reference.paginated_turns, *writer.turn_ids]
    written = Written(reference.paginated, path, 0, lines, writer.turn_ids)
    assert_is_the_conversation(turns[-1:], written, (again,))
    # Our items keep the ids we gave them, with the times we wrote.
    completed = [line.payload for line in lines if line.event_type == "item_completed"]
    assert [(i["id"], i["startedAtMs"], i["completedAtMs"]) for i in turns[-1]["items"]] == [
        (p["item"]["id"], p["started_at_ms"], p["completed_at_ms"]) for p in completed
    ]
    # Exactly how Codex shows the same turn it ran itself (ids and times aside).
    ours, codex_own = turns[-1], turns[0]
    names = {ours["id"]: "<turn>", codex_own["id"]: "<turn>"}
    for mine_item, their_item in zip(ours["items"], codex_own["items"], strict=True):
        names[mine_item["id"]] = names[their_item["id"]] = f"<item {their_item['type']}>"
    assert normalized(ours, names) == normalized(codex_own, names)

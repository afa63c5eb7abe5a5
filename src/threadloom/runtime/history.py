"""One pass over a thread's history: its turns and what loading it tells the app server.

``HistoryScan`` is fed a rollout's lines in file order (each with its typed payload, as
``turns.load_line`` gives it: None for a line Codex drops) and keeps, at a cost of one turn
reducer: the rebuilt turns, the thread's last recorded settings (``thread_settings_applied``,
and what resume and fork inherit from them: ``RecordedSettings``), its last token usage
(``thread/tokenUsage/updated``), where its turns start (fork cuts), the ordinals of its newest
turn and item (paginated resume cursors) and whether the history ends inside an unfinished
turn (fork interruption marker).

``history_source`` yields a stored thread's lines without holding them all: straight from its
rollout file when the store has one, else from ``load_history``; a paginated fork's inherited
lines first (its ``history_base`` chain, rollout-format 16.2). ``recorded_settings`` reads only
the lines that record settings, for a fork that copies nothing else; of a rollout file, only
the last ones that still matter (``recorded_settings_of_file``).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from threadloom.errors import ThreadloomError
from threadloom.ids import ThreadId
from threadloom.protocol.codec import LineError, decode_line
from threadloom.protocol.events import (
    TaskComplete,
    TaskStarted,
    ThreadRolledBack,
    ThreadSettingsApplied,
    TokenCount,
    TurnAborted,
)
from threadloom.protocol.items import ParsedItem, is_user_message
from threadloom.protocol.rollout import (
    EVENT_MSG,
    RESPONSE_ITEM,
    TURN_CONTEXT,
    HistoryMode,
    RolloutLine,
)
from threadloom.protocol.summary import user_item_text
from threadloom.protocol.turns import TurnReducer, apply_event, history_base, load_line
from threadloom.protocol.turns.state import IN_PROGRESS
from threadloom.runtime.config import RecordedSettings
from threadloom.store.base import Capability, ThreadStore
from threadloom.store.local.reader import iter_lines, open_rollout
from threadloom.store.params import LoadHistoryParams, ReadThreadParams
from threadloom.store.records import StoredThread

MAX_LINEAGE = 64
"""Ancestors followed through ``history_base`` (a longer chain is cut there)."""
_SETTINGS_MARKERS = (b'"thread_settings_applied"', b'"turn_context"')
_MARKER_CHUNK = 4 << 20

USAGE_KEYS = (
    ("totalTokens", "total_tokens"),
    ("inputTokens", "input_tokens"),
    ("cachedInputTokens", "cached_input_tokens"),
    ("cacheWriteInputTokens", "cache_write_input_tokens"),
    ("outputTokens", "output_tokens"),
    ("reasoningOutputTokens", "reasoning_output_tokens"),
)


def usage_json(usage: dict[str, Any]) -> dict[str, Any]:
    """A rollout token usage object as the app server reports it (camelCase, Codex's order)."""
    return {api: usage.get(disk, 0) for api, disk in USAGE_KEYS}


@dataclass(frozen=True, slots=True)
class OpenTurn:
    """The unfinished turn a history ends in (``turn_id`` None: no explicit turn)."""

    turn_id: str | None
    root_turn_id: str | None = None
    started_at: int | None = None


@dataclass(slots=True)
class HistoryScan:
    """Folds the lines of one history (see the module doc). ``mode``: the thread's history
    mode when the first line fed is not its own ``session_meta``."""

    mode: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    index: int = 0
    """How many kept lines were fed (the next kept line's position)."""
    last_settings: dict[str, Any] | None = None
    token_info: dict[str, Any] | None = None
    token_turn: str | None = None
    turn_starts: dict[str, int] = field(default_factory=dict)
    """The position of each turn id's first ``task_started``."""
    start_positions: list[int] = field(default_factory=list)
    ordinals: dict[int, int] = field(default_factory=dict)
    """The ordinal of each ``task_started`` and user message line that has one (paginated
    rollouts: where a fork cut at a kept position falls)."""
    rollback_positions: list[int] = field(default_factory=list)
    user_positions: list[int] = field(default_factory=list)
    """Positions of real user messages (rollbacks applied), for the mid-turn rule."""
    last_terminal: int = -1
    """Position of the last ``task_complete`` / ``turn_aborted``."""
    recorded: RecordedSettings = field(default_factory=RecordedSettings)
    last_turn_ordinal: int | None = None
    """Ordinal of the newest ``task_started`` (paginated rollouts)."""
    last_item_ordinal: int | None = None
    """Ordinal of the newest ``item_completed`` (paginated rollouts)."""
    context_model: str | None = None
    """Model of the first ``turn_context`` of the newest turn that has one (what Codex's
    resume warning calls the recorded model)."""
    _awaiting_context: bool = True
    first_user_text: str | None = None
    """Text of the first ``item_completed`` user message (a paginated history's preview)."""
    _current_turn: str | None = None
    _reducer: TurnReducer = field(init=False)

    def __post_init__(self) -> None:
        self._reducer = TurnReducer(self.mode, hold=0)

    def feed(self, line: RolloutLine, parsed: ParsedItem | None) -> None:
        """One line of the history (``parsed``: its ``load_line`` value)."""
        for event in self._reducer.feed(line, parsed):
            apply_event(self.turns, event)
        if line.ordinal is not None and line.type == EVENT_MSG:
            self._note_ordinal(line)
        if parsed is None:
            return
        position = self.index
        self.index += 1
        if isinstance(parsed, TaskStarted):
            self.turn_starts.setdefault(parsed.turn_id, position)
            self.start_positions.append(position)
            if line.ordinal is not None:
                self.ordinals[position] = line.ordinal
            self._current_turn = parsed.turn_id
            self._awaiting_context = True
        elif isinstance(parsed, TaskComplete | TurnAborted):
            self.last_terminal = position
        elif isinstance(parsed, TokenCount):
            if parsed.info is not None:
                raw = parsed.raw.get("info") if isinstance(parsed.raw, dict) else None
                self.token_info = raw if isinstance(raw, dict) else parsed.info.to_payload()
                self.token_turn = self._current_turn
        elif isinstance(parsed, ThreadSettingsApplied) or line.type == TURN_CONTEXT:
            self.feed_settings(line, parsed)
        elif isinstance(parsed, ThreadRolledBack):
            self.rollback_positions.append(position)
            kept = max(0, len(self.user_positions) - parsed.num_turns)
            del self.user_positions[kept:]
        elif line.type == RESPONSE_ITEM and is_user_message(parsed):
            self.user_positions.append(position)
            if line.ordinal is not None:
                self.ordinals[position] = line.ordinal

    def feed_settings(self, line: RolloutLine, parsed: ParsedItem) -> None:
        """A kept ``thread_settings_applied`` or ``turn_context`` line (no other effect)."""
        applied = record_settings(self.recorded, line, parsed)
        if applied is not None:
            self.last_settings = applied
        elif line.type == TURN_CONTEXT and isinstance(line.payload, dict):
            model = line.payload.get("model")
            if self._awaiting_context and isinstance(model, str):
                self.context_model, self._awaiting_context = model, False

    def _note_ordinal(self, line: RolloutLine) -> None:
        kind = line.event_type
        if kind == "task_started":
            self.last_turn_ordinal = line.ordinal
        elif kind == "item_completed":
            self.last_item_ordinal = line.ordinal
            item = line.payload.get("item") if isinstance(line.payload, dict) else None
            if (
                self.first_user_text is None
                and isinstance(item, dict)
                and item.get("type") == "UserMessage"
            ):
                self.first_user_text = user_item_text(item) or None

    def open_turn(self) -> OpenTurn | None:
        """The unfinished turn the history fed so far ends in, as Codex decides it for a
        fork: an explicit turn still in progress; else, without one, a real user message
        with no ``task_complete`` / ``turn_aborted`` after it."""
        current = self._reducer.snapshot().current
        if current is not None and current.explicit:
            if current.status != IN_PROGRESS:
                return None
            return OpenTurn(current.id, current.root_turn_id, current.started_at)
        if self.user_positions and self.last_terminal < self.user_positions[-1]:
            return OpenTurn(None)
        return None

    def finish(self, *, loaded: bool) -> list[dict[str, Any]]:
        """Every turn (``loaded``: turns still running stay in progress)."""
        for event in self._reducer.finish(loaded=loaded):
            apply_event(self.turns, event)
        return self.turns

    def token_usage(self, thread_id: str) -> dict[str, Any] | None:
        """``thread/tokenUsage/updated`` params for the last token count, if any."""
        info = self.token_info
        if info is None:
            return None
        total, last = info.get("total_token_usage"), info.get("last_token_usage")
        if not isinstance(total, dict) or not isinstance(last, dict):
            return None
        return {
            "threadId": thread_id,
            "turnId": self.token_turn,
            "tokenUsage": {
                "total": usage_json(total),
                "last": usage_json(last),
                "modelContextWindow": info.get("model_context_window"),
            },
        }


def record_settings(
    recorded: RecordedSettings, line: RolloutLine, parsed: ParsedItem
) -> dict[str, Any] | None:
    """Fold a kept ``thread_settings_applied`` or ``turn_context`` line into ``recorded``;
    the applied settings of the former."""
    if isinstance(parsed, ThreadSettingsApplied):
        applied = parsed.thread_settings.to_payload()
        recorded.applied(applied)
        return applied
    if line.type == TURN_CONTEXT and isinstance(line.payload, dict):
        recorded.turn_context(line.payload)
    return None


async def history_source(store: ThreadStore, stored: StoredThread) -> Iterator[RolloutLine]:
    """The stored thread's lines in file order, a paginated fork's inherited lines first
    (see the module doc); nothing is held in memory when the store keeps files."""
    return await _lineage(store, stored, MAX_LINEAGE)


async def _lineage(store: ThreadStore, stored: StoredThread, depth: int) -> Iterator[RolloutLine]:
    own = await _own_lines(store, stored)
    if stored.history_mode != HistoryMode.PAGINATED or depth <= 0:
        return own
    first = next(own, None)
    if first is None:
        return iter(())
    base = history_base(first)
    rest = itertools.chain([first], own)
    if base is None or base.thread_id == stored.thread_id:
        return rest
    try:
        parent = await store.read_thread(
            ReadThreadParams(thread_id=ThreadId(base.thread_id), include_archived=True)
        )
    except ThreadloomError:  # an unreadable ancestor: its lines are left out, as Codex does
        return rest
    inherited = await _lineage(store, parent, depth - 1)
    end = base.end_ordinal_exclusive
    prefix = (line for line in inherited if line.ordinal is not None and line.ordinal < end)
    return itertools.chain(prefix, rest)


async def _own_lines(store: ThreadStore, stored: StoredThread) -> Iterator[RolloutLine]:
    path = stored.rollout_path
    if path is not None and Capability.RESOLVE_LEGACY_PATH in store.capabilities:
        return iter_lines(Path(path))
    history = await store.load_history(
        LoadHistoryParams(thread_id=ThreadId(stored.thread_id), include_archived=True)
    )
    return iter(history.items)


def recorded_settings(lines: Iterator[RolloutLine]) -> RecordedSettings:
    """What ``lines`` record about their thread's settings (``HistoryScan.recorded``)."""
    recorded = RecordedSettings()
    for line in lines:
        if line.type in (EVENT_MSG, TURN_CONTEXT):
            parsed = load_line(line)
            if parsed is not None:
                record_settings(recorded, line, parsed)
    return recorded


def recorded_settings_of_file(path: Path) -> RecordedSettings:
    """``recorded_settings`` of a rollout file, decoding only lines that hold a settings
    type name (a quoted type name cannot occur inside a JSON string): a plain file searched
    backwards from its end, only until no earlier line can change the result; a compressed
    one forwards, in chunks."""
    if path.name.endswith(".zst"):
        recorded = RecordedSettings()
        with open_rollout(path) as stream:
            for raw in _marked_lines(stream, _SETTINGS_MARKERS):
                later = _settings_of_line(raw)
                if later is not None:
                    later.backfill(recorded)
                    recorded = later
        return recorded
    with open(path, "rb") as f:
        applied, context = _SETTINGS_MARKERS
        # A forward search is many times faster than a backward one: rule the rare kind out.
        any_applied = next(_marked_lines(f, (applied,)), None) is not None
        lines = _LinesBackwards(f)
        recorded = RecordedSettings()
        while not recorded.complete:
            markers = [applied] if any_applied else []
            if recorded.needs_context:
                markers.append(context)
            found = lines.previous(markers) if markers else None
            if found is None:
                break
            earlier = _settings_of_line(found)
            if earlier is not None:
                recorded.backfill(earlier)
        return recorded


class _LinesBackwards:
    """The complete lines of a file (a torn last line left out), searched from the end for
    lines holding a marker, one block read at a time."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.offset = f.seek(0, io.SEEK_END)
        """File offset of ``buf[0]``."""
        self.buf = b""
        """The file from ``offset`` to the start of the last line given: whole lines, the
        first perhaps cut short (it may go on in the block before)."""
        while self._read_block():
            end = self.buf.rfind(b"\n") + 1
            if end or not self.offset:
                self.buf = self.buf[:end]
                break

    def _read_block(self) -> bool:
        if not self.offset:
            return False
        start = max(0, self.offset - _MARKER_CHUNK)
        self.f.seek(start)
        self.buf = self.f.read(self.offset - start) + self.buf
        self.offset = start
        return True

    def previous(self, markers: list[bytes]) -> bytes | None:
        """The last line before those given already that holds one of ``markers``."""
        while True:
            at = max((self.buf.rfind(marker) for marker in markers), default=-1)
            if at < 0:
                first_end = self.buf.find(b"\n") + 1  # the cut-short first line goes on
                self.buf = self.buf[:first_end] if self.offset else b""
                if not self._read_block():
                    return None
                continue
            start = self.buf.rfind(b"\n", 0, at) + 1
            if start == 0 and self.offset:
                self._read_block()  # the line starts in an earlier block
                continue
            line = self.buf[start : self.buf.index(b"\n", at)]
            self.buf = self.buf[:start]
            return line


def _settings_of_line(raw: bytes) -> RecordedSettings | None:
    """What one line records (None: not a kept settings line)."""
    try:
        line = decode_line(raw)
    except LineError:
        return None
    if line.type not in (EVENT_MSG, TURN_CONTEXT):
        return None
    parsed = load_line(line)
    if parsed is None:
        return None
    recorded = RecordedSettings()
    record_settings(recorded, line, parsed)
    return recorded


def _marked_lines(stream: BinaryIO, markers: tuple[bytes, ...]) -> Iterator[bytes]:
    """The complete lines of ``stream`` that hold one of ``markers``, in order; the markers
    are searched in whole chunks (read into one reused buffer), not line by line."""
    readinto = cast(io.BufferedIOBase, stream).readinto
    buf = bytearray(_MARKER_CHUNK)
    have = 0
    while True:
        if have == len(buf):  # a line longer than the buffer
            buf.extend(bytes(len(buf)))
        with memoryview(buf) as view:
            count = readinto(view[have:])
        if not count:
            return  # what is left is a torn last line
        have += count
        end = buf.rfind(b"\n", 0, have) + 1
        hits: list[int] = []
        for marker in markers:
            at = buf.find(marker, 0, end)
            while at >= 0:
                hits.append(at)
                at = buf.find(marker, at + len(marker), end)
        done = 0
        for at in sorted(hits):
            if at < done:
                continue  # a second marker in a line already given
            start = buf.rfind(b"\n", 0, at) + 1
            stop = buf.find(b"\n", at, end)
            yield bytes(buf[start:stop])
            done = stop + 1
        rest = have - end
        buf[:rest] = buf[end:have]
        have = rest

"""Turn reconstruction: a thread's turns and items rebuilt from its rollout, as Codex 0.169.0's
app server does for ``thread/read`` with ``includeTurns: true`` (app-server-threads 6, 7).

Pure code: callers read the file and feed ``RolloutLine`` objects in file order.

``build_turns(lines)`` returns the ``turns`` list (JSON dicts in Codex's key order).
``TurnReducer`` is the streaming form. Legacy threads are replayed event by event (6.1-6.8:
kept-line numbering, implicit ``rollout-N`` turns, global ``item-N`` numbering, upserts,
rollback, compaction, every item type); paginated threads are projected from their
``item_completed`` events and lifecycle events (6.9, ``paginated.py``). The mode comes from
the first ``session_meta`` line.

Streaming and rollback
----------------------
A finished turn is not final: later lines may name it by id (``task_complete`` /
``turn_aborted`` with its id, ``patch_apply_end`` / Plan ``item_completed`` with its
``turn_id``, paginated items arriving late), a legacy ``thread_rolled_back`` removes the
last N finished turns *before* the marker (however old), and at the end of a stored thread
every turn still in progress becomes ``interrupted``. Holding every finished turn until the
end would make memory grow with the thread, so the reducer releases turns early and says
explicitly when a released turn changes. ``feed`` / ``finish`` return events:

* ``TurnAppended(index, turn)``: a turn is released; it is turn ``index``;
* ``TurnAmended(index, changes)``: members of released turn ``index`` change (status, error,
  times);
* ``ItemUpserted(index, item, keep_times)``: an item is upserted into released turn ``index``;
* ``TurnsDropped(count)``: a rollback removed the last ``count`` released turns.

``apply_event(turns, event)`` applies one to a list; applying all of them, in order, gives
exactly ``build_turns``'s result (property-tested for every ``hold``). ``hold=K`` keeps the K
most recent finished turns unreleased, so changes to them (the usual case: a completion right
after the turn, a one-turn rollback) are applied in place and never surface as amendments;
``hold=None`` releases everything at ``finish`` (what ``build_turns`` does). For released turns
the reducer keeps a small record (id, status, item count, item ids other than ``item-N``,
the ``item-N`` range), which is what exact rollback renumbering and id-targeted changes need;
memory is the open and held turns plus these records.

Resuming and paging (``thread/turns/list``)
-------------------------------------------
``TurnReducer.snapshot()`` is a ``ReducerSnapshot`` (msgspec struct; ``encode_snapshot`` /
``decode_snapshot``) of the whole state after the last line fed; ``TurnReducer.resume(snap)``
continues from it. The caller pairs it with the byte offset just after that line (the reader
yields offsets) and resumes by reading the file from there. Replay is deterministic, except
for the ids of id-less hook prompts (Codex invents random ones): pass a deterministic
``new_id`` where pages must agree with each other.

``thread/turns/list`` (newest first by default, 25 per page, cursors naming a turn) can be
served without re-reading from the start with a small per-thread checkpoint, built by one
``hold=0`` pass and extended by resuming at ``end`` when the file grows:

* ``end``: (offset, snapshot) after the last complete line read (taken before ``finish``:
  the end-of-file rules are applied when serving, as the file may still grow);
* ``released_at[i]``: the offset after the line whose ``feed`` released turn ``i``;
* ``marks``: for every K-th turn ``i``, (offset, snapshot) right after the feed that released
  turn ``i - 1``, i.e. from where replay releases turn ``i`` next;
* ``late``: (offset, event) for every ``TurnAmended`` / ``ItemUpserted`` (rare);
* a ``TurnsDropped`` truncates ``released_at`` and ``marks`` to the new turn count (the
  indexes are reused by the turns released after it).

Page [i, j): resume from the last mark at or before ``i``, feed until ``released_at[j - 1]``
applying the events to a list, keep [i, j), then apply the ``late`` events after that offset
that touch [i, j); the newest page feeds to the end and calls ``finish``. Memory and work are
one page plus the lines between a mark and the page.

A snapshot carries one small record per released turn; a caller that keeps those records
itself (``threadloom.server.history`` keeps every version once) passes them to
``TurnReducer.resume(snap, records=…)`` as a ``ReleasedRecords`` (``records.py``), so that
resuming costs nothing per released turn. ``server/history/index.py`` implements this scheme.

Paginated forks and generations
-------------------------------
Their history lives below ``history_base.end_byte_offset`` of another rollout (the parent, or
an older generation of the same thread). ``history_base(first_line)`` names that range; feed
the range's lines (recursively, for a parent that has its own base) before the file's own.
Codex answers ``includeTurns`` for paginated threads from its projection database, which it
builds from exactly these lines.
"""

from threadloom.protocol.turns.errors import (
    InvalidTurnError,
    codex_error_info_json,
    turn_error_json,
)
from threadloom.protocol.turns.loading import load_line
from threadloom.protocol.turns.records import ListRecords, ReleasedRecords
from threadloom.protocol.turns.reducer import (
    HistoryBase,
    ReducerClosed,
    TurnReducer,
    build_turns,
    history_base,
)
from threadloom.protocol.turns.state import (
    ItemUpserted,
    ReducerSnapshot,
    ReleasedTurn,
    Turn,
    TurnAmended,
    TurnAppended,
    TurnEvent,
    TurnsDropped,
    apply_event,
    decode_snapshot,
    encode_snapshot,
)

__all__ = [
    "HistoryBase",
    "InvalidTurnError",
    "ItemUpserted",
    "ListRecords",
    "ReducerClosed",
    "ReducerSnapshot",
    "ReleasedRecords",
    "ReleasedTurn",
    "Turn",
    "TurnAmended",
    "TurnAppended",
    "TurnEvent",
    "TurnReducer",
    "TurnsDropped",
    "apply_event",
    "build_turns",
    "codex_error_info_json",
    "decode_snapshot",
    "encode_snapshot",
    "history_base",
    "load_line",
    "turn_error_json",
]

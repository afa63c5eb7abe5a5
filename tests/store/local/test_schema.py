"""Index migrations: an index written under older summary rules is scanned again on open,
never read with the old answers; names and full-text search survive."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from threadloom.store.local import LocalThreadStore
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.schema import SCHEMA_VERSION
from threadloom.store.params import ListThreadsParams, SearchThreadsParams
from threadloom.testing import RolloutBuilder, append_session_index

from ...protocol.test_applied_settings import THREAD_ID, event


async def test_an_index_from_before_thread_settings_counted_is_rebuilt(tmp_path: Path) -> None:
    b = RolloutBuilder(THREAD_ID, created=1_760_000_000_000)
    b.turn("flaky test in ci", "fixed", model="tc", effort="low")
    b.event(event(model="ts", reasoning_effort="high"))
    b.write(tmp_path)
    append_session_index(tmp_path, THREAD_ID, "Named", updated_at=1_760_000_001_000)
    store = LocalThreadStore(tmp_path)
    assert [t.model for t in (await store.list_threads(ListThreadsParams())).items] == ["ts"]
    await store.close()
    _age(tmp_path, model="tc", effort="low")

    store = LocalThreadStore(tmp_path)
    (listed,) = (await store.list_threads(ListThreadsParams())).items
    hits = await store.search_threads(SearchThreadsParams(query="flaky"))
    await store.close()

    assert (listed.model, listed.reasoning_effort, listed.name) == ("ts", "high", "Named")
    assert [h.thread.thread_id for h in hits.items] == [THREAD_ID]


def _age(home: Path, *, model: str, effort: str) -> None:
    """Turn the index back into one of schema 2 holding the summary the old rules gave."""
    conn = sqlite3.connect(CodexHome(home).index_db)
    try:
        ((blob,),) = conn.execute("SELECT state FROM files").fetchall()
        state = msgspec.msgpack.decode(blob)
        state.update(model=model, reasoning_effort=effort)
        for key in ("context_model", "settings_cwd", "last_task_id"):
            state.pop(key, None)
        conn.execute("UPDATE files SET state = ?", (msgspec.msgpack.encode(state),))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION > 2
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
    finally:
        conn.close()

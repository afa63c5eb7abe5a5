"""``LiveThread.append(..., encoded=...)``: lines whose bytes the caller made are written as
given (one encoding per line, checked before anything is queued)."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadloom.errors import InvalidRequest
from threadloom.ids import new_thread_id
from threadloom.live import LiveThread
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import EVENT_MSG, RESPONSE_ITEM, RolloutLine
from threadloom.store.local import LocalThreadStore
from threadloom.store.params import CreateThreadParams, LoadHistoryParams

STAMP = "2025-03-01T10:00:00.000Z"
USER = RolloutLine(
    timestamp=STAMP,
    type=RESPONSE_ITEM,
    payload={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "é"}]},
)
DELTA = RolloutLine(
    timestamp=STAMP, type=EVENT_MSG, payload={"type": "agent_message_content_delta", "delta": "x"}
)


async def started(home: Path) -> tuple[LocalThreadStore, LiveThread]:
    store = LocalThreadStore(home)
    params = CreateThreadParams(
        thread_id=new_thread_id(), cwd="/w", originator="t", cli_version="0.169.0"
    )
    return store, await LiveThread.create(store, params)


async def test_given_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    store, live = await started(tmp_path)
    # a valid encoding of the same line, but not the one encode_line makes: written verbatim
    escaped = encode_line(USER).replace("é".encode(), b"\\u00e9")

    await live.append([DELTA, USER], encoded=[b"never written", escaped])
    await live.shutdown()

    path = live.rollout_path
    assert path is not None
    assert Path(path).read_bytes().splitlines()[1:] == [escaped]
    history = await store.load_history(LoadHistoryParams(thread_id=live.thread_id))
    assert [line.payload for line in history.items[1:]] == [USER.payload]
    await store.close()


async def test_one_encoding_per_line_is_required(tmp_path: Path) -> None:
    store, live = await started(tmp_path)

    with pytest.raises(InvalidRequest, match="one encoding per appended line"):
        await live.append([USER, USER], encoded=[encode_line(USER)])

    await live.persist()
    history = await store.load_history(LoadHistoryParams(thread_id=live.thread_id))
    assert len(history.items) == 1, "only the session_meta: nothing of the refused append"
    await live.shutdown()
    await store.close()

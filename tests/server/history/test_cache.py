"""Saved turn indexes: a new service on the same home pages a thread without replaying it, goes
on from the saved end when the file grew, and rebuilds (then saves again) when the file was
replaced or cut, or the saved file is damaged or of another version; two processes saving the
same index never leave a damaged file; the folder stays within its budget."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from threadloom.protocol.rollout import HistoryMode, RolloutLine
from threadloom.protocol.turns import TurnEvent, build_turns
from threadloom.server.history.cache import TEMP_SUFFIX, IndexCache
from threadloom.server.history.index import TurnIndex, _Feeder, extend
from threadloom.server.history.pages import TurnsQuery, turns_page
from threadloom.server.history.persisted import MAGIC
from threadloom.server.history.service import HistoryService
from threadloom.server.history.source import Line, Source, file_source
from threadloom.store.local import LocalThreadStore
from threadloom.store.local.reader import iter_lines
from threadloom.store.memory import InMemoryThreadStore
from threadloom.testing import RolloutBuilder

from .test_service import THREAD, builder, stored

PAGE = TurnsQuery(limit=3)
Fed = tuple[int, int, RolloutLine, list[TurnEvent]]


class Feeds:
    """Counts the lines the history index feeds its reducers (the replay work)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = _Feeder.feed

        def feed(feeder: _Feeder, lines: Iterable[Line]) -> Iterator[Fed]:
            for fed in original(feeder, lines):
                self.count += 1
                yield fed

        monkeypatch.setattr(_Feeder, "feed", feed)

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch) -> Feeds:
    return Feeds(monkeypatch)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


class Process:
    """A server process on ``home``: its own store and history service (nothing shared in
    memory with another one), saving every index."""

    def __init__(self, home: Path) -> None:
        self.store = LocalThreadStore(home)
        self.cache = IndexCache(self.store.home.turn_indexes, min_bytes=0, resave_bytes=0)
        self.service = HistoryService(self.store, cache=self.cache)

    async def count(self) -> int:
        thread = await stored(self.store, THREAD)
        return await self.service.run(thread, lambda index, _: index.count)

    async def page(self) -> dict[str, Any]:
        thread = await stored(self.store, THREAD)
        return await self.service.run(thread, lambda i, s: turns_page(i, s, PAGE))

    async def full(self) -> list[dict[str, Any]]:
        return await self.service.full_turns(await stored(self.store, THREAD), active=False)

    async def close(self) -> None:
        await self.store.close()


def texts(page: dict[str, Any]) -> list[str]:
    return [turn["items"][0]["content"][0]["text"] for turn in page["data"]]


async def test_a_new_process_pages_from_the_saved_index_without_replaying(
    home: Path, feeds: Feeds
) -> None:
    path = builder(40).write(home)
    lines = len(list(iter_lines(path)))
    first = Process(home)
    turns = await first.full()  # thread/read includeTurns builds and saves the index
    assert turns == build_turns(iter_lines(path))
    assert feeds.take() == lines
    expected = await first.page()
    assert (first.cache.folder / f"{THREAD}.turns").is_file()
    await first.close()
    feeds.take()

    second = Process(home)
    assert await second.count() == 40
    assert feeds.take() == 0  # loaded, not replayed
    assert await second.page() == expected
    assert 0 < feeds.take() < lines // 4  # one page of lines past a checkpoint
    assert await second.full() == turns
    await second.close()
    feeds.take()
    third = Process(home)  # thread/read includeTurns first: one pass over the lines, no more
    assert await third.full() == turns
    assert feeds.take() == lines
    assert await third.count() == 40
    assert feeds.take() == 0
    await third.close()


async def test_a_grown_file_goes_on_from_the_saved_end(home: Path, feeds: Feeds) -> None:
    path = builder(40).write(home)
    first = Process(home)
    assert await first.count() == 40
    await first.close()
    path.write_bytes(builder(45).to_bytes())  # the same 40 turns, then 5 more
    feeds.take()

    second = Process(home)
    assert await second.count() == 45
    added = len(list(iter_lines(path))) - len(builder(40).lines)
    assert feeds.take() == added  # only the appended lines
    assert texts(await second.page()) == ["question 44", "question 43", "question 42"]
    await second.close()
    feeds.take()
    third = Process(home)  # saved again at the new end
    assert await third.count() == 45
    assert feeds.take() == 0
    await third.close()


@pytest.mark.parametrize("change", ["replaced", "truncated"])
async def test_a_replaced_or_cut_file_is_indexed_again(
    home: Path, feeds: Feeds, change: str
) -> None:
    path = builder(40).write(home)
    first = Process(home)
    assert await first.count() == 40
    await first.close()
    if change == "replaced":
        other = builder(0)
        for n in range(42):
            other.tick(1000).turn(f"another question {n}", "no")
        path.write_bytes(other.to_bytes())
        expected = 42
    else:
        path.write_bytes(builder(20).to_bytes())
        expected = 20

    second = Process(home)
    assert await second.count() == expected
    assert await second.full() == build_turns(iter_lines(path))
    await second.close()
    feeds.take()
    third = Process(home)  # the rebuilt index was saved
    assert await third.count() == expected
    assert feeds.take() == 0
    await third.close()


def _damaged(data: bytes) -> list[bytes]:
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    version = MAGIC[:-2] + bytes([MAGIC[-2] + 1]) + MAGIC[-1:]
    return [b"", b"junk", data[: len(data) // 2], bytes(flipped), version + data[len(MAGIC) :]]


async def test_a_damaged_or_foreign_cache_file_is_rebuilt(home: Path, feeds: Feeds) -> None:
    path = builder(30).write(home)
    first = Process(home)
    expected = await first.page()
    await first.close()
    saved = first.cache.folder / f"{THREAD}.turns"
    good = saved.read_bytes()
    lines = len(list(iter_lines(path)))
    for bad in _damaged(good):
        saved.write_bytes(bad)
        feeds.take()
        again = Process(home)
        assert await again.page() == expected
        assert feeds.take() >= lines  # rebuilt from the file
        await again.close()
        assert saved.read_bytes() == good  # and saved again
    saved.unlink()
    saved.mkdir()  # not even a file: still answered
    again = Process(home)
    assert await again.page() == expected
    await again.close()


SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from threadloom.protocol.rollout import HistoryMode
    from threadloom.server.history.cache import IndexCache
    from threadloom.server.history.index import TurnIndex, _Feeder, extend
    from threadloom.server.history.source import file_source

    path, folder, thread, times = sys.argv[1:5]
    source = file_source(Path(path), lambda base, current: None)
    index = TurnIndex.empty(thread, HistoryMode.LEGACY, source)
    extend(index, source)
    cache = IndexCache(Path(folder), min_bytes=0, resave_bytes=0)
    for _ in range(int(times)):
        assert cache.save(index, source)
    """
)


def _source(path: Path) -> Source:
    return file_source(path, lambda base, current: None)


async def test_two_processes_saving_the_same_index_leave_a_whole_file(home: Path) -> None:
    store = LocalThreadStore(home)
    builder(120).write(home)
    path = Path((await stored(store, THREAD)).rollout_path or "")
    await store.close()
    folder = home / "cache"
    argv = [sys.executable, "-c", SAVER, str(path), str(folder), THREAD, "300"]
    savers = [subprocess.Popen(argv) for _ in range(2)]
    cache = IndexCache(folder)
    loads = 0
    while any(saver.poll() is None for saver in savers):
        index = cache.load(THREAD, HistoryMode.LEGACY, _source(path))
        if index is not None:
            assert index.count == 120
            loads += 1
    assert [saver.wait() for saver in savers] == [0, 0]
    final = cache.load(THREAD, HistoryMode.LEGACY, _source(path))
    assert final is not None
    assert turns_page(final, _source(path), PAGE)["data"][0]["id"] == final.turn_id(119)
    assert not list(folder.glob(f"*{TEMP_SUFFIX}"))  # every temporary file renamed
    assert [p.name for p in folder.iterdir()] == [f"{THREAD}.turns"]


def _index(path: Path, thread_id: str) -> tuple[TurnIndex, Source]:
    source = _source(path)
    index = TurnIndex.empty(thread_id, HistoryMode.LEGACY, source)
    extend(index, source)
    return index, source


def test_small_threads_are_not_saved_and_the_folder_keeps_its_budget(tmp_path: Path) -> None:
    ids = [f"019a0000-0000-7000-9000-00000000d00{n}" for n in range(4)]
    paths = []
    for n, thread_id in enumerate(ids):
        b = RolloutBuilder(thread_id, created="2025-02-01T10:00:00Z")
        for k in range(30):
            b.tick(1000).turn(f"question {n}.{k}", "answer")
        paths.append(b.write(tmp_path / "home"))
    index, source = _index(paths[0], ids[0])
    assert not IndexCache(tmp_path / "default").save(index, source)  # too small to be worth it
    assert not (tmp_path / "default").exists()

    size = len(Path(_saved_one(tmp_path / "probe", index, source)).read_bytes())
    cache = IndexCache(tmp_path / "cache", min_bytes=0, max_bytes=int(size * 2.5))
    for path, thread_id in zip(paths, ids, strict=True):
        assert cache.save(*_index(path, thread_id))
    kept = sorted(p.name for p in cache.folder.iterdir())
    assert len(kept) == 2
    assert f"{ids[-1]}.turns" in kept  # the most recent stays
    assert sum(p.stat().st_size for p in cache.folder.iterdir()) <= cache.max_bytes
    tiny = IndexCache(tmp_path / "tiny", min_bytes=0, max_file_bytes=size - 1)
    assert not tiny.save(index, source)  # too big to be saved


def _saved_one(folder: Path, index: TurnIndex, source: Source) -> Path:
    cache = IndexCache(folder, min_bytes=0)
    assert cache.save(index, source)
    path = cache.path(index.thread_id)
    assert path is not None
    return path


async def test_only_a_local_store_saves_indexes(home: Path) -> None:
    store = LocalThreadStore(home)
    local = HistoryService(store).cache
    assert local is not None
    assert local.folder == store.home.turn_indexes
    await store.close()
    assert HistoryService(InMemoryThreadStore()).cache is None


async def test_a_deleted_thread_leaves_no_saved_index(home: Path, feeds: Feeds) -> None:
    builder(40).write(home)
    process = Process(home)
    await process.full()
    saved = process.cache.folder / f"{THREAD}.turns"
    assert saved.is_file()
    await process.service.forget(THREAD)
    assert not saved.exists()
    feeds.take()
    assert await process.count() == 40  # not kept in memory either: indexed again
    assert feeds.take() > 0
    await process.close()


async def test_thread_delete_through_the_server_drops_the_saved_index(home: Path) -> None:
    from threadloom.server.app import AppServer  # noqa: PLC0415
    from threadloom.server.methods import reading  # noqa: PLC0415

    builder(40).write(home)
    process = Process(home)
    server = AppServer(process.store)
    reading._services[server] = process.service
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    conn = server.connect(send)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("initialize", {"clientInfo": {"name": "t", "version": "1"}}),
        ("thread/read", {"threadId": THREAD, "includeTurns": True}),
    ]
    for n, (method, params) in enumerate(requests):
        await server.receive(conn, json.dumps({"id": n, "method": method, "params": params}))
    saved = process.cache.folder / f"{THREAD}.turns"
    assert saved.is_file()
    await server.receive(
        conn, json.dumps({"id": 9, "method": "thread/delete", "params": {"threadId": THREAD}})
    )
    replies = [json.loads(m) for m in sent]
    assert {"id": 9, "result": {}} in [{k: r.get(k) for k in ("id", "result")} for r in replies]
    assert any(r.get("method") == "thread/deleted" for r in replies)
    assert not saved.exists()
    await server.close()
    await process.close()

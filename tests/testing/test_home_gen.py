"""Generated homes are deterministic, realistic, fast, and varied homes hold the whole zoo."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import zstandard

from threadloom.testing import (
    MANIFEST_NAME,
    MIN_VARIED_THREADS,
    SOURCE_FORMS,
    TAGS,
    HomeManifest,
    generate_home,
    source_kind,
)
from threadloom.testing.home_gen import main


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> HomeManifest:
    root = tmp_path_factory.mktemp("varied") / "home"
    return generate_home(root, threads=300, seed=5, varied=True)


def test_same_seed_gives_identical_files_and_mtimes(tmp_path: Path) -> None:
    a = generate_home(tmp_path / "a", threads=MIN_VARIED_THREADS, seed=3, varied=True)
    b = generate_home(tmp_path / "b", threads=MIN_VARIED_THREADS, seed=3, varied=True)
    generate_home(tmp_path / "c", threads=MIN_VARIED_THREADS, seed=4, varied=True)

    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "c")
    a.root = b.root = ""
    assert a == b


def test_records_match_the_files_on_disk(varied: HomeManifest) -> None:
    root = Path(varied.root)
    files = {p.relative_to(root).as_posix() for p in root.rglob("rollout-*")}

    assert files == {r.path for r in varied.threads}
    assert varied.total_bytes == sum(r.size for r in varied.threads)
    for record in varied.threads:
        stat = (root / record.path).stat()
        assert stat.st_size == record.size
        assert stat.st_mtime_ns == record.updated_ms * 1_000_000
        assert record.path.startswith("archived_sessions/" if record.archived else "sessions/")
        if record.archived:
            assert record.path.count("/") == 1


def test_varied_home_holds_every_required_kind(varied: HomeManifest) -> None:
    tags = {tag for r in varied.threads for tag in r.tags}
    assert set(TAGS) <= tags

    sources = [r.source for r in varied.threads if r.readable]
    for form in SOURCE_FORMS:
        assert form in sources
    assert None in sources
    assert {r.model_provider for r in varied.threads} >= {"openai", "anthropic", None}
    assert len({r.cwd for r in varied.threads}) >= 3
    assert any(not r.preview and r.readable for r in varied.threads)
    assert any(r.preview == "[Image]" for r in varied.threads)
    assert any(r.forked_from_id for r in varied.threads)
    assert any(r.git != r.scan_git for r in varied.threads)


def test_varied_home_files_show_their_tags(varied: HomeManifest) -> None:
    root = Path(varied.root)

    for record in varied.tagged("compressed"):
        assert record.path.endswith(".jsonl.zst")
        data = zstandard.ZstdDecompressor().decompress(
            (root / record.path).read_bytes(), max_output_size=1 << 26
        )
        assert json.loads(data.splitlines()[0])["payload"]["id"] == record.id
    for record in varied.tagged("mismatched_id"):
        assert record.id not in record.path
    for record in varied.tagged("torn_last_line"):
        assert not (root / record.path).read_bytes().endswith(b"\n")
    for record in varied.tagged("legacy_fork"):
        lines = (root / record.path).read_bytes().splitlines()
        second = json.loads(lines[1])
        assert second["type"] == "session_meta"
        assert second["payload"]["id"] == record.forked_from_id
    (seconds,) = {r.created_ms // 1000 for r in varied.tagged("duplicate_second")[:3]}
    assert seconds
    index = (root / "session_index.jsonl").read_bytes().splitlines()
    names = [json.loads(line)["thread_name"] for line in index]
    assert "" in names
    assert "Renamed" in names


def test_plain_lines_are_codex_compact_json(varied: HomeManifest) -> None:
    root = Path(varied.root)
    record = varied.by_id(varied.typical_thread)
    data = (root / record.path).read_bytes()

    for raw in data.splitlines():
        obj = json.loads(raw)
        assert json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() == raw
    kinds = {json.loads(raw)["payload"].get("type") for raw in data.splitlines()}
    assert {"task_started", "user_message", "function_call_output", "task_complete"} <= kinds


def test_search_terms_point_at_threads_that_contain_them(varied: HomeManifest) -> None:
    root = Path(varied.root)
    found_any = False
    for term in varied.search_terms:
        assert set(term.preview_ids) <= set(term.text_ids)
        for thread_id in term.preview_ids:
            assert term.term in varied.by_id(thread_id).preview
        for thread_id in term.text_ids:
            path = root / varied.by_id(thread_id).path
            if not path.name.endswith(".zst"):
                assert term.term.encode() in path.read_bytes()
        found_any = found_any or bool(term.text_ids)
    assert found_any


def test_expected_list_applies_codex_filters(varied: HomeManifest) -> None:
    default = varied.expected_list()
    every = varied.expected_list(
        source_kinds=["cli", "vscode", "exec", "appServer", "subAgent", "unknown"],
        model_providers=[],
    )

    assert all(r.model_provider in ("openai", None) for r in default)
    assert all(source_kind(r.source) in ("cli", "vscode", None) for r in default)
    assert len(every) > len(default)
    assert not any(r.archived for r in every)
    keys = [(r.created_ms // 1000, r.id) for r in default]
    assert keys == sorted(keys, reverse=True)


def test_turn_range_and_big_thread(tmp_path: Path) -> None:
    manifest = generate_home(tmp_path, threads=20, seed=1, turns=(2, 3), big_thread_mb=1.0)

    assert manifest.big_thread is not None
    big = manifest.by_id(manifest.big_thread)
    assert big.size >= 1024 * 1024
    assert all(2 <= r.turns <= 3 for r in manifest.threads if r.id != big.id)
    assert manifest.typical_thread != big.id


def test_three_hundred_varied_threads_take_well_under_two_seconds(tmp_path: Path) -> None:
    started = time.process_time()
    generate_home(tmp_path, threads=300, seed=9, varied=True)
    assert time.process_time() - started < 2.0


def test_too_small_varied_home_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_home(tmp_path, threads=MIN_VARIED_THREADS - 1, seed=1, varied=True)


def test_command_line_writes_home_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "home"
    assert main([str(out), "--threads", "12", "--seed", "2", "--turns-max", "2"]) == 0

    manifest = HomeManifest.read_json(out / MANIFEST_NAME)
    assert manifest.thread_count == 12
    assert all((out / r.path).is_file() for r in manifest.threads)
    assert os.path.samefile(manifest.root, out)

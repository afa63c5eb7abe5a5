"""What a history records about its settings, read from a rollout file: the backward search of
a plain file and the chunked forward search of a compressed one give exactly what a
line-by-line pass gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import zstandard

from threadloom.runtime import history
from threadloom.runtime.config import RecordedSettings
from threadloom.runtime.history import recorded_settings, recorded_settings_of_file
from threadloom.runtime.settings import ThreadSettings
from threadloom.store.local.reader import iter_lines
from threadloom.testing import RolloutBuilder, uuid7

BASE_MS = 1_735_905_600_000


def context(cwd: str, model: str, approval: str = "never") -> dict[str, object]:
    return {
        "cwd": cwd,
        "approval_policy": approval,
        "sandbox_policy": {"type": "danger-full-access"},
        "model": model,
        "summary": "auto",
    }


def applied(thread_id: str, cwd: str, approval: str, effort: str | None) -> dict[str, object]:
    settings = ThreadSettings(
        model="m2",
        model_provider="openai",
        cwd=cwd,
        approval_policy=approval,
        reasoning_effort=effort,
    )
    return settings.applied_event(thread_id)


def settings_thread(tmp_path: Path, *, torn_marker: bool) -> Path:
    """Settings recorded several times between long lines, a marker inside a string, a bad
    line holding a marker, and (``torn_marker``) a torn last line holding one."""
    thread_id = uuid7(BASE_MS, random.Random(3))
    b = RolloutBuilder(thread_id, created=BASE_MS, cwd="/proj")
    b.turn("first", "one", turn_id="s1")
    b.line("turn_context", {**context("/a", "m1"), "turn_id": "s1"})
    b.turn("long", "x" * 5000 + '"turn_context"' + "y" * 3000, turn_id="s2")
    b.event(applied(thread_id, "/b", "untrusted", "high"))
    b.raw(b'{"type":"turn_context","payload": not json')
    b.line("turn_context", {**context("/c", "m3", "on-request"), "turn_id": "s3"})
    b.event({**applied(thread_id, "/d", "on-request", None), "thread_settings": {"cwd": 3}})
    b.turn("last", "done", turn_id="s4")
    b.event(applied(thread_id, "/e", "never", "low"))
    if torn_marker:
        b.torn(b'{"timestamp":"2025-01-03T12:00:00.000Z","type":"turn_context","payload":{"cwd"')
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(b.to_bytes())
    return path


def line_by_line(path: Path) -> RecordedSettings:
    return recorded_settings(iter_lines(path))


def compressed(path: Path) -> Path:
    out = path.with_name(path.name + ".zst")
    out.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    return out


@pytest.mark.parametrize("chunk", [64, 1000, 4096, 1 << 20])
@pytest.mark.parametrize("torn_marker", [False, True])
@pytest.mark.parametrize("zst", [False, True], ids=["plain-backwards", "compressed-forwards"])
def test_the_search_reads_what_a_line_by_line_pass_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, torn_marker: bool, zst: bool
) -> None:
    path = settings_thread(tmp_path, torn_marker=torn_marker)
    monkeypatch.setattr(history, "_MARKER_CHUNK", chunk)

    found = recorded_settings_of_file(compressed(path) if zst else path)

    assert found == line_by_line(path)
    assert (found.cwd, found.approval_policy, found.model) == ("/e", "never", "m2")
    assert found.reasoning_effort == "low"


def mixed_thread(tmp_path: Path, seed: int) -> Path:
    """Settings lines in a random order, each member present, null, empty or of a wrong
    type, between ordinary turns."""
    rng = random.Random(seed)
    thread_id = uuid7(BASE_MS, rng)
    b = RolloutBuilder(thread_id, created=BASE_MS, cwd="/proj")
    values: list[object] = [None, "", 7, {"granular": {}}, "a", "b"]
    for n in range(rng.randrange(0, 12)):
        b.turn(f"turn {n}", "ok", turn_id=f"t{n}")
        if rng.random() < 0.5:
            payload = {**context("/c", "m"), "turn_id": f"t{n}"}
            payload["approval_policy"] = rng.choice(["never", "on-request", {"granular": {}}])
            payload["model"] = rng.choice(["m1", "m2", "", 3])
            payload["effort"] = rng.choice(values)
            b.line("turn_context", payload)
        else:
            event = applied(thread_id, "/x", "never", None)
            settings = dict(event["thread_settings"])  # type: ignore[call-overload]
            for key in ("cwd", "model_provider_id", "approval_policy", "model"):
                if rng.random() < 0.6:
                    settings[key] = rng.choice(values)
            b.event({**event, "thread_settings": settings})
    path = tmp_path / f"mixed-{seed}.jsonl"
    path.write_bytes(b.to_bytes())
    return path


@pytest.mark.parametrize("seed", range(40))
def test_both_searches_agree_with_a_line_by_line_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    path = mixed_thread(tmp_path, seed)
    monkeypatch.setattr(history, "_MARKER_CHUNK", random.Random(seed).choice([50, 300, 4096]))
    expected = line_by_line(path)

    assert recorded_settings_of_file(path) == expected
    assert recorded_settings_of_file(compressed(path)) == expected


def test_a_file_without_settings_records_nothing(tmp_path: Path) -> None:
    thread_id = uuid7(BASE_MS, random.Random(4))
    b = RolloutBuilder(thread_id, created=BASE_MS, cwd="/proj")
    b.user_message("hello")
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(b.to_bytes())

    assert recorded_settings_of_file(path) == RecordedSettings()


@pytest.mark.parametrize("seed", range(30))
def test_lines_searched_backwards_are_the_marked_lines_in_reverse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(history, "_MARKER_CHUNK", rng.choice([1, 7, 64, 500]))
    words = [b"MARK", b"mark", b"MA", b"RK", b"x" * rng.randrange(1, 300), b""]
    lines = [b"".join(rng.choices(words, k=rng.randrange(0, 6))) for _ in range(rng.randrange(30))]
    torn = b"".join(rng.choices(words, k=rng.randrange(0, 3)))
    path = tmp_path / "lines"
    path.write_bytes(b"".join(line + b"\n" for line in lines) + torn)
    expected = [line for line in reversed(lines) if b"MARK" in line or b"mark" in line]

    with open(path, "rb") as f:
        backwards = history._LinesBackwards(f)
        found = []
        while (line := backwards.previous([b"MARK", b"mark"])) is not None:
            found.append(line)

    assert found == expected

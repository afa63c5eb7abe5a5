"""ForkCopier: a fork's copy of its source, in batches bounded by lines and bytes, each copy
re-serialised, fed to the child's scan and encoded once."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import SESSION_META, RolloutLine
from threadloom.runtime import fork_copy
from threadloom.runtime.fork_copy import ForkCopier
from threadloom.runtime.forking import canonical_line
from threadloom.runtime.history import HistoryScan
from threadloom.store.local.reader import iter_lines
from threadloom.testing import RolloutBuilder, uuid7

BASE_MS = 1_735_905_600_000
STAMP = "2026-02-01T00:00:00.000Z"
FRESH_ID = re.compile(r"^[a-z]+_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def source(tmp_path: Path) -> Path:
    """Turns, lines a fork rewrites (old shapes, id-less items) and lines it drops."""
    b = RolloutBuilder(uuid7(BASE_MS, random.Random(5)), created=BASE_MS, cwd="/proj")
    b.turn("one", "1" * 3000, turn_id="t1")
    b.event({"type": "turn_started", "turn_id": "t2", "model_context_window": 1000})
    b.response_item({"type": "function_call", "name": "sh", "arguments": "{}", "call_id": "k"})
    b.response_item({"type": "function_call_output", "call_id": "k", "output": "é" * 2000})
    b.garbage()
    b.line("future_kind", {"a": 1})
    b.event({"type": "turn_complete", "turn_id": "t2", "last_agent_message": None})
    b.turn("three", "3", turn_id="t3")
    path = tmp_path / "source.jsonl"
    path.write_bytes(b.to_bytes())
    return path


def copy_all(copier: ForkCopier) -> list[tuple[list[RolloutLine], list[bytes]]]:
    batches: list[tuple[list[RolloutLine], list[bytes]]] = []
    while True:
        lines, encoded = copier.batch()
        if not lines:
            return batches
        batches.append((lines, encoded))


def expected(path: Path) -> list[RolloutLine]:
    copies = (canonical_line(line, STAMP) for line in iter_lines(path))
    return [copied[0] for copied in copies if copied is not None]


def without_generated_ids(lines: list[RolloutLine]) -> list[object]:
    """Lines with the ids a fork makes up for id-less items (``<prefix>_<uuid7>``) blanked."""
    out: list[object] = []
    for line in lines:
        payload = line.payload
        if isinstance(payload, dict) and FRESH_ID.match(str(payload.get("id", ""))):
            payload = {**payload, "id": payload["id"].split("_")[0]}
        out.append((line.timestamp, line.type, payload))
    return out


def test_every_kept_line_is_copied_encoded_and_scanned(tmp_path: Path) -> None:
    path = source(tmp_path)
    scan = HistoryScan()

    batches = copy_all(
        ForkCopier(iter_lines(path), STAMP, None, scan, paginated=False, mark_meta=False)
    )

    lines = [line for batch, _ in batches for line in batch]
    encoded = [data for _, batch_bytes in batches for data in batch_bytes]
    assert without_generated_ids(lines) == without_generated_ids(expected(path))
    assert encoded == [encode_line(line) for line in lines]
    assert scan.index == len(lines)
    assert [t["id"] for t in scan.finish(loaded=True)] == ["t1", "t2", "t3"]


def test_batches_are_bounded_by_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = source(tmp_path)
    monkeypatch.setattr(fork_copy, "COPY_BATCH_BYTES", 2500)
    copier = ForkCopier(
        iter_lines(path), STAMP, None, HistoryScan(), paginated=False, mark_meta=False
    )

    batches = copy_all(copier)

    assert len(batches) > 2
    for _, encoded in batches:
        assert sum(map(len, encoded[:-1])) < 2500, "only the last line may pass the bound"
    assert sum(len(lines) for lines, _ in batches) == len(expected(path))


def test_a_cut_copies_the_first_kept_lines(tmp_path: Path) -> None:
    path = source(tmp_path)
    copier = ForkCopier(iter_lines(path), STAMP, 5, HistoryScan(), paginated=False, mark_meta=False)

    lines = [line for batch, _ in copy_all(copier) for line in batch]

    assert without_generated_ids(lines) == without_generated_ids(expected(path)[:5])


def test_marked_meta_and_paginated_copies(tmp_path: Path) -> None:
    path = source(tmp_path)
    numbered = [
        RolloutLine(line.timestamp, line.type, line.payload, ordinal=n)
        for n, line in enumerate(iter_lines(path))
    ]
    copier = ForkCopier(iter(numbered), STAMP, None, HistoryScan(), paginated=True, mark_meta=True)

    (lines, encoded), *_ = copy_all(copier)

    assert lines[0].type == SESSION_META
    assert lines[0].payload["multi_agent_version"] == "v1"
    assert all(line.ordinal is None for line in lines)
    assert encoded[0] == encode_line(lines[0])

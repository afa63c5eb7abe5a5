"""Rollout file names follow Codex: local wall-clock time, both name forms, strict parsing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from threadloom.protocol.paths import parse_rollout_name, rollout_relative_path

TID = "01a20058-5d4a-7d23-a261-87f0f0df1295"
GEN = "01a20068-0fd4-7380-915c-8f49c6b00ce1"


@pytest.fixture
def tokyo() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_names_and_date_folders_use_local_time(tokyo: None) -> None:
    created = 1_795_302_120_000  # 2026-11-21T23:02:00Z, 08:02 the next day in Tokyo
    path = rollout_relative_path(TID, created)
    assert str(path) == f"sessions/2026/11/22/rollout-2026-11-22T08-02-00-{TID}.jsonl"


def test_both_name_forms_and_compressed_files_parse() -> None:
    plain = parse_rollout_name(f"rollout-2026-11-21T23-00-18-{TID}.jsonl")
    assert plain is not None
    assert (plain.thread_uuid, plain.file_uuid, plain.generation) == (TID, TID, None)
    generation = parse_rollout_name(f"rollout-2026-11-21T23-20-37-{TID}_{GEN}.jsonl.zst")
    assert generation is not None
    assert (generation.thread_uuid, generation.file_uuid) == (TID, GEN)
    assert generation.compressed


@pytest.mark.parametrize(
    "name",
    [
        f"rollout-2026-11-21T23-00-18-{TID}.json",
        f"session-2026-11-21T23-00-18-{TID}.jsonl",
        f"rollout-2026-11-21-23-00-18-{TID}.jsonl",
        "rollout-2026-11-21T23-00-18-not-a-uuid.jsonl",
    ],
)
def test_other_names_are_ignored(name: str) -> None:
    assert parse_rollout_name(name) is None


def test_the_name_timestamp_orders_as_if_it_were_utc() -> None:
    parsed = parse_rollout_name(f"rollout-2026-11-21T23-00-18-{TID}.jsonl")
    assert parsed is not None
    assert parsed.sort_seconds == 1_795_302_018

"""The scanner's summary equals feeding every line, whatever it skips: recorded thread settings
(accepted or not) and turn starts included, in one read, in pieces, or compressed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import zstandard

from threadloom.protocol.summary import SummaryState
from threadloom.store.local.reader import iter_lines
from threadloom.store.local.scan import scan_summary
from threadloom.testing import RolloutBuilder

from ...protocol.test_applied_settings import THREAD_ID, event


def settings(b: RolloutBuilder, **changes: Any) -> RolloutBuilder:
    return b.event(event(**changes))


def rollouts() -> dict[str, tuple[RolloutBuilder, str | None]]:
    """Files whose summaries depend on where the last accepted settings and turn starts are,
    with the model each shows."""

    def builder() -> RolloutBuilder:
        return RolloutBuilder(THREAD_ID, created=1_760_000_000_000, cwd="/meta")

    after = settings(builder().turn("one", "ok", model="tc", effort="low"), model="ts")
    before = settings(builder(), model="ts", reasoning_effort="high").turn("one", "ok", model="tc")
    rejected_last = settings(
        settings(builder().turn("one", "ok"), model="ts", cwd="/elsewhere"),
        model="bad",
        cwd="relative",
    )
    resumed = settings(builder().turn("one", "ok"), model="ts").turn("two", "ok", model="tc2")
    renamed = (
        builder().turn("one", "ok", model="tc").event({"type": "turn_started", "turn_id": "x"})
    )
    only_renamed = builder().event({"type": "turn_started", "turn_id": "y"}).user_message("one")
    return {
        "a turn start spelled the other way": (renamed, "tc"),
        "only turn starts spelled the other way": (only_renamed, None),
        "settings after the turn": (after, "ts"),
        "settings before the turn": (before, "tc"),
        "rejected settings last": (rejected_last, "ts"),
        "settings between turns": (resumed, "tc2"),
    }


def fed(path: Path) -> SummaryState:
    state = SummaryState()
    for line in iter_lines(path):
        state.feed(line.type, line.payload)
    return state


@pytest.mark.parametrize("name", list(rollouts()))
def test_the_scanned_summary_is_the_summary_of_every_line(tmp_path: Path, name: str) -> None:
    b, model = rollouts()[name]
    path = b.write(tmp_path)
    expected = fed(path)

    whole = SummaryState()
    scan_summary(path, False, whole, 0)
    pieces = SummaryState()
    middle = len(b.to_bytes()) // 2
    offset = scan_summary(path, False, pieces, 0, middle)
    scan_summary(path, False, pieces, offset)
    packed = path.with_name(path.name + ".zst")
    packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    streamed = SummaryState()
    scan_summary(packed, True, streamed, 0)

    assert whole == pieces == streamed == expected
    assert expected.model == model


def test_the_last_accepted_settings_are_the_ones_that_count(tmp_path: Path) -> None:
    state = SummaryState()
    scan_summary(rollouts()["rejected settings last"][0].write(tmp_path), False, state, 0)
    assert (state.model, state.settings_cwd) == ("ts", "/elsewhere")

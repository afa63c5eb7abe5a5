"""``RecordLog`` / ``LogView``: released-turn records as of any checkpoint, without copies."""

from __future__ import annotations

import msgspec
import pytest

from threadloom.protocol.turns import ReleasedTurn
from threadloom.server.history.records import LogParts, LogView, RecordLog


def rec(turn_id: str, status: str = "completed", items: int = 1) -> ReleasedTurn:
    return ReleasedTurn(turn_id, status, items)


def built() -> RecordLog:
    log = RecordLog()
    log.set(0, rec("a"))  # op 0
    log.set(1, rec("b"))  # op 1
    log.set(0, rec("a", "failed", 2))  # op 2: amended
    log.set(2, rec("c"))  # op 3
    log.drop(1)  # op 4: c gone
    log.set(2, rec("d"))  # op 5: d takes its place
    return log


def test_versions_are_read_as_of_any_operation() -> None:
    log = built()
    assert [log.length_at(n) for n in range(log.ops + 1)] == [0, 1, 2, 2, 3, 2, 3]
    assert log.version_at(0, 2).status == "completed"
    assert log.version_at(0, 3).status == "failed"
    assert log.version_at(2, 4).id == "c"
    assert log.version_at(2, 6).id == "d"
    with pytest.raises(IndexError):
        log.version_at(1, 1)
    with pytest.raises(IndexError):
        log.set(5, rec("x"))


def test_a_view_copies_what_it_hands_out_and_keeps_additions_to_itself() -> None:
    log = built()
    first = {"a": 0, "b": 1, "d": 2}
    view = LogView(log, 2, first.get)  # a (completed), b
    assert len(view) == 2
    assert [r.id for r in view] == ["a", "b"]
    view[0].status = "interrupted"
    assert view[0].status == "interrupted"
    assert log.version_at(0, 2).status == "completed"  # the log is untouched
    assert view.find("a") == 0
    assert view.find("d") is None  # released after the view's checkpoint
    view.append(rec("e"))
    assert view.find("e") == 2
    assert len(view) == 3
    assert log.ops == 6


def test_a_view_drops_records_below_its_checkpoint() -> None:
    log = built()
    first = {"a": 0, "b": 1, "d": 2}
    view = LogView(log, 6, first.get)
    view.append(rec("e"))
    dropped = view.drop(3)
    assert [r.id for r in dropped] == ["b", "d", "e"]
    assert len(view) == 1
    assert view.find("b") is None
    assert view.find("e") is None
    view.append(rec("b"))
    assert view.find("b") == 1
    assert view.drop(10)[0].id == "a"
    assert len(view) == 0


def test_a_log_restored_from_its_parts_reads_the_same_versions() -> None:
    log = built()
    log.set(1, ReleasedTurn("b", "completed", 3, 4, 6, ["call-1"]))
    restored = RecordLog.from_parts(
        msgspec.msgpack.decode(msgspec.msgpack.encode(log.parts()), type=LogParts)
    )
    for ops in range(log.ops + 1):
        assert restored.length_at(ops) == log.length_at(ops)
        for index in range(log.length_at(ops)):
            assert restored.version_at(index, ops) == log.version_at(index, ops)
    assert restored.version_at(1, restored.ops).keys == ["call-1"]
    broken = log.parts()
    broken.previous = [*broken.previous[:-1], 99]
    with pytest.raises(ValueError, match="out of range"):
        RecordLog.from_parts(broken)
    broken = log.parts()
    broken.status = broken.status[:-1]
    with pytest.raises(ValueError, match="different lengths"):
        RecordLog.from_parts(broken)

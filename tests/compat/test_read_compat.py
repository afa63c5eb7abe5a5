"""``thread/read`` (without turns): threadloom reads every thread of the home as Codex does.

Same set-up as ``test_list_compat`` (Codex as a peer and threadloom in-process on one copy of
the varied home); every thread id of the home is read by both and the replies compared
whole. The home copy gets a few more unreadable rollouts (empty, torn, garbage first line,
metadata without ``originator``) next to the generated ones.

Compared after the documented differences of ``test_list_compat`` (paginated threads' names
and database times), plus one more: the paginated fork's ``model`` comes, in
Codex, from its parent's history (``history_base``), which threadloom's scanner does not
follow yet (strict xfail below).

The store reports an unreadable rollout with Codex's exact text
(``convert.read_failure_message``). The wording for an unknown id is method-specific in
Codex (``thread/read`` says "thread not loaded"); that mapping belongs to the app server
(strict xfail below until it exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadloom.errors import CorruptData, NotFound
from threadloom.ids import ThreadId
from threadloom.store.local.convert import read_failure_message
from threadloom.store.params import ReadThreadParams
from threadloom.testing import CompatHome

from .test_list_compat import Reply, Side, align_paginated
from .unreadable import UNREADABLE_ROLLOUTS

pytestmark = pytest.mark.compat

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"
EXTRA_UNREADABLE = UNREADABLE_ROLLOUTS


def add_unreadable_rollouts(home: Path) -> None:
    folder = home / "sessions" / "2025" / "01" / "03"
    folder.mkdir(parents=True, exist_ok=True)
    for n, (thread_id, data) in enumerate(EXTRA_UNREADABLE.values()):
        (folder / f"rollout-2025-01-03T12-00-0{n}-{thread_id}.jsonl").write_bytes(data)


@pytest.fixture(scope="module")
def side(
    varied_home: CompatHome, codex_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Side]:
    home = varied_home.copy_to(tmp_path_factory.mktemp("read") / "home")
    add_unreadable_rollouts(home)
    with Side(home, codex_bin) as side:
        yield side


def unreadable_ids(varied: CompatHome) -> list[str]:
    generated = [r.id for r in varied.manifest.threads if not r.readable]
    return generated + [thread_id for thread_id, _ in EXTRA_UNREADABLE.values()]


def readable_ids(varied: CompatHome) -> list[str]:
    """Every readable thread of the home by its id."""
    ids = [r.id for r in varied.manifest.threads if r.readable]
    return ids + list(varied.paginated.all_ids)


def read_both(side: Side, thread_id: str) -> tuple[Reply, Reply]:
    """Both replies, with the documented paginated-thread differences checked and aligned."""
    mine, theirs = side.threadloom_read(thread_id), side.codex_read(thread_id)
    if "result" in mine and "result" in theirs:
        align_paginated(
            side,
            [mine["result"]["thread"]],
            [theirs["result"]["thread"]],
            read=True,
            from_database=True,
        )
    return mine, theirs


def test_every_thread_of_the_home_reads_exactly_as_codex_reads_it(
    side: Side, varied_home: CompatHome
) -> None:
    paginated = varied_home.paginated
    ids = readable_ids(varied_home)
    assert len(ids) >= 300
    for thread_id in ids:
        mine, theirs = read_both(side, thread_id)
        assert "result" in theirs, thread_id
        assert "result" in mine, (thread_id, mine)
        thread: dict[str, Any] = theirs["result"]["thread"]
        if thread_id == paginated.fork:
            # Codex takes the fork's model from its parent's history (see the xfail below).
            assert thread["model"] is not None
            thread["model"] = mine["result"]["thread"]["model"]
        assert list(mine["result"]["thread"]) == list(thread), "Thread field order"
        assert mine == theirs, thread_id


def test_a_thread_read_by_its_file_name_uuid_is_the_thread_codex_reads_by_its_id(
    side: Side, varied_home: CompatHome
) -> None:
    for record in varied_home.manifest.tagged("mismatched_id"):
        file_uuid = Path(record.path).name[-42:-6]
        assert file_uuid != record.id
        mine, _ = read_both(side, file_uuid)
        by_id, by_file = side.codex_read(record.id), side.codex_read(file_uuid)
        # Deliberate difference: found by its file name, Codex skips its database row and
        # shows no model and the creation time as recencyAt. threadloom shows the thread
        # exactly as Codex shows it when asked by its id.
        thread = by_file["result"]["thread"]
        assert (thread["model"], thread["recencyAt"]) == (None, thread["createdAt"])
        assert mine == by_id


def test_a_paginated_fork_reads_its_model_from_its_parents_history_as_codex(
    side: Side, varied_home: CompatHome
) -> None:
    mine, theirs = read_both(side, varied_home.paginated.fork)

    assert mine["result"]["thread"]["model"] == theirs["result"]["thread"]["model"]


SPELLINGS = [
    pytest.param(str.upper, id="upper-case"),
    pytest.param(lambda t: "{" + t + "}", id="braced"),
    pytest.param(lambda t: "urn:uuid:" + t, id="urn"),
    pytest.param(lambda t: t.replace("-", ""), id="simple"),
]


@pytest.mark.parametrize("spell", SPELLINGS)
def test_every_accepted_id_spelling_reads_the_same_thread_as_codex(
    side: Side, varied_home: CompatHome, spell: Any
) -> None:
    for thread_id in (varied_home.manifest.typical_thread, varied_home.paginated.shell_only):
        mine, theirs = read_both(side, spell(thread_id))
        assert "result" in theirs
        assert mine == theirs


INVALID_IDS = [
    "",
    "bad",
    "not-a-uuid",
    "../../etc/passwd",
    "019a0000-0000-7000-9000-00000000000z",
    "019a0000-0000-7000-9000-000000000001 ",
    "019a0000-0000-7000-9000",
    "019a0000-00000000-7000-9000-000000000001",
    "019a0000-0000-7000-9000-00000000001",
]


def test_an_invalid_thread_id_fails_with_codex_error(side: Side) -> None:
    for raw in INVALID_IDS:
        mine, theirs = read_both(side, raw)
        assert theirs["error"]["code"] == -32600
        assert mine == theirs, raw


def test_every_unreadable_rollout_fails_as_codex_fails_and_gets_its_error_text(
    side: Side, varied_home: CompatHome
) -> None:
    for thread_id in unreadable_ids(varied_home):
        (path,) = side.home.glob(f"sessions/**/rollout-*-{thread_id}.jsonl*")
        mine, theirs = read_both(side, thread_id)

        assert theirs["error"]["code"] == mine["error"]["code"] == -32603
        assert read_failure_message(path) == theirs["error"]["message"], thread_id


def store_read_error(side: Side, thread_id: str) -> str:
    params = ReadThreadParams(thread_id=ThreadId(thread_id))
    with pytest.raises((NotFound, CorruptData)) as caught:
        side.run(side.store.read_thread(params))
    return str(caught.value.message)


def test_the_store_reports_an_unreadable_rollout_with_codex_error_text(
    side: Side, varied_home: CompatHome
) -> None:
    for thread_id in unreadable_ids(varied_home):
        assert store_read_error(side, thread_id) == side.codex_read(thread_id)["error"]["message"]


@pytest.mark.xfail(
    strict=True,
    reason="read_thread of an unknown id says 'no rollout found for thread id <id>' (what "
    "resume/archive/... say); thread/read says 'thread not loaded: <id>' "
    "(src/threadloom/store/local/__init__.py, with memory.py and the conformance suite)",
)
def test_reading_an_unknown_thread_fails_with_codex_message(side: Side) -> None:
    theirs = side.codex_read(UNKNOWN)

    assert theirs["error"] == {"code": -32600, "message": f"thread not loaded: {UNKNOWN}"}
    assert store_read_error(side, UNKNOWN) == theirs["error"]["message"]

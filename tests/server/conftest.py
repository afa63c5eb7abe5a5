"""Fixtures of the differential app-server corpus (``compat`` marker).

* ``codex_bin``, ``varied_home``: the compat fixtures themselves (same behaviour: skip when
  the Codex binary is missing, fail instead under ``CI=true``).
* ``differential``: a :class:`Differential` that runs a script on Codex 0.169.0 and on
  threadloom's ``app-server``, each on a fresh copy of a home. Each module runs one script
  (many requests) through it, so each server starts once per module. Under pytest-xdist the
  first worker to need a module's run does it and leaves the result for the others.
* :func:`corpus_home`: a copy of the varied home without the documented *deliberate*
  differences of ``tests/compat/test_list_compat.py`` (threads only Codex lists: the
  paginated fork and files without usable metadata; names of Codex-written paginated threads,
  which Codex reads from the database a copied home lacks), so the corpus needs no exception.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import CompatHome
from threadloom.testing.differential import (
    MISSING,
    DifferentialResult,
    Script,
    ServerCommand,
    codex_server,
    run_differential,
    threadloom_server,
)

from ..compat.conftest import codex_bin, varied_home

__all__ = ["codex_bin", "varied_home"]

Build = Callable[[Path], tuple[Path, Script]]
"""Makes the home (under the given folder) and the script of a module's run."""


class Differential:
    """Runs scripts on Codex (reference) and threadloom (candidate), fresh home copies each."""

    def __init__(
        self,
        reference: ServerCommand,
        candidate: ServerCommand,
        workdir: Path,
        shared: Path | None,
    ) -> None:
        self.reference = reference
        self.candidate = candidate
        self.workdir = workdir
        self.shared = shared
        """Folder shared by the xdist workers of this session (None without xdist)."""

    def run(self, key: str, build: Build) -> DifferentialResult:
        """The result of ``build``'s script on ``build``'s home, computed once per session."""
        if self.shared is None:
            return self._compute(key, build)
        cached = self.shared / f"differential-{key}.json"
        with (self.shared / f"differential-{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if cached.exists():
                return DifferentialResult.from_json(cached.read_bytes())
            result = self._compute(key, build)
            cached.write_bytes(result.to_json())
            return result

    def _compute(self, key: str, build: Build) -> DifferentialResult:
        folder = self.workdir / key
        home, script = build(folder)
        result = run_differential(self.reference, self.candidate, home, folder / "run", script)
        (folder / "result.json").write_bytes(result.to_json())  # for a look after a failure
        return result


@pytest.fixture(scope="module")
def differential(codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Differential:
    """A :class:`Differential` for this module (Codex as reference, threadloom as candidate)."""
    shared = None
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent
    return Differential(
        codex_server(codex_bin),
        threadloom_server(),
        tmp_path_factory.mktemp("differential"),
        shared,
    )


# --- homes ---------------------------------------------------------------------------------------
def corpus_home(
    varied: CompatHome, dest: Path, *, listable_only: bool = True, paginated: bool = True
) -> Path:
    """A copy of the varied home without the deliberate differences (module docstring).

    ``listable_only=False`` keeps the threads only Codex lists (for modules that never list
    them: they are good ``thread/read`` material). ``paginated=False`` drops the paginated
    threads Codex wrote.
    """
    home = varied.copy_to(dest)
    if not paginated:
        for thread_id in varied.paginated.all_ids:
            for path in home.glob(f"sessions/**/rollout-*-{thread_id}.jsonl"):
                path.unlink()
    if listable_only:
        unreadable_listed = [r.path for r in varied.manifest.threads if r.listed_without_meta]
        for relative in unreadable_listed:
            (home / relative).unlink()
        for path in home.glob(f"sessions/**/rollout-*-{varied.paginated.fork}.jsonl"):
            path.unlink()
    drop_names(home, set(varied.paginated.all_ids))
    return home


def drop_names(home: Path, thread_ids: set[str]) -> None:
    """Remove the ``session_index.jsonl`` entries of ``thread_ids``."""
    index = home / "session_index.jsonl"
    kept = [
        line
        for line in index.read_bytes().splitlines(keepends=True)
        if not _names_one_of(line, thread_ids)
    ]
    mtime = index.stat().st_mtime_ns
    index.write_bytes(b"".join(kept))
    os.utime(index, ns=(mtime, mtime))


def _names_one_of(line: bytes, thread_ids: set[str]) -> bool:
    try:
        entry: Any = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.get("id") in thread_ids


# --- cases ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Expect:
    """What Codex must answer to a step (checked before comparing both sides): an error with
    ``code`` and ``message`` (``prefix``: the message starts with it), or a result (code 0).
    ``alone``: the reply is the only message of the exchange (what was sent before it since
    the previous reply caused nothing, e.g. a line that must be ignored)."""

    code: int = 0
    message: str = ""
    prefix: bool = False
    alone: bool = False

    def check(self, exchange: list[dict[str, Any]], reply: dict[str, Any]) -> None:
        if self.alone:
            assert exchange == [reply], exchange
        if self.code == 0:
            assert "result" in reply, reply
            return
        error = reply.get("error")
        assert isinstance(error, dict), reply
        assert error["code"] == self.code, reply
        if self.prefix:
            assert str(error["message"]).startswith(self.message), reply
        else:
            assert error["message"] == self.message, reply


OK = Expect()


def invalid(message: str, *, prefix: bool = False, alone: bool = False) -> Expect:
    """A ``-32600`` error (every client-caused error, spec 1.5)."""
    return Expect(-32600, message, prefix, alone)


def check_exchange(result: DifferentialResult, label: str, expect: Expect | None) -> None:
    """Codex's reply meets ``expect``, then both sides' exchanges are identical."""
    if expect is not None:
        expect.check(result.reference.exchanges[label], result.reply(label))
    result.assert_same(label)


class Corpus:
    """A script plus what Codex must answer to each of its requests (``Expect``)."""

    def __init__(self) -> None:
        self.script = Script()
        self.expect: dict[str, Expect | None] = {}

    @property
    def labels(self) -> list[str]:
        return self.script.labels

    def request(
        self,
        label: str,
        method: str,
        params: Any = MISSING,
        expect: Expect | None = None,
        **options: Any,
    ) -> Corpus:
        self.script.request(method, params, label=label, **options)
        self.expect[label] = expect
        return self

    def ignored(self, label: str, line: bytes | dict[str, Any], probe: Expect) -> Corpus:
        """Send ``line`` (must cause nothing), then a probe request labelled ``label``."""
        if isinstance(line, bytes):
            self.script.raw(line, label=f"{label}: line")
        else:
            self.script.message(line, label=f"{label}: line")
        self.script.probe(label)
        self.expect[label] = replace(probe, alone=True)
        return self

    def initialize(self, **options: Any) -> Corpus:
        self.script.initialize(**options)
        self.expect[options.get("label", "initialize")] = OK
        return self


def run_on_varied_home(
    differential: Differential, varied: CompatHome, name: str, corpus: Corpus
) -> DifferentialResult:
    """Run ``corpus`` on both servers on the varied home without paginated threads (the
    listing differential tests' home)."""
    return differential.run(
        name,
        lambda folder: (corpus_home(varied, folder / "home", paginated=False), corpus.script),
    )

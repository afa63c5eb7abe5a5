"""Fixtures for differential tests against the real Codex 0.169.0 binary (``compat`` marker).

* ``codex_bin``: the binary; skips when it is not installed, fails instead under ``CI=true``.
* ``codex_peer_factory``: starts ``CodexPeer`` processes on a given home, closes them after.
* ``varied_home``: one generated varied home per session (>= 300 threads) plus paginated
  threads Codex wrote itself. Shared: copy it (``varied_home.copy_to(tmp_path / "home")`` or
  ``shutil.copytree``) before anything that may change it, including starting Codex on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from threadloom.testing import CodexPeer, CompatHome, build_compat_home

VARIED_THREADS = 300
VARIED_SEED = 20251

PeerFactory = Callable[..., CodexPeer]


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    """Path of the Codex 0.169.0 binary (``THREADLOOM_CODEX_BIN`` or ``scripts/codex-peer``)."""
    path = CodexPeer.find_binary()
    if path is None:
        reason = (
            "Codex 0.169.0 test peer not installed: run scripts/codex-peer or set "
            "THREADLOOM_CODEX_BIN to the codex binary"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: compat tests must run)")
        pytest.skip(reason)
    return path


@pytest.fixture
def codex_peer_factory(codex_bin: Path) -> Iterator[PeerFactory]:
    """``start(home, **kwargs) -> CodexPeer``; every peer started is closed at teardown."""
    peers: list[CodexPeer] = []

    def start(home: Path, **kwargs: Any) -> CodexPeer:
        kwargs.setdefault("binary", codex_bin)
        peer = CodexPeer(home, **kwargs)
        peers.append(peer)
        return peer

    yield start
    for peer in reversed(peers):
        peer.close()


@pytest.fixture(scope="session")
def varied_home(codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> CompatHome:
    """The shared varied home (read-only: copy it before use that may write)."""
    home = tmp_path_factory.mktemp("varied") / "codex-home"
    return build_compat_home(home, binary=codex_bin, threads=VARIED_THREADS, seed=VARIED_SEED)

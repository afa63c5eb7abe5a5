"""Fixtures of the local-store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadloom.store.local import LocalThreadStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalThreadStore]:
    """A LocalThreadStore on an empty CODEX_HOME (``tmp_path``)."""
    s = LocalThreadStore(tmp_path)
    yield s
    await s.close()

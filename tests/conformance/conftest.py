"""The ``store`` fixture: every test in this folder runs once per registered backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadloom.store.base import ThreadStore

from .backends import BACKENDS


@pytest.fixture(params=[pytest.param(name, id=name) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    name: str = request.param
    return name


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[ThreadStore]:
    """A fresh, empty store of the backend under test."""
    async with BACKENDS[backend](tmp_path) as instance:
        yield instance

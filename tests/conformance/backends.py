"""Every ThreadStore backend the conformance suite runs against.

A backend is a factory: given a fresh temporary directory, an async context manager yielding
an empty store (closed on exit). Register new backends in ``BACKENDS``. The PostgreSQL backend
needs a server (``THREADLOOM_TEST_PG_URL``); without one its tests are skipped, except under
``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from threadloom.store.base import ThreadStore
from threadloom.store.local import LocalThreadStore
from threadloom.store.memory import InMemoryThreadStore

from ..store.postgres import server as pg_server

DEFAULT_PROVIDER = "openai"

BackendFactory = Callable[[Path], AbstractAsyncContextManager[ThreadStore]]


@asynccontextmanager
async def memory_backend(tmp: Path) -> AsyncIterator[ThreadStore]:
    store = InMemoryThreadStore(default_provider=DEFAULT_PROVIDER)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def local_backend(tmp: Path) -> AsyncIterator[ThreadStore]:
    home = tmp / "codex_home"
    home.mkdir()
    store: ThreadStore = LocalThreadStore(home, default_provider=DEFAULT_PROVIDER)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def postgres_backend(tmp: Path) -> AsyncIterator[ThreadStore]:
    """A store of a fresh owner in this test process's database (see tests/store/postgres);
    skipped when no server is reachable, except under CI=true."""
    url = pg_server.process_database_url()
    from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415 - optional extra

    store: ThreadStore = PostgresThreadStore(
        url, owner=pg_server.new_owner(), default_provider=DEFAULT_PROVIDER
    )
    try:
        yield store
    finally:
        await store.close()


BACKENDS: dict[str, BackendFactory] = {
    "memory": memory_backend,
    "local": local_backend,
    "postgres": postgres_backend,
}

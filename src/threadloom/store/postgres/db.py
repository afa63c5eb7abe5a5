"""The connection pool of a PostgreSQL store, its first-use upgrade, and error mapping.

Connections are autocommit; work that must be atomic runs in ``transaction()``. The pool's
connections all use the store's schema as their ``search_path``. Driver errors become
threadloom errors: a server out of reach (or restarting) is ``Unavailable``, anything else
from the driver ``InternalError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from threadloom.errors import InternalError, Unavailable
from threadloom.store.postgres import schema as schema_mod

Conn = psycopg.AsyncConnection[Any]
T = TypeVar("T")


def db_error(exc: psycopg.Error) -> Unavailable | InternalError:
    """The threadloom error for a driver error."""
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable(f"PostgreSQL is unavailable: {exc}")
    return InternalError(f"PostgreSQL error: {exc}")


class Database:
    """A pool of connections to one database, using one threadloom schema."""

    def __init__(
        self,
        url: str,
        *,
        schema: str = schema_mod.DEFAULT_SCHEMA,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        upgrade: bool = True,
    ) -> None:
        self.url = url
        self.schema = schema
        self.upgrade = upgrade
        self.timeout = timeout
        self.min_size = min_size
        self.max_size = max_size
        self._search_path = sql.SQL("SET search_path TO {}").format(sql.Identifier(schema))
        self.pool = self._new_pool()
        self._opened = False
        self._closed = False
        self._open_lock = asyncio.Lock()
        self.trigram = False
        """The schema has listing's trigram indexes (known once open)."""

    def _new_pool(self) -> AsyncConnectionPool[Conn]:
        return AsyncConnectionPool(
            self.url,
            min_size=self.min_size,
            max_size=self.max_size,
            timeout=self.timeout,
            kwargs={"autocommit": True},
            configure=self._configure,
            open=False,
            name=f"threadloom-{self.schema}",
        )

    async def _configure(self, conn: Conn) -> None:
        await conn.execute(self._search_path)

    async def open(self) -> None:
        """Open the pool and bring the schema up to date (once; concurrent callers wait)."""
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            if self._closed:
                raise Unavailable("the PostgreSQL thread store is closed")
            try:
                # one direct connection first: a server out of reach fails at once (the pool
                # would retry until its timeout), and the schema is brought up to date
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=max(1, round(self.timeout))
                ) as conn:
                    await self._check_schema(conn)
                    self.trigram = await schema_mod.has_trigram_indexes(conn, self.schema)
                await self.pool.open(wait=True, timeout=self.timeout)
            except psycopg.Error as exc:
                await self.pool.close()
                self.pool = self._new_pool()  # a closed pool cannot be opened again
                raise db_error(exc) from exc
            except BaseException:
                await self.pool.close()
                self.pool = self._new_pool()
                raise
            self._opened = True

    async def _check_schema(self, conn: Conn) -> None:
        version = await schema_mod.current_version(conn, self.schema)
        if version == schema_mod.LATEST:
            return
        if not self.upgrade and version < schema_mod.LATEST:
            raise Unavailable(
                f"database schema {self.schema} is at version {version};"
                f" run `threadloom db upgrade` (version {schema_mod.LATEST})"
            )
        await schema_mod.upgrade_connection(conn, self.schema)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A pooled connection (autocommit); driver errors are mapped."""
        await self.open()
        try:
            async with self.pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise db_error(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A pooled connection inside one transaction (committed when the block ends)."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def one_statement(self) -> AsyncIterator[Conn]:
        """A pooled connection for a write made of one statement, which commits by itself
        (connections are in autocommit mode): one round trip, no BEGIN, no COMMIT."""
        async with self.connection() as conn:
            yield conn

    async def read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run ``fn`` (read-only, or safe to run twice) on a pooled connection; when the
        connection turns out to be dead (the server restarted or ended it), check the pool's
        idle connections and run it once more on a fresh one."""
        try:
            async with self.connection() as conn:
                return await fn(conn)
        except Unavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, PoolTimeout) or not self._opened:
                raise
        await self.pool.check()
        async with self.connection() as conn:
            return await fn(conn)

    async def close(self) -> None:
        self._closed = True
        if self._opened:
            await self.pool.close()
        self._opened = False

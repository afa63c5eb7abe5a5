"""PostgresThreadStore: threads in PostgreSQL, shared by any number of processes and owners.

The store is assembled from one module per concern: ``core`` (settings, snapshots, the write
path), ``live`` (creating, appending, forking), ``reading`` (records, histories, listings,
searches), ``mutations`` (names, metadata, archive, delete). Below them: ``schema``
(numbered migrations), ``db`` (pool, first-use upgrade, errors), ``rows`` (a thread's row and
record), ``claims`` (writer leases), ``writer`` (ordered and idempotent appends),
``listing``, ``search``, ``spawn``, ``fork`` (what forks copy), ``metadata`` (patches),
``transfer`` (whole threads in and out, for ``threadloom migrate``). Semantics are those of
the memory store (the reference without files) and the local store: lazy materialisation,
one writer per thread, Codex's listing, cursors and name rules, metadata patches, search
ranking.

**Owners.** Every operation runs for the store's owner (an account): each row carries the
owner and every query filters on it, so another owner's thread is, in every answer and every
error, exactly an unknown thread (the same id may even exist for two owners, independently).

**Storage.** Each rollout line is kept as the exact bytes it was written with (``items``), so
a thread exported to a CODEX_HOME is byte-identical to what the local store writes. A commit
is durable: an acknowledged append survives a server crash or restart.

Install with the ``postgres`` extra (``psycopg`` 3 and ``psycopg-pool``).
"""

from __future__ import annotations

from threadloom.store.base import Capability
from threadloom.store.postgres.live import LiveWriting
from threadloom.store.postgres.mutations import Mutations
from threadloom.store.postgres.reading import Reading

__all__ = ["PostgresThreadStore"]


class PostgresThreadStore(LiveWriting, Reading, Mutations):
    """A ThreadStore in a PostgreSQL database, for one owner.

    ``url``: a libpq connection string or URI. ``owner``: whose threads it serves.
    ``schema``: the PostgreSQL schema holding the tables (created and upgraded on first use
    unless ``upgrade`` is False). ``writer_lease_s``: how long a crashed process keeps its
    threads' writer leases. ``clock``: milliseconds since the epoch (tests fix it).
    """

    capabilities = frozenset({Capability.FULL_TEXT_SEARCH})

    async def close(self) -> None:
        """Give every writer lease up and close the pool."""
        await self.claims.close()
        await self.db.close()

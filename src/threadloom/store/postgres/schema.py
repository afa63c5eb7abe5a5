"""The PostgreSQL schema: numbered migrations, recorded in a version table, applied in order.

Every table lives in one PostgreSQL schema (``threadloom`` unless told otherwise). ``upgrade``
brings it to the newest version in one transaction, under an advisory lock, so concurrent
upgrades (several processes starting at once) apply each migration exactly once. A store runs
it on first use; ``threadloom db upgrade URL`` runs it ahead of time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from threadloom.errors import CorruptData
from threadloom.store.postgres.resummarize import fold_thread_settings

DEFAULT_SCHEMA = "threadloom"
VERSION_TABLE = "schema_version"


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its number, what it does, and its statements."""

    version: int
    description: str
    statements: tuple[str, ...]
    backfill: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]] | None = None
    """Run after the statements, in the same transaction: data SQL alone cannot derive."""


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """What an upgrade did: the version before, the version after, the versions applied."""

    schema: str
    before: int
    after: int
    applied: tuple[int, ...]


_V1 = (
    # One row per stored thread. ``key`` is the internal handle the other tables use; the
    # owner and the thread id are what callers name. ``meta`` is the first session_meta
    # payload (JSON, written once); ``state`` the rest of the listing summary (msgpack of
    # SummaryState without its meta payload), so an append rewrites only the small part.
    """
    CREATE TABLE threads (
        key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        owner text NOT NULL,
        thread_id text COLLATE "C" NOT NULL,
        history_mode text NOT NULL,
        meta bytea NOT NULL,
        state bytea NOT NULL,
        text_state bytea NOT NULL,
        text_index bigint NOT NULL DEFAULT 0,
        next_seq bigint NOT NULL DEFAULT 0,
        next_ordinal bigint,
        preview text,
        title_name text,
        cwd text NOT NULL,
        provider text,
        source_kind text NOT NULL,
        interactive boolean NOT NULL,
        agent_path text,
        created_ms bigint NOT NULL,
        created_s bigint NOT NULL,
        updated_ms bigint NOT NULL,
        recency_ms bigint NOT NULL,
        archived boolean NOT NULL DEFAULT false,
        archived_at_ms bigint,
        named boolean NOT NULL DEFAULT false,
        read_name bytea,
        list_name bytea,
        list_name_text text,
        find_name text,
        name_seq bigint,
        overridden boolean NOT NULL DEFAULT false,
        override_git bytea,
        override_memory text,
        UNIQUE (owner, thread_id)
    )
    """,
    # Listing: one index per sort key (the scan path's created_at counts whole seconds), each
    # led by the equality filters every listing has, holding only listable threads.
    "CREATE INDEX threads_by_created ON threads (owner, archived, created_ms, thread_id)"
    " WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_created_s ON threads (owner, archived, created_s, thread_id)"
    " WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_updated ON threads (owner, archived, updated_ms, thread_id)"
    " WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_recency ON threads (owner, archived, recency_ms, thread_id)"
    " WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_cwd ON threads (owner, cwd, created_ms) WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_name ON threads (owner, find_name, name_seq)"
    " WHERE find_name IS NOT NULL",
    "CREATE SEQUENCE name_seq",
    # Every rollout line exactly as written (the bytes of its JSONL line, no newline).
    """
    CREATE TABLE items (
        thread_key bigint NOT NULL REFERENCES threads (key) ON DELETE CASCADE,
        seq bigint NOT NULL,
        line bytea NOT NULL,
        PRIMARY KEY (thread_key, seq)
    )
    """,
    # What threads say, for full-text search: the words (folded as search_rank folds them)
    # in a tsvector with a GIN index; the body gives snippets.
    """
    CREATE TABLE texts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        thread_key bigint NOT NULL REFERENCES threads (key) ON DELETE CASCADE,
        role text NOT NULL,
        turn_id text,
        body text NOT NULL,
        words tsvector NOT NULL
    )
    """,
    "CREATE INDEX texts_words ON texts USING gin (words)",
    "CREATE INDEX texts_thread ON texts (thread_key)",
    # Batches applied under an idempotency key (a retried batch is applied once).
    """
    CREATE TABLE append_keys (
        thread_key bigint NOT NULL REFERENCES threads (key) ON DELETE CASCADE,
        key text NOT NULL,
        first_seq bigint NOT NULL,
        count integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (thread_key, key)
    )
    """,
    # The live writer of each thread (created threads included, before they are stored): a
    # lease its holder renews; an expired lease may be taken over.
    """
    CREATE TABLE writers (
        owner text NOT NULL,
        thread_id text COLLATE "C" NOT NULL,
        holder uuid NOT NULL,
        session uuid NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (owner, thread_id)
    )
    """,
    "CREATE INDEX writers_session ON writers (session)",
    """
    CREATE TABLE spawn_edges (
        owner text NOT NULL,
        child_thread_id text COLLATE "C" NOT NULL,
        parent_thread_id text COLLATE "C" NOT NULL,
        status text NOT NULL,
        PRIMARY KEY (owner, child_thread_id)
    )
    """,
    "CREATE INDEX spawn_edges_parent ON spawn_edges (owner, parent_thread_id)",
)

_V2 = (
    # Threads copied from a CODEX_HOME (``threadloom migrate``) keep what makes their file
    # come back byte for byte: its path inside the home, its mtime, whether its last line was
    # torn (no newline), and a digest of the source a re-run compares to copy only changes.
    "ALTER TABLE threads ADD COLUMN file_path text",
    "ALTER TABLE threads ADD COLUMN file_mtime_ns bigint",
    "ALTER TABLE threads ADD COLUMN torn_tail boolean NOT NULL DEFAULT false",
    "ALTER TABLE threads ADD COLUMN source_digest bytea",
    # Lines a reader skips (blank, malformed, a torn last line) are kept for the file's sake.
    "ALTER TABLE items ADD COLUMN bad boolean NOT NULL DEFAULT false",
    # Every name entry as ``session_index.jsonl`` holds it (the exact line), in the order
    # given by ``name_seq``: renames append one, a copied home brings its own.
    """
    CREATE TABLE name_entries (
        thread_key bigint NOT NULL REFERENCES threads (key) ON DELETE CASCADE,
        seq bigint NOT NULL,
        line bytea NOT NULL,
        PRIMARY KEY (thread_key, seq)
    )
    """,
    "CREATE INDEX name_entries_seq ON name_entries (seq)",
)

TRIGRAM_INDEXES = ("threads_preview_trgm", "threads_listed_name_trgm")
"""The trigram indexes of listing's search term (absent when the server lacks pg_trgm)."""

LISTED_NAME = "coalesce(list_name_text, title_name, '')"
"""The name a listing's search term matches (the expression its trigram index holds)."""

_V3 = (
    # A cwd filter walks an index of its own, in either precision of created_at.
    "DROP INDEX threads_by_cwd",
    "CREATE INDEX threads_by_cwd ON threads (owner, archived, cwd, created_ms, thread_id)"
    " WHERE preview IS NOT NULL",
    "CREATE INDEX threads_by_cwd_s ON threads (owner, archived, cwd, created_s, thread_id)"
    " WHERE preview IS NOT NULL",
    # A listing's search term (a substring of the preview or the listed name) is found
    # through trigram indexes, when the server has pg_trgm (installed in ``public`` unless it
    # is installed already, wherever it is); without it the search scans. Every append
    # rewrites its thread's row, so their pending lists (which every search reads through)
    # are kept short.
    f"""
    DO $$
    DECLARE
        ops text;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            BEGIN
                CREATE EXTENSION pg_trgm SCHEMA public;
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE 'pg_trgm unavailable (%): listing search terms scan', SQLERRM;
            END;
        END IF;
        SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO ops FROM pg_extension e
            JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
        IF ops IS NOT NULL THEN
            EXECUTE format('CREATE INDEX {TRIGRAM_INDEXES[0]} ON threads USING gin'
                ' (preview %s) WITH (gin_pending_list_limit = 256)'
                ' WHERE preview IS NOT NULL', ops);
            EXECUTE format('CREATE INDEX {TRIGRAM_INDEXES[1]} ON threads USING gin'
                ' (({LISTED_NAME.replace("'", "''")}) %s) WITH (gin_pending_list_limit = 256)'
                ' WHERE preview IS NOT NULL', ops);
        END IF;
    END
    $$
    """,
    # A search term's LIKE is estimated from the preview's histogram: a finer one tells a
    # common term (walk the sort index) from a rare one (find its few rows first).
    "ALTER TABLE threads ALTER COLUMN preview SET STATISTICS 1000",
    "ANALYZE threads",
    # What every append writes (lines, message bodies, the summary) is compressed with lz4
    # when the server has it (much faster than pglz, for reading and writing alike); values
    # stored before keep their compression (a server before PostgreSQL 14 has no choice).
    """
    DO $$
    BEGIN
        EXECUTE 'ALTER TABLE items ALTER COLUMN line SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE texts ALTER COLUMN body SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE threads ALTER COLUMN state SET COMPRESSION lz4';
    EXCEPTION WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 unavailable: values stay compressed with pglz';
    END
    $$
    """,
)

_V5 = (
    # Lines and texts are the bulk of every append: their foreign keys (a lookup of the
    # thread per stored row) cost about a fifth of an append's server time. Every writer
    # writes them under its thread's row, so they go; a thread's lines and texts still go
    # with it, deleted (or truncated) with its rows by the statement that removes them.
    # (Safe to apply again, as a test that ages a schema does.)
    "ALTER TABLE items DROP CONSTRAINT IF EXISTS items_thread_key_fkey",
    "ALTER TABLE texts DROP CONSTRAINT IF EXISTS texts_thread_key_fkey",
    """
    CREATE OR REPLACE FUNCTION threads_deleted() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        DELETE FROM items WHERE thread_key IN (SELECT key FROM gone);
        DELETE FROM texts WHERE thread_key IN (SELECT key FROM gone);
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS threads_deleted ON threads",
    "CREATE TRIGGER threads_deleted AFTER DELETE ON threads REFERENCING OLD TABLE AS gone"
    " FOR EACH STATEMENT EXECUTE FUNCTION threads_deleted()",
    """
    CREATE OR REPLACE FUNCTION threads_truncated() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        TRUNCATE items, texts;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS threads_truncated ON threads",
    "CREATE TRIGGER threads_truncated AFTER TRUNCATE ON threads"
    " FOR EACH STATEMENT EXECUTE FUNCTION threads_truncated()",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "threads, items, search texts, writers, idempotency keys, spawn edges", _V1),
    Migration(2, "copied files (path, mtime, torn tail, digest), skipped lines, name entries", _V2),
    Migration(3, "listing indexes (cwd, search-term trigrams), lz4 line compression", _V3),
    Migration(4, "summaries follow recorded thread settings", (), fold_thread_settings),
    Migration(5, "lines and texts without foreign keys, deleted with their thread", _V5),
)
LATEST = MIGRATIONS[-1].version


def lock_key(schema: str) -> int:
    """The advisory lock serializing upgrades of one schema (a stable signed 64-bit key)."""
    digest = hashlib.blake2b(f"threadloom.schema:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def current_version(conn: psycopg.AsyncConnection[Any], schema: str) -> int:
    """The schema's version (0: no version table yet)."""
    cur = await conn.execute(
        "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL",
        (schema, VERSION_TABLE),
    )
    row = await cur.fetchone()
    if row is None or not row[0]:
        return 0
    query = sql.SQL("SELECT coalesce(max(version), 0) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(VERSION_TABLE)
    )
    cur = await conn.execute(query)
    row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def has_trigram_indexes(conn: psycopg.AsyncConnection[Any], schema: str) -> bool:
    """Does the schema hold listing's trigram indexes (the server had pg_trgm)?"""
    cur = await conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = ANY(%s)",
        (schema, list(TRIGRAM_INDEXES)),
    )
    row = await cur.fetchone()
    return row is not None and row[0] == len(TRIGRAM_INDEXES)


def _check_known(schema: str, version: int, latest: int) -> None:
    if version > latest:
        raise CorruptData(
            f"database schema {schema} is at version {version}, newer than this threadloom"
            f" knows ({latest}): upgrade threadloom"
        )


async def upgrade_connection(
    conn: psycopg.AsyncConnection[Any],
    schema: str = DEFAULT_SCHEMA,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> UpgradeResult:
    """Apply every migration newer than the schema's version, in one transaction.

    ``conn`` must be in autocommit mode (it is left so). Raises CorruptData when the
    database is newer than ``migrations``.
    """
    ordered = sorted(migrations, key=lambda m: m.version)
    latest = ordered[-1].version if ordered else 0
    before = await current_version(conn, schema)
    _check_known(schema, before, latest)
    if before == latest:
        return UpgradeResult(schema, before, before, ())
    ident = sql.Identifier(schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY,"
                " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(VERSION_TABLE))
        )
        # read again under the lock: another process may have upgraded meanwhile
        before = await current_version(conn, schema)
        _check_known(schema, before, latest)
        applied: list[int] = []
        for migration in ordered:
            if migration.version <= before:
                continue
            for statement in migration.statements:
                await conn.execute(statement.encode())
            if migration.backfill is not None:
                await migration.backfill(conn)
            await conn.execute(
                sql.SQL("INSERT INTO {} (version, description) VALUES (%s, %s)").format(
                    sql.Identifier(VERSION_TABLE)
                ),
                (migration.version, migration.description),
            )
            applied.append(migration.version)
    return UpgradeResult(schema, before, latest, tuple(applied))


async def upgrade(
    url: str, schema: str = DEFAULT_SCHEMA, migrations: Sequence[Migration] = MIGRATIONS
) -> UpgradeResult:
    """Bring the schema of the database at ``url`` to the newest version."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await upgrade_connection(conn, schema, migrations)

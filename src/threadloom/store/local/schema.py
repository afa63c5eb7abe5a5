"""The SQLite schema of threadloom's own index, created and upgraded by numbered migrations.

The index is a cache of the rollout files: delete it at any time and it is rebuilt.
``PRAGMA user_version`` records the last migration applied.
"""

from __future__ import annotations

import sqlite3
import time

MIGRATIONS: tuple[str, ...] = (
    # 1: files, names, full-text search, spawn edges
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        thread_id TEXT,
        file_uuid TEXT NOT NULL,
        archived INTEGER NOT NULL,
        name_s INTEGER NOT NULL,
        generation TEXT,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        scan_offset INTEGER NOT NULL,
        state BLOB NOT NULL,
        texts_offset INTEGER NOT NULL DEFAULT 0,
        text_state BLOB,
        valid INTEGER NOT NULL,
        meta_error TEXT,
        current INTEGER NOT NULL DEFAULT 1,
        preview TEXT,
        title_name TEXT,
        created_ms INTEGER,
        updated_ms INTEGER NOT NULL,
        recency_ms INTEGER NOT NULL,
        provider TEXT,
        source TEXT,
        source_kind TEXT,
        interactive INTEGER,
        cwd TEXT
    );
    CREATE INDEX files_thread ON files(thread_id);
    CREATE INDEX files_stat ON files(path, size, mtime_ns, inode, scan_offset);
    CREATE INDEX files_uuid ON files(file_uuid);
    CREATE INDEX files_list_scan ON files(archived, name_s, file_uuid)
        WHERE valid = 1 AND current = 1 AND preview IS NOT NULL;
    CREATE INDEX files_list_created ON files(archived, created_ms, thread_id)
        WHERE valid = 1 AND current = 1 AND preview IS NOT NULL;
    CREATE INDEX files_list_updated ON files(archived, updated_ms, thread_id)
        WHERE valid = 1 AND current = 1 AND preview IS NOT NULL;
    CREATE INDEX files_list_recency ON files(archived, recency_ms, thread_id)
        WHERE valid = 1 AND current = 1 AND preview IS NOT NULL;
    CREATE TABLE names (
        thread_id TEXT PRIMARY KEY,
        read_name TEXT,
        list_name TEXT,
        find_name TEXT,
        seq INTEGER NOT NULL
    );
    CREATE INDEX names_find ON names(find_name);
    CREATE TABLE sources (
        key TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        offset INTEGER NOT NULL
    );
    CREATE TABLE texts (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        turn_id TEXT,
        role TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX texts_path ON texts(path);
    CREATE VIRTUAL TABLE texts_fts USING fts5(
        body, content='texts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER texts_ai AFTER INSERT ON texts BEGIN
        INSERT INTO texts_fts(rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TRIGGER texts_ad AFTER DELETE ON texts BEGIN
        INSERT INTO texts_fts(texts_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    CREATE TABLE spawn_edges (
        parent_thread_id TEXT NOT NULL,
        child_thread_id TEXT PRIMARY KEY,
        status TEXT NOT NULL
    );
    CREATE INDEX spawn_edges_parent ON spawn_edges(parent_thread_id);
    """,
    # 2: metadata of paginated threads, which Codex keeps outside the rollout
    """
    CREATE TABLE overrides (
        thread_id TEXT PRIMARY KEY,
        git TEXT,
        memory_mode TEXT
    );
    """,
    # 3: summaries follow thread settings and turn starts: every file is scanned again (its
    # cached summary and texts are dropped; names, overrides and spawn edges stay)
    """
    DROP TRIGGER texts_ad;
    DELETE FROM texts;
    INSERT INTO texts_fts(texts_fts) VALUES ('delete-all');
    CREATE TRIGGER texts_ad AFTER DELETE ON texts BEGIN
        INSERT INTO texts_fts(texts_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    DELETE FROM files;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str) -> sqlite3.Connection:
    """Open the index (WAL, busy timeout) and bring its schema up to date."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    _enable_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    migrate(conn)
    return conn


def _enable_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Switch to WAL. Another process doing the same on a new file makes SQLite answer
    "database is locked" at once (no busy wait for this pragma), so retry until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's ``user_version``, each atomically."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"index schema {version} is newer than this threadloom ({SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current == version:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]


def _statements(script: str) -> list[str]:
    out: list[str] = []
    buf = ""
    for piece in script.split(";"):
        buf += piece
        if sqlite3.complete_statement(buf + ";"):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
        else:
            buf += ";"
    return out

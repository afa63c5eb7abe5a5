"""Keeping Codex's own ``state_5.sqlite`` consistent after threadloom moves or renames files.

threadloom never creates Codex's databases (their migrations are checksummed); when one
exists, the rows of a thread threadloom changed are updated or deleted so Codex does not
answer from a stale row (rollout-format 17, 19). Deleting a row is always safe: Codex
rediscovers the file and repairs it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from threadloom.protocol.paths import HISTORY_DB, STATE_DB
from threadloom.protocol.rollout import GitInfo


@contextlib.contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection | None]:
    if not path.exists():
        yield None
        return
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def moved(home: Path, thread_id: str, new_path: Path, *, archived: bool) -> None:
    """A thread's rollout moved (archive/unarchive): point Codex's row at the new file.

    The update time follows the file (unarchiving touches it); ``recency_at`` stays, as
    with Codex's own archive and unarchive.
    """
    now = int(time.time())
    mtime_ms = new_path.stat().st_mtime_ns // 1_000_000
    with _open(home / STATE_DB) as conn:
        if conn is None or not _has_table(conn, "threads"):
            return
        conn.execute(
            "UPDATE threads SET rollout_path = ?, archived = ?, archived_at = ? WHERE id = ?",
            (str(new_path), int(archived), now if archived else None, thread_id),
        )
        try:
            conn.execute(
                "UPDATE threads SET updated_at = ?, updated_at_ms = ? WHERE id = ?",
                (mtime_ms // 1000, mtime_ms, thread_id),
            )
        except sqlite3.OperationalError:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))


def forget(home: Path, thread_id: str) -> None:
    """A thread was deleted or rewritten: drop Codex's rows so it rediscovers the truth."""
    with _open(home / STATE_DB) as conn:
        if conn is not None and _has_table(conn, "threads"):
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
            if _has_table(conn, "thread_spawn_edges"):
                conn.execute(
                    "DELETE FROM thread_spawn_edges WHERE child_thread_id = ?", (thread_id,)
                )
    with _open(home / HISTORY_DB) as conn:
        if conn is None:
            return
        for table in ("thread_history_projection_state", "thread_turns", "thread_items"):
            if _has_table(conn, table):
                conn.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))


def renamed(home: Path, thread_id: str, name: str, *, paginated: bool) -> None:
    """A rename: legacy threads keep it in ``title``, paginated ones in ``name``."""
    column = "name" if paginated else "title"
    with _open(home / STATE_DB) as conn:
        if conn is None or not _has_table(conn, "threads"):
            return
        conn.execute(f"UPDATE threads SET {column} = ? WHERE id = ?", (name, thread_id))


def metadata_changed(
    home: Path, thread_id: str, git: GitInfo | None, memory_mode: str, rollout: Path
) -> None:
    """Legacy metadata was appended to the rollout: update Codex's row as Codex itself does.

    Git members, memory mode and the update time (the file's new mtime) change; the row's
    ``recency_at`` stays, since a metadata update is no activity (observed: Codex keeps it
    after its own ``thread/metadata/update``). An unknown schema: the row is dropped instead
    and Codex re-derives it from the file.
    """
    git = git or GitInfo()
    try:
        mtime_ms = rollout.stat().st_mtime_ns // 1_000_000
    except FileNotFoundError:  # a started paginated thread: no file yet (rollout-format 12.1)
        mtime_ms = time.time_ns() // 1_000_000
    with _open(home / STATE_DB) as conn:
        if conn is None or not _has_table(conn, "threads"):
            return
        try:
            conn.execute(
                "UPDATE threads SET git_sha = ?, git_branch = ?, git_origin_url = ?,"
                " memory_mode = ?, updated_at = ?, updated_at_ms = ? WHERE id = ?",
                (
                    git.commit_hash,
                    git.branch,
                    git.repository_url,
                    memory_mode,
                    mtime_ms // 1000,
                    mtime_ms,
                    thread_id,
                ),
            )
        except sqlite3.OperationalError:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))


def forget_row_only(home: Path, thread_id: str) -> None:
    with _open(home / STATE_DB) as conn:
        if conn is not None and _has_table(conn, "threads"):
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))

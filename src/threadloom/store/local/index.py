"""threadloom's own SQLite index of a CODEX_HOME: refreshed incrementally from the files.

A refresh notices new, grown, moved and deleted rollouts by their stat data; a grown file is
read only from where the last scan stopped, an unchanged one not at all. Names come from
``session_index.jsonl``, read from the last offset while the file only grows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from threadloom.protocol.codec import parse_timestamp_ms
from threadloom.protocol.paths import parse_rollout_name
from threadloom.protocol.rollout import SessionMeta
from threadloom.protocol.summary import SummaryState
from threadloom.store.local import schema
from threadloom.store.local.jobs import ScanJob, TextJob, run_jobs, scan_job, text_job
from threadloom.store.local.layout import CodexHome, RolloutFile
from threadloom.store.local.locks import flocked
from threadloom.store.local.names import NameTable
from threadloom.store.records import IndexStats

METADATA_FILE = "thread_metadata.jsonl"
"""Metadata threadloom keeps outside rollouts (paginated threads), in the index folder."""

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)`` during long refreshes."""

_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SummaryState)
_COMMIT_EVERY = 256


class _StatLike(Protocol):
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ino(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Stat:
    st_size: int
    st_mtime_ns: int
    st_ino: int


@dataclass(slots=True)
class FileRow:
    """One indexed rollout file."""

    path: str
    thread_id: str | None
    archived: bool
    size: int
    mtime_ns: int
    inode: int
    state: SummaryState
    read_name: str | None = None
    """The last ``session_index.jsonl`` entry as written (None when blank)."""
    list_name: str | None = None
    """The last non-blank entry, trimmed."""
    named: bool = False
    """Whether ``session_index.jsonl`` has any entry for the thread."""
    file_uuid: str = ""
    """The (last) uuid of the file name."""
    name_seconds: int = 0
    """The file name's timestamp read as UTC (Codex's file scan orders by it)."""
    recency_ms: int | None = None
    """When the thread last saw activity: the file's mtime, except that appended metadata
    updates leave it (and a moved file keeps it). None: use the mtime."""

    @property
    def meta(self) -> SessionMeta | None:
        return self.state.meta()


class Index:
    """The index database of one home; methods are thread-safe (one lock per process)."""

    def __init__(self, home: CodexHome) -> None:
        self.home = home
        home.index_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = schema.connect(str(home.index_db))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # --- refresh --------------------------------------------------------------------------
    def refresh(self, progress: ProgressFn | None = None) -> IndexStats:
        """Bring the index in line with every rollout file and the session index."""
        with self.lock:
            self._refresh_names()
            self._refresh_overrides()
            self._refresh_codex_state()
            found = {rf.path: rf for rf in self.home.iter_all()}
            return self._refresh_files(found, progress, full_walk=True)

    def refresh_paths(self, paths: Iterable[Path]) -> IndexStats:
        """Re-check only these files (each may have appeared, changed or disappeared)."""
        with self.lock:
            self._refresh_names()
            self._refresh_overrides()
            self._refresh_codex_state()
            found: dict[str, RolloutFile] = {}
            checked: list[str] = []
            for path in paths:
                checked.append(str(path))
                rf = _rollout_file(self.home, path)
                if rf is not None:
                    found[str(path)] = rf
            return self._refresh_files(found, None, full_walk=False, only=checked)

    def refresh_names(self) -> None:
        """Re-read the session index and threadloom's own metadata file if they changed."""
        with self.lock:
            self._refresh_names()
            self._refresh_overrides()
            self._refresh_codex_state()

    def _refresh_files(
        self,
        found: dict[str, RolloutFile],
        progress: ProgressFn | None,
        *,
        full_walk: bool,
        only: list[str] | None = None,
    ) -> IndexStats:
        conn = self.conn
        if only is None:
            rows = conn.execute(
                "SELECT path, size, mtime_ns, inode, scan_offset FROM files"
            ).fetchall()
        else:
            rows = []
            for path in only:
                rows += conn.execute(
                    "SELECT path, size, mtime_ns, inode, scan_offset FROM files WHERE path = ?",
                    (path,),
                ).fetchall()
        known = {r[0]: r for r in rows}
        stats: dict[str, os.stat_result] = {}
        for path in found:
            try:
                stats[path] = os.stat(path)
            except FileNotFoundError:
                continue
        gone = [p for p in known if p not in stats]
        jobs: list[ScanJob] = []
        for path, st in stats.items():
            row = known.get(path)
            if row is not None and tuple(row[1:4]) == (st.st_size, st.st_mtime_ns, st.st_ino):
                continue
            compressed = found[path].name.compressed
            grown = (
                row is not None
                and not compressed
                and row[3] == st.st_ino
                and st.st_size >= row[1]
                and row[4] <= st.st_size
            )
            if grown and row is not None:
                state = conn.execute("SELECT state FROM files WHERE path = ?", (path,)).fetchone()
                jobs.append((path, compressed, row[4], state[0]))
            else:
                jobs.append((path, compressed, 0, None))
        touched_ids: set[str] = set()
        bytes_read = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            moved: dict[str, tuple[int, Any]] = {}
            for path in gone:
                row = conn.execute(
                    "SELECT thread_id, recency_ms, state FROM files WHERE path = ?", (path,)
                ).fetchone()
                if row and row[0]:
                    touched_ids.add(row[0])
                    moved[row[0]] = (row[1], _state_decoder.decode(row[2]).activity_mark())
                conn.execute("DELETE FROM files WHERE path = ?", (path,))
                conn.execute("DELETE FROM texts WHERE path = ?", (path,))
            for (path, _, start, _), (offset, blob) in run_jobs(scan_job, jobs, progress):
                if offset < 0:
                    continue
                bytes_read += offset - start
                thread_id = self._upsert(
                    found[path], stats[path], offset, blob, resumed=start > 0, moved=moved
                )
                if thread_id:
                    touched_ids.add(thread_id)
            self._recompute_current(touched_ids)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        total = conn.execute("SELECT count(*) FROM files WHERE valid = 1").fetchone()[0]
        return IndexStats(
            files_seen=len(stats),
            files_read=len(jobs),
            bytes_read=bytes_read,
            threads=total,
            removed=len(gone),
        )

    def note_written(
        self, path: Path, size: int, mtime_ns: int, inode: int, state_blob: bytes
    ) -> None:
        """Record a file this process wrote, from the writer's own state: no re-reading."""
        rf = _rollout_file(self.home, path)
        if rf is None:
            return
        with self.lock:
            fake = _Stat(st_size=size, st_mtime_ns=mtime_ns, st_ino=inode)
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                thread_id = self._upsert(rf, fake, size, state_blob, resumed=True, moved={})
                if thread_id:
                    self._recompute_current({thread_id})
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def refresh_texts(self, progress: ProgressFn | None = None) -> int:
        """Extract search texts from every file scanned further than its texts; return count."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT path, texts_offset, text_state, thread_id FROM files"
                " WHERE valid = 1 AND texts_offset < scan_offset"
            ).fetchall()
            jobs: list[TextJob] = [
                (path, path.endswith(".zst"), offset, blob) for path, offset, blob, _ in rows
            ]
            owners = {path: thread_id for path, _, _, thread_id in rows}
            count = 0
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for (path, _, offset, _), (end, blob, texts, restarted) in run_jobs(
                    text_job, jobs, progress
                ):
                    if end < 0:
                        continue
                    if restarted or offset == 0:
                        self.conn.execute("DELETE FROM texts WHERE path = ?", (path,))
                    self.conn.executemany(
                        "INSERT INTO texts(path, thread_id, turn_id, role, body)"
                        " VALUES (?, ?, ?, ?, ?)",
                        [(path, owners[path], t.turn_id, t.role, t.text) for t in texts],
                    )
                    self.conn.execute(
                        "UPDATE files SET texts_offset = ?, text_state = ? WHERE path = ?",
                        (end, blob, path),
                    )
                    count += len(texts)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            return count

    def _upsert(
        self,
        rf: RolloutFile,
        st: _StatLike,
        offset: int,
        blob: bytes,
        *,
        resumed: bool,
        moved: dict[str, tuple[int, Any]],
    ) -> str | None:
        """Write the row of one scanned file.

        ``recency_ms`` (Codex's ``recencyAt``) follows the file's mtime only when the file
        shows new activity (``SummaryState.activity_mark``): a file that changed without any
        (metadata updates or recorded settings appended, injected items, touched, or moved:
        archive, unarchive) keeps the recency of its previous row, at
        this path or, by thread id, in ``moved`` (rows of files that disappeared: recency,
        activity).
        """
        state = self.with_override(_state_decoder.decode(blob))
        blob = _state_encoder.encode(state)
        thread_id = state.thread_id.lower() if state.thread_id and not state.invalid else None
        meta = None
        if thread_id is not None:
            try:
                meta = state.meta()
            except ValueError:
                meta = None
        if meta is None:
            thread_id = None
        created_ms = _created_ms(meta)
        path = rf.path
        texts_offset, text_state = 0, None
        mtime_ms = st.st_mtime_ns // 1_000_000
        recency_ms = mtime_ms
        prev = self.conn.execute(
            "SELECT texts_offset, text_state, recency_ms, state FROM files WHERE path = ?",
            (path,),
        ).fetchone()
        before = (prev[2], _state_decoder.decode(prev[3]).activity_mark()) if prev else None
        if before is None and thread_id is not None:
            before = moved.get(thread_id)
        if before is not None and before[1] == state.activity_mark():
            recency_ms = before[0]
        if resumed:
            if prev is not None:
                texts_offset, text_state = prev[0], prev[1]
        else:
            self.conn.execute("DELETE FROM texts WHERE path = ?", (path,))
        self.conn.execute(
            "INSERT OR REPLACE INTO files(path, thread_id, file_uuid, archived, name_s, generation,"
            " size, mtime_ns, inode, scan_offset, state, texts_offset, text_state, valid,"
            " meta_error, preview, title_name, created_ms, updated_ms, recency_ms, provider,"
            " source, source_kind, interactive, cwd)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                path,
                thread_id,
                rf.name.file_uuid,
                int(rf.archived),
                rf.name.sort_seconds,
                rf.name.generation,
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
                offset,
                blob,
                texts_offset,
                text_state,
                int(meta is not None),
                state.meta_error,
                state.preview or None,
                state.distinct_title(),
                created_ms,
                mtime_ms,
                recency_ms,
                (meta.model_provider or None) if meta else None,
                meta.source.db_text() if meta else None,
                meta.source.kind if meta else None,
                int(meta.source.is_interactive) if meta else 0,
                _cwd(meta, state),
            ),
        )
        return thread_id

    def set_override(self, thread_id: str, git: dict[str, Any] | None, memory_mode: str) -> None:
        """Record metadata kept outside the rollout (paginated threads) and apply it now.

        The record is appended to ``threadloom/thread_metadata.jsonl`` (the durable source,
        under its own flock); the index only caches it, so deleting the index loses nothing.
        """
        entry = {"id": thread_id, "git": git, "memory_mode": memory_mode}
        path = self.home.index_dir / METADATA_FILE
        with flocked(path.with_suffix(".lock")), open(path, "ab") as f:
            f.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with self.lock:
            self._refresh_overrides()
            self._refresh_codex_state()

    def _refresh_overrides(self) -> None:
        """Load ``thread_metadata.jsonl`` into the cache when it changed (it stays small)."""
        path = self.home.index_dir / METADATA_FILE
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        row = self.conn.execute(
            "SELECT size, mtime_ns, inode FROM sources WHERE key = 'thread_metadata'"
        ).fetchone()
        if row is not None and tuple(row) == (st.st_size, st.st_mtime_ns, st.st_ino):
            return
        latest: dict[str, tuple[str | None, str]] = {}
        for raw in path.read_bytes().splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                git = entry.get("git")
                latest[entry["id"]] = (
                    None if git is None else json.dumps(git),
                    str(entry.get("memory_mode") or "enabled"),
                )
        if latest or row is not None:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(
                    "INSERT OR REPLACE INTO sources(key, size, mtime_ns, inode, offset)"
                    " VALUES ('thread_metadata', ?, ?, ?, ?)",
                    (st.st_size, st.st_mtime_ns, st.st_ino, st.st_size),
                )
                for thread_id, (git_json, mode) in latest.items():
                    self.conn.execute(
                        "INSERT OR REPLACE INTO overrides(thread_id, git, memory_mode)"
                        " VALUES (?, ?, ?)",
                        (thread_id, git_json, mode),
                    )
                self._apply_overrides(list(latest))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _apply_overrides(self, thread_ids: list[str]) -> None:
        """Re-apply cached overrides to the stored summaries of these threads."""
        for start in range(0, len(thread_ids), 500):
            chunk = thread_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT path, state FROM files WHERE thread_id IN ({marks})", chunk
            ).fetchall()
            for path, blob in rows:
                state = self.with_override(_state_decoder.decode(blob))
                self.conn.execute(
                    "UPDATE files SET state = ? WHERE path = ?",
                    (_state_encoder.encode(state), path),
                )

    def _refresh_codex_state(self) -> None:
        """Read paginated threads' git and memory mode from Codex's database (read-only).

        Codex keeps them nowhere else (rollout-format 11.2); threadloom mirrors its own changes
        into that database, so when it exists its rows are the truth for paginated threads.
        """
        main = self.home.state_db
        try:
            st = os.stat(main)
        except FileNotFoundError:
            return
        try:
            wal = os.stat(str(main) + "-wal")
            signature = (st.st_size + wal.st_size, max(st.st_mtime_ns, wal.st_mtime_ns))
        except FileNotFoundError:
            signature = (st.st_size, st.st_mtime_ns)
        row = self.conn.execute(
            "SELECT size, mtime_ns, inode FROM sources WHERE key = 'codex_state'"
        ).fetchone()
        if row is not None and tuple(row) == (*signature, st.st_ino):
            return
        try:
            codex = sqlite3.connect(f"file:{main}?mode=ro", uri=True, timeout=5.0)
            try:
                found = codex.execute(
                    "SELECT id, git_sha, git_branch, git_origin_url, memory_mode FROM threads"
                    " WHERE history_mode = 'paginated'"
                ).fetchall()
            finally:
                codex.close()
        except sqlite3.Error:
            return  # busy, foreign or older schema: keep what is known
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            ids: list[str] = []
            for thread_id, sha, branch, origin, mode in found:
                git = {
                    k: v
                    for k, v in (
                        ("commit_hash", sha),
                        ("branch", branch),
                        ("repository_url", origin),
                    )
                    if v is not None
                }
                self.conn.execute(
                    "INSERT OR REPLACE INTO overrides(thread_id, git, memory_mode)"
                    " VALUES (?, ?, ?)",
                    (str(thread_id).lower(), json.dumps(git) if git else None, mode or "enabled"),
                )
                ids.append(str(thread_id).lower())
            self._apply_overrides(ids)
            self.conn.execute(
                "INSERT OR REPLACE INTO sources(key, size, mtime_ns, inode, offset)"
                " VALUES ('codex_state', ?, ?, ?, 0)",
                (*signature, st.st_ino),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def with_override(self, state: SummaryState) -> SummaryState:
        """``state`` with the metadata kept outside its rollout laid over it."""
        thread_id = state.thread_id
        if thread_id is None:
            return state
        row = self.conn.execute(
            "SELECT git, memory_mode FROM overrides WHERE thread_id = ?", (thread_id.lower(),)
        ).fetchone()
        if row is None:
            return state
        git = None if row[0] is None else json.loads(row[0])
        state.git = git
        state.first_git = git
        state.memory_mode = row[1]
        return state

    def _recompute_current(self, thread_ids: set[str]) -> None:
        """Among several files of one thread, only the newest is the thread's current file."""
        for thread_id in thread_ids:
            rows = self.conn.execute(
                "SELECT path FROM files WHERE thread_id = ? AND valid = 1"
                " ORDER BY archived ASC, name_s DESC, generation IS NULL ASC, generation DESC,"
                " path DESC",
                (thread_id,),
            ).fetchall()
            for n, (path,) in enumerate(rows):
                self.conn.execute(
                    "UPDATE files SET current = ? WHERE path = ?", (int(n == 0), path)
                )

    def _refresh_names(self) -> None:
        path = self.home.session_index
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        row = self.conn.execute(
            "SELECT size, mtime_ns, inode, offset FROM sources WHERE key = 'session_index'"
        ).fetchone()
        if st is None:
            if row is not None:
                self.conn.execute("DELETE FROM names")
                self.conn.execute("DELETE FROM sources WHERE key = 'session_index'")
            return
        if row is not None and row[:3] == (st.st_size, st.st_mtime_ns, st.st_ino):
            return
        grown = row is not None and row[2] == st.st_ino and st.st_size >= row[0]
        start = row[3] if grown and row is not None else 0
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if not grown:
                self.conn.execute("DELETE FROM names")
            seq = self.conn.execute("SELECT coalesce(max(seq), 0) FROM names").fetchone()[0]
            consumed = _apply_names(self.conn, data, seq)
            self.conn.execute(
                "INSERT OR REPLACE INTO sources(key, size, mtime_ns, inode, offset)"
                " VALUES ('session_index', ?, ?, ?, ?)",
                (st.st_size, st.st_mtime_ns, st.st_ino, start + consumed),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # --- lookups --------------------------------------------------------------------------
    def find(self, thread_id: str, *, include_archived: bool = True) -> FileRow | None:
        """The current file of a thread (by session_meta id, else by file-name uuid)."""
        with self.lock:
            sql = (
                f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n"
                " ON n.thread_id = f.thread_id WHERE {} AND f.valid = 1"
                " ORDER BY f.current DESC, f.archived ASC LIMIT 1"
            )
            if not include_archived:
                sql = sql.replace("{} AND", "{} AND f.archived = 0 AND")
            row = self.conn.execute(sql.format("f.thread_id = ?"), (thread_id,)).fetchone()
            if row is None:
                row = self.conn.execute(sql.format("f.file_uuid = ?"), (thread_id,)).fetchone()
            return None if row is None else _file_row(row)

    def find_invalid(self, thread_id: str) -> tuple[str, str | None] | None:
        """(path, error) of a file named for this id whose metadata is unreadable."""
        with self.lock:
            row = self.conn.execute(
                "SELECT path, meta_error FROM files WHERE file_uuid = ? AND valid = 0 LIMIT 1",
                (thread_id,),
            ).fetchone()
            return None if row is None else (row[0], row[1])

    def rows(self, sql: str, args: tuple[Any, ...]) -> list[FileRow]:
        """Run a SELECT returning the columns of ``FileRow`` (see ``FILE_COLUMNS``)."""
        with self.lock:
            return [_file_row(r) for r in self.conn.execute(sql, args)]

    def names_for(self, thread_id: str) -> tuple[str | None, str | None]:
        """(read name, list name) of a thread."""
        with self.lock:
            row = self.conn.execute(
                "SELECT read_name, list_name FROM names WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return (None, None) if row is None else (row[0], row[1])

    def ids_named(self, name: str) -> list[str]:
        """Ids whose current name equals ``name``, newest rename first."""
        with self.lock:
            return [
                r[0]
                for r in self.conn.execute(
                    "SELECT thread_id FROM names WHERE find_name = ? ORDER BY seq DESC", (name,)
                )
            ]


FILE_COLUMNS = (
    "f.path, f.thread_id, f.archived, f.size, f.mtime_ns, f.inode, f.state,"
    " n.read_name, n.list_name, n.seq, f.file_uuid, f.name_s, f.recency_ms"
)


def _file_row(r: tuple[Any, ...]) -> FileRow:
    return FileRow(
        path=r[0],
        thread_id=r[1],
        archived=bool(r[2]),
        size=r[3],
        mtime_ns=r[4],
        inode=r[5],
        state=_state_decoder.decode(r[6]),
        read_name=r[7],
        list_name=r[8],
        named=r[9] is not None,
        file_uuid=r[10],
        name_seconds=r[11],
        recency_ms=r[12],
    )


def _apply_names(conn: sqlite3.Connection, data: bytes, seq: int) -> int:
    table = NameTable()
    consumed = table.feed(data)
    for n, (thread_id, name) in enumerate(table.order, start=seq + 1):
        row = conn.execute(
            "SELECT list_name FROM names WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        trimmed = name.strip()
        listed = trimmed or (row[0] if row else None)
        conn.execute(
            "INSERT OR REPLACE INTO names(thread_id, read_name, list_name, find_name, seq)"
            " VALUES (?, ?, ?, ?, ?)",
            (thread_id, name if trimmed else None, listed, trimmed or None, n),
        )
    return consumed


def _rollout_file(home: CodexHome, path: Path) -> RolloutFile | None:
    name = parse_rollout_name(path.name)
    if name is None:
        return None
    return RolloutFile(str(path), name, home.is_archived_path(path))


def _created_ms(meta: SessionMeta | None) -> int | None:
    return None if meta is None else parse_timestamp_ms(meta.timestamp)


def _cwd(meta: SessionMeta | None, state: SummaryState) -> str | None:
    if meta is None:
        return None
    return meta.cwd or state.first_turn_cwd

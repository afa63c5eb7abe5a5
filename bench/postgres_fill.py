"""A PostgreSQL thread store filled in bulk, row for row as the store writes it (for the bench).

``make_spec`` draws thread ``i`` of an owner from a seed: a cwd from a Zipf mix of 200
projects, sources, providers, 10% paginated, 3% archived, 3% named, previews of which 2% hold
``COMMON_TERM``, 0.01% ``RARE_TERM`` and none ``ABSENT_TERM``. ``bulk_rows`` computes the rows
the store writes for it with the store's own code (``writer.apply`` on the session_meta of
``create_thread`` and one Codex turn appended, then a rename and an archive); ``fill`` COPYs
them into the store's tables from worker processes, indexes dropped meanwhile and rebuilt
from their own definitions. ``shape_check`` writes a few threads through the API and in bulk
and compares every stored column, line, search text and name entry.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from threadloom.ids import ThreadId
from threadloom.protocol.codec import decode_line, format_rfc3339_nanos
from threadloom.protocol.codec_json import dumps
from threadloom.protocol.rollout import HistoryMode
from threadloom.store.create import session_meta_line
from threadloom.store.params import (
    AppendItemsParams,
    CreateThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
)
from threadloom.store.postgres import PostgresThreadStore
from threadloom.store.postgres import schema as pg_schema
from threadloom.store.postgres.rows import (
    agent_path,
    encode_meta,
    encode_state,
    encode_text_state,
    listing_columns,
    pg_text,
)
from threadloom.store.postgres.writer import Prepared, apply, new_row, prepare_line, words
from threadloom.testing.fake_rollouts import RolloutBuilder, uuid7

SCHEMA = pg_schema.DEFAULT_SCHEMA
OWNER = "bench"
OTHER_OWNERS = ("bench-other-1", "bench-other-2", "bench-other-3")
FILL_VERSION = 2
"""Bump when the generated rows change (a cached fill of another version is refilled)."""
BASE_MS = 1_700_000_000_000  # 2023-11-14; threads start one a minute (jittered) after it
GAP_MS = 60_000
CHUNK = 10_000
COMMON_TERM, RARE_TERM, ABSENT_TERM = "flaky", "Zeppelin", "quokka"
"""Search terms (case-sensitive, as ``thread/list`` matches): in ~2% of previews, in ~0.01%
(starting them), in none."""
_VOCABULARY = (
    "fix the test writer reader index cache config server client schema queue worker "
    "parser error timeout retry build release branch merge patch module function class "
    "method lint type check update remove add refactor rename docs migration database "
    "listing cursor page search token stream session thread store lock flush append load"
)
WORDS = _VOCABULARY.split()
CWDS = tuple(f"/home/dev/src/project-{n:03d}" for n in range(200))
_CWD_CUM_WEIGHTS = tuple(accumulate(1 / (rank + 1) for rank in range(len(CWDS))))  # Zipf
_THREAD_COLUMNS = (
    "key, owner, thread_id, history_mode, meta, state, text_state, text_index, next_seq,"
    " next_ordinal, preview, title_name, cwd, provider, source_kind, interactive, agent_path,"
    " created_ms, created_s, updated_ms, recency_ms, archived, archived_at_ms, named,"
    " read_name, list_name, list_name_text, find_name, name_seq"
)
_THREAD_TYPES = (
    "int8 text text text bytea bytea bytea int8 int8 int8 text text text text text bool text"
    " int8 int8 int8 int8 bool int8 bool bytea bytea text text int8"
)


# --- generated threads -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Spec:
    """One generated thread: everything its lines and rows derive from."""

    owner: str
    thread_id: str
    created_ms: int
    cwd: str
    source: str
    provider: str
    paginated: bool
    archived: bool
    name: str | None
    user: str
    agent: str


def some_words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def make_spec(seed: int, owner: str, index: int) -> Spec:
    """Thread ``index`` of ``owner``: the same for the same seed, whatever the chunking."""
    rng = random.Random((seed << 64) | (zlib.crc32(owner.encode()) << 32) | index)
    created = BASE_MS + index * GAP_MS + rng.randrange(GAP_MS)
    user = some_words(rng, 6, 30)
    if rng.random() < 0.02:
        user = f"{user} {COMMON_TERM} {some_words(rng, 1, 5)}"
    if rng.random() < 0.0001:
        user = f"{RARE_TERM.lower()} {user}"  # capitalized below
    return Spec(
        owner=owner,
        thread_id=uuid7(created, rng),
        created_ms=created,
        cwd=rng.choices(CWDS, cum_weights=_CWD_CUM_WEIGHTS)[0],
        source=rng.choices(("cli", "vscode", "exec"), weights=(70, 25, 5))[0],
        provider=rng.choices(("openai", "azure", "ollama"), weights=(95, 3, 2))[0],
        paginated=rng.random() < 0.1,
        archived=rng.random() < 0.03,
        name=f"Fix {some_words(rng, 2, 4)}" if rng.random() < 0.03 else None,
        user=user.capitalize(),
        agent=some_words(rng, 20, 80).capitalize() + ".",
    )


def spec_lines(spec: Spec) -> tuple[CreateThreadParams, list[bytes], int]:
    """The create params, the lines appended after session_meta (one Codex turn) and the
    time of the last one."""
    params = CreateThreadParams(
        thread_id=ThreadId(spec.thread_id),
        cwd=spec.cwd,
        originator="codex_cli_rs",
        cli_version="0.169.0",
        created_at_ms=spec.created_ms,
        source=spec.source,
        model_provider=spec.provider,
        history_mode=HistoryMode.PAGINATED if spec.paginated else HistoryMode.LEGACY,
    )
    builder = RolloutBuilder(
        spec.thread_id,
        created=spec.created_ms,
        cwd=spec.cwd,
        history_mode=None,
        write_meta=False,
        rng=random.Random(spec.thread_id),
    )
    builder.tick(1500).turn(spec.user, spec.agent, duration_ms=9000)
    return params, list(builder.lines), builder.now_ms


# --- rows ------------------------------------------------------------------------------------
@dataclass(slots=True)
class Rows:
    """Rows to COPY, by table."""

    threads: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    texts: list[tuple[Any, ...]] = field(default_factory=list)
    names: list[tuple[Any, ...]] = field(default_factory=list)


def bulk_rows(spec: Spec, key: int, first_text_id: int, name_seq: int, out: Rows) -> None:
    """Add the rows the store writes for ``spec`` (create, one append, then a rename and an
    archive when the spec has them) to ``out``."""
    params, raws, updated = spec_lines(spec)
    row = new_row(ThreadId(spec.thread_id), spec.created_ms)
    head = apply(row, [prepare_line(session_meta_line(params))], spec.paginated)
    row.updated_ms = row.recency_ms = updated
    batch = apply(row, [Prepared(decode_line(r), r) for r in raws], spec.paginated)
    meta = row.meta
    columns = listing_columns(meta, row.state)
    name = spec.name.encode() if spec.name else None
    thread = (
        key, spec.owner, spec.thread_id, meta.history_mode.value,
        encode_meta(row.state.meta_payload), encode_state(row.state),
        encode_text_state(row.text_state), row.text_index, row.next_seq, row.next_ordinal,
        columns["preview"], columns["title_name"], columns["cwd"],
        pg_text(meta.model_provider or None), meta.source.kind, meta.source.is_interactive,
        pg_text(agent_path(meta)), row.created_ms, row.created_ms // 1000, row.updated_ms,
        row.recency_ms, spec.archived, updated + GAP_MS if spec.archived else None,
        name is not None, name, name, spec.name, spec.name, name_seq if name else None,
    )  # fmt: skip
    out.threads.append(thread)
    out.items += [(key, seq, raw) for seq, raw in enumerate([head.raws[0], *batch.raws])]
    out.texts += [
        (first_text_id + n, key, t.role, pg_text(t.turn_id), pg_text(t.text), words(t.text))
        for n, t in enumerate(batch.texts)
    ]
    if spec.name:
        stamp = format_rfc3339_nanos(updated * 1_000_000)
        entry = {"id": spec.thread_id, "thread_name": spec.name, "updated_at": stamp}
        out.names.append((key, name_seq, dumps(entry)))


def has_table(conn: psycopg.Connection[Any], table: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{table}",)).fetchone()
    return bool(found and found[0])


def copy_rows(conn: psycopg.Connection[Any], rows: Rows) -> int:
    """COPY rows into the store's tables (search texts through a staging table, so their
    tsvector is built by the same ``array_to_tsvector`` as the store's)."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS texts_stage (id int8, thread_key int8, role text,"
        " turn_id text, body text, words text[])"
    )
    tables = [
        (f"threads ({_THREAD_COLUMNS})", _THREAD_TYPES.split(), rows.threads),
        ("items (thread_key, seq, line)", ["int8", "int8", "bytea"], rows.items),
        ("texts_stage", ["int8", "int8", "text", "text", "text", "text[]"], rows.texts),
    ]
    if has_table(conn, "name_entries"):
        tables.append(
            ("name_entries (thread_key, seq, line)", ["int8", "int8", "bytea"], rows.names)
        )
    with conn.cursor() as cur:
        for table, types, data in tables:
            with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)".encode()) as copy:
                copy.set_types(types)
                for values in data:
                    copy.write_row(values)
        cur.execute(
            "INSERT INTO texts (id, thread_key, role, turn_id, body, words) OVERRIDING SYSTEM"
            " VALUE SELECT id, thread_key, role, turn_id, body, array_to_tsvector(words)"
            " FROM texts_stage ORDER BY id"
        )
        cur.execute("TRUNCATE texts_stage")
    return len(rows.threads)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection using the store's schema (the setting kept across transactions)."""
    conn = psycopg.connect(url, autocommit=autocommit)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(SCHEMA)))
    if not autocommit:
        conn.commit()
    return conn


def fill_chunk(url: str, seed: int, owner: str, start: int, stop: int, key_base: int) -> int:
    """Fill threads ``start``..``stop`` of ``owner`` (thread ``i`` gets key ``key_base + i``)
    in one transaction (run in a worker process)."""
    rows = Rows()
    for i in range(start, stop):
        key = key_base + i
        bulk_rows(make_spec(seed, owner, i), key, key * 4, key, rows)
    with connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers on bulk rows
        conn.execute("SET synchronous_commit = off")
        return copy_rows(conn, rows)


# --- the filled database -------------------------------------------------------------------
def ensure_database(url: str) -> None:
    """Create the URL's database when it does not exist yet."""
    name = str(conninfo_to_dict(url).get("dbname") or "threadloom_bench")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fill_config(threads: int, others: int, seed: int) -> dict[str, Any]:
    return {
        "threads": threads,
        "others": others,
        "seed": seed,
        "fill": FILL_VERSION,
        "schema": pg_schema.LATEST,
    }


def fill_marker(url: str) -> dict[str, Any] | None:
    """The config of the cached fill (None: nothing filled yet)."""
    with connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_fill (id int PRIMARY KEY, config jsonb)"
        )
        conn.commit()
        row = conn.execute("SELECT config FROM public.bench_fill WHERE id = 1").fetchone()
        return None if row is None else dict(row[0])


def row_shapes(url: str) -> list[tuple[Any, ...]]:
    """The columns of the store's tables (name, type, nullability, default): what the
    rows ``bulk_rows`` makes must fit."""
    with connect(url) as conn:
        return conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
            (SCHEMA,),
        ).fetchall()


def upgrade_in_place(url: str, config: dict[str, Any]) -> str | None:
    """Bring a cached fill made with an older schema (and otherwise ``config``) to the
    current one with the store's own upgrade, as a deployed database is upgraded; a note of
    what was done, or None when the fill cannot be kept (nothing cached, another config, or
    a migration that changes the tables' columns: the rows must be made again)."""
    marker = fill_marker(url)
    if marker is None or marker == config:
        return None
    if {k: v for k, v in marker.items() if k != "schema"} != {
        k: v for k, v in config.items() if k != "schema"
    }:
        return None
    before = row_shapes(url)
    t0 = time.perf_counter()
    result = asyncio.run(pg_schema.upgrade(maintenance_url(url)))
    seconds = time.perf_counter() - t0
    if row_shapes(url) != before:
        return None
    with connect(url) as conn:
        conn.execute("ANALYZE")
        conn.execute("UPDATE public.bench_fill SET config = %s WHERE id = 1", (Jsonb(config),))
        conn.commit()
    return (
        f"cached fill upgraded in place from schema {marker.get('schema')} to {result.after}"
        f" in {seconds:,.0f} s (no row changes shape)"
    )


def maintenance_url(url: str) -> str:
    """``url`` with more memory for index builds (GIN indexes build much faster)."""
    return make_conninfo(url, options="-c maintenance_work_mem=512MB")


def filled(url: str, config: dict[str, Any]) -> bool:
    """Is the database filled with this config (marker and row count agree)?"""
    with connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_fill (id int PRIMARY KEY, config jsonb)"
        )
        conn.commit()
        row = conn.execute("SELECT config FROM public.bench_fill WHERE id = 1").fetchone()
        if row is None or row[0] != config:
            return False
        found = conn.execute("SELECT count(*) FROM threads WHERE owner = %s", (OWNER,)).fetchone()
        return found is not None and found[0] == config["threads"]


def fill(url: str, config: dict[str, Any], jobs: int) -> None:
    """Empty the store's tables and fill them in bulk (indexes dropped meanwhile)."""
    t0 = time.perf_counter()
    with connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM public.bench_fill")
        conn.execute("TRUNCATE threads, writers, spawn_edges CASCADE")
        indexes = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k"
            " WHERE k.conindid = i.indexrelid)",
            (SCHEMA,),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}".encode())
    threads, others, seed = config["threads"], config["others"], config["seed"]
    tasks = [(OWNER, s, min(s + CHUNK, threads), 1) for s in range(0, threads, CHUNK)]
    for n, owner in enumerate(OTHER_OWNERS):
        base = threads + 1 + n * others
        tasks += [(owner, s, min(s + CHUNK, others), base) for s in range(0, others, CHUNK)]
    done, total = 0, threads + others * len(OTHER_OWNERS)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(fill_chunk, url, seed, *task) for task in tasks]:
            done += future.result()
            rate = done / (time.perf_counter() - t0)
            print(f"  filled {done:,}/{total:,} threads ({rate:,.0f}/s)", end="\r", flush=True)
    print()
    with connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            conn.execute(definition.encode())
        for table, column in (("threads", "key"), ("texts", "id")):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{SCHEMA}.{table}', '{column}'),"
                f" (SELECT max({column}) FROM {table}))".encode()
            )
        conn.execute("SELECT setval('name_seq', (SELECT max(name_seq) + 1 FROM threads))")
        conn.execute("VACUUM ANALYZE")
        conn.execute("INSERT INTO public.bench_fill VALUES (1, %s)", (Jsonb(config),))
    print(f"  fill done in {time.perf_counter() - t0:,.0f} s")


# --- checking the fill against the API ---------------------------------------------------------
_CHECKS = (
    "SELECT to_jsonb(t) - 'key' - 'owner' - 'name_seq' FROM threads t",
    "SELECT array_agg(i.line ORDER BY i.seq) FROM items i JOIN threads t ON t.key = i.thread_key",
    "SELECT array_agg((x.role, x.turn_id, x.body, x.words::text)::text ORDER BY x.id)"
    " FROM texts x JOIN threads t ON t.key = x.thread_key",
)
_NAME_CHECK = (
    "SELECT array_agg(e.line ORDER BY e.seq) FROM name_entries e"
    " JOIN threads t ON t.key = e.thread_key"
)


async def api_write(url: str, owner: str, spec: Spec) -> None:
    """Write ``spec`` through the store's API, with the times ``bulk_rows`` gives it."""
    params, raws, updated = spec_lines(spec)
    now = [updated]
    store = PostgresThreadStore(url, owner=owner, clock=lambda: now[0])
    try:
        await store.create_thread(params)
        items = [decode_line(r) for r in raws]
        await store.append_items(
            AppendItemsParams(thread_id=params.thread_id, items=items, encoded=raws)
        )
        await store.shutdown_thread(ThreadIdParams(thread_id=params.thread_id))
        if spec.name:
            await store.set_thread_name(
                SetThreadNameParams(thread_id=params.thread_id, name=spec.name)
            )
        if spec.archived:
            now[0] = updated + GAP_MS
            await store.archive_thread(ThreadIdParams(thread_id=params.thread_id))
    finally:
        await store.close()


async def shape_check(url: str, seed: int) -> str:
    """Write a few generated threads through the API and in bulk (two owners) and compare
    what is stored."""
    specs = [make_spec(seed, "shape", i) for i in range(400)]
    picks = [
        next(s for s in specs if not s.paginated and not s.name and not s.archived),
        next(s for s in specs if s.paginated),
        next(s for s in specs if s.name),
        next(s for s in specs if s.archived),
    ]
    owners = ("bench-shape-api", "bench-shape-bulk")
    with connect(url) as conn:
        conn.execute("DELETE FROM threads WHERE owner = ANY(%s)", (list(owners),))
        conn.commit()
    for spec in picks:
        await api_write(url, owners[0], spec)
    with connect(url) as conn:
        keys = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('threads', 'key')) FROM generate_series(1, %s)",
            (len(picks),),
        ).fetchall()
        found = conn.execute(
            "SELECT setval(pg_get_serial_sequence('texts', 'id'),"
            " nextval(pg_get_serial_sequence('texts', 'id')) + %s)",
            (8 * len(picks),),
        ).fetchone()
        text_id = int(found[0]) - 8 * len(picks) if found else 0
        rows = Rows()
        for n, ((key,), spec) in enumerate(zip(keys, picks, strict=True)):
            bulk_rows(replace(spec, owner=owners[1]), key, text_id + 8 * n, 0, rows)
        copy_rows(conn, rows)
        conn.commit()
        checks = [*_CHECKS, _NAME_CHECK] if has_table(conn, "name_entries") else _CHECKS
        diffs = []
        for query in checks:
            for spec in picks:
                got = [
                    conn.execute(
                        (query + " WHERE t.owner = %s AND t.thread_id = %s").encode(),
                        (owner, spec.thread_id),
                    ).fetchone()
                    for owner in owners
                ]
                if got[0] != got[1]:
                    diffs.append(f"{query.split(' FROM ')[1].split()[0]} of {spec.thread_id}")
        conn.execute("DELETE FROM threads WHERE owner = ANY(%s)", (list(owners),))
        conn.commit()
    if diffs:
        return "DIFFERENT: " + ", ".join(diffs)
    return f"bulk rows identical to API-written rows ({len(picks)} threads, every table)"

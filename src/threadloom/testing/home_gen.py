"""Deterministic generator of realistic CODEX_HOMEs of any size, with a manifest of what is in it.

``generate_home(root, threads=N, seed=S)`` writes legacy rollouts shaped like Codex's own
(session_meta, turn_context, task_started, user message as response item + event, reasoning,
function calls with 1-20 KB outputs, assistant message + event, token_count, task_complete),
``session_index.jsonl`` names and archived threads, and sets every file's mtime. The same seed
gives byte-identical files and identical mtimes (file names use local time, as Codex does).

``varied=True`` adds the compatibility zoo: every source form, several providers (one missing)
and cwds, renames and empty names, empty previews, image-only and ``## My request for Codex:``
messages, malformed/blank/torn lines, mismatched ids, duplicate creation seconds, ``.jsonl.zst``,
a foreign ``history_mode``, a missing ``session_meta``, trailing metadata-update ``session_meta``
lines, a legacy fork and a spawned sub-agent. Each record's ``tags`` say which.

Command line: ``python -m threadloom.testing.home_gen OUT --threads N --seed S
[--big-thread-mb M] [--varied] [--turns-min A --turns-max B]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from threadloom.protocol.codec_json import dumps
from threadloom.protocol.paths import SESSION_INDEX
from threadloom.testing.fake_rollouts import (
    DEFAULT_MODEL,
    SOURCE_FORMS,
    Damage,
    RolloutBuilder,
    ToolCall,
    damaged_builder,
    format_ts_nanos,
    git_info,
    set_mtime,
    to_ms,
    uuid4,
    uuid7,
)

BASE_TIME = "2025-01-06T08:00:00Z"
SPAN_MS = 330 * 24 * 3600 * 1000
MANIFEST_NAME = "threadloom-manifest.json"
REQUEST_PREFIX = "## My request for Codex:"
INTERACTIVE_CUSTOM = ("atlas", "chatgpt")

TAGS = (
    "archived",
    "blank_lines",
    "compressed",
    "duplicate_second",
    "empty_name",
    "empty_preview",
    "event_before_meta",
    "foreign_history_mode",
    "garbage_lines",
    "image_only",
    "legacy_fork",
    "local_image_only",
    "meta_update",
    "mismatched_id",
    "missing_meta",
    "named",
    "old_meta",
    "renamed",
    "request_prefix",
    "subagent_spawn",
    "torn_last_line",
    "unknown_source_object",
    "v4_id",
    "whitespace_name",
)
"""Every tag a varied home carries at least once."""

PREVIEW_TERMS = ("quokka", "marzipan", "heliotrope", "Zeppelin")
"""Rare words placed only in first user messages (``thread/list`` ``searchTerm`` finds them)."""
BODY_TERMS = ("tamarind", "obsidian", "xylophone", "Vortexite")
"""Rare words placed only in later user or assistant messages (full-text search only)."""
COMMON_TERMS = ("flaky", "migration", "tokenizer")
"""Words of the ordinary vocabulary, present in many threads."""

_PROVIDERS = ("openai",) * 14 + ("anthropic",) * 3 + (None,) * 3
_CWDS = (
    "/home/dev/src/threadloom",
    "/home/dev/src/webshop",
    "/home/dev/src/ml-pipeline",
    "/home/dev/work/infra",
    "/srv/projects/api-gateway",
    "/home/dev/src/données-été",
)
_BRANCHES = ("main", "main", "main", "develop", "fix/flaky-tests", "feat/search")
_MODELS = ("gpt-5.1-codex", "gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5")
_EFFORTS = (None, "low", "medium", "medium", "high")
_VERBS = ("fix", "refactor", "explain", "speed up", "add tests for", "document", "review")
_NOUNS = (
    "the flaky integration test",
    "the database migration",
    "the tokenizer",
    "the retry logic",
    "the CLI argument parser",
    "the cache invalidation",
    "the websocket reconnect loop",
    "the CSV exporter",
    "the auth middleware",
    "the build script",
)
_FILES = (
    "src/app.py",
    "src/db/migrate.py",
    "lib/tokenize.rs",
    "cmd/server/main.go",
    "web/src/App.tsx",
    "tests/test_api.py",
    "Makefile",
    "README.md",
)
_ASKS = (
    "Can you {verb} {noun} in {file}?",
    "Please {verb} {noun}; it lives in {file}.",
    "I think {noun} in {file} is broken. Could you {verb} it?",
    "{verb} {noun} ({file}) and keep the public API unchanged.",
    "Why does {noun} behave differently on CI? Look at {file} and {verb} it.",
    "Héllo! Could you {verb} {noun} in {file}? Merci 🙏",
)
_ANSWERS = (
    "I updated {file}: {noun} now handles the edge case and the tests pass.",
    "Done. The change to {file} is small; {noun} was missing a guard.",
    "I looked at {noun} in {file}. The root cause was a race; I added a lock and a test.",
    "Here is what changed in {file}:\n- simplified {noun}\n- added a regression test\n",
)
_REASONING = (
    "**Inspecting the code**\n\nI'll read {file} before changing {noun}.",
    "**Planning the fix**\n\nThe failure points at {noun}; checking callers first.",
    "**Running the tests**\n\nI should verify {noun} with the existing suite.",
)
_TOOLS = ("exec_command", "shell", "apply_patch", "read_file")


class ThreadRecord(msgspec.Struct, kw_only=True):
    """One generated rollout file and what Codex is expected to make of it."""

    id: str
    """Thread id (``session_meta.id``); the file-name uuid when the file has no meta."""
    path: str
    """Relative to the home."""
    created_ms: int
    updated_ms: int
    """File mtime (``updatedAt`` in ``thread/list``)."""
    source: Any
    """On-disk ``source`` (``None`` = field absent, read as ``vscode``)."""
    model_provider: str | None
    cwd: str
    history_mode: str | None
    preview: str
    """Expected ``preview`` ("" when the thread has no user message: not listed)."""
    name: str | None
    """Expected ``name`` in ``thread/list``: the last non-empty ``session_index.jsonl`` entry
    (trimmed); without one, Codex shows its ``title`` (first non-empty user text) when that
    differs from the preview (observed for image-only first messages)."""
    read_name: str | None
    """Expected ``name`` in ``thread/read``: from the *last* index entry, not trimmed (None when
    blank); the title rule of ``name`` when there is no entry."""
    archived: bool
    readable: bool
    """False when Codex cannot parse the thread's metadata (``thread/read`` fails)."""
    listed_without_meta: bool = False
    """Unreadable, yet listed by ``thread/list``'s database path (source ``vscode``): observed
    for a file without ``session_meta`` and for an unknown object ``source``."""
    turns: int
    size: int
    tokens: int = 0
    """``total_tokens`` of the last ``token_count``."""
    model: str | None = None
    effort: str | None = None
    git: dict[str, str] | None = None
    """``git`` of the last own ``session_meta`` line carrying one (``thread/read``, and
    ``thread/list`` when it answers from the database)."""
    scan_git: dict[str, str] | None = None
    """What the scanning ``thread/list`` path shows: that ``git`` overlaid field by field on
    the first ``session_meta``'s ``git``. Codex then stores this in its database, so database
    listings made *after* a scanning listing show ``scan_git`` too."""
    forked_from_id: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)

    @property
    def source_kind(self) -> str | None:
        """The ``sourceKinds`` value matching this thread; None when no filter value does."""
        return source_kind(self.source)

    @property
    def listable(self) -> bool:
        """Readable and has a preview (the scanning list path shows nothing else)."""
        return self.readable and self.preview != ""


class SearchTerm(msgspec.Struct, kw_only=True):
    """A word and the threads whose text contains it (case-sensitive)."""

    term: str
    preview_ids: list[str]
    """Threads whose preview (first user message) contains the term."""
    text_ids: list[str]
    """Threads whose user or assistant messages contain it anywhere (includes preview_ids)."""


class HomeManifest(msgspec.Struct, kw_only=True):
    """What :func:`generate_home` wrote."""

    root: str
    seed: int
    varied: bool
    threads: list[ThreadRecord]
    typical_thread: str
    big_thread: str | None
    search_terms: list[SearchTerm]
    total_bytes: int

    @property
    def thread_count(self) -> int:
        return len(self.threads)

    def by_id(self, thread_id: str) -> ThreadRecord:
        """The record of ``thread_id`` (KeyError when absent)."""
        for record in self.threads:
            if record.id == thread_id:
                return record
        raise KeyError(thread_id)

    def tagged(self, tag: str) -> list[ThreadRecord]:
        """Records carrying ``tag``."""
        return [r for r in self.threads if tag in r.tags]

    def expected_list(
        self,
        *,
        archived: bool = False,
        source_kinds: Sequence[str] | None = None,
        model_providers: Sequence[str] | None = None,
        search_term: str | None = None,
        default_provider: str = "openai",
    ) -> list[ThreadRecord]:
        """What ``thread/list`` returns for these filters, in ``created_at desc`` order.

        Mirrors Codex 0.169.0 as observed. No ``sourceKinds`` (or only ``cli``/``vscode``)
        scans the files: readable threads with a preview, ordered by (whole seconds, id);
        ``[]`` means ``cli``, ``vscode`` and the custom sources ``atlas``/``chatgpt``. Any other
        kind answers from the database: it also holds the ``listed_without_meta`` files (as
        ``vscode``) and orders by (milliseconds, id). Explicit kinds never match
        ``{"custom":…}`` or ``{"internal":…}``. ``modelProviders`` omitted means the default
        provider (a missing provider counts as it).
        """
        from_db = uses_database_path(source_kinds)
        out: list[ThreadRecord] = []
        for r in self.threads:
            if r.archived != archived or not r.preview:
                continue
            if r.readable:
                source = r.source
            elif r.listed_without_meta and from_db:
                source = "vscode"
            else:
                continue
            if not _source_matches(source, source_kinds):
                continue
            provider = (r.model_provider if r.readable else None) or default_provider
            if model_providers is None:
                if provider != default_provider:
                    continue
            elif model_providers and provider not in model_providers:
                continue
            if search_term and search_term not in r.preview and search_term not in (r.name or ""):
                continue
            out.append(r)
        if from_db:
            out.sort(key=lambda r: (r.created_ms, r.id), reverse=True)
        else:
            out.sort(key=lambda r: (r.created_ms // 1000, r.id), reverse=True)
        return out

    def write_json(self, path: Path) -> None:
        """Save as JSON."""
        path.write_bytes(msgspec.json.encode(self))

    @classmethod
    def read_json(cls, path: Path) -> HomeManifest:
        """Load a manifest saved by :meth:`write_json`."""
        return msgspec.json.decode(path.read_bytes(), type=cls)


def uses_database_path(source_kinds: Sequence[str] | None) -> bool:
    """True when ``thread/list`` answers from its database (a kind other than cli/vscode)."""
    return bool(source_kinds) and not set(source_kinds or ()) <= {"cli", "vscode"}


def source_kind(source: Any) -> str | None:
    """The ``sourceKinds`` filter value a stored source matches (None: matched by none)."""
    if source is None:
        return "vscode"
    if isinstance(source, str):
        if source == "mcp":
            return "appServer"
        return source if source in ("cli", "vscode", "exec") else "unknown"
    key, inner = next(iter(source.items()))
    if key != "subagent":
        return None
    if inner == "review":
        return "subAgentReview"
    if inner == "compact":
        return "subAgentCompact"
    if isinstance(inner, dict) and "thread_spawn" in inner:
        return "subAgentThreadSpawn"
    if isinstance(inner, dict) and "other" in inner:
        return "subAgentOther"
    return "subAgent"


def _source_matches(source: Any, kinds: Sequence[str] | None) -> bool:
    if not kinds:
        if isinstance(source, dict) and "custom" in source:
            return source["custom"] in INTERACTIVE_CUSTOM
        return source_kind(source) in ("cli", "vscode")
    kind = source_kind(source)
    if kind is None:
        return False
    if kind in kinds:
        return True
    return kind.startswith("subAgent") and "subAgent" in kinds


# -- text ----------------------------------------------------------------------------------------


class _Text:
    """Deterministic text material drawn from one ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        lines: list[str] = []
        for i in range(1500):
            pick = rng.randrange(5)
            if pick == 0:
                lines.append(
                    f"-rw-r--r--  1 dev dev {rng.randrange(100, 90000):>6}"
                    f" Mar {rng.randrange(1, 29):>2} 10:{rng.randrange(60):02d}"
                    f" {rng.choice(_FILES)}"
                )
            elif pick == 1:
                lines.append(
                    f"tests/test_{rng.choice(('api', 'db', 'cli', 'cache'))}.py::test_case_{i}"
                    f" {rng.choice(('PASSED', 'PASSED', 'PASSED', 'FAILED', 'SKIPPED'))}"
                    f" [{rng.randrange(100):>3}%]"
                )
            elif pick == 2:
                lines.append(
                    f"{rng.choice(_FILES)}:{rng.randrange(1, 900)}:"
                    f" {rng.choice(('def ', 'let ', 'func ', 'const '))}handler_{i}(ctx, req)"
                )
            elif pick == 3:
                lines.append(
                    f"{rng.choice(('+', '-', ' '))}    value_{i} = compute(value_{i - 1}, "
                    f"'{rng.choice(('naïve', 'élan', 'ok', 'über'))}')"
                )
            else:
                lines.append(f"[{i:05d}] INFO worker-{rng.randrange(8)} processed batch {i}")
        self.corpus = "\n".join(lines)

    def output(self, size: int) -> str:
        """About ``size`` characters of command output."""
        start = self.rng.randrange(0, max(1, len(self.corpus) - size))
        return self.corpus[start : start + size]

    def fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            verb=rng.choice(_VERBS), noun=rng.choice(_NOUNS), file=rng.choice(_FILES)
        )

    def ask(self) -> str:
        return self.fill(self.rng.choice(_ASKS))

    def answer(self) -> str:
        return self.fill(self.rng.choice(_ANSWERS))

    def reasoning(self) -> str:
        return self.fill(self.rng.choice(_REASONING))

    def tool_calls(self, cwd: str) -> list[ToolCall]:
        rng = self.rng
        calls = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            name = rng.choice(_TOOLS)
            command = rng.choice(("rg -n handler src", "pytest -q", "git status", "ls -la"))
            args = dumps({"cmd": command, "workdir": cwd}).decode()
            calls.append(ToolCall(name, args, self.output(rng.randrange(1000, 20000))))
        return calls


# -- generation ----------------------------------------------------------------------------------


def _zoo_list() -> list[str]:
    """One entry per unusual thread of a varied home (``kind[:arg]``, see ``_Generator``)."""
    zoo = [f"source:{i}" for i in range(len(SOURCE_FORMS))] * 2
    zoo += ["source:missing", "provider:missing", "provider:anthropic"]
    zoo += [d.value for d in Damage] + ["garbage_lines", "torn_last_line", "compressed"]
    zoo += ["empty_preview", "empty_preview:blank", "image_only", "image_only:local"]
    zoo += ["request_prefix", "request_prefix", "meta_update", "meta_update:memory"]
    zoo += ["old_meta", "old_meta", "names:renamed", "names:empty_after", "names:whitespace"]
    zoo += ["names:empty_only", "archived:named", "archived:compressed", "subagent_spawn"]
    zoo += ["legacy_fork", "legacy_fork:named"]
    return zoo


MIN_VARIED_THREADS = 2 * len(_zoo_list())
"""The smallest ``threads`` a varied home accepts."""


class _Spec:
    """The plan for one thread before it is written."""

    def __init__(self, index: int, created_ms: int, thread_id: str) -> None:
        self.index = index
        self.created_ms = created_ms
        self.id = thread_id
        self.source: Any = "cli"
        self.provider: str | None = "openai"
        self.cwd = _CWDS[0]
        self.archived = False
        self.special: str | None = None
        self.tags: list[str] = []
        self.names: list[str] = []
        self.turns = 1


class _Written(msgspec.Struct):
    """Texts and settings of the turns appended to a builder."""

    users: list[str]
    agents: list[str]
    model: str | None = None
    effort: str | None = None

    def extend(self, other: _Written) -> None:
        self.users += other.users
        self.agents += other.agents
        self.model = other.model or self.model
        self.effort = other.effort if other.model else self.effort


def _title(users: Sequence[str]) -> str:
    """Codex's ``title``: the first non-empty user text after the request-prefix strip."""
    for text in users:
        stripped = strip_request_prefix(text)
        if stripped:
            return stripped
    return ""


def strip_request_prefix(message: str) -> str:
    """Drop everything up to ``## My request for Codex:`` and trim (preview rule)."""
    at = message.find(REQUEST_PREFIX)
    if at >= 0:
        message = message[at + len(REQUEST_PREFIX) :]
    return message.strip()


class _Generator:
    def __init__(
        self,
        root: Path,
        *,
        threads: int,
        seed: int,
        turns: tuple[int, int],
        big_thread_mb: float,
        archived_frac: float,
        named_frac: float,
        varied: bool,
    ) -> None:
        self.root = root
        self.seed = seed
        self.count = threads
        self.turns = turns
        self.big_bytes = int(big_thread_mb * 1024 * 1024)
        self.archived_frac = archived_frac
        self.named_frac = named_frac
        self.varied = varied
        self.rng = random.Random(seed)
        self.text = _Text(random.Random(seed * 7919 + 1))
        self.records: list[ThreadRecord] = []
        self.index_lines: list[bytes] = []
        self.late_index_lines: list[bytes] = []
        self.term_hits: dict[str, tuple[set[str], set[str]]] = {
            t: (set(), set()) for t in PREVIEW_TERMS + BODY_TERMS + COMMON_TERMS
        }
        # Recent plain threads (parents for forks and spawned agents); bounded to save memory.
        self.plain: deque[tuple[RolloutBuilder, ThreadRecord, _Written]] = deque(maxlen=48)
        self.total_bytes = 0

    # plan ------------------------------------------------------------------------------------

    def plan(self) -> list[_Spec]:
        rng = self.rng
        base = to_ms(BASE_TIME)
        mean_gap = max(2000, SPAN_MS // max(1, self.count))
        specs: list[_Spec] = []
        now = base
        dup_starts: set[int] = set()
        if self.varied:
            dup_starts = {self.count // 3, (2 * self.count) // 3}
        for i in range(self.count):
            tags: list[str] = []
            member = (i - 1 in dup_starts) + 2 * (i - 2 in dup_starts)
            if member:
                now = (now // 1000) * 1000 + (900 if member == 1 else 500)
                tags.append("duplicate_second")
            else:
                now += rng.randrange(1000, 2 * mean_gap)
                if i in dup_starts:
                    now = (now // 1000) * 1000 + 100
                    tags.append("duplicate_second")
            old = self.varied and rng.random() < 0.1
            spec = _Spec(i, now, uuid4(rng) if old else uuid7(now, rng))
            spec.tags.extend(tags)
            if old:
                spec.tags.append("v4_id")
            spec.cwd = rng.choice(_CWDS) if self.varied else _CWDS[i % 3]
            spec.source = rng.choice(("cli", "cli", "vscode")) if self.varied else "cli"
            spec.provider = rng.choice(_PROVIDERS) if self.varied else "openai"
            spec.turns = rng.randint(*self.turns)
            spec.archived = rng.random() < self.archived_frac
            if spec.archived:
                spec.tags.append("archived")
            if rng.random() < self.named_frac:
                spec.names.append(self.text.fill("{verb} {noun}").capitalize())
                spec.tags.append("named")
            specs.append(spec)
        if self.varied:
            self._assign_zoo(specs)
        return specs

    def _assign_zoo(self, specs: list[_Spec]) -> None:
        zoo = _zoo_list()
        if len(specs) < MIN_VARIED_THREADS:
            raise ValueError(f"varied homes need at least {MIN_VARIED_THREADS} threads")
        free = [s for s in specs if set(s.tags) <= {"named"}]
        if len(free) < len(zoo) + 8:
            raise ValueError(f"varied homes need at least {MIN_VARIED_THREADS} threads")
        low = min(len(free) // 2, len(free) - len(zoo))
        picks = sorted(self.rng.sample(range(low, len(free)), len(zoo)))
        # Forks and spawned agents last, so that plain parents exist before them.
        order = sorted(zoo, key=lambda z: z.startswith("legacy_fork") or z == "subagent_spawn")
        for special, pos in zip(order, picks, strict=True):
            free[pos].special = special
            free[pos].names = []
            if "named" in free[pos].tags:
                free[pos].tags.remove("named")

    # write -----------------------------------------------------------------------------------

    def run(self) -> HomeManifest:
        specs = self.plan()
        self.root.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            if spec.special is None:
                self.write_plain(spec)
            else:
                self.write_special(spec, spec.special)
        big_id = self.write_big() if self.big_bytes > 0 else None
        index = self.index_lines + self.late_index_lines
        if index:
            path = self.root / SESSION_INDEX
            path.write_bytes(b"".join(line + b"\n" for line in index))
            set_mtime(path, to_ms(BASE_TIME) + SPAN_MS + 86_400_000)
        terms = [
            SearchTerm(term=t, preview_ids=sorted(hits[0]), text_ids=sorted(hits[1]))
            for t, hits in self.term_hits.items()
        ]
        return HomeManifest(
            root=str(self.root),
            seed=self.seed,
            varied=self.varied,
            threads=self.records,
            typical_thread=self.pick_typical(),
            big_thread=big_id,
            search_terms=terms,
            total_bytes=self.total_bytes,
        )

    def pick_typical(self) -> str:
        candidates = [
            r for r in self.records if r.listable and not r.archived and set(r.tags) <= {"named"}
        ]
        if not candidates:
            candidates = [r for r in self.records if r.readable] or self.records
        candidates.sort(key=lambda r: (r.turns, r.size, r.id))
        return candidates[len(candidates) // 2].id

    def builder(self, spec: _Spec, **meta: Any) -> RolloutBuilder:
        rng = self.rng
        git = None
        if rng.random() < 0.8:
            slug = spec.cwd.rstrip("/").rsplit("/", 1)[-1]
            git = git_info(
                f"{rng.getrandbits(160):040x}",
                rng.choice(_BRANCHES),
                f"https://git.example.com/dev/{slug}.git",
            )
        originator = {"vscode": "codex_vscode", "exec": "codex_exec"}.get(
            spec.source if isinstance(spec.source, str) else "", "codex_cli_rs"
        )
        meta.setdefault("source", spec.source)
        meta.setdefault("model_provider", spec.provider)
        return RolloutBuilder(
            spec.id,
            created=spec.created_ms,
            cwd=spec.cwd,
            originator=originator,
            git=git,
            rng=random.Random(rng.getrandbits(64)),
            **meta,
        )

    def add_turns(
        self,
        b: RolloutBuilder,
        spec: _Spec,
        count: int,
        *,
        first_text: str | None = None,
        first_images: Sequence[str] = (),
        first_local_images: Sequence[str] = (),
        body_term: str | None = None,
    ) -> _Written:
        """Append ``count`` realistic turns (the first one with its environment context)."""
        rng, text = self.rng, self.text
        out = _Written([], [])
        for t in range(count):
            user = text.ask() if t or first_text is None else first_text
            agent = text.answer()
            if body_term is not None and t == count - 1:
                if count > 1:
                    user = f"{user} Also check the {body_term} module."
                else:
                    agent = f"{agent} (The {body_term} config was fine.)"
            out.model = rng.choice(_MODELS)
            out.effort = rng.choice(_EFFORTS)
            b.tick(rng.randrange(10_000, 1_200_000) if t else rng.randrange(200, 3000))
            b.turn(
                user,
                agent,
                model=out.model,
                effort=out.effort,
                images=first_images if t == 0 else (),
                local_images=first_local_images if t == 0 else (),
                reasoning=text.reasoning() if rng.random() < 0.7 else None,
                tool_calls=text.tool_calls(spec.cwd),
                tokens=(rng.randrange(2000, 40000), rng.randrange(50, 3000)),
                duration_ms=rng.randrange(3000, 180_000),
                environment_context=t == 0,
            )
            out.users.append(user)
            out.agents.append(agent)
        return out

    def write_plain(self, spec: _Spec) -> None:
        rng = self.rng
        first = self.text.ask()
        if rng.random() < 0.04:
            first = f"{first} ({rng.choice(PREVIEW_TERMS)} case)"
        body_term = rng.choice(BODY_TERMS) if rng.random() < 0.04 else None
        b = self.builder(spec)
        written = self.add_turns(b, spec, spec.turns, first_text=first, body_term=body_term)
        record = self.finish(spec, b, written, preview=first)
        if not spec.archived and set(spec.tags) <= {"named"}:
            self.plain.append((b, record, written))

    def finish(
        self,
        spec: _Spec,
        b: RolloutBuilder,
        written: _Written,
        *,
        preview: str,
        readable: bool = True,
        listed_without_meta: bool = False,
        compressed: bool = False,
        file_id: str | None = None,
        forked_from_id: str | None = None,
    ) -> ThreadRecord:
        path = b.write(self.root, archived=spec.archived, compressed=compressed, file_id=file_id)
        size = path.stat().st_size
        self.total_bytes += size
        preview = strip_request_prefix(preview)
        title = _title(written.users)
        title_name = title if title and title != preview else None
        name = read_name = title_name
        for entry in spec.names:
            self.index_lines.append(self.index_line(spec.id, entry, b.now_ms))
            read_name = entry if entry.strip() else None
            if entry.strip():
                name = entry.strip()
        metas = [m for m in b.metas if m.get("id") == spec.id]
        gits = [m["git"] for m in metas if "git" in m]
        git = gits[-1] if gits else None
        first_git = metas[0].get("git") if metas else None
        scan_git = {**(first_git or {}), **(git or {})} if (git or first_git) else None
        record = ThreadRecord(
            id=spec.id,
            path=path.relative_to(self.root).as_posix(),
            created_ms=spec.created_ms,
            updated_ms=b.now_ms,
            source=b.meta.get("source"),
            model_provider=b.meta.get("model_provider"),
            cwd=spec.cwd,
            history_mode=b.meta.get("history_mode"),
            preview=preview,
            name=name,
            read_name=read_name,
            archived=spec.archived,
            readable=readable,
            listed_without_meta=listed_without_meta,
            turns=len(b.turn_ids),
            size=size,
            tokens=b.total_tokens,
            model=written.model,
            effort=written.effort,
            git=git,
            scan_git=scan_git,
            forked_from_id=forked_from_id,
            tags=sorted(set(spec.tags)),
        )
        self.records.append(record)
        if readable or listed_without_meta:
            everything = "\n".join(written.users + written.agents)
            for term, (preview_ids, text_ids) in self.term_hits.items():
                if term in everything:
                    text_ids.add(record.id)
                if term in preview:
                    preview_ids.add(record.id)
        return record

    def index_line(self, thread_id: str, name: str, at_ms: int) -> bytes:
        ns = at_ms * 1_000_000 + self.rng.randrange(1_000_000)
        return dumps({"id": thread_id, "thread_name": name, "updated_at": format_ts_nanos(ns)})

    # the zoo ---------------------------------------------------------------------------------

    def write_special(self, spec: _Spec, special: str) -> None:
        kind, _, arg = special.partition(":")
        handler = getattr(self, "_zoo_" + kind, None)
        if handler is not None:
            handler(spec, arg)
        else:
            self._zoo_damage(spec, Damage(kind))

    def _simple(
        self,
        spec: _Spec,
        *,
        first: str | None = None,
        images: Sequence[str] = (),
        local_images: Sequence[str] = (),
        preview: str | None = None,
        **meta: Any,
    ) -> ThreadRecord:
        b = self.builder(spec, **meta)
        first_text = self.text.ask() if first is None else first
        written = self.add_turns(
            b,
            spec,
            spec.turns,
            first_text=first_text,
            first_images=images,
            first_local_images=local_images,
        )
        return self.finish(spec, b, written, preview=first_text if preview is None else preview)

    def _zoo_source(self, spec: _Spec, arg: str) -> None:
        if arg == "missing":
            spec.tags.append("source_missing")
            self._simple(spec, source=None)
            return
        form = SOURCE_FORMS[int(arg)]
        meta: dict[str, Any] = {"source": form}
        if isinstance(form, dict) and isinstance(form.get("subagent"), dict):
            spawn = form["subagent"].get("thread_spawn")
            if spawn:
                meta["agent_nickname"] = spawn["agent_nickname"]
                meta["agent_role"] = spawn["agent_role"]
        self._simple(spec, **meta)

    def _zoo_provider(self, spec: _Spec, arg: str) -> None:
        spec.provider = None if arg == "missing" else arg
        if arg == "missing":
            spec.tags.append("provider_missing")
        self._simple(spec)

    def _zoo_damage(self, spec: _Spec, damage: Damage) -> None:
        spec.tags.append(damage.value)
        text = self.text.ask()
        meta: dict[str, Any] = {"source": spec.source, "model_provider": spec.provider}
        b = damaged_builder(
            damage, spec.id, created=spec.created_ms, text=text, cwd=spec.cwd, **meta
        )
        unreadable = (
            Damage.FOREIGN_HISTORY_MODE,
            Damage.MISSING_META,
            Damage.UNKNOWN_SOURCE_OBJECT,
        )
        self.finish(
            spec,
            b,
            _Written([text], ["reply to " + text], DEFAULT_MODEL),
            preview=text,
            readable=damage not in unreadable,
            listed_without_meta=damage in unreadable[1:],
            compressed=damage is Damage.COMPRESSED,
            file_id=uuid4(self.rng) if damage is Damage.MISMATCHED_ID else None,
        )

    def _zoo_empty_preview(self, spec: _Spec, arg: str) -> None:
        spec.tags.append("empty_preview")
        b = self.builder(spec)
        if arg == "blank":
            b.tick(400).turn("   \n ", "I need a question first.")
            self.finish(spec, b, _Written(["   \n "], [], DEFAULT_MODEL), preview="")
            return
        b.tick(500).turn_context(model=DEFAULT_MODEL).environment_context()
        b.response_item(
            {
                "type": "message",
                "id": b.new_id("msg"),
                "role": "user",
                "content": [{"type": "input_text", "text": "response item only, no event"}],
            }
        )
        b.tick(900).agent_message("nothing to preview here")
        self.finish(spec, b, _Written([], [], DEFAULT_MODEL), preview="")

    def _zoo_image_only(self, spec: _Spec, arg: str) -> None:
        if arg == "local":
            spec.tags.append("local_image_only")
            self._simple(spec, first="  ", local_images=[f"{spec.cwd}/shot.png"], preview="[Image]")
            return
        spec.tags.append("image_only")
        self._simple(
            spec, first="", images=["data:image/png;base64,iVBORw0KGgo="], preview="[Image]"
        )

    def _zoo_request_prefix(self, spec: _Spec, arg: str) -> None:
        spec.tags.append("request_prefix")
        first = f"Context: the repo uses tox.\n\n{REQUEST_PREFIX}\n  {self.text.ask()}  \n"
        self._simple(spec, first=first)

    def _zoo_meta_update(self, spec: _Spec, arg: str) -> None:
        spec.tags.append("meta_update")
        b = self.builder(spec)
        first = self.text.ask()
        written = self.add_turns(b, spec, spec.turns, first_text=first)
        if arg == "memory":
            b.tick(2000).update_meta(git=git_info("0" * 40, "main"))
            b.tick(2000).update_meta(git=None, memory_mode="disabled")
        else:
            sha = f"{self.rng.getrandbits(160):040x}"
            b.tick(2000).update_meta(git=git_info(sha, "release/2.0"))
        self.finish(spec, b, written, preview=first)

    def _zoo_old_meta(self, spec: _Spec, arg: str) -> None:
        spec.tags.append("old_meta")
        self._simple(
            spec, cli_version="0.50.0", history_mode=None, session_id=False, account_scoped=False
        )

    def _zoo_names(self, spec: _Spec, arg: str) -> None:
        names, tag = {
            "renamed": (["First name"], "renamed"),
            "empty_after": (["Kept name", ""], "empty_name"),
            "whitespace": (["  padded name\t "], "whitespace_name"),
            "empty_only": (["   "], "empty_name"),
        }[arg]
        spec.names = names
        spec.tags.append(tag)
        record = self._simple(spec)
        if arg == "renamed":
            # Appended at the end of the index with an *older* updated_at: file order wins.
            self.late_index_lines.append(self.index_line(spec.id, "Renamed", spec.created_ms))
            record.name = record.read_name = "Renamed"

    def _zoo_archived(self, spec: _Spec, arg: str) -> None:
        spec.archived = True
        spec.tags.append("archived")
        if arg == "compressed":
            self._zoo_damage(spec, Damage.COMPRESSED)
        else:
            spec.names = ["Archived but named"]
            spec.tags.append("named")
            self._simple(spec)

    def _zoo_subagent_spawn(self, spec: _Spec, arg: str) -> None:
        parent = self.plain[-1][1].id if self.plain else spec.id
        spec.tags.append("subagent_spawn")
        spawn = {
            "parent_thread_id": parent,
            "depth": 1,
            "agent_path": "/root/worker",
            "agent_nickname": "Ada",
            "agent_role": "explorer",
        }
        self._simple(
            spec,
            source={"subagent": {"thread_spawn": spawn}},
            agent_nickname="Ada",
            agent_role="explorer",
            agent_path="/root/worker",
            parent_thread_id=parent,
            thread_source="subagent",
        )

    def _zoo_legacy_fork(self, spec: _Spec, arg: str) -> None:
        spec.tags.append("legacy_fork")
        candidates = [p for p in self.plain if p[1].name] if arg == "named" else []
        parent_b, parent, inherited = (candidates or self.plain)[-1]
        b = self.builder(spec, forked_from_id=parent.id)
        b.foreign_meta(parent_b.meta)
        for line in parent_b.lines[1:]:
            b.raw(line)
        if parent.name is not None:
            spec.names.append(parent.name)
        written = _Written(list(inherited.users), list(inherited.agents))
        written.extend(self.add_turns(b, spec, 1))
        self.finish(spec, b, written, preview=parent.preview, forked_from_id=parent.id)

    # big thread ------------------------------------------------------------------------------

    def write_big(self) -> str:
        rng = self.rng
        created = to_ms(BASE_TIME) + SPAN_MS + 3_600_000
        spec = _Spec(len(self.records), created, uuid7(created, rng))
        spec.tags.append("big")
        b = self.builder(spec, source="cli", model_provider="openai")
        first = "Big thread: walk through every module and fix what is broken."
        written = _Written([first], [self.text.answer()], DEFAULT_MODEL)
        b.tick(500).turn(first, written.agents[0], environment_context=True)
        while b.size < self.big_bytes:
            call = ToolCall("exec_command", '{"cmd":"pytest -q"}', self.text.output(20000))
            user, agent = self.text.ask(), self.text.answer()
            b.tick(rng.randrange(5000, 60000)).turn(user, agent, tool_calls=[call])
            written.users.append(user)
            written.agents.append(agent)
        self.finish(spec, b, written, preview=first)
        return spec.id


def generate_home(
    root: Path,
    *,
    threads: int,
    seed: int,
    turns: tuple[int, int] = (1, 6),
    big_thread_mb: float = 0,
    archived_frac: float = 0.05,
    named_frac: float = 0.1,
    varied: bool = False,
) -> HomeManifest:
    """Write ``threads`` rollouts (plus one big thread when ``big_thread_mb`` > 0) under ``root``.

    Deterministic for a given ``seed`` (and local time zone). ``varied`` adds the zoo of
    unusual threads described in the module docstring (needs ``MIN_VARIED_THREADS`` or more).
    """
    if threads < 1:
        raise ValueError("threads must be at least 1")
    if turns[0] < 1 or turns[1] < turns[0]:
        raise ValueError("turns must be (min, max) with 1 <= min <= max")
    return _Generator(
        Path(root),
        threads=threads,
        seed=seed,
        turns=turns,
        big_thread_mb=big_thread_mb,
        archived_frac=archived_frac,
        named_frac=named_frac,
        varied=varied,
    ).run()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: write a home and its manifest (``threadloom-manifest.json``)."""
    parser = argparse.ArgumentParser(
        prog="python -m threadloom.testing.home_gen", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out", type=Path, help="the CODEX_HOME to write")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--big-thread-mb", type=float, default=0.0)
    parser.add_argument("--turns-min", type=int, default=1)
    parser.add_argument("--turns-max", type=int, default=6)
    parser.add_argument("--archived-frac", type=float, default=0.05)
    parser.add_argument("--named-frac", type=float, default=0.1)
    parser.add_argument("--varied", action="store_true")
    parser.add_argument("--manifest", type=Path, default=None, help="default: OUT/" + MANIFEST_NAME)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = generate_home(
        args.out,
        threads=args.threads,
        seed=args.seed,
        turns=(args.turns_min, args.turns_max),
        big_thread_mb=args.big_thread_mb,
        archived_frac=args.archived_frac,
        named_frac=args.named_frac,
        varied=args.varied,
    )
    manifest_path = args.manifest or args.out / MANIFEST_NAME
    manifest.write_json(manifest_path)
    elapsed = time.perf_counter() - started
    print(
        f"{manifest.thread_count} rollouts, {manifest.total_bytes / 2**20:.1f} MiB "
        f"in {elapsed:.1f} s; manifest: {manifest_path}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Deterministic, realistic OpenAI Responses API items for the live-thread benchmark.

A turn is ten items, the shape of one agentic coding turn in a Codex rollout::

    user message, reasoning, function_call, function_call_output, function_call,
    function_call_output, reasoning, function_call, function_call_output, assistant message

Items average about 5 KB as JSON: shell outputs are 1-20 KB of log-like text (listings,
``rg`` hits, test runs, build logs, source code), reasoning items carry an encrypted body of a
few KB as the real API returns. Each item exists as the raw Responses API dict (what the
OpenAI Agents SDK and LangGraph store) and as a threadloom ``RolloutLine`` wrapping that same
dict. The same seed always gives the same items.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from threadloom.protocol.codec import encode_line, format_timestamp
from threadloom.protocol.rollout import RESPONSE_ITEM, RolloutLine

TURN_ITEMS = 10
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; each item is 137 ms after the previous

_VOCABULARY = (
    "the a an of to in for on with from by and or but not this that it its we you they "
    "function class method module package test tests fixture config file files path paths "
    "directory error errors warning exception traceback stack frame value values key keys "
    "index cache buffer queue lock thread task loop event handler callback request response "
    "client server session thread store writer reader parser encoder decoder schema record "
    "field fields type types default option options flag flags argument arguments return "
    "returns import imports dependency version build release commit branch merge rebase diff "
    "patch line lines column row rows query table database migration timeout retry backoff "
    "latency throughput memory allocation leak compile runtime check checks lint format "
    "should would could need needs want make makes use uses using add adds remove removes "
    "update updates fix fixes change changes keep keeps read reads write writes load loads "
    "append flush sync async await call calls run runs fail fails pass passes skip"
)
_WORDS = _VOCABULARY.split()
_DIRS = (
    "src/app",
    "src/app/core",
    "src/app/api",
    "src/app/storage",
    "src/app/util",
    "tests",
    "tests/unit",
    "tests/integration",
    "scripts",
    "docs",
    "crates/engine/src",
    "web/src/components",
)
_STEMS = (
    "session",
    "writer",
    "reader",
    "index",
    "cache",
    "config",
    "server",
    "client",
    "models",
    "schema",
    "handlers",
    "routes",
    "queue",
    "worker",
    "utils",
    "errors",
    "codec",
    "history",
    "fork",
    "metrics",
)
_EXTS = (".py", ".py", ".py", ".ts", ".rs", ".md", ".toml", ".json")
_LIBS = ("serde", "tokio", "hyper", "regex", "clap", "anyhow", "tracing", "rand", "bytes", "libc")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_OUTPUT_KINDS = ("ls", "rg", "pytest", "git", "build", "cat", "log")
_POOL_LINES = 1500
_B64 = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True, slots=True)
class BenchItem:
    """One item in both forms: ``raw`` for the other libraries, ``line`` for threadloom."""

    raw: dict[str, Any]
    line: RolloutLine


class _Text:
    """Seeded generators of prose, paths and realistic shell output."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pools = {
            kind: [self._line(kind) for _ in range(_POOL_LINES)] for kind in _OUTPUT_KINDS
        }

    def words(self, n: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=n))

    def prose(self, size: int) -> str:
        """Sentences and short paragraphs of about ``size`` characters."""
        out: list[str] = []
        total = 0
        while total < size:
            sentence = self.words(self.rng.randint(6, 22)).capitalize() + "."
            if self.rng.random() < 0.25:
                sentence += f" See `{self.path()}` line {self.rng.randint(1, 900)}."
            if self.rng.random() < 0.12:
                sentence += "\n\n"
            out.append(sentence)
            total += len(sentence) + 1
        return " ".join(out)[:size]

    def path(self) -> str:
        rng = self.rng
        return f"{rng.choice(_DIRS)}/{rng.choice(_STEMS)}{rng.choice(_EXTS)}"

    def ident(self) -> str:
        return "_".join(self.rng.choices(_WORDS[10:], k=self.rng.randint(1, 3)))

    def _line(self, kind: str) -> str:
        """One line of the given kind of shell output (pooled, then sampled per output)."""
        rng = self.rng
        if kind == "ls":
            mode = rng.choice(("-rw-r--r--", "drwxr-xr-x", "-rwxr-xr-x"))
            day = f"{rng.choice(_MONTHS)} {rng.randint(1, 28):2d} {rng.randint(0, 23):02d}:"
            name = self.path().rsplit("/", 1)[1]
            size = rng.randint(0, 99999)
            return f"{mode}  1 dev  staff  {size:6d} {day}{rng.randint(0, 59):02d} {name}"
        if kind == "rg":
            code = f"{'    ' * rng.randint(0, 3)}{self.ident()} = {self.ident()}({self.ident()})"
            return f"{self.path()}:{rng.randint(1, 2400)}:{code}"
        if kind == "pytest":
            status = rng.choices(("PASSED", "FAILED", "SKIPPED"), weights=(90, 6, 4))[0]
            test = f"tests/test_{rng.choice(_STEMS)}.py::test_{self.ident()}"
            return f"{test} {status} [{rng.randint(0, 100):3d}%]"
        if kind == "git":
            sha = f"{rng.getrandbits(28):07x}"
            return f"{sha} {self.words(rng.randint(4, 10)).capitalize()}"
        if kind == "build":
            lib = rng.choice(_LIBS)
            ver = f"v{rng.randint(0, 2)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
            if rng.random() < 0.1:
                where = f"{self.path()}:{rng.randint(1, 900)}:9"
                return f"warning: unused variable: `{self.ident()}` --> {where}"
            return f"   Compiling {lib} {ver}"
        if kind == "cat":
            indent = "    " * rng.randint(0, 3)
            shape = rng.random()
            if shape < 0.2:
                return f"{indent}def {self.ident()}(self, {self.ident()}: int) -> str:"
            if shape < 0.35:
                return f'{indent}"""{self.words(rng.randint(4, 12)).capitalize()}."""'
            if shape < 0.5:
                return f"{indent}return {self.ident()}.{self.ident()}()"
            return f"{indent}{self.ident()} = {self.ident()}[{rng.randint(0, 64)}]"
        level = rng.choices(("INFO", "DEBUG", "WARN", "ERROR"), weights=(60, 25, 10, 5))[0]
        clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        ms = rng.randint(0, 999)
        stamp = f"2026-01-{rng.randint(1, 28):02d}T{clock}.{ms:03d}Z"
        return f"{stamp} {level:5} {rng.choice(_STEMS)}: {self.words(rng.randint(3, 12))}"

    def shell_output(self, size: int) -> tuple[str, str]:
        """A (command, output) pair; the output is about ``size`` characters of one kind."""
        rng = self.rng
        kind = rng.choice(_OUTPUT_KINDS)
        command = {
            "ls": f"ls -la {rng.choice(_DIRS)}",
            "rg": f"rg -n '{self.ident()}' {rng.choice(_DIRS)}",
            "pytest": f"pytest -q tests/test_{rng.choice(_STEMS)}.py",
            "git": "git log --oneline -n 200",
            "build": "cargo build --release",
            "cat": f"sed -n '1,400p' {self.path()}",
            "log": f"tail -n 300 logs/{rng.choice(_STEMS)}.log",
        }[kind]
        pool = self.pools[kind]
        lines: list[str] = []
        total = 0
        while total < size:
            batch = rng.choices(pool, k=max(8, (size - total) // 60))
            lines.extend(batch)
            total += sum(len(s) + 1 for s in batch)
        body = "\n".join(lines)[:size]
        code = 0 if rng.random() < 0.85 else 1
        wall = rng.uniform(0.01, 9.0)
        return command, f"Exit code: {code}\nWall time: {wall:.1f} seconds\nOutput:\n{body}\n"

    def blob(self, size: int) -> str:
        """Base64-looking opaque text (reasoning ``encrypted_content``)."""
        raw = self.rng.randbytes(size * 3 // 4)
        return "gAAAAA" + base64.b64encode(raw).decode()

    def token(self, n: int) -> str:
        return "".join(self.rng.choices(_B64[:62], k=n))


def _turn(text: _Text) -> list[dict[str, Any]]:
    """The ten Responses API items of one turn."""
    rng = text.rng
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text.prose(rng.randint(120, 1800))}],
        }
    ]

    def reasoning() -> dict[str, Any]:
        return {
            "type": "reasoning",
            "id": "rs_" + text.token(32),
            "summary": [{"type": "summary_text", "text": text.prose(rng.randint(200, 1200))}],
            "content": None,
            "encrypted_content": text.blob(rng.randint(1500, 5000)),
        }

    def call(size: int) -> list[dict[str, Any]]:
        command, output = text.shell_output(size)
        call_id = "call_" + text.token(24)
        arguments = {
            "command": ["bash", "-lc", command],
            "workdir": "/home/dev/project",
            "timeout_ms": 120_000,
        }
        return [
            {
                "type": "function_call",
                "id": "fc_" + text.token(32),
                "name": "shell",
                "arguments": json.dumps(arguments, separators=(",", ":")),
                "call_id": call_id,
            },
            {"type": "function_call_output", "call_id": call_id, "output": output},
        ]

    def output_size() -> int:
        # 1-20 KB, skewed up (mean ~12 KB): most tool runs print a screenful or more.
        return int(1024 * (1 + 19 * rng.random() ** 0.7))

    items.append(reasoning())
    items += call(output_size())
    items += call(output_size())
    items.append(reasoning())
    items += call(output_size())
    items.append(
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text.prose(rng.randint(1000, 5500))}],
        }
    )
    assert len(items) == TURN_ITEMS
    return items


def wrap(raw: dict[str, Any], index: int) -> BenchItem:
    """The item as a ``response_item`` rollout line stamped ``index`` steps after the start."""
    line = RolloutLine(
        timestamp=format_timestamp(START_MS + 137 * index), type=RESPONSE_ITEM, payload=raw
    )
    return BenchItem(raw=raw, line=line)


def generate_raw(n_items: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n_items`` Responses API dicts (whole turns, cut to length), always the same per seed."""
    text = _Text(random.Random(seed))
    out: list[dict[str, Any]] = []
    while len(out) < n_items:
        out += _turn(text)
    return out[:n_items]


def generate(n_items: int, seed: int = 1) -> list[BenchItem]:
    """``n_items`` items in both forms; item ``i`` is in turn ``i // 10``."""
    return [wrap(raw, i) for i, raw in enumerate(generate_raw(n_items, seed))]


def fresh_copies(items: list[BenchItem], start: int) -> Iterator[BenchItem]:
    """Deep copies of ``items`` (new objects: a store that keeps them shows up in memory)."""
    for i, item in enumerate(items):
        yield wrap(msgspec.json.decode(msgspec.json.encode(item.raw)), start + i)


@dataclass(frozen=True, slots=True)
class ItemStats:
    """Sizes of a set of items, as JSON and as rollout lines."""

    count: int
    avg_json_bytes: float
    avg_line_bytes: float
    avg_by_type: dict[str, float]


def stats(items: list[BenchItem]) -> ItemStats:
    """Average encoded sizes overall and per item type."""
    sizes: dict[str, list[int]] = {}
    json_total = 0
    line_total = 0
    for item in items:
        n = len(msgspec.json.encode(item.raw))
        json_total += n
        line_total += len(encode_line(item.line)) + 1
        kind = str(item.raw["type"])
        if kind == "message":
            kind = f"message/{item.raw['role']}"
        sizes.setdefault(kind, []).append(n)
    count = max(1, len(items))
    return ItemStats(
        count=len(items),
        avg_json_bytes=json_total / count,
        avg_line_bytes=line_total / count,
        avg_by_type={k: sum(v) / len(v) for k, v in sorted(sizes.items())},
    )

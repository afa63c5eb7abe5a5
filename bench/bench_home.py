"""The benchmark CODEX_HOME: generated once under ``bench/out/`` (as ``listing_bench.py`` does).

``resolve_home`` returns the home and a small manifest (``typical_thread``, ``big_thread``,
``search_terms``, ``cwd``): from threadloom's own ``threadloom-manifest.json``, from a reference
workload's ``bench-manifest.json``, or by generating the home (deterministic for a seed; the
same path and generator arguments as ``listing_bench.py``, so both reuse one cached home).
``fresh_copy`` copies a home without any server's index, for one server run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MANIFEST = "threadloom-manifest.json"
REFERENCE_MANIFEST = "bench-manifest.json"
INDEX_DIR = "threadloom"
DATABASES = ("state_5.sqlite", "thread_history_1.sqlite")
"""Codex's databases (with their ``-wal``/``-shm`` siblings), left out of a fresh copy."""


def default_home(threads: int, seed: int) -> Path:
    """Where a generated home of ``threads`` threads lives (shared by the benchmarks)."""
    return OUT / f"home-{threads}-{seed}"


def _from_reference(raw: dict[str, Any]) -> dict[str, Any]:
    projects = raw.get("projects_root")
    cwd = Path(projects) / "threadloom" if projects else None
    terms = raw.get("search_terms") or []
    return {
        "typical_thread": raw["typical"]["id"],
        "big_thread": (raw.get("big") or {}).get("id"),
        "search_terms": [{"term": term} for term in terms],
        "cwd": str(cwd) if cwd is not None and cwd.is_dir() else None,
    }


def resolve_home(
    home: Path | None, *, threads: int, seed: int, big_thread_mb: float
) -> tuple[Path, dict[str, Any]]:
    """The home to measure and its manifest, generating the home when it has none."""
    path = home or default_home(threads, seed)
    own = path / MANIFEST
    reference = path / REFERENCE_MANIFEST
    if not own.exists() and reference.exists():
        return path, _from_reference(json.loads(reference.read_text()))
    if not own.exists():
        from threadloom.testing.home_gen import generate_home  # noqa: PLC0415 - only when needed

        print(f"generating {threads} threads into {path} …", file=sys.stderr)
        manifest = generate_home(
            path, threads=threads, seed=seed, turns=(2, 40), big_thread_mb=big_thread_mb
        )
        manifest.write_json(own)
    raw = json.loads(own.read_text())
    raw["cwd"] = None
    return path, raw


def fresh_copy(home: Path, label: str) -> Path:
    """Copy ``home`` (without threadloom's or Codex's index) into a new folder under ``OUT``."""
    OUT.mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix=f"copy-{label}-", dir=OUT))
    for entry in sorted(home.iterdir()):
        if entry.name == INDEX_DIR or entry.name.startswith(DATABASES):
            continue
        subprocess.run(["cp", "-a", "--reflink=auto", str(entry), str(dest)], check=True)
    return dest


def remove_copy(path: Path) -> None:
    """Delete a copy made by :func:`fresh_copy`."""
    shutil.rmtree(path, ignore_errors=True)


def rollout_stats(home: Path) -> tuple[int, int]:
    """(number of rollout files, their total bytes) under ``home``."""
    files = [f for f in home.rglob("rollout-*.jsonl*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files)

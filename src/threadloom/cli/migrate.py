"""``threadloom migrate``: copy threads between a CODEX_HOME and PostgreSQL (``postgres`` extra)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from threadloom.cli import render
from threadloom.cli.postgres_extra import postgres_imports, reported_errors

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)
URL_SCHEMES = ("postgresql://", "postgres://")


def _is_url(value: str) -> bool:
    return value.startswith(URL_SCHEMES)


def migrate_command(
    source: Annotated[
        str, typer.Option("--from", help="A CODEX_HOME folder, or a postgresql:// URL.")
    ],
    target: Annotated[str, typer.Option("--to", help="A postgresql:// URL, or a CODEX_HOME.")],
    owner: Annotated[
        str, typer.Option("--owner", help="The account the threads belong to in PostgreSQL.")
    ] = "default",
    schema: Annotated[
        str, typer.Option("--schema", help="PostgreSQL schema holding threadloom's tables.")
    ] = "threadloom",
) -> None:
    """Copy every thread between a CODEX_HOME and PostgreSQL, either way.

    Names, archived threads, metadata and spawn edges included. Safe to interrupt and run
    again: a re-run copies only what is new or changed. Counts are verified at the end.
    """
    if _is_url(source) == _is_url(target):
        _err.print(
            "[red]error:[/red] one of --from and --to must be a postgresql:// URL, the other"
            " a CODEX_HOME folder",
            highlight=False,
        )
        raise typer.Exit(2)
    with postgres_imports(_err, "migrating to or from PostgreSQL"):
        from threadloom import migrate  # noqa: PLC0415
    if not _is_url(source) and not Path(source).expanduser().is_dir():
        _err.print(f"[red]error:[/red] no such CODEX_HOME folder: {source}", highlight=False)
        raise typer.Exit(2)
    with render.progress(_err) as (bar, task):

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        with reported_errors(_err):
            if _is_url(target):
                report = asyncio.run(
                    migrate.migrate_home_to_postgres(
                        Path(source).expanduser(),
                        target,
                        owner=owner,
                        schema=schema,
                        progress=progress,
                    )
                )
            else:
                report = asyncio.run(
                    migrate.migrate_postgres_to_home(
                        source,
                        Path(target).expanduser(),
                        owner=owner,
                        schema=schema,
                        progress=progress,
                    )
                )
    _out.print(
        f"{report.threads} threads from {report.source} to {report.target}: {report.copied}"
        f" copied, {report.unchanged} unchanged, {len(report.failed)} failed;"
        f" {report.spawn_edges} spawn edges",
        highlight=False,
    )
    if report.not_threads:
        _out.print(
            f"{len(report.not_threads)} rollout files hold no usable session metadata (not"
            " threads: nothing to copy)",
            highlight=False,
        )
    for thread_id, why in report.failed:
        _err.print(f"[red]failed:[/red] {thread_id}: {why}", highlight=False)
    if report.verified:
        counted = ", ".join(f"{key} {value}" for key, value in report.found.items())
        _out.print(f"verified: {counted}", highlight=False)
        return
    for mismatch in report.mismatches():
        _err.print(f"[red]count mismatch:[/red] {mismatch}", highlight=False)
    raise typer.Exit(1)

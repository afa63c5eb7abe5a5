"""``threadloom db``: administration of a PostgreSQL thread store (``postgres`` extra)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from threadloom.cli.postgres_extra import postgres_imports, reported_errors

db_app = typer.Typer(
    name="db",
    help="Manage a PostgreSQL thread store (needs the postgres extra).",
    no_args_is_help=True,
    add_completion=False,
)
_out = Console()
_err = Console(stderr=True)


@db_app.callback()
def db_group() -> None:
    """Manage a PostgreSQL thread store (needs the postgres extra)."""


@db_app.command("upgrade")
def upgrade_command(
    url: Annotated[str, typer.Argument(help="libpq URL, e.g. postgresql://user@host/db.")],
    schema: Annotated[
        str, typer.Option("--schema", help="PostgreSQL schema holding threadloom's tables.")
    ] = "threadloom",
) -> None:
    """Create or upgrade threadloom's tables (numbered migrations; safe to run again)."""
    with postgres_imports(_err, "the PostgreSQL store"):
        from threadloom.store.postgres import schema as migrations  # noqa: PLC0415
    with reported_errors(_err):
        result = asyncio.run(migrations.upgrade(url, schema))
    if result.applied:
        applied = ", ".join(str(v) for v in result.applied)
        _out.print(
            f"schema {result.schema}: version {result.before} → {result.after} (applied {applied})",
            highlight=False,
        )
    else:
        _out.print(f"schema {result.schema}: already at version {result.after}", highlight=False)

"""``threadloom db``: administration of a PostgreSQL thread store (``postgres`` extra)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from threadloom.errors import ThreadloomError

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
    try:
        import psycopg  # noqa: PLC0415 - optional extra

        from threadloom.store.postgres import schema as migrations  # noqa: PLC0415
    except ImportError as exc:
        _err.print(
            f"[red]error:[/red] the PostgreSQL store needs the postgres extra"
            f" (pip install 'threadloom[postgres]'): {exc}",
            highlight=False,
        )
        raise typer.Exit(1) from None
    try:
        result = asyncio.run(migrations.upgrade(url, schema))
    except ThreadloomError as exc:
        _err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    except psycopg.Error as exc:
        _err.print(f"[red]error:[/red] {str(exc).strip()}", highlight=False)
        raise typer.Exit(1) from None
    if result.applied:
        applied = ", ".join(str(v) for v in result.applied)
        _out.print(
            f"schema {result.schema}: version {result.before} → {result.after} (applied {applied})",
            highlight=False,
        )
    else:
        _out.print(f"schema {result.schema}: already at version {result.after}", highlight=False)

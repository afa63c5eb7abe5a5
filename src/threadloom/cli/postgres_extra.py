"""How commands that use PostgreSQL (the ``postgres`` extra) report its absence and errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

from threadloom.errors import ThreadloomError


@contextlib.contextmanager
def postgres_imports(err: Console, what: str) -> Iterator[None]:
    """Around the lazy imports of a command: a missing extra (psycopg, checked here, or an
    import in the block) ends it with exit code 1, saying ``what`` needs it."""
    try:
        import psycopg  # noqa: F401, PLC0415 - optional extra

        yield
    except ImportError as exc:
        err.print(
            f"[red]error:[/red] {what} needs the postgres extra"
            f" (pip install 'threadloom[postgres]'): {exc}",
            highlight=False,
        )
        raise typer.Exit(1) from None


@contextlib.contextmanager
def reported_errors(err: Console) -> Iterator[None]:
    """Around the work of a command: a threadloom or PostgreSQL error ends it with exit code 1
    and its message. Use only once the extra is known to be installed."""
    import psycopg  # noqa: PLC0415 - optional extra

    try:
        yield
    except ThreadloomError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    except psycopg.Error as exc:
        err.print(f"[red]error:[/red] {str(exc).strip()}", highlight=False)
        raise typer.Exit(1) from None

"""The ``threadloom`` command line: thin commands over the library.

Every command honours ``--home`` (else ``$CODEX_HOME``, else ``~/.codex``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from threadloom.api.thread import list_result_json, read_result_json
from threadloom.cli import render
from threadloom.cli.db import db_app
from threadloom.cli.migrate import migrate_command
from threadloom.errors import ThreadloomError
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.store.local import LocalThreadStore
from threadloom.store.local.layout import CodexHome
from threadloom.store.params import (
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    SortDirection,
    SortKey,
    ThreadIdParams,
)

app = typer.Typer(
    name="threadloom",
    help="Durable, forkable, searchable conversation threads in Codex's on-disk format.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="CODEX_HOME to use (default: $CODEX_HOME or ~/.codex)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the app-server JSON result.")]


class SourceKind(StrEnum):
    cli = "cli"
    vscode = "vscode"
    exec = "exec"
    appServer = "appServer"  # noqa: N815 - the API's spelling
    subAgent = "subAgent"  # noqa: N815
    subAgentReview = "subAgentReview"  # noqa: N815
    subAgentCompact = "subAgentCompact"  # noqa: N815
    subAgentThreadSpawn = "subAgentThreadSpawn"  # noqa: N815
    subAgentOther = "subAgentOther"  # noqa: N815
    unknown = "unknown"


def _store(home: Path | None) -> LocalThreadStore:
    return LocalThreadStore(CodexHome.from_env(home).root)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except ThreadloomError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
        raise typer.Exit(1) from None


def _thread_id(raw: str) -> ThreadId:
    try:
        return parse_thread_id(raw)
    except ThreadloomError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
        raise typer.Exit(2) from None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@app.command("list")
def list_command(
    home: HomeOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=0, help="Page size (25 by default, at most 100).")] = 25,
    cursor: Annotated[str | None, typer.Option(help="Continue from this cursor.")] = None,
    sort_key: Annotated[SortKey, typer.Option(help="Sort key.")] = SortKey.CREATED_AT,
    sort_direction: Annotated[SortDirection, typer.Option(help="Sort direction.")] = (
        SortDirection.DESC
    ),
    provider: Annotated[
        list[str] | None, typer.Option(help="Only these model providers (repeatable).")
    ] = None,
    all_providers: Annotated[bool, typer.Option(help="Every model provider.")] = False,
    source: Annotated[
        list[SourceKind] | None, typer.Option(help="Only these source kinds (repeatable).")
    ] = None,
    archived: Annotated[bool, typer.Option(help="List archived threads instead.")] = False,
    cwd: Annotated[list[str] | None, typer.Option(help="Only this working directory.")] = None,
    search: Annotated[str | None, typer.Option(help="Substring of the name or preview.")] = None,
) -> None:
    """List threads as Codex's thread/list does."""
    providers: list[str] | None = [] if all_providers else (provider or None)
    params = ListThreadsParams(
        limit=limit,
        cursor=cursor,
        sort_key=sort_key,
        sort_direction=sort_direction,
        model_providers=providers,
        source_kinds=[s.value for s in source or []],
        archived=archived,
        cwds=cwd or None,
        search_term=search,
    )

    async def go() -> None:
        store = _store(home)
        try:
            page = await store.list_threads(params)
        finally:
            await store.close()
        if as_json:
            _print_json(list_result_json(page))
        else:
            render.thread_table(out, page)

    _run(go())


@app.command("show")
def show_command(
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a thread's metadata and conversation."""
    tid = _thread_id(thread_id)

    async def go() -> None:
        store = _store(home)
        try:
            thread = await store.read_thread(
                ReadThreadParams(thread_id=tid, include_history=not as_json)
            )
        finally:
            await store.close()
        if as_json:
            _print_json(read_result_json(thread))
        else:
            render.thread_detail(out, thread)

    _run(go())


@app.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="Words to find in what users and assistants said.")],
    home: HomeOption = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    archived: Annotated[bool, typer.Option(help="Search archived threads instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Full-text search over every thread."""

    async def go() -> None:
        store = _store(home)
        try:
            page = await store.search_threads(
                SearchThreadsParams(query=text, limit=limit, archived=archived)
            )
        finally:
            await store.close()
        if as_json:
            _print_json(render.search_json(page))
        else:
            render.search_table(out, page)

    _run(go())


def _mutate(
    home: Path | None, done: str, op: Callable[[LocalThreadStore], Awaitable[object]]
) -> None:
    """Run one store operation and say what was done."""

    async def go() -> None:
        store = _store(home)
        try:
            await op(store)
        finally:
            await store.close()
        out.print(done, highlight=False)

    _run(go())


@app.command("rename")
def rename_command(
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    name: Annotated[str, typer.Argument(help="New name.")],
    home: HomeOption = None,
) -> None:
    """Give a thread a name (as thread/name/set does)."""
    tid = _thread_id(thread_id)
    params = SetThreadNameParams(thread_id=tid, name=name)
    _mutate(home, f"renamed {tid}", lambda store: store.set_thread_name(params))


@app.command("archive")
def archive_command(
    thread_id: Annotated[str, typer.Argument(help="Thread id.")], home: HomeOption = None
) -> None:
    """Move a thread to archived_sessions/."""
    tid = _thread_id(thread_id)
    params = ThreadIdParams(thread_id=tid)
    _mutate(home, f"archived {tid}", lambda store: store.archive_thread(params))


@app.command("unarchive")
def unarchive_command(
    thread_id: Annotated[str, typer.Argument(help="Thread id.")], home: HomeOption = None
) -> None:
    """Move an archived thread back under sessions/."""
    tid = _thread_id(thread_id)
    params = ThreadIdParams(thread_id=tid)
    _mutate(home, f"unarchived {tid}", lambda store: store.unarchive_thread(params))


@app.command("delete")
def delete_command(
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    home: HomeOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a thread's rollout files and names for good."""
    tid = _thread_id(thread_id)
    if not yes and not typer.confirm(f"Delete thread {tid} permanently?"):
        raise typer.Exit(1)
    params = ThreadIdParams(thread_id=tid)
    _mutate(home, f"deleted {tid}", lambda store: store.delete_thread(params))


@app.command("index")
def index_command(
    home: HomeOption = None,
    rebuild: Annotated[bool, typer.Option(help="Drop the index and build it anew.")] = False,
) -> None:
    """Refresh (or rebuild) threadloom's index of the home, with a progress bar."""
    store = _store(home)
    try:
        with render.progress(err) as (bar, task):

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            stats = store.rebuild(report) if rebuild else store.refresh(report)
            bar.update(task, description="search texts", completed=0, total=None)
            texts = store.index_texts(report)
    finally:
        asyncio.run(store.close())
    out.print(
        f"{stats.threads} threads indexed; {stats.files_read} files read "
        f"({stats.bytes_read / 1e6:.1f} MB), {stats.removed} removed; {texts} messages added "
        "to the search index"
    )


@app.command("app-server")
def app_server(
    home: HomeOption = None,
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            metavar="URL",
            help="stdio:// (JSON lines on stdin/stdout) or ws://IP:PORT (WebSocket; port 0 picks"
            " a free one; loopback unless a token is set).",
        ),
    ] = "stdio://",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="THREADLOOM_APP_SERVER_TOKEN",
            show_envvar=True,
            help="WebSocket clients must send Authorization: Bearer <token>; required to listen"
            " on a non-loopback address.",
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="URL",
            help="Thread store: a CODEX_HOME path (default: the home) or postgresql://... (needs"
            " the postgres extra). Settings still come from the home's config.toml.",
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Whose threads, in a postgresql:// store (default: default)."),
    ] = None,
) -> None:
    """Serve Codex's app-server thread API (JSON-RPC) on stdio or WebSocket."""
    from threadloom.server.main import serve, tune_gc  # noqa: PLC0415 - only this command

    tune_gc()
    try:
        _run(serve(CodexHome.from_env(home).root, listen, token, store, owner))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


app.add_typer(db_app)
app.command("migrate")(migrate_command)


def main() -> None:
    """Console-script entry point."""
    app()

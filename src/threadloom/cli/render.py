"""How the CLI shows things: tables, a thread's conversation, progress bars."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from threadloom.api.thread import thread_json
from threadloom.protocol.rollout import EVENT_MSG
from threadloom.store.records import SearchPage, StoredThread, ThreadPage


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _one_line(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def thread_table(console: Console, page: ThreadPage) -> None:
    table = Table(show_lines=False, header_style="bold")
    for column in ("id", "created", "updated", "name / preview", "source", "cwd"):
        table.add_column(column, overflow="fold" if column == "id" else "ellipsis")
    for t in page.items:
        title = t.name or _one_line(t.preview)
        table.add_row(
            t.thread_id,
            _when(t.created_at_ms),
            _when(t.updated_at_ms),
            escape(title),
            escape(str(t.source.api())),
            escape(t.cwd),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor '{page.next_cursor}'", style="dim", highlight=False)


def thread_detail(console: Console, thread: StoredThread) -> None:
    console.print(f"[bold]{escape(thread.name or thread.preview[:80] or thread.thread_id)}[/bold]")
    meta = thread_json(thread, listing=False)
    for key in ("id", "createdAt", "updatedAt", "modelProvider", "model", "source", "cwd", "path"):
        console.print(f"  {key}: {escape(str(meta[key]))}", highlight=False)
    if thread.history is None:
        return
    console.print()
    for line in thread.history.items:
        if line.type != EVENT_MSG or not isinstance(line.payload, dict):
            continue
        kind = line.payload.get("type")
        text = line.payload.get("message")
        if kind in ("user_message", "agent_message") and isinstance(text, str) and text:
            who = "[cyan]user[/cyan]" if kind == "user_message" else "[green]assistant[/green]"
            console.print(f"{who} {escape(text)}", highlight=False)


def search_json(page: SearchPage) -> dict[str, Any]:
    return {
        "data": [
            {
                "thread": thread_json(hit.thread, listing=True),
                "turnId": hit.turn_id,
                "role": hit.role,
                "snippet": hit.snippet,
                "score": hit.score,
            }
            for hit in page.items
        ],
        "nextCursor": page.next_cursor,
    }


def search_table(console: Console, page: SearchPage) -> None:
    table = Table(header_style="bold")
    for column in ("id", "name / preview", "turn", "match"):
        table.add_column(column, overflow="fold" if column == "id" else "ellipsis")
    for hit in page.items:
        title = hit.thread.name or _one_line(hit.thread.preview, 40)
        table.add_row(
            hit.thread.thread_id,
            escape(title),
            escape(hit.turn_id or ""),
            escape(_one_line(hit.snippet, 90)),
        )
    console.print(table)


@contextlib.contextmanager
def progress(console: Console) -> Iterator[tuple[Progress, TaskID]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        yield bar, bar.add_task("indexing", total=None)

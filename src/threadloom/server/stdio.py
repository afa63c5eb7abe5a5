"""The stdio transport: one JSON message per line on stdin, replies on stdout."""

from __future__ import annotations

import asyncio
import sys
from typing import BinaryIO

from threadloom.server.app import AppServer

MAX_LINE = 256 << 20
"""Longer lines are dropped (read through and ignored), the connection stays usable."""


async def serve_stdio(
    server: AppServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> None:
    """Serve one connection on stdin/stdout until stdin closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE, loop=loop)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), stdin or sys.stdin
    )
    out = stdout or sys.stdout.buffer
    write_lock = asyncio.Lock()

    async def send(data: bytes) -> None:
        async with write_lock:
            out.write(data + b"\n")
            out.flush()

    conn = server.connect(send)
    try:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    await server.receive(conn, exc.partial)
                break
            except asyncio.LimitOverrunError as exc:
                await _skip_line(reader, exc.consumed)
                continue
            if line.strip():
                await server.receive(conn, line)
    finally:
        await server.disconnect(conn)


async def _skip_line(reader: asyncio.StreamReader, consumed: int) -> None:
    """Drop an over-long line without holding it in memory."""
    await reader.readexactly(consumed)
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError:
            return

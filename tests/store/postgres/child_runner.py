"""Running ``child.py`` writer processes from the tests."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("child.py")


def spawn(command: str, url: str, owner: str, *args: object) -> subprocess.Popen[str]:
    """Start a writer process (see child.py)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), command, url, owner, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def finish(proc: subprocess.Popen[str], timeout: float = 120) -> list[dict[str, Any]]:
    """Wait for a writer process to end well; what it printed."""
    out, err = await asyncio.to_thread(proc.communicate, timeout=timeout)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def ready(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """Wait until a writer process says it is ready (its thread is set up)."""
    assert proc.stdout is not None
    first = await asyncio.to_thread(proc.stdout.readline)
    if not first:
        await finish(proc)  # shows why it ended
    assert json.loads(first) == {"ready": True}
    return proc

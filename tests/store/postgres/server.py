"""The PostgreSQL server the tests use, and databases the tests create and drop on it.

The server is ``$THREADLOOM_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``;
the role needs CREATEDB). Each test process creates one database (``tl_test_<pid>_<random>``),
dropped when the process exits; tests isolate themselves in it with an owner of their own.
Migration tests create and drop databases of their own. Without a reachable server the tests
are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

URL_ENV = "THREADLOOM_TEST_PG_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "tl_test_"

_state: dict[str, str] = {}
"""``reachable``: ``"ok"`` once the server answered, else why it cannot be used;
``database``: this process's test database."""


def server_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


def _unusable(reason: str) -> None:
    message = f"PostgreSQL tests need a server at {URL_ENV} ({server_url()}): {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_server() -> str:
    """The server's URL; skips (fails under CI=true) when it cannot be used."""
    if "reachable" not in _state:
        try:
            import psycopg  # noqa: PLC0415 - optional extra
            import psycopg_pool  # noqa: F401, PLC0415
        except ImportError as exc:
            _state["reachable"] = f"install the postgres extra ({exc})"
        else:
            try:
                with psycopg.connect(server_url(), connect_timeout=3, autocommit=True):
                    _state["reachable"] = "ok"
            except psycopg.Error as exc:
                _state["reachable"] = f"cannot connect: {str(exc).strip()}"
    if _state["reachable"] != "ok":
        _unusable(_state["reachable"])
    return server_url()


def database_url(name: str) -> str:
    """The server's URL, naming another database."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    return make_conninfo(server_url(), dbname=name)


def as_uri(conninfo: str) -> str:
    """The same connection as a ``postgresql://`` URI (what the command line takes)."""
    from urllib.parse import quote, urlencode  # noqa: PLC0415

    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    dbname, user = params.pop("dbname", ""), params.pop("user", "")
    password = params.pop("password", "")
    host = "" if params.get("host", "").startswith("/") else params.pop("host", "")
    port = "" if not host else params.pop("port", "")
    login = f"{quote(user, safe='')}{':' + quote(password, safe='') if password else ''}@"
    netloc = (login if user else "") + host + (f":{port}" if port else "")
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{netloc}/{quote(dbname, safe='')}{query}"


@contextlib.contextmanager
def _admin() -> Iterator[Any]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(server_url(), connect_timeout=10, autocommit=True) as conn:
        yield conn


def _tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def create_database() -> str:
    """Create an empty database (named for this process); its name."""
    from psycopg import sql  # noqa: PLC0415

    name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        _reap(conn)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(_tag())
            )
        )
    return name


def drop_database(name: str) -> None:
    from psycopg import sql  # noqa: PLC0415

    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _reap(conn: Any) -> None:
    """Drop test databases left by dead processes of this host (killed test runs)."""
    from psycopg import sql  # noqa: PLC0415

    host = socket.gethostname()
    rows = conn.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"
        " WHERE datname LIKE %s",
        (PREFIX + "%",),
    ).fetchall()
    for name, tag in rows:
        owner_host, _, pid = (tag or "").rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(Exception):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_database_url() -> str:
    """This process's test database (created on first use, dropped at exit)."""
    require_server()
    if "database" not in _state:
        _state["database"] = create_database()
        atexit.register(drop_database, _state["database"])
    return database_url(_state["database"])


def new_owner() -> str:
    """An owner no other test uses."""
    return f"test-{uuid.uuid4().hex}"


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A database of its own for one test (migration tests); dropped afterwards."""
    require_server()
    name = create_database()
    try:
        yield database_url(name)
    finally:
        drop_database(name)

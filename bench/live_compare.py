"""The libraries under comparison, each behind the same small async interface.

* ``ThreadloomAdapter``: ``threadloom.LiveThread`` on a ``LocalThreadStore`` (JSONL rollout
  files). ``append`` returns before the disk write; ``flush`` makes the items durable.
* ``AgentsAdapter``: the OpenAI Agents SDK's ``SQLiteSession`` on a database file. Every
  ``add_items`` call is one committed transaction (WAL journal); ``flush`` has nothing to do.
* ``LangGraphAdapter``: a real ``StateGraph`` with a list-append reducer on its messages,
  compiled with the ``SqliteSaver`` checkpointer; one ``invoke`` per append. See its docstring
  for why this is the fair and typical use.

The third-party packages are imported inside their adapters only (``pip install -e
'.[bench]'``), so this module imports, and type-checks, without them.
"""

from __future__ import annotations

import asyncio
import importlib
import operator
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypedDict

from live_items import BenchItem
from threadloom import (
    CreateThreadParams,
    EventMode,
    LiveThread,
    LoadHistoryParams,
    LocalThreadStore,
    ThreadId,
    new_thread_id,
)


class AdapterUnavailable(RuntimeError):
    """The library (or the part of it the bench needs) is not installed."""


class Adapter:
    """One library's conversation storage, reduced to what the bench measures.

    A *thread* handle is whatever the library uses for one conversation. A *reader* is a
    freshly opened handle on an existing thread, as a new process would open it.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    buffered: ClassVar[bool] = False
    """True when ``append`` returns before the items are on disk (``flush`` then waits)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def open(self) -> None:
        """Import the library and set up its storage under ``root``."""

    async def create(self) -> Any:
        """A new, empty thread."""
        raise NotImplementedError

    async def append(self, thread: Any, items: Sequence[BenchItem]) -> None:
        """Append items to the thread (durable on return unless ``buffered``)."""
        raise NotImplementedError

    async def flush(self, thread: Any) -> None:
        """Make everything appended so far durable."""

    async def load(self, thread: Any, last: int | None = None) -> int:
        """Load the thread's history (all, or the last ``last`` items); return the count."""
        raise NotImplementedError

    async def open_reader(self, thread: Any) -> Any:
        """A fresh handle on the thread, as another process would open it."""
        raise NotImplementedError

    async def read(self, reader: Any) -> int:
        """Load the whole history through a reader; return the count."""
        raise NotImplementedError

    async def close_reader(self, reader: Any) -> None:
        """Release a reader."""

    async def fork(self, thread: Any, keep: int) -> Any | None:
        """A new thread holding the first ``keep`` items, or None: the library has no fork."""
        return None

    async def close_thread(self, thread: Any) -> None:
        """Release one thread handle."""

    async def close(self) -> None:
        """Release the library's storage."""

    def notes(self) -> list[str]:
        """What the reader of the figures should know (durability settings...)."""
        return []


# --- threadloom -------------------------------------------------------------------------


@dataclass(slots=True)
class _LiveHandle:
    thread_id: ThreadId
    live: LiveThread


class ThreadloomAdapter(Adapter):
    """``LiveThread`` (event mode LIMITED) on a ``LocalThreadStore`` in a temp CODEX_HOME.

    ``load`` is ``LiveThread.load_history``, which reads the rollout file through the store
    (the live thread keeps no copy of a materialised history); ``fork`` is ``LiveThread.fork``
    with ``keep_items`` lines after the session_meta line.
    """

    key = "threadloom"
    title = "threadloom LiveThread"
    buffered = True

    async def open(self) -> None:
        self.home = self.root / "codex_home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = LocalThreadStore(self.home, watch=False)

    def _params(self) -> CreateThreadParams:
        return CreateThreadParams(
            thread_id=new_thread_id(), cwd=str(self.home), originator="bench", cli_version="0.169.0"
        )

    async def create(self) -> _LiveHandle:
        params = self._params()
        live = await LiveThread.create(self.store, params, event_mode=EventMode.LIMITED)
        return _LiveHandle(params.thread_id, live)

    async def append(self, thread: _LiveHandle, items: Sequence[BenchItem]) -> None:
        await thread.live.append([item.line for item in items])

    async def flush(self, thread: _LiveHandle) -> None:
        await thread.live.flush()

    async def load(self, thread: _LiveHandle, last: int | None = None) -> int:
        return len((await thread.live.load_history(last=last)).items)

    async def open_reader(self, thread: _LiveHandle) -> tuple[LocalThreadStore, ThreadId]:
        return LocalThreadStore(self.home, watch=False), thread.thread_id

    async def read(self, reader: tuple[LocalThreadStore, ThreadId]) -> int:
        store, thread_id = reader
        return len((await store.load_history(LoadHistoryParams(thread_id=thread_id))).items)

    async def close_reader(self, reader: tuple[LocalThreadStore, ThreadId]) -> None:
        await reader[0].close()

    async def fork(self, thread: _LiveHandle, keep: int) -> _LiveHandle:
        params = self._params()
        child = await LiveThread.fork(self.store, thread.thread_id, params, keep_items=keep)
        return _LiveHandle(params.thread_id, child)

    async def close_thread(self, thread: _LiveHandle) -> None:
        await thread.live.shutdown()

    async def close(self) -> None:
        await self.store.close()

    def notes(self) -> list[str]:
        return [
            "threadloom: JSONL rollout files, one per thread; flush() is the durability point; "
            "load counts include the session_meta line"
        ]


# --- OpenAI Agents SDK ------------------------------------------------------------------


class AgentsAdapter(Adapter):
    """``agents.SQLiteSession`` on one database file shared by every session, as an app would.

    ``add_items`` runs in a worker thread and commits one transaction per call, so each append
    is already durable (to the extent of the connection's ``synchronous`` setting, reported in
    the notes); the SDK has no buffered mode, no partial load other than ``limit``, no fork.
    """

    key = "agents"
    title = "Agents SDK SQLiteSession"

    async def open(self) -> None:
        try:
            agents = importlib.import_module("agents")
        except ImportError as exc:
            raise AdapterUnavailable(f"openai-agents is not installed: {exc}") from None
        self.session_cls: Any = agents.SQLiteSession
        self.db = self.root / "agents.sqlite"
        self._pragmas: dict[str, Any] = {}

    async def create(self) -> Any:
        session = self.session_cls(uuid.uuid4().hex, self.db)
        if not self._pragmas:
            self._pragmas = await asyncio.to_thread(self._read_pragmas, session)
        return session

    @staticmethod
    def _read_pragmas(session: Any) -> dict[str, Any]:
        # The SDK's own (thread-local) connection, as add_items configures and uses it; a
        # private method, so a later SDK may not have it (the notes then say n/a).
        locked = getattr(session, "_locked_connection", None)
        if locked is None:
            return {}
        with locked() as conn:
            return {
                name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous")
            }

    async def append(self, thread: Any, items: Sequence[BenchItem]) -> None:
        await thread.add_items([item.raw for item in items])

    async def load(self, thread: Any, last: int | None = None) -> int:
        return len(await thread.get_items(limit=last))

    async def open_reader(self, thread: Any) -> Any:
        return self.session_cls(thread.session_id, self.db)

    async def read(self, reader: Any) -> int:
        return len(await reader.get_items())

    async def close_reader(self, reader: Any) -> None:
        reader.close()

    async def close_thread(self, thread: Any) -> None:
        thread.close()

    def notes(self) -> list[str]:
        shown = ", ".join(f"{k}={v}" for k, v in self._pragmas.items())
        return [
            "agents: every add_items() is one commit (no buffering); "
            f"connection PRAGMAs: {shown or 'n/a'} (synchronous 2 = FULL: WAL fsync per commit)"
        ]


# --- LangGraph ----------------------------------------------------------------------------


class MessagesState(TypedDict):
    """The graph state: Responses API items appended by the reducer (like ``add_messages``)."""

    messages: Annotated[list[dict[str, Any]], operator.add]


@dataclass(slots=True)
class _GraphThread:
    config: dict[str, Any]


class LangGraphAdapter(Adapter):
    """A compiled ``StateGraph`` with a ``SqliteSaver`` checkpointer on a database file.

    Fair and typical: an app keeps the conversation in a messages channel with an appending
    reducer (``operator.add`` here; ``add_messages`` would coerce these Responses API dicts
    into LangChain messages and cannot represent reasoning or function-call items, and it
    uses the same kind of channel, so it checkpoints the same way) and runs its graph once per
    turn: ``invoke({"messages": new_items}, {"configurable": {"thread_id": ...}})``. The
    graph has one pass-through node, so the figures are the checkpointer's, not a model's.

    ``durability`` defaults to ``"exit"``: one checkpoint per invoke, written before
    ``invoke`` returns, which is both durable and LangGraph's cheapest durable setting (the
    default ``"async"`` writes three checkpoints per invoke here). Each checkpoint holds the
    whole state, so a turn costs O(thread length) and a thread costs O(n²) to build: the bench
    runs LangGraph on a smaller workload, labelled as such. The sync ``SqliteSaver`` is called
    directly on the event loop (no thread hop), which favours LangGraph. ``DeltaChannel``
    (beta in LangGraph 1.2) would store only deltas; it is not what apps use today.

    Loading always deserializes the latest checkpoint, i.e. the whole state, even for the last
    20 items. Fork: LangGraph forks by replaying from an earlier checkpoint *within* a thread;
    the equivalent of a new thread holding the first N items is ``get_state`` then one
    ``invoke`` with those items on a new thread id, which is what this adapter times.
    """

    key = "langgraph"
    title = "LangGraph SqliteSaver"

    def __init__(self, root: Path, durability: str = "exit") -> None:
        super().__init__(root)
        self.durability = durability

    async def open(self) -> None:
        try:
            self.graph_mod: Any = importlib.import_module("langgraph.graph")
            self.saver_cls: Any = importlib.import_module("langgraph.checkpoint.sqlite").SqliteSaver
        except ImportError as exc:
            raise AdapterUnavailable(
                f"langgraph / langgraph-checkpoint-sqlite not installed: {exc}"
            ) from None
        self.db = self.root / "langgraph.sqlite"
        self.conn, self.graph = self._compile()
        self.graph.get_state({"configurable": {"thread_id": "warm-up"}})  # creates the tables

    def _compile(self) -> tuple[sqlite3.Connection, Any]:
        conn = sqlite3.connect(str(self.db), check_same_thread=False)
        builder = self.graph_mod.StateGraph(MessagesState)
        builder.add_node("agent", _pass_through)
        builder.add_edge(self.graph_mod.START, "agent")
        builder.add_edge("agent", self.graph_mod.END)
        return conn, builder.compile(checkpointer=self.saver_cls(conn))

    async def create(self) -> _GraphThread:
        return _GraphThread({"configurable": {"thread_id": uuid.uuid4().hex}})

    async def append(self, thread: _GraphThread, items: Sequence[BenchItem]) -> None:
        self.graph.invoke(
            {"messages": [item.raw for item in items]}, thread.config, durability=self.durability
        )

    def _messages(self, graph: Any, thread: _GraphThread) -> list[dict[str, Any]]:
        values = graph.get_state(thread.config).values
        messages: list[dict[str, Any]] = values.get("messages", [])
        return messages

    async def load(self, thread: _GraphThread, last: int | None = None) -> int:
        messages = self._messages(self.graph, thread)
        return len(messages if last is None else messages[-last:])

    async def open_reader(self, thread: _GraphThread) -> tuple[sqlite3.Connection, Any, Any]:
        conn, graph = self._compile()
        return conn, graph, thread

    async def read(self, reader: tuple[sqlite3.Connection, Any, Any]) -> int:
        _, graph, thread = reader
        return len(self._messages(graph, thread))

    async def close_reader(self, reader: tuple[sqlite3.Connection, Any, Any]) -> None:
        reader[0].close()

    async def fork(self, thread: _GraphThread, keep: int) -> _GraphThread:
        messages = self._messages(self.graph, thread)[:keep]
        child = await self.create()
        self.graph.invoke({"messages": messages}, child.config, durability=self.durability)
        return child

    async def close(self) -> None:
        self.conn.close()

    def notes(self) -> list[str]:
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        return [
            f"langgraph: durability={self.durability!r}, one checkpoint of the whole state per "
            f"invoke; journal_mode={mode}, synchronous={sync}"
        ]


def _pass_through(state: MessagesState) -> dict[str, Any]:
    """The graph's only node: the turn's items came in as input; nothing to add."""
    return {}


ADAPTERS: dict[str, type[Adapter]] = {
    cls.key: cls for cls in (ThreadloomAdapter, AgentsAdapter, LangGraphAdapter)
}

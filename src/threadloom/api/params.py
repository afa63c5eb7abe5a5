"""Decoding ``thread/list`` request params into store params, with Codex's error texts.

Decoding follows serde (``api.decode``): members in the order the client sent them, the
first bad value failing the request. Then the local app server's own rules, in the order
Codex 0.169.0 applies them (observed on the binary):

1. ``excludedThreadIds``: at most 100 entries (duplicates count), each a thread id in any
   spelling the ``uuid`` crate accepts; else -32602 ``excludedThreadIds accepts at most 100
   entries`` or ``invalid excluded thread id: <uuid error>``.
2. a non-empty ``originators`` is refused (-32602).
3. ``section_position`` sorting needs a section id (``sectionId: null`` is no section); its
   cursor is ``<position in ms>|<thread id>``, checked here since no stored thread is in a
   section and the listing is empty.

``sectionId`` is a double option: omitted means every section; ``null`` (unsectioned
threads: all of them) and a section id both send the request to Codex's database alone, as
``useStateDbOnly: true`` does (``ListThreadsParams.state_db_only``); a section id selects
no thread (an empty cwd filter). A ``searchTerm`` of ``""`` filters nothing but is kept: it
sends the request to Codex's database path, which orders differently.
``currentAccountOnly`` is decoded and otherwise ignored: with no account signed in, Codex
lists the same threads with it as without.
"""

from __future__ import annotations

from typing import Any

from threadloom.api import decode as d
from threadloom.errors import InvalidRequest, InvalidThreadId
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.source import SOURCE_KINDS
from threadloom.store.params import DEFAULT_PAGE_SIZE, ListThreadsParams, SortDirection, SortKey

JSONRPC_INVALID_PARAMS = -32602
MAX_EXCLUDED_IDS = 100
SECTION_POSITION = "section_position"
_SORT_KEYS = ("created_at", "updated_at", "recency_at", SECTION_POSITION)
_EXCLUDED_PREFIX = "invalid excluded thread id"
_SECTION_CURSOR_MS = (-8_334_601_228_800_000, 8_210_266_876_799_999)
"""The position range a section cursor may hold (observed on 0.169.0: chrono's datetimes,
-262143-01-02 to 262142-12-31, in milliseconds)."""


class InvalidParams(InvalidRequest):
    """Params a method refuses by its own rules with JSON-RPC "invalid params" (-32602), as
    Codex refuses ``thread/list``'s ``originators``; ``rpc_code`` overrides the class code."""

    rpc_code = JSONRPC_INVALID_PARAMS


def _cwd(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return list(value)
    raise InvalidRequest(
        "Invalid request: data did not match any variant of untagged enum ThreadListCwdFilter"
    )


def _section(value: Any) -> str | None:
    """``Option<Option<String>>``: null is kept (it differs from an omitted member)."""
    if value is not None and not isinstance(value, str):
        raise d.invalid_type(value, "a string")
    return value


_decode = d.struct(
    "ThreadListParams",
    {
        "cursor": d.Field(d.string),
        "limit": d.Field(d.u32),
        "sortKey": d.Field(d.variant(*_SORT_KEYS)),
        "sortDirection": d.Field(d.variant("asc", "desc")),
        "modelProviders": d.Field(d.array(d.string)),
        "sourceKinds": d.Field(d.array(d.variant(*SOURCE_KINDS))),
        "archived": d.Field(d.boolean),
        "cwd": d.Field(_cwd),
        "searchTerm": d.Field(d.string),
        "sectionId": d.Field(_section, nullable=False),
        "originators": d.Field(d.array(d.string)),
        "excludedThreadIds": d.Field(d.array(d.string)),
        "useStateDbOnly": d.Field(d.boolean, nullable=False),
        "currentAccountOnly": d.Field(d.boolean, nullable=False),
    },
)


def excluded_ids(raw: list[str]) -> list[ThreadId]:
    """``excludedThreadIds`` normalised, or InvalidParams with Codex's text."""
    if len(raw) > MAX_EXCLUDED_IDS:
        raise InvalidParams(f"excludedThreadIds accepts at most {MAX_EXCLUDED_IDS} entries")
    try:
        return [parse_thread_id(item, _EXCLUDED_PREFIX) for item in raw]
    except InvalidThreadId as exc:
        raise InvalidParams(str(exc)) from None


def check_section_cursor(cursor: str) -> None:
    """A section-ordered listing's cursor: ``<i64 ms in range>|<thread id>``."""
    position, bar, thread_id = cursor.partition("|")
    digits = position[1:] if position[:1] in ("+", "-") else position
    valid = bool(bar) and digits.isascii() and digits.isdigit()
    if valid:
        low, high = _SECTION_CURSOR_MS
        try:
            parse_thread_id(thread_id)
        except InvalidThreadId:
            valid = False
        valid = valid and low <= int(position) <= high
    if not valid:
        raise InvalidRequest(f"invalid cursor: {cursor}")


def list_params(raw: Any, *, rules: bool = True) -> ListThreadsParams:
    """``thread/list`` params (an object, or null for all defaults) as ListThreadsParams.

    ``rules=False`` decodes only (as Codex does before the handshake); see the module
    docstring for the rules.
    """
    p = _decode({} if raw is None else raw)
    excluded: list[ThreadId] = []
    cursor: str | None = p.get("cursor")
    sort_key: str = p.get("sortKey", SortKey.CREATED_AT)
    has_section = "sectionId" in p
    section: str | None = p.get("sectionId")
    if rules:
        excluded = excluded_ids(p.get("excludedThreadIds") or [])
        if p.get("originators"):
            raise InvalidParams("originator filtering is not supported by the local app-server")
        if sort_key == SECTION_POSITION:
            if section is None:
                raise InvalidRequest("section-position sorting requires a section filter")
            if cursor is not None:
                check_section_cursor(cursor)
    if sort_key == SECTION_POSITION:
        sort_key, cursor = SortKey.CREATED_AT, None  # no thread is in a section: no paging
    return ListThreadsParams(
        limit=p.get("limit", DEFAULT_PAGE_SIZE),
        cursor=cursor,
        sort_key=SortKey(sort_key),
        sort_direction=SortDirection(p.get("sortDirection", SortDirection.DESC)),
        model_providers=p.get("modelProviders"),
        source_kinds=p.get("sourceKinds", []),
        archived=p.get("archived", False),
        cwds=[] if section is not None else p.get("cwd"),
        search_term=p.get("searchTerm"),
        state_db_only=p.get("useStateDbOnly", False) or has_section,
        excluded_thread_ids=excluded,
    )

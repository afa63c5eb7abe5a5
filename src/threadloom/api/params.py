"""Decoding app-server request params into store params, with Codex's error texts."""

from __future__ import annotations

from typing import Any

from threadloom.errors import InvalidRequest
from threadloom.protocol.source import SOURCE_KINDS
from threadloom.store.params import DEFAULT_PAGE_SIZE, ListThreadsParams, SortDirection, SortKey

_SORT_KEYS = ("created_at", "updated_at", "recency_at", "section_position")
JSONRPC_INVALID_PARAMS = -32602


class InvalidParams(InvalidRequest):
    """Params a method refuses by its own rules with JSON-RPC "invalid params" (-32602), as
    Codex refuses ``thread/list``'s ``originators``; ``rpc_code`` overrides the class code."""

    rpc_code = JSONRPC_INVALID_PARAMS


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "sequence"
    return "map"


def _invalid_type(value: Any, expected: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid request: invalid type: {_type_name(value)}, expected {expected}"
    )


def _variants(value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise _invalid_type(value, "string or map")  # serde's text for any enum
    if value not in allowed:
        if len(allowed) == 2:
            listed = f"`{allowed[0]}` or `{allowed[1]}`"
        else:
            listed = "one of " + ", ".join(f"`{a}`" for a in allowed)
        raise InvalidRequest(f"Invalid request: unknown variant `{value}`, expected {listed}")
    return value


def _opt_str_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _invalid_type(value, "a sequence")
    for item in value:
        if not isinstance(item, str):
            raise _invalid_type(item, "a string")
    return list(value)


def list_params(raw: Any, *, rules: bool = True) -> ListThreadsParams:
    """``thread/list`` params (an object, or null for all defaults) as ListThreadsParams.

    Beyond decoding, unless ``rules`` is false (decoding only, as Codex does before the
    handshake), the local app server's rules (observed on 0.169.0): a non-empty
    ``originators`` is refused; ``section_position`` sorting needs a ``sectionId``; a
    ``sectionId`` selects a section no stored thread belongs to (an empty listing, expressed
    as an empty cwd filter). A ``searchTerm`` of ``""`` filters nothing but is kept: it sends
    the request to Codex's database path, which orders differently.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _invalid_type(raw, "struct ThreadListParams")
    limit = raw.get("limit")
    if limit is None:
        limit = DEFAULT_PAGE_SIZE
    elif isinstance(limit, bool) or not isinstance(limit, int):
        raise _invalid_type(limit, "u32")
    elif limit < 0 or limit > 0xFFFFFFFF:
        raise InvalidRequest(f"Invalid request: invalid value: integer `{limit}`, expected u32")
    cursor = raw.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise _invalid_type(cursor, "a string")
    sort_key = raw.get("sortKey")
    sort_key = SortKey.CREATED_AT if sort_key is None else _variants(sort_key, _SORT_KEYS)
    direction = raw.get("sortDirection")
    direction = SortDirection.DESC if direction is None else _variants(direction, ("asc", "desc"))
    raw_kinds = raw.get("sourceKinds")
    if raw_kinds is not None and not isinstance(raw_kinds, list):
        raise _invalid_type(raw_kinds, "a sequence")
    kinds = [_variants(kind, SOURCE_KINDS) for kind in raw_kinds or ()]
    archived = raw.get("archived")
    if archived is not None and not isinstance(archived, bool):
        raise _invalid_type(archived, "a boolean")
    cwd = raw.get("cwd")
    if cwd is None:
        cwds = None
    elif isinstance(cwd, str):
        cwds = [cwd]
    elif isinstance(cwd, list) and all(isinstance(c, str) for c in cwd):
        cwds = list(cwd)
    else:
        raise InvalidRequest(
            "Invalid request: data did not match any variant of untagged enum ThreadListCwdFilter"
        )
    search = raw.get("searchTerm")
    if search is not None and not isinstance(search, str):
        raise _invalid_type(search, "a string")
    section = raw.get("sectionId")
    if section is not None and not isinstance(section, str):
        raise _invalid_type(section, "a string")
    if _opt_str_list(raw.get("originators")) and rules:
        raise InvalidParams("originator filtering is not supported by the local app-server")
    if sort_key == "section_position":
        if section is None and rules:
            raise InvalidRequest("section-position sorting requires a section filter")
        sort_key = SortKey.CREATED_AT
    if section is not None:
        cwds = []  # no stored thread is in a section
    return ListThreadsParams(
        limit=limit,
        cursor=cursor,
        sort_key=SortKey(sort_key),
        sort_direction=SortDirection(direction),
        model_providers=_opt_str_list(raw.get("modelProviders")),
        source_kinds=kinds,
        archived=bool(archived),
        cwds=cwds,
        search_term=search,
    )

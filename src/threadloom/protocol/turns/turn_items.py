"""Paginated threads: the core turn item of an ``item_completed`` as a thread item (6.9).

``from_turn_item`` raises ``InvalidItem`` where Codex 0.169.0 cannot read the item (the whole
line is then dropped). Observed on the binary: paths (``cwd``, image paths) are ``file://``
URIs; command and patch statuses are snake_case, MCP call statuses camelCase; an MCP call
needs ``arguments`` (null allowed), a web search its ``action``, an entered review its
``user_facing_hint``; ``Sleep`` items and the memory-citation and collab-agent shapes we
tried are not shown. A command is its argv quoted like Rust ``shlex::try_join``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from threadloom.protocol.turns.errors import camel_case
from threadloom.protocol.turns.items import (
    InvalidItem,
    agent_message,
    image_generation,
    maybe,
    need,
    present,
    reasoning,
    review_text,
    str_list,
    timed,
)


def _duration_ms(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidItem("duration is not an object")
    secs, nanos = value.get("secs"), value.get("nanos")
    if not (isinstance(secs, int) and isinstance(nanos, int)) or secs < 0 or nanos < 0:
        raise InvalidItem("duration needs secs and nanos")
    return secs * 1000 + nanos // 1_000_000


def path_from_uri(value: Any) -> str:
    """A ``file://`` URI (how 0.169.0 stores paths in turn items) as a local path."""
    if not isinstance(value, str) or not value.startswith("file://"):
        raise InvalidItem("path is not a file:// URI")
    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost"):
        raise InvalidItem("remote file URI")
    return unquote(parts.path)


def shell_join(argv: list[str]) -> str:
    """``shlex::try_join`` (Rust ``shlex`` 1.3) of a command's arguments."""
    return " ".join(shell_quote(arg) for arg in argv)


_UNQUOTED = frozenset(b"+-./:@]_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def shell_quote(arg: str) -> str:
    """Rust ``shlex`` 1.3 quoting: bare when safe, else single, else double quotes, per chunk."""
    data = arg.encode("utf-8")
    if not data:
        return "''"
    out = bytearray()
    pos = 0
    while pos < len(data):
        unquoted = single = double = True
        end = pos
        if data[pos] == ord("^"):
            unquoted = double = False
            end = pos + 1
        while end < len(data):
            c = data[end]
            ok_u, ok_s, ok_d = unquoted, single, double
            if c >= 0x80:
                ok_u = False
            else:
                if c not in _UNQUOTED:
                    ok_u = False
                if c in b"'^\\":
                    ok_s = False
                if c in b"`$!^":
                    ok_d = False
            if not (ok_u or ok_s or ok_d):
                break
            unquoted, single, double = ok_u, ok_s, ok_d
            end += 1
        chunk = data[pos:end]
        if unquoted and not out and end == len(data):
            return arg
        if unquoted:
            out += chunk
        elif single:
            out += b"'" + chunk + b"'"
        else:
            escaped = bytearray()
            for c in chunk:
                if c in b'"\\':
                    escaped.append(ord("\\"))
                escaped.append(c)
            out += b'"' + escaped + b'"'
        pos = end
    return out.decode("utf-8")


def _command_actions(parsed: Any, cwd: str) -> list[dict[str, Any]]:
    if not isinstance(parsed, list):
        raise InvalidItem("parsed_cmd is not a list")
    out: list[dict[str, Any]] = []
    for entry in parsed:
        if not isinstance(entry, dict):
            raise InvalidItem("parsed_cmd entry is not an object")
        kind = entry.get("type")
        command = need(entry, "cmd", str)
        if kind == "read":
            name = need(entry, "name", str)
            path = need(entry, "path", str)
            joined = path if path.startswith("/") else f"{cwd.rstrip('/')}/{path}"
            out.append({"type": "read", "command": command, "name": name, "path": joined})
        elif kind == "list_files":
            out.append({"type": "listFiles", "command": command, "path": maybe(entry, "path", str)})
        elif kind == "search":
            query, path = maybe(entry, "query", str), maybe(entry, "path", str)
            out.append({"type": "search", "command": command, "query": query, "path": path})
        elif kind == "unknown":
            out.append({"type": "unknown", "command": command})
        else:
            raise InvalidItem(f"unknown parsed command {kind!r}")
    return out


EXEC_SOURCES = frozenset(
    {"agent", "user_shell", "unified_exec_startup", "unified_exec_interaction"}
)
EXEC_STATUSES = frozenset({"in_progress", "completed", "failed", "declined"})
PATCH_STATUSES = frozenset({"completed", "failed", "declined"})
MCP_STATUSES = frozenset({"inProgress", "completed", "failed"})
"""Unlike the other statuses in turn items, MCP call statuses are camelCase (observed)."""


def _user_input(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidItem("user input is not an object")
    kind = value.get("type")
    if kind == "text":
        elements = value.get("text_elements", [])
        if not isinstance(elements, list):
            raise InvalidItem("text_elements is not a list")
        out_elements = []
        for element in elements:
            if not isinstance(element, dict) or not isinstance(element.get("byte_range"), dict):
                raise InvalidItem("bad text element")
            span = element["byte_range"]
            out_elements.append(
                {
                    "byteRange": {
                        "start": need(span, "start", int),
                        "end": need(span, "end", int),
                    },
                    "placeholder": maybe(element, "placeholder", str),
                }
            )
        return {"type": "text", "text": need(value, "text", str), "text_elements": out_elements}
    if kind == "image":
        url = need(value, "image_url", str)
        return {"type": "image", "url": url, "detail": maybe(value, "detail", str)}
    if kind == "local_image":
        path = need(value, "path", str)
        return {"type": "localImage", "detail": maybe(value, "detail", str), "path": path}
    if kind in ("skill", "mention"):
        return {"type": kind, "name": need(value, "name", str), "path": need(value, "path", str)}
    if kind == "local_audio":
        return {"type": "localAudio", "path": need(value, "path", str)}
    if kind == "audio":
        return {"type": "audio", "url": need(value, "audio_url", str)}
    raise InvalidItem(f"unknown user input {kind!r}")


def _web_action(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidItem("web search action is not an object")
    kind = value.get("type")
    if kind == "search":
        queries = value.get("queries")
        if queries is not None and not (
            isinstance(queries, list) and all(isinstance(q, str) for q in queries)
        ):
            raise InvalidItem("queries is not a list of strings")
        return {"type": "search", "query": maybe(value, "query", str), "queries": queries}
    if kind == "open_page":
        return {"type": "openPage", "url": maybe(value, "url", str)}
    if kind == "find_in_page":
        url, pattern = maybe(value, "url", str), maybe(value, "pattern", str)
        return {"type": "findInPage", "url": url, "pattern": pattern}
    return {"type": "other"}


def _file_changes(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        raise InvalidItem("changes is not an object")
    out: list[dict[str, Any]] = []
    for path in sorted(value):
        change = value[path]
        if not isinstance(change, dict):
            raise InvalidItem("file change is not an object")
        kind = change.get("type")
        if kind in ("add", "delete"):
            out.append({"path": path, "kind": {"type": kind}, "diff": need(change, "content", str)})
        elif kind == "update":
            diff = need(change, "unified_diff", str)
            moved = maybe(change, "move_path", str)
            if moved is not None:
                diff = f"{diff}\n\nMoved to: {moved}"
            kind_json = {"type": "update", "move_path": moved}
            out.append({"path": path, "kind": kind_json, "diff": diff})
        else:
            raise InvalidItem(f"unknown file change {kind!r}")
    return out


def from_turn_item(value: Any, started: int | None, completed: int | None) -> dict[str, Any] | None:
    """The thread item of a paginated ``item_completed``; None for items without one (Sleep)."""
    if not isinstance(value, dict):
        raise InvalidItem("item is not an object")
    kind = value.get("type")
    item_id = need(value, "id", str)
    item: dict[str, Any]
    if kind == "Sleep":
        return None
    if kind == "UserMessage":
        content = value.get("content")
        if not isinstance(content, list):
            raise InvalidItem("content is not a list")
        inputs = [_user_input(c) for c in content]
        client = maybe(value, "client_id", str)
        item = {"type": "userMessage", "id": item_id, "clientId": client, "content": inputs}
    elif kind == "AgentMessage":
        content = value.get("content")
        if not isinstance(content, list):
            raise InvalidItem("content is not a list")
        texts = []
        for entry in content:
            if not isinstance(entry, dict) or entry.get("type") != "Text":
                raise InvalidItem("agent content is not Text")
            texts.append(need(entry, "text", str))
        phase = value.get("phase")
        if phase not in (None, "commentary", "final_answer", "partial_answer"):
            raise InvalidItem("unknown phase")
        if value.get("memory_citation") is not None:
            raise InvalidItem("memory citations are not read (shape unknown)")
        return agent_message(item_id, "".join(texts), phase, started=started, completed=completed)
    elif kind == "Reasoning":
        summary = str_list(value, "summary_text")
        raw = str_list(value, "raw_content", default=True)
        return reasoning(item_id, summary, raw, started=started, completed=completed)
    elif kind == "Plan":
        item = {"type": "plan", "id": item_id, "text": need(value, "text", str)}
    elif kind == "CommandExecution":
        item = _command_execution(value, item_id)
    elif kind == "WebSearch":
        if "action" not in value:
            raise InvalidItem("web search without action")
        item = {
            "type": "webSearch",
            "id": item_id,
            "query": need(value, "query", str),
            "action": _web_action(value["action"]),
            "results": None,
        }
    elif kind == "ImageView":
        item = {"type": "imageView", "id": item_id, "path": path_from_uri(value.get("path"))}
    elif kind == "ImageGeneration":
        out = image_generation(
            item_id,
            need(value, "status", str),
            maybe(value, "revised_prompt", str),
            need(value, "result", str),
            maybe(value, "saved_path", str),
        )
        return timed(out, started, completed)
    elif kind == "FileChange":
        status = value.get("status")
        if status is not None and status not in PATCH_STATUSES:
            raise InvalidItem("unknown patch status")
        item = {
            "type": "fileChange",
            "id": item_id,
            "changes": _file_changes(value.get("changes")),
            "status": "inProgress" if status is None else status,
        }
    elif kind == "McpToolCall":
        item = _mcp_tool_call(value, item_id)
    elif kind == "ContextCompaction":
        item = {"type": "contextCompaction", "id": item_id}
    elif kind == "HookPrompt":
        fragments = value.get("fragments")
        if not isinstance(fragments, list):
            raise InvalidItem("fragments is not a list")
        out_fragments = []
        for fragment in fragments:
            if not isinstance(fragment, dict):
                raise InvalidItem("fragment is not an object")
            text, run = need(fragment, "text", str), need(fragment, "hookRunId", str)
            out_fragments.append({"text": text, "hookRunId": run})
        item = {"type": "hookPrompt", "id": item_id, "fragments": out_fragments}
    elif kind == "EnteredReviewMode":
        hint = need(value, "user_facing_hint", str)
        item = {"type": "enteredReviewMode", "id": item_id, "review": hint}
    elif kind == "ExitedReviewMode":
        item = {
            "type": "exitedReviewMode",
            "id": item_id,
            "review": review_text(value.get("review_output")),
        }
    elif kind == "SubAgentActivity":
        item = {
            "type": "subAgentActivity",
            "model": None,
            "reasoningEffort": None,
            "id": item_id,
            "kind": need(value, "kind", str),
            "agentThreadId": need(value, "agent_thread_id", str),
            "agentPath": need(value, "agent_path", str),
        }
    elif kind == "DynamicToolCall":
        item = {
            "type": "dynamicToolCall",
            "id": item_id,
            "namespace": maybe(value, "namespace", str),
            "tool": need(value, "tool", str),
            "arguments": value.get("arguments"),
            "status": need(value, "status", str),
            "contentItems": value.get("content_items"),
            "success": maybe(value, "success", bool),
            "durationMs": _duration_ms(value.get("duration")),
        }
    else:
        raise InvalidItem(f"turn item {kind!r} is not read")
    return timed(item, started, completed)


def _command_execution(value: dict[str, Any], item_id: str) -> dict[str, Any]:
    command = str_list(value, "command")
    cwd = path_from_uri(value.get("cwd"))
    source = need(value, "source", str)
    status = need(value, "status", str)
    if source not in EXEC_SOURCES or status not in EXEC_STATUSES:
        raise InvalidItem("unknown command source or status")
    exit_code = maybe(value, "exit_code", int)
    return {
        "type": "commandExecution",
        "id": item_id,
        "pluginId": None,
        "scriptPath": None,
        "command": shell_join(command),
        "cwd": cwd,
        "processId": maybe(value, "process_id", str),
        "source": camel_case(source),
        "status": camel_case(status),
        "commandActions": _command_actions(value.get("parsed_cmd"), cwd),
        "aggregatedOutput": maybe(value, "aggregated_output", str),
        "exitCode": exit_code,
        "durationMs": _duration_ms(value.get("duration")),
    }


def _mcp_tool_call(value: dict[str, Any], item_id: str) -> dict[str, Any]:
    status = need(value, "status", str)
    if status not in MCP_STATUSES:
        raise InvalidItem("unknown MCP tool call status")
    result = value.get("result")
    result_json = None
    if result is not None:
        if not isinstance(result, dict) or not isinstance(result.get("content"), list):
            raise InvalidItem("bad MCP result")
        result_json = {
            "content": result["content"],
            "structuredContent": result.get("structuredContent"),
            "_meta": result.get("_meta"),
        }
    error = value.get("error")
    error_json = None
    if error is not None:
        if not isinstance(error, dict):
            raise InvalidItem("bad MCP error")
        error_json = {"message": need(error, "message", str)}
    return {
        "type": "mcpToolCall",
        "id": item_id,
        "server": need(value, "server", str),
        "tool": need(value, "tool", str),
        "status": status,
        "arguments": present(value, "arguments"),
        "appContext": None,
        "mcpAppUi": None,
        "pluginId": None,
        "readOnlyHint": None,
        "result": result_json,
        "error": error_json,
        "durationMs": _duration_ms(value.get("duration")),
    }

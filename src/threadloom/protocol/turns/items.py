"""Thread items as the app server emits them (app-server-threads 6.4, 6.5).

Every builder returns a plain dict with Codex 0.169.0's key order, ending with
``startedAtMs`` / ``completedAtMs`` (null in legacy replay). The items of paginated threads
are converted in ``turn_items.py``.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from threadloom.protocol.events import (
    AddChange,
    DeleteChange,
    EnteredReviewMode,
    ExitedReviewMode,
    FileChange,
    FindInPageAction,
    ImageGenerationEnd,
    McpToolCallEnd,
    OpenPageAction,
    OtherAction,
    SearchAction,
    TextElement,
    UpdateChange,
    UserMessageEvent,
    WebSearchAction,
    WebSearchEnd,
    dump,
)
from threadloom.protocol.turns.hooks import RUST_WHITESPACE

REVIEW_REQUESTED = "Review requested."
REVIEW_FALLBACK = "Reviewer failed to output a response."


class InvalidItem(ValueError):
    """A turn item Codex cannot deserialise."""


def timed(item: dict[str, Any], started: int | None, completed: int | None) -> dict[str, Any]:
    item["startedAtMs"] = started
    item["completedAtMs"] = completed
    return item


def _opt(value: Any) -> Any:
    return None if value is UNSET else value


# -- legacy replay (events) ------------------------------------------------------------------


def text_element_json(element: TextElement) -> dict[str, Any]:
    return {
        "byteRange": {"start": element.byte_range.start, "end": element.byte_range.end},
        "placeholder": element.placeholder,
    }


def _detail(details: Any, index: int) -> Any:
    if isinstance(details, list) and index < len(details):
        return details[index]
    return None


def user_message(item_id: str, event: UserMessageEvent) -> dict[str, Any]:
    """``userMessage``: text (when not blank), then images, then local images."""
    content: list[dict[str, Any]] = []
    if event.message.strip(RUST_WHITESPACE):
        content.append(
            {
                "type": "text",
                "text": event.message,
                "text_elements": [text_element_json(e) for e in event.text_elements],
            }
        )
    images = event.images if isinstance(event.images, list) else []
    for index, url in enumerate(images):
        content.append({"type": "image", "url": url, "detail": _detail(event.image_details, index)})
    for index, path in enumerate(event.local_images):
        detail = _detail(event.local_image_details, index)
        content.append({"type": "localImage", "detail": detail, "path": path})
    client_id = _opt(event.client_id)
    return timed(
        {"type": "userMessage", "id": item_id, "clientId": client_id, "content": content},
        None,
        None,
    )


def agent_message(
    item_id: str, text: str, phase: Any, *, started: int | None = None, completed: int | None = None
) -> dict[str, Any]:
    return timed(
        {
            "type": "agentMessage",
            "moderation": None,
            "id": item_id,
            "text": text,
            "phase": phase,
            "memoryCitation": None,
            "delivery": None,
            "questions": None,
        },
        started,
        completed,
    )


def reasoning(
    item_id: str,
    summary: list[str],
    content: list[str],
    *,
    started: int | None = None,
    completed: int | None = None,
) -> dict[str, Any]:
    item = {"type": "reasoning", "id": item_id, "summary": summary, "content": content}
    return timed(item, started, completed)


def simple(kind: str, item_id: str, **fields: Any) -> dict[str, Any]:
    """An item of ``kind`` whose members after ``id`` are ``fields`` (in order)."""
    return timed({"type": kind, "id": item_id, **fields}, None, None)


def entered_review(item_id: str, event: EnteredReviewMode) -> dict[str, Any]:
    hint = _opt(event.user_facing_hint)
    return simple("enteredReviewMode", item_id, review=REVIEW_REQUESTED if hint is None else hint)


def review_text(output: Any) -> str:
    """What an ``exitedReviewMode`` shows for a ``review_output`` payload (dict or null).

    The trimmed explanation and the findings block, joined by a blank line; the fallback text
    when both are empty. Raises ``InvalidItem`` for a shape Codex cannot read.
    """
    if output is None:
        return REVIEW_FALLBACK
    if not isinstance(output, dict):
        raise InvalidItem("review_output is not an object")
    sections: list[str] = []
    explanation = need(output, "overall_explanation", str).strip(RUST_WHITESPACE)
    if explanation:
        sections.append(explanation)
    findings = need(output, "findings", list)
    if findings:
        block = _findings_block(findings).strip(RUST_WHITESPACE)
        if block:
            sections.append(block)
    return "\n\n".join(sections) if sections else REVIEW_FALLBACK


def _findings_block(findings: list[Any]) -> str:
    lines = ["", "Full review comments:" if len(findings) > 1 else "Review comment:"]
    for finding in findings:
        if not isinstance(finding, dict):
            raise InvalidItem("finding is not an object")
        need(finding, "confidence_score", int, float)
        need(finding, "priority", int)
        location = need(finding, "code_location", dict)
        span = need(location, "line_range", dict)
        where = (
            f"{need(location, 'absolute_file_path', str)}:"
            f"{need(span, 'start', int)}-{need(span, 'end', int)}"
        )
        lines.append("")
        lines.append(f"- {need(finding, 'title', str)} \u2014 {where}")
        lines.extend(f"  {line}" for line in rust_lines(need(finding, "body", str)))
    return "\n".join(lines)


def rust_lines(text: str) -> list[str]:
    """Rust's ``str::lines``: split at ``\\n``, drop one trailing ``\\r`` per line and a final
    empty line."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [part[:-1] if part.endswith("\r") else part for part in parts]


def exited_review(item_id: str, event: ExitedReviewMode) -> dict[str, Any]:
    raw = event.raw.get("review_output") if isinstance(event.raw, dict) else None
    return simple("exitedReviewMode", item_id, review=review_text(raw))


def mcp_tool_call(event: McpToolCallEnd) -> dict[str, Any]:
    """``mcpToolCall``: ``failed`` for ``Err`` and for an ``Ok`` result flagged ``isError``."""
    ok = event.result.ok
    if ok is UNSET:
        status, result, error = "failed", None, {"message": event.result.err}
    else:
        status = "failed" if ok.is_error is True else "completed"
        result = {
            "content": dump(ok.content),
            "structuredContent": dump(_opt(ok.structured_content)),
            "_meta": dump(_opt(ok.meta)),
        }
        error = None
    return simple(
        "mcpToolCall",
        event.call_id,
        server=event.invocation.server,
        tool=event.invocation.tool,
        status=status,
        arguments=dump(event.invocation.arguments),
        appContext=None,
        mcpAppUi=None,
        pluginId=None,
        readOnlyHint=None,
        result=result,
        error=error,
        durationMs=event.duration.ms,
    )


def web_action_json(action: WebSearchAction) -> dict[str, Any]:
    if isinstance(action, SearchAction):
        return {"type": "search", "query": _opt(action.query), "queries": _opt(action.queries)}
    if isinstance(action, OpenPageAction):
        return {"type": "openPage", "url": _opt(action.url)}
    if isinstance(action, FindInPageAction):
        return {"type": "findInPage", "url": _opt(action.url), "pattern": _opt(action.pattern)}
    assert isinstance(action, OtherAction)
    return {"type": "other"}


def web_search(event: WebSearchEnd) -> dict[str, Any]:
    return simple(
        "webSearch",
        event.call_id,
        query=event.query,
        action=web_action_json(event.action),
        results=None,
    )


def file_changes_json(changes: dict[str, FileChange]) -> list[dict[str, Any]]:
    """One entry per path, sorted by path; a move is appended to the diff text."""
    out: list[dict[str, Any]] = []
    for path in sorted(changes):
        change = changes[path]
        if isinstance(change, AddChange):
            out.append({"path": path, "kind": {"type": "add"}, "diff": change.content})
        elif isinstance(change, DeleteChange):
            out.append({"path": path, "kind": {"type": "delete"}, "diff": change.content})
        else:
            assert isinstance(change, UpdateChange)
            diff = change.unified_diff
            if change.move_path is not None:
                diff = f"{diff}\n\nMoved to: {change.move_path}"
            kind = {"type": "update", "move_path": change.move_path}
            out.append({"path": path, "kind": kind, "diff": diff})
    return out


def file_change(item_id: str, changes: dict[str, FileChange], status: str) -> dict[str, Any]:
    return simple("fileChange", item_id, changes=file_changes_json(changes), status=status)


def image_generation(
    item_id: str, status: str, revised_prompt: Any, result: str, saved_path: Any
) -> dict[str, Any]:
    """``imageGeneration``; ``savedPath`` (only when set) sits before ``generationId``."""
    item: dict[str, Any] = {
        "type": "imageGeneration",
        "id": item_id,
        "status": status,
        "revisedPrompt": revised_prompt,
        "result": result,
        "transparentBackground": None,
        "failure": None,
    }
    if saved_path is not None:
        item["savedPath"] = saved_path
    item["generationId"] = None
    return timed(item, None, None)


def image_generation_end(event: ImageGenerationEnd) -> dict[str, Any]:
    return image_generation(
        event.call_id,
        event.status,
        _opt(event.revised_prompt),
        event.result,
        _opt(event.saved_path),
    )


def hook_prompt(item_id: str, fragments: list[dict[str, str]]) -> dict[str, Any]:
    return simple("hookPrompt", item_id, fragments=fragments)


# -- validation of item payloads ----------------------------------------------------------------


def is_a(found: Any, types: tuple[type, ...]) -> bool:
    if isinstance(found, bool) and bool not in types:
        return False
    return isinstance(found, types)


def need(value: dict[str, Any], key: str, *types: type) -> Any:
    found = value.get(key, UNSET)
    if found is UNSET or not is_a(found, types):
        raise InvalidItem(f"`{key}` is missing or has the wrong type")
    return found


def maybe(value: dict[str, Any], key: str, *types: type) -> Any:
    found = value.get(key)
    if found is not None and not is_a(found, types):
        raise InvalidItem(f"`{key}` has the wrong type")
    return found


def present(value: dict[str, Any], key: str) -> Any:
    if key not in value:
        raise InvalidItem(f"`{key}` is missing")
    return value[key]


def str_list(value: dict[str, Any], key: str, *, default: bool = False) -> list[str]:
    found = value.get(key, UNSET)
    if found is UNSET and default:
        return []
    if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
        raise InvalidItem(f"`{key}` is not a list of strings")
    return list(found)

"""Listing metadata derived from a rollout's lines (rollout-format section 13), incrementally.

``SummaryState`` is a plain, serialisable accumulator: feed it the lines of a file in order
(possibly across several reads of a growing file) and it holds what ``thread/list`` and
``thread/read`` show. It never needs to see a line twice, and it gives the same result when
fed only the lines that can change it (``RELEVANT_EVENTS``, session_meta, turn_context).

``model`` and ``reasoning_effort`` follow the latest of the last ``turn_context`` and the last
``thread_settings_applied`` event Codex would accept (``accepted_settings``): Codex 0.169.0
shows either in ``thread/list`` and ``thread/read`` alike (a settings event without
``reasoning_effort`` clears it). ``thread/read`` also shows the last settings' ``cwd``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from threadloom.protocol.applied_settings import accepted_settings
from threadloom.protocol.policy import EVENT_ALIASES
from threadloom.protocol.rollout import (
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
    GitInfo,
    InvalidSessionMeta,
    SessionMeta,
)

LEGACY_REQUEST_PREFIX = "## My request for Codex:"
IMAGE_PREVIEW = "[Image]"

RELEVANT_EVENTS = frozenset(
    {
        "user_message",
        "thread_goal_updated",
        "token_count",
        "item_completed",
        "thread_settings_applied",
        "task_started",
        "turn_started",
    }
)
"""event_msg types that change a summary; the scanner may skip every other event unparsed."""


class SummaryState(msgspec.Struct, kw_only=True):
    """What is known about a thread after reading some prefix of its rollout."""

    meta_payload: dict[str, Any] | None = None
    meta_error: str | None = None
    invalid: bool = False
    preview: str | None = None
    first_user_message: str | None = None
    title: str | None = None
    model: str | None = None
    """The last turn_context's or accepted thread settings' model, whichever came later."""
    reasoning_effort: str | None = None
    context_model: str | None = None
    """``model`` of the last turn_context (part of ``activity_mark``: settings are no
    activity)."""
    settings_cwd: str | None = None
    """``cwd`` of the last accepted ``thread_settings_applied`` (what ``thread/read`` shows)."""
    first_turn_cwd: str | None = None
    git: dict[str, Any] | None = None
    """``git`` of the last own session_meta line that carries one (metadata updates append
    session_meta copies; a copy without ``git`` leaves it as it was)."""
    first_git: dict[str, Any] | None = None
    """``git`` of the first session_meta line (what a head-only scan sees)."""
    memory_mode: str | None = None
    tokens_used: int | None = None
    last_turn_id: str | None = None
    """``turn_id`` of the last turn_context (part of ``activity_mark``)."""
    last_task_id: str | None = None
    """``turn_id`` of the last ``task_started`` (a user turn started: part of
    ``activity_mark``)."""

    def meta(self) -> SessionMeta | None:
        """The typed first session_meta, or None when the file is not (yet) a thread."""
        if self.meta_payload is None or self.invalid:
            return None
        return SessionMeta.from_payload(self.meta_payload)

    @property
    def thread_id(self) -> str | None:
        if self.meta_payload is None:
            return None
        value = self.meta_payload.get("id")
        return value if isinstance(value, str) else None

    def activity_mark(self) -> tuple[Any, ...]:
        """What user activity changes and metadata updates do not: equal marks before and
        after a change of the file mean no new activity (Codex's ``recencyAt`` stays). Recorded
        settings (``thread_settings_applied``, written by a resume) and injected items are no
        activity either; a turn's start is.

        Made of values that do not depend on how much of the file was fed at a time.
        """
        return (
            self.last_turn_id,
            self.last_task_id,
            self.tokens_used,
            self.preview,
            self.title,
            self.context_model,
        )

    def distinct_title(self) -> str | None:
        """The title when it differs from the first user message and the preview, else None.

        Codex keeps the first user text as a thread's title and shows a distinct one as the
        name of a thread that has none (observed for image-only first messages, whose first
        user message and preview are ``[Image]``).
        """
        title = (self.title or "").strip()
        if not title or title in (self.first_user_message, self.preview):
            return None
        return title

    def git_info(self) -> GitInfo | None:
        """The thread's git info: the last own session_meta ``git`` (``thread/read``)."""
        return GitInfo.from_payload(self.git)

    def scan_git_info(self) -> GitInfo | None:
        """What Codex's file-scanning ``thread/list`` shows: the first session_meta's ``git``
        with every member the last ``git`` sets laid over it (a cleared member keeps the
        first value)."""
        first = GitInfo.from_payload(self.first_git)
        last = GitInfo.from_payload(self.git)
        if first is None or last is None:
            return last or first
        return GitInfo(
            commit_hash=last.commit_hash or first.commit_hash,
            branch=last.branch or first.branch,
            repository_url=last.repository_url or first.repository_url,
        )

    def feed(self, kind: str, payload: Any) -> None:
        """Apply one decoded line, in file order."""
        if self.invalid:
            return
        if self.meta_payload is None and kind == RESPONSE_ITEM:
            self.invalid = True
            self.meta_error = "response item before session metadata"
            return
        if not isinstance(payload, dict):
            return
        if kind == SESSION_META:
            self._session_meta(payload)
            return
        if self.meta_payload is None:
            return
        if kind == TURN_CONTEXT:
            self._turn_context(payload)
        elif kind == EVENT_MSG:
            self._event(payload)

    def _session_meta(self, payload: dict[str, Any]) -> None:
        if self.meta_payload is None:
            try:
                SessionMeta.from_payload(payload)
            except InvalidSessionMeta as exc:
                self.invalid = True
                self.meta_error = str(exc)
                return
            self.meta_payload = payload
            self.git = payload.get("git") if isinstance(payload.get("git"), dict) else None
            self.first_git = self.git
            mode = payload.get("memory_mode")
            self.memory_mode = mode if isinstance(mode, str) else None
            return
        if payload.get("id") != self.meta_payload.get("id"):
            return  # a fork's copy of its parent's metadata
        git = payload.get("git")
        if isinstance(git, dict):
            self.git = git
        mode = payload.get("memory_mode")
        self.memory_mode = mode if isinstance(mode, str) else None

    def _turn_context(self, payload: dict[str, Any]) -> None:
        model = payload.get("model")
        if isinstance(model, str):
            self.model = self.context_model = model
        effort = payload.get("effort")
        self.reasoning_effort = effort if isinstance(effort, str) else None
        turn_id = payload.get("turn_id")
        self.last_turn_id = turn_id if isinstance(turn_id, str) else None
        cwd = payload.get("cwd")
        if self.first_turn_cwd is None and isinstance(cwd, str):
            self.first_turn_cwd = cwd

    def _event(self, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        if not isinstance(kind, str):
            return
        kind = EVENT_ALIASES.get(kind, kind)
        if kind == "user_message":
            self._user_message(payload)
        elif kind == "token_count":
            self._token_count(payload)
        elif kind == "thread_goal_updated":
            goal = payload.get("goal")
            objective = goal.get("objective") if isinstance(goal, dict) else None
            if isinstance(objective, str) and objective.strip() and self.preview is None:
                self.preview = objective.strip()
        elif kind == "item_completed":
            self._item_completed(payload)
        elif kind == "thread_settings_applied":
            self._settings_applied(payload)
        elif kind == "task_started":
            turn_id = payload.get("turn_id")
            self.last_task_id = turn_id if isinstance(turn_id, str) else None

    def _settings_applied(self, payload: dict[str, Any]) -> None:
        settings = accepted_settings(payload)
        if settings is None:
            return
        self.model = settings["model"]
        effort = settings.get("reasoning_effort")
        self.reasoning_effort = effort if isinstance(effort, str) else None
        self.settings_cwd = settings["cwd"]

    def _user_message(self, payload: dict[str, Any]) -> None:
        message = payload.get("message")
        if not isinstance(message, str):
            return
        text = strip_request_prefix(message)
        if text:
            if self.title is None:
                self.title = text
            if self.preview is None:
                self.preview = text
            if self.first_user_message is None:
                self.first_user_message = text
        elif payload.get("images") or payload.get("local_images"):
            if self.preview is None:
                self.preview = IMAGE_PREVIEW
            if self.first_user_message is None:
                self.first_user_message = IMAGE_PREVIEW

    def _token_count(self, payload: dict[str, Any]) -> None:
        info = payload.get("info")
        if not isinstance(info, dict):
            return
        total = info.get("total_token_usage")
        if isinstance(total, dict) and isinstance(total.get("total_tokens"), int):
            self.tokens_used = total["total_tokens"]

    def _item_completed(self, payload: dict[str, Any]) -> None:
        item = payload.get("item")
        if not isinstance(item, dict):
            return
        if item.get("type") == "UserMessage":
            text = user_item_text(item)
            if text:
                if self.preview is None:
                    self.preview = text
                if self.first_user_message is None:
                    self.first_user_message = text
                if self.title is None:
                    self.title = text


def strip_request_prefix(message: str) -> str:
    """Drop the legacy ``## My request for Codex:`` header and trim (rollout-format 13.1)."""
    marker = message.find(LEGACY_REQUEST_PREFIX)
    if marker >= 0:
        message = message[marker + len(LEGACY_REQUEST_PREFIX) :]
    return message.strip()


def user_item_text(item: dict[str, Any]) -> str:
    """The text of a paginated ``UserMessage`` turn item, trimmed."""
    return "\n".join(
        part["text"]
        for part in item.get("content") or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ).strip()


def agent_item_text(item: dict[str, Any]) -> str:
    """The text of a paginated ``AgentMessage`` turn item."""
    return "".join(
        part["text"]
        for part in item.get("content") or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )

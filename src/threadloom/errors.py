"""The threadloom error tree; every failure a caller can see is one of these.

::

    ThreadloomError
    ├── InvalidRequest          the request is malformed (bad id, bad cursor, bad params)
    │   └── InvalidThreadId     a thread id that is not a UUID (checked before any path is built)
    ├── NotFound                no such thread (or not visible to this caller)
    ├── Conflict                another writer holds the thread, or the state forbids the change
    ├── Unsupported             the backend does not offer this operation (``operation`` names it)
    ├── Unavailable             a resource is temporarily out of reach (database down, lock timeout)
    │   └── WriteFailed         a live thread's background write failed (its items are kept)
    ├── CorruptData             stored data cannot be interpreted (bad metadata, foreign mode)
    └── InternalError           a bug or an unexpected I/O failure

Each class carries the fields that explain it; ``JSONRPC_CODES`` maps each onto the code the
Codex app server uses for the same situation.
"""

from __future__ import annotations

from pathlib import Path


class ThreadloomError(Exception):
    """Base of every error threadloom raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ThreadloomError):
    """The request itself is wrong: bad parameters, bad cursor, business-rule violation."""


class InvalidThreadId(InvalidRequest):
    """A thread id that does not parse as a UUID; ``message`` has Codex's exact wording."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class NotFound(ThreadloomError):
    """The thread (or its rollout) does not exist, or the caller may not see it."""

    def __init__(self, message: str, thread_id: str | None = None) -> None:
        super().__init__(message)
        self.thread_id = thread_id


class Conflict(ThreadloomError):
    """Another writer holds the thread, or the thread's state forbids the change."""

    def __init__(self, message: str, thread_id: str | None = None) -> None:
        super().__init__(message)
        self.thread_id = thread_id


class Unsupported(ThreadloomError):
    """The operation is not offered by this backend (or for this kind of thread)."""

    def __init__(self, operation: str, message: str | None = None) -> None:
        super().__init__(message or f"{operation} is not supported by this thread store")
        self.operation = operation


class Unavailable(ThreadloomError):
    """A resource is temporarily unavailable; retrying later may succeed."""


class WriteFailed(Unavailable):
    """A live thread's background write failed; ``cause`` is the store's error.

    Nothing the thread accepted is dropped: the unwritten items stay queued and are written
    again, in order, by the next call that retries (``flush``, ``append``).
    """

    def __init__(self, thread_id: str, cause: BaseException, pending: int) -> None:
        super().__init__(
            f"writing thread {thread_id} failed: {cause}; {pending} items are kept and will be"
            " retried"
        )
        self.thread_id = thread_id
        self.cause = cause
        self.pending = pending


class CorruptData(ThreadloomError):
    """Stored data cannot be interpreted; ``path`` and ``line`` say where, when known."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class InternalError(ThreadloomError):
    """An unexpected failure; the message says what was being done."""


JSONRPC_INVALID_REQUEST = -32600
JSONRPC_METHOD_NOT_FOUND = -32601
JSONRPC_INTERNAL_ERROR = -32603

JSONRPC_CODES: dict[type[ThreadloomError], int] = {
    InvalidRequest: JSONRPC_INVALID_REQUEST,
    InvalidThreadId: JSONRPC_INVALID_REQUEST,
    NotFound: JSONRPC_INVALID_REQUEST,
    Conflict: JSONRPC_INVALID_REQUEST,
    Unsupported: JSONRPC_METHOD_NOT_FOUND,
    Unavailable: JSONRPC_INTERNAL_ERROR,
    CorruptData: JSONRPC_INTERNAL_ERROR,
    InternalError: JSONRPC_INTERNAL_ERROR,
}


def jsonrpc_code(error: ThreadloomError) -> int:
    """The JSON-RPC error code Codex uses for this kind of error."""
    for cls in type(error).__mro__:
        if cls in JSONRPC_CODES:
            return JSONRPC_CODES[cls]
    return JSONRPC_INTERNAL_ERROR

"""Live threads: the persistence handle of a running thread (policy, laziness, ordering)."""

from threadloom.live.queue import WriteQueue
from threadloom.live.thread import LiveState, LiveThread

__all__ = ["LiveState", "LiveThread", "WriteQueue"]

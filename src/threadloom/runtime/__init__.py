"""The process registry of loaded threads."""

from threadloom.runtime.manager import LoadedThread, ThreadManager

__all__ = ["LoadedThread", "ThreadManager"]

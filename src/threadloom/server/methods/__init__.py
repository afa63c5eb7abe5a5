"""The method handlers, one module per group of methods."""

from __future__ import annotations

from threadloom.server.app import Handler
from threadloom.server.methods import (
    archive,
    initialize,
    inject,
    lifecycle,
    listing,
    metadata,
    reading,
    subscriptions,
)

HANDLERS: dict[str, Handler] = {
    **initialize.HANDLERS,
    **listing.HANDLERS,
    **reading.HANDLERS,
    **metadata.HANDLERS,
    **archive.HANDLERS,
    **subscriptions.HANDLERS,
    **lifecycle.HANDLERS,
    **inject.HANDLERS,
}
